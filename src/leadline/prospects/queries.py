"""The SQL that lists prospects: filters, sorting, keyset and page paging.

Standard library only. Two callers share it so that the filter rules exist once:
the fast ``leadline prospects list`` path (bare ``sqlite3``) and the service behind
``GET /api/prospects`` and ``prospects export`` (SQLAlchemy, SQLite or PostgreSQL).
Parameters use the ``:name`` style, which both ``sqlite3`` and ``sqlalchemy.text`` accept.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from leadline import jsonin

#: A prospect's exported and listed fields: the prospects table's columns, and ``notes`` (its latest
#: note's text, read by :func:`latest_note` when ``build(with_notes=True)``).
COLUMNS: tuple[str, ...] = (
    "id", "name", "trade", "contact_name", "email", "phone", "website", "city", "state", "timezone",
    "tier", "grid_health", "critical_gaps", "gaps", "top_competitor", "competitor_health", "status",
    "sales_status", "last_contact_at", "next_follow_up_at", "emails_sent_count", "emails_opened_count",
    "calls_scheduled_count", "calls_completed_count", "deal_value", "close_date", "lost_reason",
    "do_not_contact", "do_not_contact_reason", "owner", "notes", "source", "last_import_id",
    "created_at", "updated_at",
)  # fmt: skip

TIME_COLUMNS = frozenset({"last_contact_at", "next_follow_up_at", "close_date", "created_at", "updated_at"})
JSON_COLUMNS = frozenset({"gaps"})
BOOL_COLUMNS = frozenset({"do_not_contact"})
#: Columns that stay inside Leadline (bookkeeping, not a prospect's data).
PRIVATE_COLUMNS = frozenset({"last_import_id"})

# sort name -> (SQL expression, kind); kind tells how a cursor value is bound back.
SORTS: dict[str, tuple[str, str]] = {
    "created": ("created_at", "time"),
    "updated": ("updated_at", "time"),
    "name": ("lower(name)", "text"),
    "grid_health": ("COALESCE(grid_health, -1)", "number"),
    "tier": ("tier", "number"),
}
SORT_CHOICES = tuple(name for key in SORTS for name in (key, f"-{key}"))
#: The same choices as a type, for pydantic and Typer (a leading - sorts descending).
SortKey = Literal[
    "created", "-created", "name", "-name", "grid_health", "-grid_health", "tier", "-tier", "updated", "-updated"
]  # fmt: skip
SQLITE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


#: The largest page size and page number taken (their product stays well inside a 64-bit OFFSET).
MAX_ROWS = 1_000_000


#: Each sales stage's real event: the prospects that did it before ``:asof`` (one prospect id per
#: row, possibly repeated). ONE definition, used by the prospect list's ``reached`` filter and
#: counted by the dashboard's funnel (``analytics.totals``). ``new`` has none: a new
#: prospect is one added before ``:asof`` and not contacted by then (:data:`NEW_SQL`).
REACHED_SQL: dict[str, str] = {
    "contacted": "SELECT prospect_id FROM email_activities WHERE sent_at < :asof",
    "replied": "SELECT prospect_id FROM email_activities WHERE replied_at < :asof",
    "scheduled": "SELECT prospect_id FROM call_activities WHERE created_at < :asof",
    "interested": "SELECT prospect_id FROM call_activities WHERE status = 'completed' AND completed_at < :asof",
    "proposal": (
        "SELECT prospect_id FROM outreach_activities WHERE type = 'proposal' AND created_at < :asof"
        " UNION ALL SELECT prospect_id FROM call_activities"
        " WHERE outcome = 'proposal_sent' AND status = 'completed' AND completed_at < :asof"
    ),
    "closed_won": "SELECT prospect_id FROM customers WHERE signed_at < :asof",
}
#: A prospect that existed at ``:asof`` (the funnel's total, and each tier's).
EXISTED_SQL = "prospects.created_at < :asof"
#: The funnel's New: existed at ``:asof`` and not contacted by then.
NEW_SQL = (
    f"{EXISTED_SQL} AND prospects.id NOT IN (SELECT reached.prospect_id FROM ({REACHED_SQL['contacted']}) AS reached)"
)
#: The values of the ``reached`` filter.
REACHED = ("new", *REACHED_SQL)


def reached_condition(stage: str) -> str:
    """The ``reached`` filter's condition on ``prospects`` (``:asof`` bound by the caller)."""
    if stage == "new":
        return NEW_SQL
    return f"prospects.id IN (SELECT reached.prospect_id FROM ({REACHED_SQL[stage]}) AS reached)"


