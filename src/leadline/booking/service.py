"""Booking a call through a prospect's link: open the link, offer slots, book, reschedule, cancel,
revoke. Every rule of the public booking page is here; the page, the API and the CLI translate.

Two people choosing the same time: booking, rescheduling and cancelling first lock the host's
user row and availability row, if they set one (``SELECT ... FOR UPDATE`` on PostgreSQL;
SQLite's write transactions are serial already), then look at the booked calls again, so the
second sees the first's call and is told the time is taken. The call itself is booked by
``calls.service.book``, the same service as ``leadline calls schedule`` (the prospect moves to
scheduled, their sequences stop, the owner is notified); the invitations (.ics) go out after
the commit (``booking.invite``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadline import jobs
from leadline.auth import service as users
from leadline.auth.models import User
from leadline.booking import availability, links
from leadline.booking.models import Availability, Booking, BookingLink
from leadline.booking.schemas import BookingLinkRead
from leadline.calls import service as calls
from leadline.calls.models import CallActivity
from leadline.calls.schemas import CallBook, Reschedule
from leadline.clock import utc_now
from leadline.db import settings_of
from leadline.errors import Conflict, Forbidden, Invalid, LeadlineError, NotFound
from leadline.fields import require_one_line
from leadline.ids import new_id
from leadline.prospects import service as prospects
from leadline.prospects.models import Prospect
from leadline.prospects.stages import LOST

#: The actor written in the timeline for what a prospect does on their booking page.
PROSPECT_ACTOR = "prospect:booking link"
#: Every sender: a revocation of all of a prospect's links.
ALL_SENDERS = "*"


class LinkInvalid(NotFound):
    code = "link_invalid"


class LinkGone(LeadlineError):
    """An expired or revoked link, or one for a prospect no longer open to a call."""

    status_code = 410
    code = "link_gone"


class SlotNotOffered(Invalid):
    pass


class SlotTaken(Conflict):
    code = "slot_taken"


class AlreadyBooked(Conflict):
    code = "already_booked"

    def __init__(self, message: str, booking_id: str) -> None:
        super().__init__(message, field="slot")
        self.booking_id = booking_id


@dataclass
class Opened:
    """A link that opens: the prospect, the host and what the host offers (None: nothing set)."""

    prospect: Prospect
    sender: str
    host: User | None
    offer: Availability | None
    zone: ZoneInfo  # the prospect's own

    @property
    def lengths(self) -> list[int]:
        return list(self.offer.lengths) if self.offer else []


def prospect_zone(session: Session, prospect: Prospect) -> ZoneInfo:
    """The prospect's own zone, else the configured one."""
    if prospect.timezone:
        try:
            return ZoneInfo(prospect.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return settings_of(session).zone


def _user(session: Session, email: str | None) -> User | None:
    if not email:
        return None
    try:
        return users.get_user(session, email)
    except NotFound:
        return None


def host_for(session: Session, prospect: Prospect, sender: str) -> tuple[User | None, Availability | None]:
    """Who takes the call and what they offer. The host is the first of these who is not disabled:
    the prospect's owner, the user whose address is the sender's, the first user who set
    availability, the first admin, the first member. A host who set nothing offers the defaults
    (``availability.DEFAULTS``). (None, None) only when there is no such user at all."""
    for email in (prospect.owner, sender):
        user = _user(session, email)
        if user is not None and user.disabled_at is None:
            return user, availability.offer_for(session, user)
    first = session.scalar(
        select(Availability)
        .join(User, User.id == Availability.user_id)
        .where(User.disabled_at.is_(None))
        .order_by(Availability.updated_at, Availability.user_id)
        .limit(1)
    )
    if first is not None:
        return session.get(User, first.user_id), first
    for role in ("admin", "member"):
        user = users.first_active(session, role)
        if user is not None:
            return user, availability.offer_for(session, user)
    return None, None


def _refuse_if_closed(prospect: Prospect) -> None:
    if prospect.do_not_contact or prospect.sales_status == LOST:
        raise LinkGone("this booking link is no longer open; reply to the email to reach us", field="token")


def _revoked(session: Session, claim: links.Claim) -> bool:
    """Revoked at or after the token was made (tokens carry whole seconds: one made in the same
    second as a revocation is refused too)."""
    found = session.scalar(
        select(BookingLink.id).where(
            BookingLink.prospect_id == claim.prospect_id,
            BookingLink.sender_email.in_([claim.sender, ALL_SENDERS]),
            BookingLink.revoked_at.is_not(None),
            BookingLink.revoked_at >= claim.issued_at,
        )
    )
    return found is not None


def open_link(session: Session, token: str, *, lock: bool = False) -> Opened:
    """What ``/book/{token}`` opens; refused with a clear error when it opens nothing."""
    try:
        claim = links.read(settings_of(session), token)
    except links.LinkProblem as problem:
        if problem.kind == "expired":
            raise LinkGone("this booking link has expired; reply to the email for a new one", field="token") from None
        raise LinkInvalid("this booking link is not valid; check that it was copied whole", field="token") from None
    try:
        prospect = prospects.get(session, claim.prospect_id)
    except NotFound:
        raise LinkInvalid("this booking link is not valid; check that it was copied whole", field="token") from None
    if _revoked(session, claim):
        raise LinkGone("this booking link was withdrawn; reply to the email to reach us", field="token")
    _refuse_if_closed(prospect)
    host, offer = host_for(session, prospect, claim.sender)
    if lock and host is not None:
        offer = availability.offer_for(session, host, for_update=True)
    return Opened(prospect, claim.sender, host, offer, prospect_zone(session, prospect))


def slots(session: Session, opened: Opened, length: int, *, ignore_call: str | None = None) -> list[datetime]:
    if opened.offer is None or opened.host is None or length not in opened.lengths:
        return []
    return availability.free_slots(session, opened.offer, opened.host, length, ignore_call=ignore_call)


def _check_slot(session: Session, opened: Opened, start: datetime, length: int, *, ignore_call: str | None) -> datetime:
    if opened.offer is None or opened.host is None:
        raise SlotNotOffered("no times are offered at the moment; reply to the email instead", field="slot")
    if length not in opened.lengths:
        offered = ", ".join(f"{m} minutes" for m in opened.lengths)
        raise SlotNotOffered(f"a {length}-minute call is not offered (offered: {offered})", field="length")
    try:
        start = start.astimezone(UTC) if start.tzinfo else start.replace(tzinfo=UTC)
    except OverflowError:  # 9999-12-31T23:59-23:59 is past the last moment a datetime holds
        raise SlotNotOffered("that time is not offered; pick one of the times shown", field="slot") from None
    if start not in availability.candidate_starts(opened.offer, length, utc_now()):
        raise SlotNotOffered("that time is not offered; pick one of the times shown", field="slot")
    if start not in availability.free_slots(session, opened.offer, opened.host, length, ignore_call=ignore_call):
        raise SlotTaken("that time has just been taken; pick another", field="slot")
    return start


def current(session: Session, prospect_id: str) -> Booking | None:
    """The prospect's call booked through a link and still to be held, if any."""
    return session.scalar(
        select(Booking)
        .join(CallActivity, CallActivity.id == Booking.call_id)
        .where(Booking.prospect_id == prospect_id, CallActivity.status == "scheduled")
        .order_by(Booking.created_at.desc())
        .limit(1)
    )


def book(session: Session, token: str, start: datetime, length: int, *, note: str | None = None) -> Booking:
    """Book the slot for the link's prospect; the second of two people choosing it gets SlotTaken."""
    if note is not None:
        note = note.strip()[:1000] or None
    opened = open_link(session, token, lock=True)
    existing = current(session, opened.prospect.id)
    if existing is not None:
        raise AlreadyBooked("a call is booked already; use the links in its confirmation to move it", existing.id)
    start = _check_slot(session, opened, start, length, ignore_call=None)
    assert opened.host is not None
    notes = f"Booked by the prospect ({length} min)" + (f": {note}" if note else "")
    call = calls.book(
        session, CallBook(prospect_id=opened.prospect.id, scheduled_at=start, notes=notes), actor=PROSPECT_ACTOR
    )
    booking = Booking(
        id=new_id("bkg"), call_id=call.id, prospect_id=opened.prospect.id, host_user_id=opened.host.id,
        sender_email=opened.sender, length_minutes=length, invited_sequence=-1, created_at=utc_now(),
    )  # fmt: skip
    session.add(booking)
    session.flush()
    jobs.defer(session, "booking.invite", booking.id)
    return booking


@dataclass
class Managed:
    booking: Booking
    call: CallActivity
    prospect: Prospect
    host: User
    offer: Availability
    zone: ZoneInfo


def manage(session: Session, token: str, *, lock: bool = False) -> Managed:
    """The booking a manage link (reschedule, cancel) names."""
    try:
        booking_id = links.read_manage(settings_of(session), token)
    except links.LinkProblem:
        raise LinkInvalid("this link is not valid; check that it was copied whole", field="token") from None
    booking = session.get(Booking, booking_id)
    if booking is None:
        raise LinkInvalid("this link is not valid; check that it was copied whole", field="token")
    host = session.get(User, booking.host_user_id)
    assert host is not None
    offer = availability.offer_for(session, host, for_update=lock)
    call = calls.get(session, booking.call_id)
    prospect = prospects.get(session, booking.prospect_id)
    return Managed(booking, call, prospect, host, offer, prospect_zone(session, prospect))


def _opened(managed: Managed) -> Opened:
    return Opened(managed.prospect, managed.booking.sender_email, managed.host, managed.offer, managed.zone)


def manage_slots(session: Session, managed: Managed) -> list[datetime]:
    """The times the booked call may move to (its own time is not one)."""
    found = slots(session, _opened(managed), managed.booking.length_minutes, ignore_call=managed.call.id)
    return [start for start in found if start != managed.call.scheduled_at]


def _require_open(managed: Managed, doing: str) -> None:
    if managed.call.status != "scheduled":
        raise Conflict(f"this call is {managed.call.status.replace('_', '-')}; it cannot be {doing}", field="token")


def reschedule(session: Session, token: str, start: datetime) -> Managed:
    """Move the booked call to another offered time: the same calendar event, the next SEQUENCE."""
    managed = manage(session, token, lock=True)
    _require_open(managed, "moved")
    _refuse_if_closed(managed.prospect)
    start = _check_slot(session, _opened(managed), start, managed.booking.length_minutes, ignore_call=managed.call.id)
    if start == managed.call.scheduled_at:
        raise Invalid("that is the time the call is booked for already; pick another", field="slot")
    managed.call = calls.reschedule(
        session, managed.call.id, Reschedule(scheduled_at=start, reason="moved by the prospect"), actor=PROSPECT_ACTOR
    )
    jobs.defer(session, "booking.invite", managed.booking.id)
    return managed


def cancel(session: Session, token: str, *, reason: str | None = None) -> Managed:
    if reason is not None:
        reason = reason.strip()[:500] or None
        if reason:
            require_one_line(reason, "reason")
    managed = manage(session, token, lock=True)
    _require_open(managed, "cancelled")
    managed.call = calls.cancel(
        session, managed.call.id, reason=reason or "cancelled by the prospect", actor=PROSPECT_ACTOR
    )
    jobs.defer(session, "booking.invite", managed.booking.id)
    return managed


# --- links, as a person sees them ------------------------------------------------------------


def link_for(session: Session, prospect_id: str, sender: str | None = None) -> BookingLinkRead:
    settings = settings_of(session)
    prospect = prospects.get(session, prospect_id)
    sender = (sender or settings.sender_email).lower()
    revoked = session.scalar(
        select(BookingLink)
        .where(BookingLink.prospect_id == prospect.id, BookingLink.sender_email.in_([sender, ALL_SENDERS]))
        .order_by(BookingLink.revoked_at.desc())
    )
    closed = prospect.do_not_contact or prospect.sales_status == LOST
    return BookingLinkRead(
        prospect_id=prospect.id, sender=sender, url=None if closed else links.url(settings, prospect.id, sender),
        revoked_at=revoked.revoked_at if revoked else None, revoked_reason=revoked.revoked_reason if revoked else None,
    )  # fmt: skip


def revoke(session: Session, prospect_id: str, *, sender: str | None, reason: str | None, actor: str) -> BookingLink:
    """Withdraw every link made so far for the prospect (under one sender, or all of them)."""
    if reason is not None:
        require_one_line(reason, "reason")
    prospect = prospects.get(session, prospect_id, for_update=True)
    key = sender.strip().lower() if sender else ALL_SENDERS
    row = session.scalar(
        select(BookingLink).where(BookingLink.prospect_id == prospect.id, BookingLink.sender_email == key)
    )
    if row is None:
        row = BookingLink(id=new_id("bkl"), prospect_id=prospect.id, sender_email=key, created_at=utc_now())
        session.add(row)
    row.revoked_at = utc_now()
    row.revoked_by = actor
    row.revoked_reason = reason
    session.flush()
    return row


def bookings_for(session: Session, prospect_id: str) -> list[Booking]:
    return list(
        session.scalars(select(Booking).where(Booking.prospect_id == prospect_id).order_by(Booking.created_at.desc()))
    )


# --- availability, as the shells ask for it ----------------------------------------------------


def user_for(session: Session, email: str | None, *, acting_email: str | None, admin: bool) -> User:
    """Whose availability: ``email`` (another user's needs an admin), else the acting user."""
    if email is None:
        if acting_email is None:
            raise Invalid("name the user (an API token is no user)", field="user")
        return users.get_user(session, acting_email)
    user = users.get_user(session, email)
    if not admin and (acting_email or "").lower() != user.email.lower():
        raise Forbidden("only an admin may read or set another user's availability", field="user")
    return user
