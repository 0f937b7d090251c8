"""The dashboard's SQL: prospects by stage and tier, the week's emails, calls and deals, the most
active prospects' cards, sends and replies per day, and the live page's data version."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text

from leadline.analytics.queries.common import Connectable, Dialect, bind_times, lost_reach_sql, one_row
from leadline.db import UTCDateTime

# --- the dashboard -------------------------------------------------------------------------------


def prospect_counts(connection: Connectable) -> list[tuple[str, int, int]]:
    """(sales_status, tier, prospects): one pass over the (sales_status, tier) index."""
    rows = connection.execute(
        text("SELECT sales_status, tier, count(*) AS n FROM prospects GROUP BY sales_status, tier")
    )
    return [(str(status), int(tier), int(n)) for status, tier, n in rows]


def lost_reach(connection: Connectable, dialect: Dialect) -> dict[int, int]:
    """How many closed_lost prospects reached each rank before they were lost."""
    rows = connection.execute(text(f"SELECT reached, count(*) FROM ({lost_reach_sql(dialect)}) AS r GROUP BY reached"))
    return {int(reached): int(n) for reached, n in rows}


WEEK_EMAILS_SQL = """
SELECT count(*) AS sent,
       count(delivered_at) AS delivered,
       count(bounced_at) AS bounced,
       SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed,
       count(opened_at) AS opened,
       SUM(CASE WHEN opened_at IS NOT NULL AND (open_count - machine_open_count > 0 OR click_count > 0)
                THEN 1 ELSE 0 END) AS human_opened,
       SUM(machine_open_count) AS machine_opens,
       SUM(CASE WHEN click_count > 0 THEN 1 ELSE 0 END) AS clicked,
       count(replied_at) AS replied
FROM email_activities
WHERE sent_at >= :start AND sent_at < :end
"""


def week_emails(connection: Connectable, start: datetime, end: datetime) -> dict[str, int]:
    """Delivery and engagement of the emails sent in [start, end), whenever the events came."""
    row = one_row(connection, bind_times(WEEK_EMAILS_SQL, "start", "end"), {"start": start, "end": end})
    return {key: int(value) for key, value in row.items()}


REPLIES_WITH_CALL_SQL = """
SELECT count(*) FROM email_activities e
WHERE e.sent_at >= :start AND e.sent_at < :end AND e.replied_at IS NOT NULL
  AND EXISTS (SELECT 1 FROM call_activities c
              WHERE c.prospect_id = e.prospect_id AND c.status <> 'cancelled' AND c.created_at >= e.sent_at)
"""


def replies_with_call(connection: Connectable, start: datetime, end: datetime) -> int:
    """Replied emails (sent in [start, end)) whose prospect had a call booked after the email went out."""
    statement = bind_times(REPLIES_WITH_CALL_SQL, "start", "end")
    return int(connection.execute(statement, {"start": start, "end": end}).scalar_one() or 0)


WEEK_CALLS_SQL = """
SELECT SUM(CASE WHEN created_at >= :start AND created_at < :end AND status <> 'cancelled' THEN 1 ELSE 0 END)
           AS scheduled,
       SUM(CASE WHEN created_at >= :start AND created_at < :end AND status = 'scheduled' THEN 1 ELSE 0 END)
           AS pending,
       SUM(CASE WHEN created_at >= :start AND created_at < :end AND status = 'no_show' THEN 1 ELSE 0 END)
           AS no_show,
       SUM(CASE WHEN status = 'completed' AND completed_at >= :start AND completed_at < :end THEN 1 ELSE 0 END)
           AS completed,
       SUM(CASE WHEN status = 'completed' AND completed_at >= :start AND completed_at < :end
                AND duration IS NOT NULL THEN 1 ELSE 0 END) AS timed,
       SUM(CASE WHEN status = 'completed' AND completed_at >= :start AND completed_at < :end
                THEN duration ELSE 0 END) AS seconds
