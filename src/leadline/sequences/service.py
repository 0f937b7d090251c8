"""Sequence rules: who may start one, when each step is due, and when a sequence stops.

A sequence stops for a prospect the moment they reply, bounce, unsubscribe or report
spam, book a call, are closed, are marked do-not-contact, or are stopped by hand. The
places where those things happen call ``sequences.stops.stop_for_prospect``; the runner checks
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

from leadline import jobs
from leadline.activity import service as activity
from leadline.calls import service as calls
from leadline.clock import utc_now
from leadline.config import Settings
from leadline.emails import service as emails
from leadline.emails import templates
from leadline.emails.models import EmailActivity
from leadline.errors import Invalid, NotFound
from leadline.fields import require_one_line
from leadline.ids import new_id
from leadline.prospects import service as prospects
from leadline.prospects.models import Prospect
from leadline.prospects.queries import Filters
from leadline.prospects.stages import CLOSED_STAGES
from leadline.sequences.models import Sequence, SequenceEnrollment
from leadline.sequences.stops import stop_enrollment, stop_for_prospect
from leadline.texts import service as texts
from leadline.texts import templates as text_templates

_STEP = re.compile(r"^\s*(?:(text|sms)\s*:\s*)?([a-z0-9][a-z0-9_-]*)\s*:\s*(\d+(?:\.\d+)?)\s*([dhms])\s*$")
TEXT_PREFIX = "text:"
_UNIT = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_steps(text: str) -> list[dict[str, Any]]:
    """``follow_up_1:3d,follow_up_2:4d`` -> [{"template": "follow_up_1", "delaySeconds": 259200}, ...].

    A step ``text:NAME:DELAY`` sends the text template NAME instead of an email (kind ``text``):
    ``follow_up_1:3d,text:checkin:4d`` is email, email, then a text on day 7."""
    steps: list[dict[str, Any]] = []
    for part in [p for p in text.split(",") if p.strip()]:
        match = _STEP.match(part)
        if match is None:
            raise Invalid(f"{part.strip()!r} is not TEMPLATE:DELAY like follow_up_1:3d, or text:TEMPLATE:DELAY "
                          "(d, h, m or s)", field="steps")  # fmt: skip
        kind, name, amount, unit = match.groups()
        seconds = int(float(amount) * _UNIT[unit])
        if seconds <= 0:
            raise Invalid(f"{part.strip()!r}: the delay must be more than 0", field="steps")
        if kind:
            steps.append({"template": TEXT_PREFIX + name, "kind": "text", "delaySeconds": seconds})
        else:
            steps.append({"template": name, "delaySeconds": seconds})
    return steps


def is_text(step: dict[str, Any]) -> bool:
    return step.get("kind") == "text"


def text_template(step: dict[str, Any]) -> str:
    """A text step's text template's name."""
    return str(step["template"]).removeprefix(TEXT_PREFIX)


@dataclass
class StartPlan:
    sequence_steps: list[dict[str, Any]]
    enrolled: list[tuple[str, str]] = field(default_factory=list)  # (prospect id, name)
    continuing: list[str] = field(default_factory=list)  # of those, who already got the first email
    skipped: list[emails.Skipped] = field(default_factory=list)

    def first_step(self, prospect_id: str) -> str:
        """The template this prospect gets first."""
        return str(self.sequence_steps[1 if prospect_id in self.continuing else 0]["template"])


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
    senders: Seq[str] | None = None,
) -> tuple[Sequence | None, StartPlan]:
    """Enrol prospects: the first email at ``at`` (or now), each next step after its delay.

    A prospect who already got the first template (sent by hand, or by the demo's week)
    and has not replied, bounced, booked a call or been closed since, joins at the first
    follow-up, in that email's thread, due its delay after that email. Every template of
    every step is filled in for every prospect first: a missing merge field stops the
    whole start before anything is written. ``senders`` (sender ids): the selection its emails
    rotate across, kept on the sequence for every later step (None: every sender).
    """
    all_steps = [{"template": template, "delaySeconds": 0}, *steps]
    loaded = {s["template"]: templates.load(settings, s["template"]) for s in all_steps if not is_text(s)}
    texts_of = {s["template"]: text_templates.get(session, text_template(s)) for s in all_steps if is_text(s)}
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
        senders_only=senders,
    )
    result = StartPlan(sequence_steps=all_steps)
    earlier: dict[str, EmailActivity] = {}
    for skip in plan.skipped:
        joined = _joins_later(session, skip, template) if steps else None
        if isinstance(joined, EmailActivity):
            earlier[skip.prospect_id] = joined
        else:
            result.skipped.append(joined or skip)
    for failure in plan.failed:  # its first message cannot be built (a bad stored value): not enrolled
        result.skipped.append(emails.Skipped(failure.prospect_id, failure.name, failure.email, failure.reason,
                                             failure.code))  # fmt: skip
    candidates = [item.prospect_id for item in plan.items] + list(earlier)
    if limit is not None:
        candidates = candidates[:limit]
    missing: list[templates.MissingMergeField] = []
    chosen = []
    for prospect_id in candidates:
        prospect = prospects.get(session, prospect_id)
        closed = _not_startable(session, prospect)
        if closed is not None:
            result.skipped.append(emails.Skipped(prospect.id, prospect.name, prospect.email, closed, "not_startable"))
            continue
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
                if is_text(step):
                    stored = texts_of[step["template"]]
                    text_templates.render(settings, stored.name, stored.body, prospect)
                else:
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
    result.continuing = [pid for pid, _ in chosen if pid in earlier]
    if dry_run or not chosen:
        return None, result
    sequence = Sequence(
        id=new_id("seq"), name=f"{template} + {', '.join(s['template'] for s in steps) or 'no follow-ups'}",
        steps=all_steps, created_by=actor, created_at=now, senders=list(senders) if senders else None,
    )  # fmt: skip
    session.add(sequence)
    session.flush()
    soonest = None
    for prospect_id, _ in chosen:
        enrollment = SequenceEnrollment(
            id=new_id("enr"), sequence_id=sequence.id, prospect_id=prospect_id, step=0, next_send_at=first,
            status="active", created_at=now, updated_at=now,
        )  # fmt: skip
        root = earlier.get(prospect_id)
        if root is not None:  # the first email is already out: go on from it, in its thread
            assert root.sent_at is not None
            enrollment.step = 1
            enrollment.thread_message_id = root.message_id
            enrollment.thread_root_email_id = enrollment.last_email_id = root.id
            enrollment.last_sent_at = root.sent_at
            enrollment.next_send_at = max(first, root.sent_at + timedelta(seconds=int(steps[0]["delaySeconds"])))
        session.add(enrollment)
        assert enrollment.next_send_at is not None
        soonest = min(soonest or enrollment.next_send_at, enrollment.next_send_at)
        activity.record(
            session, prospect_id, "sequence", "started",
            {"sequenceId": sequence.id, "steps": [s["template"] for s in all_steps],
             "firstAt": enrollment.next_send_at.isoformat(), "continuesFrom": root.id if root else None},
            actor=actor,
        )  # fmt: skip
    session.flush()

    assert soonest is not None
    jobs.defer(session, "sequences.run_due", delay=soonest - now)
    return sequence, result


def _not_startable(session: Session, prospect: Prospect) -> str | None:
    """A closed prospect, or one with a call booked, is past cold follow-ups."""
    if prospect.sales_status in CLOSED_STAGES:
        return f"is closed ({prospect.sales_status})"

    if calls.has_pending(session, prospect.id):
        return "has a call booked"
    return None


def _joins_later(session: Session, skip: emails.Skipped, template: str) -> EmailActivity | emails.Skipped | None:
    """For a prospect skipped because they already got ``template``: the email to go on from,
    or why they may not go on (a reply, a bounce since), or None (skipped for another reason)."""
    if skip.code != "already_sent":
        return None
    root = emails.first_sent(session, skip.prospect_id, template)
    if root is None or root.sent_at is None:
        return None
    prospect = prospects.get(session, skip.prospect_id)
    reason = _reason_to_stop(session, prospect, root.sent_at)
    if reason is not None:
        return emails.Skipped(prospect.id, prospect.name, prospect.email,
                              f"already got {template} ({root.id}); since then: {reason}", "not_startable")  # fmt: skip
    return root


def sent_count(session: Session, sequence_id: str) -> int:
    """How many of the sequence's emails have gone out."""
    from sqlalchemy import func

    return (
        session.scalar(
            select(func.count())
            .select_from(EmailActivity)
            .join(SequenceEnrollment, SequenceEnrollment.id == EmailActivity.sequence_enrollment_id)
            .where(SequenceEnrollment.sequence_id == sequence_id, EmailActivity.status.in_(emails.SENT_STATES))
        )
        or 0
    )


def active_enrollment(session: Session, prospect_id: str) -> SequenceEnrollment | None:
    return session.scalar(
        select(SequenceEnrollment).where(
            SequenceEnrollment.prospect_id == prospect_id, SequenceEnrollment.status == "active"
        )
    )


def stop(
    session: Session, *, actor: str, prospect_id: str | None = None, everything: bool = False, reason: str | None = None
) -> int:
    """Stop by hand: one prospect's sequences, or every active one."""
    if reason is not None:
        require_one_line(reason, "reason")
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
        stop_enrollment(session, enrollment, why, actor=actor)
        count += 1
    return count


def stop_reason(session: Session, enrollment: SequenceEnrollment, prospect: Prospect) -> str | None:
    """Why this prospect must not get the next step, if anything says so (checked before each send)."""
    since = enrollment.created_at
    if enrollment.step > 0 and enrollment.last_sent_at is not None and enrollment.thread_root_email_id:
        root = emails.get(session, enrollment.thread_root_email_id)
        since = min(since, root.sent_at or since)  # joined after its first email: since that email
    return _reason_to_stop(session, prospect, since)


def _reason_to_stop(session: Session, prospect: Prospect, since: datetime) -> str | None:
    if prospect.sales_status in CLOSED_STAGES:
        return f"closed ({prospect.sales_status})"
    if prospect.do_not_contact:
        return f"do-not-contact ({prospect.do_not_contact_reason or 'no reason given'})"
    if prospect.email and emails.suppression_for(session, prospect.email) is not None:
        return "the address is suppressed"
    facts = emails.since(session, prospect.id, since)
    if facts.replied:
        return "replied"
    if texts.replied_since(session, prospect.id, since):
        return "texted back"
    if facts.bounced:
        return "bounced"

    if calls.booked_since(session, prospect.id, since):
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


def active_enrollments(session: Session, sequence_id: str) -> list[SequenceEnrollment]:
    """The sequence's enrollments still going (all of them, whatever else is running)."""
    query = select(SequenceEnrollment).where(
        SequenceEnrollment.sequence_id == sequence_id, SequenceEnrollment.status == "active"
    )
    return list(session.scalars(query.order_by(SequenceEnrollment.id)))


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
