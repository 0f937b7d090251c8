"""Texts: logging one, planning and recording a send, Twilio's status callbacks and inbound texts.

Each text is a timeline entry of type ``sms`` (``activity.record``) with its facts in
``text_messages``; the entry's status follows the text's. A text counts as a touch: sent, logged or
received, it moves the prospect's last contact forward; an inbound text (logged or received) stops
the prospect's sequences (``sequences.stops``). Services never commit (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from leadline.activity import service as activity
from leadline.clock import utc_now
from leadline.config import Settings
from leadline.errors import Conflict, Invalid, LeadlineError, NotFound
from leadline.fields import clean_text, text_problem
from leadline.ids import new_id
from leadline.notify import service as notify
from leadline.prospects import service as prospects
from leadline.prospects.dupkeys import PHONE_KEY
from leadline.prospects.models import Prospect
from leadline.sequences.stops import stop_for_prospect
from leadline.sequences.windows import next_window_start, zone_for
from leadline.texts import optouts, quota, segments
from leadline.texts.models import TextMessage
from leadline.texts.schemas import Preview, TextLog, TextRead
from leadline.times import iso, to_utc

TYPE = "sms"
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS = frozenset({"START", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})
#: How far each status of an outbound text has got: a late "sent" never undoes "delivered".
_RANK = {"queued": 0, "unknown": 0, "sent": 1, "delivered": 2, "undelivered": 2, "failed": 2}
#: Twilio's error for a number that texted STOP to Twilio itself (it will not carry our texts): the
#: number is opted out here too, so no later send tries it.
UNSUBSCRIBED = "21610"
#: Twilio's MessageStatus values, as a text's status.
TWILIO_STATUS = {"accepted": "sent", "queued": "sent", "sending": "sent", "sent": "sent", "delivered": "delivered",
                 "undelivered": "undelivered", "failed": "failed"}  # fmt: skip


class TextRefused(Conflict):
    """A text that may not go (opted out, quiet hours, the cap, already sent, do-not-contact)."""

    def __init__(self, message: str, *, reason: str, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.reason = reason


class TextNotFound(NotFound):
    pass


# --- writing a text ------------------------------------------------------------------------------


def _details(message: TextMessage) -> dict[str, Any]:
    return {
        "textId": message.id, "direction": message.direction, "body": message.body, "from": message.from_number,
        "to": message.to_number, "twilioSid": message.twilio_sid, "template": message.template,
        "segments": message.segments,
    }  # fmt: skip


def _record(
    session: Session, prospect_id: str | None, *, direction: str, status: str, body: str, at: datetime, actor: str,
    from_number: str | None = None, to_number: str | None = None, template: str | None = None,
    sid: str | None = None, key: str | None = None, enrollment: tuple[str, int] | None = None,
) -> TextMessage:  # fmt: skip
    counted = segments.count(body)
    message = TextMessage(
        id=new_id("txt"), prospect_id=prospect_id, direction=direction, status=status, body=body,
        segments=counted.segments, encoding=counted.encoding, from_number=from_number, to_number=to_number,
        twilio_sid=sid, idempotency_key=key, template=template,
        sequence_enrollment_id=enrollment[0] if enrollment else None,
        sequence_step=enrollment[1] if enrollment else None, actor=actor, at=at, created_at=utc_now(),
        updated_at=utc_now(),
    )  # fmt: skip
    if prospect_id is not None:
        entry = activity.record(session, prospect_id, TYPE, status, _details(message), actor=actor, at=at)
        message.activity_id = entry.id
    session.add(message)
    return message


def _set_status(session: Session, message: TextMessage, status: str, **more: Any) -> None:
    message.status = status
    message.updated_at = utc_now()
    activity.update_status(session, message.activity_id, status, twilioSid=message.twilio_sid, **more)


def check_length(settings: Settings, body: str, *, field: str = "body") -> segments.Segments:
    counted = segments.count(body)
    if counted.segments > settings.text_max_segments:
        raise Invalid(
            f"is {counted.segments} SMS segments ({counted.units} {counted.encoding} characters); the limit is "
            f"{settings.text_max_segments} (LEADLINE_TEXT_MAX_SEGMENTS)",
            field=field,
        )
    return counted


def log(session: Session, settings: Settings, prospect_id: str, data: TextLog, *, actor: str) -> TextMessage:
    """A text that happened elsewhere: on the timeline, a touch, and (inbound) a stop to the sequence."""
    from leadline.texts import phones

    prospect = prospects.get(session, prospect_id, for_update=True)
    now = utc_now()
    at = to_utc(data.at, settings.zone, field="at") if data.at is not None else now
    if at > now + timedelta(minutes=1):
        raise Invalid("is in the future: log a text that happened", field="at")
    if data.direction == "out":
        check_length(settings, data.body)
    number = phones.maybe_e164(prospect.phone, settings.phone_region)
    ours = settings.twilio_from
    message = _record(
        session, prospect.id, direction=data.direction, status="logged", body=data.body, at=at, actor=actor,
        from_number=ours if data.direction == "out" else number, to_number=number if data.direction == "out" else ours,
    )  # fmt: skip
    prospects.touch_contact(prospect, at)
    if data.direction == "in":
        stop_for_prospect(session, prospect.id, "texted back", actor=actor)
    session.flush()
    return message


# --- sending -------------------------------------------------------------------------------------


@dataclass
class Planned:
    prospect_id: str
    prospect_name: str
    template: str
    body: str
    to: str | None
    counted: segments.Segments
    key: str
    blocked: list[tuple[str, str]] = field(default_factory=list)  # (reason code, message)

    def preview(self, settings: Settings) -> Preview:
        return Preview(
            prospect_id=self.prospect_id, template=self.template, to=self.to, body=self.body,
            segments=self.counted.segments, encoding=self.counted.encoding, max_segments=settings.text_max_segments,
            blocked=[message for _, message in self.blocked],
        )  # fmt: skip


def key_for(prospect_id: str, template: str, enrollment: tuple[str, int] | None = None) -> str:
    """One text per prospect and template, or per sequence step."""
    if enrollment is not None:
        return f"seq:{enrollment[0]}:{enrollment[1]}"
    return f"tpl:{prospect_id}:{template}"


def plan(
    session: Session, settings: Settings, prospect_id: str, template: str, *, now: datetime | None = None,
    enrollment: tuple[str, int] | None = None, strict: bool = True,
) -> Planned:  # fmt: skip
    """What ``template`` would send ``prospect_id``, checked against every rule. ``strict``: the first
    broken rule is raised (nothing is sent); otherwise each is listed in ``blocked`` (the preview)."""
    from leadline.texts import phones  # imported here: `leadline today` reads texts without them
    from leadline.texts import templates as text_templates

    now = now or utc_now()
    prospect = prospects.get(session, prospect_id)
    stored = text_templates.get(session, template)
    body = text_templates.render(settings, stored.name, stored.body, prospect)
    counted = check_length(settings, body, field="template")
    planned = Planned(prospect.id, prospect.name, template, body, None, counted, key_for(prospect.id, template,
                                                                                            enrollment))  # fmt: skip

    def refuse(error: LeadlineError, reason: str) -> None:
        if strict:
            raise error
        planned.blocked.append((reason, str(error.message)))

    try:
        planned.to = phones.to_e164(prospect.phone, settings.phone_region, field="phone")
    except Invalid as error:
        what = f"has no phone number that can take texts ({error.message})" if prospect.phone else "has no phone number"
        refuse(Invalid(f"{prospect.id} {what}", field="phone"), "no_phone")
    if prospect.do_not_contact:
        refuse(TextRefused(f"{prospect.id} is marked do-not-contact", reason="do_not_contact"), "do_not_contact")
    if planned.to and optouts.find(session, planned.to) is not None:
        refuse(TextRefused(f"{planned.to} opted out of texts (it texted STOP)", reason="opted_out", field="phone"),
               "opted_out")  # fmt: skip
    opening = quiet_until(settings, prospect, now)
    if opening is not None:
        local = opening.astimezone(zone_for(settings, prospect.timezone))
        refuse(TextRefused(
            f"it is outside {prospect.id}'s texting hours ({settings.text_window_start}-{settings.text_window_end} "
            f"{', '.join(settings.text_window_days)}, their time); the next opening is {local:%a %Y-%m-%d %H:%M %Z}",
            reason="quiet_hours"), "quiet_hours")  # fmt: skip
    if session.scalar(select(TextMessage.id).where(TextMessage.idempotency_key == planned.key)) is not None:
        refuse(TextRefused(f"{prospect.id} already got text {template!r}", reason="already_sent", field="template"),
               "already_sent")  # fmt: skip
    if quota.sent_today(session, settings) >= settings.daily_text_limit:
        refuse(TextRefused(f"today's {settings.daily_text_limit} texts are used up (LEADLINE_DAILY_TEXT_LIMIT)",
                           reason="cap"), "cap")  # fmt: skip
    return planned


def quiet_until(settings: Settings, prospect: Prospect, now: datetime) -> datetime | None:
    """None inside the prospect's local texting hours; else when they next open (UTC)."""
    window = settings.model_copy(update={"send_window_start": settings.text_window_start,
                                         "send_window_end": settings.text_window_end,
                                         "send_window_days": settings.text_window_days})  # fmt: skip
    opening = next_window_start(window, zone_for(settings, prospect.timezone), now)
    return None if opening <= now else opening


