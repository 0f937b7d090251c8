"""``leadline tasks ...`` (list, add, edit, complete, reopen) and ``leadline today``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

import typer

from leadline.cli._out import actor, cli_errors, cli_settings, local, print_json, print_table

if TYPE_CHECKING:
    from leadline.tasks.schemas import TaskRead, TodayRead

app = typer.Typer(help="Tasks: next steps from calls, follow-ups, your own to-dos.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
WHEN = "%a %Y-%m-%d %H:%M"


@app.command("list")
def list_tasks(
    state: Annotated[Literal["open", "done", "all"], typer.Option(help="Open, done or all tasks.")] = "open",
    due: Annotated[
        Literal["today", "overdue"] | None, typer.Option(help="Only due today (overdue included) or overdue.")
    ] = None,
    prospect: Annotated[str | None, typer.Option("--prospect", help="Only this prospect's tasks.")] = None,
    customer: Annotated[str | None, typer.Option("--customer", help="Only this customer's tasks.")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Only this user's tasks (e-mail).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1_000_000, help="How many to show.")] = 200,
    as_json: JsonOpt = False,
) -> None:
    """List tasks, soonest due first."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.tasks import service

    require_database()
    with cli_errors(), unit_of_work(cli_settings(), readonly=True) as session:
        found = service.search(session, state=state, due=due, prospect_id=prospect, customer_id=customer, owner=owner,
                               limit=limit)  # fmt: skip
        items = service.read(session, found)
    if as_json:
        print_json([item.dump() for item in items])
        return
    _print_tasks(items, footer=f"{len(items)} tasks" if items else "no tasks")


def _print_tasks(items: list[TaskRead], *, footer: str | None, title: str | None = None) -> None:
    from leadline.clock import utc_now

    now = utc_now()
    print_table(
        ["Due", "Task", "Prospect", "Kind", "Owner", "Id"],
        (
            (
                local(t.due_at, WHEN) + (" (done)" if t.done_at else " (overdue)" if t.due_at < now else ""),
                t.title,
                t.prospect_name or "",
                t.kind.replace("_", " "),
                t.owner or "",
                t.id,
            )
            for t in items
        ),
        title=title,
        footer=footer,
    )


