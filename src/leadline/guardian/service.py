"""Replies read for what they mean: each reply's label (guardian.labels), kept with its reason, and
what follows from it; a person's corrections; the report.

What a label does (once, when it is given by the rules or by a person):

* ``unsubscribe_request``: the address is suppressed (reason ``unsubscribe``) and the prospect
  marked do-not-contact (which stops its sequences);
* ``not_interested``: a task asks a person to confirm, and ``confirm_lost`` then moves the prospect
  to lost with the reply as the reason; with LEADLINE_AUTO_LOSE_NOT_INTERESTED=true, lost at once;
* ``referral``: a proposed new prospect (the named person and address, the referrer noted), kept
  on the label and in a task; ``accept_referral`` creates it;
* ``out_of_office``: the prospect's sequences wait until the day after the return date (or 7 days)
  and then run on (sequences.stops.pause_for_prospect);
* ``interested`` and ``meeting_request``: the prospect's owner is notified at once.

``out_of_office``, ``auto_reply`` and ``bounce_like`` are *automatic* answers: the email is not
marked replied and sequences are not stopped (:data:`AUTOMATIC`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadline.activity import service as activity
from leadline.clock import utc_now
from leadline.db import settings_of
from leadline.deals import service as deals
from leadline.emails import service as emails
from leadline.errors import Conflict, Invalid, NotFound
from leadline.fields import require_one_line
from leadline.guardian import labels
from leadline.guardian.models import ReplyLabel, ReplyLabelChange
from leadline.ids import new_id
from leadline.notify import service as notify
from leadline.prospects import service as prospects
from leadline.prospects.schemas import ProspectCreate
from leadline.sequences import stops
from leadline.tasks import service as tasks

AUTOMATIC = frozenset({"out_of_office", "auto_reply", "bounce_like"})
HOT = frozenset({"interested", "meeting_request"})
OUT_OF_OFFICE_DAYS = 7
EXCERPT_CHARS = 1_000


def today(settings: Any) -> date:
    return utc_now().astimezone(settings.zone).date()


def classify(settings: Any, text: str | None, *, subject: str | None = None, auto: bool = False,
             sender: str | None = None) -> labels.Label:  # fmt: skip
    """The rules' label for a reply (pure: nothing is stored)."""
    return labels.label(text, subject=subject, today=today(settings), auto=auto, sender=sender)


def keep(
    session: Session,
    given: labels.Label,
    *,
    prospect_id: str,
    email_id: str | None,
    source: str,
    text: str,
    actor: str,
    at: datetime | None = None,
    inbound_id: str | None = None,
    sender: str | None = None,
    notified: bool = False,
) -> ReplyLabel:
    """Store a reply's label (set by the rules) and do what it asks (``notified``: the caller has
    notified the owner of this reply already, with its label)."""
    moment = at or utc_now()
    row = ReplyLabel(
        id=new_id("rpl"), prospect_id=prospect_id, email_activity_id=email_id, inbound_id=inbound_id, source=source,
        sender=(sender or None) and sender[:320], excerpt=(text or "").strip()[:EXCERPT_CHARS], label=given.label,
        reason=given.reason[:2000], set_by="rule", set_by_actor=actor[:200], rule_label=given.label,
        named_date=given.named_date, named_person=given.named_person and given.named_person[:200],
        named_email=given.named_email and given.named_email[:320], action="none", action_detail={},
        received_at=moment,
    )  # fmt: skip
    session.add(row)
    session.flush()
    _timeline(session, row, actor=actor)
    if notified and row.label in HOT:
        owner = prospects.get(session, prospect_id).owner
        _done(row, "notified", owner=owner)
    else:
        _act(session, row, actor=actor)
    return row


@dataclass
class LoggedReply:
    """What logging a reply did: the email, the reply's label, and the prospect's stage before and
    after (stages only move forward, so a prospect further along stays where it is)."""

    email: Any
    label: ReplyLabel
    stage_before: str
    stage: str

    @property
    def is_reply(self) -> bool:
        """False for an automatic answer (out of office, auto-reply, bounce-like): not a reply."""
        return self.label.label not in AUTOMATIC

    @property
    def moved(self) -> bool:
        return self.stage != self.stage_before