class QueryError(ValueError):
    """A filter or cursor that cannot be used; ``field`` names the culprit."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass
class Filters:
    status: str | None = None
    tier: int | None = None
    trade: str | None = None
    search: str | None = None
    do_not_contact: bool | None = None
    grid_health_min: float | None = None
    grid_health_max: float | None = None
    owner: str | None = None
    #: reached a sales stage (its real event) by ``as_of``; "new": not contacted by then
    reached: str | None = None
    #: an instant (aware): alone, the prospects that existed then; with ``reached``, by then
    as_of: datetime | None = None
    tag: str | None = None


@dataclass
class ListQuery:
    sql: str
    params: dict[str, Any]
    count_sql: str
    count_params: dict[str, Any] = field(default_factory=dict)
    sort: str = "created"

    def counting(self, cap: int | None = None) -> tuple[str, dict[str, Any]]:
        """The count's statement and parameters; with ``cap``, counting stops at ``cap + 1`` (a filtered
        count reads every match; with no filter, count(*) reads only an index anyway)."""
        if cap is None or " WHERE " not in self.count_sql:
            return self.count_sql, dict(self.count_params)
        source = self.count_sql[len("SELECT count(*) FROM ") :]
        return f"SELECT count(*) FROM (SELECT 1 FROM {source} LIMIT :count_cap) AS capped", {
            **self.count_params, "count_cap": cap + 1,
        }  # fmt: skip


def where_clause(filters: Filters, *, dialect: str = "sqlite", probe: bool = False) -> tuple[str, dict[str, Any]]:
    """The filters' condition on ``prospects`` and its parameters. With ``probe`` (SQLite) the tag and
    search filters are written as a test of one row (an index lookup per row), not as the set of every
    match: for a list that walks its sort's index and keeps the rows that match (:func:`build`'s ``walk``)."""
    probe = probe and dialect == "sqlite"
    parts: list[str] = []
    params: dict[str, Any] = {}
    if filters.reached is not None or filters.as_of is not None:
        moment = filters.as_of or datetime(9999, 1, 1, tzinfo=UTC)
        if filters.reached is None:
            parts.append(EXISTED_SQL)
        elif filters.reached in REACHED:
            parts.append(reached_condition(filters.reached))
        else:
            raise QueryError("reached", f"must be one of {', '.join(REACHED)}")
        if dialect == "postgresql":
            parts[-1] = parts[-1].replace(":asof", "CAST(:asof AS TIMESTAMP WITH TIME ZONE)")
        params["asof"] = _cursor_param(moment.astimezone(UTC).replace(tzinfo=None).isoformat(), "time", dialect)
    if filters.status:
        parts.append("sales_status = :status")
        params["status"] = filters.status
    if filters.tier is not None:
        parts.append("tier = :tier")
        params["tier"] = int(filters.tier)
    if filters.trade:
        parts.append("trade = :trade")
        params["trade"] = " ".join(filters.trade.lower().split())
    if filters.do_not_contact is not None:
        # Written out, not bound: the planner then uses the partial index of do-not-contact prospects.
        parts.append("do_not_contact" if filters.do_not_contact else "NOT do_not_contact")
    if filters.grid_health_min is not None:
        parts.append("grid_health >= :gmin")
        params["gmin"] = float(filters.grid_health_min)
    if filters.grid_health_max is not None:
        parts.append("grid_health <= :gmax")
        params["gmax"] = float(filters.grid_health_max)
    if filters.owner:
        parts.append("owner = :owner")
        params["owner"] = filters.owner.strip().lower()
    if filters.tag:
        # The tag's own index (tag, prospect_id) answers it: a count of a tag's prospects reads only them.
        parts.append(_TAG_PROBE if probe else _TAG_LISTED)
        params["tag"] = " ".join(filters.tag.lower().split())
    if filters.search:
        condition, params["q"] = text_match(search_term(filters.search), dialect, probe=probe)
        parts.append(condition)
    return (" WHERE " + " AND ".join(parts)) if parts else "", params


#: PostgreSQL: a prospect's searchable text (its name, contact, email, city, id and phone digits, in
#: lower case, as the text index of migration 0018 holds it), kept in its row by PostgreSQL (a stored
#: generated column, migration 0042) and indexed by pg_trgm: the index narrows the rows down and each
#: is checked against the stored text, not against the expression worked out again.
PG_SEARCH_TEXT = "prospects.search_text"

#: SQLite: the prospects whose indexed text matches ``:q`` (an FTS5 trigram phrase: any substring of
#: three characters or more), and, for shorter terms the trigram index cannot answer, contains it.
_SQLITE_INDEXED = (
    "prospects.id IN (SELECT r.ref_id FROM search_prospects f JOIN search_refs r ON r.entry = f.rowid WHERE {match})"
)


#: SQLite, one prospect at a time: its own entry of the text index (found by its key) holds ``:q``.
#: An FTS5 MATCH asked of one entry costs ~0.1 ms, so the entry's text is searched instead, as the
#: trigram index compares it: case-folded, which for an ASCII term adds to SQLite's ``lower()`` only
#: the two letters that fold into ASCII (the Kelvin sign into k, the long s into s).
_SQLITE_PROBE = (
    "EXISTS (SELECT 1 FROM search_refs r JOIN search_prospects f ON f.rowid = r.entry"
    " WHERE r.kind = 'prospect' AND r.ref_id = prospects.id AND {match})"
)
_SQLITE_FOLDED = "instr(replace(replace(f.body, char(8490), 'k'), char(383), 's'), :q) > 0"
_TAG_LISTED = "prospects.id IN (SELECT prospect_id FROM prospect_tags WHERE tag = :tag)"
_TAG_PROBE = "EXISTS (SELECT 1 FROM prospect_tags t WHERE t.prospect_id = prospects.id AND t.tag = :tag)"


_PHONE_LIKE = re.compile(r"[\d\s\-()+.]+")


def search_term(text: str) -> str:
    """What a typed search looks for in a prospect's searchable text (the list's filter and the global
    search alike): lower case, runs of space as one; a phone as it is written (at least four digits,
    nothing but digits, spaces, dashes, dots, brackets and +) by its digits, as phones are indexed, so
    ``(512) 555-0142`` and ``555-0142`` find ``5125550142``."""
    digits = re.sub(r"\D", "", text)
    if len(digits) >= 4 and _PHONE_LIKE.fullmatch(text.strip()):
        return digits
    return " ".join(text.lower().split())


def text_match(term: str, dialect: str, *, probe: bool = False) -> tuple[str, str]:
    """The condition (and its ``:q`` value) for prospects whose searchable text holds ``term`` (lower
    case), answered by the text index on both databases: the one rule of the list's search filter.
    With ``probe`` (SQLite) it tests each row against its own index entry instead of listing every match."""
    if dialect == "postgresql":
        needle = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return f"{PG_SEARCH_TEXT} LIKE :q ESCAPE '\\'", f"%{needle}%"
    if len(term) < 3:
        return (_SQLITE_PROBE if probe else _SQLITE_INDEXED).format(match="instr(f.body, :q) > 0"), term
    if probe and term.isascii():
        return _SQLITE_PROBE.format(match=_SQLITE_FOLDED), term
    return _SQLITE_INDEXED.format(match="search_prospects MATCH :q"), '"' + term.replace('"', '""') + '"'


#: How many prospects' tags one statement reads (:func:`tags_query`).
TAGS_BATCH = 500


def tags_query(prospect_ids: list[str]) -> tuple[str, dict[str, Any]]:
    """The statement reading the tags of ``prospect_ids`` (at most :data:`TAGS_BATCH`), each prospect's
    sorted: the one way the lists, the API and the CLI read tags."""
    names = [f"tag_of_{index}" for index in range(len(prospect_ids))]
    placeholders = ", ".join(f":{name}" for name in names)
    sql = f"SELECT prospect_id, tag FROM prospect_tags WHERE prospect_id IN ({placeholders}) ORDER BY tag"
    return sql, dict(zip(names, prospect_ids, strict=True))


def read_tags(fetch: Any, prospect_ids: list[str]) -> dict[str, list[str]]:
    """Each prospect's tags, sorted (prospects without tags are left out); ``fetch(sql, params)`` runs a
    statement and returns its rows as mappings or tuples."""
    found: dict[str, list[str]] = {}
    for start in range(0, len(prospect_ids), TAGS_BATCH):
        sql, params = tags_query(prospect_ids[start : start + TAGS_BATCH])
        for row in fetch(sql, params):
            prospect_id, tag = (row["prospect_id"], row["tag"]) if isinstance(row, dict) else row
            found.setdefault(prospect_id, []).append(tag)
    return found


def latest_note(dialect: str) -> str:
    """The latest note's text of each listed prospect (notes are timeline entries: notes.service)."""
    text = "a.details->>'text'" if dialect == "postgresql" else "json_extract(a.details, '$.text')"
    return (f"(SELECT {text} FROM outreach_activities a WHERE a.prospect_id = prospects.id AND a.type = 'note'"
            " AND a.status = 'added' ORDER BY a.created_at DESC, a.id DESC LIMIT 1)")  # fmt: skip


