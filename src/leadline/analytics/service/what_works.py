"""The "what works" tables: template performance, objections and their win rates, conversion by
group, reply timing, and the weighted forecast. Definitions: docs/analytics.md."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from leadline.analytics import totals
from leadline.analytics.queries import common as qc
from leadline.analytics.queries import what_works as qw
from leadline.analytics.schemas import (
    Conversion,
    ConversionRow,
    DelayBucket,
    Forecast,
    ForecastStage,
    LinkRow,
    ObjectionRow,
    ObjectionTable,
    SlotRate,
    TemplateComparison,
    TemplatePerformance,
    TemplateRow,
    Timing,
    WhatWorks,
)
from leadline.analytics.service.common import WEEKDAYS, check_period, make_rate
from leadline.analytics.stats import MIN_SAMPLE, compare
from leadline.calls.objections import OTHER
from leadline.calls.objections import label as objection_label
from leadline.clock import utc_now
from leadline.config import Settings
from leadline.prospects.stages import OPEN_STAGES, STAGE_LABELS
from leadline.times import local_day_bounds


def what_works(
    session: Session,
    *,
    settings: Settings,
    since: datetime | None = None,
    until: datetime | None = None,
) -> WhatWorks:
    """Every "what works" table; templates and timing over the emails sent in [since, until)."""
    return WhatWorks(
        templates=template_performance(session, since=since, until=until),
        objections=objection_table(session, settings=settings),
        conversion=conversion(session, until=until),
        timing=timing(session, settings=settings, since=since, until=until),
        forecast=forecast(session, settings=settings),
    )


def template_performance(
    session: Session, *, since: datetime | None = None, until: datetime | None = None
) -> TemplatePerformance:
    """Each template's delivery, human opens, clicks, replies and calls booked, per email sent,
    with 95% Wilson intervals, and its clicks per link; every template compared with the best
    one by reply rate."""
    check_period(since, until)
    raw = qw.template_rows(session, since, until)
    links: dict[str, list[LinkRow]] = {}
    for link in qw.link_rows(session, since, until):
        links.setdefault(link["template"], []).append(
            LinkRow(url=link["url"], human_clicks=link["human_clicks"], people=link["people"],
                    machine_clicks=link["machine_clicks"])
        )  # fmt: skip
    rows: dict[str, TemplateRow] = {}
    for row in raw:
        sent = row["sent"]
        rows[row["template"]] = TemplateRow(
            template=row["template"],
            sent=sent,
            delivered=make_rate(row["delivered"], sent, interval=True),
            human_opened=make_rate(row["human_opened"], sent, interval=True),
            clicked=make_rate(row["clicked"], sent, interval=True),
            replied=make_rate(row["replied"], sent, interval=True),
            calls_booked=make_rate(row["calls_booked"], sent, interval=True),
            note="",
            links=sorted(
                links.get(row["template"], []), key=lambda r: (-r.human_clicks, -r.people, -r.machine_clicks, r.url)
            ),
        )
    notes: list[str] = []
    comparisons: list[TemplateComparison] = []
    if not rows:
        notes.append("No emails were sent in this period.")
        return TemplatePerformance(since=since, until=until, rows=[], comparisons=[], notes=notes)
    big = [r for r in rows.values() if r.sent >= MIN_SAMPLE]
    pool = big or list(rows.values())
    leader = max(pool, key=lambda r: (r.replied.rate or 0.0, r.sent, r.template))
    for item in rows.values():
        if item.template == leader.template:
            item.note = "best reply rate" if len(rows) > 1 else "the only template"
            if item.sent < MIN_SAMPLE:
                item.note += f" (only {item.sent} sends: too small to tell)"
            continue
        for metric, mine, theirs in (
            ("reply", item.replied, leader.replied),
            ("human_open", item.human_opened, leader.human_opened),
        ):
            result = compare(mine.count, mine.total, theirs.count, theirs.total)
            comparisons.append(
                TemplateComparison(
                    template=item.template, against=leader.template, metric=metric, verdict=result.verdict,
                    difference=result.difference, p_value=result.p_value, note=result.reason,
                )
            )  # fmt: skip
            if metric == "reply":
                item.note = _verdict_note(result.verdict, result.difference, leader.template, result.reason)
    if len(rows) > 1:
        significant = [c for c in comparisons if c.verdict == "significant"]
        if not significant:
            notes.append(
                f"No template's reply or human open rate differs significantly from {leader.template}'s "
                "(p < 0.05), or the samples are too small to tell."
            )
        for found in significant:
            direction = "lower" if (found.difference or 0) < 0 else "higher"
            what = "reply rate" if found.metric == "reply" else "human open rate"
            notes.append(
                f"{found.template}'s {what} is significantly {direction} than {found.against}'s ({found.note})."
            )
    ordered = sorted(rows.values(), key=lambda r: (-r.sent, r.template))
    return TemplatePerformance(since=since, until=until, rows=ordered, comparisons=comparisons, notes=notes)


def _verdict_note(verdict: str, difference: float | None, leader: str, reason: str) -> str:
    if verdict == "too_small":
        return reason
    direction = "lower" if (difference or 0) < 0 else "higher"
    if verdict == "significant":
        return f"reply rate significantly {direction} than {leader} ({reason.split('(', 1)[1]}"
    return f"no significant difference from {leader} ({reason.split('(', 1)[1]}"


def objection_table(session: Session, *, settings: Settings) -> ObjectionTable:
    """Objection categories by how many logged calls raised them, with the win rate of the deals
    (prospects) where each came up: won out of won + lost."""
    with_objections, raw = qw.objection_rows(session)
    order = [*settings.objection_categories, OTHER]
    rows = []
    for row in raw:
        won, lost, prospects = int(row["won"]), int(row["lost"]), int(row["prospects"])
        rows.append(
            ObjectionRow(
                category=str(row["category"]),
                label=objection_label(str(row["category"])),
                calls=int(row["calls"]),
                mentions=int(row["mentions"]),
                share=int(row["calls"]) / with_objections if with_objections else None,
                prospects=prospects,
                won=won,
                lost=lost,
                open=prospects - won - lost,
                win_rate=make_rate(won, won + lost, interval=True),
            )
        )
    rows.sort(key=lambda r: (-r.calls, -r.mentions, order.index(r.category) if r.category in order else len(order)))
    return ObjectionTable(calls_with_objections=with_objections, rows=rows)


def _conversion_row(group: str, row: dict[str, Any]) -> ConversionRow:
    contacted = row["contacted"]
    return ConversionRow(
        group=group,
        prospects=row["prospects"],
        contacted=contacted,
        replied=row["replied"],
        scheduled=row["scheduled"],
        called=row["called"],
        proposal=row["proposal"],
        won=row["won"],
        reply_rate=make_rate(row["replied"], contacted, interval=True),
        call_rate=make_rate(row["scheduled"], contacted, interval=True),
        win_rate=make_rate(row["won"], contacted, interval=True),
    )


def conversion(session: Session, *, until: datetime | None = None) -> Conversion:
    """How far prospects got by ``until`` (default: now), by trade, tier and grid-health band: the
    funnel's definition (service.funnel), each stage counted by its real event. The maintained totals
    of the days before ``until``'s local day; within a day (now, say), plus the rows of the prospects
    the day so far moved (added, or an event of theirs in it) as of ``until``, less the same as of the
    day's start: a few prospects' rows, not every prospect's."""
    end = until or utc_now()
    zone = totals.zone_of(session)
    midnight = local_day_bounds(end, zone)[0]
    groups = qw.conversion_rows(session, totals.day_of(midnight, zone))
    if end != midnight:
        moved = (midnight, end)
        for at, sign in ((end, 1), (midnight, -1)):
            for by, rows in _by_group(qw.conversion_rows_at(session, at, moved=moved)).items():
                for key, row in rows.items():
                    kept = groups[by].setdefault(key, dict.fromkeys(row, 0))
                    for name, n in row.items():
                        kept[name] += sign * n
        groups = {by: {key: row for key, row in rows.items() if row["prospects"]} for by, rows in groups.items()}
    trades = sorted(groups["trade"].items(), key=lambda item: (-item[1]["prospects"], item[0]))
    bands_order = [label for label, _ in qw.GRID_BANDS] + [totals.NO_BAND]
    return Conversion(
        by_trade=[_conversion_row(name or "(no trade)", row) for name, row in trades],
        by_tier=[_conversion_row(f"Tier {tier}", row) for tier, row in sorted(groups["tier"].items())],
        by_grid_health=[
            _conversion_row(band, row)
            for band, row in sorted(groups["band"].items(), key=lambda item: bands_order.index(item[0]))
        ],
    )


