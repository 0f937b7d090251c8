"""The ``leadline`` command line: a root Typer app with one sub-app per domain.

Commands parse options, call one service function inside a unit of work, and print.
Heavy modules are imported inside the commands so that ``leadline --help`` stays quick.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from leadline.analytics.cli import analytics_app, export_app, report_app, report_week
from leadline.analytics.cli import dashboard as dashboard_command
from leadline.auth.cli import tokens_app, users_app
from leadline.booking.cli import availability_app, booking_app
from leadline.calls.cli import app as calls_app
from leadline.calls.cli import list_calls
from leadline.calls.cli import log as log_call
from leadline.calls.cli import objections as objections_command
from leadline.cli._out import (
    DEBUG,
    abort,
    actor,
    cli_errors,
    print_fields,
    print_json,
    print_table,
    require_database,
    warn,
)
from leadline.customers.cli import app as customers_app
from leadline.deals.cli import app as deals_app
from leadline.deals.cli import proposals_app
from leadline.emails.cli import app as emails_app
from leadline.emails.cli import list_emails, suppressions_app, templates_app
from leadline.files.cli import app as files_app
from leadline.guardian.cli import label as label_reply
from leadline.guardian.cli import replies_app
from leadline.notes.cli import app as notes_app
from leadline.notify.cli import notifications_app, notify_app
from leadline.proposals.cli import register as proposals_register
from leadline.prospects.cli import app as prospects_app
from leadline.prospects.cli import list_prospects
from leadline.senders.cli import app as senders_app
from leadline.sequences.cli import app as sequences_app
from leadline.storedsettings.cli import app as settings_app
from leadline.tasks.cli import app as tasks_app
from leadline.tasks.cli import today as today_command
from leadline.texts.cli import app as texts_app
from leadline.webhooks.cli import app as webhooks_app
from leadline.webhooks.cli import inbound_app

app = typer.Typer(
    name="leadline",
    help="Leadline: a self-hosted CRM for outbound sales.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
db_app = typer.Typer(help="Create and migrate the database.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(prospects_app, name="prospects")
app.add_typer(emails_app, name="emails")
app.add_typer(templates_app, name="templates")
app.add_typer(suppressions_app, name="suppressions")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(inbound_app, name="inbound")
app.add_typer(sequences_app, name="sequences")
app.add_typer(notify_app, name="notify")
app.add_typer(notifications_app, name="notifications")
app.add_typer(calls_app, name="calls")
app.add_typer(availability_app, name="availability")
app.add_typer(booking_app, name="booking")
app.add_typer(deals_app, name="deals")
app.add_typer(proposals_app, name="proposals")
proposals_register(proposals_app)
app.add_typer(customers_app, name="customers")
app.add_typer(tasks_app, name="tasks")
app.add_typer(notes_app, name="notes")
app.add_typer(files_app, name="files")
app.add_typer(texts_app, name="texts")
app.add_typer(senders_app, name="senders")
app.command("today")(today_command)
app.command("objections")(objections_command)
app.command("dashboard")(dashboard_command)
app.add_typer(report_app, name="report")
app.add_typer(analytics_app, name="analytics")
app.add_typer(export_app, name="export")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(settings_app, name="settings")
emails_app.command("label")(label_reply)
app.add_typer(replies_app, name="replies")

# The seed's own commands (`npm run list:prospects -- --status new`, `npm run create:call ...`), as it
# writes them: aliases of today's commands, hidden from `leadline --help`, listed in docs/cli.md.
_SEED = "The seed's `npm run {seed}`: an alias of `leadline {command}` (same options)."
app.command("list:prospects", hidden=True, help=_SEED.format(seed="list:prospects", command="prospects list"))(
    list_prospects
)
app.command("list:emails", hidden=True, help=_SEED.format(seed="list:emails", command="emails list"))(list_emails)
app.command("list:calls", hidden=True, help=_SEED.format(seed="list:calls", command="calls list"))(list_calls)
app.command("create:call", hidden=True, help=_SEED.format(seed="create:call", command="calls log"))(log_call)


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of unexpected errors.")] = False,
) -> None:
    DEBUG["on"] = debug


@app.command()
def init() -> None:
    """Create the database (or bring it up to date). Safe to run again."""
    from leadline.config import get_settings, mask_url
    from leadline.migrate import upgrade

    settings = get_settings()
    with cli_errors():
        settings.ensure_data_dir()
        settings.secret()
        before, after = upgrade(settings)
        from leadline.db import unit_of_work
        from leadline.senders import service as senders

        with unit_of_work(settings) as session:  # the single-sender settings become the first sender
            first = senders.ensure_first(session, settings, actor=actor())
            made = f"First sender: {first.name} <{first.email}>, {first.daily_cap} a day." if first else None
    where = mask_url(settings.database_url)
    if before == after:
        typer.echo(f"Database {where} is ready (schema {after}).")
    else:
        typer.echo(f"Database {where} is ready: schema {before or 'empty'} -> {after}.")
    if made:
        typer.echo(made + " Add more with `leadline senders add`.")


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply the migrations the database has not had yet."""
    from leadline.config import get_settings
    from leadline.migrate import upgrade

    with cli_errors():
        before, after = upgrade(get_settings(), revision)
    typer.echo(f"Schema {before or 'empty'} -> {after}." if before != after else f"Schema already at {after}.")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="The revision to go back to (see `leadline db current`).")],
    yes: Annotated[
        bool, typer.Option("--yes", help="Do not ask; also go ahead when the downgrade drops tables or columns.")
    ] = False,
) -> None:
    """Undo migrations down to REVISION, after a backup; asks first, refuses to drop data without --yes."""
    from datetime import UTC, datetime

    from leadline import backup as backups
    from leadline.config import get_settings, private_folder
    from leadline.migrate import downgrade, downgrade_steps

    settings = get_settings()
    with cli_errors():
        before, steps = downgrade_steps(settings, revision)
    typer.echo(f"Going back from schema {before} to {revision} undoes:")
    for step in steps:
        lost = f"  (drops {', '.join(step.drops)})" if step.drops else ""
        typer.echo(f"  {step.revision}  {step.title}{lost}")
    lossy = [f"{step.revision}: {', '.join(step.drops)}" for step in steps if step.drops]
    if lossy and not yes:
        abort(
            "this downgrade drops tables or columns and their data ("
            + "; ".join(lossy)
            + "); nothing was changed. Give --yes to go ahead (a backup is taken first)"
        )
    if not yes and not typer.confirm(f"Downgrade the database to {revision}? A backup is taken first."):
        abort("nothing was changed")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = private_folder(settings.ensure_data_dir() / "backups")
    target = folder / f"leadline-{before}-before-downgrade-to-{revision}-{stamp}.backup"
    with cli_errors():
        saved = backups.backup(settings, target)
        typer.echo(f"Backed up to {saved.path} ({saved.size:,} bytes); `leadline restore` brings it back.")
        done_before, after = downgrade(settings, revision)
    typer.echo(f"Schema {done_before} -> {after or 'empty'}.")