def claim(
    session: Session, settings: Settings, planned: Planned, *, actor: str, enrollment: tuple[str, int] | None = None
) -> TextMessage:
    """Take the send: one from today's cap, and the text's row (queued) under its idempotency key."""
    if not quota.reserve(session, settings, quota.local_day(settings)):
        raise TextRefused(f"today's {settings.daily_text_limit} texts are used up (LEADLINE_DAILY_TEXT_LIMIT)",
                          reason="cap")  # fmt: skip
    try:
        with session.begin_nested():
            message = _record(
                session, planned.prospect_id, direction="out", status="queued", body=planned.body, at=utc_now(),
                actor=actor, from_number=settings.twilio_from, to_number=planned.to, template=planned.template,
                key=planned.key, enrollment=enrollment,
            )  # fmt: skip
            session.flush()
    except IntegrityError:
        raise TextRefused(f"{planned.prospect_id} already got text {planned.template!r}", reason="already_sent",
                          field="template") from None  # fmt: skip
    return message


def get(session: Session, text_id: str, *, for_update: bool = False) -> TextMessage:
    found = session.get(TextMessage, text_id, with_for_update=for_update)
    if found is None:
        raise TextNotFound(f"no text {text_id!r}", field="textId")
    return found


def record_sent(session: Session, text_id: str, *, sid: str, status: str, from_number: str | None) -> TextMessage:
    """Twilio (or the log backend) took the text."""
    message = get(session, text_id, for_update=True)
    message.twilio_sid = sid
    message.from_number = from_number or message.from_number
    message.at = utc_now()
    wanted = TWILIO_STATUS.get(status, "sent")
    if _RANK.get(message.status, 0) < _RANK[wanted]:
        _set_status(session, message, wanted, **{"from": message.from_number})
    if message.prospect_id:
        prospects.touch_contact(prospects.get(session, message.prospect_id, for_update=True), message.at)
    session.flush()
    return message


