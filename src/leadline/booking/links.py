"""Booking links: ``/book/{token}``, one per prospect and sender, and the manage links of a booked call.

A link's token is signed (itsdangerous, HMAC under ``LEADLINE_SECRET_KEY``) and names the
prospect and the sender; it carries the time it was made, so an email template can print one
without a write, a link older than :data:`MAX_AGE` has expired, and revoking a prospect's links
(``booking_links.revoked_at``) refuses every token made before that moment. A tampered token fails
its signature. The manage token of a booked call (reschedule, cancel) names the booking.

This module is pure (settings in, text out), so the email templates can use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeSerializer, URLSafeTimedSerializer

from leadline.clock import utc_now
from leadline.config import Settings

#: How long a booking link in an email keeps working.
MAX_AGE = timedelta(days=90)
#: A longer token is refused before any work.
MAX_TOKEN = 400
_LINK_SALT = "leadline.booking.link"
_MANAGE_SALT = "leadline.booking.manage"


class _ClockSigner(TimestampSigner):
    """Leadline's clock (frozen in tests), so a link's age and its revocation read one clock."""

    def get_timestamp(self) -> int:
        return int(utc_now().timestamp())


def _links(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret(), salt=_LINK_SALT, signer=_ClockSigner)


class LinkProblem(Exception):
    """Why a token opens nothing: ``invalid`` (unknown or tampered) or ``expired``."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True)
class Claim:
    prospect_id: str
    sender: str
    issued_at: datetime


def token(settings: Settings, prospect_id: str, sender: str) -> str:
    return str(_links(settings).dumps([prospect_id, sender.lower()]))


def url(settings: Settings, prospect_id: str, sender: str) -> str:
    """The booking page for ``prospect_id`` under ``sender`` (the ``booking_url`` merge field)."""
    return f"{settings.base_url}/book/{token(settings, prospect_id, sender)}"


def read(settings: Settings, given: str) -> Claim:
    if not given or len(given) > MAX_TOKEN:
        raise LinkProblem("invalid")
    try:
        value, stamp = _links(settings).loads(given, max_age=int(MAX_AGE.total_seconds()), return_timestamp=True)
    except SignatureExpired:
        raise LinkProblem("expired") from None
    except BadSignature:
        raise LinkProblem("invalid") from None
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        raise LinkProblem("invalid")
    issued = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    return Claim(prospect_id=value[0], sender=value[1], issued_at=issued)


def manage_token(settings: Settings, booking_id: str) -> str:
    return str(URLSafeSerializer(settings.secret(), salt=_MANAGE_SALT).dumps(booking_id))


def manage_path(settings: Settings, booking_id: str) -> str:
    """The booked call's page on this server (pages link and redirect to it, whatever the host)."""
    return f"/book/manage/{manage_token(settings, booking_id)}"


def manage_url(settings: Settings, booking_id: str) -> str:
    """The booked call's page, in full (emails and calendar entries)."""
    return f"{settings.base_url}{manage_path(settings, booking_id)}"


def path(settings: Settings, prospect_id: str, sender: str) -> str:
    return f"/book/{token(settings, prospect_id, sender)}"


def read_manage(settings: Settings, given: str) -> str:
    if not given or len(given) > MAX_TOKEN:
        raise LinkProblem("invalid")
    try:
        value = URLSafeSerializer(settings.secret(), salt=_MANAGE_SALT).loads(given)
    except BadSignature:
        raise LinkProblem("invalid") from None
    if not isinstance(value, str):
        raise LinkProblem("invalid")
    return value
