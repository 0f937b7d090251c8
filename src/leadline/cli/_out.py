"""What every CLI command shares: output, errors, and the check that the database is ready.

The domain CLIs import this module; the root (``leadline.cli.main``) imports the domain CLIs:
the imports run one way (an import contract holds it)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn

import typer

if TYPE_CHECKING:
    from pathlib import Path

    from rich.console import Console

    from leadline.config import Settings
    from leadline.prospects.selection import Selection

DEBUG = {"on": False}


def cli_settings() -> Settings:
    """The settings of this CLI process: its environment and ``.env`` file, read once (a shell's
    settings; every command hands them on to its units of work and services)."""
    from leadline.config import get_settings

    return get_settings()


@contextmanager
def output_to(path: Path | None) -> Iterator[Any]:
    """Where a command writes its text: the file ``path`` (a path that cannot be written is one line of
    error, exit 1), or standard output."""
    if path is None:
        yield sys.stdout
        return
    try:
        handle = path.open("w", newline="", encoding="utf-8")
    except OSError as error:
        abort(f"{path}: cannot write it ({error.strerror or error})")
    with handle:
        yield handle


def write_bytes(path: Path, data: bytes) -> None:
    """``data`` into the file ``path``; one line of error (exit 1) when it cannot be written."""
    try:
        path.write_bytes(data)
    except OSError as error:
        abort(f"{path}: cannot write it ({error.strerror or error})")


def price(value: float | None, per: str = "") -> str:
    """Money as every shell writes it (``leadline.money.amount``) in the configured currency, read after
    a unit of work has refreshed the stored settings: ``$2,400/month``."""
    from leadline.money import amount

    return amount(value, cli_settings().currency, per)


def console(*, stderr: bool = False) -> Console:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, highlight=False, soft_wrap=False, width=None if stream.isatty() else 200)


def abort(message: str, code: int = 1) -> NoReturn:
    """Print ``error: message`` on stderr and exit non-zero. One line, no traceback, no secret."""
    typer.echo(f"error: {_redacted(message)}", err=True)
    raise typer.Exit(code)


def _redacted(message: str) -> str:
    """The message without this installation's secrets (an exception's text may hold a URL)."""
    import contextlib

    from leadline import redaction
    from leadline.config import get_settings

    with contextlib.suppress(Exception):  # a configuration that does not load has no secrets to know yet
        redaction.remember(get_settings())
    return redaction.redact_text(message)


def warn(message: str) -> None:
    typer.echo(f"warning: {message}", err=True)


def _named(line: str, options: dict[str, str]) -> str:
    """``line`` (``field: message``, or several joined by ``; ``) with each field the command takes
    under another name said as its option: ``scheduledAt: ...`` is ``--at: ...`` for ``calls schedule``."""
    parts = line.split("; ")
    for index, part in enumerate(parts):
        name, colon, rest = part.partition(": ")
        if colon and name in options:
            parts[index] = f"{options[name]}: {rest}"
    return "; ".join(parts)


@contextmanager
def cli_errors(options: dict[str, str] | None = None) -> Iterator[None]:
    """Turn every error a user can meet into one line on stderr and exit 1. ``options``: the fields a
    command's options fill under other names ({"scheduledAt": "--at"}), so the line names what was typed
    (a service names its fields as the API does; the schemas' own refusals name them dashed)."""
    from pydantic import ValidationError

    from leadline.errors import LeadlineError
    from leadline.schemas import field_errors, one_line

    named = {}
    for field, option in (options or {}).items():
        named[field] = named[re.sub(r"(?<=[a-z0-9])([A-Z])", r"-\1", field).lower()] = option
    try:
        yield
    except (typer.Exit, typer.Abort, KeyboardInterrupt, BrokenPipeError):
        raise  # a closed pipe ends the command quietly (Click's EPIPE handling, leadline.__main__)
    except LeadlineError as error:
        abort(_named(str(error), named))
    except ValidationError as error:
        abort(_named(one_line(field_errors(error, camel=False)).replace("_", "-"), named))
    except Exception as error:
        from leadline.db import is_unavailable

        if DEBUG["on"]:
            raise
        if is_unavailable(error):
            from leadline.config import get_settings, mask_url

            abort(
                f"cannot use the database at {mask_url(get_settings().database_url)}: "
                f"{str(getattr(error, 'orig', error)).strip().splitlines()[0]}"
            )
        abort(f"unexpected {type(error).__name__}: {error} (run with --debug for the traceback)")


def json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", by_alias=True)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=json_default)
    sys.stdout.write("\n")


def print_table(
    columns: Sequence[str | tuple[str, str]],
    rows: Iterable[Sequence[Any]],
    *,
    title: str | None = None,
    footer: str | None = None,
) -> None:
    """A plain Rich table; a column given as (title, "right") is right-aligned."""
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False, title=title and shown(title), title_justify="left")
    for column in columns:
        name, justify = column if isinstance(column, tuple) else (column, "left")
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    count = 0
    for row in rows:
        table.add_row(*(shown(cell) for cell in row))
        count += 1
    out = console()
    if count:
        out.print(table)
    if footer:
        out.print(f"[dim]{shown(footer)}[/dim]")


