"""Sending, as the database sees it: claiming a send (the guardrails again, one send from
the cap), scheduling, and recording what happened (sent, failed, unknown, a reply), with
the timeline entry, the stage move and the prospect's counters in the same transaction.

Talking to the backend between the claim and the record is ``emails/flows.py``'s work."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from leadline import jobs
from leadline.activity import service as activity
from leadline.clock import utc_now
from leadline.config import Settings
from leadline.emails import templates
from leadline.emails.message import MAX_SUBJECT, footer_text, unsubscribe_url
from leadline.emails.models import EmailActivity
from leadline.emails.planning import WRITTEN, Planned, Skipped, new_email, rewrite, unsendable, why_not
from leadline.emails.quota import local_day, release_quota, reserve_quota
from leadline.emails.reading import SENT_STATES, get
from leadline.errors import Conflict, Invalid
from leadline.prospects import service as prospects
from leadline.prospects.models import Prospect
from leadline.senders import service as senders
from leadline.senders.models import Sender
from leadline.sequences import stops as sequences
from leadline.sequences.windows import next_day_start


def claim(
    session: Session,
    settings: Settings,
    item: Planned,
    template: templates.EmailTemplate,
    *,
    force: bool,
    actor: str,
    in_reply_to: str | None = None,
    thread_root_id: str | None = None,
    sequence: tuple[str, int] | None = None,
    unbuildable: str | None = None,
) -> tuple[EmailActivity | None, Skipped | None]:
    """Record that ``item`` is about to be sent (status ``sending``) and take one send from
    today's cap. Guardrails are checked again: they may have changed since the plan. A
    sequence step (``sequence`` = (enrollment id, step)) can be claimed only once.

    The message is built first: one that cannot be (``unbuildable`` says why, or building it
    fails now) is recorded ``failed`` with the reason and takes nothing from the cap."""
    prospect = prospects.get(session, item.prospect_id, for_update=True)
    blocked = why_not(session, prospect, template.name, force=force, written=(item.subject, item.text))
    if blocked is not None:
        return None, blocked
    now = utc_now()
    email = new_email(
        settings, item, template, status="sending", force=force, now=now, in_reply_to=in_reply_to,
        thread_root_id=thread_root_id, send_attempted_at=now,
        sequence_enrollment_id=sequence[0] if sequence else None, sequence_step=sequence[1] if sequence else None,
    )  # fmt: skip
    why = unbuildable or unsendable(settings, email, item.to_name)
    if why is not None:
        email.status, email.error, email.failed_at, email.send_attempted_at = "failed", why, now, None
        # kept as it was, as far as the columns allow (NUL is no text to PostgreSQL)
        email.subject = email.subject[:MAX_SUBJECT].replace("\x00", "\ufffd")
        email.body_text = email.body_text.replace("\x00", "\ufffd")
        email.body_html = (email.body_html or "").replace("\x00", "\ufffd") or None
    else:
        full = _take_slot(session, settings, prospect, email, only=item.senders)
        if full is not None:
            return None, full
        why = rewrite(settings, email, item, template, prospect, session.get(Sender, email.sender_id))
        if why is not None:  # it cannot be written as the sender that took it: failed, its send given back
            release_quota(session, local_day(settings, now))
            senders.release(session, email.sender_id, local_day(settings, now))
            email.status, email.error, email.failed_at, email.send_attempted_at = "failed", why, now, None
    try:
        with session.begin_nested():
            session.add(email)
            session.flush()
    except IntegrityError:
        if email.status == "sending":
            release_quota(session, local_day(settings, now))
            senders.release(session, email.sender_id, local_day(settings, now))
        return None, Skipped(prospect.id, prospect.name, prospect.email,
                             "this sequence step was already claimed by another worker", "claimed")  # fmt: skip
    if why is not None:
        _record_failure(session, email, why, actor=actor)
    return email, None


def _take_slot(
    session: Session, settings: Settings, prospect: Prospect, email: EmailActivity, *,
    only: Sequence[str] | None = None, pinned: str | None = None,
) -> Skipped | None:  # fmt: skip
    """Take one send from the day's ceiling across every sender (LEADLINE_DAILY_SEND_LIMIT), then choose
    the email's sender and take one from its cap today (senders.take: the thread's own sender, else
    ``pinned``, else the rotation over the selection ``only``; its status, window and gap checked now),
    or say why not and until when. The email's sender is set; its words are the caller's to rewrite."""
    now = utc_now()
    day = local_day(settings, now)
    if not reserve_quota(session, settings, day):
        return Skipped(prospect.id, prospect.name, prospect.email, senders.cap_reason(session, settings, only), "cap")
    taken = senders.take(session, settings, prospect.id, now=now, only=only, pinned=pinned)
    if isinstance(taken, senders.Wait):
        release_quota(session, day)
        return Skipped(prospect.id, prospect.name, prospect.email, taken.reason, taken.code, taken.until)
    email.sender_id, email.from_email, email.from_name = taken.id, taken.email, taken.name
    return None


def schedule(
    session: Session,
    settings: Settings,
    item: Planned,
    template: templates.EmailTemplate,
    at: datetime,
    *,
    force: bool,
    actor: str,
    in_reply_to: str | None = None,
    thread_root_id: str | None = None,
) -> EmailActivity:
    """An email to be sent at ``at`` (the worker claims it then, with the guardrails and the cap)."""
    now = utc_now()
    email = new_email(settings, item, template, status="scheduled", force=force, now=now, scheduled_at=at,
                      in_reply_to=in_reply_to, thread_root_id=thread_root_id)  # fmt: skip
    # written as the sender it will go from (planning: the thread's, else the batch's turn of the rotation):
    # the claim keeps it to that sender, which it waits for when paused
    email.sender_id = item.written_as.id if item.written_as else None
    email_id = email.id
    session.add(email)
    activity.record(
        session, item.prospect_id, "email", "scheduled",
        {"emailId": email_id, "template": template.name, "subject": item.subject, "scheduledAt": at.isoformat()},
        actor=actor,
    )  # fmt: skip
    session.flush()
    jobs.defer(session, "emails.send_scheduled", delay=at - now)
    return email


def claim_scheduled(
    session: Session, settings: Settings, email_id: str, *, actor: str
) -> tuple[EmailActivity | None, Skipped | None]:
    """Take a scheduled email whose time has come: ``scheduled`` -> ``sending``, once. One whose
    message cannot be built now (the contact name changed since) is ``failed`` with the reason,
    taking nothing from the cap."""
    email = get(session, email_id, for_update=True)
    if email.status != "scheduled":
        return None, None  # another worker took it, or a person cancelled it
    prospect = prospects.get(session, email.prospect_id, for_update=True)
    footer = footer_text(settings, unsubscribe_url(settings, email.id), email.from_name)
    written = (email.subject, email.body_text.removesuffix(footer))
    blocked = why_not(session, prospect, email.template, force=email.forced, exclude_email_id=email.id, written=written)
    if blocked is not None:
        return None, blocked
    why = unsendable(settings, email, prospect.contact_name)
    if why is not None:
        return record_failed(session, settings, email.id, why, actor=actor), None
    full = _take_slot(session, settings, prospect, email, pinned=email.sender_id)
    if full is not None:
        return None, full
    now = utc_now()
    email.status = "sending"
    email.send_attempted_at = now
    email.updated_at = now
    return email, None


def postpone(session: Session, settings: Settings, email_id: str, until: datetime | None = None) -> datetime:
    """The cap is used up today: the scheduled email waits for the next sending day's window (or, its
    sender paused, outside its window or keeping its gap, until ``until``). It stays scheduled."""
    email = get(session, email_id, for_update=True)
    email.scheduled_at = until or next_day_start(settings, settings.zone, utc_now())
    return email.scheduled_at


def cancel(session: Session, email_id: str, *, actor: str) -> EmailActivity:
    email = get(session, email_id, for_update=True)
    if email.status != "scheduled":
        raise Conflict(f"{email_id} is {email.status}; only a scheduled email can be cancelled", field="emailId")
    email.status = "cancelled"
    activity.record(session, email.prospect_id, "email", "cancelled", {"emailId": email.id,
                    "template": email.template}, actor=actor)  # fmt: skip
    return email


def recount(session: Session, prospect_id: str) -> None:
    """Set the prospect's email counters from the email rows (never a blind +1)."""
    recount_many(session, [prospect_id])