def record_failed(session: Session, settings: Settings, text_id: str, *, error: str, code: str | None,
                  definite: bool) -> TextMessage:  # fmt: skip
    """The hand-over failed: ``definite`` (Twilio refused it) gives the send back to today's cap;
    otherwise the outcome is unknown (it may have gone) and the cap keeps it."""
    message = get(session, text_id, for_update=True)
    message.error, message.error_code = error[:1000], code
    if definite:
        quota.release(session, quota.local_day(settings, message.created_at))
    _set_status(session, message, "failed" if definite else "unknown", error=error[:300], errorCode=code)
    _unsubscribed(session, message, code)
    session.flush()
    return message


def _unsubscribed(session: Session, message: TextMessage, code: str | None) -> None:
    """Twilio says the number opted out with it (error 21610): opt it out here too, at once."""
    if code != UNSUBSCRIBED or not message.to_number:
        return
    added = optouts.add(session, message.to_number, reason="twilio", source=f"twilio:{UNSUBSCRIBED}")
    if added and message.prospect_id:
        activity.record(session, message.prospect_id, TYPE, "opted_out",
                        {"number": message.to_number, "keyword": f"Twilio error {UNSUBSCRIBED}"}, actor="twilio",
                        at=utc_now())  # fmt: skip


# --- Twilio's callbacks --------------------------------------------------------------------------


