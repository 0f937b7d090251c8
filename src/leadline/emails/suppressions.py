"""Suppressions: addresses never to be emailed again, added by a person or by SendGrid's
events (a hard bounce, a spam report, an unsubscribe), and lifted again.

A suppression made for a bounce, a spam report or an unsubscribe marks the prospects with
that address do-not-contact through the prospects service, which owns the mark."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadline.activity import service as activity
from leadline.addresses import EMAIL_RE
from leadline.clock import utc_now
from leadline.emails.models import SUPPRESSION_REASONS, Suppression
from leadline.errors import Invalid, NotFound
from leadline.prospects import service as prospects
from leadline.sequences import stops as sequences


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
    key = normalise_address(address)
    if reason not in SUPPRESSION_REASONS:
        raise Invalid(f"reason must be one of {', '.join(SUPPRESSION_REASONS)}", field="reason")
    if not EMAIL_RE.match(key):
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
    for prospect in prospects.with_email(session, key):
        activity.record(
            session, prospect.id, "suppression", "added",
            {"email": key, "reason": reason, "source": source, "note": note, "emailId": email_id},
            actor=actor, at=at,
        )  # fmt: skip
        if reason != "manual":
            prospects.set_do_not_contact(session, prospect, _dnc_reason(reason), actor=actor)
        sequences.stop_for_prospect(session, prospect.id, f"the address is suppressed ({reason})", actor=actor)
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


def lift_suppression(session: Session, address: str, *, actor: str, reason: str | None = None) -> Suppression:
    """Allow ``address`` again (a person decided, or SendGrid reported a resubscribe)."""
    key = normalise_address(address)
    row = session.get(Suppression, key)
    if row is None:
        raise NotFound(f"{key} is not suppressed", field="email")
    session.delete(row)
    for prospect in prospects.with_email(session, key):
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
    for prospect in prospects.with_email(session, key):
        prospects.restate_do_not_contact(prospect, _dnc_reason(old), _dnc_reason(reason))


def lift_event_suppression(session: Session, address: str, reason: str, *, actor: str) -> bool:
    """SendGrid says the address opted back in: lift a suppression of that kind (never a
    person's), and the do-not-contact mark it caused."""
    key = normalise_address(address)
    row = session.get(Suppression, key)
    if row is None or row.reason != reason or row.source != EVENT_SOURCE:
        return False
    lift_suppression(session, key, actor=actor, reason="resubscribed")
    for prospect in prospects.with_email(session, key):
        prospects.lift_do_not_contact(session, prospect, _dnc_reason(reason), why="resubscribed", actor=actor)
    return True


def suppressions(session: Session) -> Sequence[Suppression]:
    return session.scalars(select(Suppression).order_by(Suppression.created_at.desc(), Suppression.email)).all()