@db_app.command("current")
def db_current() -> None:
    """Show the schema revision of the database and the one this Leadline needs."""
    from leadline.config import get_settings
    from leadline.db import get_engine
    from leadline.migrate import current_revision, head_revision

    with cli_errors():
        current = current_revision(get_engine(get_settings()))
    head = head_revision()
    state = "up to date" if current == head else "needs `leadline db upgrade`"
    typer.echo(f"database: {current or 'empty'}  code: {head}  ({state})")


@app.command("config")
def show_config(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the effective configuration (secrets masked) and warn about unsafe settings."""
    from pydantic import ValidationError

    from leadline.config import get_settings
    from leadline.schemas import field_errors, one_line

    try:
        settings = get_settings()
    except ValidationError as error:
        abort("bad configuration: " + one_line(field_errors(error, camel=False)))
    rows = settings.described()
    warnings = settings.warnings()
    if settings.email_backend != "outbox":  # the sending domain's SPF, DKIM and DMARC (bounded DNS lookups)
        from leadline.errors import LeadlineError
        from leadline.guardian import doctor

        try:
            report = doctor.check(settings)
        except LeadlineError as error:
            warnings.append(f"LEADLINE_SENDER_EMAIL: {error}")
        else:
            warnings += [w for w in doctor.warnings(report) if not w.startswith("Base URL")]
    if as_json:
        print_json({"settings": {name: value for name, value, _ in rows}, "notes": settings.notes(),
                    "warnings": warnings})  # fmt: skip
        return
    print_table(["Setting", "Value", "From"], rows)
    for note in settings.notes():
        typer.echo(f"note: {note}")
    for warning in warnings:
        typer.echo(f"warning: {warning}", err=True)


@app.command()
def demo(
    reset: Annotated[bool, typer.Option("--reset", help="Delete everything first, then load the demo.")] = False,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Load only into an empty database; otherwise do nothing.")
    ] = False,
) -> None:
    """Load the demo: 340 researched trade businesses and the seed's Week 1 emails (through the outbox)."""
    from leadline.config import get_settings
    from leadline.demo import load_demo
    from leadline.migrate import upgrade

    settings = get_settings()
    with cli_errors():
        settings.ensure_data_dir()
        upgrade(settings)
        summary = load_demo(settings, reset=reset, if_empty=if_empty)
    for line in summary:
        typer.echo(line)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default LEADLINE_HOST).")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port (default LEADLINE_PORT).")] = None,
) -> None:
    """Start the web server: the API, the web app, webhooks."""
    import uvicorn

    from leadline.app import create_app
    from leadline.config import get_settings
    from leadline.prospects.flows import recover_in_background

    require_database()
    settings = get_settings()
    recover_in_background(settings)  # an import killed while publishing is finished (docs/operations.md)
    application = create_app(settings, worker=settings.embedded_worker)
    queue = "Redis" if settings.redis_url else "its SQLite queue"
    worker = f"; the job worker runs inside it ({queue})" if settings.embedded_worker else ""
    typer.echo(f"Leadline on http://{host or settings.host}:{port or settings.port}{worker}  (Ctrl+C stops)")
    uvicorn.run(
        application,
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        timeout_graceful_shutdown=10,
    )


