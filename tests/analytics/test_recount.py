"""Every number equals a direct count over the activity tables: random rows are written, the
expected figures are computed here in plain Python from those same rows, and the dashboard,
the report and the "what works" tables must agree (SQLite and PostgreSQL)."""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from leadline.activity.models import OutreachActivity
from leadline.analytics.queries import what_works as qw
from leadline.analytics.queries.what_works import DELAY_BUCKETS
from leadline.analytics.service import common, what_works
from leadline.analytics.service import dashboard as figures
from leadline.analytics.service import report as weekly
from leadline.calls.models import CallActivity
from leadline.config import Settings
from leadline.customers.models import Customer
from leadline.db import unit_of_work
from leadline.emails.models import EmailActivity
from leadline.prospects.models import Prospect
from tests.analytics.conftest import (
    ZONE,
    add_rows,
    call_row,
    customer_row,
    email_row,
    prospect_row,
    stage_row,
)

BANDS = [("0-19", 20), ("20-39", 40), ("40-59", 60), ("60-79", 80), ("80-100", None)]
STAGES = ["new", "contacted", "replied", "scheduled", "interested", "proposal", "closed_won", "closed_lost"]
RANK = {"new": 0, "contacted": 1, "replied": 2, "scheduled": 3, "interested": 4, "proposal": 5, "closed_won": 6}
CATEGORIES = ["price", "timeline", "proof", "trust", "other"]
TEMPLATES = ["pain_point", "follow_up_1", "solution"]
WEEK = "2025-W45"  # Mon 3 Nov 2025 (the day after the DST change) to Sun 9 Nov


def generate(rng: random.Random, start: datetime, end: datetime) -> dict[str, list[dict[str, Any]]]:
    span = (end - start) + timedelta(days=16)
    origin = start - timedelta(days=8)

    def moment() -> datetime:
        return origin + timedelta(seconds=rng.randrange(int(span.total_seconds())), microseconds=rng.randrange(10**6))

    prospects = []
    for index in range(70):
        status = rng.choice(STAGES)
        prospects.append(
            prospect_row(
                tier=rng.choice([1, 2, 2, 3, 3, 3]),
                trade=rng.choice(["plumbing", "hvac", "roofing", None]),
                grid_health=rng.choice([None, rng.uniform(0, 100), 20.0, 39.99, 80.0]),
                sales_status=status,
                emails_sent_count=rng.choice([0, 0, 1, 2]),
                deal_value=rng.choice([None, 1000.0, 1500.0, 2400.0, 750.5]),
                id=f"r{index:03d}",
            )
        )
    ids = [p["id"] for p in prospects]
    stages = []
    for p in prospects:
        for _ in range(rng.choice([0, 0, 1, 2, 3]) if p["sales_status"] == "closed_lost" else rng.choice([0, 1])):
            stages.append(stage_row(p["id"], rng.choice(STAGES), rng.choice(STAGES), moment()))
            stages[-1]["details"]["manual"] = rng.random() < 0.5  # a move by hand, or by an event
    emails = []
    edges = [start, end - timedelta(microseconds=1), end, start - timedelta(microseconds=1)]
    for index in range(260):
        sent_at = edges[index] if index < len(edges) else (moment() if rng.random() > 0.05 else None)
        values: dict[str, Any] = {"template": rng.choice(TEMPLATES)}
        if sent_at is not None:
            if rng.random() < 0.75:
                values["delivered_at"] = sent_at + timedelta(seconds=30)
            roll = rng.random()
            if roll < 0.06:
                values.update(status="bounced", bounced_at=sent_at + timedelta(seconds=20))
            elif roll < 0.10:
                values.update(status="failed", failed_at=sent_at + timedelta(seconds=5))
            opens = rng.choice([0, 0, 0, 1, 1, 2, 3])
            machine = rng.randint(0, opens)
            clicks = rng.choice([0, 0, 0, 0, 1, 2]) if opens or rng.random() < 0.1 else 0
            values.update(open_count=opens, machine_open_count=machine, click_count=clicks)
            if opens or clicks:
                values["opened_at"] = sent_at + timedelta(hours=rng.uniform(0.1, 30))
            if clicks:
                values["clicked_at"] = values["opened_at"]
            if rng.random() < 0.15:
                delay = rng.choice([rng.randint(60, 3000), rng.randint(3700, 80000), rng.randint(90000, 900000)])
                values["replied_at"] = sent_at + timedelta(seconds=delay + 0.5)
                values["status"] = "replied"
        emails.append(email_row(rng.choice(ids), sent_at, **values))
    calls = []
    for _ in range(50):
        created = moment()
        status = rng.choice(["scheduled", "completed", "completed", "cancelled", "no_show"])
        values = {"status": status}
        if status == "completed":
            cats = rng.sample(CATEGORIES, rng.randint(0, 3))
            values.update(
                completed_at=created + timedelta(hours=rng.uniform(1, 100)),
                outcome=rng.choice(["interested", "not_interested", "follow_up", "proposal_sent"]),
                duration=rng.choice([None, 600, 1500, 1799]),
                objection_categories=cats,
                objections=[f"said {c}" for c in cats],
            )
        calls.append(call_row(rng.choice(ids), created, **values))
    customers = [
        customer_row(
            p["id"], moment(), rng.choice([900.0, 2400.0]), rng.choice(["active", "active", "paused", "churned"])
        )
        for p in prospects
        if p["sales_status"] == "closed_won"
    ]
    return {"prospects": prospects, "stages": stages, "emails": emails, "calls": calls, "customers": customers}