def build(
    filters: Filters,
    *,
    dialect: str,
    columns: str = "*",
    with_notes: bool = False,
    sort: str = "created",
    limit: int | None = 50,
    cursor: str | None = None,
    page: int | None = None,
    peek: bool = False,
    walk: int | None = None,
) -> ListQuery:
    """SELECT for one page of prospects, plus the COUNT of all that match.

    With ``peek`` one row more than ``limit`` is fetched, to tell whether a next page exists.
    With ``walk`` (SQLite) the page is looked for among the first ``walk`` prospects in the sort's
    order only (read from the sort's index, each tested against the filters): when many prospects
    match, their first page is near the start of that order, and reading it beats sorting every match.
    Such a page is right whenever it comes back full (as many rows as asked) and in order; a short one
    says only that the walk ended first, and the caller asks again without ``walk``.
    """
    if sort not in SORT_CHOICES:
        raise QueryError("sort", f"must be one of {', '.join(SORT_CHOICES)}")
    if limit is not None and not 1 <= limit <= MAX_ROWS:
        raise QueryError("limit", "must be at least 1" if limit < 1 else f"must be at most {MAX_ROWS}")
    if page is not None and not 1 <= page <= MAX_ROWS:
        raise QueryError("page", "must be at least 1" if page < 1 else f"must be at most {MAX_ROWS}")
    if cursor and page:
        raise QueryError("cursor", "use either cursor or page, not both")
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    expression, kind = SORTS[key]
    walking = walk is not None and dialect == "sqlite"
    where, params = where_clause(filters, dialect=dialect)
    count_sql = f"SELECT count(*) FROM prospects{where}"
    count_params = dict(params)
    if "search_prospects MATCH :q" in where and not where_clause(replace(filters, search=None), dialect=dialect)[0]:
        # The search alone: each prospect has one entry in the text index, so its matches are counted
        # there, without looking each one up (a third of the time for 100,000 matches).
        count_sql = "SELECT count(*) FROM search_prospects WHERE search_prospects MATCH :q"
    elif filters.tag and not where_clause(replace(filters, tag=None), dialect=dialect)[0]:
        # The tag alone: a tag's rows are one per prospect (their key), of prospects that exist (their
        # foreign key), so they are counted in the tag's index alone.
        count_sql = "SELECT count(*) FROM prospect_tags WHERE tag = :tag"
    if walking:
        where, params = where_clause(filters, dialect=dialect, probe=True)
    conditions = [where[len(" WHERE ") :]] if where else []
    if cursor:
        value, last_id = decode_cursor(cursor, sort)
        op = "<" if descending else ">"
        bound = _bind(":cv", kind, dialect)
        conditions.append(f"({expression} {op} {bound} OR ({expression} = {bound} AND id {op} :cid))")
        params["cv"] = _cursor_param(value, kind, dialect)
        params["cid"] = last_id
    direction = "DESC" if descending else "ASC"
    if with_notes:
        columns = f"{'prospects.*' if columns == '*' else columns}, {latest_note(dialect)} AS notes"
    order = f" ORDER BY {expression} {direction}, id {direction}"
    paging = ""
    if limit is not None:
        paging = " LIMIT :limit"
        params["limit"] = int(limit) + (1 if peek else 0)
        if page:
            paging += " OFFSET :offset"
            params["offset"] = (int(page) - 1) * int(limit)
    if walking and where and limit is not None:
        # The walk: the sort's index read in order (from the cursor's place), at most :walk rows, handed
        # one by one and in that order (SQLite runs a subquery with a LIMIT as a co-routine) to the
        # filters, whose LIMIT stops it at the page's last row. No ORDER BY outside: SQLite would then
        # read all :walk rows to sort them. Named "prospects", as the filters' conditions say.
        start = f" WHERE {conditions.pop()}" if cursor else ""
        params["walk"] = int(walk or 0)
        sql = f"SELECT {columns} FROM (SELECT * FROM prospects{start}{order} LIMIT :walk) AS prospects"
        sql += f" WHERE {' AND '.join(conditions)}{paging}"
        return ListQuery(sql=sql, params=params, count_sql=count_sql, count_params=count_params, sort=sort)
    sql = f"SELECT {columns} FROM prospects"
    if conditions:
        sql += " WHERE " + " AND ".join(conditions)
    sql += order + paging
    return ListQuery(sql=sql, params=params, count_sql=count_sql, count_params=count_params, sort=sort)


