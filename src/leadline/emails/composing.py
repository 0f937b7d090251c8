"""Emails a person writes: to a prospect, or in answer to the reply a prospect sent.

A written email goes the way a template's does (``planning.plan``'s guardrails, the daily cap,
claim -> backend -> record in ``emails.flows``): its subject and body are made a one-off
template (merge fields work and are checked the same way; ``composed``, or ``reply`` for an
answer), and the "already sent" guardrail compares the message itself, not the template's
name: the same words to the same prospect again need ``force``.

An answer threads under the prospect's reply: ``In-Reply-To`` is the reply's Message-ID
(our email's when the reply came in another way), its References the whole thread, the
subject "Re: " + theirs, and their reply is quoted below the body as plain text (it never
passes through the template engine).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadline.clock import utc_now
from leadline.config import Settings
from leadline.emails import templates
from leadline.emails.planning import Plan, Planned, Skipped, Unbuilt, WrittenAs, new_email, unsendable, why_not
from leadline.emails.reading import get
from leadline.emails.schemas import ComposeRequest
from leadline.errors import Invalid
from leadline.prospects import service as prospects
from leadline.senders import service as senders
from leadline.webhooks.models import InboundMessage

_RE = re.compile(r"^\s*(re|aw|sv|antw)\s*:\s*", re.IGNORECASE)


@dataclass
class Draft:
    """What a person wrote, made ready to plan: for whom, as a template, and where it threads."""

    prospect_id: str
    template: templates.EmailTemplate
    quoted: str = ""  # their reply, quoted, added below the rendered body
    in_reply_to: str | None = None
    thread_root_id: str | None = None


def re_subject(subject: str) -> str:
    """``Re: Quick question`` (never ``Re: Re: ...``)."""
    bare = subject.strip()
    while _RE.match(bare):
        bare = _RE.sub("", bare, count=1)
    return f"Re: {bare}"[:200]


def _quote(text: str, when: str, who: str) -> str:
    lines = text.strip("\n").splitlines() or [""]
    return f"\n\nOn {when}, {who} wrote:\n" + "\n".join(f"> {line}" if line else ">" for line in lines) + "\n"


def latest_answer(session: Session, email_id: str) -> InboundMessage | None:
    """The prospect's latest reply to our email ``email_id`` that came in through Inbound Parse."""
    return session.scalar(
        select(InboundMessage)
        .where(InboundMessage.email_activity_id == email_id, InboundMessage.status == "matched")
        .order_by(InboundMessage.received_at.desc())
        .limit(1)
    )


def draft(session: Session, settings: Settings, request: ComposeRequest) -> Draft:
    """Who it is for and the one-off template, or why it cannot be written (a field named)."""
    if request.reply_to and request.prospect_id:
        raise Invalid("give prospectId or replyTo, not both", field="replyTo")
    if not request.reply_to and not request.prospect_id:
        raise Invalid("choose who it is for: prospectId, or replyTo to answer a reply", field="prospectId")
    if request.prospect_id:
        prospect = prospects.get(session, request.prospect_id)
        if not request.subject:
            raise Invalid("is required", field="subject")
        return Draft(prospect.id, _template("composed", request.subject, request.body))
    assert request.reply_to is not None
    ours = get(session, request.reply_to)
    answer = latest_answer(session, ours.id)
    if answer is None and ours.replied_at is None:
        raise Invalid(f"{ours.id} has no reply to answer yet; write to the prospect instead", field="replyTo")
    prospect = prospects.get(session, ours.prospect_id)
    their_subject = (answer.subject if answer is not None and answer.subject else None) or ours.subject
    subject = request.subject or re_subject(their_subject)
    received = answer.received_at if answer is not None else ours.replied_at
    assert received is not None
    zone_time = received.astimezone(settings.zone) if received.tzinfo else received.replace(tzinfo=settings.zone)
    who = prospect.contact_name
    if answer is not None and (answer.from_name or answer.from_address):
        who = " ".join(x for x in (answer.from_name, f"<{answer.from_address}>" if answer.from_address else "") if x)
    text = (answer.reply_text if answer is not None else None) or ours.reply_text or ""
    message_id = answer.message_key if answer is not None and answer.message_key.startswith("<") else None
    return Draft(
        prospect.id, _template("reply", subject, request.body),
        quoted=_quote(text, zone_time.strftime("%a %-d %b %Y %H:%M %Z"), who or prospect.email or "they"),
        in_reply_to=message_id or ours.message_id, thread_root_id=ours.thread_root_id or ours.id,
    )  # fmt: skip


def _template(kind: str, subject: str, body: str) -> templates.EmailTemplate:
    """The one-off template, or what is wrong with it, named as the person knows it (subject or body)."""
    for where, (first, second) in (("subject", (subject, "")), ("body", (subject, body))):
        try:
            made = templates.written(kind, first, second)
        except templates.TemplateError as error:
            raise Invalid(error.message.replace(f"{kind!r} (written) ", ""), field=where) from None
    return made


def plan(
    session: Session, settings: Settings, written: Draft, *, force: bool, check_cap: bool = True,
    senders_only: Sequence[str] | None = None,
) -> Plan:  # fmt: skip
    """The one message, checked as a template's would be (guardrails, building, the cap), written as the
    sender it will most likely go from (an answer: the thread's); the claim writes it again for another."""
    template = written.template
    result = Plan(template=template)
    prospect = prospects.get(session, written.prospect_id)
    result.cap_left, _ = senders.capacity_left(session, settings, senders_only)
    written_as = WrittenAs.of(
        settings, senders.Likely(session, settings, [prospect.id], only=senders_only)(prospect.id)
    )
    try:
        rendered = templates.render(template, prospect, settings, written_as.fields())
    except templates.MissingMergeField as missing:
        raise Invalid(missing.message + "; nothing was sent", field=missing.field_name) from None
    except templates.TemplateError as error:
        raise Invalid(error.message, field="body") from None
    item = Planned(prospect.id, prospect.name, prospect.email or "", prospect.contact_name, rendered.subject,
                   rendered.text.rstrip("\n") + written.quoted, None, quoted=written.quoted, written_as=written_as,
                   senders=tuple(senders_only) if senders_only else None)  # fmt: skip
    blocked = why_not(session, prospect, template.name, force=force, written=(item.subject, item.text))
    if blocked is not None:
        result.skipped.append(blocked)
        return result
    draft_row = new_email(settings, item, template, status="sending", force=force, now=utc_now())
    why = unsendable(settings, draft_row, item.to_name)
    if why is not None:
        result.failed.append(Unbuilt(prospect.id, prospect.name, prospect.email, why, item))
    elif check_cap and result.cap_left < 1:
        result.skipped.append(Skipped(prospect.id, prospect.name, prospect.email,
                                      senders.cap_reason(session, settings, senders_only), "cap"))  # fmt: skip
    else:
        result.items.append(item)
    return result
