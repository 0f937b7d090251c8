"""Maintained totals: the dashboard's and the weekly report's counts, kept per day and dimension in
``analytics_totals`` by the same transaction as the change that moves them.

One definition, two uses. Each counted thing (an email, a call, a customer, a prospect with its
events) *contributes* rows to the totals: a pure function of its stored rows (:func:`email_parts`,
:func:`call_parts`, :func:`customer_parts`, :func:`prospect_parts`). A change reads the
contributions of what it touches before and after (:class:`Change`) and adds the difference;
:func:`recount` adds up every contribution from the raw rows. So an event applied twice, out of
order or in a batch changes the totals exactly as much as it changes the rows: nothing, or the
move from the old state to the new one.

The keys: (figure, the local day the thing started - the email's sent day, the call's booked
day - , the local day the figure's condition started or stopped holding, template, sender, tier,
trade, grid-health band), days in the configured zone as ``date.toordinal()``. A figure "as of" a
week's end (a local midnight) is the sum of its rows whose event day is before that day: the email
and call lists' own predicates (``emails.reading.EVER_SQL``, ``calls.reading.AS_OF_SQL``) and the
funnel's (``prospects.queries.REACHED_SQL``), at a day's resolution, which is exact at day
boundaries. A prospect's trade, tier and grid-health band are its current ones: changing them moves
its share (:data:`PROSPECT_DIMENSIONS`).
Changing ``LEADLINE_TIMEZONE`` moves the days: run ``leadline analytics recount`` after it.
The senders' health figures (``health.*``, :func:`health_parts`, read by ``senders.health``) are
kept by sender and by UTC hour instead of local day: start_day the hour of the send, event_day the
hour of the event (hours since 1970). The timing table's (``timing.*``, :func:`timing_parts`) by
the UTC quarter hour of the send (quarter hours since 1970).

ORM changes are seen by a session hook (:func:`_before_flush` / :func:`_after_flush`); the few
bulk writers (webhook events, imports, merges, bulk edits, the timeline's batches) wrap their
statement in :func:`changing`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Table, TextClause, delete, event, func, inspect, select, text
from sqlalchemy.orm import Session

from leadline.activity.models import OutreachActivity
from leadline.analytics.models import AnalyticsTotal
from leadline.calls.models import CallActivity
from leadline.config import Settings, get_settings
from leadline.customers.models import Customer
from leadline.emails.models import EmailActivity
from leadline.prospects.models import Prospect
from leadline.prospects.stages import RANK

Key = tuple[str, int, int, str, str, int, str, str]  # figure, start_day, event_day, template, sender, tier, trade, band
Parts = dict[Key, list[float]]  # key -> [n, amount]
#: A day after every day kept ("as of now").
AFTER_ALL = date.max.toordinal() + 1
KEY_COLUMNS = ("figure", "start_day", "event_day", "template", "sender", "tier", "trade", "band")
#: Grid-health bands: (label, upper bound, exclusive); "unknown" when a prospect has none.
GRID_BANDS = (("0-19", 20), ("20-39", 40), ("40-59", 60), ("60-79", 80), ("80-100", None))
NO_BAND = "unknown"
#: Prospect columns whose change moves the prospect's share of the totals (the funnel by tier, the
#: conversion table by trade, tier and grid-health band).
PROSPECT_DIMENSIONS = ("tier", "trade", "grid_health")
#: The conversion table's columns and the funnel stage whose event each counts.
CONVERSION_STAGES = {"contacted": "contacted", "replied": "replied", "scheduled": "scheduled", "called": "interested",
                     "proposal": "proposal", "won": "closed_won"}  # fmt: skip
#: The conversion table's groupings: the key column each is counted by.
CONVERSION_BY = ("trade", "tier", "band")

#: The funnel's stages with a real event (``prospects.queries.REACHED_SQL``), in order.
STAGES = ("contacted", "replied", "scheduled", "interested", "proposal", "closed_won")
#: Timeline entry types that move the funnel.
FUNNEL_TYPES = ("stage_change", "proposal")
CHUNK = 500

#: The email columns its contributions read (a caller that hands its own rows to :func:`emails_rewritten`
#: reads these).
EMAIL_COLUMNS = (
    "id", "prospect_id", "template", "sender_id", "status", "sent_at", "delivered_at", "opened_at", "clicked_at",
    "replied_at", "bounced_at", "failed_at", "open_count", "machine_open_count", "bounce_type", "spam_reported_at",
    "unsubscribed_at",
)  # fmt: skip
_CALL_COLUMNS = (
    "id", "prospect_id", "status", "created_at", "updated_at", "completed_at", "duration", "objection_categories",
)  # fmt: skip
_CUSTOMER_COLUMNS = ("id", "prospect_id", "signed_at", "monthly_fee")


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def _day(moment: datetime | None, zone: ZoneInfo) -> int | None:
    return None if moment is None else moment.astimezone(zone).date().toordinal()


def _add(parts: Parts, key: Key, n: float = 1, amount: float = 0.0) -> None:
    slot = parts.setdefault(key, [0, 0.0])
    slot[0] += n
    slot[1] += amount


# --- contributions -------------------------------------------------------------------------------


def email_parts(row: Any, zone: ZoneInfo, parts: Parts) -> None:
    """An email's rows: the email list's "ever did" figures (``emails.reading.EVER_SQL``) of an
    email sent on its sent day, each from the day it started holding."""
    for add, _columns in EMAIL_LIST_PARTS:
        add(row, zone, parts)


def _email_key(row: Any, zone: ZoneInfo) -> tuple[int, str, str] | None:
    """The sent day and dimensions of an email's rows (None: not sent, no rows)."""
    sent = _day(row.sent_at, zone)
    return None if sent is None else (sent, row.template or "", row.sender_id or "")


