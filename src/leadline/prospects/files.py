"""Reading prospect files: CSV, JSON arrays and JSON lines, streamed, with loose headers.

Pure: no database. ``prospects.imports.import_file`` decides what each
valid row does to the database.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from leadline import jsonin
from leadline.errors import Invalid
from leadline.fields import text_codec
from leadline.jsonin import MAX_DEPTH
from leadline.prospects.matching import same_value
from leadline.prospects.schemas import ProspectCreate, ProspectImportRow
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
        "email - home",
        "email - other",
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
        "phone - mobile",
        "phone - home",
        "phone - other",
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
        "address - city/town/village/locality",
    ),
    "state": _keys(
        "state",
        "state/region",
        "region",
        "province",
        "county",
        "organization - address - state/county",
        "organization - state",
        "address - state/county",
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
    "tags": _keys("tags", "tag", "labels"),
}
#: Columns with no field of their own, kept in the prospect's notes as "Column: value" lines.
NOTE_KEYS = _keys(
    "job title", "title", "postal code", "zip", "zip code", "country", "country/region", "street address",
    "address", "number of employees", "annual revenue", "linkedin", "linkedin profile", "person - job title",
)  # fmt: skip
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
    "Company owner", "Associated Company IDs (Primary)", "Primary Associated Company ID", "Associated Contact",
    "Associated Contact IDs", "Last Contacted", "Number of Associated Contacts", "Last Modified Date",
    "Person created", "Organization created", "Update time", "Add time", "Visible to", "Open deals",
    "Closed deals", "Won deals", "Lost deals", "People", "Next activity date", "Last activity date",
    "Done activities", "Activities to do", "Email messages count", "Label", "Organization ID",
    "Person - Organization ID",
    # Pipedrive's parts of an address: its "Address" (kept in the notes) says them all.
    "Address - Street number", "Address - Street/road name", "Address - Apartment/suite no",
    "Address - District/sublocality", "Address - ZIP/Postal code", "Address - Country",
    "Address - Full/combined address",
)  # fmt: skip


@dataclass(frozen=True)
class Profile:
    """An export whose records carry another system's ids: which columns hold them.

    ``own``: the column of the record's own id and that id's source; ``related``: columns naming a
    related record (a contact's company), by source. ``read_only``: that product's bookkeeping
    columns whose names would otherwise mean a field (Pipedrive's "Owner" is a person's name)."""

    name: str
    own: tuple[str, str]
    related: tuple[tuple[str, str], ...] = ()
    read_only: frozenset[str] = frozenset()


_PIPEDRIVE_MARKS = _keys(
    "person created", "organization created", "update time", "add time", "visible to", "open deals",
    "closed deals", "email - work", "phone - work", "people",
)  # fmt: skip
_PERSON_KEYS = _keys("first name", "last name", "email", "organization", "email - work", "email - home",
                     "phone - mobile", "person - name")  # fmt: skip


#: Exports of people: a person with no company names the prospect by their own name.
PERSON_EXPORTS = frozenset({"HubSpot contacts", "Pipedrive persons"})


def detect_profile(keys: set[str]) -> Profile | None:
    """HubSpot contacts or companies, Pipedrive persons or organizations, from their headers."""
    if "recordid" in keys:
        if keys & _keys("first name", "last name", "email"):
            related = tuple(
                (key, "hubspot company") for key in _keys("associated company ids", "associated company ids (primary)",
                                                          "primary associated company id") if key in keys
            )  # fmt: skip
            return Profile("HubSpot contacts", ("recordid", "hubspot contact"), related[:1])
        return Profile("HubSpot companies", ("recordid", "hubspot company"))
    owner = frozenset(_keys("owner", "label"))
    if "personid" in keys:
        related = (("organizationid", "pipedrive organization"),) if "organizationid" in keys else ()
        return Profile("Pipedrive persons", ("personid", "pipedrive person"), related, owner)
    if "id" in keys and keys & _PIPEDRIVE_MARKS:
        if keys & _PERSON_KEYS:
            related = (("organizationid", "pipedrive organization"),) if "organizationid" in keys else ()
            return Profile("Pipedrive persons", ("id", "pipedrive person"), related, owner)
        return Profile("Pipedrive organizations", ("id", "pipedrive organization"), (), owner)
    if "organizationid" in keys and keys & _PIPEDRIVE_MARKS:
        return Profile("Pipedrive organizations", ("organizationid", "pipedrive organization"), (), owner)
    return None


#: What a column may be mapped to by hand (``--map "Column=field"``, the preview's menus), besides
#: the prospect's fields: an id of another system, the parts of the contact's name, nothing.
SPECIAL_TARGETS = ("external_id", "first_name", "last_name", "ignore")
MAPPABLE = (
    "name", "id", "contact_name", "email", "phone", "website", "city", "state", "trade", "timezone", "tier",
    "grid_health", "critical_gaps", "gaps", "top_competitor", "competitor_health", "status", "sales_status",
    "deal_value", "do_not_contact", "do_not_contact_reason", "owner", "notes", "tags",
)  # fmt: skip


def mapping_target(name: str, *, option: str = "map") -> str:
    """A field name as a person types it (``gridHealth``, ``grid_health``, ``externalId``) -> the field."""
    from pydantic.alias_generators import to_snake

    target = to_snake(name.strip()).replace("-", "_").replace(" ", "_")
    if target not in MAPPABLE and target not in SPECIAL_TARGETS:
        from leadline.names import camel

        known = ", ".join(camel(n) for n in (*MAPPABLE, *SPECIAL_TARGETS))
        raise Invalid(f"{name.strip()!r} is not a field; fields: {known}", field=option)
    return target


def parse_pairs(items: list[str], *, option: str) -> list[tuple[str, str]]:
    """``["Column=field", ...]`` -> pairs; a missing ``=`` is an error naming the option."""
    pairs = []
    for item in items:
        left, sep, right = item.partition("=")
        if not sep or not left.strip():
            raise Invalid(f"{item!r}: expected NAME=VALUE", field=option)
        pairs.append((left.strip(), right.strip()))
    return pairs


def parse_mapping(items: list[str]) -> dict[str, str]:
    """``--map "Mobile Phone Number=phone"`` -> {column: field}."""
    return {column: mapping_target(target) for column, target in parse_pairs(items, option="map")}


def parse_defaults(items: list[str]) -> dict[str, Any]:
    """``--set tier=2 --set trade=roofing`` -> {field: value}, checked by the prospect rules now."""
    defaults: dict[str, Any] = {}
    for name, value in parse_pairs(items, option="set"):
        target = mapping_target(name, option="set")
        if target in SPECIAL_TARGETS or target in ("id", "name", "email"):
            raise Invalid(f"{name!r} cannot have one value for every row", field="set")
        defaults[target] = value
    try:
        ProspectImportRow.model_validate({"name": "?", **defaults})
    except ValidationError as error:
        problem = field_errors(error, camel=True)[0]
        raise Invalid(
            f"{problem['field']}={defaults.get(problem['field'], '')}: {problem['message']}".replace(
                f"{problem['field']}=: ", f"{problem['field']}: "
            ),
            field="set",
        ) from None
    return defaults


_UNQUOTE = ("'=", "'+", "'-", "'@", "'\t", "'\r")


def undo_neutralise(value: str) -> str:
    """Reverse the export's spreadsheet protection (a leading ' before = + - @ tab CR)."""
    return value[1:] if value.startswith(_UNQUOTE) else value


@dataclass
class ColumnMap:
    """Which source column feeds which prospect field."""

    fields: dict[str, str] = field(default_factory=dict)  # source column -> field (several may feed one)
    first_name: str | None = None
    last_name: str | None = None
    unknown: list[str] = field(default_factory=list)
    read_only: list[str] = field(default_factory=list)
    external: dict[str, tuple[str, bool]] = field(default_factory=dict)  # column -> (source, the record's own id)
    profile: str | None = None
    headers: list[str] = field(default_factory=list)

    def describe(self) -> list[tuple[str, str]]:
        """(column, what it feeds) in the file's order, for the previews."""
        firsts: set[str] = set()
        rows = []
        for header in self.headers or [*self.fields, *self.external, *self.read_only, *self.unknown]:
            if header in self.fields:
                target = self.fields[header]
                if target == "notes" and normalise_header(header) not in ALIASES["notes"]:
                    rows.append((header, "notes (as a line)"))
                elif target in firsts:
                    rows.append((header, f"{target} (when the first is blank; else kept in notes)"))
                else:
                    firsts.add(target)
                    rows.append((header, target))
            elif header in self.external:
                source, own = self.external[header]
                rows.append((header, f"external id ({source})" if own else f"related record ({source})"))
            elif header in (self.first_name, self.last_name):
                rows.append((header, "contact_name (" + ("first" if header == self.first_name else "last") + " name)"))
            elif header in self.read_only:
                rows.append((header, "(not imported)"))
            elif header in self.unknown:
                rows.append((header, "(unknown)"))
        return rows

    def target_of(self, header: str) -> str:
        """The field a column feeds, as the preview's menus name it ("ignore" when none)."""
        if header in self.fields:
            return self.fields[header]
        if header in self.external:
            return "external_id"
        if header == self.first_name:
            return "first_name"
        if header == self.last_name:
            return "last_name"
        return "ignore"

    def source_of(self, field_name: str) -> str:
        for source, target in self.fields.items():
            if target == field_name:
                return source
        if field_name == "contact_name" and (self.first_name or self.last_name):
            return self.first_name or self.last_name or field_name
        return field_name


