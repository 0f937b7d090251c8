"""The dashboard counts in the database: ten times the emails, about the same peak memory."""

from __future__ import annotations

import gc
import tracemalloc
from datetime import timedelta

from leadline.analytics.service import common
from leadline.analytics.service import dashboard as figures
from leadline.calls.models import CallActivity
from leadline.config import Settings
from leadline.db import unit_of_work
from leadline.emails.models import EmailActivity
from leadline.prospects.models import Prospect
from tests.analytics.conftest import add_rows, call_row, email_row, local, prospect_row

WEEK = "2025-W47"


def grow_to(settings: Settings, emails: int, have: int) -> None:
    """Add prospects and emails sent in 2025-W47 until there are ``emails`` of them."""
    start = local("2025-11-17 08:00")
    people = [prospect_row(sales_status="contacted", emails_sent_count=1) for _ in range((emails - have) // 4)]
    add_rows(settings, Prospect.__table__, people)
    rows = []
    for index in range(emails - have):
        sent = start + timedelta(seconds=index * 7)
        rows.append(email_row(people[index % len(people)]["id"], sent, delivered_at=sent,
                              opened_at=sent if index % 3 == 0 else None, open_count=1 if index % 3 == 0 else 0,
                              replied_at=sent + timedelta(hours=1) if index % 20 == 0 else None))  # fmt: skip
    add_rows(settings, EmailActivity.__table__, rows)
    add_rows(settings, CallActivity.__table__, [call_row(p["id"], start + timedelta(hours=3)) for p in people[:50]])


def peak(settings) -> int:
    week = common.resolve_week(WEEK, settings)
    gc.collect()
    tracemalloc.start()
    try:
        with unit_of_work(settings, readonly=True) as session:
            board = figures.dashboard(session, week, settings=settings, cards=5, now=week.end)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        assert board.outreach.sent > 0


def test_peak_memory_does_not_grow_with_the_emails(sqlite_settings):
    grow_to(sqlite_settings, 2_000, 0)
    peak(sqlite_settings)  # warm up: imports and SQLAlchemy's statement caches
    small = peak(sqlite_settings)
    grow_to(sqlite_settings, 20_000, 2_000)
    large = peak(sqlite_settings)
    # Rows are counted by SQLite, never loaded: the peak is the same give or take noise.
    print(f"peak memory: {small:,} B at 2,000 emails, {large:,} B at 20,000")
    assert large < small * 1.25 + 200_000, (small, large)
