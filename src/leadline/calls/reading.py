"""Reading calls: one by id, a page of them, today's, and the facts other domains ask about
(a call booked since a moment, one pending, the objections raised)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.orm import Session

from leadline.calls.models import CallActivity
from leadline.calls.schemas import CallRead
from leadline.clock import utc_now
from leadline.db import UTCDateTime, settings_of
from leadline.errors import Invalid, NotFound
from leadline.prospects import service as prospects
from leadline.times import local_day_bounds

#: What a call's state was at ``:asof``: ONE predicate per figure (SQL on ``call_activities``,
#: unaliased), used by the call list's ``status`` filter with an "as of" instant and counted by the
#: dashboard and the weekly report (``analytics.queries.dashboard``). A cancelled or missed call's
#: ``updated_at`` is when that happened (nothing edits it afterwards).
AS_OF_SQL: dict[str, str] = {
    "booked": "created_at < :asof AND NOT (status = 'cancelled' AND updated_at < :asof)",
    "pending": (
        "created_at < :asof AND NOT (status IN ('cancelled', 'no_show') AND updated_at < :asof)"
        " AND NOT (status = 'completed' AND completed_at < :asof)"
    ),
    "completed": "status = 'completed' AND completed_at < :asof",
    "no_show": "status = 'no_show' AND updated_at < :asof",
    "cancelled": "status = 'cancelled' AND updated_at < :asof",
}


class CallNotFound(NotFound):
    pass


def zone_of(session: Session) -> ZoneInfo:
    return settings_of(session).zone


def get(session: Session, call_id: str, *, for_update: bool = False) -> CallActivity:
    query = select(CallActivity).where(CallActivity.id == call_id)
    if for_update:
        query = query.with_for_update()
    call = session.scalar(query)
    if call is None:
        raise CallNotFound(f"no call with id {call_id!r}", field="callId")
    return call


def search(
    session: Session,
    *,
    status: str | None = None,
    today: bool = False,
    prospect_id: str | None = None,
    booked_from: datetime | None = None,
    booked_to: datetime | None = None,
    held_from: datetime | None = None,
    held_to: datetime | None = None,
    as_of: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
    newest_first: bool = False,
) -> tuple[Sequence[CallActivity], int]:
    """Calls by time (earliest first, or latest first), and how many match.

    ``upcoming``: pending and still to come (``overdue``: pending and its time has passed);
    ``booked``: booked and not cancelled. With ``as_of``, ``status`` is the call's state at that
    instant (:data:`AS_OF_SQL`: the dashboard's figures). ``booked_from`` / ``booked_to``: booked
    (created) in [from, to); ``held_from`` / ``held_to``: completed in [from, to)."""
    now = utc_now()
    conditions: list[Any] = []
    for low, high, name in ((booked_from, booked_to, "bookedTo"), (held_from, held_to, "heldTo")):
        if low is not None and high is not None and low >= high:
            raise Invalid(f"must be after {name[:-2]}From", field=name)
    if booked_from is not None:
        conditions.append(CallActivity.created_at >= booked_from)
    if booked_to is not None:
        conditions.append(CallActivity.created_at < booked_to)
    if held_from is not None:
        conditions.append(CallActivity.completed_at >= held_from)
    if held_to is not None:
        conditions.append(CallActivity.completed_at < held_to)
    if as_of is not None:
        if status not in AS_OF_SQL:
            raise Invalid(f"needs a status of {', '.join(AS_OF_SQL)} (the calls' state then)", field="asOf")
        conditions.append(text(AS_OF_SQL[status]).bindparams(bindparam("asof", as_of, type_=UTCDateTime())))
    elif status == "booked":
        conditions.append(CallActivity.status != "cancelled")
    elif status in ("pending", "overdue", "upcoming"):
        conditions.append(CallActivity.status == "scheduled")
        if status == "overdue":
            conditions.append(CallActivity.scheduled_at < now)
        elif status == "upcoming":
            conditions.append(CallActivity.scheduled_at >= now)
    elif status is not None:
        conditions.append(CallActivity.status == status)
    if today:
        start, end = local_day_bounds(now, zone_of(session))
        conditions += [CallActivity.scheduled_at >= start, CallActivity.scheduled_at < end]
    if prospect_id is not None:
        conditions.append(CallActivity.prospect_id == prospect_id)
    total = session.scalar(select(func.count()).select_from(CallActivity).where(*conditions)) or 0
    query = (
        select(CallActivity)
        .where(*conditions)
        .order_by(*((CallActivity.scheduled_at.desc(), CallActivity.id.desc()) if newest_first
                    else (CallActivity.scheduled_at, CallActivity.id)))
        .limit(limit)
        .offset(offset)
    )  # fmt: skip
    return session.scalars(query).all(), int(total)


def due_today(session: Session) -> Sequence[CallActivity]:
    """Pending calls booked before the end of today (local), overdue ones included."""
    end = local_day_bounds(utc_now(), zone_of(session))[1]
    query = (
        select(CallActivity)
        .where(CallActivity.status == "scheduled", CallActivity.scheduled_at < end)
        .order_by(CallActivity.scheduled_at, CallActivity.id)
    )
    return session.scalars(query).all()


def coming_up(session: Session, *, days: int = 7, limit: int = 100) -> Sequence[CallActivity]:
    """Pending calls after today (local) and within ``days`` days, soonest first."""
    end_of_today = local_day_bounds(utc_now(), zone_of(session))[1]
    query = (
        select(CallActivity)
        .where(
            CallActivity.status == "scheduled",
            CallActivity.scheduled_at >= end_of_today,
            CallActivity.scheduled_at < end_of_today + timedelta(days=days),
        )
        .order_by(CallActivity.scheduled_at, CallActivity.id)
        .limit(limit)
    )
    return session.scalars(query).all()


def booked_since(session: Session, prospect_id: str, moment: datetime) -> bool:
    """Was a call booked (or logged) with this prospect since ``moment``, and not cancelled?"""
    found = session.scalar(
        select(func.count()).where(
            CallActivity.prospect_id == prospect_id,
            CallActivity.created_at >= moment,
            CallActivity.status != "cancelled",
        )
    )
    return bool(found)


def has_pending(session: Session, prospect_id: str) -> bool:
    """Is a call with this prospect booked and not yet held?"""
    query = select(CallActivity.id).where(CallActivity.prospect_id == prospect_id, CallActivity.status == "scheduled")
    return session.scalar(query.limit(1)) is not None


def booked_between(session: Session, start: datetime, end: datetime) -> list[tuple[str, str, datetime]]:
    """Booked calls (not held, cancelled or missed) starting in ``[start, end)``: id, prospect, time."""
    rows = session.execute(
        select(CallActivity.id, CallActivity.prospect_id, CallActivity.scheduled_at)
        .where(
            CallActivity.status == "scheduled",
            CallActivity.scheduled_at >= start,
            CallActivity.scheduled_at < end,
        )
        .order_by(CallActivity.scheduled_at)
    ).all()
    return [(call_id, prospect_id, at) for call_id, prospect_id, at in rows if at is not None]


def pending_prospect_ids(session: Session) -> set[str]:
    query = select(CallActivity.prospect_id).where(CallActivity.status == "scheduled").distinct()
    return set(session.scalars(query))


def past_objections(session: Session, prospect_ids: set[str]) -> dict[str, list[str]]:
    """Objections raised on each prospect's logged calls, oldest first, without repeats."""
    found: dict[str, list[str]] = {pid: [] for pid in prospect_ids}
    if not prospect_ids:
        return found
    query = (
        select(CallActivity.prospect_id, CallActivity.objections)
        .where(CallActivity.prospect_id.in_(sorted(prospect_ids)), CallActivity.status == "completed")
        .order_by(CallActivity.completed_at, CallActivity.id)
    )
    for prospect_id, objections in session.execute(query):
        for said in objections or []:
            if said not in found[prospect_id]:
                found[prospect_id].append(said)
    return found


def read(session: Session, calls: Sequence[CallActivity]) -> list[CallRead]:
    """Calls as they go on the wire, with their prospect's name."""
    names = prospects.get_many(session, {c.prospect_id for c in calls})
    out = []
    for call in calls:
        item = CallRead.model_validate(call)
        found = names.get(call.prospect_id)
        item.prospect_name = found.name if found else None
        item.prospect_timezone = found.timezone if found else None
        out.append(item)
    return out