def map_columns(headers: list[str], overrides: dict[str, str] | None = None) -> ColumnMap:
    """Match headers loosely to prospect fields (HubSpot and Pipedrive export names included).

    Several columns may feed one field ("Phone Number" and "Mobile Phone Number"): the first
    non-empty one wins and the others are kept in the notes. ``overrides`` ({column: field}, from
    ``--map`` or the preview's menus) win over the guesses."""
    overrides = overrides or {}
    mapping = ColumnMap(headers=list(headers))
    keys = [normalise_header(h) for h in headers]
    profile = detect_profile(set(keys))
    mapping.profile = profile.name if profile else None
    has_company = any(k in COMPANY_KEYS - PERSON_NAME_KEYS for k in keys)
    taken: set[str] = set()
    for header, key in zip(headers, keys, strict=True):
        target: str | None = None
        chosen = overrides.get(header)
        if chosen is not None:
            if chosen == "ignore":
                mapping.read_only.append(header)
                continue
            if chosen == "external_id":
                mapping.external[header] = (f"column {header}"[:120], True)
                continue
            if chosen in ("first_name", "last_name"):
                setattr(mapping, chosen, header)
                continue
            target = chosen
        elif not key:
            mapping.unknown.append(header)
            continue
        elif profile and key == profile.own[0]:
            mapping.external[header] = (profile.own[1], True)
            continue
        elif profile and key in dict(profile.related):
            mapping.external[header] = (dict(profile.related)[key], False)
            continue
        elif profile and key in profile.read_only:
            mapping.read_only.append(header)
            continue
        elif key in PERSON_NAME_KEYS and has_company:
            target = "contact_name"
        elif key in COMPANY_KEYS:
            target = "name"
        elif key in FIRST_NAME_KEYS:
            if mapping.first_name is None:
                mapping.first_name = header
                continue
            target = "notes"
        elif key in LAST_NAME_KEYS:
            if mapping.last_name is None:
                mapping.last_name = header
                continue
            target = "notes"
        elif key in READ_ONLY_KEYS:
            mapping.read_only.append(header)
            continue
        elif key in NOTE_KEYS:
            target = "notes"
        else:
            target = next((name for name, aliases in ALIASES.items() if key in aliases), None)
        if target is None:
            mapping.unknown.append(header)
            continue
        if target == "id" and "id" in taken:
            raise ImportFileError(
                f"columns {mapping.source_of('id')!r} and {header!r} both mean id; keep one of them", field=header
            )
        taken.add(target)
        mapping.fields[header] = target
    if "name" not in taken and "id" not in taken and "email" not in taken and not mapping.external:
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

    __slots__ = ("_cells", "_headers", "_source", "defaulted", "external", "line", "values")

    def __init__(
        self,
        line: int,
        values: dict[str, Any],
        source: dict[str, Any] | None = None,
        *,
        headers: list[str] | None = None,
        cells: list[str] | None = None,
        external: list[tuple[str, str, bool]] | None = None,
        defaulted: frozenset[str] = frozenset(),
    ) -> None:
        self.line = line  # CSV: the line the record starts on; JSON: the item's position (1-based)
        self.values = values
        self.external = external or []  # (source, id, the record's own id) of other systems' records
        self.defaulted = defaulted  # fields given by --set, not by the row: they only fill blanks
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

    def __init__(
        self,
        path: Path,
        *,
        ignore_unknown: bool = False,
        encoding: str | None = None,
        mapping: dict[str, str] | None = None,
        defaults: dict[str, Any] | None = None,
        keep_blanks: bool = False,
    ) -> None:
        """``mapping``: {column: field} chosen by hand; ``defaults``: {field: value} for the rows that
        lack one; ``keep_blanks``: a blank cell means "clear this field" (``--overwrite``)."""
        self.path = path
        self.ignore_unknown = ignore_unknown
        self.encoding = _encoding(encoding)
        self.mapping = mapping or {}
        self.defaults = defaults or {}
        self.keep_blanks = keep_blanks
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
        if self.encoding == "utf-8-sig" and head[:2] in (b"\xff\xfe", b"\xfe\xff") and not encoding:
            self.encoding = "utf-16"  # Excel's "Unicode Text": its byte-order mark says so
            head = head.decode("utf-16", "ignore").encode("utf-8")
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
            where = (
                f"byte 0x{error.object[error.start]:02x} at offset "
                f"{self.position - len(error.object) + error.start if error.object else 0}"
            )
            if self.encoding == "utf-8-sig":
                raise ImportFileError(
                    f"{self.path.name} is not UTF-8 text ({where}); if it came from Excel on Windows, import it "
                    "with --encoding cp1252 (or --encoding latin-1), or save it as UTF-8 (Excel: 'CSV UTF-8')",
                    field="encoding",
                ) from None
            raise ImportFileError(
                f"{self.path.name} is not {self.encoding} text ({where}); try another --encoding "
                "(utf-8, cp1252, latin-1)",
                field="encoding",
            ) from None
        except UnicodeError:  # a codec that fails without saying where (the decode error above says)
            raise ImportFileError(
                f"{self.path.name} cannot be read as {self.encoding} text; try another --encoding "
                "(utf-8, cp1252, latin-1)",
                field="encoding",
            ) from None

    def _text(self) -> io.TextIOWrapper:
        return io.TextIOWrapper(self._binary, encoding=self.encoding, newline="")

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
        missing = [column for column in self.mapping if column not in headers]
        if missing:
            raise ImportFileError(
                f"no column {missing[0]!r} in {self.path.name}; its columns: {', '.join(headers)}", field="map"
            )
        self.columns = columns = map_columns(headers, self.mapping)
        self._check_unknown(columns)
        width = len(headers)
        index = {header: i for i, header in enumerate(headers)}
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
            values, external, defaulted = self._combine(columns, _cell_reader(cells, index))
            yield RawRow(line, values, headers=headers, cells=cells, external=external, defaulted=defaulted)

    def _check_unknown(self, columns: ColumnMap) -> None:
        if columns.unknown and not self.ignore_unknown:
            raise ImportFileError(
                f"unknown columns: {suggestions(columns.unknown)}; rename them, or pass "
                "--ignore-unknown-columns to import the rest without them"
            )

    def _combine(
        self, columns: ColumnMap, cell: Callable[[str], Any]
    ) -> tuple[dict[str, Any], list[tuple[str, str, bool]], frozenset[str]]:
        """One record's values by field, its external ids, and the fields ``--set`` gave it.

        Where several columns feed one field the first non-empty one wins; the others, and the
        columns kept as notes, become "Column: value" lines of the notes: nothing is lost."""
        values: dict[str, Any] = {}
        texts: list[str] = []
        lines: list[str] = []
        for header, target in columns.fields.items():
            value = cell(header)
            if isinstance(value, str):
                value = value.strip()
                if not value:
                    continue
                if value[0] == "'":
                    value = undo_neutralise(value)
            elif value is None:
                continue
            if target == "notes":
                if normalise_header(header) in ALIASES["notes"]:
                    texts.append(str(value))
                else:
                    lines.append(f"{header}: {_as_text(value)}")
            elif target not in values:
                values[target] = value
            elif not same_value(target, values[target], value):
                lines.append(f"{header}: {_as_text(value)}")
        if (columns.first_name or columns.last_name) and "contact_name" not in values:
            parts = [_as_text(cell(c) or "").strip() for c in (columns.first_name, columns.last_name) if c]
            joined = " ".join(p for p in parts if p)
            if joined:
                values["contact_name"] = joined
        if "name" not in values and columns.profile in PERSON_EXPORTS and values.get("contact_name"):
            values["name"] = values["contact_name"]  # a person of no company: the person is the business
        if texts or lines:
            values["notes"] = "\n".join([*texts, *lines])
        external: list[tuple[str, str, bool]] = []
        for header, (source, own) in columns.external.items():
            text = _as_text(cell(header) or "").strip()
            ids = [part.strip() for part in text.split(";") if part.strip()] if not own else [text] if text else []
            if len(ids) == 1 and len(ids[0]) <= 200:  # a contact of several companies names none of them
                external.append((source, ids[0], own))
        if self.keep_blanks:
            for target in set(columns.fields.values()) - set(values):
                if target in CLEARABLE:
                    values[target] = None
        defaulted: frozenset[str] = frozenset()
        if self.defaults:
            given = {name: value for name, value in self.defaults.items() if values.get(name) is None}
            values.update(given)
            defaulted = frozenset(given)
        return values, external, defaulted

    def _json_objects(self) -> Iterator[tuple[int, Any]]:
        """The items of a .json file's array, each read as a line of a .jsonl file is (``jsonin``: the
        same parser and rules, so both refuse the same values with the same words), none longer than
        ``MAX_LINE_CHARS``."""
        number = 0
        try:
            for number, item in enumerate(jsonin.array_items(self._text(), max_item_chars=MAX_LINE_CHARS), start=1):
                yield number, item
        except jsonin.NotArray:
            raise ImportFileError(
                f"{self.path.name}: a .json file must hold an array of objects, one per prospect "
                "([{...}, {...}]); JSON lines (.jsonl) hold one object per line"
            ) from None
        except jsonin.TooDeep:
            raise ImportFileError(
                f"item {number + 1} of {self.path.name} is nested deeper than {MAX_DEPTH} levels of arrays and objects"
            ) from None
        except jsonin.NotJson as error:
            where = f"item {number + 1} of {self.path.name}"
            if str(error).startswith("longer than"):
                raise ImportFileError(f"{where} is {error}; this is not a prospect file") from None
            raise ImportFileError(f"{where} is {str(error).replace('not JSON', 'not valid JSON', 1)}") from None

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
                    columns = map_columns(list(keys), {k: v for k, v in self.mapping.items() if k in keys})
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
            values, external, defaulted = self._combine(columns, item.get)
            yield RawRow(number, values, item, external=external, defaulted=defaulted)