def _email_sent(row: Any, zone: ZoneInfo, parts: Parts) -> None:
    key = _email_key(row, zone)
    if key is not None:
        _add(parts, ("sent", key[0], key[0], key[1], key[2], 0, "", ""))


def _email_reached(figure: str) -> Any:
    """The part of one "ever did" figure that holds from the day of its own time column."""
    column = f"{figure}_at"

    def part(row: Any, zone: ZoneInfo, parts: Parts) -> None:
        key = _email_key(row, zone)
        day = _day(getattr(row, column), zone)
        if key is not None and day is not None:
            _add(parts, (figure, key[0], day, key[1], key[2], 0, "", ""))

    return part


def _email_failed(row: Any, zone: ZoneInfo, parts: Parts) -> None:
    key = _email_key(row, zone)
    if key is not None and row.status == "failed":
        _add(parts, ("failed", key[0], _day(row.failed_at, zone) or 0, key[1], key[2], 0, "", ""))


def _email_opened(row: Any, zone: ZoneInfo, parts: Parts) -> None:
    key = _email_key(row, zone)
    opened = _day(row.opened_at, zone)
    if key is None or opened is None:
        return
    sent, template, sender = key

    def add(figure: str, day: int, n: float = 1) -> None:
        _add(parts, (figure, sent, day, template, sender, 0, "", ""), n)

    add("opened", opened)
    if row.machine_open_count:
        add("machine_opens", opened, row.machine_open_count)
    clicked = _day(row.clicked_at, zone)
    if (row.open_count or 0) - (row.machine_open_count or 0) > 0:
        add("human_opened", opened)
    elif clicked is not None:  # a person from their click on; only machines before it
        human = max(opened, clicked)
        add("human_opened", human)
        add("machine_only_opened", opened)
        add("machine_only_opened", human, -1)
    else:
        add("machine_only_opened", opened)


_KEYED = ("sent_at", "template", "sender_id")
#: The parts of :func:`email_parts`, each with the columns it reads.
EMAIL_LIST_PARTS: tuple[tuple[Any, tuple[str, ...]], ...] = (
    (_email_sent, _KEYED),
    *((_email_reached(figure), (*_KEYED, f"{figure}_at")) for figure in ("delivered", "clicked", "replied", "bounced")),
    (_email_failed, (*_KEYED, "status", "failed_at")),
    (_email_opened, (*_KEYED, "opened_at", "machine_open_count", "clicked_at", "open_count")),
)


#: Senders' health (``senders.health``): an email's send and its hard bounce, block, spam report and
#: unsubscribe, by sender, keyed by UTC hours (:func:`hour_of`) instead of days.
HEALTH_FIGURES = {"sends": "health.sends", "bounces": "health.bounces", "blocked": "health.blocked",
                  "spamReports": "health.spam", "unsubscribes": "health.unsubscribes"}  # fmt: skip
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HOUR = timedelta(hours=1)


def hour_of(moment: datetime) -> int:
    """The UTC hour ``moment`` falls in, as whole hours since 1970 (floored)."""
    return (moment - _EPOCH) // _HOUR


def health_parts(row: Any, parts: Parts) -> None:
    """An email's rows of its sender's health (``senders.health``, with the same definition): the
    send on the hour it was sent, each event on the hour it happened (start hour: the send's), so the
    figures "as of" an hour boundary are the rows whose event hour is before it."""
    if row.sent_at is None or not row.sender_id:
        return
    sent = hour_of(row.sent_at)

    def add(kind: str, at: datetime) -> None:
        _add(parts, (HEALTH_FIGURES[kind], sent, hour_of(at), "", row.sender_id, 0, "", ""))

    add("sends", row.sent_at)
    if row.bounced_at is not None:
        add("blocked" if row.bounce_type == "blocked" else "bounces", row.bounced_at)
    if row.spam_reported_at is not None:
        add("spamReports", row.spam_reported_at)
    if row.unsubscribed_at is not None:
        add("unsubscribes", row.unsubscribed_at)


#: The timing table's reply rate by weekday and hour of sending (``analytics.service.what_works.timing``):
#: each email's send and, if it was ever replied to, its reply, both keyed by the UTC quarter hour of
#: the send (:func:`quarter_of`; start and event alike), so a period of whole quarter hours reads them
#: exactly. Every UTC offset in use is a whole number of quarter hours: each lies in one local hour.
TIMING_FIGURES = ("timing.sent", "timing.replied")
QUARTER = timedelta(minutes=15)


def quarter_of(moment: datetime) -> int:
    """The UTC quarter hour ``moment`` falls in, as quarter hours since 1970 (floored)."""
    return (moment - _EPOCH) // QUARTER


def quarter_start(quarter: int) -> datetime:
    """When the UTC quarter hour :func:`quarter_of` numbers ``quarter`` starts."""
    return _EPOCH + quarter * QUARTER


def timing_parts(row: Any, parts: Parts) -> None:
    """An email's rows of the timing table: sent, and replied (at any time), on its send's quarter hour."""
    if row.sent_at is None:
        return
    quarter = quarter_of(row.sent_at)
    _add(parts, ("timing.sent", quarter, quarter, "", "", 0, "", ""))
    if row.replied_at is not None:
        _add(parts, ("timing.replied", quarter, quarter, "", "", 0, "", ""))


