"""What every analytics service shares: rates with their intervals, the week and day a shell asked
for (in the settings' zone), the dashboard's plans, and the period check.

A read-only unit of work (``db.unit_of_work(readonly=True)``) reads one snapshot on both engines:
the figures of one report all count the same moment."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from leadline.analytics.schemas import Rate
from leadline.analytics.stats import wilson
from leadline.analytics.weeks import Week, parse_week
from leadline.clock import utc_now
from leadline.config import Settings
from leadline.errors import Invalid
from leadline.times import start_of_day

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def make_rate(count: int, total: int, *, interval: bool = False) -> Rate:
    bounds = wilson(count, total) if interval else None
    return Rate(
        count=count,
        total=total,
        rate=(count / total) if total else None,
        low=bounds[0] if bounds else None,
        high=bounds[1] if bounds else None,
    )


def resolve_week(text: str | None, settings: Settings, *, now: datetime | None = None) -> Week:
    """``2025-W47``, ``this`` (or nothing) or ``last``, in the configured zone."""
    return parse_week(text, settings.zone, now or utc_now())


def parse_day(text: str | None, settings: Settings, *, field: str) -> datetime | None:
    """A local date (``2025-11-17``) as the UTC instant its day starts; None for nothing."""
    if text is None or not text.strip():
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(f"{text!r} is not a date like 2025-11-17", field=field) from None
    return start_of_day(day, settings.zone)


#: The dashboard's plans on PostgreSQL (:func:`plan_once`), for its transaction only.
_PLAN_ONCE = text(
    "SELECT set_config('plan_cache_mode', 'force_generic_plan', true),"
    " set_config('max_parallel_workers_per_gather', '0', true)"
)


def plan_once(session: Session) -> None:
    """On PostgreSQL, let this transaction's prepared statements keep one plan each (psycopg prepares a
    statement its connection has run five times). The dashboard reads small ranges of indexes, each
    statement a few milliseconds or less; left to choose, PostgreSQL planned its heaviest ones again on
    every request with the values given (the replies followed by a call: 1.7 ms of planning, probing
    the time index's ends, for 3.8 ms of running), which cost more than one plan made for any week
    (20-21 ms to 17-18 ms for the whole dashboard at a million prospects). Statements not yet prepared
    are still planned with their values. And no parallel workers: a generic plan guesses its rows from
    a table's average (``analytics_totals`` holds a million rows of cards scores beside a few thousand of
    each other figure), and starting two workers cost 5-7 ms on a read of 2,400 rows."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_PLAN_ONCE)


def check_period(since: datetime | None, until: datetime | None) -> None:
    if since is not None and until is not None and since >= until:
        raise Invalid("must be after since", field="until")