def apply_status(session: Session, params: dict[str, str]) -> str:
    """A status callback: delivered, undelivered or failed (or sent) for the text Twilio names.
    Returns what was done, in a few words."""
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    status = (params.get("MessageStatus") or params.get("SmsStatus") or "").lower()
    message = session.scalar(select(TextMessage).where(TextMessage.twilio_sid == sid).with_for_update())
    if message is None:
        return f"unknown message {sid[:64]}"
    wanted = TWILIO_STATUS.get(status)
    if wanted is None:
        return f"status {status[:30]} ignored"
    if _RANK.get(message.status, 0) >= _RANK[wanted] and message.status != "unknown":
        return f"already {message.status}"
    code = (params.get("ErrorCode") or "")[:20] or None
    if code and text_problem(code):
        code = None  # not an error code Twilio sends (one line of digits): not kept
    if code:
        message.error_code = code
    if wanted == "delivered":
        message.delivered_at = utc_now()
    _set_status(session, message, wanted, **({"errorCode": code} if code else {}))
    _unsubscribed(session, message, code)
    session.flush()
    return f"{message.id} {wanted}"


@dataclass
class Received:
    outcome: str  # received | unmatched | opted_out | opted_in | help | unreadable | duplicate
    text_id: str | None = None
    prospect_id: str | None = None
    reply: str | None = None  # what to answer the sender (TwiML <Message>), if anything
    reason: str | None = None  # why a post was unreadable (kept as posted, no text recorded)


def find_prospect(session: Session, settings: Settings, number: str) -> Prospect | None:
    """The prospect whose phone is ``number`` (E.164), through the phone-key index (the last ten digits)."""
    from leadline.texts import phones

    digits = number.lstrip("+")
    key = digits[-10:] if len(digits) > 10 else digits
    found = session.scalars(
        select(Prospect).where(text(f"{PHONE_KEY} = :key").bindparams(key=key)).order_by(Prospect.created_at)
    ).all()
    matched = [p for p in found if phones.maybe_e164(p.phone, settings.phone_region) == number]
    if len(matched) <= 1:
        return matched[0] if matched else None
    # Several prospects share the number (one owner, several businesses): the one we last texted at it,
    # else the one last in touch, else the first made.
    texted = session.scalar(
        select(TextMessage.prospect_id)
        .where(TextMessage.to_number == number, TextMessage.direction == "out",
               TextMessage.prospect_id.in_([p.id for p in matched]))
        .order_by(TextMessage.at.desc(), TextMessage.id.desc())
        .limit(1)
    )  # fmt: skip
    if texted is not None:
        return next(p for p in matched if p.id == texted)
    epoch = datetime.min.replace(tzinfo=UTC)
    return max(matched, key=lambda p: (p.last_contact_at or epoch, -matched.index(p)))


def keyword(body: str) -> str:
    words = body.strip().upper().split()
    return words[0].strip(".!") if len(words) == 1 else ""