#: SQLite: the most prospects a list walks in its sort's order looking for its page (see
#: :func:`walk_length`): 1 to 7 ms per thousand at a million, by the sort and the filters.
WALK_MAX = 10_000
#: Prospects walked at most per one expected to be needed, matches being spread evenly.
WALK_SPARE = 8


def walk_length(fetch: Any, query: ListQuery, total: int, wanted: int, dialect: str) -> int | None:
    """How many prospects to walk at most in the sort's order (:func:`build`'s ``walk``) for the
    ``wanted`` first matches of ``query``'s filters, which ``total`` prospects match (at least: a
    capped count); None for the usual plan. ``fetch(sql, params)`` runs a statement, returns its rows.

    SQLite's planner reads every match of a filter through the filter's index (or lists them all, for
    a search or a tag) and sorts them, even when a tenth of all prospects match and the first page is
    among the first few hundred in the sort's order. The walk stops at the page's last row, so it is
    as long as the matches are sparse there. It is tried when the planner would list or sort every
    match and the matches are common enough for the walk to be shorter than that; if they bunch up
    further on in the sort's order it comes back short after at most :data:`WALK_MAX` rows, and the
    page is read the usual way (a bounded loss). PostgreSQL's planner weighs the LIMIT itself."""
    if dialect != "sqlite" or "WHERE" not in query.count_sql or total < wanted:
        return None  # no filter: the sort's index gives the page at once; too few matches: the page is short
    size = int(fetch("SELECT max(rowid) FROM prospects", {})[0][0] or 0)
    expected = wanted * size // total  # rows walked, matches spread evenly
    if expected > min(WALK_MAX, total):
        return None  # reading the matches and sorting them costs about as much a row, and reads fewer
    plan = " | ".join(str(step[-1]) for step in fetch("EXPLAIN QUERY PLAN " + query.sql, query.params))
    if "TEMP B-TREE FOR ORDER BY" not in plan and "LIST SUBQUERY" not in plan:
        return None  # an index gives the matches in order, without first listing or sorting them all
    return min(WALK_MAX, WALK_SPARE * expected + 100)


