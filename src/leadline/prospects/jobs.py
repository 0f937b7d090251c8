"""Prospect jobs: bulk actions on large selections, their Undo and a sweep that resumes one a stopped
process left half-way; imports whose process died, settled (finished, or abandoned) within a minute."""

from __future__ import annotations

from leadline.config import Settings
from leadline.jobs import Periodic, job
from leadline.prospects import bulk, flows


@job("prospects.bulk_run")
def bulk_run(settings: Settings, operation_id: str) -> None:
    bulk.run(settings, operation_id)


@job("prospects.bulk_undo")
def bulk_undo(settings: Settings, operation_id: str) -> None:
    bulk.run_undo(settings, operation_id)


@job("prospects.bulk_resume", periodic=Periodic("prospects.bulk_resume", every_minutes=5))
def bulk_resume(settings: Settings) -> None:
    bulk.resume_stale(settings)


@job("prospects.settle_imports", periodic=Periodic("prospects.settle_imports", every_minutes=1))
def settle_imports(settings: Settings) -> None:
    flows.recover(settings)
