"""``leadline notify test`` and ``leadline notifications list``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import typer

from leadline.cli._out import abort, cli_errors, cli_settings, local, print_json, print_table

notify_app = typer.Typer(help="Notifications: send a test to the configured channels.", no_args_is_help=True)
notifications_app = typer.Typer(help="Notifications raised (replies, bounces, calls, deals...).", no_args_is_help=True)


@notify_app.command("test")
def test() -> None:
    """Send a test notification now to Slack (LEADLINE_SLACK_WEBHOOK_URL) and/or LEADLINE_NOTIFY_EMAIL."""
    from leadline.cli._out import require_database
    from leadline.notify import flows

    require_database()
    with cli_errors():
        result = flows.send_test(cli_settings())
    if result is None or result.status == "recorded":
        typer.echo("No channel is configured (LEADLINE_SLACK_WEBHOOK_URL, LEADLINE_NOTIFY_EMAIL); "
                   "the test was recorded: `leadline notifications list`.")  # fmt: skip
        return
    if result.status != "sent":
        abort(f"the test did not get through: {result.error} (delivered to: {', '.join(result.channels) or 'none'})")
    typer.echo(f"Test notification sent to {', '.join(result.channels)}.")


@notifications_app.command("list")
def list_notifications(
    status: Annotated[
        Literal["pending", "sending", "sent", "failed", "recorded"] | None, typer.Option(help="Only in this state.")
    ] = None,
    recipient: Annotated[
        str | None, typer.Option("--for", help="Only those for this user (e-mail): their prospects' and tasks'.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1_000_000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Notifications, newest first, with where each was delivered."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.notify import service

    require_database()
    with cli_errors(), unit_of_work(cli_settings(), readonly=True) as session:
        rows: list[dict[str, Any]] = [
            {"id": n.id, "kind": n.kind, "title": n.title, "body": n.body, "status": n.status,
             "channels": n.channels, "attempts": n.attempts, "prospectId": n.prospect_id, "recipient": n.recipient,
             "createdAt": n.created_at, "sentAt": n.sent_at, "error": n.last_error}
            for n in service.search(session, status=status, recipient=recipient, limit=limit)
        ]  # fmt: skip
    if as_json:
        print_json(rows)
        return
    print_table(
        ["When", "Kind", "Title", "For", "Status", "Channels"],
        (
            (local(r["createdAt"]), r["kind"], r["title"], r["recipient"] or "", r["status"], ", ".join(r["channels"]))
            for r in rows
        ),
        footer=f"{len(rows)} notification(s)",
    )