def walked_page(query: ListQuery, rows: list[dict[str, Any]]) -> bool:
    """Whether the ``rows`` a walk (:func:`build`'s ``walk``) read are the page: all that were asked,
    in the sort's order (a short page says only that the walk ended first)."""
    if len(rows) < query.params["limit"]:
        return False
    keys = [(sort_value(row, query.sort), row["id"]) for row in rows]  # a walk is SQLite's
    return keys == sorted(keys, reverse=query.sort.startswith("-"))


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _bind(name: str, kind: str, dialect: str) -> str:
    if kind == "time" and dialect == "postgresql":
        return f"CAST({name} AS TIMESTAMP WITH TIME ZONE)"
    return name


def _cursor_param(value: Any, kind: str, dialect: str) -> Any:
    if kind != "time":
        return value
    moment = datetime.fromisoformat(str(value)).replace(tzinfo=UTC)
    if dialect == "postgresql":
        return moment.isoformat()
    return moment.strftime(SQLITE_TIME_FORMAT)


def sort_value(row: dict[str, Any], sort: str, dialect: str = "sqlite") -> Any:
    """The value of ``row`` under ``sort``, as the SQL expression sees it: a name lowered as the
    database's ``lower()`` lowers it (SQLite's: ASCII letters only; a cursor lowered otherwise past a
    name starting with "É" would skip the names after it, or return the same page for ever)."""
    key = sort.lstrip("-")
    if key == "created":
        return _time_text(row["created_at"])
    if key == "updated":
        return _time_text(row["updated_at"])
    if key == "name":
        return str(row["name"]).translate(_ASCII_LOWER) if dialect == "sqlite" else str(row["name"]).lower()
    if key == "grid_health":
        return -1 if row["grid_health"] is None else row["grid_health"]
    return row["tier"]


def _time_text(value: Any) -> str:
    """A stored time as naive-UTC ISO text (SQLite gives text, PostgreSQL a datetime)."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return str(value.isoformat(sep=" ", timespec="microseconds"))
    return str(value)


def encode_cursor(row: dict[str, Any], sort: str, dialect: str = "sqlite") -> str:
    raw = json.dumps([sort, sort_value(row, sort, dialect), row["id"]], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[Any, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        stored_sort, value, last_id = jsonin.loads(base64.urlsafe_b64decode(padded.encode()), max_depth=1)
    except (ValueError, TypeError, binascii.Error):
        raise QueryError("cursor", "is not a cursor this server made") from None
    if stored_sort != sort:
        raise QueryError("cursor", f"was made for sort {stored_sort!r}, not {sort!r}")
    if not isinstance(last_id, str):
        raise QueryError("cursor", "is not a cursor this server made")
    if SORTS[sort.lstrip("-")][1] == "time":
        try:
            datetime.fromisoformat(str(value))
        except ValueError:
            raise QueryError("cursor", "is not a cursor this server made") from None
    return value, last_id
