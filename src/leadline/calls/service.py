"""Calls: book, reschedule, cancel, no-show and log, with each outcome's effect on the pipeline.

Rules (docs/architecture.md, "Calls and deals"):

* a call is ``scheduled`` (booked, outcome ``pending``) until it is ``completed`` (logged),
  ``cancelled`` or marked ``no_show``; a call logged with nothing booked is created completed;
* outcomes: interested -> stage interested; follow_up -> interested plus a follow-up date;
  proposal_sent -> proposal; closed_won -> the deal-won flow (customer record, closed_won);
  not_interested -> closed_lost with the reason. Automatic moves only go forward;
* the prospect's call counters are recounted from the call rows in the same transaction:
  ``callsScheduledCount`` = calls not cancelled (booked, logged or missed),
  ``callsCompletedCount`` = calls logged; ``nextFollowUpAt`` = the earliest pending call or
  open task; ``lastContactAt`` = the latest logged call (it never moves backwards).

This module logs and edits calls and is the calls domain's face: booking (book, reschedule,
cancel, no-show, the counters) is ``calls/booking.py``, reading ``calls/reading.py``; other
modules call them all as ``calls.service.X``. Services never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadline.activity import service as activity
from leadline.calls.booking import (
    CallStateConflict,
    book,
    cancel,
    locked,
    no_show,
    person,
    recount,
    require_state,
    reschedule,
)
from leadline.calls.models import CallActivity
from leadline.calls.objections import OTHER, categorize_all, label
from leadline.calls.reading import (
    CallNotFound,
    booked_between,
    booked_since,
    coming_up,
    due_today,
    get,
    has_pending,
    past_objections,
    pending_prospect_ids,
    read,
    search,
    zone_of,
)
from leadline.calls.schemas import (
    CallBook,
    CallEdit,
    CallLog,
    CallLogged,
    ObjectionCategory,
    Reschedule,
)
from leadline.clock import utc_now
from leadline.db import settings_of
from leadline.deals import service as deals
from leadline.deals.schemas import DealWon
from leadline.errors import Invalid
from leadline.ids import new_id
from leadline.names import camel
from leadline.notify import service as notify
from leadline.prospects import service as prospects
from leadline.prospects.stages import CLOSED_STAGES
from leadline.sequences import stops as sequences
from leadline.tasks import service as tasks
from leadline.times import add_business_days, due_moment, iso, local_day_bounds, to_utc

if TYPE_CHECKING:
    from leadline.customers.models import Customer
    from leadline.prospects.models import Prospect
    from leadline.tasks.models import Task

#: Stage each outcome moves the prospect to (forward only); closed_won / not_interested
#: go through the deals service instead.
OUTCOME_STAGE = {"interested": "interested", "follow_up": "interested", "proposal_sent": "proposal"}
#: Outcomes that always make a next-step task; the others only when next steps are given.
TASK_OUTCOMES = ("interested", "follow_up", "proposal_sent")
DEAL_FIELDS = ("service_type", "monthly_fee", "start_date", "signed_at", "contract_url")
DEFAULT_LENGTH = timedelta(minutes=30)


@dataclass
class Logged:
    call: CallActivity
    prospect: Prospect
    task: Task | None
    customer: Customer | None


def logged_read(session: Session, result: Logged) -> CallLogged:
    base = read(session, [result.call])[0]
    task = tasks.read(session, [result.task])[0] if result.task is not None else None
    return CallLogged(
        **base.model_dump(),
        sales_status=result.prospect.sales_status,
        task=task,
        customer_id=result.customer.id if result.customer is not None else None,
    )


# --- logging ---------------------------------------------------------------------------------


def _earliest_pending(session: Session, prospect_id: str, *, before: datetime) -> CallActivity | None:
    """The prospect's earliest booked call booked for before ``before`` (locked), or None."""
    query = (
        select(CallActivity)
        .where(
            CallActivity.prospect_id == prospect_id,
            CallActivity.status == "scheduled",
            CallActivity.scheduled_at < before,
        )
        .order_by(CallActivity.scheduled_at, CallActivity.id)
        .limit(1)
        .with_for_update()
    )
    return session.scalar(query)


