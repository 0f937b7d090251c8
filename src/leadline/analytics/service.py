"""The numbers that say what works: the seed's dashboard, the weekly report, the "what works"
tables and the exports. Definitions: docs/analytics.md.

Everything is computed from the records when asked for, with aggregate SQL
(:mod:`leadline.analytics.queries`); nothing is stored. Read-only: services never commit,
and these never write.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.orm import Session

from leadline.analytics import queries as q
from leadline.analytics.schemas import (
    CallFigures,
    Conversion,
    ConversionRow,
    Dashboard,
    DayFigures,
    DelayBucket,
    Engagement,
    Forecast,
    ForecastStage,
    KeyMetric,
    NextWeekTargets,
    ObjectionRow,
    ObjectionTable,
    Outreach,
    PipelineStage,
    ProspectCard,
    ProspectTotals,
    Rate,
    ReportLine,
    SlotRate,
    TemplateComparison,
    TemplatePerformance,
    TemplateRow,
    TemplateWeek,
    Timing,
    WeekInfo,
    WeeklyReport,
    WhatWorks,
)
from leadline.analytics.stats import MIN_SAMPLE, compare, wilson
from leadline.analytics.weeks import Week, parse_week, week_of, working_days_elapsed
from leadline.clock import utc_now
from leadline.config import Settings, get_settings
from leadline.errors import Invalid
from leadline.names import camel

#: The funnel lines: (stage, label, what it means, rank reached).
FUNNEL: tuple[tuple[str, str, str, int], ...] = (
    ("new", "New", "not contacted", 0),
    ("contacted", "Contacted", "email sent", 1),
    ("replied", "Replied", "replied to email", 2),
    ("scheduled", "Scheduled", "call booked", 3),
    ("interested", "Called", "completed", 4),
    ("proposal", "Proposal", "sent proposal", 5),
    ("closed_won", "Closed", "customers", 6),
)
STAGE_LABELS = {stage: label for stage, label, _, _ in FUNNEL}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DEFAULT_CARDS = 3
#: The weekly report's "what works" tables cover the sends of this many weeks, ending with its week.
REPORT_WEEKS = 13
MAX_CARDS = 50


def make_rate(count: int, total: int, *, interval: bool = False) -> Rate:
    bounds = wilson(count, total) if interval else None
    return Rate(
        count=count,
        total=total,
        rate=(count / total) if total else None,
        low=bounds[0] if bounds else None,
        high=bounds[1] if bounds else None,
    )


def resolve_week(text: str | None, settings: Settings | None = None, *, now: datetime | None = None) -> Week:
    """``2025-W47``, ``this`` (or nothing) or ``last``, in the configured zone."""
    settings = settings or get_settings()
    return parse_week(text, settings.zone, now or utc_now())


def parse_day(text: str | None, settings: Settings | None = None, *, field: str) -> datetime | None:
    """A local date (``2025-11-17``) as the UTC instant its day starts; None for nothing."""
    if text is None or not text.strip():
        return None
    from leadline.times import start_of_day

    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(f"{text!r} is not a date like 2025-11-17", field=field) from None
    return start_of_day(day, (settings or get_settings()).zone)


def snapshot(session: Session) -> None:
    """Make every query of this (read-only) unit of work see one snapshot of the database.

    SQLite's deferred read transaction already does; PostgreSQL needs REPEATABLE READ, set
    before the first query (afterwards the transaction's level can no longer change). JIT
    compilation is switched off for the transaction: on these aggregates it costs several
    times the milliseconds the queries take (PostgreSQL compiles anything its planner
    thinks costly, which a million rows are).
    """
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        session.execute(text("SET LOCAL jit = off"))


def _period(since: datetime | None, until: datetime | None) -> None:
    if since is not None and until is not None and since >= until:
        raise Invalid("must be after since", field="until")


# --- the dashboard -------------------------------------------------------------------------------


def week_info(session: Session, week: Week, now: datetime) -> WeekInfo:
    first = q.first_send(session)
    number = None
    if first is not None:
        first_week = week_of(first, week.zone)
        if week.monday >= first_week.monday:
            number = (week.monday - first_week.monday).days // 7 + 1
    return WeekInfo(
        label=week.label,
        number=number,
        start=week.start,
        end=week.end,
        first_day=week.monday,
        last_day=week.days[-1],
        timezone=week.zone.key,
        span=week.span_text(),
        is_current=week.contains(now),
    )


@dataclass
class FunnelCounts:
    total: int
    tiers: dict[int, int]
    reached: list[int]  # reached[k]: prospects that reached rank k or beyond

    def stages(self) -> list[PipelineStage]:
        contacted = self.reached[1]
        lines = []
        for stage, label, description, rank in FUNNEL:
            count = self.total - contacted if rank == 0 else self.reached[rank]
            lines.append(PipelineStage(stage=stage, label=label, description=description, count=count))
        return lines


def funnel(session: Session) -> FunnelCounts:
    """Totals, tiers and the cumulative funnel: two aggregate queries."""
    dialect = q.dialect_of(session)
    by_rank = [0] * (max(q.REACH.values()) + 1)
    tiers: dict[int, int] = {}
    total = 0
    for status, tier, n in q.prospect_counts(session):
        total += n
        tiers[tier] = tiers.get(tier, 0) + n
        if status != "closed_lost":
            by_rank[q.REACH.get(status, 0)] += n
    for rank, n in q.lost_reach(session, dialect).items():
        by_rank[rank] += n
    reached = [sum(by_rank[rank:]) for rank in range(len(by_rank))]
    return FunnelCounts(total=total, tiers=tiers, reached=reached)


def dashboard(
    session: Session,
    week: Week,
    *,
    settings: Settings | None = None,
    cards: int = DEFAULT_CARDS,
    now: datetime | None = None,
) -> Dashboard:
    """The seed's "WEEK N SALES METRICS" block for ``week``."""
    settings = settings or get_settings()
    now = now or utc_now()
    if not 0 <= cards <= MAX_CARDS:
        raise Invalid(f"must be between 0 and {MAX_CARDS}", field="cards")
    start, end = week.start, week.end
    counts = funnel(session)
    emails = q.week_emails(session, start, end)
    calls = q.week_calls(session, start, end)
    converted = q.replies_with_call(session, start, end)
    won, new_mrr = q.deals_won(session, start, end)
    sent = emails["sent"]
    days = working_days_elapsed(week, now)
    contacted, closed = counts.reached[1], counts.reached[6]

    def metric(key: str, label: str, count: float, total: float, target: float, unit: str = "rate") -> KeyMetric:
        value = count / total if total else None
        return KeyMetric(
            key=key, label=label, value=value, count=count, total=total, target=target,
            on_target=None if value is None else value >= target, unit=unit,
        )  # fmt: skip

    return Dashboard(
        week=week_info(session, week, now),
        generated_at=now,
        prospects=ProspectTotals(
            total=counts.total,
            tier1=counts.tiers.get(1, 0),
            tier2=counts.tiers.get(2, 0),
            tier3=counts.tiers.get(3, 0),
        ),
        outreach=Outreach(
            sent=sent,
            delivered=make_rate(emails["delivered"], sent, interval=True),
            bounced=make_rate(emails["bounced"], sent, interval=True),
            failed=make_rate(emails["failed"], sent, interval=True),
        ),
        engagement=Engagement(
            opened=make_rate(emails["opened"], sent, interval=True),
            human_opened=make_rate(emails["human_opened"], sent, interval=True),
            machine_only_opened=emails["opened"] - emails["human_opened"],
            machine_opens=emails["machine_opens"],
            clicked=make_rate(emails["clicked"], sent, interval=True),
            replied=make_rate(emails["replied"], sent, interval=True),
        ),
        calls=CallFigures(
            scheduled=calls["scheduled"],
            completed=calls["completed"],
            pending=calls["pending"],
            no_show=calls["no_show"],
            average_duration_seconds=calls["seconds"] / calls["timed"] if calls["timed"] else None,
            average_duration_minutes=calls["seconds"] / calls["timed"] / 60 if calls["timed"] else None,
        ),
        deals_won=won,
        new_mrr=new_mrr,
        pipeline=counts.stages(),
        cards=prospect_cards(session, week, cards, settings),
        key_metrics=[
            metric("send_rate", "Email send rate", sent, days, settings.target_sends_per_day, "per_day"),
            metric("open_rate", "Email open rate", emails["opened"], sent, settings.target_open_rate),
            metric("reply_rate", "Email reply rate", emails["replied"], sent, settings.target_reply_rate),
            metric("call_conversion", "Call conversion", converted, emails["replied"], settings.target_call_conversion),
            metric("deal_conversion", "Deal conversion", closed, contacted, settings.target_deal_conversion),
        ],
        working_days=days,
    )


def prospect_cards(session: Session, week: Week, limit: int, settings: Settings) -> list[ProspectCard]:
    from leadline.calls.objections import label

    active = q.active_prospects(session, week.start, week.end, limit)
    ids = [a.prospect_id for a in active]
    found = q.card_prospects(session, ids)
    objections = q.card_objections(session, ids)
    cards = []
    for item in active:
        row = found.get(item.prospect_id)
        if row is None:
            continue
        said: list[str] = []
        for texts, categories in objections.get(item.prospect_id, []):
            for index, words in enumerate(texts):
                known = index < len(categories) and categories[index] != "other"
                name = label(categories[index]) if known else words
                if name not in said:
                    said.append(name)
        value = row["deal_value"]
        cards.append(
            ProspectCard(
                id=item.prospect_id,
                name=row["name"],
                status=row["sales_status"],
                emails_sent=int(row["emails_sent_count"] or 0),
                emails_opened=int(row["emails_opened_count"] or 0),
                last_contact_at=row["last_contact_at"],
                next_follow_up_at=row["next_follow_up_at"],
                objections=said,
                value_per_month=float(value) if value is not None else None,
                replies_this_week=item.replies,
                calls_booked_this_week=item.booked,
                calls_held_this_week=item.held,
                opens_this_week=item.opens,
            )
        )
    return cards


# --- the weekly report ---------------------------------------------------------------------------


@dataclass
class WeekFigures:
    sent: int
    opened: int
    human_opened: int
    replied: int
    calls_scheduled: int
    calls_completed: int
    deals: int
    new_mrr: float


def week_figures(session: Session, week: Week) -> WeekFigures:
    emails = q.week_emails(session, week.start, week.end)
    calls = q.week_calls(session, week.start, week.end)
    won, mrr = q.deals_won(session, week.start, week.end)
    return WeekFigures(
        sent=emails["sent"],
        opened=emails["opened"],
        human_opened=emails["human_opened"],
        replied=emails["replied"],
        calls_scheduled=calls["scheduled"],
        calls_completed=calls["completed"],
        deals=won,
        new_mrr=mrr,
    )


def weekly_report(
    session: Session, week: Week, *, settings: Settings | None = None, now: datetime | None = None
) -> WeeklyReport:
    """The seed's "WEEK SALES REPORT": the week against the one before, and next week's targets."""
    settings = settings or get_settings()
    now = now or utc_now()
    this, before = week_figures(session, week), week_figures(session, week.previous())

    def ratio(count: int, total: int) -> float | None:
        return count / total if total else None

    def line(key: str, label: str, kind: str, value: float | None, previous: float | None,
             target: float | None) -> ReportLine:  # fmt: skip
        change = value - previous if value is not None and previous is not None else None
        return ReportLine(key=key, label=label, kind=kind, value=value, previous=previous, change=change, target=target)

    lines = [
        line("emails_sent", "Emails Sent", "count", this.sent, before.sent, settings.weekly_email_goal),
        line("open_rate", "Email Open Rate", "rate", ratio(this.opened, this.sent), ratio(before.opened, before.sent),
             settings.target_open_rate),
        line("human_open_rate", "Human Open Rate", "rate", ratio(this.human_opened, this.sent),
             ratio(before.human_opened, before.sent), None),
        line("reply_rate", "Email Reply Rate", "rate", ratio(this.replied, this.sent),
             ratio(before.replied, before.sent), settings.target_reply_rate),
        line("calls_scheduled", "Calls Scheduled", "count", this.calls_scheduled, before.calls_scheduled,
             settings.weekly_call_goal),
        line("calls_completed", "Calls Completed", "count", this.calls_completed, before.calls_completed, None),
        line("deals_closed", "Deals Closed", "count", this.deals, before.deals, settings.weekly_deal_goal),
        line("new_mrr", "New MRR", "money", this.new_mrr, before.new_mrr, None),
    ]  # fmt: skip
    days = week_days(session, week)
    by_template = week_templates(session, week)
    return WeeklyReport(
        week=week_info(session, week, now),
        previous_week=week.previous().label,
        generated_at=now,
        lines=lines,
        next_week=NextWeekTargets(
            emails=settings.weekly_email_goal, calls=settings.weekly_call_goal, deals=settings.weekly_deal_goal
        ),
        next_week_label=week.next().label,
        days=days,
        pipeline=funnel(session).stages(),
        templates=by_template,
        what_works=what_works(
            session, settings=settings, since=_weeks_before(week, REPORT_WEEKS - 1).start, until=week.end
        ),
    )


def week_days(session: Session, week: Week) -> list[DayFigures]:
    """Emails sent and replies received on each day of ``week`` (local days)."""
    bounds = week.day_starts()
    sent_days = q.per_day(session, "sent_at", bounds)
    reply_days = q.per_day(session, "replied_at", bounds)
    return [
        DayFigures(day=day, weekday=WEEKDAYS[index], sent=sent_days[index], replies=reply_days[index])
        for index, day in enumerate(week.days)
    ]


def week_templates(session: Session, week: Week) -> list[TemplateWeek]:
    """Each template's sends in ``week`` and the replies they got."""
    return [
        TemplateWeek(template=row["template"], sent=row["sent"], replied=row["replied"],
                     reply_rate=row["replied"] / row["sent"] if row["sent"] else None)
        for row in q.template_rows(session, week.start, week.end)
    ]  # fmt: skip


def current_mrr(session: Session) -> tuple[float, int]:
    """(monthly recurring revenue of the active customers, how many there are)."""
    fees = {status: (n, total) for status, n, total in q.customer_fees(session)}
    n, total = fees.get("active", (0, 0.0))
    return total, n


def data_version(session: Session) -> str:
    """A short text that changes whenever the dashboard's figures may have changed (new timeline
    entries, webhook events applied, emails, calls, customers, prospects). Cheap at any size: a
    handful of index lookups, so a page may ask for it every few seconds. Deleting a prospect
    whose rows are not the newest is not noticed until something else changes."""
    import hashlib

    raw = "|".join("" if value is None else str(value) for value in q.data_version(session))
    return hashlib.blake2s(raw.encode(), digest_size=8).hexdigest()


# --- what works ----------------------------------------------------------------------------------


def _weeks_before(week: Week, count: int) -> Week:
    return week_of(week.monday - timedelta(weeks=count), week.zone)


def what_works(
    session: Session,
    *,
    settings: Settings | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> WhatWorks:
    """Every "what works" table; templates and timing over the emails sent in [since, until)."""
    settings = settings or get_settings()
    return WhatWorks(
        templates=template_performance(session, since=since, until=until),
        objections=objection_table(session, settings=settings),
        conversion=conversion(session),
        timing=timing(session, settings=settings, since=since, until=until),
        forecast=forecast(session, settings=settings),
    )


def template_performance(
    session: Session, *, since: datetime | None = None, until: datetime | None = None
) -> TemplatePerformance:
    """Each template's delivery, human opens, clicks, replies and calls booked, per email sent,
    with 95% Wilson intervals; every template compared with the best one by reply rate."""
    _period(since, until)
    raw = q.template_rows(session, since, until)
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


def objection_table(session: Session, *, settings: Settings | None = None) -> ObjectionTable:
    """Objection categories by how many logged calls raised them, with the win rate of the deals
    (prospects) where each came up: won out of won + lost."""
    from leadline.calls.objections import OTHER, label

    settings = settings or get_settings()
    with_objections, raw = q.objection_rows(session, q.dialect_of(session))
    order = [*settings.objection_categories, OTHER]
    rows = []
    for row in raw:
        won, lost, prospects = int(row["won"]), int(row["lost"]), int(row["prospects"])
        rows.append(
            ObjectionRow(
                category=str(row["category"]),
                label=label(str(row["category"])),
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


def conversion(session: Session) -> Conversion:
    """How far prospects got, by trade, tier and grid-health band (the funnel's rules)."""
    rows = q.conversion_rows(session, q.dialect_of(session))
    keys = ("prospects", "contacted", "replied", "scheduled", "called", "proposal", "won")

    def by(column: str) -> dict[Any, dict[str, Any]]:
        groups: dict[Any, dict[str, Any]] = {}
        for row in rows:
            totals = groups.setdefault(row[column], dict.fromkeys(keys, 0))
            for key in keys:
                totals[key] += row[key]
        return groups

    trades = sorted(by("trade").items(), key=lambda item: (-item[1]["prospects"], item[0]))
    bands_order = [label for label, _ in q.GRID_BANDS] + ["unknown"]
    return Conversion(
        by_trade=[_conversion_row(name or "(no trade)", totals) for name, totals in trades],
        by_tier=[_conversion_row(f"Tier {tier}", totals) for tier, totals in sorted(by("tier").items())],
        by_grid_health=[
            _conversion_row(band, totals)
            for band, totals in sorted(by("band").items(), key=lambda item: bands_order.index(item[0]))
        ],
    )


def timing(
    session: Session,
    *,
    settings: Settings | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Timing:
    """Time from send to reply, and reply rate by the weekday and hour (local) of sending."""
    settings = settings or get_settings()
    _period(since, until)
    dialect = q.dialect_of(session)
    summary, counts = q.reply_delays(session, dialect, since, until)
    n = summary["n"]
    quantiles = (0.25, 0.5, 0.75, 0.9)
    ranks = {fraction: max(1, math.ceil(fraction * n)) for fraction in quantiles}  # nearest rank
    found = q.delays_at_ranks(session, dialect, since, until, list(ranks.values()) if n else [])

    def hours_at(fraction: float) -> float | None:
        value = found.get(ranks[fraction])
        return None if value is None else value / 3600

    by_day: dict[int, list[int]] = {}
    by_hour: dict[int, list[int]] = {}
    zone = settings.zone
    for moment, sent, replied in q.send_buckets(session, dialect, since, until):
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
            for (label, _), count in zip(q.DELAY_BUCKETS, counts, strict=True)
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


def forecast(session: Session, *, settings: Settings | None = None) -> Forecast:
    """Open pipeline value weighted by stage probability (LEADLINE_STAGE_PROBABILITIES) = expected
    new MRR; current MRR from active customers."""
    settings = settings or get_settings()
    found = {stage: (n, valued, total) for stage, n, valued, total in q.pipeline_values(session)}
    stages = []
    for stage in q.OPEN_STAGES:
        n, valued, total = found.get(stage, (0, 0, 0.0))
        probability = float(settings.stage_probabilities.get(stage, 0.0))
        stages.append(
            ForecastStage(
                stage=stage, label=STAGE_LABELS[stage], prospects=n, with_value=valued, value=total,
                probability=probability, weighted=total * probability,
            )
        )  # fmt: skip
    fees = {status: (n, total) for status, n, total in q.customer_fees(session)}
    current = fees.get("active", (0, 0.0))
    expected = sum(s.weighted for s in stages)
    return Forecast(
        stages=stages,
        open_pipeline_value=sum(s.value for s in stages if s.stage != "new"),
        expected_new_mrr=expected,
        open_without_value=sum(s.prospects - s.with_value for s in stages if s.probability > 0),
        current_mrr=current[1],
        paused_mrr=fees.get("paused", (0, 0.0))[1],
        active_customers=current[0],
        projected_mrr=current[1] + expected,
    )


# --- exports -------------------------------------------------------------------------------------

ExportKind = Literal["prospects", "emails", "calls", "customers"]
EXPORT_KINDS: tuple[ExportKind, ...] = ("prospects", "emails", "calls", "customers")


@dataclass
class ExportFilters:
    status: str | None = None
    tier: int | None = None
    trade: str | None = None
    search: str | None = None
    do_not_contact: bool | None = None
    sort: str = "created"
    prospect_id: str | None = None
    template: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None


#: Columns left out of an export (bodies: see `leadline emails show`; bookkeeping).
EXPORT_SKIPPED = {
    "emails": {"body_text", "body_html"},
    "calls": {"ics_sequence"},
    "customers": set(),
}
#: Filters that only some exports have.
EXPORT_ONLY_FOR: dict[str, tuple[str, ...]] = {
    "tier": ("prospects",),
    "trade": ("prospects",),
    "search": ("prospects",),
    "do_not_contact": ("prospects",),
    "sort": ("prospects",),
    "template": ("emails",),
    "outcome": ("calls",),
    "prospect_id": ("emails", "calls"),
    "since": ("emails", "calls", "customers"),
    "until": ("emails", "calls", "customers"),
}
#: Which time column --since / --until filter on.
EXPORT_TIME_COLUMN = {"emails": "sent_at", "calls": "scheduled_at", "customers": "signed_at"}


def export(session: Session, kind: str, filters: ExportFilters) -> tuple[list[str], Iterator[dict[str, Any]]]:
    """(columns, records) of an export; records are camelCase JSON-ready dicts, streamed."""
    _period(filters.since, filters.until)
    for name, kinds in EXPORT_ONLY_FOR.items():
        if getattr(filters, name) not in (None, "created") and kind not in kinds:
            raise Invalid(f"is not a filter of {kind} (only of {' and '.join(kinds)})", field=camel(name))
    if kind == "prospects":
        from leadline.prospects import service as prospects
        from leadline.prospects.columns import EXPORT_COLUMNS, row_to_json
        from leadline.prospects.queries import Filters

        chosen = Filters(
            status=filters.status, tier=filters.tier, trade=filters.trade, search=filters.search,
            do_not_contact=filters.do_not_contact,
        )  # fmt: skip
        rows = prospects.export_rows(session, chosen, sort=filters.sort)
        return list(EXPORT_COLUMNS), (row_to_json(row) for row in rows)
    if kind not in EXPORT_KINDS:
        raise Invalid(f"must be one of {', '.join(EXPORT_KINDS)}", field="kind")
    _check_choice(filters.status, _statuses(kind), "status")
    if kind == "calls":
        from leadline.calls.models import CALL_OUTCOMES

        _check_choice(filters.outcome, CALL_OUTCOMES, "outcome")
    return _export_table(session, kind, filters)


def _statuses(kind: str) -> tuple[str, ...]:
    from leadline.calls.models import CALL_STATUSES
    from leadline.customers.models import CUSTOMER_STATUSES
    from leadline.emails.models import EMAIL_STATUSES

    return {"emails": EMAIL_STATUSES, "calls": CALL_STATUSES, "customers": CUSTOMER_STATUSES}[kind]


def _check_choice(value: str | None, choices: tuple[str, ...], field: str) -> None:
    if value is not None and value not in choices:
        raise Invalid(f"{value!r} is not one of {', '.join(choices)}", field=field)


def _export_table(session: Session, kind: str, filters: ExportFilters) -> tuple[list[str], Iterator[dict[str, Any]]]:
    from sqlalchemy import select

    from leadline.calls.models import CallActivity
    from leadline.customers.models import Customer
    from leadline.emails.models import EmailActivity

    model: Any = {"emails": EmailActivity, "calls": CallActivity, "customers": Customer}[kind]
    table = model.__table__
    columns = [c for c in table.columns if c.name not in EXPORT_SKIPPED[kind]]
    statement = select(*columns)
    if filters.status:
        statement = statement.where(table.c.status == filters.status)
    if filters.prospect_id:
        statement = statement.where(table.c.prospect_id == filters.prospect_id)
    if filters.template and kind == "emails":
        statement = statement.where(table.c.template == filters.template)
    if filters.outcome and kind == "calls":
        statement = statement.where(table.c.outcome == filters.outcome)
    when = table.c[EXPORT_TIME_COLUMN[kind]]
    if filters.since is not None:
        statement = statement.where(when >= filters.since)
    if filters.until is not None:
        statement = statement.where(when < filters.until)
    order = (table.c.signed_at, table.c.id) if kind == "customers" else (table.c.created_at, table.c.id)
    statement = statement.order_by(*order)
    names = [camel(c.name) for c in columns]

    def records() -> Iterator[dict[str, Any]]:
        connection = session.connection()
        for row in q.stream(connection, statement, {}):
            yield {camel(key): _plain(value) for key, value in row.items()}

    return names, records()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        from leadline.times import iso

        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    return value
