"""Duplicate prospects: finding them, and merging one into another.

**Finding.** Two prospects are likely duplicates when they share an email address, a phone number
(its digits, the last ten: ``(512) 555-0101`` = ``+1 512.555.0101``), a website's host
(``https://www.royal.com/about`` = ``royal.com``; shared hosts such as facebook.com do not count),
or a name and a city (lower case, without spaces or punctuation: ``Royal Plumbing, Co.`` in
``Austin`` = ``royal plumbing co`` in ``austin``). The keys are computed by the database in one
statement (:func:`_keys_sql`, the same SQL on SQLite and PostgreSQL) and grouped there: nothing
loads every prospect into Python, and a page holds at most ``limit`` groups.

**Merging** ``merge(keep, other)`` in the caller's one transaction (all or nothing):

* refused: a prospect with itself; two customers; keeping a non-customer over a customer
  (merge the other way round: the customer record stays where it is);
* every row that points at ``other`` (every column with a foreign key to ``prospects.id``, and
  every ``prospect_id`` column without one: notifications, inbound replies) is moved to ``keep``.
  The list is read from ``Base.metadata`` (:func:`references`), so a table added later moves too;
  ``tests/prospects/test_merging.py`` fails when a table pointing at prospects is not covered;
* ``other``'s active sequences are stopped first when ``keep`` is in a sequence, closed or
  do-not-contact (a prospect is in one sequence at a time);
* ``other`` is **deleted** (no redirect: its old URL answers 404). The merge entry on ``keep``'s
  timeline keeps every field ``other`` had, under ``details.other``, so nothing is lost;
* ``keep``'s empty fields are filled from ``other`` (:data:`FILLED`; a value is never overwritten);
  ``other``'s do-not-contact mark carries over; ``keep`` moves forward to ``other``'s open stage
  when that is further (a stage change caused by the merge, on the timeline);
* the counters are recounted from the moved rows (emails sent/opened, calls scheduled/completed,
  next follow-up) and the last contact is the later of the two;
* one ``merged`` entry on ``keep``'s timeline says what was merged from whom (and what moved).

A merge is one short write transaction (a handful of UPDATE statements), as bulk writes must be.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Column, bindparam, text
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from leadline.activity import service as activity
from leadline.calls import service as calls
from leadline.customers import lookup as customers
from leadline.db import Base, import_all_models
from leadline.emails import service as emails
from leadline.errors import Conflict, Invalid
from leadline.names import camel
from leadline.prospects import service as prospects
from leadline.prospects.models import Prospect
from leadline.prospects.stages import OPEN_STAGES, is_forward
from leadline.sequences import stops as sequences

#: Why two prospects look alike, in the order the list shows them.
REASONS: tuple[str, ...] = ("email", "phone", "website", "name_city")
REASON_LABELS = {"email": "same email", "phone": "same phone", "website": "same website",
                 "name_city": "same name and city"}  # fmt: skip

#: Hosts many businesses share: the same one says nothing about being the same business.
SHARED_HOSTS: tuple[str, ...] = (
    "facebook.com", "m.facebook.com", "business.facebook.com", "instagram.com", "yelp.com", "m.yelp.com",
    "google.com", "maps.google.com", "sites.google.com", "business.site", "g.page", "linktr.ee", "nextdoor.com",
    "angi.com", "homeadvisor.com", "thumbtack.com", "bbb.org", "linkedin.com", "twitter.com", "x.com",
)  # fmt: skip

#: The fields of ``keep`` filled from ``other`` when empty (None, "" or an empty list).
FILLED: tuple[str, ...] = (
    "trade", "contact_name", "email", "phone", "website", "city", "state", "timezone", "grid_health",
    "critical_gaps", "gaps", "top_competitor", "competitor_health", "deal_value", "close_date", "owner", "notes",
    "source",
)  # fmt: skip
#: The fields never copied, and why (tests check every column is in one of the two lists).
NOT_FILLED: dict[str, str] = {
    "id": "the kept prospect keeps its id",
    "name": "never empty",
    "tier": "never empty (defaults to 3)",
    "status": "never empty (research status)",
    "sales_status": "moved forward by the merge's stage rule, not copied",
    "lost_reason": "belongs to the kept prospect's own stage",
    "do_not_contact": "carried over by the do-not-contact rule",
    "do_not_contact_reason": "carried over with the mark",
    "last_contact_at": "the later of the two",
    "next_follow_up_at": "recounted",
    "emails_sent_count": "recounted",
    "emails_opened_count": "recounted",
    "calls_scheduled_count": "recounted",
    "calls_completed_count": "recounted",
    "last_import_id": "the kept prospect's own import",
    "created_at": "the kept prospect's",
    "updated_at": "set by the change",
}

MAX_GROUPS = 200
MAX_MEMBERS = 50


class MergeRefused(Conflict):
    pass


# --- the keys, computed by the database ----------------------------------------------------------


def _strip(expression: str, characters: str) -> str:
    for character in characters:
        quoted = character.replace("'", "''")
        expression = f"replace({expression}, '{quoted}', '')"
    return expression


def _keys_sql(dialect: str) -> str:
    """One row per prospect: id and its four keys (NULL when it has no such key). The same
    rule on both databases; only the name of "position of a substring" differs."""
    position = "instr({0}, '/')" if dialect == "sqlite" else "strpos({0}, '/')"
    digits = _strip("coalesce(phone, '')", " -().+/")
    name = _strip("lower(trim(name))", " .,'-&!\"")
    city = _strip("lower(trim(coalesce(city, '')))", " .,'-")
    cut = position.format("host")
    return f"""
        SELECT id,
          CASE WHEN trim(coalesce(email, '')) <> '' THEN lower(trim(email)) END AS email_key,
          CASE WHEN length(digits) >= 7 THEN
            CASE WHEN length(digits) > 10 THEN substr(digits, length(digits) - 9) ELSE digits END END AS phone_key,
          CASE WHEN coalesce(host, '') <> '' THEN
            CASE WHEN {cut} > 0 THEN substr(host, 1, {cut} - 1) ELSE host END END AS domain_key,
          CASE WHEN nm <> '' AND ct <> '' THEN nm || '|' || ct END AS name_key
        FROM (
          SELECT id, email, digits, nm, ct,
            CASE WHEN bare LIKE 'www.%' THEN substr(bare, 5) ELSE bare END AS host
          FROM (
            SELECT id, email, {digits} AS digits, {name} AS nm, {city} AS ct,
              CASE WHEN site LIKE 'https://%' THEN substr(site, 9)
                   WHEN site LIKE 'http://%' THEN substr(site, 8) ELSE site END AS bare
            FROM (SELECT id, email, phone, name, city, lower(trim(website)) AS site FROM prospects) AS s1
          ) AS s2
        ) AS s3"""


_KEY_COLUMN = {"email": "email_key", "phone": "phone_key", "website": "domain_key", "name_city": "name_key"}


def _key_filter(reason: str) -> str:
    column = _KEY_COLUMN[reason]
    if reason == "website":
        return f"{column} IS NOT NULL AND {column} NOT IN :shared"
    return f"{column} IS NOT NULL"


# --- finding -------------------------------------------------------------------------------------


@dataclass
class Member:
    id: str
    name: str
    email: str | None
    phone: str | None
    website: str | None
    city: str | None
    sales_status: str
    created_at: datetime
    customer: bool


@dataclass
class DuplicateGroup:
    reason: str
    key: str
    count: int
    prospects: list[Member]

    @property
    def label(self) -> str:
        return REASON_LABELS[self.reason]

    @property
    def keep_id(self) -> str | None:
        """The one to keep, suggested: the customer if one is (a customer is never merged away),
        else the oldest."""
        chosen = next((m for m in self.prospects if m.customer), self.prospects[0] if self.prospects else None)
        return chosen.id if chosen else None


@dataclass
class DuplicatePage:
    items: list[DuplicateGroup]
    limit: int
    page: int
    next_page: int | None


def _check_reason(reason: str | None) -> None:
    if reason is not None and reason not in REASONS:
        raise Invalid(f"unknown reason {reason!r}; reasons are {', '.join(REASONS)}", field="reason")


def duplicates(session: Session, *, reason: str | None = None, limit: int = 50, page: int = 1) -> DuplicatePage:
    """One page of groups of likely duplicates (by reason, then key), each with its prospects,
    oldest first (at most :data:`MAX_MEMBERS`; ``count`` says how many there are)."""
    _check_reason(reason)
    if not 1 <= limit <= MAX_GROUPS:
        raise Invalid(f"must be between 1 and {MAX_GROUPS}", field="limit")
    if page < 1:
        raise Invalid("must be 1 or more", field="page")
    dialect = session.get_bind().dialect.name
    chosen = [reason] if reason else list(REASONS)
    grouped = " UNION ALL ".join(
        f"SELECT '{r}' AS reason, {_KEY_COLUMN[r]} AS key, count(*) AS n FROM keys "
        f"WHERE {_key_filter(r)} GROUP BY {_KEY_COLUMN[r]} HAVING count(*) > 1"
        for r in chosen
    )
    sql = text(
        f"WITH keys AS ({_keys_sql(dialect)}) SELECT reason, key, n FROM ({grouped}) AS g "
        "ORDER BY reason, key LIMIT :limit OFFSET :offset"
    )
    params: dict[str, Any] = {"limit": limit + 1, "offset": (page - 1) * limit}
    if "website" in chosen:
        sql = sql.bindparams(bindparam("shared", expanding=True))
        params["shared"] = list(SHARED_HOSTS)
    rows = [(str(r), str(k), int(n)) for r, k, n in session.execute(sql, params)]
    more = len(rows) > limit
    rows = rows[:limit]
    members = _members(session, dialect, rows)
    groups = [DuplicateGroup(r, k, n, members.get((r, k), [])) for r, k, n in rows]
    return DuplicatePage(items=groups, limit=limit, page=page, next_page=page + 1 if more else None)


def _members(session: Session, dialect: str, groups: list[tuple[str, str, int]]) -> dict[tuple[str, str], list[Member]]:
    """The prospects of these groups, in one statement."""
    wanted: dict[str, list[str]] = {}
    for reason, key, _ in groups:
        wanted.setdefault(reason, []).append(key)
    if not wanted:
        return {}
    conditions = " OR ".join(f"{_KEY_COLUMN[r]} IN :keys_{r}" for r in wanted)
    sql = text(
        f"WITH keys AS ({_keys_sql(dialect)}) SELECT id, email_key, phone_key, domain_key, name_key FROM keys "
        f"WHERE {conditions}"
    ).bindparams(*(bindparam(f"keys_{r}", expanding=True) for r in wanted))
    rows = [row._mapping for row in session.execute(sql, {f"keys_{r}": keys for r, keys in wanted.items()})]
    people = _members_of(session, [row["id"] for row in rows])
    found: dict[tuple[str, str], list[Member]] = {}
    for row in sorted(rows, key=lambda row: (people[row["id"]].created_at, row["id"])):
        for reason in wanted:
            key = row[_KEY_COLUMN[reason]]
            if key in wanted[reason]:
                bucket = found.setdefault((reason, key), [])
                if len(bucket) < MAX_MEMBERS:
                    bucket.append(people[row["id"]])
    return found


def _members_of(session: Session, ids: list[str]) -> dict[str, Member]:
    """These prospects as list members (two statements per 500, whatever their number)."""
    found = prospects.get_many(session, ids)
    clients: set[str] = set()
    wanted = sorted(found)
    for start in range(0, len(wanted), 500):
        clients |= customers.prospects_with_customer(session, wanted[start : start + 500])
    return {p.id: _member(p, p.id in clients) for p in found.values()}


def _member(p: Prospect, customer: bool) -> Member:
    return Member(
        id=p.id, name=p.name, email=p.email, phone=p.phone, website=p.website, city=p.city,
        sales_status=p.sales_status, created_at=p.created_at, customer=customer,
    )  # fmt: skip


@dataclass
class Candidate:
    prospect: Member
    reasons: list[str]


def candidates(session: Session, prospect_id: str, *, limit: int = 10) -> list[Candidate]:
    """The prospects that look like ``prospect_id`` (the prospect page's "Possible duplicates")."""
    prospects.get(session, prospect_id)
    dialect = session.get_bind().dialect.name
    same = {r: f"o.{_KEY_COLUMN[r]} = me.{_KEY_COLUMN[r]}" for r in REASONS}
    same["website"] += " AND me.domain_key NOT IN :shared"
    flags = ", ".join(f"CASE WHEN {condition} THEN 1 ELSE 0 END AS is_{r}" for r, condition in same.items())
    sql = text(
        f"WITH keys AS ({_keys_sql(dialect)}) SELECT o.id, {flags} FROM keys o JOIN keys me ON me.id = :id "
        f"WHERE o.id <> :id AND ({' OR '.join(f'({c})' for c in same.values())}) ORDER BY o.id LIMIT :limit"
    ).bindparams(bindparam("shared", expanding=True))
    rows = list(session.execute(sql, {"id": prospect_id, "limit": limit, "shared": list(SHARED_HOSTS)}))
    people = _members_of(session, [row[0] for row in rows])
    return [Candidate(people[row[0]], [r for r in REASONS if row._mapping[f"is_{r}"]]) for row in rows]


# --- merging -------------------------------------------------------------------------------------


def references() -> list[Column[Any]]:
    """Every column that holds a prospect's id: a foreign key to ``prospects.id``, or a column named
    ``prospect_id`` without one. Read from the metadata, so a table added later is included."""
    import_all_models()
    found = []
    for table in Base.metadata.sorted_tables:
        if table.name == "prospects":
            continue
        for column in table.columns:
            points = any(fk.column.table.name == "prospects" for fk in column.foreign_keys)
            if points or column.name == "prospect_id":
                found.append(column)
    return found


@dataclass
class MergeResult:
    prospect: Prospect
    merged_from: str
    moved: dict[str, int] = field(default_factory=dict)
    filled: list[str] = field(default_factory=list)
    stage: list[str] | None = None


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def merge(session: Session, keep_id: str, other_id: str, *, actor: str) -> MergeResult:
    """Merge ``other_id`` into ``keep_id`` (see the module's description). Never commits."""
    if keep_id == other_id:
        raise Invalid(f"cannot merge {keep_id} with itself; give two different prospects", field="other")
    for prospect_id in sorted((keep_id, other_id)):  # both locked, always in the same order
        try:
            prospects.get(session, prospect_id, for_update=True)
        except prospects.ProspectNotFound as missing:
            field_name = "other" if prospect_id == other_id else "prospectId"
            raise prospects.ProspectNotFound(missing.message, field=field_name) from None
    keep, other = prospects.get(session, keep_id), prospects.get(session, other_id)
    kept_customer = customers.for_prospect(session, keep.id)
    other_customer = customers.for_prospect(session, other.id)
    if kept_customer is not None and other_customer is not None:
        raise MergeRefused(
            f"both are customers ({keep.id}: {kept_customer.id}, {other.id}: {other_customer.id}); "
            "customers are never merged", field="other",
        )  # fmt: skip
    if other_customer is not None:
        raise MergeRefused(
            f"{other.id} is a customer ({other_customer.id}); keep the customer instead: merge {other.id} {keep.id}",
            field="other",
        )
    snapshot = {camel(k): _plain(v) for k, v in other.as_dict().items()}
    before = {name: getattr(other, name) for name in (*FILLED, "do_not_contact", "do_not_contact_reason",
                                                      "sales_status", "last_contact_at", "name")}  # fmt: skip

    if keep.sales_status not in OPEN_STAGES or keep.do_not_contact or _in_sequence(session, keep.id):
        sequences.stop_for_prospect(session, other.id, f"merged into {keep.id}", actor=actor)
    session.flush()

    moved: dict[str, int] = {}
    for column in references():
        table = column.table
        result = session.execute(
            sql_update(table).where(column == other.id).values({column.name: keep.id}),
            execution_options={"synchronize_session": False},
        )
        count = int(getattr(result, "rowcount", 0) or 0)
        if count:
            moved[table.name] = moved.get(table.name, 0) + count
    session.expire_all()
    other = prospects.get(session, other_id)
    session.delete(other)
    session.flush()  # the other's email is free before it is copied

    keep = prospects.get(session, keep_id, for_update=True)
    wanted = {name: before[name] for name in FILLED if _empty(getattr(keep, name)) and not _empty(before[name])}
    diff = prospects.apply_changes(keep, wanted)
    if before["last_contact_at"] is not None:
        prospects.touch_contact(keep, before["last_contact_at"])
    session.flush()
    emails.recount(session, keep.id)
    keep = prospects.get(session, keep_id, for_update=True)
    calls.recount(session, keep)

    details: dict[str, Any] = {
        "from": other_id, "fromName": before["name"], "moved": moved, "filled": sorted(diff), "other": snapshot,
    }  # fmt: skip
    stage = None
    if before["sales_status"] in OPEN_STAGES and is_forward(keep.sales_status, before["sales_status"]):
        stage = [keep.sales_status, before["sales_status"]]
        details["stage"] = stage
    activity.record(session, keep.id, "merged", "merged", details, actor=actor)
    if stage is not None:
        prospects.advance(session, keep, stage[1], actor=actor, cause={"mergedFrom": other_id})
    if before["do_not_contact"] and not keep.do_not_contact:
        reason = before["do_not_contact_reason"] or "do not contact"
        prospects.set_do_not_contact(session, keep, f"{reason} (merged from {other_id})"[:200], actor=actor)
    session.flush()
    return MergeResult(prospect=keep, merged_from=other_id, moved=moved, filled=sorted(diff), stage=stage)


def _in_sequence(session: Session, prospect_id: str) -> bool:
    row = session.execute(
        text("SELECT 1 FROM sequence_enrollments WHERE prospect_id = :id AND status = 'active' LIMIT 1"),
        {"id": prospect_id},
    ).first()
    return row is not None
