"""Read-only SQL for the dashboard, the weekly report and the "what works" tables.

``analytics/`` is the one named exception to "domains talk through services": it reads
every table directly, with aggregate SQL only (COUNT / SUM / CASE / GROUP BY in the
database; rows are never loaded into Python to be counted). Nothing here writes.

Every function takes a SQLAlchemy ``Connection`` (or ``Session``) and returns plain numbers.
SQLite and PostgreSQL share the SQL except for JSON access and local-time arithmetic,
which :class:`Dialect` spells for each.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import TextClause, bindparam, text

from leadline.db import UTCDateTime
from leadline.prospects.stages import OPEN_STAGES, RANK

#: Position on the road to a sale, as the funnel counts it (closed_lost: see LOST_REACH_SQL).
REACH = RANK
#: A lost prospect's furthest stage is capped at proposal: "Closed" counts customers only.
LOST_CAP = REACH["proposal"]


class Connectable(Protocol):
    def execute(self, statement: Any, parameters: Any = None, /) -> Any: ...


def _times(sql: str, *names: str) -> TextClause:
    """A text() statement whose ``names`` parameters are UTC instants (bound as Leadline stores them)."""
    return text(sql).bindparams(*(bindparam(name, type_=UTCDateTime()) for name in names))


def _one(connection: Connectable, statement: Any, params: dict[str, Any]) -> dict[str, Any]:
    row = connection.execute(statement, params).mappings().one()
    return {key: (value if value is not None else 0) for key, value in row.items()}


@dataclass(frozen=True)
class Dialect:
    name: str

    @property
    def is_sqlite(self) -> bool:
        return self.name == "sqlite"

    def json_text(self, column: str, key: str) -> str:
        """A top-level key of a JSON object column, as text."""
        return f"json_extract({column}, '$.{key}')" if self.is_sqlite else f"({column} ->> '{key}')"

    def json_array_join(self, column: str, alias: str) -> str:
        """A join producing one row per element of a JSON array of strings (``alias.value``)."""
        if self.is_sqlite:
            return f"JOIN json_each({column}) AS {alias}"
        return f"CROSS JOIN LATERAL jsonb_array_elements_text({column}) AS {alias}(value)"

    def json_array_length(self, column: str) -> str:
        return f"json_array_length({column})" if self.is_sqlite else f"jsonb_array_length({column})"

    def seconds_between(self, earlier: str, later: str) -> str:
        if self.is_sqlite:
            return f"((julianday({later}) - julianday({earlier})) * 86400.0)"
        return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"


def dialect_of(connection: Any) -> Dialect:
    bind = connection.get_bind() if hasattr(connection, "get_bind") else connection
    return Dialect(bind.dialect.name)


def _rank_case(expression: str, *, cap: int | None = None) -> str:
    parts = " ".join(
        f"WHEN '{stage}' THEN {min(rank, cap) if cap is not None else rank}"
        for stage, rank in REACH.items()
        if rank > 0
    )
    return f"CASE {expression} {parts} ELSE 0 END"


def lost_reach_sql(dialect: Dialect) -> str:
    """One row per closed_lost prospect: ``id`` and ``reached``, the furthest stage (rank) it
    reached before it was lost, capped at proposal. The highest of:

    * every stage its stage changes (the timeline) moved it to;
    * "contacted" when an email was sent to it;
    * when it has no stage change but its moves to closed_lost (a prospect imported at a stage
      and lost from there), the stage it was lost from (the ``from`` of those moves).

    The stage changes are read from the (prospect_id, type, status) index alone; an entry is
    opened for its ``from`` only in the last case (otherwise that stage is the ``to`` of an
    earlier change already).
    """
    came_from = _rank_case(dialect.json_text("f.details", "from"), cap=LOST_CAP)
    went_to = _rank_case("a.status", cap=LOST_CAP)
    moves = (
        "SELECT p.id AS id,"
        " MAX(CASE WHEN p.emails_sent_count > 0 THEN 1 ELSE 0 END) AS by_email,"
        f" MAX(COALESCE({went_to}, 0)) AS by_to,"
        " SUM(CASE WHEN a.status IS NOT NULL AND a.status <> 'closed_lost' THEN 1 ELSE 0 END) AS moves"
        " FROM prospects p"
        " LEFT JOIN outreach_activities a ON a.prospect_id = p.id AND a.type = 'stage_change'"
        " WHERE p.sales_status = 'closed_lost'"
        " GROUP BY p.id"
    )
    lost_from = (
        f"SELECT MAX({came_from}) FROM outreach_activities f"
        " WHERE f.prospect_id = lost_moves.id AND f.type = 'stage_change' AND f.status = 'closed_lost'"
    )
    with_from = (
        "SELECT id, by_email, by_to,"
        f" CASE WHEN moves = 0 THEN COALESCE(({lost_from}), 0) ELSE 0 END AS by_from"
        f" FROM ({moves}) AS lost_moves"
    )
    return (
        "SELECT id, CASE WHEN by_email >= by_to AND by_email >= by_from THEN by_email"
        " WHEN by_to >= by_from THEN by_to ELSE by_from END AS reached"
        f" FROM ({with_from}) AS lost_rows"
    )


def reach_expression(lost_alias: str = "l") -> str:
    """A prospect's funnel rank from ``p.sales_status`` (and, when lost, ``<lost_alias>.reached``)."""
    whens = " ".join(f"WHEN '{stage}' THEN {rank}" for stage, rank in REACH.items())
    return f"CASE p.sales_status {whens} WHEN 'closed_lost' THEN COALESCE({lost_alias}.reached, 0) ELSE 0 END"


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
    row = _one(connection, _times(WEEK_EMAILS_SQL, "start", "end"), {"start": start, "end": end})
    return {key: int(value) for key, value in row.items()}