def recount_many(session: Session, prospect_ids: Iterable[str]) -> None:
    """emailsSentCount = emails the backend accepted (sentAt set); emailsOpenedCount = emails opened.

    Counted by the database (one query per 500 prospects) and stored by the prospects service,
    which owns the counters."""
    ids = sorted(set(prospect_ids))
    if not ids:
        return
    session.flush()
    counts = dict.fromkeys(ids, (0, 0))
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(EmailActivity.prospect_id, func.count(EmailActivity.sent_at), func.count(EmailActivity.opened_at))
            .where(EmailActivity.prospect_id.in_(ids[start : start + 500]))
            .group_by(EmailActivity.prospect_id)
        )
        counts.update({prospect_id: (int(sent), int(opened)) for prospect_id, sent, opened in rows})
    prospects.set_email_counts(session, counts)


def record_sent(
    session: Session,
    email_id: str,
    *,
    backend: str,
    provider_id: str | None,
    actor: str,
    at: datetime | None = None,
) -> EmailActivity:
    """The backend took the message: timeline, stage new -> contacted, counters, together."""
    email = get(session, email_id, for_update=True)
    if email.status not in ("sending", "unknown"):
        return email  # recorded already (a retried job, or a webhook got there first)
    moment = at or utc_now()
    email.status = "sent"
    email.backend = backend
    email.sendgrid_id = provider_id or email.sendgrid_id
    email.sent_at = email.sent_at or moment
    email.error = None
    entry = activity.record(
        session, email.prospect_id, "email", "sent",
        {"emailId": email.id, "template": email.template, "subject": email.subject, "to": email.to_email,
         "sentAt": email.sent_at.isoformat(), "sendgridId": email.sendgrid_id, "backend": backend},
        actor=actor, at=email.sent_at,
    )  # fmt: skip
    session.flush()
    email.outreach_activity_id = entry.id
    prospect = prospects.get(session, email.prospect_id, for_update=True)
    prospects.advance(session, prospect, "contacted", actor=actor, cause={"emailId": email.id}, at=email.sent_at)
    prospects.touch_contact(prospect, email.sent_at)
    if email.template in WRITTEN:  # a person wrote to them: the automatic sequence steps aside
        sequences.stop_for_prospect(session, prospect.id, "a person wrote to them", actor=actor)
    recount(session, prospect.id)
    return email


