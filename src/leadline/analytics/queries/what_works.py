"""The "what works" SQL: templates, objections, conversion by group, reply timing, and the open
pipeline's values with the customers' fees (the forecast)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, text

from leadline.analytics import totals
from leadline.analytics.queries.common import Connectable, Dialect, bind_times, dialect_of, replied_emails
from leadline.emails.reading import EVER_SQL, FAR_FUTURE
from leadline.prospects.queries import REACHED_SQL as EVENT_SQL
from leadline.prospects.stages import OPEN_STAGES

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
    replied, and replies followed by a booked call; each as of ``until`` (default: now), with the
    email list's own predicates (``emails.reading.EVER_SQL``): the maintained totals by template
    (:mod:`leadline.analytics.totals`), and the replies followed by a call from the raw rows."""
    zone = totals.zone_of(connection)  # type: ignore[arg-type]
    before = totals.day_of(until, zone) if until is not None else totals.AFTER_ALL
    started = (totals.day_of(since, zone) if since is not None else 1, before)
    counted = ("delivered", "human_opened", "opened", "clicked", "replied")
    found = totals.sums(connection, ["sent", *counted], before=before, started=started, by=["template"])
    rows: dict[str, dict[str, Any]] = {}
    for (figure, template), (n, _amount) in found.items():
        row = rows.setdefault(template, {"template": template, "sent": 0, **dict.fromkeys(counted, 0)})
        row[figure] += n
    where, params, names = _period("sent_at", since, until)
    params["asof"] = until or FAR_FUTURE
    booked = f"""
SELECT template, count(*) AS n FROM {replied_emails(dialect_of(connection))}
WHERE replied_at IS NOT NULL AND replied_at < :asof AND {where} AND {EVER_SQL["call_booked"]}
GROUP BY template
"""
    calls = {str(t): int(n) for t, n in connection.execute(bind_times(booked, *names, "asof"), params)}
    ordered = sorted((row for row in rows.values() if row["sent"]), key=lambda r: (-r["sent"], r["template"]))
    return [{**row, "calls_booked": calls.get(row["template"], 0)} for row in ordered]


def link_rows(connection: Connectable, since: datetime | None, until: datetime | None) -> list[dict[str, Any]]:
    """Per template and link, over emails sent in [since, until): clicks by people, the people
    (prospects) who clicked, and clicks by machines (webhooks/clicks.py says which is which).

    Read from the clicks, each joined to its email by key: far fewer rows than the period's emails
    (SQLite, without statistics, would walk every email of the period and look for its clicks;
    its CROSS JOIN keeps the order written, PostgreSQL plans it as any join)."""
    where, params, names = _period("e.sent_at", since, until)
    sql = f"""
SELECT e.template AS template, l.url AS url,
       SUM(l.human_clicks) AS human_clicks,
       count(DISTINCT CASE WHEN l.human_clicks > 0 THEN e.prospect_id END) AS people,
       SUM(l.machine_clicks) AS machine_clicks
FROM email_link_clicks l
CROSS JOIN email_activities e
WHERE e.id = l.email_activity_id AND {where}
GROUP BY e.template, l.url
"""
    return [
        {key: (value if key in ("template", "url") else int(value or 0)) for key, value in row.items()}
        for row in connection.execute(bind_times(sql, *names), params).mappings()
    ]


# --- what works: objections ----------------------------------------------------------------------


def objection_rows(connection: Connectable) -> tuple[int, list[dict[str, Any]]]:
    """Per objection category on logged calls: calls and mentions, and the deals (prospects)
    where it was raised by their state now: won, lost, still open; and how many logged calls raised
    any. From the maintained totals (:data:`totals.OBJECTION_FIGURES`)."""
    found = totals.sums(connection, totals.OBJECTION_FIGURES, before=totals.AFTER_ALL, by=["template"])
    rows: dict[str, dict[str, Any]] = {}
    for (figure, category), (n, _amount) in found.items():
        if figure != "objections.any":
            row = rows.setdefault(category, {"category": category, "calls": 0, "mentions": 0, "prospects": 0,
                                             "won": 0, "lost": 0})  # fmt: skip
            row[figure.split(".")[1]] += n
    with_objections = found.get(("objections.any", ""), (0, 0.0))[0]
    return with_objections, [row for row in rows.values() if row["calls"]]


# --- what works: conversion by group -------------------------------------------------------------

GRID_BANDS = totals.GRID_BANDS
CONVERSION_STAGES = totals.CONVERSION_STAGES


def grid_band_sql(column: str = "p.grid_health") -> str:
    """:func:`totals.grid_band` in SQL."""
    whens = " ".join(f"WHEN {column} < {upper} THEN '{label}'" for label, upper in GRID_BANDS if upper is not None)
    return f"CASE WHEN {column} IS NULL THEN '{totals.NO_BAND}' {whens} ELSE '{GRID_BANDS[-1][0]}' END"