REPLIES_WITH_CALL_SQL = """
SELECT count(*) FROM email_activities e
WHERE e.sent_at >= :start AND e.sent_at < :end AND e.replied_at IS NOT NULL
  AND EXISTS (SELECT 1 FROM call_activities c
              WHERE c.prospect_id = e.prospect_id AND c.status <> 'cancelled' AND c.created_at >= e.sent_at)
"""


def replies_with_call(connection: Connectable, start: datetime, end: datetime) -> int:
    """Replied emails (sent in [start, end)) whose prospect had a call booked after the email went out."""
    statement = _times(REPLIES_WITH_CALL_SQL, "start", "end")
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
    row = _one(connection, _times(WEEK_CALLS_SQL, "start", "end"), {"start": start, "end": end})
    return {key: int(value) for key, value in row.items()}


DEALS_WON_SQL = """
SELECT count(*) AS won, SUM(monthly_fee) AS mrr FROM customers WHERE signed_at >= :start AND signed_at < :end
"""


def deals_won(connection: Connectable, start: datetime, end: datetime) -> tuple[int, float]:
    """Deals won (customers signed) in [start, end), and the monthly fees they added."""
    row = _one(connection, _times(DEALS_WON_SQL, "start", "end"), {"start": start, "end": end})
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
    rows = connection.execute(_times(CARD_ACTIVITY_SQL, "start", "end"), params).all()
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
    import json

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
    for day, n in connection.execute(_times(sql + " GROUP BY 1", *names), params):
        counts[int(day)] = int(n)
    return counts


# --- what works: templates -----------------------------------------------------------------------


def _period(column: str, since: datetime | None, until: datetime | None) -> tuple[str, dict[str, Any], list[str]]:
    parts = [f"{column} IS NOT NULL"]
    params: dict[str, Any] = {}
    names = []
    if since is not None:
        parts.append(f"{column} >= :since")
        params["since"] = since
        names.append("since")
    if until is not None:
        parts.append(f"{column} < :until")
        params["until"] = until
        names.append("until")
    return " AND ".join(parts), params, names


def template_rows(connection: Connectable, since: datetime | None, until: datetime | None) -> list[dict[str, Any]]:
    """Per template, over emails sent in [since, until): sent, delivered, human opened, clicked,
    replied, and replies followed by a booked call."""
    where, params, names = _period("e.sent_at", since, until)
    sql = f"""
SELECT e.template AS template,
       count(*) AS sent,
       count(e.delivered_at) AS delivered,
       SUM(CASE WHEN e.opened_at IS NOT NULL AND (e.open_count - e.machine_open_count > 0 OR e.click_count > 0)
                THEN 1 ELSE 0 END) AS human_opened,
       count(e.opened_at) AS opened,
       SUM(CASE WHEN e.click_count > 0 THEN 1 ELSE 0 END) AS clicked,
       count(e.replied_at) AS replied,
       SUM(CASE WHEN e.replied_at IS NOT NULL AND EXISTS (
                SELECT 1 FROM call_activities c
                WHERE c.prospect_id = e.prospect_id AND c.status <> 'cancelled' AND c.created_at >= e.sent_at)
            THEN 1 ELSE 0 END) AS calls_booked
FROM email_activities e
WHERE {where}
GROUP BY e.template
ORDER BY sent DESC, template
"""
    return [
        {key: (value if key == "template" else int(value or 0)) for key, value in row.items()}
        for row in connection.execute(_times(sql, *names), params).mappings()
    ]


# --- what works: objections ----------------------------------------------------------------------


