"""Inbound replies (SendGrid Inbound Parse): stored once by Message-ID, matched to the email
they answer by what only its recipient knows (our Reply-To address, our Message-ID), else
by a verified sender; applied as a reply to that email, or kept in the unmatched inbox for
a person (``leadline inbound list`` / ``assign``). Posts that cannot be read are kept raw."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadline.activity import service as activity
from leadline.clock import utc_now
from leadline.emails import service as emails
from leadline.errors import Conflict, Invalid, NotFound
from leadline.fields import one_line
from leadline.guardian import service as guardian
from leadline.ids import new_id
from leadline.notify import service as notify
from leadline.prospects import service as prospects
from leadline.webhooks.models import InboundMessage

LEADLINE_MESSAGE_ID = re.compile(r"<(email_[0-9A-HJKMNP-TV-Z]{26})@[^<>@\s]+>")


@dataclass
class InboundResult:
    id: str
    status: str
    email_id: str | None
    prospect_id: str | None
    duplicate: bool = False


def receive_reply(session: Session, settings: Any, parsed: Any, *, actor: str = "inbound") -> InboundResult:
    """Store an Inbound Parse reply (once, by Message-ID), match it to the email it answers, apply it."""
    existing = session.scalar(select(InboundMessage).where(InboundMessage.message_key == parsed.message_key))
    if existing is not None:
        return InboundResult(existing.id, existing.status, existing.email_activity_id, existing.prospect_id, True)
    row = InboundMessage(
        id=new_id("inb"), message_key=parsed.message_key, from_address=parsed.from_address,
        from_name=parsed.from_name, to_addresses=parsed.to_addresses, subject=parsed.subject,
        reply_text=parsed.reply_text, full_text=parsed.text, html=parsed.html, headers=parsed.headers,
        in_reply_to=" ".join(parsed.in_reply_to) or None, attachments=parsed.attachments, raw_mode=parsed.raw_mode,
        auto_reply=parsed.auto_reply, sender_verified=parsed.sender_verified, status="unmatched",
        received_at=utc_now(),
    )  # fmt: skip
    session.add(row)
    session.flush()
    _match_and_apply_reply(session, settings, row, actor=actor)
    return InboundResult(row.id, row.status, row.email_activity_id, row.prospect_id)


def _match_and_apply_reply(session: Session, settings: Any, row: Any, *, actor: str) -> None:
    email_id, how = _match_reply(session, settings, row)
    if email_id is None:
        row.status = "unmatched"
        return
    email = emails.get(session, email_id)
    if email.status not in emails.SENT_STATES:
        row.status = "unmatched"  # it names an email that never went out: a person decides
        return
    row.email_activity_id = email_id
    row.prospect_id = email.prospect_id
    row.matched_by = how
    text = row.reply_text or row.full_text or ""
    given = guardian.classify(settings, text, subject=row.subject, auto=row.auto_reply, sender=row.from_address)
    if row.auto_reply or given.label in guardian.AUTOMATIC:
        # An automatic answer (out of office, auto-reply, bounce-like): not a reply from a person, so
        # the email stays as it was and sequences go on (an out-of-office holds them until the return).
        row.status = "auto_reply"
        activity.record(
            session, email.prospect_id, "auto_reply", "received",
            {"emailId": email_id, "subject": row.subject, "text": row.reply_text[:500], "inboundId": row.id,
             "label": given.label},
            actor=actor, at=row.received_at,
        )  # fmt: skip
        guardian.keep(session, given, prospect_id=email.prospect_id, email_id=email_id, source="inbound", text=text,
                      actor=actor, at=row.received_at, inbound_id=row.id, sender=row.from_address)  # fmt: skip
        return
    try:
        with session.begin_nested():
            emails.record_reply(session, email_id, row.reply_text or row.full_text or "(empty reply)", actor=actor,
                                at=row.received_at, source="inbound")  # fmt: skip
    except (Conflict, Invalid):
        row.status, row.email_activity_id, row.prospect_id, row.matched_by = "unmatched", None, None, None
        return
    row.status = "matched"
    first_lines = "\n".join((row.reply_text or "").strip().splitlines()[:3])
    who = prospects.get(session, email.prospect_id).name
    sender = row.from_name or row.from_address
    hot = {"interested": ": interested", "meeting_request": ": asks to talk"}.get(given.label, "")
    notify.raise_event(
        session, "reply_received", f"reply:{row.id}", f"{who} replied{hot}",
        body=f"{first_lines}\n— {sender}, to “{email.subject}”", prospect_id=email.prospect_id,
        payload={"emailId": email_id, "inboundId": row.id, "from": row.from_address, "subject": row.subject,
                 "label": given.label},
    )  # fmt: skip
    guardian.keep(session, given, prospect_id=email.prospect_id, email_id=email_id, source="inbound", text=text,
                  actor=actor, at=row.received_at, inbound_id=row.id, sender=row.from_address,
                  notified=True)  # fmt: skip


def _match_reply(session: Session, settings: Any, row: Any) -> tuple[str | None, str | None]:
    """The email a reply answers, by what only its recipient knows (what Leadline put in the
    message: its own Reply-To address, its Message-ID in In-Reply-To/References), else by the
    sender's address when SendGrid saw SPF or DKIM pass for the sender's domain. Anything
    else is for a person (the unmatched inbox): a From line alone is easy to forge."""
    domain = (settings.reply_domain or "").lower()
    if domain:
        for address in row.to_addresses:
            local, _, host = address.partition("@")
            if host == domain and local.startswith("reply+"):
                token = local[len("reply+") :]
                found = emails.find_for_events(session, ids={"email_" + token.removeprefix("email_").upper()},
                                               sendgrid_ids=set())  # fmt: skip
                if found.by_id:
                    return next(iter(found.by_id)), "reply_to"
    references = (row.in_reply_to or "").split()
    if references:
        by_message_id = emails.find_by_message_ids(session, references)
        if by_message_id:
            return by_message_id, "in_reply_to"
        # Leadline's own Message-ID shape, <email_...@domain>, for emails stored without one.
        candidates = {m.group(1) for ref in references if (m := LEADLINE_MESSAGE_ID.fullmatch(ref))}
        if candidates:
            found = emails.find_for_events(session, ids=candidates, sendgrid_ids=set())
            if found.by_id:
                return sorted(found.by_id)[-1], "in_reply_to"
    if row.from_address and row.sender_verified:
        latest = emails.latest_sent_to(session, row.from_address)
        if latest is not None:
            return latest, "sender"
    return None, None


def retry_unmatched_replies(session: Session, settings: Any, *, actor: str = "inbound") -> int:
    """Match replies kept in the unmatched inbox again (after the email they answer was imported)."""
    matched = 0
    for row in session.scalars(select(InboundMessage).where(InboundMessage.status == "unmatched")):
        _match_and_apply_reply(session, settings, row, actor=actor)
        matched += row.status != "unmatched"
    return matched


def assign_reply(session: Session, settings: Any, inbound_id: str, email_id: str, *, actor: str) -> Any:
    """A person says which email an unmatched reply answers."""
    row = session.get(InboundMessage, inbound_id)
    if row is None:
        raise NotFound(f"no inbound reply with id {inbound_id!r}", field="inboundId")
    if row.status != "unmatched":
        raise Conflict(f"{inbound_id} is already {row.status}", field="inboundId")
    email = emails.get(session, email_id)
    row.email_activity_id = email_id
    row.prospect_id = email.prospect_id
    row.matched_by = "person"
    emails.record_reply(session, email_id, row.reply_text or row.full_text, actor=actor, at=row.received_at,
                        source="inbound")  # fmt: skip
    row.status = "matched"
    text = row.reply_text or row.full_text or ""
    given = guardian.classify(settings, text, subject=row.subject, sender=row.from_address)
    guardian.keep(session, given, prospect_id=email.prospect_id, email_id=email_id, source="inbound", text=text,
                  actor=actor, at=row.received_at, inbound_id=row.id, sender=row.from_address)  # fmt: skip
    return row


def replies(session: Session, *, status: str | None = None, limit: int = 50) -> list[Any]:
    query = select(InboundMessage).order_by(InboundMessage.received_at.desc(), InboundMessage.id.desc()).limit(limit)
    if status:
        query = query.where(InboundMessage.status == status)
    return list(session.scalars(query))


def store_unreadable_reply(session: Session, content_type: str, body: bytes, error: str) -> InboundResult:
    """An Inbound Parse post that could not be read as a reply, kept as it came (once: the same
    bytes again are a duplicate), status ``failed``, for a person (``leadline inbound list``)."""
    key = "raw:sha256:" + hashlib.sha256(body).hexdigest()
    existing = session.scalar(select(InboundMessage).where(InboundMessage.message_key == key))
    if existing is not None:
        return InboundResult(existing.id, existing.status, None, None, True)
    row = InboundMessage(
        id=new_id("inb"), message_key=key, to_addresses=[], reply_text="", full_text="", html=None,
        headers={"Content-Type": one_line(content_type[:1000])}, attachments=[], raw_mode=False, auto_reply=False,
        sender_verified=False, status="failed", error=one_line(error[:2000]), raw=body, received_at=utc_now(),
    )  # fmt: skip
    session.add(row)
    return InboundResult(row.id, row.status, None, None)
