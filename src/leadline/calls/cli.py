"""``leadline calls ...``: schedule, reschedule, cancel, no-show, log, list, show, ics;
and ``leadline objections``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from leadline.cli._out import abort, actor, cli_errors, cli_settings, local, print_fields, print_json, print_table

if TYPE_CHECKING:
    from leadline.calls.schemas import CallLogged, CallRead

app = typer.Typer(
    help="Calls: book, reschedule, cancel, log with objections and outcome, list, calendar feed.",
    no_args_is_help=True,
)

Outcome = Literal["interested", "not_interested", "follow_up", "proposal_sent", "closed_won"]
Service = Literal["grid_health_analysis", "content_generation", "paid_ads"]
ListStatus = Literal["booked", "pending", "overdue", "completed", "cancelled", "no_show"]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
CallId = Annotated[str, typer.Argument(help="The call's id (call_...).")]
WHEN = "%a %Y-%m-%d %H:%M"


def _when_help(what: str) -> str:
    return f"{what}, like '2025-11-21 15:00', in LEADLINE_TIMEZONE (or with an offset)."


@app.command("schedule")
def schedule(
    prospect: Annotated[str, typer.Option("--prospect", help="The prospect's id.")],
    at: Annotated[str, typer.Option("--at", help=_when_help("When"))],
    notes: Annotated[str | None, typer.Option(help="Notes for the call (agenda, who to ask for).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Book a call: the prospect moves to scheduled; the call goes into the calendar feed."""
    from leadline.calls import service
    from leadline.calls.schemas import CallBook
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.prospects import service as prospects

    require_database()
    with cli_errors({"prospectId": "--prospect", "scheduledAt": "--at"}):
        data = CallBook.model_validate({"prospect_id": prospect, "scheduled_at": at, "notes": notes})
        with unit_of_work(cli_settings()) as session:
            call = service.book(session, data, actor=actor())
            result = service.logged_read(
                session,
                service.Logged(call=call, prospect=prospects.get(session, prospect), task=None, customer=None),
            )
    if as_json:
        print_json(result.dump())
        return
    typer.echo(
        f"Booked {result.id}: {result.prospect_name} on {local(result.scheduled_at, WHEN)}. "
        f"Stage: {result.sales_status}."
    )


