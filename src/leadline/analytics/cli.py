"""``leadline dashboard``, ``leadline report week``, ``leadline analytics ...`` and ``leadline export ...``."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

import typer

from leadline.cli._out import abort, cli_errors, output_to, print_json, print_table
from leadline.prospects.queries import SortKey
from leadline.prospects.stages import Stage

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from leadline.analytics.schemas import ConversionRow, SlotRate
    from leadline.config import Settings

T = TypeVar("T")

report_app = typer.Typer(help="Reports: the weekly sales report (text, JSON, CSV or a self-contained HTML file).",
                         no_args_is_help=True)  # fmt: skip
analytics_app = typer.Typer(
    help="What works: templates, objections, conversion by group, reply timing, forecast.", no_args_is_help=True
)
export_app = typer.Typer(
    help="Export prospects, emails, calls or customers as CSV (safe for spreadsheets) or JSON; "
    "or the whole database with --all.",
    invoke_without_command=True,
)


@export_app.callback()
def export_everything(
    context: typer.Context,
    everything: Annotated[
        bool, typer.Option("--all", help="Every table, to move to another database (`leadline import --all`).")
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="With --all: the file (.jsonl or .jsonl.gz).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="With --all: replace the file if it exists.")] = False,
) -> None:
    """Export data: one kind as CSV/JSON (a subcommand), or the whole database (--all -o FILE)."""
    if context.invoked_subcommand is not None:
        if everything:
            abort("--all exports everything; leave out the subcommand")
        return
    if not everything:
        typer.echo(context.get_help())
        raise typer.Exit(0)
    if output is None:
        abort("give --output FILE (the whole database goes to one file)")
    from leadline.cli.transfer import export_all

    export_all(output, force=force)


WEEK_HELP = "ISO week like 2025-W47, or 'this' (default) or 'last'; in LEADLINE_TIMEZONE."
WeekOpt = Annotated[str | None, typer.Option("--week", help=WEEK_HELP)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
SinceOpt = Annotated[str | None, typer.Option(help="Only emails sent on or after this local date (2025-11-01).")]
UntilOpt = Annotated[str | None, typer.Option(help="Only emails sent before this local date.")]
OutputOpt = Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")]


def _settings() -> Settings:
    """The CLI's settings (the environment's); every service call below is given these."""
    from leadline.config import get_settings

    return get_settings()


def _read(work: Callable[[Session, Settings], T]) -> T:
    """Run ``work`` in one read-only unit of work (one consistent snapshot) after checking the database."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work

    require_database()
    settings = _settings()
    with cli_errors(), unit_of_work(settings, readonly=True) as session:
        return work(session, settings)


# --- dashboard -----------------------------------------------------------------------------------

ListsOpt = Annotated[
    bool, typer.Option("--lists", help="Print each figure with the command that lists exactly what it counts.")
]