def _check_outcome_fields(data: CallLog, prospect: Prospect) -> None:
    given = data.model_fields_set
    outcome = data.outcome
    if "follow_up_at" in given and data.follow_up_at is not None and outcome != "follow_up":
        raise Invalid("is only for outcome follow_up", field="followUpAt")
    if data.follow_up_at is not None and data.next_step_due is not None and data.follow_up_at != data.next_step_due:
        raise Invalid("give followUpAt or nextStepDue, not two different dates", field="followUpAt")
    if data.lost_reason and outcome != "not_interested":
        raise Invalid("is only for outcome not_interested", field="lostReason")
    for name in DEAL_FIELDS:
        if getattr(data, name) is not None and outcome != "closed_won":
            raise Invalid("is only for outcome closed_won", field=camel(name))
    if outcome == "closed_won":
        if data.service_type is None:
            raise Invalid(
                "is required for outcome closed_won (grid_health_analysis, content_generation or paid_ads)",
                field="serviceType",
            )
        if data.monthly_fee is None and prospect.deal_value is None:
            raise Invalid("is required for outcome closed_won (the prospect has no dealValue)", field="monthlyFee")


def log(session: Session, data: CallLog, *, actor: str) -> Logged:
    """Log a call (the seed's ``create:call``) and apply its outcome to the pipeline."""
    zone = zone_of(session)
    settings = settings_of(session)
    if data.call_id is not None:
        call, prospect = locked(session, data.call_id)
        if data.prospect_id is not None and data.prospect_id != call.prospect_id:
            raise Invalid(f"call {call.id} is with {call.prospect_id}, not {data.prospect_id}", field="prospectId")
        require_state(call, "scheduled", doing="logged")
        booked: CallActivity | None = call
    elif data.prospect_id is not None:
        prospect = prospects.get(session, data.prospect_id, for_update=True)
        booked = None  # chosen once the call's time is known
    else:
        raise Invalid("is required (or give callId)", field="prospectId")
    _check_outcome_fields(data, prospect)
    now = utc_now()
    completed_at = to_utc(data.completed_at, zone, field="completedAt") if data.completed_at else now
    if completed_at > now:
        raise Invalid("is in the future; log a call once it has happened", field="completedAt")
    if data.call_id is None:
        # The booking this call was: the earliest of its day or before (held a little early, or late).
        # One booked for a later day is another call still to come: it stays booked (it was completed,
        # a call "completed" on Wednesday while logged on Monday).
        booked = _earliest_pending(session, prospect.id, before=local_day_bounds(completed_at, zone)[1])
    started = to_utc(data.scheduled_at, zone, field="scheduledAt") if data.scheduled_at else None
    if started is not None and started > completed_at:
        raise Invalid("is after completedAt", field="scheduledAt")
    # The next-step task's due date, checked before anything is written.
    make_task = data.outcome in TASK_OUTCOMES or bool(data.next_steps) or data.next_step_due is not None
    due_at = None
    if make_task:
        wanted = data.next_step_due or data.follow_up_at
        if wanted is not None:
            field = "nextStepDue" if data.next_step_due is not None else "followUpAt"
            due_at = due_moment(wanted, zone, field=field)
            if due_at < completed_at:
                raise Invalid("is before the call", field=field)
        else:
            day = add_business_days(completed_at.astimezone(zone).date(), settings.next_step_business_days)
            due_at = due_moment(day, zone, field="nextStepDue")

    categories = categorize_all(data.objections, settings.objection_categories)
    if booked is None:
        start = started or completed_at - timedelta(seconds=data.duration or 0)
        call = CallActivity(
            id=new_id("call"),
            prospect_id=prospect.id,
            scheduled_at=start,
            ics_sequence=0,
            created_at=now,
        )
        session.add(call)
    else:
        call = booked
        if started is not None:
            call.scheduled_at = started
        call.ics_sequence += 1
    call.status = "completed"
    call.outcome = data.outcome
    call.completed_at = completed_at
    call.duration = data.duration
    call.notes = _join_notes(booked.notes if booked else None, data.notes)
    call.objections = list(data.objections)
    call.objection_categories = categories
    call.next_steps = data.next_steps
    call.recording_url = data.recording_url
    call.updated_at = now
    session.flush()

    details: dict[str, Any] = {
        "callId": call.id,
        "outcome": data.outcome,
        "booked": booked is not None,
        "scheduledAt": iso(call.scheduled_at),
        "completedAt": iso(completed_at),
    }
    optional = {
        "durationSeconds": data.duration,
        "objections": list(data.objections) or None,
        "objectionCategories": categories or None,
        "notes": data.notes,
        "nextSteps": data.next_steps,
        "recordingUrl": data.recording_url,
    }
    details.update({k: v for k, v in optional.items() if v is not None})
    entry = activity.record(session, prospect.id, "call", "completed", details, actor=actor)
    if call.outreach_activity_id is None:
        session.flush()
        call.outreach_activity_id = entry.id

    cause = {"callId": call.id, "outcome": data.outcome}
    customer = _apply_outcome(session, data, prospect, call, cause=cause, actor=actor)
    tasks.action_done(session, prospect.id, "call_logged", actor=actor, cause={"callId": call.id})
    task = None
    if make_task and due_at is not None:
        task = tasks.add(
            session,
            prospect,
            title=data.next_steps or f"Follow up with {person(prospect)}",
            due_at=due_at,
            kind="follow_up" if data.outcome == "follow_up" else "next_step",
            call_id=call.id,
            actor=actor,
        )
    recount(session, prospect)
    sequences.stop_for_prospect(session, prospect.id, "call logged", actor=actor)  # as booking one does
    minutes = f", {round((data.duration or 0) / 60)} min" if data.duration else ""
    objections = f"\nObjections: {'; '.join(data.objections)}" if data.objections else ""
    notify.raise_event(
        session, "call_logged", f"call_logged:{call.id}", f"Call logged: {person(prospect)} ({data.outcome}{minutes})",
        body=(data.notes or "") + objections + (f"\nNext: {data.next_steps}" if data.next_steps else ""),
        prospect_id=prospect.id, payload={"callId": call.id, "outcome": data.outcome},
    )  # fmt: skip
    session.flush()
    return Logged(call=call, prospect=prospect, task=task, customer=customer)


