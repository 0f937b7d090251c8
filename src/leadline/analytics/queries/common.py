"""What the analytics queries share: the funnel's ranks as SQL, the dialect's spellings (JSON
access, time arithmetic), binding UTC instants, and streaming rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import TextClause, bindparam, text

from leadline.db import UTCDateTime
from leadline.prospects.stages import RANK

#: Position on the road to a sale, as the funnel counts it (closed_lost: see lost_reach_sql).
REACH = RANK
#: A lost prospect's furthest stage is capped at proposal: "Closed" counts customers only.
LOST_CAP = REACH["proposal"]


class Connectable(Protocol):
    def execute(self, statement: Any, parameters: Any = None, /) -> Any: ...


def bind_times(sql: str, *names: str) -> TextClause:
    """A text() statement whose ``names`` parameters are UTC instants (bound as Leadline stores them)."""
    return text(sql).bindparams(*(bindparam(name, type_=UTCDateTime()) for name in names))


def one_row(connection: Connectable, statement: Any, params: dict[str, Any]) -> dict[str, Any]:
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

    def json_true(self, column: str, key: str) -> str:
        """A condition: a top-level key of a JSON object column is ``true``."""
        if self.is_sqlite:
            return f"json_extract({column}, '$.{key}') = 1"
        return f"({column} ->> '{key}') = 'true'"

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


def stream(connection: Any, statement: Any, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Rows of ``statement`` as dicts, fetched in batches (flat memory on any size)."""
    result = connection.execution_options(stream_results=True, yield_per=1000).execute(statement, params)
    for row in result.mappings():
        yield dict(row)
