"""Sequence rules: who may start one, when each step is due, and when a sequence stops.

A sequence stops for a prospect the moment they reply, bounce, unsubscribe or report
spam, book a call, are closed, are marked do-not-contact, or are stopped by hand. The
places where those things happen call :func:`stop_for_prospect`; the runner checks
:func:`stop_reason` again before each send, in case one was missed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence as Seq
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadline.activity import service as activity
from leadline.clock import utc_now
from leadline.config import Settings
from leadline.emails import service as emails
from leadline.emails import templates
from leadline.errors import Invalid, NotFound
from leadline.ids import new_id
from leadline.prospects import service as prospects
from leadline.prospects.models import Prospect
from leadline.prospects.queries import Filters
from leadline.sequences.models import Sequence, SequenceEnrollment

_STEP = re.compile(r"^\s*([a-z0-9][a-z0-9_-]*)\s*:\s*(\d+(?:\.\d+)?)\s*([dhms])\s*$")
_UNIT = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_steps(text: str) -> list[dict[str, Any]]:
    """``follow_up_1:3d,follow_up_2:4d`` -> [{"template": "follow_up_1", "delaySeconds": 259200}, ...]."""
    steps = []
    for part in [p for p in text.split(",") if p.strip()]:
        match = _STEP.match(part)
        if match is None:
            raise Invalid(f"{part.strip()!r} is not TEMPLATE:DELAY like follow_up_1:3d (d, h, m or s)", field="steps")
        name, amount, unit = match.groups()
        seconds = int(float(amount) * _UNIT[unit])
        if seconds <= 0:
            raise Invalid(f"{part.strip()!r}: the delay must be more than 0", field="steps")
        steps.append({"template": name, "delaySeconds": seconds})
    return steps


@dataclass
class StartPlan:
    sequence_steps: list[dict[str, Any]]
    enrolled: list[tuple[str, str]] = field(default_factory=list)  # (prospect id, name)
    skipped: list[emails.Skipped] = field(default_factory=list)


def start(
    session: Session,
    settings: Settings,
    template: str,
    *,
    steps: list[dict[str, Any]],
    actor: str,
    prospect_ids: Seq[str] | None = None,
    filters: Filters | None = None,
    limit: int | None = None,
    at: datetime | None = None,
    dry_run: bool = False,
) -> tuple[Sequence | None, StartPlan]:
    """Enrol prospects: the first email at ``at`` (or now), each next step after its delay.

    Every template of every step is filled in for every prospect first: a missing merge
    field stops the whole start before anything is written.
    """
    all_steps = [{"template": template, "delaySeconds": 0}, *steps]
    loaded = {s["template"]: templates.load(settings, s["template"]) for s in all_steps}
    now = utc_now()
    first = at or now
    if at is not None and at < now - timedelta(minutes=1):
        raise Invalid("is in the past", field="at")
    plan = emails.plan(  # the cap is checked at each send: those over it wait for the next day
        session,
        settings,
        template,
        prospect_ids=prospect_ids,
        filters=filters,
        limit=limit,
        force=False,
        check_cap=False,
    )
    result = StartPlan(sequence_steps=all_steps, skipped=list(plan.skipped))
    missing: list[templates.MissingMergeField] = []
    chosen = []
    for item in plan.items:
        prospect = prospects.get(session, item.prospect_id)
        busy = active_enrollment(session, prospect.id)
        if busy is not None:
            result.skipped.append(
                emails.Skipped(
                    prospect.id,
                    prospect.name,
                    prospect.email,
                    f"is already in sequence {busy.sequence_id}",
                    "in_sequence",
                )
            )
            continue
        for step in all_steps[1:]:
            try:
                templates.render(loaded[step["template"]], prospect, settings)
            except templates.MissingMergeField as error:
                missing.append(error)
        chosen.append((prospect.id, prospect.name))
    if missing:
        raise Invalid(
            "; ".join(m.message for m in missing[:20]) + "; nothing was started",
            field=missing[0].field_name,
            errors=[{"field": m.field_name, "message": m.message, "prospectId": m.prospect_id} for m in missing],
        )
    result.enrolled = chosen
    if dry_run or not chosen:
        return None, result
    sequence = Sequence(
        id=new_id("seq"), name=f"{template} + {', '.join(s['template'] for s in steps) or 'no follow-ups'}",
        steps=all_steps, created_by=actor, created_at=now,
    )  # fmt: skip
    session.add(sequence)
    session.flush()
    for prospect_id, _ in chosen:
        session.add(
            SequenceEnrollment(
                id=new_id("enr"), sequence_id=sequence.id, prospect_id=prospect_id, step=0, next_send_at=first,
                status="active", created_at=now, updated_at=now,
            )
        )  # fmt: skip
        activity.record(
            session, prospect_id, "sequence", "started",
            {"sequenceId": sequence.id, "steps": [s["template"] for s in all_steps], "firstAt": first.isoformat()},
            actor=actor,
        )  # fmt: skip
    session.flush()
    from leadline import jobs

    jobs.defer(session, "sequences.run_due", delay=first - now)
    return sequence, result


def active_enrollment(session: Session, prospect_id: str) -> SequenceEnrollment | None:
    return session.scalar(
        select(SequenceEnrollment).where(
            SequenceEnrollment.prospect_id == prospect_id, SequenceEnrollment.status == "active"
        )
    )


def stop_for_prospect(session: Session, prospect_id: str, reason: str, *, actor: str) -> int:
    """Stop the prospect's active sequences (a reply, a bounce, a call booked ...). Returns how many."""
    stopped = 0
    for enrollment in session.scalars(
        select(SequenceEnrollment)
        .where(SequenceEnrollment.prospect_id == prospect_id, SequenceEnrollment.status == "active")
        .with_for_update()
    ):
        _stop(session, enrollment, reason, actor=actor)
        stopped += 1
    return stopped