def _apply_outcome(
    session: Session,
    data: CallLog,
    prospect: Prospect,
    call: CallActivity,
    *,
    cause: dict[str, Any],
    actor: str,
) -> Customer | None:
    outcome = data.outcome
    if outcome in OUTCOME_STAGE:
        prospects.advance(session, prospect, OUTCOME_STAGE[outcome], actor=actor, cause=cause)
        return None
    if outcome == "not_interested":
        if prospect.sales_status in CLOSED_STAGES:
            return None  # a closed deal stays as it is; the call is recorded all the same
        reason = data.lost_reason or "; ".join(data.objections) or "not interested (call)"
        if len(reason) > 500:  # the objections, joined: a stage move's reason is at most 500 characters
            reason = reason[:499].rstrip() + "…"
        deals.lost(session, prospect.id, reason=reason, actor=actor, cause=cause)
        return None

    fee = data.monthly_fee if data.monthly_fee is not None else prospect.deal_value
    won = DealWon.model_validate(
        {
            "prospect_id": prospect.id,
            "service_type": data.service_type,
            "monthly_fee": fee,
            "start_date": data.start_date,
            "signed_at": data.signed_at or call.completed_at,
            "contract_url": data.contract_url,
        }
    )
    _, customer = deals.won(session, won, actor=actor, cause=cause)
    return customer


def _join_notes(before: str | None, added: str | None) -> str | None:
    if before and added and added != before:
        return f"{before}\n{added}"
    return added or before


# --- editing (PATCH) -------------------------------------------------------------------------

EDITABLE = ("duration", "notes", "objections", "next_steps", "recording_url")


