"""The Monday-morning digest: last week's numbers, posted once to the notification channels.

The job runs every quarter hour and raises the digest from Monday ``LEADLINE_DIGEST_HOUR``
(local time) until the end of Tuesday, so a worker that was down at 08:00 still sends it;
the notification's key (the week) makes it once, whichever worker gets there first.
"""

from __future__ import annotations

from datetime import datetime

from leadline.analytics import render
from leadline.analytics.service.common import resolve_week
from leadline.analytics.service.report import weekly_report
from leadline.clock import utc_now
from leadline.config import Settings
from leadline.db import unit_of_work
from leadline.jobs import Periodic, job
from leadline.notify import service as notify


def digest_due(settings: Settings, now: datetime) -> bool:
    local = now.astimezone(settings.zone)
    return settings.weekly_digest and (
        (local.weekday() == 0 and local.hour >= settings.digest_hour) or local.weekday() == 1
    )


def raise_digest(settings: Settings, *, now: datetime | None = None) -> bool:
    """Raise last week's digest (True if it was new)."""
    now = now or utc_now()
    week = resolve_week("last", settings, now=now)
    with unit_of_work(settings, readonly=True) as session:  # one snapshot of last week
        report = weekly_report(session, week, settings=settings, now=now)
    figures = {line.key: line for line in report.lines}

    def shown(key: str, one: str, many: str) -> str:
        value = render.line_value(figures[key])
        return f"{value} {one if value == '1' else many}"

    title = (
        f"Week {week.label}: {shown('emails_sent', 'email', 'emails')} sent, "
        f"{render.line_value(figures['reply_rate'])} replied, {shown('calls_scheduled', 'call', 'calls')} booked, "
        f"{shown('deals_closed', 'deal', 'deals')} won"
    )
    with unit_of_work(settings) as session:  # the week's key makes it once, whichever worker gets here first
        return notify.raise_event(
            session, "weekly_digest", f"weekly_digest:{week.label}", title, body=render.report_text(report),
            payload={"week": week.label, "url": f"{settings.base_url}/reports/week?week={week.label}"},
        )  # fmt: skip


@job("analytics.weekly_digest", periodic=Periodic("analytics.weekly_digest", every_minutes=15))
def weekly_digest(settings: Settings) -> None:
    with unit_of_work(settings, readonly=True):
        pass  # brings the settings an admin keeps in the database (the digest's hour) up to date
    if digest_due(settings, utc_now()):
        raise_digest(settings)