#: Fields a blank cell clears under ``--overwrite`` (those a prospect may lack).
CLEARABLE = frozenset(
    name for name, info in ProspectCreate.model_fields.items()
    if info.default is None and name not in ("id", "name")
)  # fmt: skip


def _cell_reader(cells: list[str], index: dict[str, int]) -> Callable[[str], Any]:
    return lambda header: cells[index[header]]


def _as_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return "; ".join(map(str, value))
    return str(value)


def _encoding(name: str | None) -> str:
    """The file's text encoding: UTF-8 (with or without a byte-order mark) unless told."""
    if not name or not name.strip():
        return "utf-8-sig"
    found = text_codec(name)  # rot13, hex, base64 (bytes to bytes), punycode, idna: not a file's encoding
    if found is None:
        raise ImportFileError(
            f"{name!r} is not a text encoding; use utf-8, cp1252 (Excel on Windows) or latin-1", field="encoding"
        )
    return "utf-8-sig" if found == "utf-8" else found


def _chain(first: list[str], rest: Iterator[str]) -> Iterator[str]:
    yield from first
    yield from rest


def validate(raw: RawRow, columns: ColumnMap | None) -> RowResult:
    """Check one row against the prospect rules. ``data`` is None when it is bad."""
    if "__error__" in raw.values:
        return RowResult(raw.line, None, frozenset(), [{"field": "", "message": raw.values["__error__"]}], raw)
    values = raw.values
    try:
        data = ProspectImportRow.model_validate({"name": values.get("name") or "?", **values})
    except ValidationError as error:
        problems = field_errors(error, camel=False)
        for problem in problems:
            name = problem["field"].split(".")[0]  # "tags.1": the second tag of the tags column
            problem["column"] = columns.source_of(name) if columns else name
        return RowResult(raw.line, None, frozenset(), problems, raw)
    return RowResult(raw.line, data, frozenset(values), [], raw)