def shown(value: Any) -> str:
    """A value as a table cell: Rich markup escaped, and control characters written as escapes
    (``controls.escaped_controls``), so no stored text can act on the terminal."""
    from rich.markup import escape

    from leadline.controls import escaped_controls

    return escape(escaped_controls("" if value is None else str(value)))


def echo_text(text: str) -> None:
    """Stored text printed whole (an email's body, a reply): control characters written as escapes."""
    from leadline.controls import escaped_controls

    typer.echo(escaped_controls(text))


def print_fields(pairs: Iterable[tuple[str, Any]], *, title: str | None = None) -> None:
    from rich.table import Table

    table = Table(box=None, show_header=False, pad_edge=False, title=title and shown(title), title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for name, value in pairs:
        table.add_row(name, shown(value))
    console().print(table)


def actor() -> str:
    """Who is acting, for the timeline: the operating-system user at the terminal."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def local(value: datetime | None, fmt: str | None = None) -> str:
    """``value`` in the configured zone, as ``fmt`` (default :data:`leadline.times.CLI_TIME`)."""
    if value is None:
        return ""
    from leadline.config import get_settings
    from leadline.times import CLI_TIME

    return value.astimezone(get_settings().zone).strftime(fmt or CLI_TIME)


def check_selection(
    prospect: list[str] | None, status: str | None, tier: int | None, trade: str | None, limit: int | None
) -> Selection:
    """Prospects chosen by id (``--prospect``) or by a selection (``--status/--tier/--trade`` with
    ``--limit``): the one rule, :class:`~leadline.prospects.selection.Selection`; a refusal is one line
    naming the option."""
    from pydantic import ValidationError

    from leadline.prospects.selection import Selection
    from leadline.schemas import field_errors

    try:
        return Selection(prospect_ids=prospect or [], status=status, tier=tier, trade=trade, limit=limit)
    except ValidationError as error:
        options = {"prospect_ids": "prospect"}
        abort("; ".join(f"--{options.get(e['field'], e['field']).replace('_', '-')}: {e['message']}"
                        for e in field_errors(error, camel=False)))  # fmt: skip


def require_database() -> None:
    """Stop with a clear message unless the database exists and its schema is current."""
    from sqlalchemy import inspect, text

    from leadline.config import get_settings, mask_url
    from leadline.db import get_engine
    from leadline.prospects.listing import SCHEMA_HEAD, sqlite_path

    settings = get_settings()
    if settings.is_sqlite:
        from pathlib import Path

        path = sqlite_path({"LEADLINE_DATABASE_URL": settings.database_url})
        if path and not Path(path).is_file():
            abort(f"no database at {path}; run `leadline init` first")
    with cli_errors(), get_engine(settings).connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            abort(f"the database at {mask_url(settings.database_url)} is empty; run `leadline init`")
        current = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    if current != SCHEMA_HEAD:
        abort(f"the database schema is at {current} but this Leadline needs {SCHEMA_HEAD}; run `leadline db upgrade`")
