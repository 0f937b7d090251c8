"""The reminders job, every minute."""

from __future__ import annotations

from leadline.config import Settings
from leadline.db import unit_of_work
from leadline.jobs import Periodic, job
from leadline.tasks import reminders


@job("reminders.run", periodic=Periodic("reminders.run", every_minutes=1))
def run(settings: Settings) -> None:
    with unit_of_work(settings) as session:
        reminders.raise_due(session, settings)
