"""The dashboard's SQL: the week's emails, calls and deals (as of the week's end), the most active
prospects' cards, sends and replies per day, and the live page's data version. The funnel: :mod:`.funnel`."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import TextClause, bindparam, text

from leadline.analytics import totals
from leadline.analytics.queries.common import (
    Connectable,
    Dialect,
    bind_times,
    dialect_of,
    one_row,
    replied_emails,
)
from leadline.db import UTCDateTime
from leadline.emails.reading import EVER_SQL
from leadline.times import start_of_day

# --- the dashboard -------------------------------------------------------------------------------


#: The week's email figures, each counted with the email list's own predicate
#: (``emails.reading.EVER_SQL``), so that each figure's list shows exactly what it counts.
WEEK_EMAIL_FIGURES = (
    "sent", "delivered", "bounced", "failed", "opened", "human_opened", "machine_only_opened", "clicked", "replied",
    "call_booked",
)  # fmt: skip

#: The week's replied emails (sent in [start, end)) followed by a call booked by ``end``: read from
#: the raw rows (a few hundred a week, from their index by send time), the one figure that joins two
#: lists. ``{emails}``: :func:`replied_emails`.
CALL_BOOKED_SQL = (
    "SELECT count(*) AS call_booked FROM {emails} WHERE replied_at IS NOT NULL AND replied_at < :asof"
    f" AND sent_at >= :start AND sent_at < :end AND {EVER_SQL['call_booked']}"
)


#: The week's calls as of its end, each counted with the call list's own predicate
#: (``calls.reading.AS_OF_SQL``): booked (not cancelled by then), pending and no-show among the
#: calls booked in the week, and the calls completed in the week (kept by :mod:`.totals`).
_CALL_FIGURES = {"scheduled": "calls.booked", "pending": "calls.pending", "no_show": "calls.no_show",
                 "completed": "calls.completed", "timed": "calls.timed"}  # fmt: skip


#: The week's figures in the maintained totals: its emails' (but the calls booked after a reply), calls
#: and deals won.
_EMAIL_TOTALS = (*(name for name in WEEK_EMAIL_FIGURES if name != "call_booked"), "machine_opens")
WEEK_FIGURES = (*_EMAIL_TOTALS, *_CALL_FIGURES.values(), "calls.seconds", "deals.won")


@dataclass(frozen=True)
class WeekCounts:
    emails: dict[str, int]  # WEEK_EMAIL_FIGURES and machine_opens
    calls: dict[str, int]  # scheduled, pending, no_show, completed, timed, seconds
    won: int  # deals won (customers signed)
    new_mrr: float  # the monthly fees they added


def week_asked(start: datetime, end: datetime, zone: ZoneInfo) -> totals.Sums:
    """The read of [start, end)'s figures in the maintained totals, as of ``end``."""
    first, last = totals.day_of(start, zone), totals.day_of(end, zone)
    return totals.Sums(WEEK_FIGURES, before=last, started=(first, last))


def week_counts(
    connection: Connectable, start: datetime, end: datetime, *, found: totals.Found | None = None
) -> WeekCounts:
    """Delivery and engagement of the emails sent in [start, end), the calls booked and held in it
    and the deals won, as of ``end``: from the maintained totals (:mod:`leadline.analytics.totals`),
    the lists' own predicates by day (``found``: the sums of :func:`week_asked`, when the caller read
    them with others); and the replies followed by a call from the emails' rows."""
    if found is None:
        found = totals.read(connection, week_asked(start, end, totals.zone_of(connection)))[0]  # type: ignore[arg-type]

    def n(figure: str) -> int:
        return found.get((figure,), (0, 0.0))[0]

    emails = {name: n(name) for name in _EMAIL_TOTALS}
    sql = CALL_BOOKED_SQL.format(emails=replied_emails(dialect_of(connection)))
    statement = bind_times(sql, "start", "end", "asof")
    emails["call_booked"] = int(
        one_row(connection, statement, {"start": start, "end": end, "asof": end})["call_booked"]
    )
    calls = {name: n(figure) for name, figure in _CALL_FIGURES.items()}
    calls["seconds"] = round(found.get(("calls.seconds",), (0, 0.0))[1])
    won, mrr = found.get(("deals.won",), (0, 0.0))
    return WeekCounts(emails=emails, calls=calls, won=won, new_mrr=round(mrr, 2))


