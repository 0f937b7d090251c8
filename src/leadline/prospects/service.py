"""Every rule about prospects: create, edit, stages, search, counters and marks.

Importing a file is ``prospects.imports`` (reading it: ``prospects.files``).

Services never commit: the caller's unit of work owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from leadline.activity import service as activity
from leadline.activity.models import OutreachActivity
from leadline.auth.lookup import require_user
from leadline.clock import utc_now
from leadline.customers import lookup as customers
from leadline.db import Base, bulk_update
from leadline.errors import Conflict, Invalid, NotFound
from leadline.ids import slugify
from leadline.names import camel
from leadline.notes import service as notes
from leadline.prospects import queries
from leadline.prospects.models import Prospect, ProspectTag
from leadline.prospects.stages import CLOSED_STAGES, STAGES, is_forward
from leadline.sequences.stops import stop_for_prospect as stop_sequences

if TYPE_CHECKING:  # the schemas load where a write or the API's read needs them: a read of prospects builds none
    from leadline.prospects.schemas import ProspectCreate, ProspectRead, ProspectUpdate, StageMove


class ProspectNotFound(NotFound):
    pass


class StageMoveNotAllowed(Conflict):
    """``rule`` says which rule refused the move (``same_stage``, ``needs_deal_won``, ``active_customer``),
    for shells that word it their own way (the board: "To win a deal, use Won on the prospect's page")."""

    def __init__(
        self, message: str, *, field: str | None = None, rule: str = "", subject: str = "", on_page: str | None = None
    ) -> None:
        super().__init__(message, field=field, on_page=on_page)
        self.rule = rule
        self.subject = subject  # the prospect's id, or the customer's


class DuplicateProspect(Conflict):
    pass


# --- reading ---------------------------------------------------------------------------------


def get(session: Session, prospect_id: str, *, for_update: bool = False) -> Prospect:
    query = select(Prospect).where(Prospect.id == prospect_id)
    if for_update:
        query = query.with_for_update()
    prospect = session.scalar(query)
    if prospect is None:
        raise ProspectNotFound(f"no prospect with id {prospect_id!r}", field="prospectId")
    return prospect


def find_by_email(session: Session, email: str) -> Prospect | None:
    return session.scalar(select(Prospect).where(Prospect.email == email.strip().lower()))


def timeline(session: Session, prospect_id: str) -> Sequence[OutreachActivity]:
    get(session, prospect_id)
    return activity.for_prospect(session, prospect_id)


@dataclass
class ProspectPage:
    items: list[Prospect]
    total: int
    limit: int
    next_cursor: str | None
    page: int | None


def search(
    session: Session,
    filters: queries.Filters,
    *,
    sort: str = "created",
    limit: int = 50,
    cursor: str | None = None,
    page: int | None = None,
    count_limit: int | None = None,
) -> ProspectPage:
    """One page of prospects matching ``filters``, with the total count.

    With ``count_limit`` counting stops there (the total is then at most ``count_limit + 1``,
    meaning "more than count_limit"): a filtered count reads every matching row, which a page
    that only says "10,000+" need not pay for at a million prospects.
    """
    options: dict[str, Any] = {"sort": sort, "limit": limit, "cursor": cursor, "page": page, "peek": True}
    query = _build(session, filters, **options)
    count_sql, count_params = query.counting(count_limit)
    total = int(session.execute(text(count_sql), count_params).scalar_one())
    wanted = (page or 1) * limit + 1  # the rows up to this page's end, and one more
    rows: list[Prospect] | None = None
    walk = queries.walk_length(_fetcher(session), query, total, wanted, session.get_bind().dialect.name)
    if walk is not None:
        walked = _build(session, filters, walk=walk, **options)
        rows = list(session.scalars(select(Prospect).from_statement(text(walked.sql).bindparams(**walked.params))))
        if not queries.walked_page(walked, [row.as_dict() for row in rows]):
            rows = None  # the walk ended before the page did: ask the usual way
    if rows is None:
        rows = list(session.scalars(select(Prospect).from_statement(text(query.sql).bindparams(**query.params))))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more and rows and page is None:
        next_cursor = queries.encode_cursor(rows[-1].as_dict(), sort, session.get_bind().dialect.name)
    return ProspectPage(items=rows, total=total, limit=limit, next_cursor=next_cursor, page=page)


def trades(session: Session, *, limit: int = 200) -> list[str]:
    """The trades in use, alphabetically (read from the trade index: cheap at any size)."""
    rows = session.execute(
        text("SELECT DISTINCT trade FROM prospects WHERE trade IS NOT NULL ORDER BY trade LIMIT :limit"),
        {"limit": limit},
    )
    return [str(row[0]) for row in rows]


@dataclass(frozen=True)
class BoardFilter:
    """What the board shows: prospects of this tier, trade, owner and tag (each optional)."""

    tier: int | None = None
    trade: str | None = None
    owner: str | None = None
    tag: str | None = None

    def conditions(self) -> list[Any]:
        found: list[Any] = []
        if self.tier is not None:
            found.append(Prospect.tier == self.tier)
        if self.trade:
            found.append(Prospect.trade == self.trade)
        if self.owner:
            found.append(Prospect.owner.is_(None) if self.owner == "-" else Prospect.owner == self.owner)
        if self.tag:
            tagged = select(ProspectTag.prospect_id).where(ProspectTag.tag == self.tag)
            found.append(Prospect.id.in_(tagged))
        return found


def in_stage(
    session: Session, stage: str, *, limit: int, only: BoardFilter | None = None
) -> tuple[list[Prospect], int]:
    """Up to ``limit`` prospects in ``stage``, tier 1 first, and how many there are (the board).

    Ordered by tier alone, so the ``(sales_status, tier)`` index gives the rows in order without a
    sort: a few milliseconds per stage at half a million prospects, where a tie-break costs a sort."""
    if stage not in STAGES:
        raise Invalid(f"unknown stage {stage!r}; stages are {', '.join(STAGES)}", field="stage")
    where = [Prospect.sales_status == stage, *(only.conditions() if only else [])]
    rows = list(session.scalars(select(Prospect).where(*where).order_by(Prospect.tier).limit(limit)))
    total = session.scalar(select(func.count()).select_from(Prospect).where(*where))
    return rows, int(total or 0)


def stage_values(session: Session, *, only: BoardFilter | None = None) -> dict[str, float]:
    """The sum of deal values per stage, closed stages included (the board's column totals)."""
    rows = session.execute(
        select(Prospect.sales_status, func.coalesce(func.sum(Prospect.deal_value), 0))
        .where(*(only.conditions() if only else []))
        .group_by(Prospect.sales_status)
    )
    return {stage: float(total or 0) for stage, total in rows}


def owner_of(session: Session, prospect_id: str) -> str | None:
    """The prospect's owner (a user's email), or None (no owner, or no such prospect)."""
    return session.scalar(select(Prospect.owner).where(Prospect.id == prospect_id))


def owns_any(session: Session, owner: str) -> bool:
    """Whether this user owns at least one prospect (their Today page shows theirs by default)."""
    return session.scalar(select(Prospect.id).where(Prospect.owner == owner).limit(1)) is not None


def owners(session: Session, *, limit: int = 200) -> list[str]:
    """The owners prospects have, alphabetically."""
    rows = session.execute(
        select(Prospect.owner).where(Prospect.owner.is_not(None)).distinct().order_by(Prospect.owner).limit(limit)
    )
    return [owner for (owner,) in rows if owner]


def export_rows(session: Session, filters: queries.Filters, *, sort: str = "created") -> Iterator[dict[str, Any]]:
    """Every matching prospect as a plain row with its ``tags``, streamed (flat memory on any size)."""
    query = _build(session, filters, sort=sort, limit=None, cursor=None, page=None, with_notes=True)
    result = session.connection().execution_options(stream_results=True, yield_per=1000)
    rows = result.execute(text(query.sql), query.params)
    while batch := rows.fetchmany(queries.TAGS_BATCH):
        records = [dict(row._mapping) for row in batch]
        tags = tags_of(session, [record["id"] for record in records])
        for record in records:
            record["tags"] = tags.get(record["id"], [])
            yield record


def _fetcher(session: Session) -> Any:
    """``fetch(sql, params)`` for :mod:`~leadline.prospects.queries`: a statement's rows, in ``session``."""

    def fetch(sql: str, params: dict[str, Any]) -> Sequence[Any]:
        return session.execute(text(sql), params).all()

    return fetch


def _build(session: Session, filters: queries.Filters, **options: Any) -> queries.ListQuery:
    dialect = session.get_bind().dialect.name
    try:
        return queries.build(filters, dialect=dialect, **options)
    except queries.QueryError as error:
        raise Invalid(error.message, field=error.field) from None


# --- writing ---------------------------------------------------------------------------------


def unique_id(session: Session, name: str, *, taken: set[str] | None = None) -> str:
    """A readable, unused id made from ``name``: royal_plumbing, royal_plumbing_2, ..."""
    base = slugify(name)
    taken = taken or set()
    rows = session.execute(
        text("SELECT id FROM prospects WHERE id = :base OR id LIKE :pattern ESCAPE '\\'"),
        {"base": base, "pattern": base.replace("_", "\\_") + "\\_%"},
    ).scalars()
    used = set(rows) | taken
    if base not in used:
        return base
    number = 2
    while f"{base}_{number}" in used:
        number += 1
    return f"{base}_{number}"


def _check_email_free(session: Session, email: str | None, *, owner_id: str | None) -> None:
    if not email:
        return
    other = find_by_email(session, email)
    if other is not None and other.id != owner_id:
        raise DuplicateProspect(f"{email} already belongs to prospect {other.id!r}", field="email")


def create(session: Session, data: ProspectCreate, *, actor: str, source: str | None = None) -> Prospect:
    if data.id is not None and session.get(Prospect, data.id) is not None:
        raise DuplicateProspect(f"a prospect with id {data.id!r} already exists", field="id")
    if data.sales_status == "closed_won":
        raise StageMoveNotAllowed(
            "a prospect becomes closed_won when its deal is won (leadline deals won), which makes its customer record",
            field="salesStatus",
            on_page="a new prospect cannot start as won: add it, then press Won on its page when the deal is won",
        )
    _check_email_free(session, data.email, owner_id=None)
    if data.owner:
        require_user(session, data.owner)
    now = utc_now()
    values = data.model_dump(exclude={"id", "notes"})
    prospect = Prospect(
        id=data.id or unique_id(session, data.name),
        **values,
        source=source or actor,
        created_at=now,
        updated_at=now,
    )
    session.add(prospect)
    session.flush()
    activity.record(
        session,
        prospect.id,
        "created",
        "created",
        {"name": prospect.name, "source": prospect.source},
        actor=actor,
    )
    if data.notes and data.notes.strip():
        notes.add(session, prospect.id, data.notes, actor=actor)
    return prospect


def update(
    session: Session, prospect_id: str, changes: ProspectUpdate, *, actor: str, seen_version: str | None = None
) -> Prospect:
    """Apply ``changes``. With ``seen_version`` (the ``updated_at`` the editor was shown, ISO format),
    refuse if the prospect changed since: a form that sends every field would silently undo that
    change (a bounce marking it do-not-contact, a colleague's edit)."""
    prospect = get(session, prospect_id, for_update=True)
    if seen_version and prospect.updated_at.isoformat() != seen_version:
        raise Conflict("this prospect changed since you opened the page; reload it to see the changes, then edit again")
    wanted = changes.changes()
    stage = wanted.pop("sales_status", None)
    note = wanted.pop("notes", None)  # a note is added, never overwritten
    for required in ("name", "tier", "status", "do_not_contact"):
        if required in wanted and wanted[required] is None:
            raise Invalid("cannot be empty", field=required)
    if "gaps" in wanted and wanted["gaps"] is None:
        wanted["gaps"] = []
    if "email" in wanted:
        _check_email_free(session, wanted["email"], owner_id=prospect.id)
    if wanted.get("owner") and wanted["owner"] != prospect.owner:  # (a form sends the owner it shows)
        require_user(session, wanted["owner"])
    diff = apply_changes(prospect, wanted)
    if diff:
        activity.record(session, prospect.id, "updated", "updated", {"changes": diff}, actor=actor)
        if "doNotContact" in diff and prospect.do_not_contact:
            stop_sequences(session, prospect.id, "marked do-not-contact by hand", actor=actor)
    if stage is not None and stage != prospect.sales_status:
        move_stage(session, prospect.id, stage, reason=changes.stage_reason or "edited", actor=actor)
    if note and note.strip():
        notes.add(session, prospect.id, note, actor=actor)
    session.flush()
    return prospect


def read(session: Session, items: Sequence[Prospect]) -> list[ProspectRead]:
    """Prospects as the API shows them, each with its latest note's text and its tags."""
    from leadline.prospects.schemas import ProspectRead

    ids = [p.id for p in items]
    latest = notes.latest_texts(session, ids)
    tags = tags_of(session, ids)
    out = []
    for prospect in items:
        shown = ProspectRead.model_validate(prospect)
        shown.notes = latest.get(prospect.id)
        shown.tags = tags.get(prospect.id, [])
        out.append(shown)
    return out


def tags_of(session: Session, prospect_ids: Sequence[str]) -> dict[str, list[str]]:
    """Each prospect's tags, sorted (prospects without tags are left out)."""
    return queries.read_tags(lambda sql, params: session.execute(text(sql), params).all(), list(prospect_ids))


def apply_changes(prospect: Prospect, wanted: dict[str, Any]) -> dict[str, list[Any]]:
    """Set fields; return {field: [old, new]} for those that really changed (JSON-safe)."""
    diff: dict[str, list[Any]] = {}
    for name, value in wanted.items():
        old = getattr(prospect, name)
        if old != value:
            diff[camel(name)] = [_plain(old), _plain(value)]
            setattr(prospect, name, value)
    return diff


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _stage_move(stage: str, reason: str) -> StageMove:
    """A move checked by the one rule of moves (:class:`~leadline.prospects.schemas.StageMove`)."""
    from leadline.prospects.schemas import StageMove

    return StageMove.model_validate({"stage": stage, "reason": reason})


def move_stage(session: Session, prospect_id: str, stage: str, *, reason: str, actor: str) -> Prospect:
    """A move made by a person: any stage, recorded with who and why, impossible ones refused.

    Every caller's move is checked with :class:`~leadline.prospects.schemas.StageMove` (the reason is
    required, one line, at most 500 characters), so the API, the CLI, the pages and the services that
    move a prospect (deals, customers) refuse the same input with the same words."""
    move = _stage_move(stage, reason)
    stage, reason = move.stage, move.reason
    prospect = get(session, prospect_id, for_update=True)
    current = prospect.sales_status
    if stage == current:
        raise StageMoveNotAllowed(f"{prospect.id} is already in stage {stage}", field="stage", rule="same_stage",
                                  subject=prospect.id)  # fmt: skip
    customer = customers.for_prospect(session, prospect.id)
    if stage == "closed_won" and customer is None:
        raise StageMoveNotAllowed(
            f"{prospect.id} has no customer record; win the deal with `leadline deals won --prospect "
            f"{prospect.id} ...`, which makes one",
            field="stage", rule="needs_deal_won", subject=prospect.id,
            on_page="to win a deal, use Won on the prospect's page: it makes the customer record",
        )  # fmt: skip
    if current == "closed_won" and customer is not None and customer.status != "churned":
        raise StageMoveNotAllowed(
            f"{prospect.id} is a {customer.status} customer ({customer.id}); churn the customer first",
            field="stage", rule="active_customer", subject=customer.id,
        )  # fmt: skip
    set_stage(session, prospect, stage, actor=actor, manual=True, reason=reason)
    return prospect


def advance(
    session: Session,
    prospect: Prospect,
    stage: str,
    *,
    actor: str,
    cause: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> bool:
    """An automatic move (an email sent, a reply, a call): forward only. True if it moved."""
    if not is_forward(prospect.sales_status, stage):
        return False
    set_stage(session, prospect, stage, actor=actor, manual=False, cause=cause, at=at)
    return True


def set_stage(
    session: Session,
    prospect: Prospect,
    stage: str,
    *,
    actor: str,
    manual: bool,
    reason: str | None = None,
    cause: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    before = prospect.sales_status
    prospect.sales_status = stage
    if stage == "closed_lost" and reason:
        prospect.lost_reason = reason
    details: dict[str, Any] = {"from": before, "to": stage, "manual": manual}
    if reason:
        details["reason"] = reason
    if cause:
        details["cause"] = cause
    activity.record(session, prospect.id, "stage_change", stage, details, actor=actor, at=at)
    if stage in CLOSED_STAGES:
        stop_sequences(session, prospect.id, f"closed ({stage})", actor=actor)


def close_won(
    session: Session,
    prospect: Prospect,
    *,
    close_date: datetime,
    deal_value: float,
    reason: str,
    actor: str,
) -> None:
    """The deal-won stage move (deals service): the customer record must exist already."""
    move_stage(session, prospect.id, "closed_won", reason=reason, actor=actor)
    prospect.close_date = close_date
    prospect.deal_value = deal_value


def close_lost(
    session: Session,
    prospect: Prospect,
    *,
    reason: str,
    actor: str,
    manual: bool = True,
    cause: dict[str, Any] | None = None,
) -> None:
    """Lose the deal: closed_lost with the reason, from any open stage (`deals lost`, a call)."""
    reason = _stage_move("closed_lost", reason).reason
    if prospect.sales_status == "closed_won":
        raise StageMoveNotAllowed(
            f"{prospect.id} is closed_won (a customer); churn the customer instead", field="prospectId"
        )
    if prospect.sales_status == "closed_lost":
        raise StageMoveNotAllowed(f"{prospect.id} is already closed_lost", field="prospectId")
    set_stage(session, prospect, "closed_lost", actor=actor, manual=manual, reason=reason, cause=cause)


def reopen(session: Session, prospect: Prospect, *, stage: str, reason: str, actor: str) -> None:
    """Reopen a lost deal: back to an open stage; the lost reason stays in the timeline. The stage
    and the reason follow the stage-move rule (:class:`~leadline.prospects.schemas.StageMove`)."""
    move = _stage_move(stage, reason)
    stage, reason = move.stage, move.reason
    if prospect.sales_status != "closed_lost":
        raise StageMoveNotAllowed(
            f"{prospect.id} is {prospect.sales_status}; only a closed_lost deal can be reopened",
            field="prospectId",
        )
    if stage in CLOSED_STAGES or stage not in STAGES:
        raise Invalid(f"reopen to an open stage, not {stage!r}", field="stage")
    set_stage(session, prospect, stage, actor=actor, manual=True, reason=reason)
    prospect.lost_reason = None


def record_call_stats(
    session: Session,
    prospect: Prospect,
    *,
    scheduled: int,
    completed: int,
    next_follow_up_at: datetime | None,
    last_contact_at: datetime | None,
) -> None:
    """Store the call counters recounted by the calls service; last contact never moves back."""
    prospect.calls_scheduled_count = scheduled
    prospect.calls_completed_count = completed
    set_next_follow_up(prospect, next_follow_up_at)
    if last_contact_at is not None:
        touch_contact(prospect, last_contact_at)


# --- counters: the prospects domain owns them; other domains hand in what they counted ----------


def touch_contact(prospect: Prospect, at: datetime) -> None:
    """Contact at ``at`` (an email sent, a reply, a call held): lastContactAt only moves forward,
    so an older event arriving late never moves it back."""
    if prospect.last_contact_at is None or prospect.last_contact_at < at:
        prospect.last_contact_at = at


def set_next_follow_up(prospect: Prospect, at: datetime | None) -> None:
    """The earliest booked call or open task (recounted by calls and tasks), or none."""
    prospect.next_follow_up_at = at


def set_email_counts(session: Session, counts: dict[str, tuple[int, int]]) -> None:
    """Store emailsSentCount and emailsOpenedCount, recounted by the emails service from its rows
    ({prospect id: (sent, opened)}): one statement for many prospects, touching only those
    whose counters change."""
    if not counts:
        return
    rows = [
        {"id": pid, "emails_sent_count": sent, "emails_opened_count": opened}
        for pid, (sent, opened) in sorted(counts.items())
    ]
    bulk_update(
        session, Base.metadata.tables["prospects"], rows, only_changed=("emails_sent_count", "emails_opened_count")
    )
    session.expire_all()


def get_many(session: Session, ids: set[str] | list[str]) -> dict[str, Prospect]:
    """Prospects by id (missing ids are left out)."""
    wanted = sorted(set(ids))
    found: dict[str, Prospect] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update({p.id: p for p in session.scalars(select(Prospect).where(Prospect.id.in_(chunk)))})
    return found


def follow_ups_due(session: Session, *, before: datetime, owner: str | None = None, limit: int = 200) -> list[Prospect]:
    """Open prospects whose next follow-up date has passed, earliest first (``owner``: of this user's)."""
    query = (
        select(Prospect)
        .where(
            Prospect.next_follow_up_at.is_not(None),
            Prospect.next_follow_up_at < before,
            Prospect.sales_status.not_in(CLOSED_STAGES),
        )
        .order_by(Prospect.next_follow_up_at, Prospect.id)
        .limit(limit)
    )
    if owner is not None:
        query = query.where(Prospect.owner == owner)
    return list(session.scalars(query))


def set_do_not_contact(session: Session, prospect: Prospect, reason: str, *, actor: str) -> bool:
    """Mark a prospect do-not-contact (a hard bounce, spam report, unsubscribe). True if newly marked."""
    if prospect.do_not_contact:
        return False
    prospect.do_not_contact = True
    prospect.do_not_contact_reason = reason
    activity.record(session, prospect.id, "do_not_contact", "set", {"reason": reason}, actor=actor)
    stop_sequences(session, prospect.id, f"do-not-contact ({reason})", actor=actor)
    return True


def restate_do_not_contact(prospect: Prospect, was: str, reason: str) -> None:
    """The cause of a do-not-contact mark turned out to be another (SendGrid's earliest event
    wins): a mark made for ``was`` now says ``reason``; a mark made for anything else stays."""
    if prospect.do_not_contact and prospect.do_not_contact_reason == was:
        prospect.do_not_contact_reason = reason


def lift_do_not_contact(session: Session, prospect: Prospect, was: str, *, why: str, actor: str) -> bool:
    """Lift a do-not-contact mark made for ``was`` (the address opted back in); a mark made for
    another reason, a person's one included, stays. True if lifted."""
    if not prospect.do_not_contact or prospect.do_not_contact_reason != was:
        return False
    prospect.do_not_contact = False
    prospect.do_not_contact_reason = None
    activity.record(session, prospect.id, "do_not_contact", "lifted", {"reason": why}, actor=actor)
    return True


def with_email(session: Session, address: str) -> list[Prospect]:
    """The prospects whose email is ``address`` (already normalised)."""
    return list(session.scalars(select(Prospect).where(Prospect.email == address)))