def receive(session: Session, settings: Settings, params: dict[str, str], *, actor: str = "webhook:twilio") -> Received:
    """An inbound text: matched to its prospect by number, on the timeline, a touch, a stop to their
    sequence, a notification to the owner; STOP-words opt the number out at once, START lifts it,
    HELP is answered. From an unknown number it is kept unmatched for an admin."""
    from leadline.texts import phones

    # What a stranger wrote is stored under the stored-text rule (fields): the body is free text (line
    # breaks kept, other control characters removed), the numbers are phone numbers, the sid one line.
    try:
        number = phones.to_e164((params.get("From") or "")[:phones.MAX_INPUT + 1], settings.phone_region,
                                field="From")  # fmt: skip
    except Invalid as error:
        return Received("unreadable", reason=str(error))  # kept as posted (flows: twilio_callbacks), no text
    body = clean_text((params.get("Body") or "")[:5000])
    sid = (params.get("MessageSid") or params.get("SmsSid") or "")[:64] or None
    if sid and text_problem(sid):
        sid = None
    if sid and session.scalar(select(TextMessage.id).where(TextMessage.twilio_sid == sid)) is not None:
        return Received("duplicate")
    word = keyword(body)
    opt = (params.get("OptOutType") or "").upper()
    prospect = find_prospect(session, settings, number)
    now = utc_now()
    message = _record(
        session, prospect.id if prospect else None, direction="in", status="received" if prospect else "unmatched",
        body=body, at=now, actor=actor, from_number=number, to_number=phones.maybe_e164(params.get("To"),
        settings.phone_region), sid=sid,
    )  # fmt: skip
    result = Received("received" if prospect else "unmatched", message.id, prospect.id if prospect else None)
    if opt == "STOP" or (not opt and word in STOP_WORDS):
        optouts.add(session, number, reason="twilio" if opt else "stop", source=actor, keyword=word or opt)
        result.outcome = "opted_out"
    elif opt == "START" or (not opt and word in START_WORDS):
        optouts.lift(session, number)
        result.outcome = "opted_in"
    elif opt == "HELP" or word in HELP_WORDS:
        result.outcome, result.reply = "help", settings.text_help_reply
    if prospect is not None:
        prospects.touch_contact(prospects.get(session, prospect.id, for_update=True), now)
        if result.outcome in ("opted_out", "opted_in"):
            activity.record(session, prospect.id, TYPE, result.outcome, {"number": number, "keyword": word or opt},
                            actor=actor, at=now)  # fmt: skip
        why = "texted STOP" if result.outcome == "opted_out" else "texted back"
        stop_for_prospect(session, prospect.id, why, actor=actor)
        owner = f" (owner {prospect.owner})" if prospect.owner else ""
        notify.raise_event(
            session, "text_received", f"text:{message.id}", f"Text from {prospect.name}{owner}", body=body[:500],
            prospect_id=prospect.id, payload={"textId": message.id, "owner": prospect.owner, "from": number},
        )  # fmt: skip
    session.flush()
    return result


# --- reading -------------------------------------------------------------------------------------


def read(message: TextMessage) -> TextRead:
    return TextRead.model_validate(message)


def search(
    session: Session, *, prospect_id: str | None = None, direction: str | None = None, status: str | None = None,
    sent_from: datetime | None = None, sent_to: datetime | None = None, limit: int = 100,
    after: tuple[datetime, str] | None = None,
) -> Sequence[TextMessage]:  # fmt: skip
    """Texts, newest first; ``after``: the (time, id) of the last one of the page before (a keyset cursor)."""
    query = select(TextMessage).order_by(TextMessage.at.desc(), TextMessage.id.desc()).limit(limit)
    if after is not None:
        query = query.where((TextMessage.at < after[0]) | ((TextMessage.at == after[0]) & (TextMessage.id < after[1])))
    if prospect_id:
        query = query.where(TextMessage.prospect_id == prospect_id)
    if direction:
        query = query.where(TextMessage.direction == direction)
    if status == COUNTED:  # what the dashboard and the weekly report count (one predicate: counted())
        query = query.where(counted())
    elif status:
        query = query.where(TextMessage.status == status)
    if sent_from is not None:
        query = query.where(TextMessage.at >= sent_from)
    if sent_to is not None:
        query = query.where(TextMessage.at < sent_to)
    return session.scalars(query).all()


