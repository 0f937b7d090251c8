"""Notification jobs: deliver one (queued after commit), and the sweep that finds the rest."""

from __future__ import annotations

from leadline.config import Settings
from leadline.jobs import Periodic, job
from leadline.notify import flows


@job("notify.deliver")
def deliver(settings: Settings, notification_id: str) -> None:
    flows.deliver(settings, notification_id)


@job("notify.sweep", periodic=Periodic("notify.sweep", every_minutes=1))
def sweep(settings: Settings) -> None:
    flows.sweep(settings)