_FIRST_SEND = text("SELECT min(sent_at) AS first FROM email_activities").columns(first=UTCDateTime())


def first_send(connection: Connectable) -> datetime | None:
    """When the first email ever went out (week 1 of the business)."""
    value = connection.execute(_FIRST_SEND).scalar_one()
    return value if isinstance(value, datetime) else None


# --- engagement by prospect ----------------------------------------------------------------------

#: The week's replies, calls booked (not cancelled) and calls held, one row each (a few hundred a
#: week at most: each from its time index), counted by prospect in Python (cheaper than a grouped
#: union of the three).
CARD_CONTACTS = (
    "SELECT prospect_id FROM email_activities WHERE replied_at >= :start AND replied_at < :end",
    "SELECT prospect_id FROM call_activities WHERE created_at >= :start AND created_at < :end"
    " AND status <> 'cancelled'",
    "SELECT prospect_id FROM call_activities WHERE completed_at >= :start AND completed_at < :end"
    " AND status = 'completed'",
)


def card_contacts(connection: Connectable, start: datetime, end: datetime) -> dict[str, tuple[int, int, int]]:
    """{prospect: (replies, calls booked, calls held)} in [start, end), for those with any. Fetched
    whole and counted by :class:`~collections.Counter` (row by row, SQLAlchemy's and Python's work per
    row cost several times the database's at a few thousand rows)."""
    params: dict[str, Any] = {"start": start, "end": end}
    statements = [bind_times(sql, "start", "end") for sql in CARD_CONTACTS]
    replies, booked, held = (Counter(connection.execute(sql, params).scalars().all()) for sql in statements)
    return {str(p): (replies[p], booked[p], held[p]) for p in replies.keys() | booked.keys() | held.keys()}


@lru_cache(maxsize=16)
def of_prospects(sql: str) -> TextClause:
    """A statement of [:start, :end) (UTC instants) and some prospects (``:ids``, a list), made once."""
    return bind_times(sql, "start", "end").bindparams(bindparam("ids", expanding=True))


#: The emails sent in the week and opened, of these prospects: a range of each one's opened emails,
#: from their index alone (``{emails}``: :func:`opened_emails`).
CARD_OPENS_SQL = (
    "SELECT prospect_id, count(*) AS opens FROM {emails} WHERE prospect_id IN :ids AND opened_at IS NOT NULL"
    " AND sent_at >= :start AND sent_at < :end GROUP BY prospect_id"
)


#: The most opened prospects of a period that is not a whole local week: the emails sent in [start, end)
#: and opened, counted by prospect, most first (ties by id), from the week's covering index. A whole
#: week reads the maintained totals instead (:func:`active_prospects`).
WEEK_OPENS_SQL = (
    "SELECT prospect_id, count(*) AS opens FROM email_activities WHERE sent_at >= :start AND sent_at < :end"
    " AND opened_at IS NOT NULL GROUP BY prospect_id ORDER BY opens DESC, prospect_id LIMIT :limit"
)

#: A week's cards scores in the maintained totals (``totals.CARD_SCORE``), through their partial index
#: by week, score and prospect (named on SQLite, whose planner has no statistics for it): the scores of
#: the first ``limit`` (highest first); the prospects scored above the last of them; and that score's
#: first prospects by id. Each reads a few rows of the index, however many prospects the week touched.
#: (One condition on ``n`` each: given two ranges, SQLite's planner may take the wider.)
_CARD_SCORES = "FROM analytics_totals{indexed} WHERE figure = 'cards.score' AND start_day = :monday"
CARD_SCORES_TOP_SQL = f"SELECT n {_CARD_SCORES} AND n > 0 ORDER BY n DESC LIMIT :limit"
CARD_SCORES_ABOVE_SQL = f"SELECT template AS prospect_id {_CARD_SCORES} AND n > :cut"  # cut >= 0
CARD_SCORES_TIED_SQL = f"SELECT template AS prospect_id {_CARD_SCORES} AND n = :cut ORDER BY template LIMIT :left"


