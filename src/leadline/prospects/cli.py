"""``leadline prospects ...``: list, show, add, update, stage, import, export, duplicates, merge."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from leadline.cli._out import (
    abort,
    actor,
    cli_errors,
    cli_settings,
    local,
    price,
    print_fields,
    print_json,
    print_table,
)
from leadline.prospects.queries import SortKey
from leadline.prospects.stages import Stage

if TYPE_CHECKING:
    from leadline.prospects.files import RowResult

app = typer.Typer(help="Prospects: list, show, add, edit, import and export.", no_args_is_help=True)

StageOpt = Annotated[Stage | None, typer.Option(help="Sales stage.")]
TierOpt = Annotated[int | None, typer.Option(min=1, max=3, help="Tier 1, 2 or 3.")]
TradeOpt = Annotated[str | None, typer.Option(help="Trade, e.g. plumbing.")]
SearchOpt = Annotated[str | None, typer.Option(help="Text in the name, contact, email, city, id or phone digits.")]
DncOpt = Annotated[
    bool | None,
    typer.Option("--do-not-contact/--contactable", help="Only prospects marked do-not-contact, or only the others."),
]
SortOpt = Annotated[SortKey, typer.Option(help="Sort order; a leading - sorts descending.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


TagOpt = Annotated[str | None, typer.Option(help="Only prospects with this tag.")]
OwnerOpt = Annotated[str | None, typer.Option(help="Only prospects this user (email) owns.")]


def _filters(
    status: str | None,
    tier: int | None,
    trade: str | None,
    search: str | None,
    dnc: bool | None,
    reached: str | None = None,
    as_of: str | None = None,
    tag: str | None = None,
    owner: str | None = None,
) -> Any:
    """The filter options through the one filter schema (the API's and the page's); a refusal is one line.
    No filter given, nothing to check: the filters of the whole list (what the schema makes of no filter)."""
    from leadline.prospects.queries import Filters

    if all(value is None for value in (status, tier, trade, search, dnc, reached, as_of, tag, owner)):
        return Filters()
    from leadline.prospects.schemas import ProspectFilter
    from leadline.times import parse_since

    with cli_errors():
        moment = parse_since(as_of, cli_settings().zone, field="as-of") if as_of else None
        return ProspectFilter(
            status=status,
            tier=tier,
            trade=trade,
            search=search,
            do_not_contact=dnc,
            reached=reached,
            as_of=moment,
            tag=tag,
            owner=owner,
        ).query()


@app.command("list")
def list_prospects(
    status: StageOpt = None,
    tier: TierOpt = None,
    trade: TradeOpt = None,
    search: SearchOpt = None,
    do_not_contact: DncOpt = None,
    reached: Annotated[
        str | None,
        typer.Option(
            help="Did this stage's real event by --as-of (the dashboard's funnel): new (added, not contacted),"
            " contacted, replied, scheduled, interested, proposal, closed_won."
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Local date/time, e.g. 2025-11-24: the prospects that existed then; with --reached, by then.",
        ),
    ] = None,
    tag: TagOpt = None,
    owner: OwnerOpt = None,
    sort: SortOpt = "created",
    limit: Annotated[int, typer.Option(min=1, max=1_000_000, help="How many to show.")] = 20,
    page: Annotated[int | None, typer.Option(min=1, max=1_000_000, help="Page number (with --limit).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List prospects (the seed's `list:prospects --status new --limit 10`)."""
    import argparse

    from sqlalchemy import text

    from leadline.cli._out import require_database
    from leadline.db import get_engine
    from leadline.prospects.listing import run

    filters = _filters(status, tier, trade, search, do_not_contact, reached, as_of, tag, owner)
    require_database()
    settings = cli_settings()
    options = argparse.Namespace(
        status=status, tier=tier, trade=trade, search=search, do_not_contact=do_not_contact, tag=tag, owner=owner,
        sort=sort, limit=limit, page=page, as_json=as_json,
    )  # fmt: skip
    engine = get_engine(settings)
    with cli_errors(), engine.connect() as connection:

        def fetch(sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
            return [dict(row._mapping) for row in connection.execute(text(sql), params)]

        code = run(options, fetch, filters, dialect=engine.dialect.name, zone_name=settings.timezone)
    raise typer.Exit(code)


@app.command("show")
def show(
    prospect_id: Annotated[str, typer.Argument(help="The prospect's id, e.g. royal_plumbing_co.")],
    as_json: JsonOpt = False,
) -> None:
    """Show every field of a prospect and its whole timeline."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.notes import service as notes
    from leadline.prospects import service
    from leadline.prospects.schemas import ActivityRead, ProspectDetail

    require_database()
    with cli_errors(), unit_of_work(cli_settings(), readonly=True) as session:
        prospect = service.get(session, prospect_id)
        entries = service.timeline(session, prospect_id)
        detail = ProspectDetail.model_validate(service.read(session, [prospect])[0].model_dump())
        detail.notes_list = notes.for_prospect(session, prospect_id, check=False)
        detail.timeline = [ActivityRead.model_validate(entry) for entry in entries]
    if as_json:
        print_json(detail.dump())
        return
    _print_prospect(detail)


def _print_prospect(detail: Any) -> None:
    from leadline.activity.render import describe, shown_status

    zone, currency = cli_settings().zone, cli_settings().currency

    data = detail.model_dump()
    timeline = data.pop("timeline")
    data.pop("notes_list")
    data.pop("notes")
    pairs = []
    for name, value in data.items():
        if hasattr(value, "astimezone"):
            value = local(value)
        elif name == "deal_value" and value is not None:
            value = price(value, "month")
        elif isinstance(value, list):
            value = "; ".join(str(v) for v in value)
        pairs.append((name, value))
    print_fields(pairs, title=f"{detail.name} ({detail.id})")
    typer.echo("")
    print_table(
        ["Written", "Note", "By", "Id"],
        ((local(n.created_at) + (f" (edited {local(n.edited_at)})" if n.edited_at else ""), n.text, n.author, n.id)
         for n in detail.notes_list),
        title="Notes",
        footer=None if detail.notes_list else "no notes yet",
    )  # fmt: skip
    typer.echo("")
    print_table(
        ["When", "What", "Details", "By"],
        ((local(e.created_at), f"{e.type}: {shown_status(e.type, e.status, e.details)}",
          describe(e.type, e.status, e.details, zone=zone, currency=currency), e.actor)
         for e in detail.timeline),
        title="Timeline",
        footer=None if timeline else "no activity yet",
    )  # fmt: skip


# --- add / update ----------------------------------------------------------------------------


@app.command("add")
def add(
    name: Annotated[str, typer.Option(help="Business name.")],
    prospect_id: Annotated[str | None, typer.Option("--id", help="Id; made from the name when not given.")] = None,
    trade: Annotated[str | None, typer.Option(help="Trade, e.g. plumbing, hvac, roofing.")] = None,
    contact_name: Annotated[str | None, typer.Option(help="The person to talk to.")] = None,
    email: Annotated[str | None, typer.Option(help="Email address.")] = None,
    phone: Annotated[str | None, typer.Option(help="Phone number.")] = None,
    website: Annotated[str | None, typer.Option(help="Website (https:// is added when missing).")] = None,
    city: Annotated[str | None, typer.Option(help="City or town.")] = None,
    state: Annotated[str | None, typer.Option(help="State or region.")] = None,
    timezone: Annotated[
        str | None, typer.Option(help="IANA time zone, e.g. America/Chicago (for sending windows).")
    ] = None,
    tier: Annotated[str | None, typer.Option(help="1, 2 or 3 (default 3).")] = None,
    grid_health: Annotated[str | None, typer.Option(help='Online "grid health" score, 0-100.')] = None,
    critical_gaps: Annotated[str | None, typer.Option(help="Number of critical gaps found.")] = None,
    gaps: Annotated[str | None, typer.Option(help="Gaps separated by ;")] = None,
    top_competitor: Annotated[str | None, typer.Option(help="Strongest local competitor.")] = None,
    competitor_health: Annotated[str | None, typer.Option(help="The competitor's grid health, 0-100.")] = None,
    deal_value: Annotated[str | None, typer.Option(help="Estimated monthly value if won.")] = None,
    owner: Annotated[str | None, typer.Option(help="Email of the salesperson who owns it.")] = None,
    notes: Annotated[str | None, typer.Option(help="Its first note (more: leadline notes add).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add one prospect."""
    given = {k: v for k, v in locals().items() if v is not None and k not in ("as_json", "prospect_id")}
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.prospects import service
    from leadline.prospects.schemas import ProspectCreate

    if prospect_id is not None:
        given["id"] = prospect_id
    require_database()
    with cli_errors():
        data = ProspectCreate.model_validate(given)
        with unit_of_work(cli_settings()) as session:
            prospect = service.create(session, data, actor=actor(), source="cli")
            result = service.read(session, [prospect])[0]
    if as_json:
        print_json(result.dump())
    else:
        typer.echo(f"Added {result.id} ({result.name}).")


UPDATABLE = (
    "name", "trade", "contact_name", "email", "phone", "website", "city", "state", "timezone", "tier",
    "grid_health", "critical_gaps", "gaps", "top_competitor", "competitor_health", "status", "deal_value",
    "do_not_contact", "do_not_contact_reason", "owner", "notes",
)  # fmt: skip


@app.command("update")
def update(
    prospect_id: Annotated[str, typer.Argument(help="The prospect's id.")],
    name: Annotated[str | None, typer.Option(help="Business name.")] = None,
    trade: Annotated[str | None, typer.Option(help="Trade, e.g. plumbing, hvac, roofing.")] = None,
    contact_name: Annotated[str | None, typer.Option(help="The person to talk to.")] = None,
    email: Annotated[str | None, typer.Option(help="Email address.")] = None,
    phone: Annotated[str | None, typer.Option(help="Phone number.")] = None,
    website: Annotated[str | None, typer.Option(help="Website (https:// is added when missing).")] = None,
    city: Annotated[str | None, typer.Option(help="City or town.")] = None,
    state: Annotated[str | None, typer.Option(help="State or region.")] = None,
    timezone: Annotated[
        str | None, typer.Option(help="IANA time zone, e.g. America/Chicago (for sending windows).")
    ] = None,
    tier: Annotated[str | None, typer.Option(help="1, 2 or 3.")] = None,
    grid_health: Annotated[str | None, typer.Option(help='Online "grid health" score, 0-100.')] = None,
    critical_gaps: Annotated[str | None, typer.Option(help="Number of critical gaps found.")] = None,
    gaps: Annotated[str | None, typer.Option(help="Gaps separated by ;")] = None,
    top_competitor: Annotated[str | None, typer.Option(help="Strongest local competitor.")] = None,
    competitor_health: Annotated[str | None, typer.Option(help="The competitor's grid health, 0-100.")] = None,
    status: Annotated[str | None, typer.Option(help="Research status: active, inactive or archived.")] = None,
    deal_value: Annotated[str | None, typer.Option(help="Estimated monthly value if won.")] = None,
    do_not_contact: Annotated[
        bool | None, typer.Option("--do-not-contact/--contactable", help="Mark or unmark do-not-contact.")
    ] = None,
    do_not_contact_reason: Annotated[str | None, typer.Option(help="Why the prospect must not be contacted.")] = None,
    owner: Annotated[str | None, typer.Option(help="Email of the salesperson who owns it.")] = None,
    notes: Annotated[str | None, typer.Option(help="Add a note (earlier notes are kept; see leadline notes).")] = None,
    clear: Annotated[list[str] | None, typer.Option(help="Empty a field, e.g. --clear phone (repeatable).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Edit fields of a prospect, with the same checks as import and the API."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.prospects import service
    from leadline.prospects.schemas import ProspectUpdate

    values = locals()
    given: dict[str, Any] = {name: values[name] for name in UPDATABLE if values[name] is not None}
    for name in clear or []:
        key = name.replace("-", "_")
        if key not in UPDATABLE:
            abort(f"--clear: unknown field {name!r}")
        if key == "notes":
            abort("--clear notes: notes are kept one by one; remove one with leadline notes remove NOTE_ID")
        if key in given:
            abort(f"--clear {name} and --{name} contradict each other")
        given[key] = None
    if not given:
        abort("nothing to change: give at least one --field value (see --help)")
    require_database()
    with cli_errors():
        changes = ProspectUpdate.model_validate(given)
        with unit_of_work(cli_settings()) as session:
            prospect = service.update(session, prospect_id, changes, actor=actor())
            result = service.read(session, [prospect])[0]
    if as_json:
        print_json(result.dump())
    else:
        typer.echo(f"Updated {result.id}: {', '.join(sorted(given))}.")


@app.command("stage")
def stage(
    prospect_id: Annotated[str, typer.Argument(help="The prospect's id.")],
    to: Annotated[Stage, typer.Argument(help="The new stage.")],
    reason: Annotated[str, typer.Option(help="Why (kept in the timeline).")],
) -> None:
    """Move a prospect to another stage by hand; recorded with who and why."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.prospects import service

    require_database()
    with cli_errors(), unit_of_work(cli_settings()) as session:
        prospect = service.move_stage(session, prospect_id, to, reason=reason, actor=actor())
        moved = prospect.sales_status
    typer.echo(f"{prospect_id} is now {moved}.")


# --- import / export -------------------------------------------------------------------------


@app.command("import")
def import_(
    file: Annotated[
        Path | None,
        typer.Argument(help="A .csv, .json (array of objects) or .jsonl file; JSON nested at most 32 levels."),
    ] = None,
    skip_invalid: Annotated[
        bool,
        typer.Option(
            "--skip-invalid",
            help="Import the good rows; write the bad ones, with the reasons, to NAME.rejected.csv beside FILE "
            "(contacts.csv -> contacts.rejected.csv).",
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Report what would change (each field old -> new); write nothing. Exits 1 when "
            "rows would be rejected.",
        ),
    ] = False,
    ignore_unknown_columns: Annotated[
        bool, typer.Option("--ignore-unknown-columns", help="Import known columns and skip the others.")
    ] = False,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Let blank cells clear fields and shorter values replace longer ones (by default an import only "
            "fills and updates).",
        ),
    ] = False,
    encoding: Annotated[
        str | None,
        typer.Option("--encoding", help="The file's text encoding: utf-8 (the default), cp1252, latin-1..."),
    ] = None,
    mapping: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            metavar="COLUMN=FIELD",
            help='Feed a column to a field (repeatable), e.g. --map "Cell=phone"; FIELD may be externalId '
            "(another system's id, matched on re-import), firstName, lastName or ignore.",
        ),
    ] = None,
    defaults: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="FIELD=VALUE",
            help="A value for the rows that lack one (repeatable), e.g. --set tier=2 --set trade=roofing.",
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option("--resume", help="Settle imports whose process died: finish publishing them, or abandon them."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Import prospects from CSV or JSON; re-importing updates (matched on other systems' ids, id, email,
    website or name).

    Rows are staged, then published in short transactions: other writers keep working meanwhile,
    and the end result is every row or none (an import killed while publishing is finished by the
    next start, or by --resume)."""
    from leadline.cli._out import require_database
    from leadline.prospects import flows
    from leadline.prospects.files import parse_defaults, parse_mapping

    with cli_errors():
        columns = parse_mapping(mapping or [])
        given = parse_defaults(defaults or [])
    require_database()
    if resume:
        if file is not None:
            abort("--resume takes no FILE: it settles imports that were interrupted")
        with cli_errors():
            said = flows.recover(cli_settings())
        if as_json:
            print_json({"settled": said})
        else:
            typer.echo("\n".join(said) if said else "No interrupted import to settle.")
        return
    if file is None:
        abort("give the FILE to import (or --resume to settle an interrupted import)")
    rejects = _RejectsFile(file) if skip_invalid and not dry_run else None
    progress = _progress_for(file) if not as_json else None
    try:
        with cli_errors():
            try:
                report = flows.import_file(
                    cli_settings(), file, actor=actor(), skip_invalid=skip_invalid or dry_run, dry_run=dry_run,
                    ignore_unknown=ignore_unknown_columns,
                    on_reject=rejects.write if rejects else None,
                    on_progress=progress.update if progress else None,
                    overwrite=overwrite, encoding=encoding, mapping=columns, defaults=given,
                )  # fmt: skip
            except flows.ImportRejected as rejected:
                if progress:
                    progress.stop()
                _print_rejected(rejected.report, as_json)
                raise typer.Exit(1) from None
    finally:
        if progress:
            progress.stop()
        if rejects:
            rejects.close()
    from leadline.prospects.readiness import describe

    if as_json:
        print_json({**report.__dict__, "dryRun": dry_run, "rejectsFile": str(rejects.path) if rejects else None})
        if dry_run and report.rejected:
            raise typer.Exit(1)
        return
    verb = "Would import" if dry_run else "Imported"
    merged = f", {report.merged} merged into another row's prospect" if report.merged else ""
    typer.echo(
        f"{verb} {report.file}: {report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged{merged}, {report.rejected} rejected ({report.rows} rows)."
    )
    if report.tagged:
        typer.echo("Tagged: " + ", ".join(f"{tag} ({n})" for tag, n in sorted(report.tagged.items())) + ".")
    if report.profile:
        typer.echo(f"Read as a {report.profile} export: importing it again finds the same prospects by its ids.")
    if dry_run:
        typer.echo("Columns:")
        for column, target in report.columns:
            typer.echo(f"  {column} -> {target}")
        for change in report.preview:
            if change["action"] == "create":
                typer.echo(f"  + {change['id']}  {change['name']}")
            else:
                typer.echo(f"  ~ {change['id']}")
                for name, (old, new) in change["changes"].items():
                    typer.echo(f"      {name}: {_shown(old)} -> {_shown(new)}")
    for item in report.lacking:
        typer.echo(describe(item))
    if dry_run:
        if report.rejected:
            _print_errors(report)
        typer.echo("Dry run: nothing was written.")
        if report.rejected:
            typer.echo(f"error: {report.rejected} row{'s' if report.rejected != 1 else ''} would be rejected", err=True)
            raise typer.Exit(1)
    elif rejects and report.rejected:
        typer.echo(f"Rejected rows, with the reasons, are in {rejects.path}")


def _shown(value: Any) -> str:
    """A value in the preview: blank as (blank), long text cut, one line."""
    if value is None or value == "" or value == []:
        return "(blank)"
    text = "; ".join(map(str, value)) if isinstance(value, list) else str(value)
    text = " / ".join(text.splitlines())
    return repr(text if len(text) <= 80 else text[:77] + "...")


def _print_rejected(report: Any, as_json: bool) -> None:
    if as_json:
        print_json({"error": "invalid", "message": f"{report.rejected} bad rows", "errors": report.errors})
    typer.echo(f"error: {report.rejected} bad row{'s' if report.rejected != 1 else ''} in {report.file}; "
               "nothing was imported", err=True)  # fmt: skip
    _print_errors(report, err=True)
    typer.echo("Fix them, or use --skip-invalid to import the good rows only.", err=True)


def _print_errors(report: Any, *, err: bool = False) -> None:
    for error in report.errors:
        column = error.get("column") or error.get("field")
        where = f"{report.label} {error['line']}" + (f", column {column!r}" if column else "")
        typer.echo(f"  {where}: {error['message']}", err=err)
    hidden = report.rejected - len({e["line"] for e in report.errors})
    if hidden > 0:
        typer.echo(f"  ... and {hidden} more bad rows", err=err)


class _RejectsFile:
    """FILE.rejected.csv beside the input: the bad rows as read, with line and reason."""

    def __init__(self, source: Path) -> None:
        self.path = source.with_name(source.stem + ".rejected.csv")
        self._handle: Any = None
        self._writer: Any = None
        self._columns: list[str] = []

    def write(self, result: RowResult) -> None:
        import csv
        import json

        from leadline.exports import neutralise

        if self._handle is None:
            self._handle = self.path.open("w", newline="", encoding="utf-8")
            self._columns = [str(c) for c in result.source]
            self._writer = csv.writer(self._handle)
            self._writer.writerow(["line", "error", *self._columns])
        reason = "; ".join(
            f"{e.get('column') or e.get('field')}: {e['message']}" if (e.get("column") or e.get("field"))
            else e["message"] for e in result.errors
        )  # fmt: skip
        cells = []
        for column in self._columns:
            value = result.source.get(column)
            cells.append(
                neutralise(value if isinstance(value, str) else json.dumps(value) if value is not None else "")
            )
        self._writer.writerow([result.line, neutralise(reason), *cells])

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


class _Progress:
    def __init__(self, total: int) -> None:
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("importing"), BarColumn(), DownloadColumn(), TimeRemainingColumn(), transient=True
        )
        self._task = self._progress.add_task("import", total=total)
        self._progress.start()

    def update(self, done: int, total: int) -> None:
        self._progress.update(self._task, completed=done, total=total)

    def stop(self) -> None:
        self._progress.stop()


def _progress_for(file: Path) -> _Progress | None:
    """A progress bar for files of more than a few thousand rows (about half a megabyte)."""
    try:
        size = file.stat().st_size
    except OSError:
        return None
    if size < 512 * 1024 or not sys.stderr.isatty():
        return None
    return _Progress(size)


@app.command("export")
def export(
    fmt: Annotated[Literal["csv", "json"], typer.Option("--format", help="File format.")] = "csv",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
    status: StageOpt = None,
    tier: TierOpt = None,
    trade: TradeOpt = None,
    search: SearchOpt = None,
    do_not_contact: DncOpt = None,
    tag: TagOpt = None,
    owner: OwnerOpt = None,
    sort: SortOpt = "created",
) -> None:
    """Export prospects as CSV (safe for spreadsheets, re-importable) or JSON."""
    from leadline.cli._out import output_to, require_database
    from leadline.db import unit_of_work
    from leadline.exports import write_csv, write_json
    from leadline.prospects import service
    from leadline.prospects.columns import EXPORT_COLUMNS, row_to_json

    filters = _filters(status, tier, trade, search, do_not_contact, tag=tag, owner=owner)
    require_database()
    with output_to(output) as handle, cli_errors(), unit_of_work(cli_settings(), readonly=True) as session:
        records = (row_to_json(row) for row in service.export_rows(session, filters, sort=sort))
        if fmt == "csv":
            count = write_csv(records, handle, columns=list(EXPORT_COLUMNS))
        else:
            count = write_json(records, handle)
    if output:
        typer.echo(f"Exported {count} prospects to {output}.")


# --- duplicates ------------------------------------------------------------------------------


@app.command("duplicates")
def duplicates(
    reason: Annotated[
        Literal["email", "phone", "website", "name_city"] | None,
        typer.Option(help="Only this reason: email, phone, website or name_city."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=200, help="How many groups per page.")] = 50,
    page: Annotated[int, typer.Option(min=1, max=1_000_000, help="Page number (with --limit).")] = 1,
    as_json: JsonOpt = False,
) -> None:
    """List likely duplicates: prospects sharing an email, a phone number, a website or a name and city."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.prospects import merging
    from leadline.prospects.schemas import DuplicatePageRead

    require_database()
    with cli_errors(), unit_of_work(cli_settings(), readonly=True) as session:
        result = DuplicatePageRead.model_validate(merging.duplicates(session, reason=reason, limit=limit, page=page))
    if as_json:
        print_json(result.dump())
        return
    rows = []
    for group in result.items:
        for n, member in enumerate(group.prospects):
            label = f"{group.label}: {group.key}" if n == 0 else ""
            stage = member.sales_status + (" (customer)" if member.customer else "")
            rows.append((label, member.id, member.name, stage, local(member.created_at, "%Y-%m-%d")))
    if not rows:
        typer.echo("No likely duplicates found.")
        return
    more = f"; next page: --page {result.next_page}" if result.next_page else ""
    footer = f"{len(result.items)} groups{more}. Merge one into another: leadline prospects merge KEEP OTHER"
    print_table(["Why", "Id", "Name", "Stage", "Added"], rows, footer=footer)


@app.command("merge")
def merge(
    keep: Annotated[str, typer.Argument(help="The prospect that stays, e.g. royal_plumbing_co.")],
    other: Annotated[str, typer.Argument(help="The duplicate merged into it, then deleted.")],
    as_json: JsonOpt = False,
) -> None:
    """Merge OTHER into KEEP: its emails, calls, tasks, timeline... move to KEEP, KEEP's empty fields are
    filled from it (never overwritten), and OTHER is deleted. Two customers are never merged."""
    from leadline.cli._out import require_database
    from leadline.db import unit_of_work
    from leadline.prospects import merging
    from leadline.prospects.schemas import MergeRead, MergeRequest

    require_database()
    with cli_errors():
        request = MergeRequest.model_validate({"other": other})
        with unit_of_work(cli_settings()) as session:
            result = MergeRead.model_validate(merging.merge(session, keep, request.other, actor=actor()))
    if as_json:
        print_json(result.dump())
        return
    moved = sum(result.moved.values())
    records = "1 record" if moved == 1 else f"{moved} records"
    filled = ", ".join(result.filled) or "nothing"
    typer.echo(f"Merged {result.merged_from} into {result.prospect.id}: {records} moved, filled {filled}; "
               f"{result.merged_from} is deleted.")  # fmt: skip


from leadline.prospects import bulk_cli  # noqa: E402  (leadline prospects bulk, bulk-undo, bulk-status)

bulk_cli.register(app)
