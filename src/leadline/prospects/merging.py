"""Duplicate prospects: finding them, and merging one into another.

**Finding.** Two prospects are likely duplicates when they share a phone number (its digits, the
last ten: ``(512) 555-0101`` = ``+1 512.555.0101``), a website's host (``https://www.royal.com/about``
= ``royal.com``; hosts many businesses share, such as facebook.com, do not count), a name and a city
(lower case, without spaces or punctuation), or an email address. The keys are SQL expressions
(:mod:`leadline.prospects.dupkeys`) with an index each: the database groups them reading the index
in key order and stops when a page is full, and a prospect's own duplicates are a few index
lookups. Nothing loads every prospect into Python; a page holds at most ``limit`` groups
(200,000 prospects on SQLite: the first page in about 60 ms, one prospect's duplicates in under 10 ms).

**Merging** ``merge(keep, other)`` in the caller's one transaction (all or nothing):

* refused: a prospect with itself; two customers; keeping a non-customer over a customer
  (merge the other way round: the customer record stays where it is);
* every row that points at ``other`` (every column with a foreign key to ``prospects.id``, and
  every ``prospect_id`` or ``*_prospect_id`` column without one: notifications, inbound replies)
  is moved to ``keep``.
  The list is read from ``Base.metadata`` (:func:`references`), so a table added later moves too;
  ``tests/prospects/test_merging.py`` fails when a table pointing at prospects is not covered.
  This is one UPDATE per table, written here rather than through each domain's service (the one
  exception to "a domain's tables through its service"): it only re-points rows, changes nothing
  else in them, and must not need new code when a table is added;
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

from sqlalchemy import Column, TextClause, bindparam, text
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from leadline.activity import service as activity
from leadline.analytics import totals
from leadline.calls import service as calls
from leadline.customers import lookup as customers
from leadline.db import Base, import_all_models
from leadline.emails import service as emails
from leadline.errors import Conflict, Invalid
from leadline.names import camel
from leadline.prospects import dupkeys
from leadline.prospects import service as prospects
from leadline.prospects.models import Prospect
from leadline.prospects.stages import OPEN_STAGES, is_forward
from leadline.sequences import service as sequences_service
from leadline.sequences import stops as sequences

#: Why two prospects look alike, in the order the list shows them.
#: Email last: the address is unique (stored lower-case), so its groups are empty but for data loaded around the
#: service; a page full of the others never reads it.
REASONS: tuple[str, ...] = ("phone", "website", "name_city", "email")
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
    "critical_gaps", "gaps", "top_competitor", "competitor_health", "deal_value", "close_date", "owner",
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


# --- the keys: prospects.dupkeys, indexed ------------------------------------------------------------


def _valid(reason: str, key: str) -> str:
    return dupkeys.VALID[reason].format(k=key)


def _shared(sql: TextClause, params: dict[str, Any], *, used: bool = True) -> TextClause:
    """``sql`` with the shared hosts bound to ``:shared``, when it names them (the website key's rule)."""
    if not used:
        return sql
    params["shared"] = list(SHARED_HOSTS)
    return sql.bindparams(bindparam("shared", expanding=True))


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
    chosen = [reason] if reason else list(REASONS)
    rows: list[tuple[str, str, int]] = []
    skip, wanted = (page - 1) * limit, limit + 1  # one more than a page: is there a next one?
    for name in chosen:
        found = _groups(session, name, limit=wanted - len(rows), offset=skip)
        if found:
            rows += found
            skip = 0
        elif skip:  # this reason's groups all lie on earlier pages
            skip -= _group_count(session, name)
        if len(rows) == wanted:
            break
    more = len(rows) > limit
    rows = rows[:limit]
    members = _members(session, rows)
    groups = [DuplicateGroup(r, k, n, members.get((r, k), [])) for r, k, n in rows]
    return DuplicatePage(items=groups, limit=limit, page=page, next_page=page + 1 if more else None)


def _grouped(reason: str) -> str:
    """The groups of one reason, in key order: read from the key's index in order (SQLite stops
    once the page is full)."""
    key = dupkeys.KEYS[reason]
    return (f"SELECT {key} AS key, count(*) AS n FROM prospects WHERE {key} IS NOT NULL GROUP BY {key} "
            f"HAVING count(*) > 1 AND {_valid(reason, key)}")  # fmt: skip


def _groups(session: Session, reason: str, *, limit: int, offset: int) -> list[tuple[str, str, int]]:
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    sql = text(f"{_grouped(reason)} ORDER BY {dupkeys.KEYS[reason]} LIMIT :limit OFFSET :offset")
    sql = _shared(sql, params, used=reason == "website")
    return [(reason, str(key), int(n)) for key, n in session.execute(sql, params)]


def _group_count(session: Session, reason: str) -> int:
    params: dict[str, Any] = {}
    sql = _shared(text(f"SELECT count(*) FROM ({_grouped(reason)}) AS g"), params, used=reason == "website")
    return int(session.execute(sql, params).scalar_one())


def _members(session: Session, groups: list[tuple[str, str, int]]) -> dict[tuple[str, str], list[Member]]:
    """The prospects of these groups: one indexed lookup per reason."""
    wanted: dict[str, list[str]] = {}
    for reason, key, _ in groups:
        wanted.setdefault(reason, []).append(key)
    pairs: list[tuple[str, str, str]] = []
    for reason, keys in wanted.items():
        sql = text(f"SELECT {dupkeys.KEYS[reason]} AS key, id FROM prospects WHERE {dupkeys.KEYS[reason]} IN :keys")
        rows = session.execute(sql.bindparams(bindparam("keys", expanding=True)), {"keys": keys})
        pairs += [(reason, str(key), str(prospect_id)) for key, prospect_id in rows]
    people = _members_of(session, [prospect_id for _, _, prospect_id in pairs])
    found: dict[tuple[str, str], list[Member]] = {}
    for reason, key, prospect_id in sorted(pairs, key=lambda p: (people[p[2]].created_at, p[2])):
        bucket = found.setdefault((reason, key), [])
        if len(bucket) < MAX_MEMBERS:
            bucket.append(people[prospect_id])
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
    """The prospects that look like ``prospect_id`` (the prospect page's "Possible duplicates"):
    its keys, then one indexed lookup per key that says something."""
    prospects.get(session, prospect_id)
    columns = ", ".join(f"CASE WHEN {_valid(r, dupkeys.KEYS[r])} THEN {dupkeys.KEYS[r]} END AS {r}" for r in REASONS)
    params: dict[str, Any] = {"id": prospect_id}
    sql = _shared(text(f"SELECT {columns} FROM prospects WHERE id = :id"), params)
    mine = session.execute(sql, params).one()._mapping
    reasons: dict[str, list[str]] = {}
    for reason in REASONS:
        if mine[reason] is None:
            continue
        key = dupkeys.KEYS[reason]
        rows = session.execute(
            text(f"SELECT id FROM prospects WHERE {key} = :key AND id <> :id ORDER BY id LIMIT :limit"),
            {"key": mine[reason], "id": prospect_id, "limit": limit},
        )
        for (other_id,) in rows:
            reasons.setdefault(str(other_id), []).append(reason)
    chosen = sorted(reasons)[:limit]
    people = _members_of(session, chosen)
    return [Candidate(people[other_id], reasons[other_id]) for other_id in chosen]


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
            if points or column.name == "prospect_id" or column.name.endswith("_prospect_id"):
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

    in_sequence = sequences_service.active_enrollment(session, keep.id) is not None
    if keep.sales_status not in OPEN_STAGES or keep.do_not_contact or in_sequence:
        sequences.stop_for_prospect(session, other.id, f"merged into {keep.id}", actor=actor)
    session.flush()
    # a tag both carry stays once (the kept prospect's row); the other's tags move below
    session.execute(
        text("DELETE FROM prospect_tags WHERE prospect_id = :other AND tag IN "
             "(SELECT tag FROM prospect_tags WHERE prospect_id = :keep)"),
        {"other": other.id, "keep": keep.id},
    )  # fmt: skip
    # likewise one booking link per sender: the kept prospect's (the other's links name a prospect that goes)
    session.execute(
        text("DELETE FROM booking_links WHERE prospect_id = :other AND sender_email IN "
             "(SELECT sender_email FROM booking_links WHERE prospect_id = :keep)"),
        {"other": other.id, "keep": keep.id},
    )  # fmt: skip

    moved: dict[str, int] = {}
    with totals.changing(session, prospects=(keep.id, other.id)):  # their emails, calls and funnels move
        for column in references():
            table = column.table
            try:
                result = session.execute(
                    sql_update(table).where(column == other.id).values({column.name: keep.id}),
                    execution_options={"synchronize_session": False},
                )
            except IntegrityError:  # a table that allows one row per prospect, and both have one
                raise MergeRefused(
                    f"{keep.id} and {other.id} both have a {table.name} row, and a prospect may have only one; "
                    "remove one of them first", field="other",
                ) from None  # fmt: skip
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