def log_reply(session: Session, email_id: str, text: str, *, actor: str) -> LoggedReply:
    """A reply logged by hand (``leadline emails reply``): labelled, then recorded as a reply (the
    prospect moves to replied unless it is further along), or, for an automatic answer (out of
    office, auto-reply, bounce-like), kept on the timeline without marking the email replied."""
    settings = settings_of(session)
    body = (text or "").strip()
    if not body:
        raise Invalid("the reply text is empty", field="text")
    email = emails.get(session, email_id)
    before = prospects.get(session, email.prospect_id).sales_status
    given = classify(settings, body, sender=None)
    if given.label in AUTOMATIC:
        if email.status not in emails.SENT_STATES:
            raise Conflict(f"{email_id} was not sent ({email.status}); a reply needs a sent email", field="emailId")
        activity.record(
            session, email.prospect_id, "auto_reply", "received",
            {"emailId": email_id, "text": body[:500], "source": "manual", "label": given.label}, actor=actor,
        )  # fmt: skip
    else:
        email = emails.record_reply(session, email_id, body, actor=actor)
    row = keep(session, given, prospect_id=email.prospect_id, email_id=email_id, source="manual", text=body,
               actor=actor)  # fmt: skip
    return LoggedReply(email, row, before, prospects.get(session, email.prospect_id).sales_status)


def _timeline(session: Session, row: ReplyLabel, *, actor: str, status: str = "labelled") -> None:
    activity.record(
        session, row.prospect_id, "reply_label", status,
        {"replyId": row.id, "label": row.label, "reason": row.reason, "setBy": row.set_by, "emailId":
         row.email_activity_id, "namedDate": row.named_date.isoformat() if row.named_date else None,
         "namedPerson": row.named_person, "namedEmail": row.named_email},
        actor=actor,
    )  # fmt: skip


def _act(session: Session, row: ReplyLabel, *, actor: str) -> None:
    settings = settings_of(session)
    prospect = prospects.get(session, row.prospect_id, for_update=True)
    if row.label == "unsubscribe_request":
        address = prospect.email or row.sender
        if address:
            note = f"asked in reply {row.id}: {row.reason}"[:500]
            emails.suppress(session, address, "unsubscribe", source="reply", actor=actor,
                            email_id=row.email_activity_id, note=note)  # fmt: skip
        prospects.set_do_not_contact(session, prospect, "unsubscribe", actor=actor)
        _done(row, "suppressed", address=address)
    elif row.label == "not_interested":
        if prospect.sales_status in ("closed_won", "closed_lost"):
            _done(row, "none", why=f"already {prospect.sales_status}")
        elif settings.auto_lose_not_interested:
            deals.lost(session, prospect.id, reason=_lost_reason(row), actor=actor, cause={"replyId": row.id})
            _done(row, "lost")
        else:
            task = tasks.add(
                session, prospect, title=f"{prospect.name} said not interested: confirm to mark lost ({row.id})",
                due_at=utc_now(), kind="manual", actor=actor, owner=prospect.owner,
                notes=f"{row.reason}\n\n{row.excerpt[:500]}\n\nConfirm: leadline replies confirm {row.id}",
            )  # fmt: skip
            _done(row, "awaiting_confirmation", taskId=task.id)
    elif row.label == "referral":
        who = " ".join(x for x in (row.named_person, f"<{row.named_email}>" if row.named_email else None) if x)
        task = tasks.add(
            session, prospect, title=f"Referral from {prospect.name}: {who}"[:500], due_at=utc_now(), kind="manual",
            actor=actor, owner=prospect.owner,
            notes=f"{row.reason}\n\nAdd them as a prospect: leadline replies accept-referral {row.id}",
        )  # fmt: skip
        _done(row, "referral_proposed", taskId=task.id)
    elif row.label == "out_of_office":
        back = row.named_date + timedelta(days=1) if row.named_date else today(settings) + timedelta(
            days=OUT_OF_OFFICE_DAYS)  # fmt: skip
        until = datetime.combine(back, time(9), settings.zone)
        held = stops.pause_for_prospect(session, prospect.id, until, f"out of office ({row.id})", actor=actor)
        _done(row, "paused", until=until.isoformat(), sequences=held)
    elif row.label in HOT:
        what = "asks to talk" if row.label == "meeting_request" else "is interested"
        notify.raise_event(
            session, f"reply_{row.label}", f"reply-label:{row.id}:{row.label}", f"{prospect.name} {what}",
            body=f"{row.excerpt[:300]}\n({row.reason})", prospect_id=prospect.id,
            payload={"replyId": row.id, "label": row.label, "owner": prospect.owner, "emailId": row.email_activity_id},
        )  # fmt: skip
        _done(row, "notified", owner=prospect.owner)


