"""Webhook jobs: events stored but not applied (the process died in between) are applied."""

from __future__ import annotations

from datetime import timedelta

from leadline.config import Settings
from leadline.db import unit_of_work
from leadline.jobs import Periodic, job
from leadline.webhooks import service


@job("webhooks.sweep", periodic=Periodic("webhooks.sweep", every_minutes=1))
def sweep(settings: Settings) -> None:
    with unit_of_work(settings, readonly=True) as session:
        ids = service.pending_ids(session, statuses=["received"], older_than=timedelta(minutes=1), limit=5000)
    for start in range(0, len(ids), service.APPLY_BATCH):
        with unit_of_work(settings) as session:
            service.apply(session, ids[start : start + service.APPLY_BATCH], actor="worker:webhooks")
