"""Reading emails: one by id, a page of the list, and the facts other domains ask about
(sequences: what went out and what happened since; webhooks: which emails events and
replies name; the event simulator: what was sent)."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.orm import Session

from leadline import jsonin
from leadline.clock import utc_now
from leadline.db import Base, UTCDateTime, read_by_keys
from leadline.emails.models import EmailActivity
from leadline.emails.suppressions import normalise_address
from leadline.errors import Invalid, NotFound
from leadline.prospects.models import Prospect
from leadline.webhooks.models import InboundMessage

SENT_STATES = ("sent", "delivered", "opened", "clicked", "replied", "bounced")

#: What "an email was sent / delivered / opened / ... by ``:asof``" means: ONE predicate per
#: figure (SQL on ``email_activities``, unaliased), used by the email list's ``status`` filter
#: and counted by the dashboard and the weekly report (``analytics.queries.dashboard``). The
#: engagement words mean "ever did", whatever happened next: an email opened, then clicked and
#: replied to is in opened, clicked and replied alike. "Opened" counts any open (a machine's
#: privacy prefetch too, as the dashboard's Opened does); "human_opened" is the dashboard's
#: "human" share: opened by a person (an open beyond the machine ones, or a human click).
#: A list without an "as of" instant reads as of now (``:asof`` is then far in the future).
_HUMAN = "(open_count - machine_open_count > 0 OR (clicked_at IS NOT NULL AND clicked_at < :asof))"
EVER_SQL: dict[str, str] = {
    "sent": "sent_at < :asof",
    "delivered": "delivered_at < :asof",
    "opened": "opened_at < :asof",
    "human_opened": f"opened_at < :asof AND {_HUMAN}",
    "machine_only_opened": f"opened_at < :asof AND NOT {_HUMAN}",
    "clicked": "clicked_at < :asof",
    "replied": "replied_at < :asof",
    "bounced": "bounced_at < :asof",
    "failed": "status = 'failed' AND (failed_at IS NULL OR failed_at < :asof)",
    # the dashboard's call conversion: replied, and a call was booked with the prospect after the
    # email went out (not one cancelled by then)
    "call_booked": (
        "replied_at < :asof AND EXISTS (SELECT 1 FROM call_activities c"
        " WHERE c.prospect_id = email_activities.prospect_id AND c.created_at >= email_activities.sent_at"
        " AND c.created_at < :asof AND NOT (c.status = 'cancelled' AND c.updated_at < :asof))"
    ),
}
#: States an email sits in until something moves it on (not "ever did"): the status itself.
NOW_STATES = ("scheduled", "pending", "sending", "unknown", "cancelled")
#: The technical states a person looks at together: an email Leadline has not settled yet.
ATTENTION_STATES = ("pending", "sending", "unknown")
#: Every value of the list's ``status`` filter: the "ever did" figures, the states an email sits
#: in, and "attention" (pending, sending or unknown).
EMAIL_FILTERS = (
    "scheduled", "sent", "delivered", "opened", "human_opened", "machine_only_opened", "clicked", "replied",
    "call_booked", "bounced", "failed", "cancelled", "attention", "pending", "sending", "unknown",
)  # fmt: skip
#: "As of" when none is given: later than anything stored.
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


RETRYABLE_STATES = ("failed", "cancelled")


STALE_AFTER = timedelta(minutes=10)


class EmailNotFound(NotFound):
    pass


def get(session: Session, email_id: str, *, for_update: bool = False) -> EmailActivity:
    query = select(EmailActivity).where(EmailActivity.id == email_id)
    if for_update:
        query = query.with_for_update()
    email = session.scalar(query)
    if email is None:
        raise EmailNotFound(f"no email with id {email_id!r}", field="emailId")
    return email


def by_ids(session: Session, ids: Sequence[str]) -> list[EmailActivity]:
    """The emails with these ids (those that exist), newest sent first."""
    wanted = sorted(set(ids))
    found: list[EmailActivity] = []
    for start in range(0, len(wanted), 500):
        found += session.scalars(select(EmailActivity).where(EmailActivity.id.in_(wanted[start : start + 500])))
    return sorted(found, key=lambda e: (e.sent_at or e.created_at, e.id), reverse=True)


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


def stale_sends(session: Session) -> list[str]:
    """Ids of sends claimed so long ago that the process that claimed them must have died."""
    cutoff = utc_now() - STALE_AFTER
    return list(
        session.scalars(
            select(EmailActivity.id).where(EmailActivity.status == "sending", EmailActivity.send_attempted_at < cutoff)
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


@dataclass
class KnownEmails:
    by_id: set[str]
    by_sendgrid_id: dict[str, list[tuple[str, str]]]  # X-Message-Id -> [(email id, address)]


def find_for_events(session: Session, *, ids: set[str], sendgrid_ids: set[str]) -> KnownEmails:
    """Which of these ids exist, and which emails carry these X-Message-Ids (for matching events)."""
    found = KnownEmails(set(), {})
    if ids:
        table = Base.metadata.tables["email_activities"]
        found.by_id = {email_id for (email_id,) in read_by_keys(session, table, ("id",), list(ids))}
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


def thread_references(session: Session, email: EmailActivity, *, limit: int = 50) -> list[str]:
    """The Message-IDs ``email`` answers, oldest first (its References, RFC 5322 §3.6.4): its
    parent's References plus its parent's Message-ID, found by walking ``in_reply_to`` back."""
    chain: list[str] = []
    parent_id = email.in_reply_to
    while parent_id and parent_id not in chain and len(chain) < limit:
        chain.append(parent_id)
        ours = session.execute(
            select(EmailActivity.in_reply_to).where(EmailActivity.message_id == parent_id).limit(1)
        ).first()
        if ours is not None:
            parent_id = ours[0]
            continue
        # a prospect's reply (an answer to it threads under it): what it answered, from its own header
        theirs = session.scalar(
            select(InboundMessage.in_reply_to).where(InboundMessage.message_key == parent_id).limit(1)
        )
        found = re.search(r"<[^<>\s]{1,250}>", theirs or "")
        parent_id = found.group(0) if found else None
    return chain[::-1]


def latest_sent_to(session: Session, address: str) -> str | None:
    """The last email that went to ``address`` (a reply's sender), if any."""
    return session.scalar(
        select(EmailActivity.id)
        .where(EmailActivity.to_email == normalise_address(address), EmailActivity.sent_at.is_not(None))
        .order_by(EmailActivity.sent_at.desc(), EmailActivity.id.desc())
        .limit(1)
    )


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


@dataclass
class EmailPage:
    items: list[EmailActivity]
    next_cursor: str | None


def status_condition(status: str, as_of: datetime | None = None) -> Any:
    """The list's ``status`` filter: an "ever did" figure (as of ``as_of``, default now), a state
    the email is in, or ``attention``."""
    if status in EVER_SQL:
        clause = text(EVER_SQL[status]).bindparams(bindparam("asof", as_of or FAR_FUTURE, type_=UTCDateTime()))
        return clause
    if status == "attention":
        return EmailActivity.status.in_(ATTENTION_STATES)
    if status in NOW_STATES:
        return EmailActivity.status == status
    raise Invalid(f"must be one of {', '.join(EMAIL_FILTERS)}", field="status")


def search(
    session: Session,
    *,
    status: str | None = None,
    since: datetime | None = None,
    template: str | None = None,
    prospect_id: str | None = None,
    sent_from: datetime | None = None,
    sent_to: datetime | None = None,
    as_of: datetime | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> EmailPage:
    """Newest first. ``status``: see :data:`EMAIL_FILTERS` (opened, clicked, replied... mean "ever
    did", as of ``as_of``); ``since`` compares with when the email was sent (or created, if not
    sent); ``sent_from`` / ``sent_to``: sent in [sent_from, sent_to) (the dashboard's week)."""
    if sent_from is not None and sent_to is not None and sent_from >= sent_to:
        raise Invalid("must be after sentFrom", field="sentTo")
    if as_of is not None and status not in EVER_SQL:
        raise Invalid(f"needs a status of {', '.join(EVER_SQL)} (what the emails did by then)", field="asOf")
    query = select(EmailActivity)
    if status:
        query = query.where(status_condition(status, as_of))
    if sent_from is not None:
        query = query.where(EmailActivity.sent_at >= sent_from)
    if sent_to is not None:
        query = query.where(EmailActivity.sent_at < sent_to)
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
