"""Helpers for the pipeline tests (calls, deals, customers, tasks): local times, frozen
clock, booking and logging through the services, and an independent recount."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text

from leadline import clock
from leadline.calls import service as calls
from leadline.calls.schemas import CallBook, CallLog
from leadline.db import unit_of_work
from leadline.prospects import service as prospects
from leadline.prospects.schemas import ProspectRead

ZONE = ZoneInfo("America/Chicago")  # the tests' LEADLINE_TIMEZONE

SEED_OBJECTIONS = ["How much will this cost?", "Do you have case studies?", "What's the timeline?"]
SEED_NOTES = "Daniel was very interested. Grid health 48% is major pain point."
SEED_NEXT = "Send ROI proposal + case studies"


def local(text_: str) -> datetime:
    """'2025-11-18 09:00' in Chicago, as aware UTC."""
    return datetime.fromisoformat(text_).replace(tzinfo=ZONE).astimezone(UTC)


def freeze(text_: str) -> datetime:
    """Freeze the clock at a Chicago wall-clock time (the settings fixture unfreezes it)."""
    moment = local(text_)
    clock.set_frozen(moment)
    return moment


def book(settings, prospect_id: str, when: str, **extra: Any) -> str:
    with unit_of_work(settings) as session:
        data = CallBook.model_validate({"prospect_id": prospect_id, "scheduled_at": when, **extra})
        return calls.book(session, data, actor="test").id


def log(settings, prospect_id: str | None = None, outcome: str = "interested", **extra: Any) -> calls.Logged:
    values = {"prospect_id": prospect_id, "outcome": outcome, **extra}
    with unit_of_work(settings) as session:
        return calls.log(session, CallLog.model_validate({k: v for k, v in values.items() if v is not None}),
                         actor="test")  # fmt: skip


def prospect(settings, prospect_id: str) -> ProspectRead:
    with unit_of_work(settings, readonly=True) as session:
        return ProspectRead.model_validate(prospects.get(session, prospect_id))


def timeline(settings, prospect_id: str) -> list[tuple[str, str]]:
    with unit_of_work(settings, readonly=True) as session:
        return [(e.type, e.status) for e in prospects.timeline(session, prospect_id)]


def entries(settings, prospect_id: str, type_: str) -> list[dict[str, Any]]:
    with unit_of_work(settings, readonly=True) as session:
        return [{"status": e.status, **e.details} for e in prospects.timeline(session, prospect_id) if e.type == type_]


def recount(settings, prospect_id: str) -> dict[str, Any]:
    """The counters as plain SQL says they should be (independent of the service's code)."""
    with unit_of_work(settings, readonly=True) as session:

        def one(sql: str) -> Any:
            return session.execute(text(sql), {"p": prospect_id}).scalar()

        return {
            "scheduled": one("SELECT count(*) FROM call_activities WHERE prospect_id = :p AND status <> 'cancelled'"),
            "completed": one("SELECT count(*) FROM call_activities WHERE prospect_id = :p AND status = 'completed'"),
            "pending": one("SELECT count(*) FROM call_activities WHERE prospect_id = :p AND status = 'scheduled'"),
        }


def call_row(settings, call_id: str) -> dict[str, Any]:
    with unit_of_work(settings, readonly=True) as session:
        return calls.read(session, [calls.get(session, call_id)])[0].dump()