def record_failed(session: Session, settings: Settings, email_id: str, reason: str, *, actor: str) -> EmailActivity:
    """Definitely not sent: keep why, and give the send back to today's cap."""
    email = get(session, email_id, for_update=True)
    if email.status not in ("sending", "unknown", "scheduled", "pending"):
        return email
    was_claimed = email.status in ("sending", "unknown")
    email.status = "failed"
    email.error = reason
    email.failed_at = utc_now()
    if was_claimed and email.send_attempted_at is not None:
        release_quota(session, local_day(settings, email.send_attempted_at))
        senders.release(session, email.sender_id, local_day(settings, email.send_attempted_at))
    _record_failure(session, email, reason, actor=actor)
    return email


def _record_failure(session: Session, email: EmailActivity, reason: str, *, actor: str) -> None:
    activity.record(
        session, email.prospect_id, "email", "failed",
        {"emailId": email.id, "template": email.template, "subject": email.subject, "error": reason},
        actor=actor,
    )  # fmt: skip


def record_unknown(session: Session, email_id: str, reason: str, *, actor: str) -> EmailActivity:
    """Maybe sent. Shown for a person to check (``leadline emails list --status unknown``); never resent."""
    email = get(session, email_id, for_update=True)
    if email.status != "sending":
        return email
    email.status = "unknown"
    email.error = reason
    activity.record(
        session, email.prospect_id, "email", "unknown",
        {"emailId": email.id, "template": email.template, "subject": email.subject, "error": reason},
        actor=actor,
    )  # fmt: skip
    return email


def resolve(session: Session, settings: Settings, email_id: str, *, sent: bool, actor: str) -> EmailActivity:
    """A person checked an ``unknown`` email: it went out, or it did not."""
    email = get(session, email_id, for_update=True)
    if email.status != "unknown":
        raise Conflict(f"{email_id} is {email.status}, not unknown; only unknown emails are resolved", field="emailId")
    if sent:
        return record_sent(
            session, email_id, backend=email.backend or "unknown", provider_id=email.sendgrid_id,
            actor=actor, at=email.send_attempted_at,
        )  # fmt: skip
    return record_failed(session, settings, email_id, "checked by a person: it was not sent", actor=actor)


def record_reply(
    session: Session,
    email_id: str,
    text: str,
    *,
    actor: str,
    at: datetime | None = None,
    source: str = "manual",
) -> EmailActivity:
    """A reply to ``email_id`` (logged by hand, or from Inbound Parse): replied, prospect replied."""
    body = (text or "").strip()
    if not body:
        raise Invalid("the reply text is empty", field="text")
    email = get(session, email_id, for_update=True)
    if email.status not in SENT_STATES:
        raise Conflict(f"{email_id} was not sent ({email.status}); a reply needs a sent email", field="emailId")
    moment = at or utc_now()
    first = email.replied_at is None
    if first or moment < (email.replied_at or moment):
        email.replied_at = moment
    email.reply_text = body if first else email.reply_text
    email.status = "replied"  # the highest state: a person answered
    activity.record(
        session, email.prospect_id, "reply", "received",
        {"emailId": email.id, "text": body[:2000], "source": source, "subject": email.subject},
        actor=actor, at=moment,
    )  # fmt: skip
    if email.outreach_activity_id:
        activity.update_status(session, email.outreach_activity_id, "replied", repliedAt=moment.isoformat())
    prospect = prospects.get(session, email.prospect_id, for_update=True)
    prospects.advance(session, prospect, "replied", actor=actor, cause={"emailId": email.id}, at=moment)
    prospects.touch_contact(prospect, moment)
    recount(session, prospect.id)
    sequences.stop_for_prospect(session, prospect.id, "replied", actor=actor)
    return email
