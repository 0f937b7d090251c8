"""Wilson intervals, the two-proportion z-test, and the notes the template table writes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from leadline.analytics.service import what_works
from leadline.analytics.stats import compare, normal_two_sided_p, wilson
from leadline.db import unit_of_work
from leadline.emails.models import EmailActivity
from leadline.prospects.models import Prospect
from tests.analytics.conftest import add_rows, email_row, local, prospect_row


def test_wilson_known_values():
    low, high = wilson(2, 25)
    assert (round(low, 4), round(high, 4)) == (0.0222, 0.2497)
    low, high = wilson(8, 25)
    assert (round(low, 4), round(high, 4)) == (0.1720, 0.5159)
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == 1.0
    assert wilson(0, 0) is None
    with pytest.raises(ValueError):
        wilson(3, 2)


def test_normal_tail():
    assert normal_two_sided_p(1.96) == pytest.approx(0.05, abs=1e-3)
    assert normal_two_sided_p(0) == 1.0


def test_compare():
    clear = compare(40, 200, 10, 200)
    assert clear.verdict == "significant" and clear.p_value < 0.001 and clear.difference == pytest.approx(0.15)
    close = compare(21, 200, 20, 200)
    assert close.verdict == "not_significant" and close.p_value > 0.5
    small = compare(5, 20, 1, 200)
    assert small.verdict == "too_small" and "20 sends" in small.reason
    rare = compare(1, 100, 0, 100)  # expected successes under 5
    assert rare.verdict == "too_small" and "expected count" in rare.reason


def test_template_notes(settings):
    people = [prospect_row() for _ in range(40)]
    add_rows(settings, Prospect.__table__, people)
    start = local("2025-11-03 09:00")
    rows = []
    for index in range(200):
        sent = start + timedelta(minutes=index)
        rows.append(email_row(people[index % 40]["id"], sent, template="pain_point",
                              replied_at=sent + timedelta(hours=2) if index < 40 else None))  # fmt: skip
        rows.append(email_row(people[index % 40]["id"], sent, template="solution",
                              replied_at=sent + timedelta(hours=2) if index < 10 else None))  # fmt: skip
    for index in range(12):
        rows.append(email_row(people[index]["id"], start, template="competitor_threat"))
    add_rows(settings, EmailActivity.__table__, rows)
    with unit_of_work(settings, readonly=True) as session:
        table = what_works.template_performance(session)
    notes = {row.template: row.note for row in table.rows}
    assert notes["pain_point"] == "best reply rate"
    assert notes["solution"].startswith("reply rate significantly lower than pain_point (p = ")
    assert notes["competitor_threat"].startswith("too small to tell: 12 sends")
    assert any("solution's reply rate is significantly lower than pain_point's" in note for note in table.notes)
    solution = next(row for row in table.rows if row.template == "solution")
    assert (solution.replied.count, solution.replied.rate) == (10, 0.05)
    assert solution.replied.low < 0.05 < solution.replied.high
