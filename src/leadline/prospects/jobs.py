"""Bulk actions on prospects in the worker: large selections, their Undo, and a sweep that
resumes an operation a stopped process left half-way."""

from __future__ import annotations

from leadline.config import Settings
from leadline.jobs import Periodic, job
from leadline.prospects import bulk


@job("prospects.bulk_run")
def bulk_run(settings: Settings, operation_id: str) -> None:
    bulk.run(settings, operation_id)


@job("prospects.bulk_undo")
def bulk_undo(settings: Settings, operation_id: str) -> None:
    bulk.run_undo(settings, operation_id)


@job("prospects.bulk_resume", periodic=Periodic("prospects.bulk_resume", every_minutes=5))
def bulk_resume(settings: Settings) -> None:
    bulk.resume_stale(settings)