def edit(session: Session, call_id: str, data: CallEdit, *, actor: str) -> Logged:
    """Complete a booked call (``outcome`` given) or fix a logged one."""
    given = data.given()
    call = get(session, call_id)
    if call.status == "scheduled" and data.outcome is not None:
        values = {name: value for name, value in given.items() if name != "outcome"}
        log_data = CallLog.model_validate({**values, "call_id": call.id, "outcome": data.outcome})
        return log(session, log_data, actor=actor)
    call, prospect = locked(session, call_id)
    if call.status == "scheduled":
        allowed: tuple[str, ...] = ("notes",)
        hint = "before the call is logged only notes can change; give outcome to log it"
    elif call.status == "completed":
        allowed = EDITABLE
        hint = "a logged call's outcome, dates and deal terms cannot change"
        if data.outcome is not None and data.outcome != call.outcome:
            raise CallStateConflict(
                f"call {call.id} was logged as {call.outcome}; {hint} (log another call instead)",
                field="outcome",
            )
    else:
        raise CallStateConflict(f"call {call.id} is {call.status.replace('_', '-')}", field="callId")
    for name in given:
        if name not in allowed and name != "outcome":
            raise Invalid(hint, field=camel(name))
    diff: dict[str, list[Any]] = {}
    for name in allowed:
        if name not in given:
            continue
        value = given[name] if name != "objections" else list(given[name] or [])
        if getattr(call, name) != value:
            diff[camel(name)] = [getattr(call, name), value]
            setattr(call, name, value)
    if "objections" in diff:
        call.objection_categories = categorize_all(call.objections, settings_of(session).objection_categories)
    if not diff:
        raise Invalid("nothing to change", field="body")
    call.updated_at = utc_now()
    activity.record(session, prospect.id, "call", "edited", {"callId": call.id, "changes": diff}, actor=actor)
    session.flush()
    return Logged(call=call, prospect=prospect, task=tasks.for_call(session, call.id), customer=None)


# --- objections ------------------------------------------------------------------------------


def objection_summary(session: Session, *, examples: int = 3) -> tuple[list[ObjectionCategory], int]:
    """Categories with how often they came up and recent examples; and the number of calls."""
    rows = session.execute(
        select(CallActivity.objections, CallActivity.objection_categories)
        .where(CallActivity.status == "completed")
        .order_by(CallActivity.completed_at.desc(), CallActivity.id.desc())
    ).all()
    counts: dict[str, int] = {}
    samples: dict[str, list[str]] = {}
    calls = 0
    for objections, categories in rows:
        if not objections:
            continue
        calls += 1
        cats = list(categories or [])
        for index, text in enumerate(objections):
            category = cats[index] if index < len(cats) else OTHER
            counts[category] = counts.get(category, 0) + 1
            seen = samples.setdefault(category, [])
            if len(seen) < examples and text not in seen:
                seen.append(text)
    total = sum(counts.values())
    order = [*settings_of(session).objection_categories, OTHER]
    ranked = sorted(counts, key=lambda c: (-counts[c], order.index(c) if c in order else len(order), c))
    return [
        ObjectionCategory(category=c, label=label(c), count=counts[c], share=counts[c] / total, examples=samples[c])
        for c in ranked
    ], calls


def recategorize(session: Session) -> int:
    """Map every logged objection again with the current keyword map; returns calls changed."""
    categories = settings_of(session).objection_categories
    changed = 0
    for call in session.scalars(select(CallActivity).where(CallActivity.status == "completed")):
        if not call.objections:
            continue
        fresh = categorize_all(call.objections, categories)
        if fresh != list(call.objection_categories or []):
            call.objection_categories = fresh
            changed += 1
    session.flush()
    return changed


__all__ = [
    "CallBook", "CallNotFound", "CallStateConflict", "Logged", "Reschedule",
    "book", "booked_between", "booked_since", "cancel", "coming_up", "due_today", "get", "has_pending", "no_show",
    "past_objections", "pending_prospect_ids", "read", "recount", "reschedule", "search",
]  # fmt: skip
