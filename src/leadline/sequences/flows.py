"""Starting sequences and sending their due steps. Opens its own units of work (like emails/flows.py).

:func:`start` is the one way a sequence starts, from the CLI and the API alike: enrol (one
transaction), then send the steps due now from the caller's process, as ``emails send`` does; the
worker sends the rest at their time (the start queued it).

Per enrollment:

1. take it (one transaction): only one worker wins a due step (``next_send_at`` is set to
   NULL while it is in flight); stop it if something says so; outside the prospect's
   sending window, move it to the window's next opening;
2. deliver the step through emails/flows.py: the email row is unique per (enrollment,
   step), so a step is sent at most once whatever happens;
3. record (one transaction): the next step's time, or completed; a full cap moves the
   step to the next sending day.

:func:`reconcile` repairs steps left in flight by a process that died between 1 and 3.

A flow (docs/architecture.md, "Flows"): it opens its own units of work, one per step, and
composes services; shells and jobs call it, services never do.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from leadline import jobs
from leadline.clock import utc_now
from leadline.config import Settings
from leadline.db import unit_of_work
from leadline.emails import service as emails
from leadline.emails import templates
from leadline.emails.backends import AuthFailed, Backend, get_backend
from leadline.emails.flows import Outcome, SendingStopped, deliver_waiting
from leadline.errors import LeadlineError
from leadline.prospects import service as prospects
from leadline.prospects.selection import Selection
from leadline.senders import service as senders
from leadline.senders.service import WAIT_CODES
from leadline.sequences import service
from leadline.sequences.models import Sequence, SequenceEnrollment
from leadline.sequences.stops import stop_enrollment
from leadline.sequences.windows import next_day_start, next_window_start, zone_for
from leadline.texts import flows as text_flows
from leadline.texts import service as text_service

log = logging.getLogger("leadline.sequences")
ACTOR = "worker:sequences"
IN_FLIGHT_GRACE = timedelta(minutes=10)


@dataclass
class RunReport:
    sent: int = 0
    stopped: int = 0
    waiting: int = 0
    completed: int = 0
    outcomes: list[Outcome] = field(default_factory=list)


@dataclass
class Started:
    """What :func:`start` did: the sequence (None for a dry run or when nobody could be enrolled), who
    was enrolled and skipped, how many emails went out now and how many first sends wait."""

    sequence_id: str | None
    plan: service.StartPlan
    dry_run: bool
    sent_now: int = 0
    waiting: int = 0

    def as_dict(self) -> dict[str, Any]:
        plan = self.plan
        return {
            "sequenceId": self.sequence_id, "dryRun": self.dry_run,
            "steps": [s["template"] for s in plan.sequence_steps],
            "enrolled": [{"prospectId": p, "name": n, "firstStep": plan.first_step(p)} for p, n in plan.enrolled],
            "skipped": [{"prospectId": s.prospect_id, "reason": s.reason, "code": s.code} for s in plan.skipped],
            "sentNow": self.sent_now, "waiting": self.waiting,
        }  # fmt: skip


def start(
    settings: Settings,
    template: str,
    *,
    chosen: Selection,
    steps: str | None,
    at: datetime | None,
    dry_run: bool,
    actor: str,
    sender_keys: list[str] | None = None,
) -> Started:
    """Start a sequence (``leadline sequences start``, ``POST /api/sequences``): each prospect gets the
    first email now (or at ``at``), then each step after its delay. ``steps`` is the follow-ups as text
    (``follow_up_1:3d,...``; default: the ``sequence_steps`` setting). ``sender_keys``: the senders (ids or
    addresses) its emails rotate across, for every step (default: every active one)."""
    parsed = service.parse_steps(steps if steps is not None else settings.sequence_steps)
    with unit_of_work(settings) as session:
        only = senders.selection(session, sender_keys)  # an unknown one: refused, nothing started
        sequence, plan = service.start(
            session, settings, template, steps=parsed, actor=actor, prospect_ids=chosen.prospect_ids or None,
            filters=chosen.filters(), limit=chosen.limit, at=at, dry_run=dry_run, senders=only,
        )  # fmt: skip
        sequence_id = sequence.id if sequence else None
        ids = [e.id for e in service.active_enrollments(session, sequence_id)] if sequence_id else []
    started = Started(sequence_id, plan, dry_run)
    if sequence_id is None:
        return started
    run_due(settings, only=ids, actor=actor)  # what is due now goes now; the worker sends the rest
    with unit_of_work(settings, readonly=True) as session:
        rows = service.active_enrollments(session, sequence_id)
        started.sent_now = service.sent_count(session, sequence_id)
    now = utc_now()
    started.waiting = sum(  # whose first send in this sequence waits (its window, the cap, or ``at``)
        1
        for e in rows
        if e.step == (1 if e.prospect_id in plan.continuing else 0) and e.next_send_at and e.next_send_at > now
    )
    return started


def due_ids(settings: Settings, *, only: list[str] | None = None, limit: int = 500) -> list[str]:
    with unit_of_work(settings, readonly=True) as session:
        query = (
            select(SequenceEnrollment.id)
            .where(SequenceEnrollment.status == "active", SequenceEnrollment.next_send_at <= utc_now())
            .order_by(SequenceEnrollment.next_send_at, SequenceEnrollment.id)
            .limit(limit)
        )
        if only is not None:
            query = query.where(SequenceEnrollment.id.in_(only))
        return list(session.scalars(query))


def run_due(
    settings: Settings, *, only: list[str] | None = None, backend: Backend | None = None, actor: str = ACTOR
) -> RunReport:
    """Send every step that is due now (inside its window and the cap)."""
    report = RunReport()
    ids = due_ids(settings, only=only)
    if not ids:
        return report
    own = backend is None
    try:
        chosen = backend or get_backend(settings)
    except AuthFailed as error:  # credentials, or the compliance gate: no step is taken
        raise SendingStopped(f"{error.message}; no sequence step was sent") from None
    try:
        for enrollment_id in ids:
            try:
                step_one(settings, chosen, enrollment_id, report, actor=actor)
            except LeadlineError as error:  # one prospect's problem must not stop the others
                log.warning("sequence step for %s not sent: %s", enrollment_id, error)
            except SQLAlchemyError:
                raise  # the database is away: the job runs again next minute (reconcile repairs the step)
            except Exception:  # nor may a bug that one prospect's data trips (reconcile retries the step)
                log.exception("sequence step for %s not sent", enrollment_id)
    finally:
        if own:
            chosen.close()
    return report


def step_one(settings: Settings, backend: Backend, enrollment_id: str, report: RunReport, *, actor: str) -> None:
    now = utc_now()
    text_step: tuple[str, str] | None = None
    with unit_of_work(settings) as session:
        taken = session.execute(
            update(SequenceEnrollment)
            .where(
                SequenceEnrollment.id == enrollment_id,
                SequenceEnrollment.status == "active",
                SequenceEnrollment.next_send_at <= now,
            )
            .values(next_send_at=None, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if not taken.rowcount:  # type: ignore[attr-defined]
            return  # another worker has it, or it was stopped
        enrollment = session.get(SequenceEnrollment, enrollment_id)
        assert enrollment is not None
        sequence = session.get(Sequence, enrollment.sequence_id)
        assert sequence is not None
        prospect = prospects.get(session, enrollment.prospect_id)
        reason = service.stop_reason(session, enrollment, prospect)
        if reason is not None:
            stop_enrollment(session, enrollment, reason, actor=actor)
            report.stopped += 1
            return
        zone = zone_for(settings, prospect.timezone)
        texting = service.is_text(sequence.steps[enrollment.step])  # texts keep their own hours (texts/)
        opening = now if texting else next_window_start(settings, zone, now)
        if opening > now:
            enrollment.next_send_at = opening
            report.waiting += 1
            _wake_at(session, opening - now)
            return
        step = sequence.steps[enrollment.step]
        step_index = enrollment.step
        if service.is_text(step):  # a text step: sent by the texts flow, outside this transaction
            text_step = (service.text_template(step), prospect.id)
        else:
            template = templates.load(settings, str(step["template"]))
            try:
                plan = emails.plan(  # the claim takes the send from its sender's cap, or says wait
                    session,
                    settings,
                    template.name,
                    prospect_ids=[prospect.id],
                    force=True,
                    check_cap=False,
                    senders_only=sequence.senders,
                )
            except templates.MissingMergeField as error:
                stop_enrollment(session, enrollment, error.message, actor=actor)
                report.stopped += 1
                return
            failure = plan.failed[0] if plan.failed else None  # its message cannot be built: recorded failed
            item = plan.items[0] if plan.items else failure.item if failure else None
            # the answer to the thread's latest email (RFC 5322 §3.6.4), which answered the one before
            last = emails.get(session, enrollment.last_email_id) if enrollment.last_email_id else None
            in_reply_to = (last.message_id if last else None) or enrollment.thread_message_id
            root = enrollment.thread_root_email_id
            step_index = enrollment.step
    if text_step is not None:
        _send_text(settings, enrollment_id, step_index, *text_step, zone=zone, report=report, actor=actor)
        return
    if item is None:  # the cap (planning saw it) or a guardrail
        skipped = plan.skipped[0]
        _after_skip(settings, enrollment_id, skipped.code, skipped.reason, zone, actor=actor, report=report)
        return
    outcome = deliver_waiting(  # a sender's minimum gap is waited out; paused or closed: the step waits
        settings, backend, template, item, force=True, actor=actor, in_reply_to=in_reply_to, thread_root_id=root,
        sequence=(enrollment_id, step_index), unbuildable=failure.reason if failure else None,
    )  # fmt: skip
    report.outcomes.append(outcome)
    if outcome.status == "skipped":
        _after_skip(
            settings,
            enrollment_id,
            outcome.code or "",
            outcome.detail or "",
            zone,
            actor=actor,
            report=report,
            until=outcome.until,
        )
        return
    with unit_of_work(settings) as session:
        _advance(session, settings, enrollment_id, outcome.email_id, outcome.status, outcome.detail, actor=actor)
    report.sent += outcome.status == "sent"


def _send_text(
    settings: Settings, enrollment_id: str, step_index: int, name: str, prospect_id: str, *, zone: ZoneInfo,
    report: RunReport, actor: str,
) -> None:  # fmt: skip
    """A text step: sent once (its idempotency key is the enrollment and step); outside the prospect's
    texting hours or over today's cap it waits for the next opening; any other refusal stops the sequence."""
    try:
        text_flows.send(settings, prospect_id, name, actor=actor, enrollment=(enrollment_id, step_index))
    except text_service.TextRefused as error:
        if error.reason == "already_sent":  # sent before a crash: go on from it
            pass
        elif error.reason in ("quiet_hours", "cap"):
            with unit_of_work(settings) as session:
                enrollment = session.get(SequenceEnrollment, enrollment_id, with_for_update=True)
                if enrollment is None or enrollment.status != "active" or enrollment.next_send_at is not None:
                    return
                prospect = prospects.get(session, prospect_id)
                now = utc_now()
                opening = text_service.quiet_until(settings, prospect, now)
                if error.reason == "cap":
                    opening = text_service.quiet_until(settings, prospect, next_day_start(settings, zone, now))
                    opening = opening or next_day_start(settings, zone, now)
                enrollment.next_send_at = opening or now + timedelta(minutes=5)
                _wake_at(session, enrollment.next_send_at - now)
            report.waiting += 1
            return
        else:
            _after_skip(settings, enrollment_id, error.reason, f"text {name}: {error.message}", zone, actor=actor,
                        report=report)  # fmt: skip
            return
    except LeadlineError as error:  # no phone, a missing merge field, Twilio refused it
        _after_skip(settings, enrollment_id, "text", f"text {name}: {error.message}", zone, actor=actor, report=report)
        return
    with unit_of_work(settings) as session:
        enrollment = session.get(SequenceEnrollment, enrollment_id, with_for_update=True)
        if enrollment is None or enrollment.status != "active" or enrollment.next_send_at is not None:
            return
        sequence = session.get(Sequence, enrollment.sequence_id)
        assert sequence is not None
        now = utc_now()
        enrollment.last_sent_at = now
        enrollment.step += 1
        enrollment.updated_at = now
        if enrollment.step >= len(sequence.steps):
            enrollment.status = "completed"
        else:
            enrollment.next_send_at = now + timedelta(seconds=int(sequence.steps[enrollment.step]["delaySeconds"]))
            _wake_at(session, enrollment.next_send_at - now)
    report.sent += 1


