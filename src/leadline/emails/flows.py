"""Sending a batch: plan, then for each message claim -> backend -> record.

This is the one place (besides the worker's jobs) that opens several units of work in
a row, because a send spans them by nature:

1. **claim** (one transaction): guardrails checked again, the message built, one send
   taken from today's cap, the email row written with status ``sending``. Committed before
   anything leaves. A message that cannot be built is written ``failed`` with the reason
   instead, and takes nothing from the cap.
2. **send**: the backend is called outside any transaction.
3. **record** (one transaction): the outcome together with its effects - ``sent`` with
   the timeline entry, the stage move and the counters; or ``failed`` (the cap slot is
   given back); or ``unknown`` when the outcome cannot be known.

A crash between 1 and 3 leaves the row ``sending``; the next run marks such rows
``unknown`` after ten minutes. Nothing is ever sent twice by Leadline itself.

One bad message fails alone: a message that cannot be built (a template error for that
prospect, a line break or NUL in a header, an address that cannot be encoded) or that the
backend refuses is recorded ``failed`` with its reason, and the rest of the batch goes on.
The dry run builds every message too, so it reports the same failures.

A flow (docs/architecture.md, "Flows"): it opens its own units of work, one per step, and
composes services; shells and jobs call it, services never do.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from leadline.clock import utc_now
from leadline.config import Settings
from leadline.db import unit_of_work
from leadline.emails import composing, service
from leadline.emails.backends import AuthFailed, Backend, Rejected, Unknown, get_backend
from leadline.emails.planning import WRITTEN
from leadline.emails.quota import cap_left
from leadline.emails.schemas import ComposeRequest
from leadline.errors import Invalid, LeadlineError
from leadline.prospects import service as prospects
from leadline.prospects.queries import Filters
from leadline.senders import service as senders
from leadline.senders.service import WAIT_CODES
from leadline.tasks import service as tasks

log = logging.getLogger("leadline.emails")


class SendingStopped(LeadlineError):
    """The backend refused our credentials: the rest of the run was not attempted."""

    status_code = 502
    code = "backend_refused"


@dataclass
class Outcome:
    prospect_id: str
    name: str
    to_email: str | None
    status: str  # sent | failed | unknown | skipped | planned
    email_id: str | None = None
    subject: str | None = None
    detail: str | None = None
    code: str | None = None
    text: str | None = None  # the message's text (a written email's dry run shows it)
    until: datetime | None = None  # code ``sender_wait``: when its sender can send


@dataclass
class SendReport:
    template: str
    dry_run: bool
    backend: str
    outcomes: list[Outcome] = field(default_factory=list)
    stopped: str | None = None
    cap_left: int = 0  # what today's cap still allows once the run is done (a dry run sends nothing)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    def as_dict(self) -> dict[str, Any]:
        return {
            "template": self.template,
            "dryRun": self.dry_run,
            "backend": self.backend,
            "sent": self.count("sent"),
            "scheduled": self.count("scheduled"),
            "planned": self.count("planned"),
            "failed": self.count("failed"),
            "unknown": self.count("unknown"),
            "skipped": self.count("skipped"),
            "capLeft": self.cap_left,
            "stopped": self.stopped,
            "results": [
                {
                    "prospectId": o.prospect_id, "name": o.name, "email": o.to_email, "status": o.status,
                    "emailId": o.email_id, "subject": o.subject, "detail": o.detail, "code": o.code,
                }
                | ({"text": o.text} if o.text is not None else {})
                for o in self.outcomes
            ],
        }  # fmt: skip


def check_sender(settings: Settings, backend: str) -> None:
    """Real email needs a real sender and the postal address anti-spam law asks for."""
    if backend == "outbox":
        return
    from leadline.guardian.compliance import refusal

    why = refusal(settings, backend)
    if why is not None:
        raise SendingStopped(f"{why}; nothing was sent")
    if settings.sender_email.endswith("@example.com"):
        raise SendingStopped("set LEADLINE_SENDER_EMAIL to your own address; nothing was sent")


def mark_stale_sends(settings: Settings, *, actor: str) -> int:
    """Sends left ``sending`` by a process that died become ``unknown`` (to be checked), except
    through the outbox, which can tell: its file is there (``sent``) or it is not (``failed``,
    and the send may be tried again)."""
    with unit_of_work(settings) as session:
        stale = service.stale_sends(session)
        outbox = None
        if stale and settings.email_backend == "outbox":
            from leadline.emails.backends.outbox import OutboxBackend

            outbox = OutboxBackend(settings)
        for email_id in stale:
            if outbox is None:
                service.record_unknown(
                    session, email_id, "the sending process stopped before it learned the outcome", actor=actor
                )
            elif outbox.written(email_id):
                sent = service.record_sent(session, email_id, backend=outbox.name, provider_id=None, actor=actor)
                tasks.action_done(session, sent.prospect_id, "email_sent", actor=actor, cause={"emailId": email_id})
            else:
                reason = "not sent: the sending process stopped before the message was written to the outbox"
                service.record_failed(session, settings, email_id, reason, actor=actor)
    return len(stale)


def send(
    settings: Settings,
    template: str,
    *,
    actor: str,
    prospect_ids: Sequence[str] | None = None,
    filters: Filters | None = None,
    limit: int | None = None,
    force: bool = False,
    dry_run: bool = False,
    backend: Backend | None = None,
    extra: dict[str, Any] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    at: datetime | None = None,
    sender_keys: Sequence[str] | None = None,
) -> SendReport:
    """Send ``template`` to the chosen prospects (at ``at``, by the worker, if given); a dry run only plans.
    ``sender_keys``: the senders (ids or addresses) to rotate across (default: every active one)."""
    if at is not None and at <= utc_now():
        raise Invalid("is not in the future; leave it out to send now", field="at")
    if not dry_run:
        check_sender(settings, backend.name if backend else settings.email_backend)
    with unit_of_work(settings, readonly=True) as session:
        only = senders.selection(session, sender_keys)  # an unknown one: refused before anything changes
    mark_stale_sends(settings, actor=actor)
    with unit_of_work(settings, readonly=True) as session:
        planned = service.plan(
            session, settings, template, prospect_ids=prospect_ids, filters=filters, limit=limit, force=force,
            extra=extra, check_cap=at is None, senders_only=only,
        )  # fmt: skip
    return carry_out(settings, planned, dry_run=dry_run, at=at, backend=backend, force=force, actor=actor,
                     on_progress=on_progress)  # fmt: skip


def compose(settings: Settings, request: ComposeRequest, *, actor: str, backend: Backend | None = None) -> SendReport:
    """Send (or schedule, or only check) an email a person wrote: to a prospect, or in answer to
    their reply, threaded under it (emails.composing). A refusal lists every problem at once: a
    time not in the future and what is wrong with the message (a merge field, the subject...)."""
    at = request.at
    problems: list[Invalid] = []
    if at is not None and at <= utc_now():
        problems.append(Invalid("is not in the future; leave it out to send now", field="at"))
    if not problems:  # else refused below, having changed nothing
        if not request.dry_run:
            check_sender(settings, backend.name if backend else settings.email_backend)
        mark_stale_sends(settings, actor=actor)
    with unit_of_work(settings, readonly=True) as session:
        try:
            written = composing.draft(session, settings, request)
            planned = composing.plan(session, settings, written, force=request.force, check_cap=at is None)
        except Invalid as error:
            raise Invalid.together([*problems, error]) from None
    if problems:
        raise Invalid.together(problems)
    return carry_out(
        settings, planned, dry_run=request.dry_run, at=at, backend=backend, force=request.force, actor=actor,
        thread=(written.in_reply_to, written.thread_root_id),
    )  # fmt: skip


def carry_out(
    settings: Settings,
    planned: service.Plan,
    *,
    dry_run: bool,
    at: datetime | None,
    backend: Backend | None,
    force: bool,
    actor: str,
    on_progress: Callable[[int, int], None] | None = None,
    thread: tuple[str | None, str | None] = (None, None),
) -> SendReport:
    """Do what was planned: report it (a dry run), schedule it (``at``), or send it now, each
    message claimed, sent and recorded in turn. ``thread``: the In-Reply-To and thread root of a reply."""
    in_reply_to, thread_root_id = thread
    template = planned.template.name
    backend_name = backend.name if backend else settings.email_backend
    report = SendReport(template=template, dry_run=dry_run, backend=backend_name, cap_left=planned.cap_left)
    for skip in planned.skipped:
        report.outcomes.append(
            Outcome(skip.prospect_id, skip.name, skip.email, "skipped", detail=skip.reason, code=skip.code)
        )
    if dry_run:
        for failure in planned.failed:
            report.outcomes.append(
                Outcome(failure.prospect_id, failure.name, failure.email, "failed", subject=failure.item.subject,
                        detail=failure.reason, code=failure.code)
            )  # fmt: skip
        for item in planned.items:
            text = item.text if planned.template.name in WRITTEN else None  # what a person wrote, to read again
            report.outcomes.append(
                Outcome(item.prospect_id, item.name, item.to_email, "planned", subject=item.subject, text=text)
            )
        return report
    if not planned.items and not planned.failed:
        return report
    if at is not None:  # the worker sends them then (emails.send_scheduled), with the guardrails and the cap
        record_unbuilt(settings, planned, report, force=force, actor=actor)
        with unit_of_work(settings) as session:
            for item in planned.items:
                email = service.schedule(session, settings, item, planned.template, at, force=force, actor=actor,
                                         in_reply_to=in_reply_to, thread_root_id=thread_root_id)  # fmt: skip
                report.outcomes.append(
                    Outcome(item.prospect_id, item.name, item.to_email, "scheduled", email.id, item.subject,
                            detail=f"at {at.isoformat()}")
                )  # fmt: skip
        return report
    own_backend = backend is None
    try:
        chosen = backend or get_backend(settings)
    except AuthFailed as error:
        raise SendingStopped(f"{error.message}; nothing was sent") from None
    try:
        record_unbuilt(settings, planned, report, force=force, actor=actor)
        for done, item in enumerate(planned.items, start=1):
            report.outcomes.append(
                deliver_waiting(settings, chosen, planned.template, item, force=force, actor=actor,
                                in_reply_to=in_reply_to, thread_root_id=thread_root_id)
            )  # fmt: skip
            if report.outcomes[-1].code == "auth":
                report.stopped = report.outcomes[-1].detail
                for rest in planned.items[done:]:
                    report.outcomes.append(
                        Outcome(rest.prospect_id, rest.name, rest.to_email, "skipped",
                                detail="not attempted: the backend refused our credentials", code="stopped")
                    )  # fmt: skip
                break
            if on_progress:
                on_progress(done, len(planned.items))
    finally:
        if own_backend:
            chosen.close()
    with unit_of_work(settings, readonly=True) as session:
        report.cap_left = cap_left(session, settings)  # what this run left of today's cap
    return report


def record_unbuilt(settings: Settings, planned: service.Plan, report: SendReport, *, force: bool, actor: str) -> None:
    """The messages that cannot be built are recorded ``failed`` (each in its own transaction), and nothing leaves."""
    for failure in planned.failed:
        report.outcomes.append(
            deliver(settings, None, planned.template, failure.item, force=force, actor=actor,
                    unbuildable=failure.reason)
        )  # fmt: skip


def deliver(
    settings: Settings,
    backend: Backend | None,
    template: Any,
    item: service.Planned,
    *,
    force: bool,
    actor: str,
    in_reply_to: str | None = None,
    thread_root_id: str | None = None,
    sequence: tuple[str, int] | None = None,
    unbuildable: str | None = None,
) -> Outcome:
    """Claim, send and record one message (``unbuildable``: only record why it cannot be sent)."""
    with unit_of_work(settings) as session:
        email, skipped = service.claim(
            session, settings, item, template, force=force, actor=actor, in_reply_to=in_reply_to,
            thread_root_id=thread_root_id, sequence=sequence, unbuildable=unbuildable,
        )  # fmt: skip
        if email is None:
            assert skipped is not None
            return Outcome(item.prospect_id, item.name, item.to_email, "skipped", detail=skipped.reason,
                           code=skipped.code, until=skipped.until)  # fmt: skip
        if email.status == "failed":
            return _unbuilt(email, item.name)
        message = service.outgoing(settings, email, item.to_name, service.thread_references(session, email))
        message.api_key_env = senders.credentials_env(session, email.sender_id)
    assert backend is not None, "a message that can be built needs a backend"
    return send_claimed(settings, backend, message, prospect_id=item.prospect_id, name=item.name, actor=actor)


#: The longest a send made now waits for its sender's minimum gap (longer waits are reported skipped).
MAX_INLINE_WAIT = timedelta(minutes=10)


def deliver_waiting(
    settings: Settings, backend: Backend, template: Any, item: service.Planned, **options: Any
) -> Outcome:
    """:func:`deliver`, waiting out the sender's minimum gap between sends when that is all that stops
    it (a batch sent now goes at the senders' pace); a paused sender or a closed window is reported."""
    while True:
        outcome = deliver(settings, backend, template, item, **options)
        wait = (outcome.until - utc_now()) if outcome.code == "sender_gap" and outcome.until else None
        if wait is None or wait > MAX_INLINE_WAIT:
            return outcome
        time.sleep(max(0.05, wait.total_seconds()))


def _unbuilt(email: Any, name: str) -> Outcome:
    log.warning("email %s to %s not sent: %s", email.id, email.prospect_id, email.error)
    return Outcome(email.prospect_id, name, email.to_email, "failed", email.id, email.subject, email.error,
                   "unbuildable")  # fmt: skip


def deliver_scheduled(settings: Settings, backend: Backend, email_id: str, *, actor: str) -> Outcome | None:
    """Send a scheduled email whose time has come (None: someone else took it or it was cancelled)."""
    with unit_of_work(settings) as session:
        email, skipped = service.claim_scheduled(session, settings, email_id, actor=actor)
        if skipped is not None:
            if skipped.code == "cap":
                service.postpone(session, settings, email_id)
                return Outcome(skipped.prospect_id, skipped.name, skipped.email, "skipped", email_id,
                               detail=skipped.reason + "; moved to the next sending day", code="cap")  # fmt: skip
            if skipped.code in WAIT_CODES:  # paused, outside its window or keeping its gap: it stays scheduled
                until = service.postpone(session, settings, email_id, skipped.until)
                return Outcome(skipped.prospect_id, skipped.name, skipped.email, "skipped", email_id,
                               detail=f"{skipped.reason}; waits until {until.isoformat()}", code=skipped.code,
                               until=until)  # fmt: skip
            service.record_failed(session, settings, email_id, f"not sent: {skipped.reason}", actor=actor)
            return Outcome(skipped.prospect_id, skipped.name, skipped.email, "skipped", email_id,
                           detail=skipped.reason, code=skipped.code)  # fmt: skip
        if email is None:
            return None
        prospect = prospects.get(session, email.prospect_id)
        if email.status == "failed":
            return _unbuilt(email, prospect.name)
        message = service.outgoing(settings, email, prospect.contact_name, service.thread_references(session, email))
        message.api_key_env = senders.credentials_env(session, email.sender_id)
        name = prospect.name
    return send_claimed(settings, backend, message, prospect_id=email.prospect_id, name=name, actor=actor)


def deliver_scheduled_waiting(settings: Settings, backend: Backend, email_id: str, *, actor: str) -> Outcome | None:
    """:func:`deliver_scheduled`, waiting out its sender's minimum gap (bounded) rather than a worker's next round."""
    while True:
        outcome = deliver_scheduled(settings, backend, email_id, actor=actor)
        wait = (outcome.until - utc_now()) if outcome and outcome.code == "sender_gap" and outcome.until else None
        if wait is None or wait > MAX_INLINE_WAIT:
            return outcome
        time.sleep(max(0.05, wait.total_seconds()))


def resolve(settings: Settings, email_id: str, *, sent: bool, actor: str) -> Any:
    """``emails resolve`` / ``POST /api/emails/{id}/resolve``: settle a send whose outcome was unknown; one
    found to have gone out completes the prospect's follow-up tasks, like any sent email."""
    with unit_of_work(settings) as session:
        email = service.resolve(session, settings, email_id, sent=sent, actor=actor)
        if email.status == "sent":
            tasks.action_done(session, email.prospect_id, "email_sent", actor=actor, cause={"emailId": email.id})
    return email


def send_claimed(
    settings: Settings, backend: Backend, message: Any, *, prospect_id: str, name: str, actor: str
) -> Outcome:
    """Hand a claimed message to the backend and record what happened (see the module notes)."""
    email_id, to, subject = message.email_id, message.to_email, message.subject
    try:
        accepted = backend.send(message)
    except AuthFailed as error:
        with unit_of_work(settings) as session:
            service.record_failed(session, settings, email_id, error.message, actor=actor)
        return Outcome(prospect_id, name, to, "failed", email_id, subject, error.message, "auth")
    except Rejected as error:
        with unit_of_work(settings) as session:
            service.record_failed(session, settings, email_id, error.message, actor=actor)
        return Outcome(prospect_id, name, to, "failed", email_id, subject, error.message)
    except Unknown as error:
        with unit_of_work(settings) as session:
            service.record_unknown(session, email_id, error.message, actor=actor)
        return Outcome(prospect_id, name, to, "unknown", email_id, subject, error.message)
    except Exception as error:  # a backend's own bug: it may have got as far as sending, so never resent
        log.exception("the %s backend failed on email %s", backend.name, email_id)
        reason = f"the {backend.name} backend failed ({type(error).__name__}); it may have been sent"
        with unit_of_work(settings) as session:
            service.record_unknown(session, email_id, reason, actor=actor)
        return Outcome(prospect_id, name, to, "unknown", email_id, subject, reason)
    with unit_of_work(settings) as session:
        service.record_sent(session, email_id, backend=backend.name, provider_id=accepted.provider_id, actor=actor)
        tasks.action_done(session, prospect_id, "email_sent", actor=actor, cause={"emailId": email_id})
    return Outcome(prospect_id, name, to, "sent", email_id, subject)