#: The dashboard's prospect cards (``analytics.queries.dashboard.active_prospects``): each prospect's
#: week as one count that sorts as the cards do (replies received in the week, then calls booked in it
#: and not cancelled plus calls held in it, then its emails sent in the week and opened, most first):
#: ``replies * CARD_PLACE ** 2 + calls * CARD_PLACE + opens``, keyed by the local week's Monday (start
#: and event day alike) with the prospect in the ``template`` key column. So a week's most active
#: prospects are the first rows of an index (``ix_analytics_totals_cards``), however many prospects the
#: week touched. Exact while one prospect's calls and opens of one week each stay under CARD_PLACE.
CARD_SCORE = "cards.score"
CARD_PLACE = 1 << 20


def _card_key(day: int, prospect_id: str) -> Key:
    monday = day - date.fromordinal(day).weekday()
    return (CARD_SCORE, monday, monday, prospect_id, "", 0, "", "")


def card_email_parts(row: Any, zone: ZoneInfo, parts: Parts) -> None:
    """An email's share of its prospect's cards score: an open on its sent week, a reply on the week
    it came (``analytics.queries.dashboard.CARD_CONTACTS``)."""
    sent = _day(row.sent_at, zone) if row.opened_at is not None else None
    if sent is not None:
        _add(parts, _card_key(sent, row.prospect_id))
    replied = _day(row.replied_at, zone)
    if replied is not None:
        _add(parts, _card_key(replied, row.prospect_id), CARD_PLACE * CARD_PLACE)


def card_call_parts(row: Any, zone: ZoneInfo, parts: Parts) -> None:
    """A call's share of its prospect's cards score: booked (while not cancelled) on the week it was
    booked, held on the week it was held (``analytics.queries.dashboard.CARD_CONTACTS``)."""
    booked = _day(row.created_at, zone)
    if booked is not None and row.status != "cancelled":
        _add(parts, _card_key(booked, row.prospect_id), CARD_PLACE)
    held = _day(row.completed_at, zone) if row.status == "completed" else None
    if held is not None:
        _add(parts, _card_key(held, row.prospect_id), CARD_PLACE)


def _email_all_parts(row: Any, zone: ZoneInfo, parts: Parts) -> None:
    email_parts(row, zone, parts)
    health_parts(row, parts)
    timing_parts(row, parts)
    card_email_parts(row, zone, parts)


#: Each part of an email's contributions with the columns it reads: a part whose columns did not
#: change contributes the same rows before and after, so a rewrite leaves it out (tests check that
#: each reads no other column).
EMAIL_PART_COLUMNS: tuple[tuple[Any, tuple[str, ...]], ...] = (
    *EMAIL_LIST_PARTS,
    (lambda row, _zone, parts: health_parts(row, parts),
     ("sent_at", "sender_id", "bounced_at", "bounce_type", "spam_reported_at", "unsubscribed_at")),
    (lambda row, _zone, parts: timing_parts(row, parts), ("sent_at", "replied_at")),
    (card_email_parts, ("sent_at", "opened_at", "replied_at", "prospect_id")),
)  # fmt: skip


def call_parts(row: Any, zone: ZoneInfo, parts: Parts) -> None:
    """A call's rows (``calls.reading.AS_OF_SQL``): booked and pending from its booking until it
    was cancelled (or ended), no-show from then, completed (with its duration) on its day."""
    booked = _day(row.created_at, zone)
    updated = _day(row.updated_at, zone)
    completed = _day(row.completed_at, zone) if row.status == "completed" else None
    if booked is not None:
        _add(parts, ("calls.booked", booked, booked, "", "", 0, "", ""))
        if row.status == "cancelled" and updated is not None:
            _add(parts, ("calls.booked", booked, max(booked, updated), "", "", 0, "", ""), -1)
        _add(parts, ("calls.pending", booked, booked, "", "", 0, "", ""))
        if row.status in ("cancelled", "no_show") and updated is not None:
            _add(parts, ("calls.pending", booked, max(booked, updated), "", "", 0, "", ""), -1)
        elif row.status == "completed":  # never pending when it has no completion time
            ended = booked if completed is None else max(booked, completed)
            _add(parts, ("calls.pending", booked, ended, "", "", 0, "", ""), -1)
        if row.status == "no_show" and updated is not None:
            _add(parts, ("calls.no_show", booked, updated, "", "", 0, "", ""))
    if row.status == "completed":
        objection_parts(list(row.objection_categories or []), parts)
    if completed is not None:
        _add(parts, ("calls.completed", completed, completed, "", "", 0, "", ""))
        if row.duration is not None:
            _add(parts, ("calls.timed", completed, completed, "", "", 0, "", ""))
            _add(parts, ("calls.seconds", completed, completed, "", "", 0, "", ""), 0, float(row.duration))


def _call_all_parts(row: Any, zone: ZoneInfo, parts: Parts) -> None:
    call_parts(row, zone, parts)
    card_call_parts(row, zone, parts)


#: The objections table (``analytics.service.what_works.objection_table``), of the calls held and the
#: prospects they were held with as they stand now: kept with no days (start and event 0), each by its
#: category in the ``template`` key column. Per call: ``objections.calls`` (once per category it
#: raised), ``objections.mentions`` (once per mention), ``objections.any`` (a call that raised one).
#: Per prospect (:func:`prospect_parts`): ``objections.prospects``, ``objections.won`` and
#: ``objections.lost`` (by its stage now) for each category its calls held raised.
OBJECTION_FIGURES = ("objections.calls", "objections.mentions", "objections.any", "objections.prospects",
                     "objections.won", "objections.lost")  # fmt: skip
#: The forecast (``analytics.service.what_works.forecast``): each prospect by its stage now (in the
#: ``template`` key column, no days): ``forecast.prospects`` with its deal value as the amount, and
#: ``forecast.valued`` when it has one.
FORECAST_FIGURES = ("forecast.prospects", "forecast.valued")