def conversion_rows(connection: Connectable, before: int) -> dict[str, dict[Any, dict[str, int]]]:
    """By trade, by tier and by grid-health band ({"trade": {trade: row}, "tier": ..., "band": ...}):
    prospects added before the local day ``before`` (:func:`totals.day_of`; ``totals.AFTER_ALL``:
    all), how many were contacted before it and, of those, how many did each later stage's real
    event before it (the funnel's events, ``prospects.queries.REACHED_SQL``): the maintained totals
    (:mod:`leadline.analytics.totals`), one grouped read. Groups without prospects are left out."""
    names = ["prospects", *CONVERSION_STAGES]
    figures = [f"conversion.{by}.{name}" for by in totals.CONVERSION_BY for name in names]
    found = totals.sums(connection, figures, before=before, by=list(totals.CONVERSION_BY))
    groups: dict[str, dict[Any, dict[str, int]]] = {by: {} for by in totals.CONVERSION_BY}
    for (figure, trade, tier, band), (n, _amount) in found.items():
        _, by, name = figure.split(".")
        key = {"trade": trade, "tier": int(tier), "band": band}[by]
        groups[by].setdefault(key, dict.fromkeys(names, 0))[name] += n
    return {by: {key: row for key, row in rows.items() if row["prospects"]} for by, rows in groups.items()}


#: Where each stage's event falls in REACHED_SQL: ``<its time column> < :asof``.
_AS_OF = re.compile(r"\b(\w+) < :asof\b")


def _moved_sql() -> str:
    """The prospects whose conversion rows can differ between ``:moved_from`` and ``:moved_to``:
    those added, or doing any stage's event (:data:`EVENT_SQL`, each event's own time in the window),
    in [moved_from, moved_to). Any other prospect counts the same at both instants."""
    windowed = [
        _AS_OF.sub(r"\1 >= :moved_from AND \1 < :moved_to", EVENT_SQL[stage]) for stage in CONVERSION_STAGES.values()
    ]
    if any(":asof" in sql for sql in windowed):
        raise RuntimeError("a stage's event is not of the form 'column < :asof'")
    events = " UNION ".join(f"SELECT x.prospect_id FROM ({sql}) AS x" for sql in dict.fromkeys(windowed))
    return f"SELECT id FROM prospects WHERE created_at >= :moved_from AND created_at < :moved_to UNION {events}"


@lru_cache(maxsize=2)
def _conversion_statements(moved: bool) -> tuple[Any, Any]:
    """:func:`conversion_rows_at`'s two statements, made when first asked for (not at start-up); with
    ``moved``, over the prospects of :func:`_moved_sql`."""
    among = " AND p.id IN (SELECT id FROM moved)" if moved else ""
    head = f"WITH moved AS ({_moved_sql()}) " if moved else ""
    group = f"COALESCE(p.trade, '') AS trade, p.tier AS tier, {grid_band_sql()} AS band"
    counts = f"{head}SELECT {group}, count(*) AS prospects FROM prospects p WHERE p.created_at < :end{among}"
    counts += " GROUP BY 1, 2, 3"
    events = " UNION ALL ".join(
        f"SELECT x.prospect_id AS prospect_id, '{name}' AS stage FROM ({EVENT_SQL[stage]}) AS x"
        + (" WHERE x.prospect_id IN (SELECT id FROM moved)" if moved else "")
        for name, stage in CONVERSION_STAGES.items()
    )
    flags = ", ".join(f"MAX(CASE WHEN stage = '{name}' THEN 1 ELSE 0 END) AS did_{name}" for name in CONVERSION_STAGES)
    # Later stages are counted among the contacted: the rates are over them.
    sums = ", ".join(
        f"SUM(ev.did_{name}) AS {name}" if name == "contacted" else f"SUM(ev.did_contacted * ev.did_{name}) AS {name}"
        for name in CONVERSION_STAGES
    )
    did = f"""{head}
SELECT {group}, {sums}
FROM (SELECT prospect_id, {flags} FROM ({events}) AS e GROUP BY prospect_id) AS ev
JOIN prospects p ON p.id = ev.prospect_id
WHERE p.created_at < :end
GROUP BY 1, 2, 3
"""
    window = ("moved_from", "moved_to") if moved else ()
    return bind_times(counts, "end", *window), bind_times(did, "end", "asof", *window)