def whole_week(connection: Connectable, start: datetime, end: datetime) -> int | None:
    """The key of the Monday (``totals.day_of``) when [start, end) is a whole local week, else None."""
    zone = totals.zone_of(connection)  # type: ignore[arg-type]
    monday = start.astimezone(zone).date()
    if (
        monday.weekday() == 0
        and start == start_of_day(monday, zone)
        and end == start_of_day(monday + timedelta(days=7), zone)
    ):
        return monday.toordinal()
    return None


def top_scored(connection: Connectable, monday: int, limit: int) -> list[str]:
    """The week's first ``limit`` prospects by their cards score (highest first, ties by id), those
    with any."""
    sqlite = dialect_of(connection).is_sqlite
    params: dict[str, Any] = {"monday": monday, "limit": limit}
    scores = [int(n) for (n,) in connection.execute(_card_scores(CARD_SCORES_TOP_SQL, sqlite), params)]
    if len(scores) < limit:  # all of them
        cut, left = 0, 0
    else:
        cut = scores[-1]
        left = limit - sum(1 for n in scores if n > cut)
    ids = [str(p) for (p,) in connection.execute(_card_scores(CARD_SCORES_ABOVE_SQL, sqlite), {**params, "cut": cut})]
    if left:
        tied = connection.execute(_card_scores(CARD_SCORES_TIED_SQL, sqlite), {**params, "cut": cut, "left": left})
        ids += [str(p) for (p,) in tied]
    return ids


@lru_cache(maxsize=8)
def _card_scores(sql: str, sqlite: bool) -> TextClause:
    return text(sql.format(indexed=" INDEXED BY ix_analytics_totals_cards" if sqlite else ""))


def opened_emails(dialect: Dialect) -> str:
    """``email_activities`` for a read of some prospects' opened emails of a period: on SQLite through
    their partial index, which without fresh statistics its planner passes over for the prospect index
    (every email of theirs, from the table)."""
    return "email_activities" + (" INDEXED BY ix_email_activities_opened_by_prospect" if dialect.is_sqlite else "")


@dataclass(frozen=True)
class Activity:
    prospect_id: str
    replies: int  # replies received in the week (to any email)
    booked: int  # calls booked in the week (not cancelled)
    held: int  # calls held (logged) in the week
    opens: int  # emails sent in the week that were opened


def _rank(a: Activity) -> tuple[int, int, int, str]:
    """The cards' order: replies, then calls booked plus held, then opens, most first; ties by id."""
    return (-a.replies, -(a.booked + a.held), -a.opens, a.prospect_id)


#: Some prospects' replies, calls booked and calls held of [:start, :end) (a row each, as
#: :data:`CARD_CONTACTS` reads them) and their emails sent in it and opened (counted, as
#: :data:`CARD_OPENS_SQL`): one statement (one round trip to a server). ``{emails}``: :func:`opened_emails`.
WEEK_ACTIVITY_SQL = " UNION ALL ".join(
    [
        *(f"SELECT '{kind}' AS kind, prospect_id, 1 AS n FROM {sql.split(' FROM ', 1)[1]} AND prospect_id IN :ids"
          for kind, sql in zip(("replies", "booked", "held"), CARD_CONTACTS, strict=True)),
        "SELECT 'opens' AS kind, prospect_id, count(*) AS n FROM {emails} WHERE prospect_id IN :ids"
        " AND opened_at IS NOT NULL AND sent_at >= :start AND sent_at < :end GROUP BY prospect_id",
    ]
)  # fmt: skip


