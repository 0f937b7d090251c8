"""Booking jobs: send a booked call's invitations once the booking has committed, and the sweep."""

from __future__ import annotations

from leadline.booking import flows
from leadline.config import Settings
from leadline.jobs import Periodic, job


@job("booking.invite")
def invite(settings: Settings, booking_id: str, *_: str) -> None:
    flows.send_invitations(settings, booking_id)


@job("booking.sweep", periodic=Periodic("booking.sweep", every_minutes=5))
def sweep(settings: Settings) -> None:
    flows.sweep(settings)