def dashboard(
    week: WeekOpt = None,
    cards: Annotated[int, typer.Option(min=0, max=50, help="How many prospect cards to show.")] = 3,
    lists: ListsOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """The seed's WEEK N SALES METRICS: prospects, outreach, engagement, calls, pipeline, key metrics."""
    from leadline.analytics import render
    from leadline.analytics.render import dashboard_text
    from leadline.analytics.service import dashboard as figures
    from leadline.analytics.service.common import resolve_week

    with cli_errors():
        chosen = resolve_week(week, _settings())
    data = _read(lambda session, settings: figures.dashboard(session, chosen, settings=settings, cards=cards))
    if as_json:
        print_json(data.dump())
    elif lists:
        typer.echo(render.lists_text(data.lists), nl=False)
    else:
        typer.echo(dashboard_text(data), nl=False)


# --- report --------------------------------------------------------------------------------------


@report_app.command("week")
def report_week(
    week: WeekOpt = None,
    fmt: Annotated[Literal["text", "json", "csv", "html"], typer.Option("--format", help="Output format.")] = "text",
    output: OutputOpt = None,
    lists: ListsOpt = False,
) -> None:
    """The seed's WEEK SALES REPORT: the week against the one before, next week's targets; HTML adds charts."""
    from leadline.analytics import render
    from leadline.analytics.service.common import resolve_week
    from leadline.analytics.service.report import weekly_report

    with cli_errors():
        chosen = resolve_week(week, _settings())
    data = _read(lambda session, settings: weekly_report(session, chosen, settings=settings))
    if fmt == "json":
        import json

        text = json.dumps(data.dump(), indent=2, ensure_ascii=False) + "\n"
    elif lists and fmt == "text":
        text = render.lists_text(data.lists)
    else:
        text = {"text": render.report_text, "csv": render.report_csv, "html": render.report_html}[fmt](data)
    with output_to(output) as handle:
        handle.write(text)
    if output is not None:
        typer.echo(f"Wrote the {data.week.label} report ({fmt}) to {output}.")


# --- what works ----------------------------------------------------------------------------------


def _period(since: str | None, until: str | None) -> tuple[Any, Any]:
    from leadline.analytics.service.common import parse_day

    settings = _settings()
    with cli_errors():
        return parse_day(since, settings, field="since"), parse_day(until, settings, field="until")


@analytics_app.command("templates")
def templates(since: SinceOpt = None, until: UntilOpt = None, as_json: JsonOpt = False) -> None:
    """Template performance: sent, delivered, human opens, clicks, replies, calls booked, with 95% intervals;
    then each template's links: clicks by people, people, machine clicks."""
    from leadline.analytics.render import interval, number
    from leadline.analytics.service.what_works import template_performance

    start, end = _period(since, until)
    data = _read(lambda session, _: template_performance(session, since=start, until=end))
    if as_json:
        print_json(data.dump())
        return
    print_table(
        ["Template", ("Sent", "right"), ("Delivered", "right"), ("Human opens", "right"), ("Clicks", "right"),
         ("Replies", "right"), ("Calls booked", "right"), "Note"],
        ((r.template, number(r.sent), interval(r.delivered), interval(r.human_opened), interval(r.clicked),
          f"{r.replied.count} · {interval(r.replied)}", f"{r.calls_booked.count} · {interval(r.calls_booked)}",
          r.note) for r in data.rows),
        footer="Rates per email sent, with 95% Wilson intervals; compared with the best reply rate (z-test)."
        if data.rows else None,
    )  # fmt: skip
    for note in data.notes:
        typer.echo(note)
    linked = [(r.template, link) for r in data.rows for link in r.links]
    if linked:
        typer.echo()
        print_table(
            ["Template", "Link", ("Clicks by people", "right"), ("People", "right"), ("Machine clicks", "right")],
            ((template, link.url, number(link.human_clicks), number(link.people), number(link.machine_clicks))
             for template, link in linked),
            footer="Machine clicks (link scanners) and clicks on the unsubscribe link are not counted as clicks.",
        )  # fmt: skip


@analytics_app.command("objections")
def objections(as_json: JsonOpt = False) -> None:
    """Objections ranked by how many logged calls raised them, with the win rate of those deals."""
    from leadline.analytics.render import interval, pct
    from leadline.analytics.service.what_works import objection_table

    data = _read(lambda session, settings: objection_table(session, settings=settings))
    if as_json:
        print_json(data.dump())
        return
    print_table(
        ["Objection", ("Calls", "right"), ("Share", "right"), ("Won", "right"), ("Lost", "right"),
         ("Open", "right"), ("Win rate", "right")],
        ((r.label, r.calls, pct(r.share), r.won, r.lost, r.open, interval(r.win_rate)) for r in data.rows),
        footer=f"{data.calls_with_objections} logged calls with objections; win rate = won / (won + lost)."
        if data.rows else "No objections logged yet.",
    )  # fmt: skip


@analytics_app.command("recount")
def recount(
    check: Annotated[
        bool, typer.Option("--check", help="Only compare: change nothing, exit 1 when the kept totals differ.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Count the dashboard's and the weekly report's totals again from the raw rows (one
    transaction) and say which kept totals differed. Run it after changing LEADLINE_TIMEZONE."""
    from leadline.analytics.service.totals import recount_totals
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work

    require_database()
    settings = _settings()
    with cli_errors(), unit_of_work(settings) as session:
        result = recount_totals(session, settings, write=not check)
    if as_json:
        print_json({"rows": result.rows, "differing": len(result.differing), "written": result.written,
                    "differences": result.differing[:100]})  # fmt: skip
    else:
        verb = "rebuilt" if result.written else "checked, nothing changed"
        typer.echo(f"{result.rows:,} totals counted from the raw rows ({verb}); {len(result.differing):,} differed.")
        for item in result.differing[:20]:
            typer.echo(f"  {item['figure']} started {item['startDay']} happened {item['eventDay']} "
                       f"template={item['template']!r} sender={item['sender']!r} tier={item['tier']} "
                       f"trade={item['trade']!r} band={item['band']!r}: "
                       f"kept {item['stored']}, counted {item['counted']}")  # fmt: skip
    if check and result.differing:
        raise typer.Exit(1)


ByOpt = Literal["trade", "tier", "grid-health", "all"]


@analytics_app.command("conversion")
def conversion(
    by: Annotated[ByOpt, typer.Option(help="Group by trade, tier, grid-health band, or all three.")] = "all",
    as_json: JsonOpt = False,
) -> None:
    """How far prospects got, by trade, tier and grid-health band (rates out of those contacted)."""
    from leadline.analytics.service.what_works import conversion as by_group

    data = _read(lambda session, _: by_group(session))
    groups = {"trade": data.by_trade, "tier": data.by_tier, "grid-health": data.by_grid_health}
    chosen = groups if by == "all" else {by: groups[by]}
    if as_json:
        print_json({key.replace("-h", "H"): [row.dump() for row in rows] for key, rows in chosen.items()})
        return
    for index, (key, rows) in enumerate(chosen.items()):
        if index:
            typer.echo("")
        _conversion_table(key, rows)


def _conversion_table(key: str, rows: list[ConversionRow]) -> None:
    from leadline.analytics.render import interval, number

    print_table(
        [key.replace("-", " ").capitalize(), ("Prospects", "right"), ("Contacted", "right"), ("Replied", "right"),
         ("Call booked", "right"), ("Won", "right"), ("Reply rate", "right"), ("Call rate", "right"),
         ("Win rate", "right")],
        ((r.group, number(r.prospects), number(r.contacted), number(r.replied), number(r.scheduled), number(r.won),
          interval(r.reply_rate), interval(r.call_rate), interval(r.win_rate)) for r in rows),
        title=f"Conversion by {key.replace('-', ' ')}",
    )  # fmt: skip


@analytics_app.command("timing")
def timing(since: SinceOpt = None, until: UntilOpt = None, as_json: JsonOpt = False) -> None:
    """Time from send to reply, and reply rate by the weekday and hour of sending (local time)."""
    from leadline.analytics.render import number, pct
    from leadline.analytics.service.what_works import timing as reply_timing

    start, end = _period(since, until)
    data = _read(lambda session, settings: reply_timing(session, settings=settings, since=start, until=end))
    if as_json:
        print_json(data.dump())
        return
    if data.replies:
        typer.echo(
            f"{data.replies} replies. Send to reply: median {number(data.median_hours)} h, middle half "
            f"{number(data.p25_hours)}-{number(data.p75_hours)} h, 90% within {number(data.p90_hours)} h, "
            f"mean {number(data.mean_hours)} h."
        )
        print_table([b.label for b in data.buckets], [[f"{b.count} ({pct(b.share)})" for b in data.buckets]])
    else:
        typer.echo("No replies yet.")
    for name, rows in (("Weekday sent", data.by_weekday), (f"Hour sent ({data.timezone})", data.by_hour)):
        typer.echo("")
        _slot_table(name, rows)


def _slot_table(name: str, rows: list[SlotRate]) -> None:
    from leadline.analytics.render import interval, number

    print_table(
        [name, ("Sent", "right"), ("Replies", "right"), ("Reply rate", "right")],
        ((r.label, number(r.sent), number(r.replied.count), interval(r.replied)) for r in rows),
        footer=None if rows else "No emails sent.",
    )


@analytics_app.command("forecast")
def forecast(as_json: JsonOpt = False) -> None:
    """Open pipeline value weighted by stage probability (expected new MRR), and current MRR."""
    from leadline.analytics.render import number, pct
    from leadline.analytics.service.what_works import forecast as weighted
    from leadline.money import amount

    data = _read(lambda session, settings: weighted(session, settings=settings))
    if as_json:
        print_json(data.dump())
        return
    print_table(
        ["Stage", ("Prospects", "right"), ("With value", "right"), ("Value/month", "right"),
         ("Probability", "right"), ("Weighted", "right")],
        ((s.label, number(s.prospects), number(s.with_value), amount(s.value, data.currency),
          pct(s.probability), amount(s.weighted, data.currency))
         for s in data.stages),
    )  # fmt: skip

    def monthly(value: float) -> str:
        return amount(value, data.currency, "month")

    typer.echo(
        f"Open pipeline: {monthly(data.open_pipeline_value)} · expected new MRR: {monthly(data.expected_new_mrr)}"
        f" · current MRR: {monthly(data.current_mrr)} ({data.active_customers} active"
        f" customer{'s' if data.active_customers != 1 else ''})"
        f" · projected MRR: {monthly(data.projected_mrr)}"
    )
    if data.open_without_value:
        typer.echo(f"{data.open_without_value} open prospects have no deal value (they add nothing).")


# --- exports -------------------------------------------------------------------------------------

FormatOpt = Annotated[Literal["csv", "json"], typer.Option("--format", help="File format.")]
ProspectOpt = Annotated[str | None, typer.Option("--prospect", help="Only this prospect's records.")]


def _export(kind: str, fmt: str, output: Path | None, filters: Any) -> None:
    from leadline.analytics.service.exports import export
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.exports import write_csv, write_json

    require_database()
    with cli_errors(), unit_of_work(_settings(), readonly=True) as session:
        columns, records = export(session, kind, filters)
        first = next(records, None)  # bad filters are refused before a file is made
        rows = itertools.chain([first] if first is not None else [], records)
        with output_to(output) as handle:
            count = write_csv(rows, handle, columns=columns) if fmt == "csv" else write_json(rows, handle)
    if output is not None:
        typer.echo(f"Exported {count} {kind} to {output}.")


@export_app.command("prospects")
def export_prospects(
    fmt: FormatOpt = "csv",
    output: OutputOpt = None,
    status: Annotated[Stage | None, typer.Option(help="Sales stage.")] = None,
    tier: Annotated[int | None, typer.Option(min=1, max=3, help="Tier 1, 2 or 3.")] = None,
    trade: Annotated[str | None, typer.Option(help="Trade, e.g. plumbing.")] = None,
    search: Annotated[
        str | None, typer.Option(help="Text in the name, contact, email, city, id or phone digits.")
    ] = None,
    do_not_contact: Annotated[
        bool | None,
        typer.Option("--do-not-contact/--contactable", help="Only prospects marked do-not-contact, or the others."),
    ] = None,
    sort: Annotated[SortKey, typer.Option(help="Sort order; a leading - sorts descending.")] = "created",
) -> None:
    """Prospects (the same file as `leadline prospects export`; re-importable)."""
    from leadline.analytics.service.exports import ExportFilters

    filters = ExportFilters(status=status, tier=tier, trade=trade, search=search, do_not_contact=do_not_contact,
                            sort=sort)  # fmt: skip
    _export("prospects", fmt, output, filters)


def _dated(since: str | None, until: str | None, **values: Any) -> Any:
    from leadline.analytics.service.exports import ExportFilters

    start, end = _period(since, until)
    return ExportFilters(since=start, until=end, **values)


@export_app.command("emails")
def export_emails(
    fmt: FormatOpt = "csv",
    output: OutputOpt = None,
    status: Annotated[str | None, typer.Option(help="Email status, e.g. replied or bounced.")] = None,
    template: Annotated[str | None, typer.Option(help="Template name, e.g. pain_point.")] = None,
    prospect: ProspectOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
) -> None:
    """Emails sent and their delivery and engagement (bodies left out)."""
    _export("emails", fmt, output, _dated(since, until, status=status, template=template, prospect_id=prospect))


@export_app.command("calls")
def export_calls(
    fmt: FormatOpt = "csv",
    output: OutputOpt = None,
    status: Annotated[str | None, typer.Option(help="scheduled, completed, cancelled or no_show.")] = None,
    outcome: Annotated[str | None, typer.Option(help="Call outcome, e.g. interested.")] = None,
    prospect: ProspectOpt = None,
    since: Annotated[str | None, typer.Option(help="Only calls booked for this local date or later.")] = None,
    until: Annotated[str | None, typer.Option(help="Only calls booked for before this local date.")] = None,
) -> None:
    """Calls with their objections and outcomes."""
    _export("calls", fmt, output, _dated(since, until, status=status, outcome=outcome, prospect_id=prospect))


@export_app.command("customers")
def export_customers(
    fmt: FormatOpt = "csv",
    output: OutputOpt = None,
    status: Annotated[str | None, typer.Option(help="active, paused or churned.")] = None,
    since: Annotated[str | None, typer.Option(help="Only customers signed on or after this local date.")] = None,
    until: Annotated[str | None, typer.Option(help="Only customers signed before this local date.")] = None,
) -> None:
    """Customers (won deals) with their monthly fees."""
    _export("customers", fmt, output, _dated(since, until, status=status))
