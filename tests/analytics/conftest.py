"""Helpers for the analytics tests: the seed's week played through the real services and the
signed webhook, and rows written straight into the tables for the recount tests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert

from leadline import clock
from leadline.analytics import totals
from leadline.config import Settings
from leadline.db import unit_of_work
from leadline.ids import new_id
from tests.webhooks.conftest import hook  # noqa: F401  (the signed-webhook fixture)

ZONE = ZoneInfo("America/Chicago")  # the tests' LEADLINE_TIMEZONE
#: The seed's week for these tests: 2025-W47, Monday 17 to Sunday 23 November 2025.
SEED_WEEK = "2025-W47"
SEED_MONDAY = datetime(2025, 11, 17, tzinfo=ZONE)


def local(text: str) -> datetime:
    """'2025-11-18 09:00' in Chicago, as aware UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=ZONE).astimezone(UTC)


def play_seed_week(hook: Any, settings: Any) -> dict[str, Any]:  # noqa: F811
    """The seed's Week 1 through the real code paths: 340 researched prospects imported, 25
    pain_point emails sent through the outbox on Monday 08:30, SendGrid's events for them posted
    signed to /webhooks/sendgrid (24 delivered, 1 bounced, 8 opened of which 2 only by Apple's
    privacy prefetch, 3 clicked) and two replies posted to Inbound Parse; a call booked with
    each of the two who replied, one held (25 minutes, objections cost and timeline). No deal.
    Leaves the clock at Thursday 16:00 of that week."""
    from leadline.calls import service as calls
    from leadline.calls.schemas import CallBook, CallLog
    from leadline.demo import DemoContext, import_research, send_week_one
    from leadline.emails import service as emails
    from leadline.webhooks.security import inbound_token
    from leadline.webhooks.simulate import batches, frame, reply_form, seed_week, signed_headers

    context = DemoContext(settings=settings, monday=SEED_MONDAY)
    import_research(context)
    send_week_one(context)
    week_one = set(context.shared["week_one_emails"])  # type: ignore[arg-type]
    with unit_of_work(settings, readonly=True) as session:
        sent = [e for e in emails.sent_for_simulation(session) if e.id in week_one]
    stream = seed_week(sent, repliers=["royal_plumbing_co"])
    replies = sorted(stream.replies, key=lambda r: r.at)
    events = sorted(stream.events, key=lambda e: (e["timestamp"], e["sg_event_id"]))

    def post_until(moment: datetime | None) -> None:
        nonlocal events
        due = [e for e in events if moment is None or e["timestamp"] <= moment.timestamp()]
        events = events[len(due) :]
        for group in batches(due, 50):
            clock.set_frozen(datetime.fromtimestamp(group[-1]["timestamp"], UTC) + timedelta(seconds=5))
            body = frame(group)
            answer = hook.client.post("/webhooks/sendgrid", content=body, headers=signed_headers(hook.key, body))
            assert answer.status_code == 200, answer.text

    for reply in replies:
        post_until(reply.at)
        clock.set_frozen(reply.at)
        body, content_type = reply_form(reply, sender_email=settings.sender_email)
        answer = hook.client.post(
            f"/webhooks/sendgrid/inbound/{inbound_token(hook.settings)}",
            content=body,
            headers={"Content-Type": content_type},
        )
        assert answer.status_code == 200, answer.text
    post_until(None)
    repliers = [reply.email.prospect_id for reply in replies]
    first, second = repliers

    clock.set_frozen(local("2025-11-19 16:00"))  # Wednesday: both calls booked
    with unit_of_work(settings) as session:
        calls.book(session, CallBook(prospect_id=first, scheduled_at=local("2025-11-20 14:00")), actor="test")
        calls.book(session, CallBook(prospect_id=second, scheduled_at=local("2025-11-21 15:00")), actor="test")
    clock.set_frozen(local("2025-11-20 14:25"))  # Thursday: the first call held, 25 minutes
    with unit_of_work(settings) as session:
        calls.log(
            session,
            CallLog.model_validate(
                {"prospect_id": first, "outcome": "interested", "duration": "25m",
                 "objections": ["How much will this cost?", "What's the timeline?"]}
            ),
            actor="test",
        )  # fmt: skip
    clock.set_frozen(local("2025-11-20 16:00"))
    return {"repliers": repliers, "emails": sorted(week_one)}