@app.command("reschedule")
def reschedule(
    call_id: CallId,
    at: Annotated[str, typer.Option("--at", help=_when_help("The new time"))],
    reason: Annotated[str | None, typer.Option(help="Why (kept in the timeline).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Move a booked (or missed) call to a new time; the calendar event follows."""
    from leadline.calls import service
    from leadline.calls.schemas import Reschedule
    from leadline.db import unit_of_work

    _need_db()
    with cli_errors({"scheduledAt": "--at"}):
        data = Reschedule.model_validate({"scheduled_at": at, "reason": reason})
        with unit_of_work(cli_settings()) as session:
            result = service.read(session, [service.reschedule(session, call_id, data, actor=actor())])[0]
    _done(
        result,
        f"Rescheduled {result.id} with {result.prospect_name} to {local(result.scheduled_at, WHEN)}.",
        as_json,
    )


@app.command("cancel")
def cancel(
    call_id: CallId,
    reason: Annotated[str | None, typer.Option(help="Why (kept in the timeline).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Cancel a booked call (it stays in the calendar feed as cancelled)."""
    from leadline.calls import service
    from leadline.calls.schemas import Cancel
    from leadline.db import unit_of_work

    _need_db()
    with cli_errors():
        data = Cancel.model_validate({"reason": reason})
        with unit_of_work(cli_settings()) as session:
            call = service.cancel(session, call_id, reason=data.reason, actor=actor())
            result = service.read(session, [call])[0]
    _done(
        result,
        f"Cancelled {result.id} with {result.prospect_name} ({local(result.scheduled_at, WHEN)}).",
        as_json,
    )


@app.command("no-show")
def no_show(
    call_id: CallId,
    notes: Annotated[str | None, typer.Option(help="What happened.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record that the prospect missed a booked call; adds a task to reschedule it."""
    from leadline.calls import service
    from leadline.calls.schemas import NoShow
    from leadline.db import unit_of_work

    _need_db()
    with cli_errors():
        data = NoShow.model_validate({"notes": notes})
        with unit_of_work(cli_settings()) as session:
            call, task = service.no_show(session, call_id, notes=data.notes, actor=actor())
            result = service.read(session, [call])[0]
            title = task.title
    _done(result, f"No-show recorded for {result.id} with {result.prospect_name}. Task: {title}.", as_json)


def _need_db() -> None:
    from leadline.cli._out import require_database

    require_database()


def _done(result: Any, line: str, as_json: bool) -> None:
    if as_json:
        print_json(result.dump())
    else:
        typer.echo(line)


#: The fields `calls log` fills under other names (its refusals name the option).
LOG_OPTIONS = {"prospectId": "--prospect", "callId": "--call", "followUpAt": "--follow-up", "serviceType": "--service",
               "startDate": "--start"}  # fmt: skip


@app.command("log")
def log(
    outcome: Annotated[Outcome, typer.Option(help="How the call went.")],
    prospect: Annotated[str | None, typer.Option("--prospect", help="The prospect's id (or give --call).")] = None,
    call: Annotated[
        str | None,
        typer.Option("--call", help="The booked call to log; default: the earliest booked for that day or before."),
    ] = None,
    objections: Annotated[
        str | None, typer.Option(help='Objections as said, separated by commas or line breaks: "cost,timeline".')
    ] = None,
    objection: Annotated[list[str] | None, typer.Option(help="One objection (repeatable; may contain commas).")] = None,
    notes: Annotated[str | None, typer.Option(help="What was discussed.")] = None,
    duration: Annotated[str | None, typer.Option(help="How long: 25m, 1h30m, 90s, 25:00 or seconds.")] = None,
    next_steps: Annotated[str | None, typer.Option(help="The next step; becomes a task.")] = None,
    next_step_due: Annotated[
        str | None,
        typer.Option(
            help="When the next step is due (a date means 09:00); "
            "default: LEADLINE_NEXT_STEP_BUSINESS_DAYS working days later."
        ),
    ] = None,
    follow_up: Annotated[
        str | None,
        typer.Option(help="Outcome follow_up: when to follow up; default: the next-step due date."),
    ] = None,
    recording_url: Annotated[str | None, typer.Option(help="Link to the recording.")] = None,
    completed_at: Annotated[str | None, typer.Option(help=_when_help("When the call ended; default now"))] = None,
    lost_reason: Annotated[
        str | None, typer.Option(help="Outcome not_interested: why (default: the objections).")
    ] = None,
    service_type: Annotated[
        Service | None,
        typer.Option("--service", help="Outcome closed_won: grid_health_analysis, content_generation or paid_ads."),
    ] = None,
    monthly_fee: Annotated[
        str | None, typer.Option(help="Outcome closed_won: monthly fee (default: the prospect's deal value).")
    ] = None,
    start: Annotated[str | None, typer.Option(help="Outcome closed_won: service start date.")] = None,
    signed_at: Annotated[str | None, typer.Option(help="Outcome closed_won: when the contract was signed.")] = None,
    contract_url: Annotated[str | None, typer.Option(help="Outcome closed_won: link to the contract.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Log a call (the seed's create:call): outcome, objections, notes, next step.

    Completes the prospect's earliest call booked for the call's day or before, or creates one if
    none is (a call booked for a later day stays booked).
    """
    from leadline.calls import service
    from leadline.calls.objections import parse as parse_objections
    from leadline.calls.schemas import CallLog
    from leadline.db import unit_of_work

    said = [*parse_objections(objections), *(objection or [])]  # the schema drops repeats
    values: dict[str, Any] = {
        "prospect_id": prospect, "call_id": call, "outcome": outcome, "objections": said, "notes": notes,
        "duration": duration, "next_steps": next_steps, "next_step_due": next_step_due,
        "follow_up_at": follow_up, "recording_url": recording_url, "completed_at": completed_at,
        "lost_reason": lost_reason, "service_type": service_type, "monthly_fee": monthly_fee,
        "start_date": start, "signed_at": signed_at, "contract_url": contract_url,
    }  # fmt: skip
    given = {k: v for k, v in values.items() if v is not None}
    if prospect is None and call is None:
        abort("give --prospect ID (or --call ID)")
    _need_db()
    with cli_errors(LOG_OPTIONS):
        data = CallLog.model_validate(given)
        with unit_of_work(cli_settings()) as session:
            result = service.logged_read(session, service.log(session, data, actor=actor()))
    if as_json:
        print_json(result.dump())
        return
    _print_logged(result)


def _print_logged(result: CallLogged) -> None:
    from leadline.calls.objections import label
    from leadline.times import duration_text

    length = f", {duration_text(result.duration)}" if result.duration is not None else ""
    typer.echo(f"Logged {result.id} with {result.prospect_name}: {result.outcome}{length}.")
    if result.objections:
        pairs = zip(result.objections, result.objection_categories, strict=False)
        typer.echo("Objections: " + "; ".join(f"{text} ({label(cat)})" for text, cat in pairs))
    if result.customer_id:
        typer.echo(f"Deal won: customer {result.customer_id}.")
    typer.echo(f"{result.prospect_name} is now {result.sales_status}.")
    if result.task is not None:
        typer.echo(f"Next step: {result.task.title}, due {local(result.task.due_at, WHEN)} ({result.task.id}).")


@app.command("list")
def list_calls(
    status: Annotated[
        ListStatus | None,
        typer.Option(
            help="booked (not cancelled), pending (booked, not logged), overdue, completed, cancelled, no_show;"
            " with --as-of: the state then."
        ),
    ] = None,
    today: Annotated[
        bool,
        typer.Option(
            "--today",
            help="Only calls whose time is today: held, to hold or cancelled (`leadline today`: those to make).",
        ),
    ] = False,
    prospect: Annotated[str | None, typer.Option("--prospect", help="Only this prospect's calls.")] = None,
    booked_from: Annotated[str | None, typer.Option("--booked-from", help="Booked on or after (local).")] = None,
    booked_to: Annotated[str | None, typer.Option("--booked-to", help="Booked before (local).")] = None,
    held_from: Annotated[str | None, typer.Option("--held-from", help="Completed on or after (local).")] = None,
    held_to: Annotated[str | None, typer.Option("--held-to", help="Completed before (local).")] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="The calls' state at this date/time (local): a past week's figures.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1_000_000, help="How many to show.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """List calls by time (the seed's list:calls --status pending)."""
    from leadline.calls import reading as service  # the reads alone, not the booking and logging
    from leadline.db import unit_of_work
    from leadline.times import parse_since

    _need_db()
    with cli_errors(), unit_of_work(cli_settings(), readonly=True) as session:
        zone = cli_settings().zone
        given = {"booked_from": booked_from, "booked_to": booked_to, "held_from": held_from, "held_to": held_to,
                 "as_of": as_of}  # fmt: skip
        bounds = {k: parse_since(v, zone, field=k.replace("_", "-")) if v else None for k, v in given.items()}
        calls, total = service.search(
            session,
            status=status,
            today=today,
            prospect_id=prospect,
            limit=limit,
            booked_from=bounds["booked_from"],
            booked_to=bounds["booked_to"],
            held_from=bounds["held_from"],
            held_to=bounds["held_to"],
            as_of=bounds["as_of"],
        )
        items = service.read(session, calls)
    if as_json:
        print_json([item.dump() for item in items])
        return
    _print_calls(items, total)


def _print_calls(items: list[CallRead], total: int) -> None:
    from leadline.times import duration_text

    print_table(
        ["When", "Prospect", "Status", "Outcome", ("Length", "right"), "Objections", "Id"],
        (
            (
                local(c.scheduled_at, WHEN),
                c.prospect_name or c.prospect_id,
                c.status.replace("_", "-"),
                "" if c.outcome == "pending" else c.outcome,
                duration_text(c.duration),
                "; ".join(c.objections),
                c.id,
            )
            for c in items
        ),
        footer=f"{len(items)} of {total} calls" if items else "no calls",
    )


@app.command("show")
def show(call_id: CallId, as_json: JsonOpt = False) -> None:
    """Show one call: times, outcome, objections with their categories, next steps."""
    from leadline.calls import service
    from leadline.calls.objections import label
    from leadline.db import unit_of_work
    from leadline.times import duration_text

    _need_db()
    with cli_errors(), unit_of_work(cli_settings(), readonly=True) as session:
        call = service.read(session, [service.get(session, call_id)])[0]
    if as_json:
        print_json(call.dump())
        return
    print_fields(
        [
            ("prospect", f"{call.prospect_name} ({call.prospect_id})"),
            ("status", call.status),
            ("outcome", call.outcome),
            ("scheduled", local(call.scheduled_at, WHEN)),
            ("completed", local(call.completed_at, WHEN)),
            ("duration", duration_text(call.duration)),
            (
                "objections",
                "; ".join(
                    f"{t} ({label(c)})" for t, c in zip(call.objections, call.objection_categories, strict=False)
                ),
            ),
            ("next steps", call.next_steps),
            ("notes", call.notes),
            ("recording", call.recording_url),
            ("cancel reason", call.cancel_reason),
        ],
        title=f"Call {call.id}",
    )


@app.command("ics")
def ics(
    url: Annotated[bool, typer.Option("--url", help="Print the feed's secret subscribe URL instead.")] = False,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file.")] = None,
) -> None:
    """Print the iCalendar feed of booked calls (leadline calls ics > calls.ics)."""
    from leadline.calls import calendar
    from leadline.cli._out import write_bytes
    from leadline.db import unit_of_work

    settings = cli_settings()
    if url:
        with cli_errors():
            typer.echo(calendar.url(settings))
        return
    _need_db()
    with cli_errors(), unit_of_work(cli_settings(), readonly=True) as session:
        data = calendar.feed(session, settings)
    if output is not None:
        write_bytes(output, data)
        typer.echo(f"Wrote {output}.")
    else:
        sys.stdout.write(data.decode())
        sys.stdout.flush()


def objections(
    recategorize: Annotated[
        bool,
        typer.Option("--recategorize", help="First map every logged objection again with the current keyword map."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Objections heard on calls, by category, with counts and examples."""
    from leadline.calls import service
    from leadline.db import unit_of_work

    _need_db()
    changed = None
    with cli_errors(), unit_of_work(cli_settings(), readonly=not recategorize) as session:
        if recategorize:
            changed = service.recategorize(session)
        summary, calls = service.objection_summary(session)
    if as_json:
        print_json([item.dump() for item in summary])
        return
    if changed is not None:
        typer.echo(f"Recategorized {changed} call{'s' if changed != 1 else ''}.")
    total = sum(item.count for item in summary)
    print_table(
        ["Category", ("Count", "right"), ("Share", "right"), "Examples"],
        ((item.label, item.count, f"{item.share:.0%}", "; ".join(f'"{e}"' for e in item.examples)) for item in summary),
        footer=f"{total} objections on {calls} logged calls" if total else "no objections logged yet",
    )