#: What the dashboard and the weekly report count as a text sent (out, and it went) and received.
SENT_STATUSES = ("sent", "delivered", "undelivered", "logged")
RECEIVED_STATUSES = ("received", "logged")


COUNTED = "counted"


def counted() -> Any:
    """A prospect's text that went out (sent, delivered, undelivered, or logged) or came in (received or
    logged): what the dashboard's and the weekly report's figures count, and what their lists show."""
    return TextMessage.prospect_id.is_not(None) & (
        ((TextMessage.direction == "out") & TextMessage.status.in_(SENT_STATUSES))
        | ((TextMessage.direction == "in") & TextMessage.status.in_(RECEIVED_STATUSES))
    )


@cache
def _week_counts() -> Any:
    """:func:`week_counts`' statement, made once (the dashboard asks for it on every request)."""
    return (
        select(TextMessage.direction, func.count())
        .where(TextMessage.at >= bindparam("start"), TextMessage.at < bindparam("end"), counted())
        .group_by(TextMessage.direction)
    )


def week_counts(session: Session, start: datetime, end: datetime) -> dict[str, int]:
    """Texts sent (or logged as sent) and received (or logged as received) in [start, end)."""
    rows = session.execute(_week_counts(), {"start": start, "end": end}).all()
    found = {direction: int(n) for direction, n in rows}
    return {"sent": found.get("out", 0), "received": found.get("in", 0)}


def waiting_replies(session: Session, *, limit: int = 50) -> list[dict[str, Any]]:
    """Inbound texts of the last 14 days with no text sent to that prospect since (the Today page)."""
    since = utc_now() - timedelta(days=14)
    rows = session.execute(
        select(TextMessage, Prospect.name)
        .join(Prospect, Prospect.id == TextMessage.prospect_id)
        .where(TextMessage.direction == "in", TextMessage.at >= since, TextMessage.status.in_(("received", "logged")))
        .order_by(TextMessage.at.desc())
        .limit(limit * 2)
    ).all()
    found: list[dict[str, Any]] = []
    seen: set[str] = set()
    for message, name in rows:
        assert message.prospect_id is not None
        if message.prospect_id in seen:
            continue
        seen.add(message.prospect_id)  # their latest text decides: a STOP, START or HELP needs no answer
        if keyword(message.body) in STOP_WORDS | START_WORDS | HELP_WORDS:
            continue
        if message.from_number and optouts.find(session, message.from_number) is not None:
            continue
        answered = session.scalar(
            select(TextMessage.id).where(TextMessage.prospect_id == message.prospect_id,
                                         TextMessage.direction == "out", TextMessage.at >= message.at).limit(1)
        )  # fmt: skip
        if answered is None:
            found.append({"textId": message.id, "prospectId": message.prospect_id, "prospectName": name,
                          "body": message.body, "at": iso(message.at), "from": message.from_number})  # fmt: skip
    return found[:limit]


def cursor_for(message: TextMessage | TextRead) -> str:
    """The keyset cursor of the page after ``message`` (the last one shown)."""
    return f"{message.at.isoformat()}|{message.id}"


def parse_cursor(given: str | None) -> tuple[datetime, str] | None:
    """A cursor :func:`cursor_for` made, as :func:`search`'s ``after``; Invalid (field ``cursor``) else."""
    if not given:
        return None
    moment, _, text_id = given.partition("|")
    try:
        return datetime.fromisoformat(moment), text_id
    except ValueError:
        raise Invalid("is not a cursor this list gave", field="cursor") from None


def unmatched(session: Session, *, limit: int = 100) -> Sequence[TextMessage]:
    return search(session, status="unmatched", limit=limit)


def replied_since(session: Session, prospect_id: str, since: datetime) -> bool:
    """Whether the prospect texted us (received or logged) at or after ``since``: a sequence stops."""
    found = session.scalar(
        select(TextMessage.id)
        .where(TextMessage.prospect_id == prospect_id, TextMessage.direction == "in", TextMessage.at >= since,
               TextMessage.status.in_(RECEIVED_STATUSES))
        .limit(1)
    )  # fmt: skip
    return found is not None