def conversion_rows_at(
    connection: Connectable, end: datetime, *, moved: tuple[datetime, datetime] | None = None
) -> list[dict[str, Any]]:
    """Per (trade, tier, grid-health band), from the raw rows, at any instant: prospects, how many were
    contacted before ``end`` and, of those, how many did each later stage's real event before it (the
    funnel's events, :mod:`.funnel`). Two passes: the prospects by group, and the events grouped by
    prospect joined to their prospect by its key (the service adds them up by trade, by tier and by
    band). With ``moved`` (an instant's day so far), only the prospects added or doing an event in
    it (:func:`_moved_sql`): the rows the day's start and ``end`` can differ by."""
    counts, did = _conversion_statements(moved is not None)
    params: dict[str, Any] = {"end": end, "asof": end}
    if moved is not None:
        params["moved_from"], params["moved_to"] = moved
    found: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in connection.execute(counts, params).mappings():
        key = (row["trade"], int(row["tier"]), row["band"])
        found[key] = {"trade": key[0], "tier": key[1], "band": key[2], "prospects": int(row["prospects"])}
        found[key].update(dict.fromkeys(CONVERSION_STAGES, 0))
    for row in connection.execute(did, params).mappings():
        key = (row["trade"], int(row["tier"]), row["band"])
        if key in found:
            found[key].update({name: int(row[name] or 0) for name in CONVERSION_STAGES})
    return list(found.values())


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
    # MATERIALIZED: each delay computed once. Folded into the outer query, as SQLite does with a
    # plain subquery, its expression is computed again for every bucket's bounds (100 ms instead of
    # 20 ms for a quarter's 19,000 replies at a million prospects).
    sql = (
        f"WITH delays AS MATERIALIZED (SELECT CASE WHEN {delay} < 0 THEN 0 ELSE {delay} END AS d"
        f" FROM {replied_emails(dialect, 'e')} WHERE {where})"
        f" SELECT count(*) AS n, AVG(d) AS mean, {buckets} FROM delays"
    )
    row = connection.execute(bind_times(sql, *names), params).mappings().one()
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
        f" FROM {replied_emails(dialect, 'e')} WHERE {where}) AS delays) AS ordered WHERE position IN :ranks"
    )
    statement = bind_times(sql, *names).bindparams(bindparam("ranks", expanding=True))
    rows = connection.execute(statement, {**params, "ranks": sorted(set(ranks))})
    return {int(position): max(0.0, float(value)) for position, value in rows}


def send_buckets(
    connection: Connectable, dialect: Dialect, since: datetime | None, until: datetime | None
) -> list[tuple[datetime, int, int]]:
    """(start of a UTC quarter hour, emails sent in it, of which replied) over [since, until).

    Every time-zone offset in use is a whole number of quarter hours, so each bucket lies in
    one local hour of any zone; the service puts each in its local weekday and hour. The period's
    whole quarter hours come from the maintained totals (``timing.*``, :func:`totals.timing_parts`),
    the part of a quarter hour at either end (under 15 minutes each) from the raw rows.
    """
    first, last = _FIRST_QUARTER, _LAST_QUARTER
    if since is not None:
        first = totals.quarter_of(since) + (totals.quarter_start(totals.quarter_of(since)) < since)
    if until is not None:
        last = totals.quarter_of(until)
    if first >= last:  # no whole quarter hour inside
        return _raw_send_buckets(connection, dialect, since, until)
    found = []
    if since is not None and totals.quarter_start(first) > since:
        found += _raw_send_buckets(connection, dialect, since, totals.quarter_start(first))
    kept = totals.sums(connection, totals.TIMING_FIGURES, before=last, started=(first, last), by=["start_day"])
    quarters: dict[int, list[int]] = {}
    for (figure, quarter), (n, _amount) in kept.items():
        quarters.setdefault(int(quarter), [0, 0])[figure == "timing.replied"] += n
    found += [(totals.quarter_start(q), sent, replied) for q, (sent, replied) in sorted(quarters.items()) if sent]
    if until is not None and totals.quarter_start(last) < until:
        found += _raw_send_buckets(connection, dialect, totals.quarter_start(last), until)
    return found


#: Before and after every quarter hour kept (a period without a start or an end): a 32-bit key.
_FIRST_QUARTER, _LAST_QUARTER = -(2**31), 2**31 - 1


def _raw_send_buckets(
    connection: Connectable, dialect: Dialect, since: datetime | None, until: datetime | None
) -> list[tuple[datetime, int, int]]:
    """:func:`send_buckets` from the raw rows (the emails of the period, grouped by quarter hour)."""
    where, params, names = _period("e.sent_at", since, until)
    if dialect.is_sqlite:
        bucket = "substr(e.sent_at, 1, 14) || (CAST(substr(e.sent_at, 15, 2) AS INTEGER) / 15)"
    else:
        bucket = "date_bin('15 minutes', e.sent_at, TIMESTAMPTZ '2000-01-01 00:00:00+00')"
    sql = f"SELECT {bucket} AS b, count(*) AS sent, count(e.replied_at) AS replied FROM email_activities e"
    sql += f" WHERE {where} GROUP BY 1"
    found = []
    for value, sent, replied in connection.execute(bind_times(sql, *names), params):
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
    """(stage, prospects, prospects with a deal value, sum of deal values) for the open stages: the
    maintained totals (:data:`totals.FORECAST_FIGURES`)."""
    found = totals.sums(connection, totals.FORECAST_FIGURES, before=totals.AFTER_ALL, by=["template"])
    return [
        (stage, n, found.get(("forecast.valued", stage), (0, 0.0))[0], amount)
        for stage in OPEN_STAGES
        for n, amount in [found.get(("forecast.prospects", stage), (0, 0.0))]
        if n
    ]


def customer_fees(connection: Connectable) -> list[tuple[str, int, float]]:
    """(status, customers, sum of monthly fees)."""
    rows = connection.execute(text("SELECT status, count(*), SUM(monthly_fee) FROM customers GROUP BY status"))
    return [(str(status), int(n), float(total or 0)) for status, n, total in rows]