def objection_parts(categories: list[str], parts: Parts) -> None:
    """A call held's rows of the objections table: its categories (one per objection said)."""
    for category in categories:
        _add(parts, ("objections.mentions", 0, 0, str(category), "", 0, "", ""))
    for category in set(categories):
        _add(parts, ("objections.calls", 0, 0, str(category), "", 0, "", ""))
    if categories:
        _add(parts, ("objections.any", 0, 0, "", "", 0, "", ""))


def customer_parts(row: Any, zone: ZoneInfo, parts: Parts) -> None:
    """A deal won on its signing day, with the monthly fee it added."""
    signed = _day(row.signed_at, zone)
    if signed is not None:
        _add(parts, ("deals.won", signed, signed, "", "", 0, "", ""), 1, float(row.monthly_fee or 0))


@dataclass
class ProspectFacts:
    """What the funnel reads of one prospect: when it was added (and its tier), when it first did
    each stage's real event, and when a move by hand first took it to each rank."""

    created: datetime | None = None
    tier: int = 0
    trade: str = ""
    band: str = NO_BAND
    first: dict[str, datetime] = field(default_factory=dict)
    hand: dict[int, datetime] = field(default_factory=dict)  # rank -> first manual move to it or past it
    stage: str = "new"  # where it stands now
    deal_value: float | None = None
    raised: set[str] = field(default_factory=set)  # the objection categories its calls held raised


def grid_band(grid_health: float | None) -> str:
    """The grid-health band of a score (:data:`GRID_BANDS`)."""
    if grid_health is None:
        return NO_BAND
    for label, upper in GRID_BANDS:
        if upper is None or grid_health < upper:
            return label
    return GRID_BANDS[-1][0]


def prospect_parts(facts: ProspectFacts, zone: ZoneInfo, parts: Parts) -> None:
    """The funnel (``analytics.service.funnel``): the prospects added by then (by tier), those who
    did each stage's event by then, New (added, not contacted), and those moved past a stage by
    hand without doing it. And the conversion table (``analytics.service.what_works.conversion``),
    by trade, by tier and by grid-health band: the prospects added by then, those contacted by then,
    and of those, each who did a later stage's event by then (from the day all three held)."""
    first = {stage: _day(moment, zone) for stage, moment in facts.first.items()}
    created = _day(facts.created, zone)
    if created is not None:  # the forecast and the objections: the prospect as it stands now
        _add(parts, ("forecast.prospects", 0, 0, facts.stage, "", 0, "", ""), 1, float(facts.deal_value or 0))
        if facts.deal_value is not None:
            _add(parts, ("forecast.valued", 0, 0, facts.stage, "", 0, "", ""))
        for category in facts.raised:
            _add(parts, ("objections.prospects", 0, 0, category, "", 0, "", ""))
            if facts.stage in ("closed_won", "closed_lost"):
                _add(parts, (f"objections.{facts.stage[len('closed_') :]}", 0, 0, category, "", 0, "", ""))
    contacted = first.get("contacted")
    if created is not None:
        _add(parts, ("prospects", 0, created, "", "", facts.tier, "", ""))
        _add(parts, ("new", 0, created, "", "", 0, "", ""))
        if contacted is not None:
            _add(parts, ("new", 0, max(created, contacted), "", "", 0, "", ""), -1)
        for by, tier, trade, band in (("trade", 0, facts.trade, ""), ("tier", facts.tier, "", ""),
                                      ("band", 0, "", facts.band)):  # fmt: skip
            _add(parts, (f"conversion.{by}.prospects", 0, created, "", "", tier, trade, band))
            for name, stage in CONVERSION_STAGES.items():
                day = first.get(stage)
                if contacted is not None and day is not None:
                    _add(parts, (f"conversion.{by}.{name}", 0, max(created, contacted, day), "", "", tier, trade, band))
    for stage, day in first.items():
        if day is not None:
            _add(parts, (f"reached.{stage}", 0, day, "", "", 0, "", ""))
    for stage in STAGES:
        moments = [moment for rank, moment in facts.hand.items() if rank >= RANK[stage]]
        if not moments:
            continue
        hand = _day(min(moments), zone)
        assert hand is not None
        _add(parts, (f"by_hand.{stage}", 0, hand, "", "", 0, "", ""))
        did = first.get(stage)
        if did is not None:
            _add(parts, (f"by_hand.{stage}", 0, max(hand, did), "", "", 0, "", ""), -1)


# --- reading the raw rows ------------------------------------------------------------------------