def _stop(session: Session, enrollment: SequenceEnrollment, reason: str, *, actor: str) -> None:
    enrollment.status = "stopped"
    enrollment.stop_reason = reason
    enrollment.next_send_at = None
    enrollment.updated_at = utc_now()
    activity.record(
        session, enrollment.prospect_id, "sequence", "stopped",
        {"sequenceId": enrollment.sequence_id, "reason": reason, "step": enrollment.step}, actor=actor,
    )  # fmt: skip


def stop(
    session: Session, *, actor: str, prospect_id: str | None = None, everything: bool = False, reason: str | None = None
) -> int:
    """Stop by hand: one prospect's sequences, or every active one."""
    if prospect_id is None and not everything:
        raise Invalid("give a prospect, or stop them all", field="prospectId")
    why = f"stopped by hand{': ' + reason if reason else ''}"
    if prospect_id is not None:
        prospects.get(session, prospect_id)
        count = stop_for_prospect(session, prospect_id, why, actor=actor)
        if count == 0:
            raise NotFound(f"{prospect_id} is not in an active sequence", field="prospectId")
        return count
    count = 0
    for enrollment in session.scalars(
        select(SequenceEnrollment).where(SequenceEnrollment.status == "active").with_for_update()
    ):
        _stop(session, enrollment, why, actor=actor)
        count += 1
    return count


def stop_reason(session: Session, enrollment: SequenceEnrollment, prospect: Prospect) -> str | None:
    """Why this prospect must not get the next step, if anything says so (checked before each send)."""
    if prospect.sales_status in ("closed_won", "closed_lost"):
        return f"closed ({prospect.sales_status})"
    if prospect.do_not_contact:
        return f"do-not-contact ({prospect.do_not_contact_reason or 'no reason given'})"
    if prospect.email and emails.suppression_for(session, prospect.email) is not None:
        return "the address is suppressed"
    facts = emails.since(session, prospect.id, enrollment.created_at)
    if facts.replied:
        return "replied"
    if facts.bounced:
        return "bounced"
    from leadline.calls import service as calls

    if calls.booked_since(session, prospect.id, enrollment.created_at):
        return "call booked"
    return None


@dataclass
class EnrollmentView:
    id: str
    sequence_id: str
    prospect_id: str
    prospect_name: str
    status: str
    step: int
    steps: list[str]
    next_send_at: datetime | None
    stop_reason: str | None
    last_email_id: str | None
    last_sent_at: datetime | None
    created_at: datetime


def status(session: Session, *, include_ended: bool = False, limit: int = 500) -> list[EnrollmentView]:
    query = (
        select(SequenceEnrollment, Sequence, Prospect.name)
        .join(Sequence, Sequence.id == SequenceEnrollment.sequence_id)
        .join(Prospect, Prospect.id == SequenceEnrollment.prospect_id)
        .order_by(SequenceEnrollment.status, SequenceEnrollment.next_send_at, SequenceEnrollment.id)
        .limit(limit)
    )
    if not include_ended:
        query = query.where(SequenceEnrollment.status == "active")
    return [
        EnrollmentView(
            e.id,
            e.sequence_id,
            e.prospect_id,
            name,
            e.status,
            e.step,
            [str(s["template"]) for s in seq.steps],
            e.next_send_at,
            e.stop_reason,
            e.last_email_id,
            e.last_sent_at,
            e.created_at,
        )
        for e, seq, name in session.execute(query)
    ]
