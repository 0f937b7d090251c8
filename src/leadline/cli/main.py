"""The ``leadline`` command line: a root Typer app with one sub-app per domain.

Commands parse options, call one service function inside a unit of work, and print.
Heavy modules are imported inside the commands so that ``leadline --help`` stays quick.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple

import typer
from typer.core import TyperCommand, TyperGroup

from leadline.cli import _typer
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

_typer.install()


class Lazy(NamedTuple):
    """A command or group of the root, imported only when it runs (or when its own help is asked for).

    ``help`` is the line ``leadline --help`` shows for it, drawn from this table without importing
    the module (tests/test_cli_lazy.py checks it against the real command). ``also`` adds commands
    that live in other modules to a group: (name, module, attribute)."""

    name: str
    module: str
    attribute: str
    help: str
    hidden: bool = False
    own_help: bool = False  # the command's help is ``help`` (an alias), not its docstring
    also: tuple[tuple[str, str, str], ...] = ()


# The seed's own commands (`npm run list:prospects -- --status new`, `npm run create:call ...`), as it
# writes them: aliases of today's commands, hidden from `leadline --help`, listed in docs/cli.md.
_SEED = "The seed's `npm run {seed}`: an alias of `leadline {command}` (same options)."


def _alias(seed: str, command: str, module: str, attribute: str) -> Lazy:
    return Lazy(seed, module, attribute, _SEED.format(seed=seed, command=command), hidden=True, own_help=True)


#: The commands shown before the root's own (init, config, ...), in this order.
#: The largest request head (request line and headers) `leadline serve` reads; the nginx of
#: docs/deployment.md allows at most 4 lines of 8 KB by default, browsers send a few KB.
MAX_REQUEST_HEAD_BYTES = 64 * 1024

LAZY_COMMANDS = (
    Lazy("today", "leadline.tasks.cli", "today",
         "What to do today: calls, overdue follow-ups, tasks due and replies to answer."),
    Lazy("objections", "leadline.calls.cli", "objections",
         "Objections heard on calls, by category, with counts and examples."),
    Lazy("dashboard", "leadline.analytics.cli", "dashboard",
         "The seed's WEEK N SALES METRICS: prospects, outreach, engagement, calls, pipeline, key metrics."),
    _alias("list:prospects", "prospects list", "leadline.prospects.cli", "list_prospects"),
    _alias("list:emails", "emails list", "leadline.emails.cli", "list_emails"),
    _alias("list:calls", "calls list", "leadline.calls.cli", "list_calls"),
    _alias("create:call", "calls log", "leadline.calls.cli", "log"),
)  # fmt: skip

_PROPOSALS = tuple(
    (name, "leadline.proposals.cli", attribute)
    for name, attribute in (("create", "create"), ("edit", "edit"), ("show", "show"), ("list", "list_proposals"),
                            ("pdf", "pdf"))
)  # fmt: skip

#: The groups shown after the root's own commands and `db`, in this order.
LAZY_GROUPS = (
    Lazy("prospects", "leadline.prospects.cli", "app", "Prospects: list, show, add, edit, import and export."),
    Lazy("emails", "leadline.emails.cli", "app", "Emails: send, list, show, log replies.",
         also=(("label", "leadline.guardian.cli", "label"),)),
    Lazy("templates", "leadline.emails.cli", "templates_app", "Email templates: list, show, preview."),
    Lazy("suppressions", "leadline.emails.cli", "suppressions_app", "Addresses Leadline never emails."),
    Lazy("webhooks", "leadline.webhooks.cli", "app",
         "SendGrid's Event Webhook and Inbound Parse: stats, replay, import, simulate."),
    Lazy("inbound", "leadline.webhooks.cli", "inbound_app", "Replies that came in through Inbound Parse."),
    Lazy("sequences", "leadline.sequences.cli", "app",
         "Follow-up sequences: the first email now, follow-ups until they reply."),
    Lazy("notify", "leadline.notify.cli", "notify_app", "Notifications: send a test to the configured channels."),
    Lazy("notifications", "leadline.notify.cli", "notifications_app",
         "Notifications raised (replies, bounces, calls, deals...)."),
    Lazy("calls", "leadline.calls.cli", "app",
         "Calls: book, reschedule, cancel, log with objections and outcome, list, calendar feed."),
    Lazy("availability", "leadline.booking.cli", "availability_app",
         "Availability: the times each user offers for calls prospects book themselves."),
    Lazy("booking", "leadline.booking.cli", "booking_app", "Booking links: a prospect's own page to book a call."),
    Lazy("deals", "leadline.deals.cli", "app", "Deals: win (makes the customer), lose, reopen a lost one."),
    Lazy("proposals", "leadline.deals.cli", "proposals_app",
         "Proposals: email one, record the deal value, move to proposal.", also=_PROPOSALS),
    Lazy("customers", "leadline.customers.cli", "app",
         "Customers: list with MRR, show, update results, pause, churn, reactivate."),
    Lazy("tasks", "leadline.tasks.cli", "app", "Tasks: next steps from calls, follow-ups, your own to-dos."),
    Lazy("notes", "leadline.notes.cli", "app", "Notes: dated entries by their author on a prospect's timeline."),
    Lazy("files", "leadline.files.cli", "app", "Files kept with prospects and customers (in the database)."),
    Lazy("texts", "leadline.texts.cli", "app",
         "Texts (SMS): log them, send them through Twilio, see replies and opt-outs."),
    Lazy("senders", "leadline.senders.cli", "app",
         "Senders: From addresses with their own cap, warm-up, gap, window, health and domain checks."),
    Lazy("report", "leadline.analytics.cli", "report_app",
         "Reports: the weekly sales report (text, JSON, CSV or a self-contained HTML file)."),
    Lazy("analytics", "leadline.analytics.cli", "analytics_app",
         "What works: templates, objections, conversion by group, reply timing, forecast."),
    Lazy("export", "leadline.analytics.cli", "export_app",
         "Export prospects, emails, calls or customers as CSV (safe for spreadsheets) or JSON; or the whole "
         "database with --all."),
    Lazy("users", "leadline.auth.cli", "users_app", "People who sign in to the web app, and their roles."),
    Lazy("tokens", "leadline.auth.cli", "tokens_app", "API tokens for scripts and integrations."),
    Lazy("settings", "leadline.storedsettings.cli", "app",
         "Settings kept in the database and applied without a restart (an environment variable still wins)."),
    Lazy("replies", "leadline.guardian.cli", "replies_app",
         "Replies: what each one means (its label), and what follows."),
)  # fmt: skip

LAZY = {entry.name: entry for entry in (*LAZY_COMMANDS, *LAZY_GROUPS)}


def _attribute(module: str, attribute: str) -> Any:
    from importlib import import_module

    return getattr(import_module(module), attribute)


def _command(name: str, function: Any, *, help: str | None = None, hidden: bool = False) -> typer.core.TyperCommand:
    from typer.models import CommandInfo

    info = CommandInfo(name=name, callback=function, help=help, hidden=hidden)
    command = typer.main.get_command_from_info(
        info, pretty_exceptions_short=app.pretty_exceptions_short, rich_markup_mode=app.rich_markup_mode
    )
    assert isinstance(command, TyperCommand)
    return command


def load(entry: Lazy) -> typer.core.TyperCommand | TyperGroup:
    """The real command or group of ``entry`` (its module imported now)."""
    found = _attribute(entry.module, entry.attribute)
    if not isinstance(found, typer.Typer):
        return _command(entry.name, found, help=entry.help if entry.own_help else None, hidden=entry.hidden)
    group = typer.main.get_group(found)
    group.name = entry.name
    for name, module, attribute in entry.also:
        group.add_command(_command(name, _attribute(module, attribute)), name)
    return group


class LazyRoot(TyperGroup):
    """The root group: its own commands (below) at once, the domains' commands from :data:`LAZY`
    when one runs. Its help lists them all from the table, importing none."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._own: dict[str, Any] = {}
        self._loaded: dict[str, Any] = {}
        self._listing = False
        super().__init__(*args, **kwargs)

    @property  # type: ignore[override]
    def commands(self) -> dict[str, Any]:
        """Every command, each imported (for the docs and the tests that walk the tree)."""
        return {name: self.get_command(None, name) for name in self.list_commands(None)}

    @commands.setter
    def commands(self, value: dict[str, Any]) -> None:
        self._own = dict(value)

    def add_command(self, cmd: Any, name: str | None = None) -> None:
        self._own[name or cmd.name] = cmd

    def list_commands(self, ctx: Any) -> list[str]:
        return [*(e.name for e in LAZY_COMMANDS), *self._own, *(e.name for e in LAZY_GROUPS)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self._own:
            return self._own[cmd_name]
        entry = LAZY.get(cmd_name)
        if entry is None:
            return None
        if self._listing:  # the help's table of commands: its line, nothing imported
            return TyperCommand(name=entry.name, help=entry.help, hidden=entry.hidden)
        if cmd_name not in self._loaded:
            self._loaded[cmd_name] = load(entry)
        return self._loaded[cmd_name]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        from difflib import get_close_matches

        from typer._click.exceptions import UsageError  # Typer's own click

        try:
            return self._click_resolve_command(ctx, args)
        except UsageError as error:  # "Did you mean ...?" from the table, importing nothing
            matches = get_close_matches(args[0], self.list_commands(ctx)) if self.suggest_commands and args else []
            if matches:
                error.message = error.message.rstrip(".") + ". Did you mean " + ", ".join(map(repr, matches)) + "?"
            raise


app = typer.Typer(
    name="leadline",
    help="Leadline: a self-hosted CRM for outbound sales.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    cls=LazyRoot,
)
db_app = typer.Typer(help="Create and migrate the database.", no_args_is_help=True)
app.add_typer(db_app, name="db")


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
    import gc

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
    if port and port != settings.port and "base_url" not in settings.model_fields_set:
        typer.echo(
            f"note: links in emails (unsubscribe, booking, proposals) point to {settings.base_url}; set "
            f"LEADLINE_PORT={port} or LEADLINE_BASE_URL for every process to have them point here",
            err=True,
        )
    # What is alive now (modules, the app and its routes, the models: ~200,000 objects) lives as long as
    # the server: out of the collector's sight, a full collection no longer walks it (a webhook batch
    # allocates enough for several; about 8% of its CPU went to walking them).
    gc.collect()
    gc.freeze()
    uvicorn.run(
        application,
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        timeout_graceful_shutdown=10,
        # h11, not httptools: httptools takes a request head of any size (a 64 MB header cost the server
        # 5 s of CPU before the route was even chosen); h11 refuses a head over this many bytes with a 400.
        http="h11",
        h11_max_incomplete_event_size=MAX_REQUEST_HEAD_BYTES,
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
    from leadline.analytics.cli import report_week
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
    command = typer.main.get_command(app)
    try:
        command.main(args=args, prog_name="leadline", standalone_mode=True)
    except SystemExit as done:
        code = done.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except Exception as error:
        return _validation_error(error)
    return 0


def _validation_error(error: Exception) -> int:
    """A settings or input error that escaped a command: one line on stderr, exit 1 (pydantic is
    imported only here, on the way out: most commands never need it)."""
    import sys

    from pydantic import ValidationError
    from pydantic_settings import BaseSettings

    from leadline.schemas import field_errors, one_line

    if not isinstance(error, ValidationError) or DEBUG["on"]:
        raise error
    problems = field_errors(error, camel=False)
    if error.title in ("Settings", BaseSettings.__name__):
        for problem in problems:
            problem["field"] = "LEADLINE_" + problem["field"].upper()
        print(f"error: bad configuration: {one_line(problems)}", file=sys.stderr)
    else:
        print(f"error: {one_line(problems)}", file=sys.stderr)
    return 1