@app.command()
def worker(
    threads: Annotated[
        int | None, typer.Option(min=1, help="Worker threads (default LEADLINE_WORKER_THREADS).")
    ] = None,
    periodic: Annotated[
        bool, typer.Option("--periodic/--no-periodic", help="Also run the every-minute sweeps (default on).")
    ] = True,
) -> None:
    """Run background jobs: sequences, scheduled sends, reminders, notifications, webhook sweeps."""
    from leadline import redaction
    from leadline import worker as jobs_worker
    from leadline.config import get_settings, mask_url
    from leadline.prospects.flows import recover_in_background

    require_database()
    settings = get_settings()
    redaction.install(settings)
    recover_in_background(settings)  # an import killed while publishing is finished (docs/operations.md)
    queue = mask_url(settings.redis_url) if settings.redis_url else str(settings.data_dir / "jobs.db")
    typer.echo(f"Leadline worker on {queue} (Ctrl+C stops)")
    jobs_worker.consumer(settings, threads=threads, periodic=periodic).run()


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="A file made by `leadline export --all`.", dir_okay=False)],
    everything: Annotated[bool, typer.Option("--all", help="Import a whole-database export.")] = False,
) -> None:
    """Load a whole-database export (`leadline export --all`) into a new, empty database."""
    if not everything:
        abort("give --all to load a whole-database export; prospects alone: `leadline prospects import FILE`")
    from leadline.cli.transfer import import_all

    import_all(file)


@app.command()
def backup(
    file: Annotated[Path, typer.Argument(help="Where to write the backup.", dir_okay=False)],
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists.")] = False,
) -> None:
    """Write the database and the secret key to one file (0600), while Leadline runs (pg_dump on PostgreSQL)."""
    from leadline import backup as backups
    from leadline.config import get_settings

    require_database()
    with cli_errors():
        result = backups.backup(get_settings(), file, force=force)
    schema = f", schema {result.revision}" if result.revision else ""
    typer.echo(f"Backed up to {result.path} ({result.size:,} bytes{schema}).")
    typer.echo("It holds the secret key that signs links and URLs: keep it as safe as the server.")


@app.command()
def restore(
    file: Annotated[Path, typer.Argument(help="A file made by `leadline backup`.", dir_okay=False)],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask: replace the database's contents.")] = False,
) -> None:
    """Replace the database and the secret key with a backup's (the current ones are saved beside them first)."""
    from leadline import backup as backups
    from leadline.config import get_settings, mask_url

    settings = get_settings()
    if not yes and not typer.confirm(
        f"Replace everything in {mask_url(settings.database_url)}, and the secret key, with {file}?"
    ):
        abort("nothing was restored")
    with cli_errors():
        result = backups.restore(settings, file)
    typer.echo(f"Restored {file} into {mask_url(settings.database_url)}.")
    if result.saved_current:
        typer.echo(f"The database as it was is saved in {result.saved_current}.")
    for message in result.warnings:
        warn(message)