@app.command("add")
def add(
    title: Annotated[str, typer.Option(help="What to do.")],
    prospect: Annotated[str | None, typer.Option("--prospect", help="The prospect it is about.")] = None,
    customer: Annotated[str | None, typer.Option("--customer", help="The customer it is about (id).")] = None,
    due: Annotated[str | None, typer.Option(help="When: a date (09:00) or '2025-11-21 15:00'; default: now.")] = None,
    kind: Annotated[
        Literal["manual", "follow_up", "proposal", "call_back"],
        typer.Option(help="What it is for: proposal, follow_up and call_back complete themselves when done."),
    ] = "manual",
    owner: Annotated[str | None, typer.Option(help="Whose task it is (a user's e-mail).")] = None,
    notes: Annotated[str | None, typer.Option(help="Notes.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a task (it counts towards the prospect's next follow-up date)."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.tasks import service
    from leadline.tasks.schemas import TaskCreate

    require_database()
    values = {"title": title, "prospect_id": prospect, "customer_id": customer, "due": due, "notes": notes,
              "kind": kind, "owner": owner}  # fmt: skip
    with cli_errors({"prospectId": "--prospect", "customerId": "--customer"}):
        data = TaskCreate.model_validate({k: v for k, v in values.items() if v is not None})
        with unit_of_work(cli_settings()) as session:
            result = service.read(session, [service.create(session, data, actor=actor())])[0]
    if as_json:
        print_json(result.dump())
    else:
        typer.echo(f"Added {result.id}: {result.title}, due {local(result.due_at, WHEN)}.")


@app.command("edit")
def edit(
    task_id: Annotated[str, typer.Argument(help="The task's id (task_...).")],
    title: Annotated[str | None, typer.Option(help="What to do.")] = None,
    due: Annotated[str | None, typer.Option(help="When: a date (09:00) or '2025-11-21 15:00'.")] = None,
    snooze: Annotated[
        Literal["1d", "3d", "1w"] | None, typer.Option(help="Push it on a day, three days or a week.")
    ] = None,
    kind: Annotated[
        Literal["manual", "follow_up", "proposal", "call_back"] | None, typer.Option(help="Its kind.")
    ] = None,
    owner: Annotated[str | None, typer.Option(help="Whose task it is (a user's e-mail).")] = None,
    notes: Annotated[str | None, typer.Option(help="Notes.")] = None,
    clear: Annotated[list[str] | None, typer.Option(help="Empty owner or notes (repeatable).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a task: its title, due date (or snooze it), kind, owner or notes."""
    from leadline.cli._out import abort, require_database
    from leadline.db import unit_of_work
    from leadline.tasks import service
    from leadline.tasks.schemas import TaskUpdate

    given: dict[str, object] = {k: v for k, v in {"title": title, "due": due, "snooze": snooze, "kind": kind,
                                                 "owner": owner, "notes": notes}.items() if v is not None}  # fmt: skip
    for name in clear or []:
        if name not in ("owner", "notes"):
            abort(f"--clear: only owner or notes can be emptied, not {name!r}")
        given[name] = None
    if not given:
        abort("nothing to change: give at least one option (see --help)")
    require_database()
    with cli_errors():
        changes = TaskUpdate.model_validate(given)
        with unit_of_work(cli_settings()) as session:
            result = service.read(session, [service.update(session, task_id, changes, actor=actor())])[0]
    if as_json:
        print_json(result.dump())
    else:
        typer.echo(f"Changed {result.id}: {result.title}, due {local(result.due_at, WHEN)}.")


@app.command("complete")
def complete(
    task_id: Annotated[str, typer.Argument(help="The task's id (task_...).")],
    as_json: JsonOpt = False,
) -> None:
    """Complete a task."""
    _finish(task_id, as_json=as_json)


@app.command("done")
def done(
    task_id: Annotated[str, typer.Argument(help="The task's id (task_...).")],
    as_json: JsonOpt = False,
) -> None:
    """Complete a task (the same as complete)."""
    _finish(task_id, as_json=as_json)


def _finish(task_id: str, *, as_json: bool) -> None:
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.tasks import service

    require_database()
    with cli_errors(), unit_of_work(cli_settings()) as session:
        result = service.read(session, [service.complete(session, task_id, actor=actor())])[0]
    if as_json:
        print_json(result.dump())
    else:
        typer.echo(f"Done: {result.title}.")


@app.command("reopen")
def reopen(
    task_id: Annotated[str, typer.Argument(help="The task's id (task_...).")],
    as_json: JsonOpt = False,
) -> None:
    """Open a done task again."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.tasks import service

    require_database()
    with cli_errors(), unit_of_work(cli_settings()) as session:
        result = service.read(session, [service.reopen(session, task_id, actor=actor())])[0]
    if as_json:
        print_json(result.dump())
    else:
        typer.echo(f"Open again: {result.title}, due {local(result.due_at, WHEN)}.")


def today(
    owner: Annotated[
        str | None,
        typer.Option("--owner", help="One user's day: the prospects they own and the tasks given to them (e-mail)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """What to do today: calls, overdue follow-ups, tasks due and replies to answer."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.tasks.today import build

    require_database()
    with cli_errors(), unit_of_work(cli_settings(), readonly=True) as session:
        result = build(session, owner=owner)
    if as_json:
        print_json(result.dump())
        return
    _print_today(result)


def _print_today(day: TodayRead) -> None:
    typer.echo(f"Today, {day.date} ({day.timezone})" + (f", for {day.owner}" if day.owner else ""))
    typer.echo("")
    print_table(
        ["Time", "Prospect", "Phone", ("Grid health", "right"), "Stage", "Past objections", "Call"],
        (
            (
                local(c.scheduled_at, "%Y-%m-%d %H:%M (overdue)" if c.overdue else "%H:%M"),
                f"{c.prospect_name} ({c.contact_name})" if c.contact_name else c.prospect_name,
                c.phone or "",
                "" if c.grid_health is None else f"{c.grid_health:g}%",
                c.sales_status,
                "; ".join(c.past_objections),
                c.call_id,
            )
            for c in day.calls
        ),
        title="Calls",
        footer=None if day.calls else "Calls: none booked for today",
    )
    if day.upcoming_calls:  # as the Today page's "Coming up" and --json's upcomingCalls
        typer.echo("")
        print_table(["When", "Prospect", "Phone", "Stage", "Call"],
                    ((local(c.scheduled_at, WHEN), f"{c.prospect_name} ({c.contact_name})" if c.contact_name
                      else c.prospect_name, c.phone or "", c.sales_status, c.call_id) for c in day.upcoming_calls),
                    title="Coming up (the next 7 days)")  # fmt: skip
    typer.echo("")
    print_table(
        ["Was due", "Prospect", "Phone", "Stage", "Last contact"],
        (
            (local(f.next_follow_up_at, WHEN), f.prospect_name, f.phone or "", f.sales_status,
             local(f.last_contact_at, WHEN))
            for f in day.overdue_follow_ups
        ),
        title="Overdue follow-ups",
        footer=None if day.overdue_follow_ups else "Overdue follow-ups: none",
    )  # fmt: skip
    typer.echo("")
    _print_tasks(day.tasks, title="Tasks", footer=None if day.tasks else "Tasks: none due")
    typer.echo("")
    print_table(
        ["Replied", "Prospect", "Phone", "Reply"],
        (
            (
                local(r.replied_at, WHEN),
                r.prospect_name,
                r.phone or "",
                " ".join((r.reply_text or "").split())[:80],
            )
            for r in day.replies
        ),
        title="Replies to answer",
        footer=None if day.replies else "Replies to answer: none",
    )
    if day.texts:
        typer.echo("")
        print_table(["Texted", "Prospect", "From", "Text"],
                    ((local(t.at, WHEN), t.prospect_name, t.from_number or "", " ".join(t.body.split())[:80])
                     for t in day.texts), title="Texts to answer")  # fmt: skip