def _chunks(ids: Iterable[str]) -> Iterator[list[str]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


def _rows(
    connection: Connection, model: Any, names: Sequence[str], *, ids: Iterable[str] | None = None,
    prospects: Iterable[str] = (), lock: bool = False,
) -> Iterator[Any]:  # fmt: skip
    """Rows of ``model``: all (ids None), or those with these ids or of these prospects."""
    table = _table(model)
    columns = [table.c[name] for name in names]
    if ids is None:
        yield from connection.execute(select(*columns).execution_options(yield_per=5000))
        return
    # ``lock`` locks the rows named by id; a prospect's rows are read under its own row lock
    # (:func:`contributions`).
    for column, keys, locked in ((table.c.id, ids, lock), (table.c.prospect_id, prospects, False)):
        for chunk in _chunks(keys):
            query = select(*columns).where(column.in_(chunk)).order_by(table.c.id)
            yield from connection.execute(query.with_for_update() if locked else query)


def _hand_condition(connection: Connection) -> Any:
    table = _table(OutreachActivity)
    if connection.dialect.name == "sqlite":
        return func.json_extract(table.c.details, "$.manual") == 1
    return table.c.details.op("->>")("manual") == "true"


def prospect_facts(connection: Connection, ids: Iterable[str] | None = None) -> dict[str, ProspectFacts]:
    """The funnel's facts of these prospects (all of them when ``ids`` is None): one grouped
    query per event, each the prospect list's ``reached`` definition."""
    e, c, o, k, p = (_table(m) for m in (EmailActivity, CallActivity, OutreachActivity, Customer, Prospect))
    sources: list[tuple[str, Any, Any, list[Any]]] = [
        ("contacted", e, e.c.sent_at, [e.c.sent_at.is_not(None)]),
        ("replied", e, e.c.replied_at, [e.c.replied_at.is_not(None)]),
        ("scheduled", c, c.c.created_at, []),
        ("interested", c, c.c.completed_at, [c.c.status == "completed", c.c.completed_at.is_not(None)]),
        ("proposal", o, o.c.created_at, [o.c.type == "proposal"]),
        ("proposal", c, c.c.completed_at,
         [c.c.outcome == "proposal_sent", c.c.status == "completed", c.c.completed_at.is_not(None)]),
        ("closed_won", k, k.c.signed_at, [k.c.signed_at.is_not(None)]),
    ]  # fmt: skip
    found: dict[str, ProspectFacts] = defaultdict(ProspectFacts)
    chunks: list[list[str] | None] = [None] if ids is None else list(_chunks(ids))
    for chunk in chunks:

        def scoped(query: Any, table: Any, chunk: list[str] | None = chunk, column: str = "prospect_id") -> Any:
            return query if chunk is None else query.where(table.c[column].in_(chunk))

        query = select(p.c.id, p.c.created_at, p.c.tier, p.c.trade, p.c.grid_health, p.c.sales_status, p.c.deal_value)
        for row in connection.execute(scoped(query, p, column="id")):
            facts = found[row.id]
            facts.created, facts.tier = row.created_at, int(row.tier)
            facts.trade, facts.band = row.trade or "", grid_band(row.grid_health)
            facts.stage = row.sales_status
            facts.deal_value = None if row.deal_value is None else float(row.deal_value)
        held = select(c.c.prospect_id, c.c.objection_categories).where(c.c.status == "completed")
        for prospect_id, categories in connection.execute(scoped(held, c)):
            if categories:
                found[prospect_id].raised.update(str(category) for category in categories)
        for stage, table, column, conditions in sources:
            query = select(table.c.prospect_id, func.min(column)).where(*conditions)
            for prospect_id, moment in connection.execute(scoped(query, table).group_by(table.c.prospect_id)):
                have = found[prospect_id].first.get(stage)
                if moment is not None and (have is None or moment < have):
                    found[prospect_id].first[stage] = moment
        hand = select(o.c.prospect_id, o.c.status, func.min(o.c.created_at)).where(
            o.c.type == "stage_change", _hand_condition(connection)
        )
        for prospect_id, status, moment in connection.execute(scoped(hand, o).group_by(o.c.prospect_id, o.c.status)):
            rank = RANK.get(str(status), 0)
            facts = found[prospect_id]
            if rank > 0 and (rank not in facts.hand or moment < facts.hand[rank]):
                facts.hand[rank] = moment
    return dict(found)


# --- a change ------------------------------------------------------------------------------------


@dataclass
class Scope:
    """What a change touches: emails, calls and customers by id, and prospects (their funnel
    facts, and every email, call and customer of theirs: a prospect deleted takes them along)."""

    emails: set[str] = field(default_factory=set)
    calls: set[str] = field(default_factory=set)
    customers: set[str] = field(default_factory=set)
    prospects: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.emails or self.calls or self.customers or self.prospects)

    def update(self, other: Scope) -> None:
        self.emails |= other.emails
        self.calls |= other.calls
        self.customers |= other.customers
        self.prospects |= other.prospects


def contributions(
    connection: Connection | None, scope: Scope, zone: ZoneInfo, *, lock: bool = False,
    emails: Sequence[Any] | None = None,
) -> Parts:  # fmt: skip
    """Every row the things in ``scope`` contribute, as they are stored now. ``lock``: lock the rows
    named by id (emails, calls, customers), then the prospects, each in id order, before reading the
    prospects' other rows. The order a webhook batch takes (its emails, then their prospects), so a call
    logged beside it waits instead of deadlocking; and every change that moves a prospect's share has
    the prospect in its scope, so its row lock keeps those other rows still while they are read.
    ``emails``: the scope's email rows as stored (every column of :data:`EMAIL_COLUMNS`), not read
    again (:func:`emails_rewritten`)."""
    parts: Parts = {}
    tables = (
        (EmailActivity, EMAIL_COLUMNS, scope.emails, _email_all_parts),
        (CallActivity, _CALL_COLUMNS, scope.calls, _call_all_parts),
        (Customer, _CUSTOMER_COLUMNS, scope.customers, customer_parts),
    )
    seen: set[tuple[Any, str]] = set()
    for model, names, ids, add in tables:
        if model is EmailActivity and emails is not None:
            rows: Iterable[Any] = emails
        elif not ids:
            continue
        else:
            assert connection is not None
            rows = _rows(connection, model, names, ids=ids, lock=lock)
        for row in rows:
            seen.add((model, row.id))
            add(row, zone, parts)
    if not scope.prospects:
        return parts
    assert connection is not None
    if lock and connection.dialect.name == "postgresql":
        p = _table(Prospect)
        for chunk in _chunks(scope.prospects):
            connection.execute(select(p.c.id).where(p.c.id.in_(chunk)).order_by(p.c.id).with_for_update()).all()
    for model, names, _ids, add in tables:
        for row in _rows(connection, model, names, ids=(), prospects=scope.prospects):
            if (model, row.id) not in seen:
                seen.add((model, row.id))
                add(row, zone, parts)
    for facts in prospect_facts(connection, scope.prospects).values():
        prospect_parts(facts, zone, parts)
    return parts