def objection_rows(connection: Connectable, dialect: Dialect) -> tuple[int, list[dict[str, Any]]]:
    """Per objection category on logged calls: calls and mentions, and the deals (prospects)
    where it was raised by their state now: won, lost, still open."""
    join = dialect.json_array_join("c.objection_categories", "cat")
    sql = f"""
SELECT cat.value AS category,
       count(DISTINCT c.id) AS calls,
       count(*) AS mentions,
       count(DISTINCT c.prospect_id) AS prospects,
       count(DISTINCT CASE WHEN p.sales_status = 'closed_won' THEN p.id END) AS won,
       count(DISTINCT CASE WHEN p.sales_status = 'closed_lost' THEN p.id END) AS lost
FROM call_activities c
{join}
JOIN prospects p ON p.id = c.prospect_id
WHERE c.status = 'completed'
GROUP BY cat.value
"""
    rows = [dict(row) for row in connection.execute(text(sql)).mappings()]
    with_objections = connection.execute(
        text(
            "SELECT count(*) FROM call_activities c WHERE c.status = 'completed'"
            f" AND {dialect.json_array_length('c.objection_categories')} > 0"
        )
    ).scalar_one()
    return int(with_objections or 0), rows


# --- what works: conversion by group -------------------------------------------------------------

GRID_BANDS = (("0-19", 20), ("20-39", 40), ("40-59", 60), ("60-79", 80), ("80-100", None))


def grid_band_sql(column: str = "p.grid_health") -> str:
    whens = " ".join(f"WHEN {column} < {upper} THEN '{label}'" for label, upper in GRID_BANDS if upper is not None)
    return f"CASE WHEN {column} IS NULL THEN 'unknown' {whens} ELSE '{GRID_BANDS[-1][0]}' END"


def conversion_rows(connection: Connectable, dialect: Dialect) -> list[dict[str, Any]]:
    """Per (trade, tier, grid-health band): prospects and how many reached each stage, in one
    pass over the prospects (the service adds them up by trade, by tier and by band)."""
    sql = f"""
SELECT trade, tier, band, count(*) AS prospects,
       SUM(CASE WHEN reach >= 1 THEN 1 ELSE 0 END) AS contacted,
       SUM(CASE WHEN reach >= 2 THEN 1 ELSE 0 END) AS replied,
       SUM(CASE WHEN reach >= 3 THEN 1 ELSE 0 END) AS scheduled,
       SUM(CASE WHEN reach >= 4 THEN 1 ELSE 0 END) AS called,
       SUM(CASE WHEN reach >= 5 THEN 1 ELSE 0 END) AS proposal,
       SUM(CASE WHEN reach >= 6 THEN 1 ELSE 0 END) AS won
FROM (
    SELECT COALESCE(p.trade, '') AS trade, p.tier AS tier, {grid_band_sql()} AS band, {reach_expression()} AS reach
    FROM prospects p LEFT JOIN ({lost_reach_sql(dialect)}) AS l ON l.id = p.id
) AS reached
GROUP BY trade, tier, band
"""
    return [
        {key: (value if key in ("trade", "band") else int(value or 0)) for key, value in row.items()}
        for row in connection.execute(text(sql)).mappings()
    ]


# --- what works: timing --------------------------------------------------------------------------

DELAY_BUCKETS: tuple[tuple[str, float | None], ...] = (
    ("under 1 hour", 3600),
    ("1-4 hours", 4 * 3600),
    ("4-24 hours", 24 * 3600),
    ("1-3 days", 3 * 86400),
    ("3-7 days", 7 * 86400),
    ("7 days or more", None),
)


def _replied(since: datetime | None, until: datetime | None) -> tuple[str, dict[str, Any], list[str]]:
    """Replied emails sent in [since, until)."""
    where, params, names = _period("e.sent_at", since, until)
    return f"e.replied_at IS NOT NULL AND {where}", params, names


def _replies_table(dialect: Dialect) -> str:
    """``email_activities e``, read through the replies index on SQLite: without statistics its
    planner would walk the sent_at index over every email instead of the replied ones only."""
    return "email_activities e" + (" INDEXED BY ix_email_activities_replies" if dialect.is_sqlite else "")


