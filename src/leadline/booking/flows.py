"""Sending a booked call's invitations, after the booking's commit (the ``booking.invite`` job),
and the sweep that sends what a lost job left.

Both sides get an email with the .ics attached through the configured email backend (the outbox
folder, SMTP or SendGrid): the prospect, unless their address is suppressed, and the host. The
prospect's email carries the reschedule and cancel links. What goes out follows the call as it is
now: METHOD:REQUEST for a booked call, METHOD:CANCEL for a cancelled one (a call held or missed
gets nothing). Each version of the call (its ``ics_sequence``) is claimed once before it is sent
(``bookings.invited_sequence``), so no one gets the same invitation twice; the sweep also carries
a change made elsewhere (``leadline calls reschedule|cancel``) to the prospect.

A flow: it claims and reads in one unit of work and sends outside it.
"""

from __future__ import annotations

from email.utils import make_msgid
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from leadline.booking import links
from leadline.booking.invites import ics, when_text
from leadline.booking.models import Booking
from leadline.booking.service import manage
from leadline.calls.models import CallActivity
from leadline.clock import utc_now
from leadline.config import Settings
from leadline.db import unit_of_work
from leadline.emails import service as emails
from leadline.emails.backends import get_backend
from leadline.emails.message import Attachment, Outgoing, text_to_html


def sweep(settings: Settings, *, limit: int = 200) -> int:
    """Send every booked call's invitations not yet sent for its current version."""
    with unit_of_work(settings, readonly=True) as session:
        due = list(
            session.scalars(
                select(Booking.id)
                .join(CallActivity, CallActivity.id == Booking.call_id)
                .where(Booking.invited_sequence < CallActivity.ics_sequence)
                .order_by(Booking.created_at)
                .limit(limit)
            )
        )
    return sum(bool(send_invitations(settings, booking_id)) for booking_id in due)


def send_invitations(settings: Settings, booking_id: str) -> list[str]:
    """Email the call's invitation (or cancellation) as it stands now, once per version; who got it."""
    manage_url = links.manage_url(settings, booking_id)
    token = links.manage_token(settings, booking_id)
    with unit_of_work(settings) as session:
        managed = manage(session, token)
        call, prospect, host, booking = managed.call, managed.prospect, managed.host, managed.booking
        claimed = session.execute(
            update(Booking)
            .where(Booking.id == booking_id, Booking.invited_sequence < call.ics_sequence)
            .values(invited_sequence=call.ics_sequence)
            .execution_options(synchronize_session=False)
        )
        if not claimed.rowcount or call.status not in ("scheduled", "cancelled"):  # type: ignore[attr-defined]
            return []
        method = "CANCEL" if call.status == "cancelled" else "REQUEST"
        assert call.scheduled_at is not None
        suppressed = prospect.email is None or emails.suppression_for(session, prospect.email) is not None
        start, sequence, minutes = call.scheduled_at, call.ics_sequence, booking.length_minutes
        prospect_when, host_when = when_text(start, managed.zone), when_text(start, ZoneInfo(managed.offer.timezone))
        person = prospect.contact_name or prospect.name
        prospect_email, prospect_id = prospect.email, prospect.id
        business, host_email = prospect.name, host.email
    summary = f"Call: {settings.sender_name} and {business}"
    cancelled = method == "CANCEL"
    data = ics(
        method=method, call_id=call.id, sequence=sequence, start=start, minutes=minutes, summary=summary,
        description=f"{minutes}-minute call.\nReschedule or cancel: {manage_url}", organizer=(host_email,
        settings.sender_name), attendee=(prospect_email or host_email, person), stamp=utc_now(), url=manage_url,
    )  # fmt: skip
    attachment = Attachment("invite.ics", f"text/calendar; method={method}; charset=utf-8", data)
    sent: list[str] = []
    outgoing: list[tuple[str, str, str | None, str, str]] = []
    if prospect_email and not suppressed:
        if cancelled:
            text = f"Hello {person},\n\nYour call on {prospect_when} is cancelled.\n\nBook another time: " \
                   f"{links.url(settings, prospect_id, booking.sender_email)}\n"  # fmt: skip
        else:
            text = (
                f"Hello {person},\n\nYour {minutes}-minute call is booked for {prospect_when}.\n"
                f"The invitation is attached; add it to your calendar.\n\n"
                f"Reschedule: {manage_url}/reschedule\nCancel: {manage_url}/cancel\n"
            )
        subject = ("Cancelled: " if cancelled else "Invitation: ") + f"call on {prospect_when}"
        outgoing.append(("guest", prospect_email, person, subject, text))
    host_text = (
        f"{'Cancelled' if cancelled else 'Booked'} by {person} ({business}): {minutes}-minute call on {host_when}.\n\n"
        f"{settings.base_url}/prospects/{prospect_id}\n"
    )
    outgoing.append(
        ("host", host_email, None, ("Cancelled: " if cancelled else "Booked: ") + f"{business}, {host_when}", host_text)
    )
    backend = get_backend(settings)
    try:
        for role, to_email, to_name, subject, text in outgoing:
            backend.send(
                Outgoing(
                    email_id=f"{booking_id}-{method.lower()}-{sequence}-{role}",
                    to_email=to_email,
                    to_name=to_name,
                    from_email=settings.sender_email,
                    from_name=settings.sender_name,
                    subject=subject,
                    text=text,
                    html=text_to_html(text),
                    message_id=make_msgid(domain=settings.sender_email.rsplit("@", 1)[-1]),
                    template="booking-invitation",
                    unsubscribe_url=f"{settings.base_url}/settings",
                    date=utc_now(),
                    attachments=[attachment],
                )
            )
            sent.append(to_email)
    finally:
        backend.close()
    return sent
