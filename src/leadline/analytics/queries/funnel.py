"""The funnel's SQL: how many prospects did each stage's real event before an instant, and who
was moved past a stage by hand without doing it. The definition: :mod:`leadline.analytics.service.funnel`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text

from leadline.analytics.queries.common import REACH, Connectable, Dialect, bind_times, one_row

#: Each stage's real event, as a query for the prospects that did it before ``:end`` (one
#: prospect id per row, possibly repeated). ``new`` has none: New is everyone not contacted.
EVENT_SQL: dict[str, str] = {
    "contacted": "SELECT prospect_id FROM email_activities WHERE sent_at < :end",
    "replied": "SELECT prospect_id FROM email_activities WHERE replied_at < :end",
    "scheduled": "SELECT prospect_id FROM call_activities WHERE created_at < :end",
    "interested": "SELECT prospect_id FROM call_activities WHERE status = 'completed' AND completed_at < :end",
    "proposal": (
        "SELECT prospect_id FROM outreach_activities WHERE type = 'proposal' AND created_at < :end"
        " UNION ALL SELECT prospect_id FROM call_activities"
        " WHERE outcome = 'proposal_sent' AND status = 'completed' AND completed_at < :end"
    ),
    "closed_won": "SELECT prospect_id FROM customers WHERE signed_at < :end",
}


def totals(connection: Connectable, end: datetime) -> dict[int, int]:
    """Prospects added before ``end``, by tier: all of them (from the (sales_status, tier) index)
    less those added since (a range of the created_at index: few for a recent week)."""
    found: dict[int, int] = {}
    for tier, n in connection.execute(text("SELECT tier, count(*) AS n FROM prospects GROUP BY tier")):
        found[int(tier)] = int(n)
    since = bind_times("SELECT tier, count(*) AS n FROM prospects WHERE created_at >= :end GROUP BY tier", "end")
    for tier, n in connection.execute(since, {"end": end}):
        found[int(tier)] -= int(n)
    return {tier: n for tier, n in found.items() if n}


def did(connection: Connectable, end: datetime) -> dict[str, int]:
    """For each stage after new: how many prospects did its real event before ``end``."""
    columns = ", ".join(
        f"(SELECT count(DISTINCT e.prospect_id) FROM ({sql}) AS e) AS {stage}" for stage, sql in EVENT_SQL.items()
    )
    row = one_row(connection, bind_times(f"SELECT {columns}", "end"), {"end": end})
    return {stage: int(row[stage]) for stage in EVENT_SQL}


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
    rows = connection.execute(bind_times(sql, "end"), {"end": end}).mappings()
    return [(int(row["hand_rank"]), {stage: bool(row[f"did_{stage}"]) for stage in EVENT_SQL}) for row in rows]
