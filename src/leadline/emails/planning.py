"""Planning a send: who would get what. Every message is rendered and built before anything
is written, the guardrails (no address, do-not-contact, suppressed, already sent) skip a
prospect with a reason, and the daily cap says how many go today."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from leadline.addresses import EMAIL_RE
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
from leadline.emails.models import EmailActivity
from leadline.emails.reading import RETRYABLE_STATES
from leadline.emails.suppressions import suppression_for
from leadline.errors import Invalid
from leadline.ids import new_id
from leadline.prospects import queries
from leadline.prospects import service as prospects
from leadline.prospects.models import Prospect
from leadline.prospects.queries import Filters
from leadline.senders import service as senders


@dataclass(frozen=True)
class WrittenAs:
    """The sender a message is written as: its name and address in the merge fields and the signature."""

    id: str | None  # None: the settings' own sender (LEADLINE_SENDER_*), before any sender exists
    email: str
    name: str

    @classmethod
    def of(cls, settings: Settings, sender: Any | None) -> WrittenAs:
        if sender is None:
            return cls(None, settings.sender_email, settings.sender_name)
        return cls(sender.id, sender.email, sender.name)

    def fields(self) -> dict[str, Any]:
        return {"senderName": self.name, "senderEmail": self.email}


@dataclass
class Planned:
    prospect_id: str
    name: str
    to_email: str
    to_name: str | None
    subject: str
    text: str
    html: str | None
    extra: dict[str, Any] | None = None  # the template's extra merge fields: to write it again for another sender
    quoted: str = ""  # a written answer's quoted reply, below the rendered body
    written_as: WrittenAs | None = None  # None: the settings' sender
    senders: tuple[str, ...] | None = None  # the selection its sender is chosen from (None: every sender)


@dataclass
class Skipped:
    prospect_id: str
    name: str
    email: str | None
    reason: str
    code: str
    until: datetime | None = None  # code ``sender_wait``: when to try again


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


#: Emails a person wrote (emails.composing): "already sent" compares the message, not the name.
WRITTEN = ("composed", "reply")


def why_not(
    session: Session,
    prospect: Prospect,
    template_name: str,
    *,
    force: bool,
    exclude_email_id: str | None = None,
    written: tuple[str, str] | None = None,
) -> Skipped | None:
    """The guardrail that stops ``prospect`` getting ``template_name``, or None. For a written
    email (``written`` = its subject and text), the same words again are what "already sent" means."""

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
    if not force and template_name in WRITTEN:
        if written is None:
            return None
        same = _same_message(session, prospect.id, template_name, *written, exclude_email_id)
        if same is not None:
            when = (same.sent_at or same.created_at).date().isoformat()
            return skip("already_sent", f"already got this very message ({same.id}, {when}); --force sends it again")
    elif not force:
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


def _same_message(
    session: Session, prospect_id: str, kind: str, subject: str, text: str, exclude_email_id: str | None
) -> EmailActivity | None:
    """An earlier written email to the prospect with this subject and text (its footer aside)."""
    start = text.rstrip("\n") + "\n"
    same = select(EmailActivity).where(
        EmailActivity.prospect_id == prospect_id,
        EmailActivity.template == kind,
        EmailActivity.subject == subject,
        EmailActivity.status.not_in(RETRYABLE_STATES),
        EmailActivity.id != (exclude_email_id or ""),
    )
    return next((e for e in session.scalars(same) if e.body_text.startswith(start)), None)


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
    senders_only: Sequence[str] | None = None,
) -> Plan:
    """Who would get what. Every message is rendered and built here, so a missing merge field
    stops the whole run before anything is sent; guardrails skip prospects with a reason; a
    message that cannot be built (a template error for this prospect, a line break in a
    header) is in ``failed`` with its reason, and the others go on.

    Each message is written as the sender it will most likely go from (senders.Likely: the thread's,
    else the rotation's turn among ``senders_only``, the selection); the claim writes it again when
    another sender takes it."""
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
    left, _ = senders.capacity_left(session, settings, senders_only)
    result.cap_left = left
    missing: list[templates.MissingMergeField] = []
    likely = senders.Likely(session, settings, [p.id for p in candidates], only=senders_only)
    for prospect in candidates:
        if limit is not None and len(result.items) >= limit:
            break
        blocked = why_not(session, prospect, template_name, force=force)
        if blocked is not None:
            result.skipped.append(blocked)
            continue
        assert prospect.email is not None
        written_as = WrittenAs.of(settings, likely(prospect.id))
        try:
            rendered = templates.render(template, prospect, settings, result.extra | written_as.fields())
        except templates.MissingMergeField as error:
            missing.append(error)
            continue
        except templates.TemplateForbidden:
            raise  # a hostile template: the whole run is refused, nothing is written
        except templates.TemplateError as error:  # this prospect's values trip the template: fails alone
            stand_in = Planned(prospect.id, prospect.name, prospect.email, prospect.contact_name,
                               template.subject[:MAX_SUBJECT], "", None, written_as=written_as,
                               senders=tuple(senders_only) if senders_only else None)  # fmt: skip
            result.failed.append(Unbuilt(prospect.id, prospect.name, prospect.email, error.message, stand_in))
            continue
        item = Planned(prospect.id, prospect.name, prospect.email, prospect.contact_name, rendered.subject,
                       rendered.text, rendered.html, extra=result.extra, written_as=written_as,
                       senders=tuple(senders_only) if senders_only else None)  # fmt: skip
        draft = new_email(settings, item, template, status="sending", force=force, now=utc_now())
        why = unsendable(settings, draft, item.to_name)
        if why is not None:
            result.failed.append(Unbuilt(prospect.id, prospect.name, prospect.email, why, item))
            continue
        if check_cap and len(result.items) >= left:
            result.skipped.append(Skipped(prospect.id, prospect.name, prospect.email,
                                          senders.cap_reason(session, settings, senders_only), "cap"))  # fmt: skip
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
    where, params = queries.where_clause(filters)
    sql = f"SELECT * FROM prospects{where} ORDER BY tier, COALESCE(grid_health, 101), id"
    return list(session.scalars(select(Prospect).from_statement(text(sql).bindparams(**params))))


def unsendable(settings: Settings, email: EmailActivity, to_name: str | None) -> str | None:
    """Why the message for ``email`` cannot be sent as it stands (None: it can). See message.problem."""
    address = email.to_email
    if not HEADER_CONTROL.search(address) and (len(address) > 320 or not EMAIL_RE.fullmatch(address)):
        return f"the email address {shown(address)} is not a valid address"
    return problem(outgoing(settings, email, to_name))


def new_email(
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
    written_as = item.written_as or WrittenAs.of(settings, None)
    text, html = with_footer(settings, unsubscribe_url(settings, email_id), item.text, item.html, name=written_as.name)
    return EmailActivity(
        id=email_id, prospect_id=item.prospect_id, message_id=f"<{email_id}@{sender_domain(written_as.email)}>",
        email_type=template.email_type, template=template.name, subject=item.subject, to_email=item.to_email,
        from_email=written_as.email, from_name=written_as.name, body_text=text,
        body_html=html, thread_root_id=thread_root_id or email_id,
        reply_to=f"reply+{email_id}@{settings.reply_domain}" if settings.reply_domain else None,
        status=status, forced=force, created_at=now, updated_at=now, **fields,
    )  # fmt: skip


def outgoing(
    settings: Settings, email: EmailActivity, to_name: str | None, references: list[str] | None = None
) -> Outgoing:
    """The message a backend sends for a claimed email (headers, footer, threading): ``references``
    is the thread so far (reading.thread_references), else the parent alone."""
    references = references or ([email.in_reply_to] if email.in_reply_to else [])
    return Outgoing(
        email_id=email.id, to_email=email.to_email, to_name=to_name, from_email=email.from_email,
        from_name=email.from_name or settings.sender_name, subject=email.subject, text=email.body_text,
        html=email.body_html or "",
        message_id=email.message_id or f"<{email.id}@{sender_domain(email.from_email)}>", template=email.template,
        unsubscribe_url=unsubscribe_url(settings, email.id), reply_to=email.reply_to,
        in_reply_to=email.in_reply_to, references=references, date=email.send_attempted_at,
    )  # fmt: skip


def rewrite(
    settings: Settings,
    email: EmailActivity,
    item: Planned,
    template: templates.EmailTemplate,
    prospect: Prospect,
    sender: Any,
) -> str | None:
    """``email`` written again as ``sender``, the one its claim chose, when it was written as another:
    merge fields (``{{ senderName }}``, ``{{ senderEmail }}``, the booking link), the signature, the From and
    the Message-ID's domain. Returns why it cannot be sent so (None: it can)."""
    written_as = WrittenAs.of(settings, sender)
    email.sender_id, email.from_email, email.from_name = written_as.id, written_as.email, written_as.name
    if item.written_as == written_as:
        return None
    try:
        rendered = templates.render(template, prospect, settings, (item.extra or {}) | written_as.fields())
    except (templates.TemplateError, templates.MissingMergeField) as error:
        return error.message
    text = rendered.text if not item.quoted else rendered.text.rstrip("\n") + item.quoted
    email.subject = rendered.subject
    email.body_text, email.body_html = with_footer(settings, unsubscribe_url(settings, email.id), text,
                                                   rendered.html, name=written_as.name)  # fmt: skip
    email.message_id = f"<{email.id}@{sender_domain(written_as.email)}>"
    return unsendable(settings, email, item.to_name)
