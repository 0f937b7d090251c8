"""A rewrite of emails (webhook events) works out only the parts of an email's contributions whose
columns changed (``totals.EMAIL_PART_COLUMNS``): each part must read no column beyond those it names,
or a change to that column would be missed."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from leadline.analytics import totals

SENT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


class Recording:
    """An email row by attribute that notes which columns are read."""

    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values
        self.read: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name == "read":
            raise AttributeError(name)
        self.read.add(name)
        return self._values[name]


def rows() -> list[dict[str, Any]]:
    """Emails in every shape the parts branch on: opened by people or machines only, clicked,
    bounced or blocked, failed, replied, reported as spam, unsubscribed; with and without a sender."""
    later = [None, SENT + timedelta(hours=3)]
    found = []
    for opened, clicked, machine, failed, sender, bounce_type in itertools.product(
        later, later, (0, 2), (False, True), ("", "snd_1"), (None, "bounce", "blocked")
    ):
        found.append(
            {
                "id": "email_1", "prospect_id": "p", "template": "pain_point", "sender_id": sender,
                "status": "failed" if failed else "opened", "sent_at": SENT, "delivered_at": SENT + timedelta(minutes=1),
                "opened_at": opened, "clicked_at": clicked, "replied_at": later[1] if failed else None,
                "bounced_at": SENT if bounce_type else None, "failed_at": SENT if failed else None,
                "open_count": 3 if opened else 0, "machine_open_count": machine if opened else 0,
                "bounce_type": bounce_type, "spam_reported_at": later[1] if sender else None,
                "unsubscribed_at": later[1] if failed else None,
            }
        )  # fmt: skip
    return found


def test_each_part_reads_only_the_columns_it_names():
    zone = ZoneInfo("Europe/London")
    for add, columns in totals.EMAIL_PART_COLUMNS:
        read: set[str] = set()
        for values in rows():
            row = Recording(values)
            add(row, zone, {})
            read |= row.read
        assert read <= set(columns), (add, read - set(columns))
    named = {name for _, columns in totals.EMAIL_PART_COLUMNS for name in columns}
    assert named <= set(totals.EMAIL_COLUMNS)


def test_the_parts_together_are_an_emails_contributions():
    zone = ZoneInfo("America/New_York")
    for values in rows():
        whole: totals.Parts = {}
        totals._email_all_parts(Recording(values), zone, whole)
        pieces: totals.Parts = {}
        for add, _ in totals.EMAIL_PART_COLUMNS:
            add(Recording(values), zone, pieces)
        assert pieces == whole