def store(settings: Settings, data: dict[str, list[dict[str, Any]]]) -> None:
    add_rows(settings, Prospect.__table__, data["prospects"])
    add_rows(settings, OutreachActivity.__table__, data["stages"])
    add_rows(settings, EmailActivity.__table__, data["emails"])
    add_rows(settings, CallActivity.__table__, data["calls"])
    add_rows(settings, Customer.__table__, data["customers"])


def inside(value: datetime | None, start: datetime, end: datetime) -> bool:
    return value is not None and start <= value < end


def events_before(data: dict[str, list[dict[str, Any]]], end: datetime) -> dict[str, set[str]]:
    """Stage -> the prospects who did its real event before ``end`` (analytics.service.funnel)."""
    E, C = data["emails"], data["calls"]
    before = lambda value: value is not None and value < end  # noqa: E731
    return {
        "contacted": {e["prospect_id"] for e in E if before(e["sent_at"])},
        "replied": {e["prospect_id"] for e in E if before(e.get("replied_at"))},
        "scheduled": {c["prospect_id"] for c in C if before(c["created_at"])},
        "interested": {c["prospect_id"] for c in C if c["status"] == "completed" and before(c.get("completed_at"))},
        "proposal": {
            c["prospect_id"] for c in C
            if c["status"] == "completed" and c.get("outcome") == "proposal_sent" and before(c.get("completed_at"))
        },
        "closed_won": {c["prospect_id"] for c in data["customers"] if before(c["signed_at"])},
    }  # fmt: skip


def expected_conversion(data: dict[str, list[dict[str, Any]]], at: datetime) -> dict[str, set[tuple[Any, ...]]]:
    """The conversion table at ``at`` in Python (what_works.conversion): by trade, tier and grid-health band,
    the prospects added before ``at``; those contacted before it; of those, each later stage's event before it."""
    did = events_before(data, at)
    columns = ("contacted", "replied", "scheduled", "interested", "proposal", "closed_won")
    groups: dict[str, dict[str, list[int]]] = {"trade": {}, "tier": {}, "band": {}}
    for p in data["prospects"]:
        if p["created_at"] >= at:
            continue
        health = p["grid_health"]
        band = "unknown" if health is None else next(n for n, upper in BANDS if upper is None or health < upper)
        contacted = p["id"] in did["contacted"]
        flags = [1] + [int(contacted and p["id"] in did[stage]) for stage in columns]
        for by, key in (("trade", p["trade"] or "(no trade)"), ("tier", f"Tier {p['tier']}"), ("band", band)):
            row = groups[by].setdefault(key, [0] * len(flags))
            row[:] = [a + b for a, b in zip(row, flags, strict=True)]
    return {by: {(key, *row) for key, row in rows.items()} for by, rows in groups.items()}


