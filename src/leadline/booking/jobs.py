"""Booking jobs: send a booked call's invitations once the booking has committed."""

from __future__ import annotations

from leadline.booking import flows
from leadline.config import Settings
from leadline.jobs import job


@job("booking.invite")
def invite(settings: Settings, booking_id: str, method: str) -> None:
    flows.send_invitations(settings, booking_id, method)