def _done(row: ReplyLabel, action: str, **detail: Any) -> None:
    row.action = action
    row.action_detail = {k: v for k, v in detail.items() if v is not None}
    row.updated_at = utc_now()


def _lost_reason(row: ReplyLabel) -> str:
    return " ".join(f"replied not interested: {row.excerpt[:150]}".split())[:300]


# --- a person's part ---------------------------------------------------------------------------------------


def get(session: Session, reply_id: str, *, for_update: bool = False) -> ReplyLabel:
    query = select(ReplyLabel).where(ReplyLabel.id == reply_id)
    row = session.scalar(query.with_for_update() if for_update else query)
    if row is None:
        raise NotFound(f"no reply with id {reply_id!r}", field="replyId")
    return row


def correct(session: Session, reply_id: str, label: str, *, actor: str, note: str | None = None) -> ReplyLabel:
    """A person sets a reply's label; the correction is kept, and the new label's action is taken."""
    if label not in labels.LABELS:
        raise Invalid(f"must be one of {', '.join(labels.LABELS)} (got {label[:40]!r})", field="label")
    if note is not None:
        require_one_line(note, "note")
    row = get(session, reply_id, for_update=True)
    if row.label == label and row.set_by == "person":
        return row
    session.add(ReplyLabelChange(id=new_id("rlc"), reply_id=row.id, from_label=row.label, to_label=label,
                                 from_set_by=row.set_by, actor=actor[:200], note=note))  # fmt: skip
    changed = row.label != label
    row.label, row.set_by, row.set_by_actor = label, "person", actor[:200]
    row.reason = f"set by {actor}" + (f": {note}" if note else "")
    row.updated_at = utc_now()
    session.flush()
    _timeline(session, row, actor=actor, status="corrected")
    if changed:
        _withdraw(session, row, actor=actor)
        _act(session, row, actor=actor)
    return row


def _withdraw(session: Session, row: ReplyLabel, *, actor: str) -> None:
    """A label corrected away: what waits for a person under the old one (a confirmation, a proposed
    referral) is closed; what was done (a suppression, a lost deal) stays, for a person to undo."""
    if row.action in ("awaiting_confirmation", "referral_proposed"):
        task_id = row.action_detail.get("taskId")
        if task_id:
            task = tasks.get(session, task_id)
            if task.done_at is None:
                tasks.done(session, task_id, actor=actor)
        _done(row, "none", withdrawn=row.action)


def confirm_lost(session: Session, reply_id: str, *, actor: str) -> ReplyLabel:
    """A person confirms a not-interested reply: the prospect moves to lost with it as the reason."""
    row = get(session, reply_id, for_update=True)
    if row.label != "not_interested":
        raise Conflict(f"{reply_id} is labelled {row.label}, not not_interested", field="replyId")
    if row.action == "lost":
        raise Conflict(f"{row.prospect_id} was already marked lost for {reply_id}", field="replyId")
    deals.lost(session, row.prospect_id, reason=_lost_reason(row), actor=actor, cause={"replyId": row.id})
    task_id = row.action_detail.get("taskId")
    if task_id:
        task = tasks.get(session, task_id)
        if task.done_at is None:
            tasks.done(session, task_id, actor=actor)
    _done(row, "lost", confirmedBy=actor, taskId=task_id)
    return row


