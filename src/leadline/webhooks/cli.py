"""``leadline webhooks ...`` and ``leadline inbound ...``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from leadline.cli._out import (
    abort,
    actor,
    cli_errors,
    cli_settings,
    local,
    print_fields,
    print_json,
    print_table,
    require_database,
)

app = typer.Typer(
    help="SendGrid's Event Webhook and Inbound Parse: stats, replay, import, simulate.", no_args_is_help=True
)
inbound_app = typer.Typer(help="Replies that came in through Inbound Parse.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command("stats")
def stats(as_json: JsonOpt = False) -> None:
    """Events received, applied, duplicates, unmatched, failed; replies by status; posts not understood."""
    from leadline.db import unit_of_work
    from leadline.webhooks import service

    require_database()
    with cli_errors(), unit_of_work(cli_settings(), readonly=True) as session:
        found = service.stats(session)
        data = service.stats_summary(session, found)
    replies = data["replies"]
    if as_json:
        print_json(data)
        return
    print_fields(
        [("batches", found.batches), ("events received", found.received), ("stored (unique)", found.stored),
         ("duplicates", found.duplicates), ("applied", found.applied), ("unmatched", found.unmatched),
         ("ignored (no email)", found.ignored), ("failed", found.failed), ("waiting", found.waiting),
         ("last received", local(found.last_received_at)),
         ("by type", ", ".join(f"{k} {v}" for k, v in found.by_type.items())),
         ("replies", ", ".join(f"{k} {v}" for k, v in sorted(replies.items())) or "none"),
         ("not understood (kept raw)", f"{data['unreadable']['eventWebhook']} Event Webhook posts, "
                                       f"{data['unreadable']['inboundParse']} Inbound Parse posts")],
        title="SendGrid webhooks",
    )  # fmt: skip


@app.command("replay")
def replay(
    failed: Annotated[bool, typer.Option("--failed", help="Events that failed to apply.")] = False,
    unmatched: Annotated[bool, typer.Option("--unmatched", help="Events and replies not matched to an email.")] = False,
) -> None:
    """Apply stored events again (after a fix, or after the emails they belong to were imported)."""
    from leadline.webhooks.flows import replay as replay_events

    require_database()
    with cli_errors():
        totals = replay_events(cli_settings(), failed=failed, unmatched=unmatched, actor=actor())
    typer.echo(
        f"Applied {totals['applied']} events; {totals['unmatched']} still unmatched, {totals['failed']} failed. "
        f"Matched {totals['matchedReplies']} waiting replies."
    )


@app.command("recount-clicks")
def recount_clicks(as_json: JsonOpt = False) -> None:
    """Recount every clicked email's clicks from its stored events (people, machines, Leadline's own links).

    Run it once after upgrading: emails clicked before the click rule keep their old counts
    until then (docs/analytics.md, "Clicks"). Safe to run again: it changes nothing the second time."""
    from leadline.webhooks.flows import recount_clicks as recount

    require_database()
    with cli_errors():
        totals = recount(cli_settings())
    if as_json:
        print_json(totals)
        return
    typer.echo(f"Recounted the clicks of {totals['emails']} emails ({totals['prospects']} prospects' counters).")


@app.command("import")
def import_events(
    file: Annotated[Path, typer.Argument(help="Events exported from SendGrid: a JSON array or JSON lines.")],
) -> None:
    """Feed events from a file through the same path as the webhook (duplicates are recognised)."""
    from leadline import jsonin
    from leadline.db import unit_of_work
    from leadline.webhooks import service
    from leadline.webhooks.events import storable

    require_database()
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        abort(f"cannot read {file}: {error}")
    if text.lstrip().startswith("["):
        try:
            data = jsonin.loads(text)
        except jsonin.NotJson as error:
            abort(f"{file.name} is {error}")
    else:
        data = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    data.append(jsonin.loads(line))
                except jsonin.NotJson as error:
                    abort(f"{file.name}, line {number}: {error}")
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        abort(f"{file.name} must hold event objects (a JSON array, or one object per line)")
    data = [storable(item) for item in data]
    received = new = applied = unmatched = 0
    with cli_errors():
        for start in range(0, len(data), service.APPLY_BATCH):
            with unit_of_work(cli_settings()) as session:
                result = service.ingest(session, data[start : start + service.APPLY_BATCH], source="sendgrid")
            with unit_of_work(cli_settings()) as session:
                report = service.apply(session, result.to_apply, actor="import")
            received += result.received
            new += len(result.new_ids)
            applied += report.applied
            unmatched += report.unmatched
    typer.echo(f"Imported {received} events from {file.name}: {new} new, {received - new} duplicates, "
               f"{applied} applied, {unmatched} unmatched.")  # fmt: skip


@app.command("urls")
def urls() -> None:
    """The URLs to paste into SendGrid (Event Webhook and Inbound Parse)."""
    from leadline.webhooks.security import webhook_urls

    found = webhook_urls(cli_settings())
    print_fields(
        [("Event Webhook", found["eventWebhook"]),
         ("Inbound Parse", found["inboundParse"]),
         ("Inbound Parse (basic auth)", found["inboundParseBasicAuth"])],
        title="Paste these into SendGrid (keep the inbound one secret)",
    )  # fmt: skip


@app.command("simulate")
def simulate(
    url: Annotated[str | None, typer.Option(help="The running Leadline (default LEADLINE_BASE_URL).")] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=10000, help="Events per signed POST.")] = 100,
    profile: Annotated[
        Literal["week"],
        typer.Option(
            help="week: the seed's week (25 sent -> 24 delivered, 1 bounced, 8 opened, 3 clicked, 2 replied)."
        ),
    ] = "week",
    seed: Annotated[int, typer.Option(help="Random seed (the same seed gives the same stream).")] = 47,
    replies: Annotated[
        bool, typer.Option("--replies/--no-replies", help="Also post the replies through Inbound Parse.")
    ] = True,
) -> None:
    """Post a realistic, signed stream of SendGrid events for the sent emails to a running server."""
    import httpx

    from leadline.db import unit_of_work
    from leadline.emails import service as emails
    from leadline.webhooks.security import inbound_url, simulator_key
    from leadline.webhooks.simulate import post_events, post_reply, seed_week

    require_database()
    settings = cli_settings()
    base = (url or settings.base_url).rstrip("/")
    key = simulator_key(settings, create=True)
    assert key is not None
    with cli_errors():
        with unit_of_work(cli_settings(), readonly=True) as session:
            sent = emails.sent_for_simulation(session)
        if not sent:
            abort("no sent emails to simulate events for; send some first (leadline emails send ...)")
        stream = seed_week(sent, seed=seed)
        try:
            with httpx.Client(timeout=60) as client:
                answers = post_events(client, f"{base}/webhooks/sendgrid", stream.events, key, batch_size=batch_size)
                posted_replies = [
                    post_reply(client, inbound_url(settings).replace(settings.base_url, base, 1), reply,
                               sender_email=settings.sender_email)
                    for reply in (stream.replies if replies else [])
                ]  # fmt: skip
        except httpx.HTTPStatusError as error:
            abort(f"the server answered {error.response.status_code}: {error.response.text[:300]}")
        except httpx.HTTPError as error:
            abort(f"cannot reach {base}: {error}")
    new = sum(a["new"] for a in answers)
    typer.echo(f"Posted {len(stream.events)} events in {len(answers)} signed batches to {base}: {new} new; "
               f"{len(posted_replies)} replies through Inbound Parse.")  # fmt: skip


@inbound_app.command("list")
def inbound_list(
    status: Annotated[
        Literal["matched", "unmatched", "auto_reply", "failed"] | None,
        typer.Option(help="Only replies in this state (failed: posts that could not be read, kept raw)."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1_000_000)] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Replies received, newest first (`--status unmatched`: the unmatched inbox; `--status failed`: posts
    that could not be read, kept as they came)."""
    from leadline.db import unit_of_work
    from leadline.webhooks import replies
    from leadline.webhooks.schemas import InboundRead

    require_database()
    with cli_errors(), unit_of_work(cli_settings(), readonly=True) as session:
        rows = [InboundRead.model_validate(r) for r in replies.replies(session, status=status, limit=limit)]
    if as_json:
        print_json([r.dump() for r in rows])  # /api/inbound's shape
        return
    print_table(
        ["Id", "Received", "From", "Status", "Prospect", "Reply"],
        (
            (
                r.id,
                local(r.received_at),
                r.from_address,
                r.status,
                r.prospect_id or "",
                " ".join(str(r.error or r.reply_text).split())[:60],
            )
            for r in rows
        ),
        footer=f"{len(rows)} replies",
    )


@inbound_app.command("assign")
def inbound_assign(
    inbound_id: Annotated[str, typer.Argument(help="An unmatched reply's id.")],
    email: Annotated[str, typer.Option(help="The email it answers.")],
) -> None:
    """Say which email an unmatched reply answers: it is applied as that email's reply."""
    from leadline.db import unit_of_work
    from leadline.webhooks import replies

    require_database()
    with cli_errors(), unit_of_work(cli_settings()) as session:
        row = replies.assign_reply(session, cli_settings(), inbound_id, email, actor=actor())
        prospect = row.prospect_id
    typer.echo(f"{inbound_id} is now the reply to {email} ({prospect}).")