def difference(after: Parts, before: Parts) -> Parts:
    moved: Parts = {}
    for key in after.keys() | before.keys():
        new, old = after.get(key, [0, 0.0]), before.get(key, [0, 0.0])
        n, amount = new[0] - old[0], new[1] - old[1]
        if n or amount:
            moved[key] = [n, amount]
    return moved


def add_to_totals(connection: Connection, moved: Parts) -> None:
    """Add ``moved`` to the stored totals: one upsert per key, in key order (two writers of the same
    keys wait for each other in the same order: no deadlock)."""
    if not moved:
        return
    table = _table(AnalyticsTotal)
    names = KEY_COLUMNS
    rows = [{**dict(zip(names, key, strict=True)), "n": int(v[0]), "amount": float(v[1])}
            for key, v in sorted(moved.items())]  # fmt: skip
    # Each dialect's INSERT imported here: a SQLite process never loads the PostgreSQL dialect.
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        upsert: Any = pg_insert(table)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        upsert = sqlite_insert(table)
    statement = upsert.on_conflict_do_update(
        index_elements=list(names),
        set_={"n": table.c.n + upsert.excluded.n, "amount": table.c.amount + upsert.excluded.amount},
    )
    connection.execute(statement, rows)


def zone_of(session: Session) -> ZoneInfo:
    settings = session.info.get("settings")
    return (settings if isinstance(settings, Settings) else get_settings()).zone


class Change:
    """A change to the rows in ``scope``: read their contributions (locked) before it, and after it
    keep the difference for the totals (written when the transaction commits: :func:`defer`)."""

    def __init__(self, session: Session, scope: Scope, zone: ZoneInfo) -> None:
        self.session, self.scope, self.zone = session, scope, zone
        self.connection = session.connection()
        self.before = contributions(self.connection, scope, zone, lock=True) if scope else {}

    def done(self, more: Scope | None = None) -> None:
        """The change is written; ``more``: what it added (new rows: nothing before)."""
        if more:
            self.scope.update(more)
        if self.scope:
            defer(self.session, difference(contributions(self.connection, self.scope, self.zone), self.before))


def emails_rewritten(session: Session, before: Sequence[Any], after: Sequence[Any]) -> None:
    """Emails that one bulk statement rewrote, whose rows (every column of :data:`EMAIL_COLUMNS`, by
    attribute) the caller read under lock before it and knows after it (what it read, with what it
    wrote), the same emails in the same order: their move, as :class:`Change` would keep it, without
    reading them twice more. The hot path of webhook events; the rows given must be the stored ones,
    before and after. Only the parts whose columns changed are worked out (:data:`EMAIL_PART_COLUMNS`)."""
    if not before and not after:
        return
    zone = zone_of(session)
    old: Parts = {}
    new: Parts = {}
    for was, now in zip(before, after, strict=True):
        assert was.id == now.id
        changed = {name for name in _PART_COLUMNS if getattr(was, name) != getattr(now, name)}
        for add, columns in EMAIL_PART_COLUMNS:
            if not changed.isdisjoint(columns):
                add(was, zone, old)
                add(now, zone, new)
    defer(session, difference(new, old))


_PART_COLUMNS = tuple(dict.fromkeys(name for _, columns in EMAIL_PART_COLUMNS for name in columns))

# --- written at commit ---------------------------------------------------------------------------
#
# A transaction's moves are kept in the session and written once, just before it commits, every key
# in key order. Written as they happened (several flushes a transaction), two transactions could
# take the same totals rows in opposite orders, or hold one while waiting for a prospect the other
# holds, and PostgreSQL would cancel one of them ("deadlock detected"). Moves made inside a
# savepoint that rolls back are dropped with it.

_DEFERRED = "analytics_totals_deferred"


def defer(session: Session, moved: Parts) -> None:
    """Keep ``moved`` for the totals, tagged with the (nested) transaction it was made in."""
    if moved:
        made_in = session.get_nested_transaction() or session.get_transaction()
        session.info.setdefault(_DEFERRED, []).append((made_in, moved))


def _within(transaction: Any, ancestor: Any) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "before_commit")
def _write_deferred(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: its moves wait for the real commit
        return
    session.flush()  # the last changes' moves, before they are written
    pending = session.info.pop(_DEFERRED, None)
    if not pending:
        return
    summed: Parts = {}
    for _made_in, moved in pending:
        for key, (n, amount) in moved.items():
            kept = summed.setdefault(key, [0, 0.0])
            kept[0] += n
            kept[1] += amount
    add_to_totals(session.connection(), {key: v for key, v in summed.items() if v[0] or v[1]})


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: Any) -> None:
    pending = session.info.get(_DEFERRED)
    if pending:
        session.info[_DEFERRED] = [(t, m) for t, m in pending if not _within(t, previous_transaction)]


@contextmanager
def changing(
    session: Session, *, emails: Iterable[str] = (), calls: Iterable[str] = (), customers: Iterable[str] = (),
    prospects: Iterable[str] = (),
) -> Iterator[Scope]:  # fmt: skip
    """Around a bulk statement that changes these rows (or inserts them): the totals move with it.
    The caller may add to the scope it is given (ids it learns while writing)."""
    session.flush()
    scope = Scope(set(emails), set(calls), set(customers), set(prospects))
    change = Change(session, Scope(set(scope.emails), set(scope.calls), set(scope.customers), set(scope.prospects)),
                    zone_of(session))  # fmt: skip
    yield scope
    session.flush()
    change.done(scope)