def week_activity(connection: Connectable, start: datetime, end: datetime, ids: Sequence[str]) -> list[Activity]:
    """The replies, calls booked and held, and emails opened of each of ``ids`` in [start, end)."""
    counted: dict[str, dict[str, int]] = {p: {"replies": 0, "booked": 0, "held": 0, "opens": 0} for p in ids}
    statement = of_prospects(WEEK_ACTIVITY_SQL.format(emails=opened_emails(dialect_of(connection))))
    for at in range(0, len(ids), 500):
        for kind, prospect_id, n in connection.execute(
            statement, {"start": start, "end": end, "ids": ids[at : at + 500]}
        ):
            counted[str(prospect_id)][kind] += int(n or 0)
    return [Activity(p, **figures) for p, figures in counted.items()]


def active_prospects(connection: Connectable, start: datetime, end: datetime, limit: int) -> list[Activity]:
    """The most active prospects of [start, end): by replies received, then calls booked plus
    calls held, then this week's emails opened (:func:`_rank`), those with any of them.

    A whole local week (the dashboard's) is chosen from the maintained totals (:func:`top_scored`), and
    the figures of the chosen few are counted from their own rows. Another period is bounded by its
    replies and calls, not its sends: a prospect who replied or had a call ranks above every prospect
    with only opens. When at least ``limit`` prospects replied or had a call, the cards are among them,
    and opens are counted only for those who can still make the cut (those ranked above the last
    card's replies and calls, and those tied with it), from each one's own emails. A quieter period
    adds its most opened prospects: the first ``limit`` of them hold every card left over, whichever
    of them replied or had a call too."""
    if limit <= 0:
        return []
    params: dict[str, Any] = {"start": start, "end": end}
    monday = whole_week(connection, start, end)
    if monday is not None:
        return sorted(week_activity(connection, start, end, top_scored(connection, monday, limit)), key=_rank)[:limit]
    contacts = card_contacts(connection, start, end)
    others: list[Activity] = []
    if len(contacts) < limit:
        hopeful = sorted(contacts)
        most_opened = connection.execute(bind_times(WEEK_OPENS_SQL, "start", "end"), {**params, "limit": limit})
        others = [Activity(str(p), 0, 0, 0, int(n)) for p, n in most_opened if str(p) not in contacts]
    else:
        keys = sorted((-replies, -(booked + held)) for replies, booked, held in contacts.values())
        cut = keys[limit - 1]
        hopeful = sorted(p for p, (replies, booked, held) in contacts.items()
                         if (-replies, -(booked + held)) <= cut)  # fmt: skip
    statement = of_prospects(CARD_OPENS_SQL.format(emails=opened_emails(dialect_of(connection))))
    opens: dict[str, int] = {}
    for at in range(0, len(hopeful), 500):
        for prospect_id, n in connection.execute(statement, {**params, "ids": hopeful[at : at + 500]}):
            opens[str(prospect_id)] = int(n or 0)
    found = [Activity(p, *contacts.get(p, (0, 0, 0)), opens.get(p, 0)) for p in hopeful] + others
    return sorted(found, key=_rank)[:limit]


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


