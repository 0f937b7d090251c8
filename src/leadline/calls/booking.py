"""Booking calls: book, reschedule, cancel, no-show, and the prospect's call counters
recounted from the call rows after every change (never +1)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadline.activity import service as activity
from leadline.calls.models import CallActivity
from leadline.calls.reading import get, zone_of
from leadline.calls.schemas import CallBook, Reschedule
from leadline.clock import utc_now
from leadline.errors import Conflict, Invalid
from leadline.fields import clean_text, require_one_line
from leadline.ids import new_id
from leadline.notify import service as notify
from leadline.prospects import service as prospects
from leadline.sequences import stops as sequences
from leadline.tasks import service as tasks
from leadline.times import iso, local_text, to_utc

if TYPE_CHECKING:
    from leadline.prospects.models import Prospect
    from leadline.tasks.models import Task


class CallStateConflict(Conflict):
    pass


def person(prospect: Prospect) -> str:
    return f"{prospect.contact_name} ({prospect.name})" if prospect.contact_name else prospect.name


def locked(session: Session, call_id: str) -> tuple[CallActivity, Prospect]:
    """The call and its prospect, locked prospect first (the order every writer uses)."""
    call = get(session, call_id)
    prospect = prospects.get(session, call.prospect_id, for_update=True)
    return get(session, call_id, for_update=True), prospect


def recount(session: Session, prospect: Prospect) -> None:
    """Recompute the prospect's call counters and follow-up date from the rows (never +1)."""
    by_status = dict(
        session.execute(
            select(CallActivity.status, func.count())
            .where(CallActivity.prospect_id == prospect.id)
            .group_by(CallActivity.status)
        ).all()
    )
    scheduled = sum(int(n) for status, n in by_status.items() if status != "cancelled")
    completed = int(by_status.get("completed", 0))
    last_call = session.scalar(
        select(func.max(CallActivity.completed_at)).where(
            CallActivity.prospect_id == prospect.id, CallActivity.status == "completed"
        )
    )
    prospects.record_call_stats(
        session,
        prospect,
        scheduled=scheduled,
        completed=completed,
        next_follow_up_at=tasks.next_follow_up(session, prospect.id),
        last_contact_at=last_call,
    )


def _future(session: Session, value: datetime, *, field: str) -> datetime:
    moment = to_utc(value, zone_of(session), field=field)
    if moment <= utc_now():
        raise Invalid(
            f"{local_text(moment, zone_of(session))} is in the past; a call is booked for a time to come", field=field
        )
    return moment


def book(session: Session, data: CallBook, *, actor: str) -> CallActivity:
    """Book a call: pending, the prospect moves to scheduled, its follow-up date is the call."""
    prospect = prospects.get(session, data.prospect_id, for_update=True)
    at = _future(session, data.scheduled_at, field="scheduledAt")
    now = utc_now()
    details: dict[str, Any] = {"scheduledAt": iso(at)}
    if data.notes:
        details["notes"] = data.notes
    entry = activity.record(session, prospect.id, "call", "scheduled", details, actor=actor)
    session.flush()
    call = CallActivity(
        id=new_id("call"),
        prospect_id=prospect.id,
        outreach_activity_id=entry.id,
        scheduled_at=at,
        status="scheduled",
        outcome="pending",
        notes=data.notes,
        objections=[],
        objection_categories=[],
        ics_sequence=0,
        created_at=now,
        updated_at=now,
    )
    session.add(call)
    session.flush()
    entry.details = {"callId": call.id, **details}
    prospects.advance(session, prospect, "scheduled", actor=actor, cause={"callId": call.id})
    recount(session, prospect)
    sequences.stop_for_prospect(session, prospect.id, "call booked", actor=actor)
    notify.raise_event(
        session, "call_booked", f"call_booked:{call.id}", f"Call booked: {person(prospect)}",
        body=f"{local_text(at, zone_of(session))}" + (f"\n{data.notes}" if data.notes else ""), prospect_id=prospect.id,
        payload={"callId": call.id, "scheduledAt": iso(at)},
    )  # fmt: skip
    return call


def require_state(call: CallActivity, *states: str, doing: str) -> None:
    if call.status not in states:
        raise CallStateConflict(
            f"call {call.id} is {call.status.replace('_', '-')}; only a "
            f"{' or '.join(s.replace('scheduled', 'booked').replace('_', '-') for s in states)} "
            f"call can be {doing}",
            field="callId",
        )


def reschedule(session: Session, call_id: str, data: Reschedule, *, actor: str) -> CallActivity:
    """Move a booked (or missed) call to a new time: same calendar event, next SEQUENCE."""
    call, prospect = locked(session, call_id)
    require_state(call, "scheduled", "no_show", doing="rescheduled")
    at = _future(session, data.scheduled_at, field="scheduledAt")
    if call.status == "scheduled" and at == call.scheduled_at:
        raise Invalid("is the time the call is booked for already", field="scheduledAt")
    before, was = call.scheduled_at, call.status
    call.scheduled_at = at
    call.status = "scheduled"
    call.ics_sequence += 1
    call.updated_at = utc_now()
    details: dict[str, Any] = {"callId": call.id, "from": iso(before), "scheduledAt": iso(at)}
    if was == "no_show":
        details["afterNoShow"] = True
    if data.reason:
        details["reason"] = data.reason
    activity.record(session, prospect.id, "call", "rescheduled", details, actor=actor)
    recount(session, prospect)
    return call


def cancel(session: Session, call_id: str, *, reason: str | None, actor: str) -> CallActivity:
    if reason is not None:
        require_one_line(reason, "reason")
    call, prospect = locked(session, call_id)
    require_state(call, "scheduled", doing="cancelled")
    call.status = "cancelled"
    call.cancel_reason = reason
    call.ics_sequence += 1
    call.updated_at = utc_now()
    details: dict[str, Any] = {"callId": call.id, "scheduledAt": iso(call.scheduled_at)}
    if reason:
        details["reason"] = reason
    activity.record(session, prospect.id, "call", "cancelled", details, actor=actor)
    recount(session, prospect)
    return call


def no_show(session: Session, call_id: str, *, notes: str | None, actor: str) -> tuple[CallActivity, Task]:
    """The prospect missed the call: recorded, and a task to reschedule it, due now."""
    notes = clean_text(notes) if notes is not None else None
    call, prospect = locked(session, call_id)
    require_state(call, "scheduled", doing="marked no-show")
    now = utc_now()
    if call.scheduled_at is not None and call.scheduled_at > now:
        raise CallStateConflict(
            f"call {call.id} is booked for {local_text(call.scheduled_at, zone_of(session))}, still to come",
            field="callId",
        )
    call.status = "no_show"
    call.ics_sequence += 1
    call.updated_at = now
    if notes:
        call.notes = f"{call.notes}\n{notes}" if call.notes else notes
    details: dict[str, Any] = {"callId": call.id, "scheduledAt": iso(call.scheduled_at)}
    if notes:
        details["notes"] = notes
    activity.record(session, prospect.id, "call", "no_show", details, actor=actor)
    task = tasks.add(
        session,
        prospect,
        title=f"Reschedule the missed call with {person(prospect)}",
        due_at=now,
        kind="follow_up",
        call_id=call.id,
        actor=actor,
    )
    recount(session, prospect)
    return call, task