def add_new_prospects(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Prospects just inserted in bulk (an import): nothing of theirs existed before, so their
    share of the funnel comes from the rows themselves, without reading anything back."""
    parts: Parts = {}
    zone = zone_of(session)
    for row in rows:
        facts = ProspectFacts(created=row["created_at"], tier=int(row["tier"]), trade=row.get("trade") or "",
                              stage=row.get("sales_status") or "new",
                              deal_value=None if row.get("deal_value") is None else float(row["deal_value"]),
                              band=grid_band(row.get("grid_health")))  # fmt: skip
        prospect_parts(facts, zone, parts)
    defer(session, parts)


# --- the session hook ----------------------------------------------------------------------------

_PENDING = "analytics_totals_change"
#: Attributes whose change moves a prospect's funnel facts, per model.
_FUNNEL_ATTRS: dict[type, tuple[str, ...]] = {
    EmailActivity: ("prospect_id", "sent_at", "replied_at"),
    CallActivity: ("prospect_id", "created_at", "status", "completed_at", "outcome", "objection_categories"),
    Customer: ("prospect_id", "signed_at"),
    OutreachActivity: ("prospect_id", "type", "created_at", "details", "status"),
    Prospect: ("created_at", "sales_status", "deal_value", *PROSPECT_DIMENSIONS),
}
_KIND = {EmailActivity: "emails", CallActivity: "calls", Customer: "customers"}


def _changed(obj: Any, names: Sequence[str]) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


def _old_values(obj: Any, name: str) -> list[Any]:
    history = inspect(obj).attrs[name].history
    return [*history.deleted, *history.unchanged]


def _scope_of(session: Session) -> tuple[Scope, list[Any]]:
    """What the pending ORM changes touch (by id), and the new objects (ids known after the flush)."""
    scope, new = Scope(), []
    for obj in session.new:
        kind = type(obj)
        if kind in _FUNNEL_ATTRS:
            new.append(obj)
            if kind is OutreachActivity and obj.type not in FUNNEL_TYPES:
                continue
            prospect_id = obj.id if kind is Prospect else obj.prospect_id
            if prospect_id is not None:
                scope.prospects.add(prospect_id)
    for obj, deleted in [*((o, False) for o in session.dirty), *((o, True) for o in session.deleted)]:
        kind = type(obj)
        if kind not in _FUNNEL_ATTRS:
            continue
        if kind is OutreachActivity and obj.type not in FUNNEL_TYPES and "type" not in _changed_names(obj):
            continue
        if kind in _KIND and (deleted or session.is_modified(obj, include_collections=False)):
            getattr(scope, _KIND[kind]).add(obj.id)
        if deleted or _changed(obj, _FUNNEL_ATTRS[kind]):
            if kind is Prospect:
                scope.prospects.add(obj.id)
            else:
                scope.prospects.update(v for v in (obj.prospect_id, *_old_values(obj, "prospect_id")) if v)
    return scope, new


def _changed_names(obj: Any) -> set[str]:
    return {attr.key for attr in inspect(obj).attrs if attr.history.has_changes()}


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    scope, new = _scope_of(session)
    if not scope and not new:
        return
    change = Change(session, scope, zone_of(session))
    session.info[_PENDING] = (change, new)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending is None:
        return
    change, new = pending
    more = Scope()
    for obj in new:
        kind = type(obj)
        if kind in _KIND:
            getattr(more, _KIND[kind]).add(obj.id)
        elif kind is Prospect:  # nothing of it existed before
            more.prospects.add(obj.id)
    change.done(more)


# --- recount -------------------------------------------------------------------------------------


def count_all(connection: Connection, zone: ZoneInfo) -> Parts:
    """Every total, from the raw rows."""
    parts: Parts = {}
    for model, names, add in (
        (EmailActivity, EMAIL_COLUMNS, _email_all_parts),
        (CallActivity, _CALL_COLUMNS, _call_all_parts),
        (Customer, _CUSTOMER_COLUMNS, customer_parts),
    ):
        for row in _rows(connection, model, names):
            add(row, zone, parts)
    for facts in prospect_facts(connection).values():
        prospect_parts(facts, zone, parts)
    return {key: value for key, value in parts.items() if value[0] or value[1]}


def stored(connection: Connection) -> Parts:
    table = _table(AnalyticsTotal)
    found: Parts = {}
    for row in connection.execute(select(table)):
        if row.n or row.amount:
            key: Key = (row.figure, row.start_day, row.event_day, row.template, row.sender, row.tier, row.trade,
                        row.band)  # fmt: skip
            found[key] = [int(row.n), float(row.amount)]
    return found


@dataclass
class Recount:
    rows: int  # rows of totals the raw rows add up to
    differing: list[dict[str, Any]]  # keys whose stored total differs: figure, days, dims, stored, counted
    written: bool


def _same(a: list[float], b: list[float]) -> bool:
    return a[0] == b[0] and abs(a[1] - b[1]) < 1e-6 * max(1.0, abs(a[1]), abs(b[1]))


def compare(counted: Parts, kept: Parts) -> list[dict[str, Any]]:
    found = []
    for key in sorted(counted.keys() | kept.keys()):
        have, want = kept.get(key, [0, 0.0]), counted.get(key, [0, 0.0])
        if not _same(have, want):
            figure, start, day, template, sender, tier, trade, band = key
            found.append({"figure": figure, "startDay": start, "eventDay": day, "template": template,
                          "sender": sender, "tier": tier, "trade": trade, "band": band, "stored": have[0],
                          "counted": want[0],
                          "storedAmount": have[1], "countedAmount": want[1]})  # fmt: skip
    return found


def recount(connection: Connection, zone: ZoneInfo, *, write: bool = True) -> Recount:
    """Count every total again from the raw rows; with ``write``, replace the stored ones by them
    (the caller's transaction: all or nothing)."""
    if connection.dialect.name == "postgresql":
        # Writers that committed before this are in the rows read below; those that have not
        # yet added their change wait, then add it on top of the recount.
        connection.execute(text("LOCK TABLE analytics_totals IN EXCLUSIVE MODE"))
    counted = count_all(connection, zone)
    differing = compare(counted, stored(connection))
    if write:
        table = _table(AnalyticsTotal)
        connection.execute(delete(table))
        names = KEY_COLUMNS
        rows = [{**dict(zip(names, key, strict=True)), "n": int(v[0]), "amount": float(v[1])}
                for key, v in sorted(counted.items())]  # fmt: skip
        for start in range(0, len(rows), 10_000):
            connection.execute(table.insert(), rows[start : start + 10_000])
    return Recount(rows=len(counted), differing=differing, written=write)


# --- reading -------------------------------------------------------------------------------------


def day_of(moment: datetime, zone: ZoneInfo) -> int:
    """The key of the local day starting at ``moment`` (a week's start or end: a local midnight)."""
    return moment.astimezone(zone).date().toordinal()


@dataclass(frozen=True)
class Sums:
    """One read of the totals: the rows of ``figures`` whose event day is before ``before`` (and on or
    after ``happened_from``) and whose start day is in ``started`` [from, to), summed by figure and ``by``."""

    figures: tuple[str, ...]
    before: int
    started: tuple[int, int] | None = None
    happened_from: int | None = None
    by: tuple[str, ...] = ()

    @property
    def shape(self) -> tuple[tuple[str, ...], bool, bool, tuple[str, ...]]:
        return self.figures, self.started is not None, self.happened_from is not None, self.by


Found = dict[tuple[Any, ...], tuple[int, float]]


def sums(
    connection: Any, figures: Sequence[str], *, before: int, started: tuple[int, int] | None = None,
    happened_from: int | None = None, by: Sequence[str] = (),
) -> Found:  # fmt: skip
    """{(figure, *by): (count, amount)} over the rows of ``figures`` whose event day is before
    ``before`` (and on or after ``happened_from``), and whose start day is in ``started`` [from, to)."""
    return read(connection, Sums(tuple(figures), before, started, happened_from, tuple(by)))[0]


def read(connection: Any, *asked: Sums) -> list[Found]:
    """Several reads of the totals in one statement (one round trip to a server): each one's
    {(figure, *by): (count, amount)}, in the order asked."""
    statement = _sums_statement(tuple(one.shape for one in asked))
    params: dict[str, Any] = {}
    for part, one in enumerate(asked):
        params[f"before_{part}"] = one.before
        if one.started is not None:
            params[f"started_from_{part}"], params[f"started_to_{part}"] = one.started
        if one.happened_from is not None:
            params[f"happened_from_{part}"] = one.happened_from
    found: list[Found] = [{} for _ in asked]
    slots = _slots(asked)
    for row in connection.execute(statement, params):
        part = row[0]
        first = slots[part]
        key = (row[1], *row[first : first + len(asked[part].by)])
        found[part][key] = (int(row[-2] or 0), float(row[-1] or 0))
    return found


def _slots(asked: Sequence[Sums]) -> list[int]:
    """Where each part's ``by`` columns begin in a row of :func:`read` (after the part and the figure):
    each part has columns of its own, so a column's type is the same in every part of the union."""
    slots, at = [], 2
    for one in asked:
        slots.append(at)
        at += len(one.by)
    return slots


#: What a figure's name is made of (the names are the code's own, never a user's).
_FIGURE_NAME = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+)*")


@lru_cache(maxsize=128)
def _sums_statement(shapes: tuple[tuple[tuple[str, ...], bool, bool, tuple[str, ...]], ...]) -> TextClause:
    """:func:`read`'s statement for its parts' figures and shapes (:attr:`Sums.shape`): one text each,
    made once (building and compiling a new select on every read cost the dashboard several
    milliseconds of Python). A row is (part, figure, every part's ``by`` columns, n, amount), the
    columns of the other parts' ``by`` left NULL.

    The figures are written in the text, not bound: PostgreSQL then plans with them even in the
    dashboard's generic plans (``analytics.service.common.plan_once``). With numbered parameters
    its generic plan guessed each figure's rows from the table's average, and the cards' score (one
    row per prospect and week, most of the table) made that average the whole table: a sequential
    scan of ``analytics_totals`` on every dashboard (38 ms at 89,000 rows, once autovacuum had
    analysed it), where the figures' own rows are a few index reads."""
    widths = [len(by) for *_, by in shapes]
    parts = []
    for part, (figures, started, happened, by) in enumerate(shapes):
        if not figures or any(not _FIGURE_NAME.fullmatch(f) for f in figures) or any(b not in KEY_COLUMNS for b in by):
            raise ValueError(f"figures: {figures}, by: {by}")
        before, after = sum(widths[:part]), sum(widths[part + 1 :])
        columns = ", ".join(["NULL"] * before + list(by) + ["NULL"] * after)
        names = ", ".join(f"'{figure}'" for figure in figures)
        sql = (f"SELECT {part} AS part, figure, {columns + ', ' if columns else ''}sum(n), sum(amount)"
               f" FROM analytics_totals WHERE figure IN ({names}) AND event_day < :before_{part}")  # fmt: skip
        if started:
            sql += f" AND start_day >= :started_from_{part} AND start_day < :started_to_{part}"
        if happened:
            sql += f" AND event_day >= :happened_from_{part}"
        parts.append(f"{sql} GROUP BY {', '.join(['figure', *by])}")
    return text(" UNION ALL ".join(parts))
