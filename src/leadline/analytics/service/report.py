"""The seed's weekly report ("WEEK SALES REPORT"): the week against the one before, next week's
targets, the week's days and templates, the funnel, and the "what works" tables of the last quarter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from leadline.analytics.queries import dashboard as qd
from leadline.analytics.queries import what_works as qw
from leadline.analytics.schemas import DayFigures, NextWeekTargets, ReportLine, TemplateWeek, WeeklyReport
from leadline.analytics.service.common import WEEKDAYS
from leadline.analytics.service.dashboard import week_info
from leadline.analytics.service.figures import report_lists
from leadline.analytics.service.funnel import STATEMENT, funnel
from leadline.analytics.service.what_works import what_works
from leadline.analytics.weeks import Week, weeks_before
from leadline.clock import utc_now
from leadline.config import Settings
from leadline.senders import health
from leadline.texts import service as texts

#: The weekly report's "what works" tables cover the sends of this many weeks, ending with its week.
REPORT_WEEKS = 13


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
    texts_sent: int = 0
    texts_received: int = 0


def week_figures(session: Session, week: Week) -> WeekFigures:
    counted = qd.week_counts(session, week.start, week.end)
    emails, calls = counted.emails, counted.calls
    sms = texts.week_counts(session, week.start, week.end)
    return WeekFigures(
        sent=emails["sent"],
        opened=emails["opened"],
        human_opened=emails["human_opened"],
        replied=emails["replied"],
        calls_scheduled=calls["scheduled"],
        calls_completed=calls["completed"],
        deals=counted.won,
        new_mrr=counted.new_mrr,
        texts_sent=sms["sent"],
        texts_received=sms["received"],
    )


def weekly_report(session: Session, week: Week, *, settings: Settings, now: datetime | None = None) -> WeeklyReport:
    """The seed's "WEEK SALES REPORT": the week against the one before, and next week's targets."""
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
        line("texts_sent", "Texts Sent", "count", this.texts_sent, before.texts_sent, None),
        line("texts_received", "Texts Received", "count", this.texts_received, before.texts_received, None),
        line("deals_closed", "Deals Closed", "count", this.deals, before.deals, settings.weekly_deal_goal),
        line("new_mrr", "New MRR", "money", this.new_mrr, before.new_mrr, None),
    ]  # fmt: skip
    days = week_days(session, week)
    by_template = week_templates(session, week)
    pipeline = funnel(session, week.end).stages()
    counts = {which: {"sent": f.sent, "opened": f.opened, "human_opened": f.human_opened, "replied": f.replied,
                      "calls_scheduled": f.calls_scheduled, "calls_completed": f.calls_completed, "deals": f.deals,
                      "texts_sent": f.texts_sent, "texts_received": f.texts_received}
              for which, f in (("this", this), ("previous", before))}  # fmt: skip
    return WeeklyReport(
        currency=settings.currency,
        week=week_info(session, week, now),
        previous_week=week.previous().label,
        generated_at=now,
        lines=lines,
        next_week=NextWeekTargets(
            emails=settings.weekly_email_goal, calls=settings.weekly_call_goal, deals=settings.weekly_deal_goal
        ),
        next_week_label=week.next().label,
        days=days,
        pipeline=pipeline,
        pipeline_definition=STATEMENT,
        templates=by_template,
        what_works=what_works(
            session, settings=settings, since=weeks_before(week, REPORT_WEEKS - 1).start, until=week.end
        ),
        lists=report_lists(lines, counts, week, pipeline, by_template),
        deliverability=health.report(session, now=min(now, week.end)),
    )


def week_days(session: Session, week: Week) -> list[DayFigures]:
    """Emails sent and replies received on each day of ``week`` (local days)."""
    bounds = week.day_starts()
    sent_days = qd.per_day(session, "sent_at", bounds)
    reply_days = qd.per_day(session, "replied_at", bounds)
    return [
        DayFigures(day=day, weekday=WEEKDAYS[index], sent=sent_days[index], replies=reply_days[index])
        for index, day in enumerate(week.days)
    ]


def week_templates(session: Session, week: Week) -> list[TemplateWeek]:
    """Each template's sends in ``week`` and the replies they got."""
    return [
        TemplateWeek(template=row["template"], sent=row["sent"], replied=row["replied"],
                     reply_rate=row["replied"] / row["sent"] if row["sent"] else None)
        for row in qw.template_rows(session, week.start, week.end)
    ]  # fmt: skip