def conversion_rows(found: Any) -> dict[str, set[tuple[Any, ...]]]:
    """A :class:`Conversion`'s rows as :func:`expected_conversion` gives them."""

    def rows(lines: Any) -> set[tuple[Any, ...]]:
        return {(r.group, r.prospects, r.contacted, r.replied, r.scheduled, r.called, r.proposal, r.won) for r in lines}

    return {"trade": rows(found.by_trade), "tier": rows(found.by_tier), "band": rows(found.by_grid_health)}


def funnel_as_of(data: dict[str, list[dict[str, Any]]], end: datetime) -> tuple[int, dict[str, int], dict[str, int]]:
    """(prospects, stage -> prospects who did its real event, stage -> moved there by hand without
    it), everything before ``end``: the funnel's definition (analytics.service.funnel) in Python."""
    did = events_before(data, end)

    def before(value: datetime | None) -> bool:
        return value is not None and value < end

    hand: dict[str, int] = {}
    for entry in data["stages"]:
        if entry["details"].get("manual") and before(entry["created_at"]):
            pid = entry["prospect_id"]
            hand[pid] = max(hand.get(pid, 0), RANK.get(entry["details"]["to"], 0))
    by_hand = {
        stage: sum(1 for pid, rank in hand.items() if RANK[stage] <= rank and pid not in did[stage]) for stage in did
    }
    total = sum(1 for p in data["prospects"] if before(p["created_at"]))
    return total, {stage: len(ids) for stage, ids in did.items()}, by_hand