#: Addresses anyone can have: their domain names no business.
FREE_MAIL = frozenset({
    "gmail.com", "googlemail.com", "yahoo.com", "ymail.com", "hotmail.com", "outlook.com", "live.com", "msn.com",
    "icloud.com", "me.com", "mac.com", "aol.com", "proton.me", "protonmail.com", "gmx.com", "gmx.net", "gmx.de",
    "web.de", "t-online.de", "mail.com", "zoho.com", "yandex.com", "orange.fr", "free.fr", "laposte.net",
    "sfr.fr", "wanadoo.fr", "hotmail.fr", "yahoo.fr", "yahoo.es", "hotmail.es", "comcast.net", "att.net",
    "verizon.net", "sbcglobal.net", "bellsouth.net", "cox.net", "charter.net",
})  # fmt: skip


def _domain(address_or_url: str | None) -> str:
    """The registrable domain of an address or website: mail.smith.co.uk -> smith.co.uk."""
    host = (address_or_url or "").lower().rsplit("@", 1)[-1].split("://")[-1].split("/")[0].split(":")[0]
    parts = [part for part in host.split(".") if part]
    keep = 3 if len(parts) >= 3 and len(parts[-2]) <= 3 and len(parts[-1]) == 2 else 2  # co.uk, com.au
    return ".".join(parts[-keep:]) if len(parts) >= 2 else ""


def referral_business(address: str | None, person: str | None, referrer_name: str, referrer_email: str | None,
                      referrer_website: str | None) -> str | None:  # fmt: skip
    """The business a referred person is taken to be at: the referrer's own when the address is at
    the referrer's domain ("my partner John Smith, john@reyeselectric.com"), else the name of the
    address's domain (pierre@durand-toiture.fr: "Durand Toiture"), else (no address, or a
    free-mail one) the person's own name."""
    domain = _domain(address)
    if domain and domain in {_domain(referrer_email), _domain(referrer_website)}:
        return referrer_name
    if domain and domain not in FREE_MAIL:
        return " ".join(part.capitalize() for part in domain.split(".")[0].split("-") if part) or person
    return person or (address.split("@")[0] if address else None)


def accept_referral(session: Session, reply_id: str, *, actor: str, name: str | None = None,
                    email: str | None = None) -> Any:  # fmt: skip
    """Create the prospect a referral names (its referrer noted on it); the person may give the name or
    address the rules did not find."""
    row = get(session, reply_id, for_update=True)
    if row.label != "referral":
        raise Conflict(f"{reply_id} is labelled {row.label}, not referral", field="replyId")
    if row.action == "referral_added":
        raise Conflict(f"the referral in {reply_id} was added already ({row.action_detail.get('prospectId')})",
                       field="replyId")  # fmt: skip
    referrer = prospects.get(session, row.prospect_id)
    address = email or row.named_email
    chosen_name = name or referral_business(address, row.named_person, referrer.name, referrer.email,
                                            referrer.website)  # fmt: skip
    if not chosen_name:
        raise Invalid("the reply names nobody: give the name to add", field="name")
    data = ProspectCreate.model_validate({
        "name": chosen_name, "contact_name": row.named_person, "email": address, "trade": referrer.trade,
        "city": referrer.city, "notes": f"Referred by {referrer.name} ({referrer.id}) in reply {row.id}.",
    })  # fmt: skip
    created = prospects.create(session, data, actor=actor, source="referral")
    activity.record(session, referrer.id, "referral", "added", {"replyId": row.id, "prospectId": created.id},
                    actor=actor)  # fmt: skip
    task_id = row.action_detail.get("taskId")
    if task_id:
        task = tasks.get(session, task_id)
        if task.done_at is None:
            tasks.done(session, task_id, actor=actor)
    _done(row, "referral_added", prospectId=created.id, taskId=task_id)
    return created


