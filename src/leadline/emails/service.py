"""Email rules: who may be emailed, claiming a send, recording its outcome, replies.

Services never commit. Sending spans several transactions on purpose (claim, talk to
the backend, record the outcome); that choreography lives in ``emails/sending.py``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from leadline import jsonin
from leadline.activity import service as activity
from leadline.clock import utc_now
from leadline.config import Settings
from leadline.emails import templates
from leadline.emails.message import (
    HEADER_CONTROL,
    MAX_SUBJECT,
    Outgoing,
    problem,
    sender_domain,
    shown,
    unsubscribe_url,
    with_footer,
)
from leadline.emails.models import DailySendCount, EmailActivity, Suppression
from leadline.errors import Conflict, Invalid, NotFound
from leadline.ids import new_id
from leadline.prospects import service as prospects
from leadline.prospects.models import Prospect
from leadline.prospects.queries import Filters

#: Statuses of an email that went out (what emailsSentCount counts).
SENT_STATES = ("sent", "delivered", "opened", "clicked", "replied", "bounced")
#: An email in one of these does not stop the same template being sent again.
RETRYABLE_STATES = ("failed", "cancelled")
#: How long a claimed send may stay "sending" before a crash is assumed.
STALE_AFTER = timedelta(minutes=10)


class EmailNotFound(NotFound):
    pass


# --- suppressions ----------------------------------------------------------------------------


def normalise_address(address: str) -> str:
    return address.strip().lower()


def suppression_for(session: Session, address: str | None) -> Suppression | None:
    if not address:
        return None
    return session.get(Suppression, normalise_address(address))


def suppress(
    session: Session,
    address: str,
    reason: str,
    *,
    source: str,
    actor: str,
    note: str | None = None,
    email_id: str | None = None,
    at: datetime | None = None,
) -> bool:
    """Never email ``address`` again. True if it was not suppressed before.

    Prospects with that address are marked do-not-contact, unless a person added the
    suppression by hand (then only the address is blocked).
    """
    from leadline.emails.models import SUPPRESSION_REASONS

    key = normalise_address(address)
    if reason not in SUPPRESSION_REASONS:
        raise Invalid(f"reason must be one of {', '.join(SUPPRESSION_REASONS)}", field="reason")
    if not prospects_schemas_email_ok(key):
        raise Invalid(f"{address!r} is not a valid email address", field="email")
    existing = session.get(Suppression, key)
    if existing is not None:
        return False
    session.add(
        Suppression(
            email=key, reason=reason, source=source[:200], note=note, email_activity_id=email_id,
            created_at=at or utc_now(),
        )
    )  # fmt: skip
    for prospect in session.scalars(select(Prospect).where(Prospect.email == key)):
        activity.record(
            session, prospect.id, "suppression", "added",
            {"email": key, "reason": reason, "source": source, "note": note, "emailId": email_id},
            actor=actor, at=at,
        )  # fmt: skip
        if reason != "manual":
            prospects.set_do_not_contact(session, prospect, _dnc_reason(reason), actor=actor)
        prospects.stop_sequences(session, prospect.id, f"the address is suppressed ({reason})", actor=actor)
    session.flush()
    return True


def _dnc_reason(reason: str) -> str:
    return {
        "hard_bounce": "the address bounced",
        "spam_report": "reported our email as spam",
        "unsubscribe": "unsubscribed",
        "group_unsubscribe": "unsubscribed from the email group",
        "invalid": "invalid address",
    }.get(reason, reason)


def prospects_schemas_email_ok(address: str) -> bool:
    from leadline.prospects.schemas import EMAIL_RE

    return bool(EMAIL_RE.match(address))


def lift_suppression(session: Session, address: str, *, actor: str, reason: str | None = None) -> Suppression:
    """Allow ``address`` again (a person decided, or SendGrid reported a resubscribe)."""
    key = normalise_address(address)
    row = session.get(Suppression, key)
    if row is None:
        raise NotFound(f"{key} is not suppressed", field="email")
    session.delete(row)
    for prospect in session.scalars(select(Prospect).where(Prospect.email == key)):
        activity.record(
            session, prospect.id, "suppression", "lifted",
            {"email": key, "was": row.reason, "reason": reason}, actor=actor,
        )  # fmt: skip
    session.flush()
    return row


EVENT_SOURCE = "sendgrid events"


def suppress_from_events(
    session: Session, address: str, reason: str, *, at: datetime, email_id: str | None, actor: str
) -> None:
    """What SendGrid's events say, made true: the same result whatever order they came in.

    The first time, this is :func:`suppress`. Later events can only change the recorded
    reason of a suppression they made (the earliest event wins), never a person's one.
    """
    key = normalise_address(address)
    existing = session.get(Suppression, key)
    if existing is None:
        suppress(session, key, reason, source=EVENT_SOURCE, actor=actor, email_id=email_id, at=at)
        return
    if existing.source != EVENT_SOURCE or (existing.reason, existing.created_at) == (reason, at):
        return
    old = existing.reason
    existing.reason, existing.created_at, existing.email_activity_id = reason, at, email_id
    for prospect in session.scalars(select(Prospect).where(Prospect.email == key)):
        if prospect.do_not_contact and prospect.do_not_contact_reason == _dnc_reason(old):
            prospect.do_not_contact_reason = _dnc_reason(reason)


def lift_event_suppression(session: Session, address: str, reason: str, *, actor: str) -> bool:
    """SendGrid says the address opted back in: lift a suppression of that kind (never a
    person's), and the do-not-contact mark it caused."""
    key = normalise_address(address)
    row = session.get(Suppression, key)
    if row is None or row.reason != reason or row.source != EVENT_SOURCE:
        return False
    lift_suppression(session, key, actor=actor, reason="resubscribed")
    for prospect in session.scalars(select(Prospect).where(Prospect.email == key)):
        if prospect.do_not_contact and prospect.do_not_contact_reason == _dnc_reason(reason):
            prospect.do_not_contact = False
            prospect.do_not_contact_reason = None
            activity.record(session, prospect.id, "do_not_contact", "lifted", {"reason": "resubscribed"}, actor=actor)
    return True


def suppressions(session: Session) -> Sequence[Suppression]:
    return session.scalars(select(Suppression).order_by(Suppression.created_at.desc(), Suppression.email)).all()


# --- the daily cap ---------------------------------------------------------------------------


def _today(settings: Settings, at: datetime | None = None) -> date:
    return (at or utc_now()).astimezone(settings.zone).date()


def sent_today(session: Session, settings: Settings) -> int:
    row = session.get(DailySendCount, _today(settings))
    return row.sent if row else 0


def reserve_quota(session: Session, settings: Settings, day: date) -> bool:
    """Take one send from ``day``'s cap, atomically across processes. False when it is used up."""
    from leadline.db import insert_ignore

    session.execute(insert_ignore(session, DailySendCount, {"day": day, "sent": 0}, ["day"]))
    taken = session.execute(
        update(DailySendCount)
        .where(DailySendCount.day == day, DailySendCount.sent < settings.daily_send_limit)
        .values(sent=DailySendCount.sent + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(taken.rowcount)  # type: ignore[attr-defined]


def release_quota(session: Session, day: date) -> None:
    session.execute(
        update(DailySendCount)
        .where(DailySendCount.day == day, DailySendCount.sent > 0)
        .values(sent=DailySendCount.sent - 1)
        .execution_options(synchronize_session=False)
    )


# --- planning --------------------------------------------------------------------------------


@dataclass
class Planned:
    prospect_id: str
    name: str
    to_email: str
    to_name: str | None
    subject: str
    text: str
    html: str | None


@dataclass
class Skipped:
    prospect_id: str
    name: str
    email: str | None
    reason: str
    code: str


@dataclass
class Unbuilt:
    """A message that cannot be built for this prospect (a template error, a bad stored value):
    it fails alone, recorded as a failed email, and takes nothing from the cap."""

    prospect_id: str
    name: str
    email: str | None
    reason: str
    item: Planned  # what was rendered (the template's own subject and no body when rendering failed)
    code: str = "unbuildable"


@dataclass
class Plan:
    template: templates.EmailTemplate
    items: list[Planned] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    failed: list[Unbuilt] = field(default_factory=list)
    cap_left: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def why_not(
    session: Session, prospect: Prospect, template_name: str, *, force: bool, exclude_email_id: str | None = None
) -> Skipped | None:
    """The guardrail that stops ``prospect`` getting ``template_name``, or None."""

    def skip(code: str, reason: str) -> Skipped:
        return Skipped(prospect.id, prospect.name, prospect.email, reason, code)

    if not prospect.email:
        return skip("no_email", "has no email address")
    if prospect.do_not_contact:
        return skip(
            "do_not_contact",
            f"is marked do-not-contact ({prospect.do_not_contact_reason or 'no reason given'})",
        )
    blocked = suppression_for(session, prospect.email)
    if blocked is not None:
        when = blocked.created_at.date().isoformat()
        return skip("suppressed", f"{prospect.email} is suppressed ({blocked.reason.replace('_', ' ')}, {when})")
    if not force:
        earlier = session.scalar(
            select(EmailActivity)
            .where(
                EmailActivity.prospect_id == prospect.id,
                EmailActivity.template == template_name,
                EmailActivity.status.not_in(RETRYABLE_STATES),
                EmailActivity.id != (exclude_email_id or ""),
            )
            .limit(1)
        )
        if earlier is not None:
            when = (earlier.sent_at or earlier.created_at).date().isoformat()
            return skip("already_sent", f"already got {template_name} ({earlier.id}, {when}); --force sends it again")
    return None


def plan(
    session: Session,
    settings: Settings,
    template_name: str,
    *,
    prospect_ids: Sequence[str] | None = None,
    filters: Filters | None = None,
    limit: int | None = None,
    force: bool = False,
    extra: dict[str, Any] | None = None,
    check_cap: bool = True,
) -> Plan:
    """Who would get what. Every message is rendered and built here, so a missing merge field
    stops the whole run before anything is sent; guardrails skip prospects with a reason; a
    message that cannot be built (a template error for this prospect, a line break in a
    header) is in ``failed`` with its reason, and the others go on."""
    template = templates.load(settings, template_name)
    result = Plan(template=template, extra=dict(extra or {}))
    if prospect_ids:
        candidates = [prospects.get(session, pid) for pid in dict.fromkeys(prospect_ids)]
    elif filters is not None:
        if limit is None:
            raise Invalid("give --limit with a selection (at most how many to send)", field="limit")
        candidates = _select(session, filters)
    else:
        raise Invalid(
            "choose prospects: --prospect ID, or a selection such as --status new --limit 25",
            field="prospectIds",
        )
    left = max(0, settings.daily_send_limit - sent_today(session, settings))
    result.cap_left = left
    missing: list[templates.MissingMergeField] = []
    for prospect in candidates:
        if limit is not None and len(result.items) >= limit:
            break
        blocked = why_not(session, prospect, template_name, force=force)
        if blocked is not None:
            result.skipped.append(blocked)
            continue
        assert prospect.email is not None
        try:
            rendered = templates.render(template, prospect, settings, result.extra)
        except templates.MissingMergeField as error:
            missing.append(error)
            continue
        except templates.TemplateForbidden:
            raise  # a hostile template: the whole run is refused, nothing is written
        except templates.TemplateError as error:  # this prospect's values trip the template: fails alone
            stand_in = Planned(prospect.id, prospect.name, prospect.email, prospect.contact_name,
                               template.subject[:MAX_SUBJECT], "", None)  # fmt: skip
            result.failed.append(Unbuilt(prospect.id, prospect.name, prospect.email, error.message, stand_in))
            continue
        item = Planned(prospect.id, prospect.name, prospect.email, prospect.contact_name, rendered.subject,
                       rendered.text, rendered.html)  # fmt: skip
        draft = _new_email(settings, item, template, status="sending", force=force, now=utc_now())
        why = unsendable(settings, draft, item.to_name)
        if why is not None:
            result.failed.append(Unbuilt(prospect.id, prospect.name, prospect.email, why, item))
            continue
        if check_cap and len(result.items) >= left:
            result.skipped.append(
                Skipped(prospect.id, prospect.name, prospect.email,
                        f"over the daily cap of {settings.daily_send_limit} (LEADLINE_DAILY_SEND_LIMIT)", "cap")
            )  # fmt: skip
            continue
        result.items.append(item)
    if missing:
        raise Invalid(
            "; ".join(m.message for m in missing[:20])
            + (f" (and {len(missing) - 20} more)" if len(missing) > 20 else "")
            + "; nothing was sent",
            field=missing[0].field_name,
            errors=[{"field": m.field_name, "message": m.message, "prospectId": m.prospect_id} for m in missing],
        )  # fmt: skip
    return result


def _select(session: Session, filters: Filters) -> list[Prospect]:
    """Prospects matching ``filters``, biggest opportunity first (tier, then weakest grid health)."""
    from sqlalchemy import text

    from leadline.prospects import queries

    where, params = queries.where_clause(filters)
    sql = f"SELECT * FROM prospects{where} ORDER BY tier, COALESCE(grid_health, 101), id"
    return list(session.scalars(select(Prospect).from_statement(text(sql).bindparams(**params))))


# --- claiming and recording ------------------------------------------------------------------


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
    from sqlalchemy.exc import IntegrityError

    prospect = prospects.get(session, item.prospect_id, for_update=True)
    blocked = why_not(session, prospect, template.name, force=force)
    if blocked is not None:
        return None, blocked
    now = utc_now()
    email = _new_email(
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
        full = _take_slot(session, settings, prospect)
        if full is not None:
            return None, full
    try:
        with session.begin_nested():
            session.add(email)
            session.flush()
    except IntegrityError:
        if why is None:
            release_quota(session, _today(settings, now))
        return None, Skipped(prospect.id, prospect.name, prospect.email,
                             "this sequence step was already claimed by another worker", "claimed")  # fmt: skip
    if why is not None:
        _record_failure(session, email, why, actor=actor)
    return email, None


def unsendable(settings: Settings, email: EmailActivity, to_name: str | None) -> str | None:
    """Why the message for ``email`` cannot be sent as it stands (None: it can). See message.problem."""
    from leadline.prospects.schemas import EMAIL_RE

    address = email.to_email
    if not HEADER_CONTROL.search(address) and (len(address) > 320 or not EMAIL_RE.fullmatch(address)):
        return f"the email address {shown(address)} is not a valid address"
    return problem(outgoing(settings, email, to_name))


def _take_slot(session: Session, settings: Settings, prospect: Prospect) -> Skipped | None:
    """One send from today's cap, or why there is none."""
    if not reserve_quota(session, settings, _today(settings)):
        return Skipped(prospect.id, prospect.name, prospect.email,
                       f"the daily cap of {settings.daily_send_limit} is used up", "cap")  # fmt: skip
    return None


def _new_email(
    settings: Settings,
    item: Planned,
    template: templates.EmailTemplate,
    *,
    status: str,
    force: bool,
    now: datetime,
    thread_root_id: str | None = None,
    **fields: Any,
) -> EmailActivity:
    """The row for an email about to go out (or scheduled): footer, reply address, Message-ID, thread."""
    email_id = new_id("email")
    text, html = with_footer(settings, unsubscribe_url(settings, email_id), item.text, item.html)
    return EmailActivity(
        id=email_id, prospect_id=item.prospect_id, message_id=f"<{email_id}@{sender_domain(settings)}>",
        email_type=template.email_type, template=template.name, subject=item.subject, to_email=item.to_email,
        from_email=settings.sender_email, body_text=text, body_html=html, thread_root_id=thread_root_id or email_id,
        reply_to=f"reply+{email_id}@{settings.reply_domain}" if settings.reply_domain else None,
        status=status, forced=force, created_at=now, updated_at=now, **fields,
    )  # fmt: skip


def schedule(
    session: Session,
    settings: Settings,
    item: Planned,
    template: templates.EmailTemplate,
    at: datetime,
    *,
    force: bool,
    actor: str,
) -> EmailActivity:
    """An email to be sent at ``at`` (the worker claims it then, with the guardrails and the cap)."""
    now = utc_now()
    email = _new_email(settings, item, template, status="scheduled", force=force, now=now, scheduled_at=at)
    email_id = email.id
    session.add(email)
    activity.record(
        session, item.prospect_id, "email", "scheduled",
        {"emailId": email_id, "template": template.name, "subject": item.subject, "scheduledAt": at.isoformat()},
        actor=actor,
    )  # fmt: skip
    session.flush()
    from leadline import jobs

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
    blocked = why_not(session, prospect, email.template, force=email.forced, exclude_email_id=email.id)
    if blocked is not None:
        return None, blocked
    why = unsendable(settings, email, prospect.contact_name)
    if why is not None:
        return record_failed(session, settings, email.id, why, actor=actor), None
    full = _take_slot(session, settings, prospect)
    if full is not None:
        return None, full
    now = utc_now()
    email.status = "sending"
    email.send_attempted_at = now
    email.updated_at = now
    return email, None


def postpone(session: Session, settings: Settings, email_id: str) -> datetime:
    """The cap is used up today: the scheduled email waits for the next sending day's window."""
    from leadline.sequences.windows import next_day_start

    email = get(session, email_id, for_update=True)
    email.scheduled_at = next_day_start(settings, settings.zone, utc_now())
    return email.scheduled_at


def due_scheduled(session: Session, *, limit: int = 200) -> list[str]:
    return list(
        session.scalars(
            select(EmailActivity.id)
            .where(EmailActivity.status == "scheduled", EmailActivity.scheduled_at <= utc_now())
            .order_by(EmailActivity.scheduled_at, EmailActivity.id)
            .limit(limit)
        )
    )


def for_sequence_step(session: Session, enrollment_id: str, step: int) -> EmailActivity | None:
    return session.scalar(
        select(EmailActivity).where(
            EmailActivity.sequence_enrollment_id == enrollment_id, EmailActivity.sequence_step == step
        )
    )


@dataclass
class SinceFacts:
    replied: bool
    bounced: bool


def first_sent(session: Session, prospect_id: str, template_name: str) -> EmailActivity | None:
    """The first email of ``template_name`` that went out to the prospect, if any."""
    return session.scalar(
        select(EmailActivity)
        .where(
            EmailActivity.prospect_id == prospect_id,
            EmailActivity.template == template_name,
            EmailActivity.sent_at.is_not(None),
            EmailActivity.status.in_(SENT_STATES),
        )
        .order_by(EmailActivity.sent_at)
        .limit(1)
    )


def since(session: Session, prospect_id: str, moment: datetime) -> SinceFacts:
    """Did the prospect reply, or did an email to them bounce, since ``moment``?"""
    replied = session.scalar(
        select(func.count()).where(EmailActivity.prospect_id == prospect_id, EmailActivity.replied_at >= moment)
    )
    bounced = session.scalar(
        select(func.count()).where(EmailActivity.prospect_id == prospect_id, EmailActivity.bounced_at >= moment)
    )
    return SinceFacts(replied=bool(replied), bounced=bool(bounced))


def cancel(session: Session, email_id: str, *, actor: str) -> EmailActivity:
    email = get(session, email_id, for_update=True)
    if email.status != "scheduled":
        raise Conflict(f"{email_id} is {email.status}; only a scheduled email can be cancelled", field="emailId")
    email.status = "cancelled"
    activity.record(session, email.prospect_id, "email", "cancelled", {"emailId": email.id,
                    "template": email.template}, actor=actor)  # fmt: skip
    return email


def outgoing(settings: Settings, email: EmailActivity, to_name: str | None) -> Outgoing:
    """The message a backend sends for a claimed email (headers, footer, threading)."""
    references = [email.in_reply_to] if email.in_reply_to else []
    return Outgoing(
        email_id=email.id, to_email=email.to_email, to_name=to_name, from_email=email.from_email,
        from_name=settings.sender_name, subject=email.subject, text=email.body_text, html=email.body_html or "",
        message_id=email.message_id or f"<{email.id}@{sender_domain(settings)}>", template=email.template,
        unsubscribe_url=unsubscribe_url(settings, email.id), reply_to=email.reply_to,
        in_reply_to=email.in_reply_to, references=references, date=email.send_attempted_at,
    )  # fmt: skip


def get(session: Session, email_id: str, *, for_update: bool = False) -> EmailActivity:
    query = select(EmailActivity).where(EmailActivity.id == email_id)
    if for_update:
        query = query.with_for_update()
    email = session.scalar(query)
    if email is None:
        raise EmailNotFound(f"no email with id {email_id!r}", field="emailId")
    return email


def recount(session: Session, prospect_id: str) -> None:
    """Set the prospect's email counters from the email rows (never a blind +1)."""
    recount_many(session, [prospect_id])


def recount_many(session: Session, prospect_ids: Iterable[str]) -> None:
    """emailsSentCount = emails the backend accepted (sentAt set); emailsOpenedCount = emails opened.

    Counted by the database, in one statement per 500 prospects."""
    ids = sorted(set(prospect_ids))
    if not ids:
        return
    session.flush()
    emails_t, prospects_t = _table("email_activities"), _table("prospects")
    sent = select(func.count(emails_t.c.sent_at)).where(emails_t.c.prospect_id == prospects_t.c.id).scalar_subquery()
    opened = (
        select(func.count(emails_t.c.opened_at)).where(emails_t.c.prospect_id == prospects_t.c.id).scalar_subquery()
    )
    for start in range(0, len(ids), 500):
        session.execute(
            update(prospects_t)
            .where(prospects_t.c.id.in_(ids[start : start + 500]))
            .where((prospects_t.c.emails_sent_count != sent) | (prospects_t.c.emails_opened_count != opened))
            .values(emails_sent_count=sent, emails_opened_count=opened),
            execution_options={"synchronize_session": False},
        )
    session.expire_all()


@dataclass
class KnownEmails:
    by_id: set[str]
    by_sendgrid_id: dict[str, list[tuple[str, str]]]  # X-Message-Id -> [(email id, address)]


def find_for_events(session: Session, *, ids: set[str], sendgrid_ids: set[str]) -> KnownEmails:
    """Which of these ids exist, and which emails carry these X-Message-Ids (for matching events)."""
    found = KnownEmails(set(), {})
    if ids:
        found.by_id = set(session.scalars(select(EmailActivity.id).where(EmailActivity.id.in_(ids))))
    if sendgrid_ids:
        rows = session.execute(
            select(EmailActivity.sendgrid_id, EmailActivity.id, EmailActivity.to_email).where(
                EmailActivity.sendgrid_id.in_(sendgrid_ids)
            )
        )
        for sendgrid_id, email_id, address in rows:
            if sendgrid_id:
                found.by_sendgrid_id.setdefault(sendgrid_id, []).append((email_id, address))
    return found


def find_by_message_ids(session: Session, message_ids: Sequence[str]) -> str | None:
    """The newest email whose Message-ID is one of ``message_ids`` (In-Reply-To / References)."""
    ids = [m.strip() for m in message_ids if m.strip()][:50]
    if not ids:
        return None
    return session.scalar(
        select(EmailActivity.id).where(EmailActivity.message_id.in_(ids)).order_by(EmailActivity.created_at.desc())
    )


def latest_sent_to(session: Session, address: str) -> str | None:
    """The last email that went to ``address`` (a reply's sender), if any."""
    return session.scalar(
        select(EmailActivity.id)
        .where(EmailActivity.to_email == normalise_address(address), EmailActivity.sent_at.is_not(None))
        .order_by(EmailActivity.sent_at.desc(), EmailActivity.id.desc())
        .limit(1)
    )


EVENT_FIELDS = (
    "delivered_at", "opened_at", "open_count", "machine_open_count", "clicked_at", "click_count", "bounced_at",
    "bounce_reason", "bounce_type", "spam_reported_at", "unsubscribed_at",
)  # fmt: skip


def _table(name: str) -> Table:
    from leadline.db import Base

    return Base.metadata.tables[name]


@dataclass
class EventTarget:
    """What applying events needs to know about an email (a plain row, not an ORM object)."""

    id: str
    prospect_id: str
    status: str
    to_email: str
    subject: str
    outreach_activity_id: str | None
    replied_at: datetime | None
    send_attempted_at: datetime | None
    backend: str | None
    failed_at: datetime | None
    error: str | None
    state: tuple[Any, ...]  # the EVENT_FIELDS, in order


def event_targets(session: Session, email_ids: Sequence[str]) -> dict[str, EventTarget]:
    """The emails that events are about, locked (in id order) for the rest of the transaction."""
    table = _table("email_activities")
    names = ("id", "prospect_id", "status", "to_email", "subject", "outreach_activity_id", "replied_at",
             "send_attempted_at", "backend", "failed_at", "error")  # fmt: skip
    columns = [table.c[name] for name in names]
    found: dict[str, EventTarget] = {}
    ordered = sorted(set(email_ids))
    for start in range(0, len(ordered), 500):
        query = select(*columns, *(table.c[name] for name in EVENT_FIELDS)).where(
            table.c.id.in_(ordered[start : start + 500])
        )
        query = query.order_by(table.c.id).with_for_update()
        for row in session.execute(query):
            values = tuple(row)
            found[values[0]] = EventTarget(**dict(zip(names, values[:11], strict=True)), state=values[11:])
    missing = set(ordered) - set(found)
    if missing:
        raise EmailNotFound(f"no email with id {sorted(missing)[0]!r}", field="emailId")
    return found


def write_event_states(
    session: Session, targets: dict[str, EventTarget], states: dict[str, dict[str, Any]]
) -> list[EventTarget]:
    """Put what each email's events add up to on it (one statement for all). Returns those whose
    status changed."""
    from sqlalchemy import bindparam

    table = _table("email_activities")
    rows, moved = [], []
    for email_id, state in states.items():
        target = targets[email_id]
        values = {f"b_{name}": state[name] for name in EVENT_FIELDS}
        values["b_status"] = state["status"]
        # SendGrid dropped it: the earliest drop says why (otherwise keep what sending recorded).
        values["b_failed_at"] = state.get("failed_at", target.failed_at)
        values["b_error"] = state.get("error", target.error)
        unchanged = (
            tuple(state[name] for name in EVENT_FIELDS) == target.state
            and state["status"] == target.status
            and (values["b_failed_at"], values["b_error"]) == (target.failed_at, target.error)
        )
        if unchanged:
            continue
        values["b_id"] = email_id
        rows.append(values)
        if state["status"] != target.status:
            target.status = state["status"]
            moved.append(target)
    if rows:
        assignments: dict[str, Any] = {
            name: bindparam(f"b_{name}") for name in (*EVENT_FIELDS, "status", "failed_at", "error")
        }
        session.execute(
            update(table).where(table.c.id == bindparam("b_id")).values(**assignments, updated_at=utc_now()), rows
        )
    return moved


def sync_timeline_statuses(session: Session, moved: Sequence[EventTarget]) -> None:
    """Each email's own timeline entry shows where the email got to (sent -> opened -> replied)."""
    activity.update_statuses(session, {e.outreach_activity_id: e.status for e in moved if e.outreach_activity_id})


@dataclass
class SentEmail:
    """A sent email with what an event simulator needs to know about it."""

    id: str
    to_email: str
    to_name: str | None
    subject: str
    template: str
    message_id: str | None
    sendgrid_id: str | None
    sent_at: datetime
    prospect_id: str


def sent_for_simulation(session: Session) -> list[SentEmail]:
    """Sent emails with what an event simulator needs to know about each."""
    rows = session.execute(
        select(EmailActivity, Prospect.contact_name)
        .join(Prospect, Prospect.id == EmailActivity.prospect_id)
        .where(EmailActivity.sent_at.is_not(None))
        .order_by(EmailActivity.sent_at, EmailActivity.id)
    )
    return [
        SentEmail(e.id, e.to_email, name, e.subject, e.template, e.message_id, e.sendgrid_id, e.sent_at, e.prospect_id)
        for e, name in rows
        if e.sent_at is not None
    ]


def touch_contact(prospect: Prospect, at: datetime) -> None:
    """lastContactAt only ever moves forward."""
    if prospect.last_contact_at is None or prospect.last_contact_at < at:
        prospect.last_contact_at = at


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
    touch_contact(prospect, email.sent_at)
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
        release_quota(session, _today(settings, email.send_attempted_at))
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


def stale_sends(session: Session) -> list[str]:
    """Ids of sends claimed so long ago that the process that claimed them must have died."""
    cutoff = utc_now() - STALE_AFTER
    return list(
        session.scalars(
            select(EmailActivity.id).where(EmailActivity.status == "sending", EmailActivity.send_attempted_at < cutoff)
        )
    )


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
    touch_contact(prospect, moment)
    recount(session, prospect.id)
    prospects.stop_sequences(session, prospect.id, "replied", actor=actor)
    return email


# --- reading ---------------------------------------------------------------------------------


@dataclass
class EmailPage:
    items: list[EmailActivity]
    next_cursor: str | None


def search(
    session: Session,
    *,
    status: str | None = None,
    since: datetime | None = None,
    template: str | None = None,
    prospect_id: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> EmailPage:
    """Newest first; ``since`` compares with when the email was sent (or created, if not sent)."""
    query = select(EmailActivity)
    if status:
        query = query.where(EmailActivity.status == status)
    if template:
        query = query.where(EmailActivity.template == template)
    if prospect_id:
        query = query.where(EmailActivity.prospect_id == prospect_id)
    if since is not None:
        query = query.where(func.coalesce(EmailActivity.sent_at, EmailActivity.created_at) >= since)
    if cursor:
        created, last_id = _read_cursor(cursor)
        query = query.where(
            (EmailActivity.created_at < created)
            | ((EmailActivity.created_at == created) & (EmailActivity.id < last_id))
        )
    rows = list(
        session.scalars(query.order_by(EmailActivity.created_at.desc(), EmailActivity.id.desc()).limit(limit + 1))
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return EmailPage(rows, _make_cursor(rows[-1]) if more and rows else None)


def _make_cursor(email: EmailActivity) -> str:
    raw = json.dumps([email.created_at.isoformat(), email.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created, last_id = jsonin.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)), max_depth=1)
        return datetime.fromisoformat(created), str(last_id)
    except (ValueError, TypeError):
        raise Invalid("is not a cursor this server made", field="cursor") from None
