"""``leadline prospects list``: the one implementation, fast enough to start in ~0.1 s.

This module imports only the standard library (and Rich, to draw the table). The
console-script entry point routes ``prospects list`` here before Typer, Pydantic or
SQLAlchemy are imported; on a SQLite database it reads with bare ``sqlite3``. Filters, when
given, are checked by the one filter schema (``prospects.schemas.ProspectFilter``, imported only
then), and a refused one goes to Typer, which says what is wrong. The Typer
command of the same name (used for ``--help`` and for PostgreSQL) calls :func:`run` too,
with rows fetched through SQLAlchemy, so both paths print the same thing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from leadline.controls import escaped_controls
from leadline.prospects import queries
from leadline.prospects.columns import as_time, row_to_json
from leadline.prospects.stages import STAGES
from leadline.times import CLI_TIME
from leadline.words import counted

Fetch = Callable[[str, dict[str, Any]], list[dict[str, Any]]]

#: Must equal the Alembic head; tests/test_migrations.py checks it.
SCHEMA_HEAD = "0042"

TABLE_COLUMNS = (
    "id, name, trade, city, tier, grid_health, sales_status, emails_sent_count, "
    "emails_opened_count, last_contact_at, do_not_contact, created_at, updated_at"
)  # the last two: every sort's value, to check a walked page's order (queries.walked_page)


class _Refused(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _Refused(message)


VALUE_OPTIONS = (
    "--status", "--tier", "--trade", "--search", "--tag", "--owner", "--reached", "--as-of", "--sort", "--limit",
    "--page",
)  # fmt: skip


def parser() -> argparse.ArgumentParser:
    """The options of ``prospects list`` (the Typer command declares the same ones)."""
    p = _Parser(prog="leadline prospects list", add_help=False)
    p.add_argument("--status", choices=STAGES)
    p.add_argument("--tier", type=int, choices=(1, 2, 3))
    p.add_argument("--trade")
    p.add_argument("--search")
    p.add_argument("--tag")
    p.add_argument("--owner")
    p.add_argument("--do-not-contact", dest="do_not_contact", action="store_const", const=True)
    p.add_argument("--contactable", dest="do_not_contact", action="store_const", const=False)
    p.add_argument("--reached", choices=queries.REACHED)
    p.add_argument("--as-of", dest="as_of")
    p.add_argument("--sort", choices=queries.SORT_CHOICES, default="created")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--page", type=int)
    p.add_argument("--json", dest="as_json", action="store_true")
    return p


def run(options: argparse.Namespace, fetch: Fetch, filters: queries.Filters, *, dialect: str, zone_name: str) -> int:
    """Print one page of prospects. ``fetch(sql, params)`` returns rows as dicts; ``filters`` have passed
    the filter schema (``prospects.schemas.ProspectFilter``)."""
    shape: dict[str, Any] = {
        "dialect": dialect, "columns": "*" if options.as_json else TABLE_COLUMNS, "with_notes": options.as_json,
        "sort": options.sort, "limit": options.limit, "page": options.page,
    }  # fmt: skip
    try:
        query = queries.build(filters, **shape)
    except queries.QueryError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    total = None
    # JSON shows no total: there the count only chooses the plan, which only SQLite's walk needs
    if not options.as_json or (dialect == "sqlite" and " WHERE " in query.count_sql):
        total = _first(fetch(*query.counting(JSON_COUNT_LIMIT if options.as_json else None)))
    rows = _walked(fetch, filters, shape, query, total) if total is not None else None
    if rows is None:
        rows = fetch(query.sql, query.params)
    tags = queries.read_tags(fetch, [str(row["id"]) for row in rows])
    for row in rows:
        row["tags"] = tags.get(row["id"], [])
    if options.as_json:
        json.dump([row_to_json(row) for row in rows], sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    _print_table(rows, int(total or 0), options, zone_name)
    return 0


#: ``--json`` prints no total: its count, which only chooses how to read the page, stops here.
JSON_COUNT_LIMIT = 10_000


def _first(rows: list[dict[str, Any]]) -> int:
    return int(next(iter(rows[0].values())))


def _walked(
    fetch: Fetch, filters: queries.Filters, shape: dict[str, Any], query: queries.ListQuery, total: int
) -> list[dict[str, Any]] | None:
    """The page read by walking the sort's order, as ``prospects.service.search`` reads it when many
    prospects match (``queries.walk_length``); None when that is not the way, or the walk fell short."""

    def tuples(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        return [tuple(row.values()) for row in fetch(sql, params)]

    wanted = (shape["page"] or 1) * shape["limit"]
    walk = queries.walk_length(tuples, query, total, wanted, shape["dialect"])
    if walk is None:
        return None
    walked = queries.build(filters, walk=walk, **shape)
    rows = fetch(walked.sql, walked.params)
    return rows if queries.walked_page(walked, rows) else None


def _print_table(rows: list[dict[str, Any]], total: int, options: argparse.Namespace, zone_name: str) -> None:
    from zoneinfo import ZoneInfo

    from rich.console import Console
    from rich.table import Table

    zone = ZoneInfo(zone_name)
    table = Table(box=None, header_style="bold", pad_edge=False)
    for title, justify in (
        ("ID", "left"), ("Name", "left"), ("Trade", "left"), ("City", "left"), ("Tier", "right"),
        ("Grid", "right"), ("Stage", "left"), ("Tags", "left"), ("Sent", "right"), ("Opened", "right"),
        ("Last contact", "left"),
    ):  # fmt: skip
        table.add_column(title, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for row in rows:
        last = as_time(row["last_contact_at"])
        stage = str(row["sales_status"])
        if row["do_not_contact"]:
            stage += " [red](dnc)[/red]"
        table.add_row(
            _escape(row["id"]),
            _escape(row["name"]),
            _escape(row["trade"] or ""),
            _escape(row["city"] or ""),
            str(row["tier"]),
            "" if row["grid_health"] is None else f"{row['grid_health']:g}",
            stage,
            _escape(", ".join(row["tags"])),
            str(row["emails_sent_count"]),
            str(row["emails_opened_count"]),
            last.astimezone(zone).strftime(CLI_TIME) if last else "",
        )
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
    if rows:
        console.print(table)
    first = ((options.page or 1) - 1) * options.limit
    if not total:
        console.print("[dim]no prospects[/dim]")
        return
    shown = f"{first + 1}-{first + len(rows)}" if rows else "none"
    console.print(f"[dim]{shown} of {counted(total, 'prospect')}[/dim]")


def _escape(text: Any) -> str:
    """A cell: Rich markup escaped, control characters written as escapes (as every CLI table does)."""
    return escaped_controls(str(text)).replace("[", "\\[")


# --- the fast path ---------------------------------------------------------------------------


def _leadline_environment() -> dict[str, str]:
    """LEADLINE_* settings as pydantic-settings reads them: environment over .env, any case."""
    found: dict[str, str] = {}
    if Path(".env").is_file():
        from dotenv import dotenv_values

        for key, value in dotenv_values(".env").items():
            if key.upper().startswith("LEADLINE_") and value is not None:
                found[key.upper()] = value
    for key, value in os.environ.items():
        if key.upper().startswith("LEADLINE_"):
            found[key.upper()] = value
    return found


def sqlite_path(env: dict[str, str]) -> str | None:
    """The SQLite file the settings point at, or None when the database is not SQLite."""
    url = env.get("LEADLINE_DATABASE_URL") or ""
    if not url:
        return str(Path(env.get("LEADLINE_DATA_DIR") or "data") / "leadline.db")
    if "://" not in url:
        return url
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        return None if "?" in path or path in ("", ":memory:") else path
    return None


def checked_filters(options: argparse.Namespace) -> queries.Filters | None:
    """The filters given, checked by the one filter schema (the API's); None when it refuses them.

    No filter, no check: the schema (Pydantic) is imported only when there is something to check."""
    given = {
        "status": options.status, "tier": options.tier, "trade": options.trade, "search": options.search,
        "do_not_contact": options.do_not_contact, "tag": options.tag, "owner": options.owner,
    }  # fmt: skip
    if options.reached is not None or options.as_of is not None:
        return None  # the dashboard's figures: the full CLI reads --as-of in the configured zone
    if all(value is None for value in given.values()):
        return queries.Filters()
    from pydantic import ValidationError

    from leadline.prospects.schemas import ProspectFilter

    try:
        return ProspectFilter.model_validate(given).query()
    except ValidationError:
        return None


def fast_main(argv: list[str]) -> int | None:
    """Run ``prospects list`` on bare sqlite3; None means "let the full CLI handle it"."""
    if any(arg in ("-h", "--help") for arg in argv):
        return None
    env = _leadline_environment()
    if env.get("LEADLINE_FAST_CLI", "1").lower() in ("0", "false", "no", "off"):
        return None
    path = sqlite_path(env)
    if path is None or not Path(path).is_file():
        return None
    joined: list[str] = []
    args = iter(argv)
    for arg in args:  # "--sort -name": a value may start with "-", as Typer allows
        joined.append(f"{arg}={next(args, '')}" if arg in VALUE_OPTIONS else arg)
    try:
        options, unknown = parser().parse_known_args(joined)
    except (_Refused, SystemExit):
        return None  # let Typer explain the mistake
    if unknown:
        return None
    filters = checked_filters(options)
    if filters is None:
        return None  # let Typer say what is wrong with them
    zone_name = env.get("LEADLINE_TIMEZONE") or "UTC"
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(zone_name)
    except (ValueError, LookupError):
        return None
    import sqlite3

    try:
        connection = sqlite3.connect(path, timeout=30)
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA busy_timeout = 30000")
        head = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    if head is None or head[0] != SCHEMA_HEAD:
        connection.close()
        return None  # the full CLI says what to do about an old schema

    def fetch(sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        return [dict(row) for row in connection.execute(sql, params)]

    try:
        return run(options, fetch, filters, dialect="sqlite", zone_name=zone_name)
    finally:
        connection.close()