def reply_delays(
    connection: Connectable, dialect: Dialect, since: datetime | None, until: datetime | None
) -> tuple[dict[str, Any], list[int]]:
    """Time from send to reply over replied emails sent in [since, until): count, mean, and how
    many fell in each of :data:`DELAY_BUCKETS` (seconds)."""
    where, params, names = _replied(since, until)
    delay = dialect.seconds_between("e.sent_at", "e.replied_at")
    lowers = [0.0] + [float(upper) for _, upper in DELAY_BUCKETS if upper is not None]
    buckets = ", ".join(
        f"SUM(CASE WHEN d >= {lower:g}{f' AND d < {upper:g}' if upper is not None else ''} THEN 1 ELSE 0 END)"
        f" AS b{index}"
        for index, (lower, (_, upper)) in enumerate(zip(lowers, DELAY_BUCKETS, strict=True))
    )
    sql = (
        f"SELECT count(*) AS n, AVG(d) AS mean, {buckets}"
        f" FROM (SELECT CASE WHEN {delay} < 0 THEN 0 ELSE {delay} END AS d FROM {_replies_table(dialect)}"
        f" WHERE {where}) AS delays"
    )
    row = connection.execute(_times(sql, *names), params).mappings().one()
    counts = [int(row[f"b{i}"] or 0) for i in range(len(DELAY_BUCKETS))]
    return {"n": int(row["n"] or 0), "mean": row["mean"]}, counts


def delays_at_ranks(
    connection: Connectable, dialect: Dialect, since: datetime | None, until: datetime | None, ranks: Sequence[int]
) -> dict[int, float]:
    """The reply delays (seconds) at these 1-based positions of the ascending order (one sort)."""
    if not ranks:
        return {}
    where, params, names = _replied(since, until)
    delay = dialect.seconds_between("e.sent_at", "e.replied_at")
    sql = (
        "SELECT position, d FROM ("
        f"SELECT d, ROW_NUMBER() OVER (ORDER BY d) AS position FROM (SELECT {delay} AS d"
        f" FROM {_replies_table(dialect)} WHERE {where}) AS delays) AS ordered WHERE position IN :ranks"
    )
    statement = _times(sql, *names).bindparams(bindparam("ranks", expanding=True))
    rows = connection.execute(statement, {**params, "ranks": sorted(set(ranks))})
    return {int(position): max(0.0, float(value)) for position, value in rows}


def send_buckets(
    connection: Connectable, dialect: Dialect, since: datetime | None, until: datetime | None
) -> list[tuple[datetime, int, int]]:
    """(start of a UTC quarter hour, emails sent in it, of which replied) over [since, until).

    Every time-zone offset in use is a whole number of quarter hours, so each bucket lies in
    one local hour of any zone; the service puts each in its local weekday and hour.
    """
    where, params, names = _period("e.sent_at", since, until)
    if dialect.is_sqlite:
        bucket = "substr(e.sent_at, 1, 14) || (CAST(substr(e.sent_at, 15, 2) AS INTEGER) / 15)"
    else:
        bucket = "date_bin('15 minutes', e.sent_at, TIMESTAMPTZ '2000-01-01 00:00:00+00')"
    sql = f"SELECT {bucket} AS b, count(*) AS sent, count(e.replied_at) AS replied FROM email_activities e"
    sql += f" WHERE {where} GROUP BY 1"
    found = []
    for value, sent, replied in connection.execute(_times(sql, *names), params):
        if isinstance(value, str):  # SQLite: 'YYYY-MM-DD HH:' and the quarter, 0-3
            moment = datetime.fromisoformat(value[:13] + ":00").replace(tzinfo=UTC) + timedelta(
                minutes=15 * int(value[14:])
            )
        else:
            moment = value.astimezone(UTC)
        found.append((moment, int(sent), int(replied)))
    return found


# --- forecast ------------------------------------------------------------------------------------


def pipeline_values(connection: Connectable) -> list[tuple[str, int, int, float]]:
    """(stage, prospects, prospects with a deal value, sum of deal values) for the open stages."""
    statement = text(
        "SELECT sales_status, count(*), count(deal_value), SUM(deal_value) FROM prospects"
        " WHERE sales_status IN :stages GROUP BY sales_status"
    ).bindparams(bindparam("stages", expanding=True))
    return [
        (str(stage), int(n), int(valued), float(total or 0))
        for stage, n, valued, total in connection.execute(statement, {"stages": list(OPEN_STAGES)})
    ]


def customer_fees(connection: Connectable) -> list[tuple[str, int, float]]:
    """(status, customers, sum of monthly fees)."""
    rows = connection.execute(text("SELECT status, count(*), SUM(monthly_fee) FROM customers GROUP BY status"))
    return [(str(status), int(n), float(total or 0)) for status, n, total in rows]


# --- exports -------------------------------------------------------------------------------------


def stream(connection: Any, statement: Any, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Rows of ``statement`` as dicts, fetched in batches (flat memory on any size)."""
    result = connection.execution_options(stream_results=True, yield_per=1000).execute(statement, params)
    for row in result.mappings():
        yield dict(row)


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