@pytest.fixture
def seed_week(hook, settings):  # noqa: F811
    return play_seed_week(hook, settings)


# --- rows written straight into the tables -------------------------------------------------------

_numbers = itertools.count(1)


def add_rows(settings: Settings, table: Any, rows: list[dict[str, Any]]) -> None:
    """INSERT rows (missing keys are NULL, or the column's default)."""
    if rows:
        keys = {key for row in rows for key in row}
        filled = [{key: row.get(key) for key in keys} for row in rows]
        name = getattr(table, "name", None)
        scope: dict[str, set[str]] = {}
        if name in ("email_activities", "call_activities", "customers"):
            scope = {
                {"email_activities": "emails", "call_activities": "calls"}.get(name, "customers"): {
                    row["id"] for row in filled
                },
                "prospects": {row["prospect_id"] for row in filled},
            }
        elif name == "prospects":
            scope = {"prospects": {row["id"] for row in filled}}
        elif "prospect_id" in keys:
            scope = {"prospects": {row["prospect_id"] for row in filled}}
        with unit_of_work(settings) as session, totals.changing(session, **scope):  # the totals move with them
            session.execute(insert(table), filled)


def prospect_row(**values: Any) -> dict[str, Any]:
    n = next(_numbers)
    now = values.pop("at", None) or datetime(2025, 11, 1, tzinfo=UTC)
    row = {
        "id": f"p{n:05d}", "name": f"Biz {n}", "trade": "plumbing", "email": f"o{n}@biz{n}.com", "tier": 3,
        "grid_health": 50.0, "gaps": [], "status": "active", "sales_status": "new", "emails_sent_count": 0,
        "emails_opened_count": 0, "calls_scheduled_count": 0, "calls_completed_count": 0, "do_not_contact": False,
        "created_at": now, "updated_at": now,
    }  # fmt: skip
    row.update(values)
    return row


def email_row(prospect_id: str, sent_at: datetime | None, **values: Any) -> dict[str, Any]:
    row = {
        "id": new_id("email"), "prospect_id": prospect_id, "email_type": "pain_point", "template": "pain_point",
        "subject": "Hello", "to_email": f"{prospect_id}@example.com", "from_email": "sales@example.com",
        "body_text": "", "status": "sent" if sent_at else "pending", "sent_at": sent_at, "open_count": 0,
        "machine_open_count": 0, "click_count": 0, "created_at": sent_at or datetime(2025, 11, 1, tzinfo=UTC),
        "updated_at": sent_at or datetime(2025, 11, 1, tzinfo=UTC),
    }  # fmt: skip
    row.update(values)
    return row


def call_row(prospect_id: str, created_at: datetime, **values: Any) -> dict[str, Any]:
    row = {
        "id": new_id("call"), "prospect_id": prospect_id, "scheduled_at": created_at + timedelta(days=1),
        "status": "scheduled", "outcome": "pending", "objections": [], "objection_categories": [],
        "ics_sequence": 0, "created_at": created_at, "updated_at": created_at,
    }  # fmt: skip
    row.update(values)
    return row


def stage_row(prospect_id: str, before: str, after: str, at: datetime) -> dict[str, Any]:
    return {
        "id": new_id("act"), "prospect_id": prospect_id, "type": "stage_change", "status": after,
        "details": {"from": before, "to": after, "manual": False}, "actor": "test", "created_at": at,
        "updated_at": at,
    }  # fmt: skip


def customer_row(prospect_id: str, signed_at: datetime, fee: float, status: str = "active") -> dict[str, Any]:
    return {
        "id": new_id("cus"), "prospect_id": prospect_id, "company_name": prospect_id, "service_type": "paid_ads",
        "monthly_fee": fee, "start_date": signed_at, "signed_at": signed_at, "status": status,
        "created_at": signed_at, "updated_at": signed_at,
    }  # fmt: skip