def _after_skip(
    settings: Settings,
    enrollment_id: str,
    code: str,
    reason: str,
    zone: ZoneInfo,
    *,
    actor: str,
    report: RunReport,
    until: datetime | None = None,
) -> None:
    with unit_of_work(settings) as session:
        enrollment = session.get(SequenceEnrollment, enrollment_id, with_for_update=True)
        if enrollment is None or enrollment.status != "active" or enrollment.next_send_at is not None:
            return
        if code == "cap":  # today's sends are used up: the next sending day's window
            enrollment.next_send_at = next_day_start(settings, zone, utc_now())
            report.waiting += 1
        elif code in WAIT_CODES and until is not None:  # its sender is paused, closed or keeping its gap: it waits
            enrollment.next_send_at = until
            report.waiting += 1
            _wake_at(session, until - utc_now())
        elif code == "claimed":
            return  # another worker is sending this very step
        else:
            stop_enrollment(session, enrollment, reason, actor=actor)
            report.stopped += 1


def _advance(
    session: Session, settings: Settings, enrollment_id: str, email_id: str | None, status: str, detail: str | None,
    *, actor: str,
) -> None:  # fmt: skip
    enrollment = session.get(SequenceEnrollment, enrollment_id, with_for_update=True)
    if enrollment is None or enrollment.status != "active" or enrollment.next_send_at is not None:
        return
    sequence = session.get(Sequence, enrollment.sequence_id)
    assert sequence is not None
    if status != "sent":
        why = "the send failed" if status == "failed" else "the send's outcome is unknown"
        stop_enrollment(session, enrollment, f"{why}: {detail or ''} ({email_id})".strip(), actor=actor)
        return
    email = emails.get(session, email_id or "")
    sent_at = email.sent_at or utc_now()
    if enrollment.step == 0:
        enrollment.thread_message_id = email.message_id
        enrollment.thread_root_email_id = email.id
    enrollment.last_email_id = email.id
    enrollment.last_sent_at = sent_at
    enrollment.step += 1
    enrollment.updated_at = utc_now()
    if enrollment.step >= len(sequence.steps):
        enrollment.status = "completed"
        return
    delay = timedelta(seconds=int(sequence.steps[enrollment.step]["delaySeconds"]))
    enrollment.next_send_at = sent_at + delay
    _wake_at(session, enrollment.next_send_at - utc_now())


def _wake_at(session: Session, delay: timedelta) -> None:
    jobs.defer(session, "sequences.run_due", delay=delay)


def reconcile(settings: Settings, *, actor: str = ACTOR) -> int:
    """Steps left in flight by a process that died: find the step's email and go on from there."""
    cutoff = utc_now() - IN_FLIGHT_GRACE
    repaired = 0
    with unit_of_work(settings) as session:
        stuck = list(
            session.scalars(
                select(SequenceEnrollment)
                .where(
                    SequenceEnrollment.status == "active",
                    SequenceEnrollment.next_send_at.is_(None),
                    SequenceEnrollment.updated_at < cutoff,
                )
                .with_for_update()
            )
        )
        for enrollment in stuck:
            email = emails.for_sequence_step(session, enrollment.id, enrollment.step)
            if email is None:
                enrollment.next_send_at = utc_now()  # never claimed: try the step again
            elif email.status == "sending":
                continue  # emails/flows.py marks it unknown after ten minutes; then we go on
            else:
                state = "sent" if email.sent_at is not None else email.status
                _advance(session, settings, enrollment.id, email.id, state, email.error, actor=actor)
            repaired += 1
    return repaired