# --- reading ---------------------------------------------------------------------------------------------


@dataclass
class ReplyView:
    id: str
    prospect_id: str
    prospect_name: str
    email_id: str | None
    source: str
    label: str
    label_name: str
    reason: str
    set_by: str
    rule_label: str
    named_date: date | None
    named_person: str | None
    named_email: str | None
    action: str
    action_detail: dict[str, Any]
    excerpt: str
    received_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "prospectId": self.prospect_id, "prospectName": self.prospect_name,
                "emailId": self.email_id, "source": self.source, "label": self.label, "reason": self.reason,
                "setBy": self.set_by, "ruleLabel": self.rule_label,
                "namedDate": self.named_date.isoformat() if self.named_date else None,
                "namedPerson": self.named_person, "namedEmail": self.named_email, "action": self.action,
                "actionDetail": self.action_detail, "excerpt": self.excerpt,
                "receivedAt": self.received_at.isoformat().replace("+00:00", "Z")}  # fmt: skip


def view(session: Session, row: ReplyLabel) -> ReplyView:
    name = prospects.get(session, row.prospect_id).name
    return ReplyView(row.id, row.prospect_id, name, row.email_activity_id, row.source, row.label,
                     labels.LABEL_NAMES[row.label], row.reason, row.set_by, row.rule_label, row.named_date,
                     row.named_person, row.named_email, row.action, dict(row.action_detail or {}), row.excerpt,
                     row.received_at)  # fmt: skip


def search(session: Session, *, label: str | None = None, prospect_id: str | None = None,
           email_ids: list[str] | None = None, limit: int = 50) -> list[ReplyView]:  # fmt: skip
    if label is not None and label not in labels.LABELS:
        raise Invalid(f"must be one of {', '.join(labels.LABELS)} (got {label[:40]!r})", field="label")
    if not 1 <= limit <= 500:
        raise Invalid("must be from 1 to 500", field="limit")
    query = select(ReplyLabel).order_by(ReplyLabel.received_at.desc(), ReplyLabel.id.desc()).limit(limit)
    if label:
        query = query.where(ReplyLabel.label == label)
    if prospect_id:
        query = query.where(ReplyLabel.prospect_id == prospect_id)
    if email_ids is not None:
        query = query.where(ReplyLabel.email_activity_id.in_(email_ids[:500]))
    return [view(session, row) for row in session.scalars(query)]


def report(session: Session) -> dict[str, Any]:
    """Counts by label (as now set), by who set them, and the corrections (rule's label -> person's)."""
    by_label = dict.fromkeys(labels.LABELS, 0)
    for label, n in session.execute(select(ReplyLabel.label, func.count()).group_by(ReplyLabel.label)):
        by_label[label] = n
    set_by = Counter[str]()
    for who, n in session.execute(select(ReplyLabel.set_by, func.count()).group_by(ReplyLabel.set_by)):
        set_by[who] = n
    corrections = [
        {"from": frm, "to": to, "count": n}
        for frm, to, n in session.execute(
            select(ReplyLabelChange.from_label, ReplyLabelChange.to_label, func.count())
            .group_by(ReplyLabelChange.from_label, ReplyLabelChange.to_label)
            .order_by(func.count().desc(), ReplyLabelChange.from_label, ReplyLabelChange.to_label)
        )
    ]
    total = sum(by_label.values())
    corrected = session.scalar(select(func.count(func.distinct(ReplyLabelChange.reply_id)))) or 0
    agreed = session.scalar(
        select(func.count()).select_from(ReplyLabel).where(ReplyLabel.label == ReplyLabel.rule_label)
    ) or 0  # fmt: skip
    return {"total": total, "byLabel": by_label, "setBy": {"rule": set_by["rule"], "person": set_by["person"]},
            "correctedReplies": corrected, "corrections": corrections,
            "ruleAgreement": round(agreed / total, 4) if total else None}  # fmt: skip
