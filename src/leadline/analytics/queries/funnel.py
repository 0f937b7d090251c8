"""The funnel's SQL: how many prospects did each stage's real event before an instant, and who
was moved past a stage by hand without doing it. The definition: :mod:`leadline.analytics.service.funnel`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text

from leadline.analytics.queries.common import REACH, Connectable, Dialect, bind_times, one_row
from leadline.prospects.queries import REACHED_SQL

#: Each stage's real event, as a query for the prospects that did it before ``:asof`` (one
#: prospect id per row, possibly repeated): the prospect list's own definition (its ``reached``
#: filter), so that each funnel line's list shows exactly the prospects it counts.
EVENT_SQL: dict[str, str] = REACHED_SQL


def totals(connection: Connectable, end: datetime) -> dict[int, int]:
    """Prospects added before ``end``, by tier: all of them (from the (sales_status, tier) index)
    less those added since (a range of the created_at index: few for a recent week)."""
    found: dict[int, int] = {}
    for tier, n in connection.execute(text("SELECT tier, count(*) AS n FROM prospects GROUP BY tier")):
        found[int(tier)] = int(n)
    # the complement of EXISTED_SQL (created_at is never null), spelt so an index range reads it
    since = bind_times("SELECT tier, count(*) AS n FROM prospects WHERE created_at >= :asof GROUP BY tier", "asof")
    for tier, n in connection.execute(since, {"asof": end}):
        found[int(tier)] -= int(n)
    return {tier: n for tier, n in found.items() if n}


def did(connection: Connectable, end: datetime, total: int) -> dict[str, int]:
    """For each stage: how many prospects did its real event before ``end``; ``new`` (the prospect
    list's ``reached=new``: added before ``end``, not contacted by then), given the ``total`` added
    before ``end``."""
    columns = ", ".join(
        f"(SELECT count(DISTINCT e.prospect_id) FROM ({sql}) AS e) AS {stage}" for stage, sql in EVENT_SQL.items()
    )
    # New = added before ``end`` less those of them contacted, counted without reading every
    # prospect: the contacted ones added at or after ``end`` (a range of the created_at index)
    # are the contacted ones that are not among the added.
    columns += (
        ", (SELECT count(*) FROM prospects p WHERE p.created_at >= :asof AND EXISTS (SELECT 1 FROM"
        f" ({EVENT_SQL['contacted']}) AS e WHERE e.prospect_id = p.id)) AS contacted_added_later"
    )
    row = one_row(connection, bind_times(f"SELECT {columns}", "asof"), {"asof": end})
    found = {stage: int(row[stage]) for stage in EVENT_SQL}
    found["new"] = total - found["contacted"] + int(row["contacted_added_later"])
    return found


def _rank_of(expression: str) -> str:
    whens = " ".join(f"WHEN '{stage}' THEN {rank}" for stage, rank in REACH.items() if rank > 0)
    return f"CASE {expression} {whens} ELSE 0 END"


def moved_by_hand(connection: Connectable, dialect: Dialect, end: datetime) -> list[tuple[int, dict[str, bool]]]:
    """Prospects moved by hand (a manual stage change before ``end``) to a stage on the road to a
    sale: (the furthest rank a hand move took them to, which stages' real events they did before
    ``end``). Reads the stage changes marked manual only (few), then one EXISTS per stage each."""
    flags = ", ".join(
        f"CASE WHEN EXISTS (SELECT 1 FROM ({sql}) AS e WHERE e.prospect_id = h.prospect_id) THEN 1 ELSE 0 END"
        f" AS did_{stage}"
        for stage, sql in EVENT_SQL.items()
    )
    hand = (
        f"SELECT prospect_id, MAX({_rank_of('status')}) AS hand_rank FROM outreach_activities"
        f" WHERE type = 'stage_change' AND created_at < :end AND {dialect.json_true('details', 'manual')}"
        " GROUP BY prospect_id"
    )
    sql = f"SELECT h.hand_rank, {flags} FROM ({hand}) AS h WHERE h.hand_rank > 0"
    rows = connection.execute(bind_times(sql, "end", "asof"), {"end": end, "asof": end}).mappings()
    return [(int(row["hand_rank"]), {stage: bool(row[f"did_{stage}"]) for stage in EVENT_SQL}) for row in rows]