def _by_group(rows: list[dict[str, Any]]) -> dict[str, dict[Any, dict[str, int]]]:
    """Rows per (trade, tier, band) added up by trade, by tier and by band."""
    keys = ("prospects", *qw.CONVERSION_STAGES)
    groups: dict[str, dict[Any, dict[str, int]]] = {by: {} for by in totals.CONVERSION_BY}
    for row in rows:
        for by in totals.CONVERSION_BY:
            kept = groups[by].setdefault(row[by], dict.fromkeys(keys, 0))
            for key in keys:
                kept[key] += row[key]
    return groups


def timing(
    session: Session,
    *,
    settings: Settings,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Timing:
    """Time from send to reply, and reply rate by the weekday and hour (local) of sending."""
    check_period(since, until)
    dialect = qc.dialect_of(session)
    summary, counts = qw.reply_delays(session, dialect, since, until)
    n = summary["n"]
    quantiles = (0.25, 0.5, 0.75, 0.9)
    ranks = {fraction: max(1, math.ceil(fraction * n)) for fraction in quantiles}  # nearest rank
    found = qw.delays_at_ranks(session, dialect, since, until, list(ranks.values()) if n else [])

    def hours_at(fraction: float) -> float | None:
        value = found.get(ranks[fraction])
        return None if value is None else value / 3600

    by_day: dict[int, list[int]] = {}
    by_hour: dict[int, list[int]] = {}
    zone = settings.zone
    for moment, sent, replied in qw.send_buckets(session, dialect, since, until):
        there = moment.astimezone(zone)
        for bucket, key in ((by_day, there.isoweekday()), (by_hour, there.hour)):
            totals = bucket.setdefault(key, [0, 0])
            totals[0] += sent
            totals[1] += replied
    return Timing(
        since=since,
        until=until,
        replies=n,
        mean_hours=float(summary["mean"]) / 3600 if n and summary["mean"] is not None else None,
        median_hours=hours_at(0.5),
        p25_hours=hours_at(0.25),
        p75_hours=hours_at(0.75),
        p90_hours=hours_at(0.9),
        buckets=[
            DelayBucket(label=label, count=count, share=count / n if n else None)
            for (label, _), count in zip(qw.DELAY_BUCKETS, counts, strict=True)
        ],
        by_weekday=[
            SlotRate(key=day, label=WEEKDAYS[day - 1], sent=by_day[day][0],
                     replied=make_rate(by_day[day][1], by_day[day][0], interval=True))
            for day in sorted(by_day)
        ],
        by_hour=[
            SlotRate(key=hour, label=f"{hour:02d}:00", sent=by_hour[hour][0],
                     replied=make_rate(by_hour[hour][1], by_hour[hour][0], interval=True))
            for hour in sorted(by_hour)
        ],
        timezone=settings.timezone,
    )  # fmt: skip


def forecast(session: Session, *, settings: Settings) -> Forecast:
    """Open pipeline value weighted by stage probability (LEADLINE_STAGE_PROBABILITIES) = expected
    new MRR; current MRR from active customers."""
    found = {stage: (n, valued, total) for stage, n, valued, total in qw.pipeline_values(session)}
    stages = []
    for stage in OPEN_STAGES:
        n, valued, total = found.get(stage, (0, 0, 0.0))
        probability = float(settings.stage_probabilities.get(stage, 0.0))
        stages.append(
            ForecastStage(
                stage=stage, label=STAGE_LABELS[stage], prospects=n, with_value=valued, value=total,
                probability=probability, weighted=total * probability,
            )
        )  # fmt: skip
    fees = {status: (n, total) for status, n, total in qw.customer_fees(session)}
    current = fees.get("active", (0, 0.0))
    expected = sum(s.weighted for s in stages)
    return Forecast(
        currency=settings.currency,
        stages=stages,
        open_pipeline_value=sum(s.value for s in stages if s.stage != "new"),
        expected_new_mrr=expected,
        open_without_value=sum(s.prospects - s.with_value for s in stages if s.probability > 0),
        current_mrr=current[1],
        paused_mrr=fees.get("paused", (0, 0.0))[1],
        active_customers=current[0],
        projected_mrr=current[1] + expected,
    )
