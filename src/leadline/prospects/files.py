"""Reading prospect files: CSV, JSON arrays and JSON lines, streamed, with loose headers.

Pure: no database. ``prospects.imports.import_file`` decides what each
valid row does to the database.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from leadline import jsonin
from leadline.errors import Invalid
from leadline.jsonin import MAX_DEPTH, TooDeep, depth_step
from leadline.prospects.schemas import ProspectCreate
from leadline.schemas import field_errors

MAX_LINE_CHARS = 1024 * 1024
csv.field_size_limit(MAX_LINE_CHARS)


class ImportFileError(Invalid):
    """The file as a whole cannot be read (not a row-level problem)."""


def normalise_header(text: str) -> str:
    folded = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]", "", folded.lower())


def _keys(*names: str) -> set[str]:
    return {normalise_header(name) for name in names}


# Company-level names. When one of these is present, a person's "Name" is the contact.
COMPANY_KEYS = _keys(
    "name", "company", "company name", "business", "business name", "organization", "organisation",
    "organization name", "organization - name", "person - organization", "account", "account name",
    "companyname",
)  # fmt: skip
PERSON_NAME_KEYS = _keys("name", "full name", "person - name", "person name")

ALIASES: dict[str, set[str]] = {
    "id": _keys("id", "prospect id", "prospectid", "slug"),
    "contact_name": _keys("contact", "contact name", "contact person", "primary contact", "owner name"),
    "email": _keys(
        "email",
        "e-mail",
        "email address",
        "emailaddress",
        "work email",
        "primary email",
        "email 1",
        "person - email",
        "person - email - work",
        "person - email - home",
        "person - email - other",
        "email - work",
    ),
    "phone": _keys(
        "phone",
        "phone number",
        "telephone",
        "tel",
        "mobile",
        "mobile phone",
        "mobile phone number",
        "work phone",
        "business phone",
        "person - phone",
        "person - phone - work",
        "person - phone - mobile",
        "person - phone - home",
        "person - phone - other",
        "phone - work",
    ),
    "website": _keys(
        "website",
        "website url",
        "web site",
        "url",
        "web",
        "homepage",
        "domain",
        "company domain name",
        "organization - website",
        "organization - web",
        "site",
    ),
    "city": _keys(
        "city",
        "town",
        "locality",
        "city/town",
        "person - city",
        "organization - city",
        "organization - address - city/town/village/locality",
    ),
    "state": _keys(
        "state",
        "state/region",
        "region",
        "province",
        "county",
        "organization - address - state/county",
        "organization - state",
    ),
    "trade": _keys("trade", "industry", "category", "vertical", "business type", "service"),
    "timezone": _keys("timezone", "time zone", "tz"),
    "tier": _keys("tier", "priority tier"),
    "grid_health": _keys("grid health", "gridhealth", "grid", "grid health score", "health"),
    "critical_gaps": _keys("critical gaps", "criticalgaps", "critical gap count"),
    "gaps": _keys("gaps", "gap list"),
    "top_competitor": _keys("top competitor", "topcompetitor", "competitor"),
    "competitor_health": _keys("competitor health", "competitorhealth", "competitor grid health"),
    "status": _keys("status", "research status"),
    "sales_status": _keys("sales status", "salesstatus", "stage", "sales stage", "pipeline stage"),
    "deal_value": _keys("deal value", "dealvalue", "value", "deal amount", "amount"),
    "do_not_contact": _keys("do not contact", "donotcontact", "dnc"),
    "do_not_contact_reason": _keys("do not contact reason", "dnc reason"),
    "owner": _keys("owner", "owner email", "sales rep email"),
    "notes": _keys("notes", "note", "comments", "description"),
}
FIRST_NAME_KEYS = _keys("first name", "firstname", "given name", "person - first name")
LAST_NAME_KEYS = _keys("last name", "lastname", "surname", "family name", "person - last name")

# Columns of Leadline's own export that are kept by Leadline itself, not imported.
READ_ONLY_KEYS = _keys(
    "emailsSentCount", "emailsOpenedCount", "callsScheduledCount", "callsCompletedCount", "lastContactAt",
    "nextFollowUpAt", "closeDate", "lostReason", "source", "createdAt", "updatedAt",
)  # fmt: skip

# Bookkeeping columns of HubSpot and Pipedrive exports: recognised, and skipped.
READ_ONLY_KEYS |= _keys(
    "Record ID", "Create Date", "Last Activity Date", "Lead Status", "Lifecycle Stage", "Contact owner",
    "Marketing contact status", "Last Modified Date", "Associated Company", "Associated Company IDs",
    "Person - ID", "Person - Owner", "Person - Label", "Person - Visible to", "Person - Add time",
    "Person - Update time", "Person - Open deals", "Person - Closed deals", "Organization - ID",
    "Organization - Owner", "Organization - Label", "Organization - Add time", "Organization - Update time",
)  # fmt: skip

_UNQUOTE = ("'=", "'+", "'-", "'@", "'\t", "'\r")


def undo_neutralise(value: str) -> str:
    """Reverse the export's spreadsheet protection (a leading ' before = + - @ tab CR)."""
    return value[1:] if value.startswith(_UNQUOTE) else value


@dataclass
class ColumnMap:
    """Which source column feeds which prospect field."""

    fields: dict[str, str] = field(default_factory=dict)  # source column -> field
    first_name: str | None = None
    last_name: str | None = None
    unknown: list[str] = field(default_factory=list)
    read_only: list[str] = field(default_factory=list)

    def describe(self) -> list[tuple[str, str]]:
        rows = [(source, target) for source, target in self.fields.items()]
        if self.first_name or self.last_name:
            joined = " + ".join(c for c in (self.first_name, self.last_name) if c)
            rows.append((joined, "contact_name"))
        rows += [(source, "(not imported)") for source in self.read_only]
        rows += [(source, "(unknown)") for source in self.unknown]
        return rows

    def source_of(self, field_name: str) -> str:
        for source, target in self.fields.items():
            if target == field_name:
                return source
        if field_name == "contact_name" and (self.first_name or self.last_name):
            return self.first_name or self.last_name or field_name
        return field_name


def map_columns(headers: list[str]) -> ColumnMap:
    """Match headers loosely to prospect fields (HubSpot and Pipedrive export names included)."""
    mapping = ColumnMap()
    keys = [normalise_header(h) for h in headers]
    has_company = any(k in COMPANY_KEYS - PERSON_NAME_KEYS for k in keys)
    taken: dict[str, str] = {}
    for header, key in zip(headers, keys, strict=True):
        if not key:
            mapping.unknown.append(header)
            continue
        target: str | None = None
        if key in PERSON_NAME_KEYS and has_company:
            target = "contact_name"
        elif key in COMPANY_KEYS:
            target = "name"
        elif key in FIRST_NAME_KEYS:
            if mapping.first_name is None:
                mapping.first_name = header
                continue
        elif key in LAST_NAME_KEYS:
            if mapping.last_name is None:
                mapping.last_name = header
                continue
        elif key in READ_ONLY_KEYS:
            mapping.read_only.append(header)
            continue
        else:
            target = next((name for name, aliases in ALIASES.items() if key in aliases), None)
        if target is None:
            mapping.unknown.append(header)
            continue
        if target in taken:
            raise ImportFileError(
                f"columns {taken[target]!r} and {header!r} both mean {target}; keep one of them",
                field=header,
            )
        taken[target] = header
        mapping.fields[header] = target
    if "name" not in taken and "id" not in taken and "email" not in taken:
        raise ImportFileError(
            "no column names the prospect: expected one of name, company, business name "
            "(or id / email to update existing prospects)"
        )
    return mapping


def suggestions(unknown: list[str]) -> str:
    import difflib

    known = sorted({alias for aliases in ALIASES.values() for alias in aliases} | COMPANY_KEYS)
    hints = []
    for header in unknown:
        close = difflib.get_close_matches(normalise_header(header), known, n=1, cutoff=0.75)
        hints.append(f"{header!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return ", ".join(hints)


class RawRow:
    """One record as read: ``values`` maps fields to raw values (blanks removed)."""

    __slots__ = ("_cells", "_headers", "_source", "line", "values")

    def __init__(
        self,
        line: int,
        values: dict[str, Any],
        source: dict[str, Any] | None = None,
        *,
        headers: list[str] | None = None,
        cells: list[str] | None = None,
    ) -> None:
        self.line = line  # CSV: the line the record starts on; JSON: the item's position (1-based)
        self.values = values
        self._source = source
        self._headers = headers
        self._cells = cells

    @property
    def source(self) -> dict[str, Any]:
        """The row as read, for the rejects file (built only when needed)."""
        if self._source is None:
            self._source = dict(zip(self._headers or [], self._cells or [], strict=False))
        return self._source


@dataclass
class RowResult:
    line: int
    data: ProspectCreate | None
    provided: frozenset[str]
    errors: list[dict[str, str]]
    raw: RawRow

    @property
    def source(self) -> dict[str, Any]:
        return self.raw.source


class ProspectFile:
    """An open prospect file. Iterate :meth:`rows`; :attr:`position` tracks bytes read."""

    def __init__(self, path: Path, *, ignore_unknown: bool = False) -> None:
        self.path = path
        self.ignore_unknown = ignore_unknown
        try:
            self.size = path.stat().st_size
            self._binary: IO[bytes] = path.open("rb")
        except FileNotFoundError:
            raise ImportFileError(f"no such file: {path}") from None
        except IsADirectoryError:
            raise ImportFileError(f"{path} is a folder, not a file") from None
        except PermissionError:
            raise ImportFileError(f"cannot read {path}: permission denied") from None
        head = self._binary.read(4096)
        self._binary.seek(0)
        if not head.strip():
            self.close()
            raise ImportFileError(f"{path.name} is empty")
        self.kind = self._detect(path, head)
        self.label = "item" if self.kind != "csv" else "line"
        self.columns: ColumnMap | None = None

    @staticmethod
    def _detect(path: Path, head: bytes) -> str:
        suffix = path.suffix.lower()
        if suffix in (".jsonl", ".ndjson"):
            return "jsonl"
        if suffix == ".json":
            return "json"
        if suffix in (".csv", ".tsv", ".txt"):
            return "csv"
        start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
        return "json" if start == b"[" else "jsonl" if start == b"{" else "csv"

    @property
    def position(self) -> int:
        try:
            return self._binary.tell()
        except (ValueError, OSError):
            return self.size

    def close(self) -> None:
        self._binary.close()

    def __enter__(self) -> ProspectFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- iteration ----------------------------------------------------------------------

    def rows(self) -> Iterator[RawRow]:
        try:
            if self.kind == "csv":
                yield from self._csv_rows()
            elif self.kind == "json":
                yield from self._json_rows()
            else:
                yield from self._jsonl_rows()
        except UnicodeDecodeError as error:
            raise ImportFileError(
                f"{self.path.name} is not UTF-8 text (byte 0x{error.object[error.start]:02x} at offset "
                f"{self.position - len(error.object) + error.start if error.object else 0}); "
                "save it as UTF-8 (Excel: 'CSV UTF-8') and import it again"
            ) from None

    def _text(self) -> io.TextIOWrapper:
        return io.TextIOWrapper(self._binary, encoding="utf-8-sig", newline="")

    def _limited_lines(self, text: io.TextIOWrapper) -> Iterator[str]:
        number = 0
        while True:
            line = text.readline(MAX_LINE_CHARS + 1)
            if not line:
                return
            number += 1
            if len(line) > MAX_LINE_CHARS:
                raise ImportFileError(
                    f"line {number} of {self.path.name} is longer than {MAX_LINE_CHARS:,} characters; "
                    "this is not a prospect file (or its line endings are broken)"
                )
            yield line

    def _csv_rows(self) -> Iterator[RawRow]:
        text = self._text()
        lines = self._limited_lines(text)
        first = next(lines, "")
        delimiter = max((",", ";", "\t"), key=first.count) if first else ","
        reader = csv.reader(_chain([first], lines), delimiter=delimiter, strict=True)
        try:
            headers = next(reader)
        except csv.Error as error:
            raise ImportFileError(f"line 1 of {self.path.name}: {error}") from None
        headers = [h.strip() for h in headers]
        if not any(headers):
            raise ImportFileError(f"line 1 of {self.path.name} has no column names")
        self.columns = columns = map_columns(headers)
        self._check_unknown(columns)
        width = len(headers)
        # (cell index, field) for the mapped columns, and the first/last name cells.
        plan = [(headers.index(h), target) for h, target in columns.fields.items()]
        names = [headers.index(c) for c in (columns.first_name, columns.last_name) if c]
        start = reader.line_num + 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                raise ImportFileError(f"line {reader.line_num} of {self.path.name}: {error}") from None
            line, start = start, reader.line_num + 1
            if not cells or all(not c.strip() for c in cells):
                continue
            if len(cells) != width:
                yield RawRow(
                    line,
                    {"__error__": f"has {len(cells)} cells but the header has {width} columns"},
                    headers=headers,
                    cells=cells,
                )
                continue
            values: dict[str, Any] = {}
            for index, target in plan:
                value = cells[index].strip()
                if value:
                    values[target] = undo_neutralise(value) if value[0] == "'" else value
            if names and "contact_name" not in values:
                joined = " ".join(part for part in (cells[i].strip() for i in names) if part)
                if joined:
                    values["contact_name"] = joined
            yield RawRow(line, values, headers=headers, cells=cells)

    def _check_unknown(self, columns: ColumnMap) -> None:
        if columns.unknown and not self.ignore_unknown:
            raise ImportFileError(
                f"unknown columns: {suggestions(columns.unknown)}; rename them, or pass "
                "--ignore-unknown-columns to import the rest without them"
            )

    def _values(self, columns: ColumnMap, source: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for header, target in columns.fields.items():
            value = source.get(header)
            if isinstance(value, str):
                value = value.strip()
                if not value:
                    continue
            elif value is None:
                continue
            values[target] = value
        if columns.first_name or columns.last_name:
            parts = [str(source.get(c) or "").strip() for c in (columns.first_name, columns.last_name) if c]
            joined = " ".join(p for p in parts if p)
            if joined and "contact_name" not in values:
                values["contact_name"] = joined
        return values

    def _check_json(self) -> None:
        """A first pass over a .json file: its top level is an array, nested at most ``MAX_DEPTH`` deep.

        ijson's ``items`` (and ``parse``) build a path for every level, which costs the square of
        the depth before anything can stop it (40 KB of ``[`` took 1 GB); ``basic_parse`` keeps
        no path, so counting levels from its events stops a deep file at the limit, in bounded
        memory. The second pass (``items``) then reads only files known to be shallow."""
        import ijson

        try:
            events = ijson.basic_parse(self._binary)
            first = next(events, None)
            if first is None or first[0] != "start_array":
                raise ImportFileError(
                    f"{self.path.name}: a .json file must hold an array of objects, one per prospect "
                    "([{...}, {...}]); JSON lines (.jsonl) hold one object per line"
                )
            depth, item = 1, 0
            for event, _ in events:
                if depth == 1 and event != "end_array":
                    item += 1  # an element of the top array starts
                depth = depth_step(event, depth)
        except TooDeep:
            raise ImportFileError(
                f"item {item} of {self.path.name} is nested deeper than {MAX_DEPTH} levels of arrays and objects"
            ) from None
        except ijson.JSONError as error:
            raise ImportFileError(f"{self.path.name} is not valid JSON: {error}") from None
        finally:
            self._binary.seek(0)

    def _json_objects(self) -> Iterator[tuple[int, Any]]:
        import ijson

        self._check_json()
        try:
            yield from enumerate(ijson.items(self._binary, "item", use_float=True), start=1)
        except ijson.JSONError as error:
            raise ImportFileError(f"{self.path.name} is not valid JSON: {error}") from None

    def _jsonl_objects(self) -> Iterator[tuple[int, Any]]:
        for number, line in enumerate(self._limited_lines(self._text()), start=1):
            if not line.strip():
                continue
            try:
                yield number, jsonin.loads(line)
            except jsonin.TooDeep:
                raise ImportFileError(
                    f"line {number} of {self.path.name} is nested deeper than {MAX_DEPTH} levels of arrays and objects"
                ) from None
            except jsonin.NotJson as error:
                raise ImportFileError(f"line {number} of {self.path.name} is {error}") from None

    def _json_rows(self) -> Iterator[RawRow]:
        return self._object_rows(self._json_objects())

    def _jsonl_rows(self) -> Iterator[RawRow]:
        return self._object_rows(self._jsonl_objects())

    def _object_rows(self, objects: Iterator[tuple[int, Any]]) -> Iterator[RawRow]:
        cache: dict[tuple[str, ...], ColumnMap] = {}
        for number, item in objects:
            if not isinstance(item, dict):
                yield RawRow(number, {"__error__": "is not a JSON object"}, {"value": item})
                continue
            keys = tuple(str(k) for k in item)
            columns = cache.get(keys)
            if columns is None:
                try:
                    columns = map_columns(list(keys))
                except ImportFileError as error:
                    yield RawRow(number, {"__error__": error.message}, item)
                    continue
                if columns.unknown and not self.ignore_unknown:
                    yield RawRow(
                        number,
                        {"__error__": f"unknown fields: {suggestions(columns.unknown)}"},
                        item,
                    )
                    continue
                cache[keys] = columns
                if self.columns is None:
                    self.columns = columns
            yield RawRow(number, self._values(columns, item), item)


def _chain(first: list[str], rest: Iterator[str]) -> Iterator[str]:
    yield from first
    yield from rest


def validate(raw: RawRow, columns: ColumnMap | None) -> RowResult:
    """Check one row against the prospect rules. ``data`` is None when it is bad."""
    if "__error__" in raw.values:
        return RowResult(raw.line, None, frozenset(), [{"field": "", "message": raw.values["__error__"]}], raw)
    values = raw.values
    try:
        data = ProspectCreate.model_validate({"name": values.get("name") or "?", **values})
    except ValidationError as error:
        problems = field_errors(error, camel=False)
        for problem in problems:
            problem["column"] = columns.source_of(problem["field"]) if columns else problem["field"]
        return RowResult(raw.line, None, frozenset(), problems, raw)
    return RowResult(raw.line, data, frozenset(values), [], raw)
