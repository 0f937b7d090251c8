"""``leadline export --all`` / ``leadline import --all``: a whole database, between SQLite and PostgreSQL.

The file is JSON lines: a header (format, Leadline version, schema revision, tables),
then for each table a line naming it and its columns, and one line per row (a JSON array
in column order). Times are ISO 8601 in UTC, dates ISO dates, raw bytes (the webhook posts kept
as they came) base64, JSON columns as they are;
every row is read in primary-key order, so the same data gives the same file on either
database. Rows are streamed both ways: memory stays flat whatever the size.

An import goes into a freshly initialised, empty database of the same schema, in one
transaction (all or nothing), parents before children.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Date, LargeBinary, Table, delete, func, select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from leadline import __version__, jsonin
from leadline.db import Base, UTCDateTime
from leadline.errors import Conflict, Invalid
from leadline.jsonin import MAX_DEPTH

FORMAT = "leadline-export"
BATCH = 1000
#: Rows of a table holding files (up to LEADLINE_FILE_MAX_BYTES each) go a few at a time: memory stays flat.
FILE_BATCH = 4


def batch_of(table: Table) -> int:
    return FILE_BATCH if table.name == "files" else BATCH


#: Working state, not data: an import's journal and staged rows (``prospects.flows``) belong to the
#: process that ran it, and the maintained totals are counted again from the rows on import
#: (``analytics.totals``, in the importing installation's zone), so they neither travel nor make
#: a database "not empty".
WORKING_TABLES = frozenset({"import_runs", "import_staging", "analytics_totals"})
#: What `leadline init` writes into a new database (the first sender, from the settings:
#: ``senders.service.ensure_first``): a database holding only these is empty; the file brings its own.
MADE_BY_INIT = ("sender_events", "senders")


def tables() -> list[Table]:
    import leadline.models  # noqa: F401  (every model on Base.metadata)

    return [t for t in Base.metadata.sorted_tables if t.name not in WORKING_TABLES]


def _encoder(table: Table) -> list[Any]:
    def plain(value: Any) -> Any:
        return value

    def moment(value: datetime | date | None) -> str | None:
        return None if value is None else value.isoformat()

    def raw(value: bytes | None) -> str | None:  # bytes (a webhook post kept as received) as base64
        return None if value is None else base64.b64encode(value).decode("ascii")

    return [moment if isinstance(c.type, UTCDateTime | Date) else raw if isinstance(c.type, LargeBinary) else plain
            for c in table.columns]  # fmt: skip


def _decoder(table: Table) -> list[Any]:
    def plain(value: Any) -> Any:
        return value

    def when(value: str | None) -> datetime | None:
        return None if value is None else datetime.fromisoformat(value)

    def day(value: str | None) -> date | None:
        return None if value is None else date.fromisoformat(value)

    def raw(value: str | None) -> bytes | None:
        return None if value is None else base64.b64decode(value, validate=True)

    return [when if isinstance(c.type, UTCDateTime) else day if isinstance(c.type, Date)
            else raw if isinstance(c.type, LargeBinary) else plain for c in table.columns]  # fmt: skip


@dataclass
class Report:
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def export_all(session: Session, out: IO[str], *, revision: str | None) -> Report:
    report = Report()
    every = tables()
    header = {"format": FORMAT, "version": 1, "leadline": __version__, "schema": revision,
              "tables": [t.name for t in every]}  # fmt: skip
    out.write(json.dumps(header) + "\n")
    for table in every:
        out.write(json.dumps({"table": table.name, "columns": [c.name for c in table.columns]}) + "\n")
        encode = _encoder(table)
        query = select(table).order_by(*table.primary_key.columns).execution_options(yield_per=batch_of(table))
        count = 0
        for row in session.execute(query):
            out.write(json.dumps([f(v) for f, v in zip(encode, row, strict=True)], sort_keys=True) + "\n")
            count += 1
        report.rows[table.name] = count
    return report


# A row is an array whose JSON columns hold what Leadline stored: outside JSON taken at most
# MAX_DEPTH levels deep (webhook events), so one level more than that.
ROW_DEPTH = MAX_DEPTH + 1


def _lines(source: IO[str]) -> Iterator[tuple[int, Any]]:
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            yield number, jsonin.loads(line, max_depth=ROW_DEPTH)
        except jsonin.TooDeep:
            raise Invalid(
                f"line {number} is nested deeper than a row of an export can be ({MAX_DEPTH} levels inside the row)",
                field="file",
            ) from None
        except jsonin.NotJson:
            raise Invalid(f"line {number} is not JSON", field="file") from None


def import_all(session: Session, source: IO[str], *, revision: str | None) -> Report:
    lines = _lines(source)
    first = next(lines, None)
    if first is None or not isinstance(first[1], dict) or first[1].get("format") != FORMAT:
        raise Invalid("not a `leadline export --all` file (its first line says what it is)", field="file")
    header = first[1]
    if header.get("schema") != revision:
        raise Invalid(
            f"the export is of schema {header.get('schema')} and this database is at {revision}; "
            "export and import with the same version of Leadline",
            field="file",
        )
    known = {t.name: t for t in tables()}
    filled = [t for t in known.values() if session.scalar(select(func.count()).select_from(t))]
    if filled and all(t.name in MADE_BY_INIT for t in filled):  # only the first sender `leadline init` made
        for made in MADE_BY_INIT:  # events first: they point at the sender
            session.execute(delete(known[made]))
        filled = []
    if filled:
        raise Conflict(
            f"the database is not empty ({filled[0].name} has rows); import --all goes into a new, "
            "empty database (`leadline init` on a new LEADLINE_DATABASE_URL)",
            field="databaseUrl",
        )
    report = Report()
    table: Table | None = None
    decode: list[Any] = []
    batch: list[dict[str, Any]] = []
    names: list[str] = []

    def flush() -> None:
        if table is not None and batch:
            try:
                session.execute(table.insert(), batch)
            except (IntegrityError, DataError) as error:
                reason = str(error.orig).strip().splitlines()[0]
                raise Invalid(f"rows of {table.name} break a rule of the schema: {reason}", field="file") from None
            batch.clear()

    for number, item in lines:
        if isinstance(item, dict):
            flush()
            name = item.get("table")
            if name not in known:
                raise Invalid(f"line {number}: unknown table {name!r}", field="file")
            table = known[name]
            names = list(item.get("columns") or [])
            if names != [c.name for c in table.columns]:
                raise Invalid(f"line {number}: the columns of {name} do not match this schema", field="file")
            decode = _decoder(table)
            report.rows[name] = 0
            continue
        if table is None or not isinstance(item, list) or len(item) != len(names):
            raise Invalid(f"line {number}: a row that does not fit its table", field="file")
        try:
            batch.append({n: f(v) for n, f, v in zip(names, decode, item, strict=True)})
        except (TypeError, ValueError) as error:
            raise Invalid(f"line {number}: {error}", field="file") from None
        report.rows[table.name] += 1
        if len(batch) >= batch_of(table):
            flush()
    flush()
    missing = [name for name in known if name not in report.rows]
    if missing:
        raise Invalid(f"the file ends before table {missing[0]}: it is cut short", field="file")
    from leadline.analytics import totals

    totals.recount(session.connection(), totals.zone_of(session))  # in this installation's zone
    return report


def open_text(path: Path, mode: str, *, gz: bool | None = None) -> IO[str]:
    """Plain or gzip (``.gz``, or ``gz=True``) JSON lines."""
    import gzip

    if gz if gz is not None else path.suffix == ".gz":
        return gzip.open(path, mode + "t", encoding="utf-8")  # type: ignore[return-value]
    return path.open(mode, encoding="utf-8")
