"""What the analytics queries share: the stages' ranks, the dialect's spellings (JSON access, time
arithmetic), binding UTC instants, and streaming rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy import TextClause, bindparam, text

from leadline.db import UTCDateTime
from leadline.prospects.stages import RANK

#: Position on the road to a sale (closed_lost has none): the funnel's moves by hand are ranked by it.
REACH = RANK


class Connectable(Protocol):
    def execute(self, statement: Any, parameters: Any = None, /) -> Any: ...


@lru_cache(maxsize=256)
def bind_times(sql: str, *names: str) -> TextClause:
    """A text() statement whose ``names`` parameters are UTC instants (bound as Leadline stores them).
    Made once per text (a statement is immutable: parsing its parameters again on every request
    cost the dashboard about 1 ms)."""
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


def replied_emails(dialect: Dialect, alias: str = "") -> str:
    """``email_activities`` (as ``alias``) for a query of the replied emails sent in a period (its
    WHERE says ``replied_at IS NOT NULL`` and bounds ``sent_at``): on SQLite through their partial
    index by send time, which without fresh statistics its planner would pass over for the week
    index (every email sent) or the replies index (every reply ever)."""
    table = f"email_activities {alias}".rstrip()
    return table + (" INDEXED BY ix_email_activities_replied_by_send" if dialect.is_sqlite else "")


def dialect_of(connection: Any) -> Dialect:
    bind = connection.get_bind() if hasattr(connection, "get_bind") else connection
    return Dialect(bind.dialect.name)


def stream(connection: Any, statement: Any, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Rows of ``statement`` as dicts, fetched in batches (flat memory on any size)."""
    result = connection.execution_options(stream_results=True, yield_per=1000).execute(statement, params)
    for row in result.mappings():
        yield dict(row)
