"""``leadline sequences start|stop|status``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from leadline.cli._out import abort, actor, check_selection, cli_errors, cli_settings, local, print_json, print_table
from leadline.prospects.stages import Stage

app = typer.Typer(help="Follow-up sequences: the first email now, follow-ups until they reply.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command("start")
def start(
    template: Annotated[str, typer.Option(help="The first email's template, e.g. pain_point.")],
    prospect: Annotated[list[str] | None, typer.Option("--prospect", "-p", help="A prospect id (repeatable).")] = None,
    status: Annotated[Stage | None, typer.Option(help="Select prospects in this stage.")] = None,
    tier: Annotated[int | None, typer.Option(min=1, max=3, help="Select prospects of this tier.")] = None,
    trade: Annotated[str | None, typer.Option(help="Select prospects of this trade.")] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, max=10_000, help="At most this many (needed with a selection).")
    ] = None,
    steps: Annotated[
        str | None, typer.Option(help="Follow-ups as TEMPLATE:DELAY, e.g. follow_up_1:3d,follow_up_2:4d.")
    ] = None,
    at: Annotated[str | None, typer.Option(help="Send the first email at this local time instead of now.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show who would be enrolled; change nothing.")] = False,
    sender: Annotated[
        list[str] | None,
        typer.Option(
            "--sender", help="Send from this sender (id or address; repeatable): every step rotates across these only."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Start a sequence: each prospect gets the first email now (or --at), then each step after its delay."""
    from leadline.cli._out import require_database
    from leadline.sequences import flows
    from leadline.times import parse_since

    chosen = check_selection(prospect, status, tier, trade, limit)
    require_database()
    settings = cli_settings()
    with cli_errors():
        when = parse_since(at, settings.zone, field="at") if at else None
        started = flows.start(settings, template, chosen=chosen, steps=steps, at=when, dry_run=dry_run,
                              actor=actor(), sender_keys=sender)  # fmt: skip
    plan, sequence_id = started.plan, started.sequence_id
    data = started.as_dict()
    if as_json:
        print_json(data)
        return
    for skip in plan.skipped:
        typer.echo(f"skipped {skip.prospect_id}: {skip.reason}")
    steps_text = " -> ".join(data["steps"])
    joined = ""
    if plan.continuing:
        names = plan.sequence_steps
        joined = (f"; {len(plan.continuing)} already got {names[0]['template']} and go on from "
                  f"{names[1]['template']}, in that thread")  # fmt: skip
    if dry_run:
        enrol = _prospects(len(plan.enrolled))
        typer.echo(f"Dry run: would enrol {enrol} in {steps_text}{joined}. Nothing was started.")
        return
    if sequence_id is None:
        abort("nobody could be enrolled")
    typer.echo(f"Started {sequence_id} ({steps_text}) for {_prospects(len(plan.enrolled))}{joined}.")
    sent = f"{started.sent_now} email{'' if started.sent_now == 1 else 's'}"
    typer.echo(f"{sent} sent now; {started.waiting} waiting for their time, sending window or "
               "tomorrow's cap (`leadline sequences status` shows when each goes).")  # fmt: skip


def _prospects(n: int) -> str:
    return f"{n} prospect{'' if n == 1 else 's'}"


@app.command("stop")
def stop(
    prospect: Annotated[str | None, typer.Option(help="Stop this prospect's sequence.")] = None,
    stop_all: Annotated[bool, typer.Option("--all", help="Stop every active sequence.")] = False,
    reason: Annotated[str | None, typer.Option(help="Why (kept on the timeline).")] = None,
) -> None:
    """Stop sequences by hand: one prospect's, or all of them."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.sequences import service

    if (prospect is None) == (not stop_all):
        abort("give --prospect ID or --all")
    require_database()
    with cli_errors(), unit_of_work(cli_settings()) as session:
        count = service.stop(session, actor=actor(), prospect_id=prospect, everything=stop_all, reason=reason)
    typer.echo(f"Stopped {count} sequence{'s' if count != 1 else ''}.")


@app.command("status")
def status(
    include_ended: Annotated[bool, typer.Option("--all", help="Also completed and stopped ones.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Each sequence enrollment: its step, the next send time, or why it stopped."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.sequences import service

    require_database()
    with cli_errors(), unit_of_work(cli_settings(), readonly=True) as session:
        rows = service.status(session, include_ended=include_ended)
    if as_json:
        print_json([
            {"id": r.id, "sequenceId": r.sequence_id, "prospectId": r.prospect_id, "name": r.prospect_name,
             "status": r.status, "step": r.step, "steps": r.steps, "nextSendAt": r.next_send_at,
             "stopReason": r.stop_reason, "lastEmailId": r.last_email_id, "lastSentAt": r.last_sent_at}
            for r in rows
        ])  # fmt: skip
        return

    def step(r: Any) -> str:
        index = min(r.step, len(r.steps) - 1)
        return f"{index + 1}/{len(r.steps)} {r.steps[index]}"

    def when(r: Any) -> str:
        return local(r.next_send_at) or ("(sending now)" if r.status == "active" else "")

    print_table(
        ["Prospect", "Sequence", "Step", "Next send", "Status", "Why stopped"],
        ((r.prospect_id, r.sequence_id, step(r), when(r), r.status, r.stop_reason or "") for r in rows),
        footer=f"{len(rows)} enrollment(s)",
    )