CARD_AS_OF_SQL = """
SELECT p.id AS id,
       (SELECT a.status FROM outreach_activities a
         WHERE a.prospect_id = p.id AND a.type = 'stage_change' AND a.created_at < :end
         ORDER BY a.created_at DESC, a.id DESC LIMIT 1) AS sales_status,
       (SELECT count(*) FROM email_activities e WHERE e.prospect_id = p.id AND e.sent_at < :end)
           AS emails_sent_count,
       (SELECT count(*) FROM email_activities e WHERE e.prospect_id = p.id AND e.sent_at < :end
           AND e.opened_at < :end) AS emails_opened_count,
       (SELECT max(t) FROM (
            SELECT e.sent_at AS t FROM email_activities e WHERE e.prospect_id = p.id AND e.sent_at < :end
            UNION ALL SELECT e.replied_at FROM email_activities e WHERE e.prospect_id = p.id AND e.replied_at < :end
            UNION ALL SELECT c.completed_at FROM call_activities c
             WHERE c.prospect_id = p.id AND c.status = 'completed' AND c.completed_at < :end
        ) AS contacts) AS last_contact_at,
       (SELECT min(t) FROM (
            SELECT c.scheduled_at AS t FROM call_activities c
             WHERE c.prospect_id = p.id AND c.created_at < :end AND c.scheduled_at >= :end
               AND NOT (c.status IN ('cancelled', 'no_show') AND c.updated_at < :end)
               AND NOT (c.status = 'completed' AND c.completed_at < :end)
            UNION ALL SELECT k.due_at FROM tasks k
             WHERE k.prospect_id = p.id AND k.created_at < :end AND (k.done_at IS NULL OR k.done_at >= :end)
        ) AS upcoming) AS next_follow_up_at
FROM prospects p WHERE p.id IN :ids
"""


def card_prospects_as_of(connection: Connectable, ids: Sequence[str], end: datetime) -> dict[str, dict[str, Any]]:
    """The cards' changing fields as they stood at ``end`` (a past week): the stage of the last stage
    change before it, the emails sent and opened by then, the last contact (an email sent, a reply,
    a call held) and the next follow-up (the earliest call booked for after it, or task open then)."""
    if not ids:
        return {}
    statement = (
        bind_times(CARD_AS_OF_SQL, "end")
        .bindparams(bindparam("ids", expanding=True))
        .columns(last_contact_at=UTCDateTime(), next_follow_up_at=UTCDateTime())
    )
    rows = connection.execute(statement, {"ids": list(ids), "end": end}).mappings()
    return {str(row["id"]): dict(row) for row in rows}


def card_objections(
    connection: Connectable, ids: Sequence[str], end: datetime
) -> dict[str, list[tuple[list[str], list[str]]]]:
    """(objections, categories) of each prospect's calls logged before ``end``, oldest first."""
    if not ids:
        return {}
    # Put in order here (a few calls per card): asked of the database, the order would lead SQLite's
    # planner to walk every call held in the (status, completed_at) index instead of each card's calls.
    statement = bind_times(
        "SELECT prospect_id, objections, objection_categories, completed_at, id FROM call_activities"
        " WHERE prospect_id IN :ids AND status = 'completed' AND completed_at < :end",
        "end",
    ).bindparams(bindparam("ids", expanding=True))
    rows = connection.execute(statement, {"ids": list(ids), "end": end}).all()
    found: dict[str, list[tuple[list[str], list[str]]]] = {}
    for prospect_id, objections, categories, _completed, _id in sorted(rows, key=lambda row: (row[3], row[4])):
        said = json.loads(objections) if isinstance(objections, str) else list(objections or [])
        cats = json.loads(categories) if isinstance(categories, str) else list(categories or [])
        found.setdefault(str(prospect_id), []).append(([str(s) for s in said], [str(c) for c in cats]))
    return found


# --- days of a week ------------------------------------------------------------------------------


def per_day(connection: Connectable, column: str, bounds: Sequence[datetime]) -> list[int]:
    """How many emails had ``column`` (sent_at or replied_at) on each local day cut by ``bounds``
    (local midnights): the maintained totals' sent and replied rows, by the day it happened."""
    if column not in ("sent_at", "replied_at"):
        raise ValueError(column)
    zone = totals.zone_of(connection)  # type: ignore[arg-type]
    days = [totals.day_of(bound, zone) for bound in bounds]
    figure = "sent" if column == "sent_at" else "replied"
    found = totals.sums(connection, [figure], before=days[-1], happened_from=days[0], by=["event_day"])
    return [found.get((figure, day), (0, 0.0))[0] for day in days[:-1]]


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