FROM call_activities
WHERE (created_at >= :start AND created_at < :end) OR (completed_at >= :start AND completed_at < :end)
"""


def week_calls(connection: Connectable, start: datetime, end: datetime) -> dict[str, int]:
    row = one_row(connection, bind_times(WEEK_CALLS_SQL, "start", "end"), {"start": start, "end": end})
    return {key: int(value) for key, value in row.items()}


DEALS_WON_SQL = """
SELECT count(*) AS won, SUM(monthly_fee) AS mrr FROM customers WHERE signed_at >= :start AND signed_at < :end
"""


def deals_won(connection: Connectable, start: datetime, end: datetime) -> tuple[int, float]:
    """Deals won (customers signed) in [start, end), and the monthly fees they added."""
    row = one_row(connection, bind_times(DEALS_WON_SQL, "start", "end"), {"start": start, "end": end})
    return int(row["won"]), float(row["mrr"])


def first_send(connection: Connectable) -> datetime | None:
    """When the first email ever went out (week 1 of the business)."""
    statement = text("SELECT min(sent_at) AS first FROM email_activities").columns(first=UTCDateTime())
    value = connection.execute(statement).scalar_one()
    return value if isinstance(value, datetime) else None


# --- engagement by prospect ----------------------------------------------------------------------

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


@dataclass(frozen=True)
class Activity:
    prospect_id: str
    replies: int  # replies received in the week (to any email)
    booked: int  # calls booked in the week (not cancelled)
    held: int  # calls held (logged) in the week
    opens: int  # emails sent in the week that were opened


def active_prospects(connection: Connectable, start: datetime, end: datetime, limit: int) -> list[Activity]:
    """The most active prospects of [start, end): by replies received, then calls booked plus
    calls held, then this week's emails opened (every source read from an index on its time)."""
    if limit <= 0:
        return []
    params = {"start": start, "end": end, "limit": limit}
    rows = connection.execute(bind_times(CARD_ACTIVITY_SQL, "start", "end"), params).all()
    return [Activity(str(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows]


def card_prospects(connection: Connectable, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    if not ids:
        return {}
    statement = (
        text(
            "SELECT id, name, sales_status, emails_sent_count, emails_opened_count, last_contact_at,"
            " next_follow_up_at, deal_value FROM prospects WHERE id IN :ids"
        )
        .bindparams(bindparam("ids", expanding=True))
        .columns(last_contact_at=UTCDateTime(), next_follow_up_at=UTCDateTime())
    )
    return {str(row["id"]): dict(row) for row in connection.execute(statement, {"ids": list(ids)}).mappings()}


def card_objections(connection: Connectable, ids: Sequence[str]) -> dict[str, list[tuple[list[str], list[str]]]]:
    """(objections, categories) of each prospect's logged calls, oldest first."""
    if not ids:
        return {}
    statement = text(
        "SELECT prospect_id, objections, objection_categories FROM call_activities"
        " WHERE prospect_id IN :ids AND status = 'completed' ORDER BY completed_at, id"
    ).bindparams(bindparam("ids", expanding=True))
    found: dict[str, list[tuple[list[str], list[str]]]] = {}
    for prospect_id, objections, categories in connection.execute(statement, {"ids": list(ids)}):
        said = json.loads(objections) if isinstance(objections, str) else list(objections or [])
        cats = json.loads(categories) if isinstance(categories, str) else list(categories or [])
        found.setdefault(str(prospect_id), []).append(([str(s) for s in said], [str(c) for c in cats]))
    return found


# --- days of a week ------------------------------------------------------------------------------


def _bucket_case(column: str, count: int) -> str:
    """0..count-1: which of the [b0, b1), [b1, b2) ... buckets ``column`` falls in."""
    whens = " ".join(f"WHEN {column} < :b{index + 1} THEN {index}" for index in range(count - 1))
    return f"CASE {whens} ELSE {count - 1} END"


def per_day(connection: Connectable, column: str, bounds: Sequence[datetime], template: str | None = None) -> list[int]:
    """How many emails had ``column`` (sent_at or replied_at) on each local day cut by ``bounds``."""
    if column not in ("sent_at", "replied_at"):
        raise ValueError(column)
    days = len(bounds) - 1
    names = [f"b{i}" for i in range(len(bounds))]
    sql = (
        f"SELECT {_bucket_case(column, days)} AS day, count(*) AS n FROM email_activities"
        f" WHERE {column} >= :b0 AND {column} < :b{days}"
    )
    params: dict[str, Any] = {name: bound for name, bound in zip(names, bounds, strict=True)}
    if template is not None:
        sql += " AND template = :template"
        params["template"] = template
    counts = [0] * days
    for day, n in connection.execute(bind_times(sql + " GROUP BY 1", *names), params):
        counts[int(day)] = int(n)
    return counts


# --- the live dashboard's change check -----------------------------------------------------------

#: Tables whose newest row (ids sort by creation time, see leadline.ids) or newest change moves
#: when something the dashboard counts happens: a webhook event is stored and applied (a timeline
#: entry), an email is sent, a call is booked or logged (a timeline entry), a deal is won (a
#: customer), a prospect is added. Each is one step down a primary-key or time index.
VERSION_SQL = (
    "SELECT (SELECT max(id) FROM outreach_activities), (SELECT max(id) FROM email_activities),"
    " (SELECT max(id) FROM call_activities), (SELECT max(completed_at) FROM call_activities),"
    " (SELECT max(id) FROM customers), (SELECT max(created_at) FROM prospects),"
    " (SELECT max(received_at) FROM webhook_events WHERE status = 'applied')"
)


def data_version(connection: Connectable) -> tuple[Any, ...]:
    """A few index-only maxima that change whenever the dashboard's figures may have changed."""
    row = connection.execute(text(VERSION_SQL)).one()
    return tuple(row)