@pytest.mark.parametrize("seed", [7, 2025])
def test_every_number_is_a_recount(settings, seed):
    week = common.resolve_week(WEEK, settings)
    start, end = week.start, week.end
    data = generate(random.Random(seed), start, end)
    store(settings, data)
    P, E, C = data["prospects"], data["emails"], data["calls"]
    now = end + timedelta(days=3)
    with unit_of_work(settings, readonly=True) as session:
        board = figures.dashboard(session, week, settings=settings, cards=5, now=now)
        report = weekly.weekly_report(session, week, settings=settings, now=now)
        templates = what_works.template_performance(session)
        conversion = what_works.conversion(session)
        # at a week's end from the maintained totals; at any other instant from the raw rows
        conversion_at_end = what_works.conversion(session, until=end)
        raw_at_end = what_works._by_group(qw.conversion_rows_at(session, end))
        kept_at_end = qw.conversion_rows(session, end.astimezone(settings.zone).date().toordinal())
        objections = what_works.objection_table(session, settings=settings)
        forecast = what_works.forecast(session, settings=settings)
        timing = what_works.timing(session, settings=settings)
        periods = [(start, end), (start + timedelta(minutes=7, seconds=30), end - timedelta(seconds=1)),
                   (start + timedelta(hours=29, minutes=3), start + timedelta(hours=29, minutes=11)),
                   (start + timedelta(hours=29, minutes=14), start + timedelta(hours=29, minutes=31)),
                   (None, start + timedelta(days=2, minutes=1)), (start - timedelta(minutes=1), None)]  # fmt: skip
        timings = {period: what_works.timing(session, settings=settings, since=period[0], until=period[1])
                   for period in periods}  # fmt: skip

    # prospects and the funnel
    assert board.prospects.total == len(P)
    assert (board.prospects.tier1, board.prospects.tier2, board.prospects.tier3) == tuple(
        sum(1 for p in P if p["tier"] == t) for t in (1, 2, 3)
    )
    total, did, by_hand = funnel_as_of(data, end)
    expected_funnel = [total - did["contacted"]] + [did[stage] for stage in STAGES[1:7]]
    assert [s.count for s in board.pipeline] == expected_funnel
    assert [s.moved_by_hand for s in board.pipeline] == [0] + [by_hand[stage] for stage in STAGES[1:7]]
    assert board.pipeline[0].count + board.pipeline[1].count == len(P)
    assert sum(by_hand.values()) > 0  # the data has prospects moved by hand past events they did not do
    assert [s.count for s in report.pipeline] == expected_funnel

    # the week's emails and what happened to them by the week's end
    def by_end(value: datetime | None) -> bool:
        return value is not None and value < end

    sent = [e for e in E if inside(e["sent_at"], start, end)]
    assert board.outreach.sent == len(sent)
    assert board.outreach.delivered.count == sum(1 for e in sent if by_end(e.get("delivered_at")))
    assert board.outreach.bounced.count == sum(1 for e in sent if by_end(e.get("bounced_at")))
    assert board.outreach.failed.count == sum(1 for e in sent if e["status"] == "failed")
    opened = [e for e in sent if by_end(e.get("opened_at"))]
    human = [e for e in opened if e["open_count"] - e["machine_open_count"] > 0 or e["click_count"] > 0]
    eng = board.engagement
    assert (eng.opened.count, eng.human_opened.count) == (len(opened), len(human))
    assert eng.machine_only_opened == len(opened) - len(human)
    assert eng.machine_opens == sum(e["machine_open_count"] for e in opened)
    assert eng.clicked.count == sum(
        1 for e in sent if e["click_count"] > 0 and (e.get("clicked_at") is None or by_end(e["clicked_at"]))
    )
    replied = [e for e in sent if by_end(e.get("replied_at"))]
    assert len(opened) < sum(1 for e in sent if e.get("opened_at"))  # some opens came after the week
    assert eng.replied.count == len(replied)
    if sent:
        assert eng.opened.rate == pytest.approx(len(opened) / len(sent))

    # calls, as they stood at the week's end
    def gone(c: dict[str, Any]) -> bool:  # cancelled or missed before the week ended
        return c["status"] in ("cancelled", "no_show") and c["updated_at"] < end

    booked = [
        c for c in C
        if inside(c["created_at"], start, end) and not (c["status"] == "cancelled" and c["updated_at"] < end)
    ]  # fmt: skip
    held = [c for c in C if c["status"] == "completed" and inside(c.get("completed_at"), start, end)]
    assert board.calls.scheduled == len(booked)
    assert board.calls.pending == sum(
        1 for c in booked if not gone(c) and not (c["status"] == "completed" and by_end(c.get("completed_at")))
    )
    assert board.calls.no_show == sum(1 for c in booked if c["status"] == "no_show" and c["updated_at"] < end)
    assert board.calls.completed == len(held)
    timed = [c["duration"] for c in held if c.get("duration") is not None]
    assert board.calls.average_duration_seconds == (pytest.approx(sum(timed) / len(timed)) if timed else None)

    # key metrics
    metrics = {m.key: m for m in board.key_metrics}
    assert (metrics["send_rate"].count, metrics["send_rate"].total) == (len(sent), 5)
    converted = sum(
        1 for e in replied
        if any(c["prospect_id"] == e["prospect_id"] and e["sent_at"] <= c["created_at"] < end
               and not (c["status"] == "cancelled" and c["updated_at"] < end) for c in C)
    )  # fmt: skip
    assert (metrics["call_conversion"].count, metrics["call_conversion"].total) == (converted, len(replied))
    assert (metrics["deal_conversion"].count, metrics["deal_conversion"].total) == (
        expected_funnel[6],
        expected_funnel[1],
    )
    won = [c for c in data["customers"] if inside(c["signed_at"], start, end)]
    assert (board.deals_won, board.new_mrr) == (len(won), pytest.approx(sum(c["monthly_fee"] for c in won)))

    # the most active prospects
    activity: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for e in E:
        if inside(e.get("replied_at"), start, end):
            activity[e["prospect_id"]][0] += 1
    for c in booked:
        activity[c["prospect_id"]][1] += 1
    for c in held:
        activity[c["prospect_id"]][1] += 1
    opens = Counter(e["prospect_id"] for e in opened)
    ranked = sorted(activity, key=lambda pid: (-activity[pid][0], -activity[pid][1], -opens[pid], pid))[:5]
    if len(ranked) < 5:
        ranked += [pid for pid in sorted(opens, key=lambda pid: (-opens[pid], pid)) if pid not in ranked][
            : 5 - len(ranked)
        ]
    assert [card.id for card in board.cards] == ranked

    # the report: this week against the one before
    before_start, before_end = week.previous().start, week.previous().end
    lines = {line.key: line for line in report.lines}
    assert lines["emails_sent"].value == len(sent)
    assert lines["emails_sent"].previous == sum(1 for e in E if inside(e["sent_at"], before_start, before_end))
    bounds = week.day_starts()
    assert [d.sent for d in report.days] == [
        sum(1 for e in E if inside(e["sent_at"], bounds[i], bounds[i + 1])) for i in range(7)
    ]
    assert [d.replies for d in report.days] == [
        sum(1 for e in E if inside(e.get("replied_at"), bounds[i], bounds[i + 1])) for i in range(7)
    ]

    # templates, over every email sent
    ever = [e for e in E if e["sent_at"] is not None]
    for row in templates.rows:
        mine = [e for e in ever if e["template"] == row.template]
        assert row.sent == len(mine)
        assert row.delivered.count == sum(1 for e in mine if e.get("delivered_at"))
        assert row.human_opened.count == sum(
            1 for e in mine if e.get("opened_at") and (e["open_count"] > e["machine_open_count"] or e["click_count"])
        )
        assert row.clicked.count == sum(1 for e in mine if e["click_count"] > 0)
        assert row.replied.count == sum(1 for e in mine if e.get("replied_at"))
        assert row.calls_booked.count == sum(
            1 for e in mine if e.get("replied_at") and any(
                c["prospect_id"] == e["prospect_id"] and c["status"] != "cancelled" and c["created_at"] >= e["sent_at"]
                for c in C)
        )  # fmt: skip
        low, high = row.replied.low, row.replied.high
        assert low is not None and high is not None and low <= row.replied.rate <= high
    assert {r.template for r in templates.rows} == {e["template"] for e in ever}

    # conversion by tier: each stage by its real event (the funnel's definition), all time
    did_ever = events_before(data, datetime(9999, 1, 1, tzinfo=UTC))
    for stage in ("replied", "scheduled", "closed_won"):  # counted among the contacted (rates over them)
        did_ever[stage] &= did_ever["contacted"]
    for row in conversion.by_tier:
        tier = int(row.group.split()[1])
        mine = [p["id"] for p in P if p["tier"] == tier]
        assert (row.prospects, row.contacted, row.replied, row.scheduled, row.won) == (
            len(mine), *(sum(pid in did_ever[stage] for pid in mine) for stage in ("contacted", "replied", "scheduled",
                                                                               "closed_won")),
        )  # fmt: skip

    def band(value: float | None) -> str:
        if value is None:
            return "unknown"
        return next((name for name, upper in BANDS if upper is None or value < upper), "80-100")

    assert {r.group: (r.prospects, r.won) for r in conversion.by_grid_health} == {
        name: (
            sum(1 for p in P if band(p["grid_health"]) == name),
            sum(1 for p in P if band(p["grid_health"]) == name and p["id"] in did_ever["closed_won"]),
        )
        for name in {band(p["grid_health"]) for p in P}
    }
    assert sum(r.prospects for r in conversion.by_trade) == len(P)
    # as of the week's end: prospects added by then, each stage's event by then among those contacted by then
    did_end = events_before(data, end)
    added = {p["id"] for p in P if p["created_at"] < end}
    for stage in ("replied", "scheduled", "closed_won"):
        did_end[stage] &= did_end["contacted"]
    for row in conversion_at_end.by_tier:
        mine = {p["id"] for p in P if p["tier"] == int(row.group.split()[1])} & added
        assert (row.prospects, row.contacted, row.replied, row.scheduled, row.won) == (
            len(mine), *(len(mine & did_end[stage]) for stage in ("contacted", "replied", "scheduled", "closed_won")),
        )  # fmt: skip
    assert sum(r.prospects for r in conversion_at_end.by_trade) == len(added)
    assert kept_at_end == raw_at_end  # the totals and the raw rows agree by trade, tier and band, every column
    # at any other instant (now, say): the totals of the days before plus the day so far, equal to a count
    moments = sorted(e["sent_at"] for e in E if e["sent_at"] is not None and start < e["sent_at"] < end)
    instants = [moments[len(moments) // 3], moments[len(moments) // 3] + timedelta(microseconds=1),
                start + timedelta(hours=29, minutes=3), end - timedelta(seconds=1), start + timedelta(days=3, hours=15),
                end + timedelta(hours=5), start - timedelta(hours=2)]  # fmt: skip
    with unit_of_work(settings, readonly=True) as session:
        during = {at: what_works.conversion(session, until=at) for at in instants}
    for at, found in during.items():
        assert conversion_rows(found) == expected_conversion(data, at), at

    # objections
    status_of = {p["id"]: p["sales_status"] for p in P}
    logged = [c for c in C if c["status"] == "completed"]
    assert objections.calls_with_objections == sum(1 for c in logged if c["objection_categories"])
    for row in objections.rows:
        raising = [c for c in logged if row.category in c["objection_categories"]]
        people = {c["prospect_id"] for c in raising}
        assert (row.calls, row.mentions, row.prospects) == (
            len(raising), sum(c["objection_categories"].count(row.category) for c in raising), len(people),
        )  # fmt: skip
        assert row.won == sum(1 for pid in people if status_of[pid] == "closed_won")
        assert row.lost == sum(1 for pid in people if status_of[pid] == "closed_lost")

    # forecast
    probabilities = settings.stage_probabilities
    for stage in forecast.stages:
        mine = [p for p in P if p["sales_status"] == stage.stage]
        assert (stage.prospects, stage.with_value) == (len(mine), sum(1 for p in mine if p["deal_value"] is not None))
        assert stage.value == pytest.approx(sum(p["deal_value"] or 0 for p in mine))
        assert stage.weighted == pytest.approx(stage.value * probabilities[stage.stage])
    active = [c for c in data["customers"] if c["status"] == "active"]
    assert forecast.current_mrr == pytest.approx(sum(c["monthly_fee"] for c in active))
    assert forecast.active_customers == len(active)

    # timing
    delays = sorted((e["replied_at"] - e["sent_at"]).total_seconds() for e in ever if e.get("replied_at"))
    assert timing.replies == len(delays)
    if delays:
        assert timing.median_hours == pytest.approx(delays[math.ceil(0.5 * len(delays)) - 1] / 3600, abs=1e-3)
        assert timing.p90_hours == pytest.approx(delays[math.ceil(0.9 * len(delays)) - 1] / 3600, abs=1e-3)
        lowers = [0.0] + [float(u) for _, u in DELAY_BUCKETS if u is not None]
        uppers = [u for _, u in DELAY_BUCKETS]
        assert [b.count for b in timing.buckets] == [
            sum(1 for d in delays if d >= lo and (hi is None or d < hi)) for lo, hi in zip(lowers, uppers, strict=True)
        ]
    assert slot_rates(timing) == expected_slot_rates(ever)
    # Periods with whole quarter hours (from the totals) and parts of one at either end (the raw rows).
    for since, until in periods:
        assert slot_rates(timings[since, until]) == expected_slot_rates(ever, since, until), (since, until)
    assert all(isinstance(v, datetime) for v in (start, end)) and start.tzinfo is UTC


def slot_rates(timing: Any) -> tuple[dict[int, tuple[int, int]], dict[int, tuple[int, int]]]:
    """The timing table's (sent, replied) by local weekday and by local hour of sending."""
    return ({r.key: (r.sent, r.replied.count) for r in timing.by_weekday},
            {r.key: (r.sent, r.replied.count) for r in timing.by_hour})  # fmt: skip


def expected_slot_rates(
    emails: list[dict[str, Any]], since: datetime | None = None, until: datetime | None = None
) -> tuple[dict[int, tuple[int, int]], dict[int, tuple[int, int]]]:
    """:func:`slot_rates` counted from the emails sent in [since, until)."""
    by_day: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    by_hour: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for e in emails:
        if (since is not None and e["sent_at"] < since) or (until is not None and e["sent_at"] >= until):
            continue
        there = e["sent_at"].astimezone(ZONE)
        for slot in (by_day[there.isoweekday()], by_hour[there.hour]):
            slot[0] += 1
            slot[1] += 1 if e.get("replied_at") else 0
    return ({k: (v[0], v[1]) for k, v in by_day.items()}, {k: (v[0], v[1]) for k, v in by_hour.items()})


#: The cards' definition over all the week's activity, one query (what the dashboard read before it
#: was bounded by the week's replies and calls).
CARD_ACTIVITY_SQL = """
SELECT activity.prospect_id AS prospect_id, SUM(activity.replies) AS reply_count,
       SUM(activity.booked) AS booked_count, SUM(activity.held) AS held_count, SUM(activity.opened) AS open_count
FROM (
    SELECT prospect_id, 1 AS replies, 0 AS booked, 0 AS held, 0 AS opened FROM email_activities
    WHERE replied_at >= :start AND replied_at < :end
    UNION ALL
    SELECT prospect_id, 0 AS replies, 1 AS booked, 0 AS held, 0 AS opened FROM call_activities
    WHERE created_at >= :start AND created_at < :end AND status <> 'cancelled'
    UNION ALL
    SELECT prospect_id, 0 AS replies, 0 AS booked, CASE WHEN status = 'completed' THEN 1 ELSE 0 END AS held,
           0 AS opened FROM call_activities
    WHERE completed_at >= :start AND completed_at < :end
    UNION ALL
    SELECT prospect_id, 0 AS replies, 0 AS booked, 0 AS held, 1 AS opened FROM email_activities
    WHERE sent_at >= :start AND sent_at < :end AND opened_at IS NOT NULL
) AS activity
GROUP BY activity.prospect_id
HAVING SUM(activity.replies) + SUM(activity.booked) + SUM(activity.held) + SUM(activity.opened) > 0
ORDER BY SUM(activity.replies) DESC, SUM(activity.booked) + SUM(activity.held) DESC, SUM(activity.opened) DESC,
         activity.prospect_id
LIMIT :limit
"""


@pytest.mark.parametrize("seed", [7, 2025])
def test_the_cards_read_only_the_contacted_prospects_and_rank_as_the_full_query(settings, seed):
    """The cards' bounded reading (replies and calls first, opens only for those who can make the
    cut) picks and counts exactly what the query over all the week's activity does, for any number
    of cards: ties at the cut, weeks with fewer contacted prospects than cards, empty weeks."""

    from leadline.analytics.queries import dashboard as qd
    from leadline.analytics.queries.common import bind_times

    week = common.resolve_week(WEEK, settings)
    store(settings, generate(random.Random(seed), week.start, week.end))
    with unit_of_work(settings, readonly=True) as session:
        for start, end in ((week.start, week.end), (week.start, week.start + timedelta(hours=30)),
                           (week.end + timedelta(days=60), week.end + timedelta(days=67))):  # fmt: skip
            contacted = len(qd.card_contacts(session, start, end))
            for limit in range(0, 60):
                full = session.execute(bind_times(CARD_ACTIVITY_SQL, "start", "end"),
                                       {"start": start, "end": end, "limit": limit}).all()  # fmt: skip
                expected = [qd.Activity(str(r[0]), *(int(v) for v in r[1:])) for r in full]
                assert qd.active_prospects(session, start, end, limit) == expected, (start, limit, contacted)


def test_a_quiet_week_fills_every_card_past_a_contacted_prospect_who_is_also_the_most_opened(settings):
    """One prospect replied and is also the most opened: the two cards left over go to the next
    most opened, so a quiet week still shows as many cards as it has active prospects."""
    from leadline.analytics.queries import dashboard as qd

    week = common.resolve_week(WEEK, settings)
    sent = week.start + timedelta(days=1)
    ids = ["q1", "q2", "q3", "q4"]
    prospects = [prospect_row(id=p) for p in ids]
    opened = {"opened_at": sent + timedelta(hours=2), "open_count": 1}
    emails = [email_row("q1", sent, replied_at=sent + timedelta(hours=3), status="replied", **opened)]
    emails += [email_row(p, sent, **opened) for p in ("q1", "q1", "q2", "q2", "q3", "q4")]
    store(settings, {"prospects": prospects, "stages": [], "emails": emails, "calls": [], "customers": []})
    with unit_of_work(settings, readonly=True) as session:
        cards = qd.active_prospects(session, week.start, week.end, 3)
    assert cards == [qd.Activity("q1", 1, 0, 0, 3), qd.Activity("q2", 0, 0, 0, 2), qd.Activity("q3", 0, 0, 0, 1)]


def test_a_weeks_cards_are_chosen_from_the_totals_index_and_counted_from_their_own_rows(settings):
    """A whole week's cards are chosen from the maintained totals (a few rows of their index) and their
    figures counted from the chosen prospects' own rows, never by reading the week's replies, calls or
    opened emails; a period that is not a whole week still reads them. Replies outrank calls, calls
    outrank opens, a cancelled call counts for nothing, ties at the cut go by id, and a later open
    moves its prospect up."""
    from sqlalchemy import event

    from leadline.analytics import totals
    from leadline.analytics.queries import dashboard as qd

    week = common.resolve_week(WEEK, settings)
    sent = week.start + timedelta(days=2)
    counts = {"w0": 3, "w1": 2, "w2": 2, "w3": 1, "w4": 1, "w5": 1}  # opened emails sent this week
    opened = {"opened_at": sent + timedelta(hours=1), "open_count": 1}
    emails = [email_row(p, sent, **opened) for p, n in counts.items() for _ in range(n)] + [email_row("w5", sent)]
    emails.append(email_row("r1", sent - timedelta(days=9), replied_at=sent, status="replied"))  # a reply this week
    calls = [call_row("c1", sent), call_row("c2", sent, status="cancelled", updated_at=sent + timedelta(hours=1))]
    ids = [*counts, "r1", "c1", "c2"]
    store(settings, {"prospects": [prospect_row(id=p) for p in ids], "stages": [], "emails": emails, "calls": calls,
                     "customers": []})  # fmt: skip
    expected = [qd.Activity("r1", 1, 0, 0, 0), qd.Activity("c1", 0, 1, 0, 0), qd.Activity("w0", 0, 0, 0, 3),
                qd.Activity("w1", 0, 0, 0, 2)]  # fmt: skip
    with unit_of_work(settings, readonly=True) as session:
        statements: list[str] = []
        event.listen(session.connection(), "before_cursor_execute",
                     lambda _c, _cur, sql, *_rest: statements.append(" ".join(sql.split())))  # fmt: skip
        assert qd.active_prospects(session, week.start, week.end, 4) == expected
        assert sum("analytics_totals" in sql for sql in statements) == 3, statements
        raw = [sql for sql in statements if "analytics_totals" not in sql]
        assert raw and all("prospect_id IN" in sql for sql in raw), raw
        statements.clear()
        assert qd.active_prospects(session, week.start, week.end - timedelta(hours=1), 4) == expected
        assert not any("analytics_totals" in sql for sql in statements), statements
        whole = qd.active_prospects(session, week.start, week.end, 20)
        assert [a.prospect_id for a in whole] == ["r1", "c1", "w0", "w1", "w2", "w3", "w4", "w5"]
        assert qd.active_prospects(session, week.next().start, week.next().end, 3) == []
    # w5's unopened email is opened: it now ties w1 and w2, ahead of w3 by its count.
    unopened = next(e["id"] for e in emails if e["prospect_id"] == "w5" and e.get("opened_at") is None)
    with unit_of_work(settings) as session, totals.changing(session, emails={unopened}, prospects={"w5"}):
        session.execute(EmailActivity.__table__.update().where(EmailActivity.__table__.c.id == unopened)
                        .values(opened_at=sent + timedelta(hours=5), open_count=1))  # fmt: skip
    with unit_of_work(settings, readonly=True) as session:
        cards = qd.active_prospects(session, week.start, week.end, 6)
    assert [(a.prospect_id, a.opens) for a in cards] == [("r1", 0), ("c1", 0), ("w0", 3), ("w1", 2), ("w2", 2),
                                                          ("w5", 2)]  # fmt: skip