@app.command()
def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (what /healthz answers).")] = False,
) -> None:
    """Check what /healthz checks (database, writes, queue, worker); exit 1 when degraded, 2 when down."""
    from leadline.config import get_settings, mask_url
    from leadline.health import check

    settings = get_settings()
    report = check(settings)
    if report.database == "ok":
        from leadline.prospects.flows import interrupted

        try:
            stopped = interrupted(settings)
        except Exception:  # an old schema (no journal yet): said above
            stopped = []
        for run in stopped:
            what = "publishing" if run["state"] == "publishing" else run["state"]
            report.problems.append(
                f"the import of {run['file']} ({run['id']}) stopped while {what}: "
                "run `leadline prospects import --resume` (or start `leadline serve` or `leadline worker`)"
            )
    if as_json:
        print_json(report.as_dict())
    else:
        queue = report.queue
        if queue.get("state") == "ok":
            queue_line = f"ok ({queue['kind']}): {queue['pending']} waiting, {queue['scheduled']} scheduled"
        else:
            queue_line = f"{queue.get('state', 'unknown')} ({queue.get('kind', '?')})"
        worker = report.worker
        if worker.get("lastHeartbeat"):
            worker_line = (f"{worker['state']}: last heartbeat {worker['ageSeconds']} s ago "
                           f"(pid {worker.get('pid')} on {worker.get('host')})")  # fmt: skip
        else:
            worker_line = f"{worker.get('state', 'unknown')}: no heartbeat from a worker on this queue"
        database = f"{report.database} ({mask_url(settings.database_url)}, schema {report.schema or '?'})"
        print_fields(
            [("database", database), ("writes", report.writes), ("queue", queue_line), ("worker", worker_line),
             ("checked in", f"{report.took_ms:.0f} ms")],
            title=f"Leadline {report.as_dict()['version']}: {report.status}",
        )  # fmt: skip
        for problem in report.problems:
            typer.echo(f"problem: {problem}")
    if report.status != "ok":
        raise typer.Exit(2 if report.status == "down" else 1)


@app.command("report:week1", hidden=True)
def report_week1(
    fmt: Annotated[Literal["text", "json", "csv", "html"], typer.Option("--format", help="Output format.")] = "text",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
) -> None:
    """The seed's `npm run report:week1`: `leadline report week` for week 1, the week of the first email sent
    (this week while none has been sent)."""
    from leadline.analytics.service.common import resolve_week
    from leadline.analytics.service.dashboard import week_info
    from leadline.analytics.weeks import weeks_before
    from leadline.clock import utc_now
    from leadline.config import get_settings
    from leadline.db import unit_of_work

    require_database()
    settings = get_settings()
    now = utc_now()
    with cli_errors(), unit_of_work(settings, readonly=True) as session:
        this = resolve_week(None, settings, now=now)
        number = week_info(session, this, now).number
    first = weeks_before(this, number - 1) if number else this
    report_week(week=first.label, fmt=fmt, output=output)


@app.command()
def version() -> None:
    """Print the version."""
    from leadline import __version__

    typer.echo(__version__)


def run(args: list[str]) -> int:
    """Run the CLI with ``args``; returns the exit code."""
    import sys

    from pydantic import ValidationError
    from pydantic_settings import BaseSettings

    from leadline.schemas import field_errors, one_line

    command = typer.main.get_command(app)
    try:
        command.main(args=args, prog_name="leadline", standalone_mode=True)
    except SystemExit as done:
        code = done.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except ValidationError as error:
        if DEBUG["on"]:
            raise
        problems = field_errors(error, camel=False)
        if error.title in ("Settings", BaseSettings.__name__):
            for problem in problems:
                problem["field"] = "LEADLINE_" + problem["field"].upper()
            print(f"error: bad configuration: {one_line(problems)}", file=sys.stderr)
        else:
            print(f"error: {one_line(problems)}", file=sys.stderr)
        return 1
    return 0
