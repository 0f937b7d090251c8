"""Sequence jobs: send the steps that are due (queued for each step's time, and every minute)."""

from __future__ import annotations

from leadline.config import Settings
from leadline.jobs import Periodic, job
from leadline.sequences import flows


@job("sequences.run_due", periodic=Periodic("sequences.run_due", every_minutes=1))
def run_due(settings: Settings) -> None:
    flows.reconcile(settings)
    flows.run_due(settings)
