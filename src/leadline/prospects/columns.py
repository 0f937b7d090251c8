"""A prospect's exported columns and its row as the API's camelCase JSON, for every shell that lists
or exports prospects (the quick CLI path included: standard library only)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from leadline.names import camel
from leadline.prospects import queries

#: The columns of an export, in order: the prospect's fields, then its tags ("a; b", as imports read them).
EXPORT_COLUMNS = (*(camel(c) for c in queries.COLUMNS if c not in queries.PRIVATE_COLUMNS), "tags")


def as_time(value: Any) -> datetime | None:
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _iso(value: Any) -> str | None:
    moment = as_time(value)
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def row_to_json(row: dict[str, Any]) -> dict[str, Any]:
    """A prospects row as the API's camelCase JSON (the same as ``ProspectRead``)."""
    out: dict[str, Any] = {}
    for column in queries.COLUMNS:
        if column in queries.PRIVATE_COLUMNS:
            continue
        value = row.get(column)
        if column in queries.TIME_COLUMNS:
            value = _iso(value)
        elif column in queries.JSON_COLUMNS:
            value = json.loads(value) if isinstance(value, str) else (value or [])
        elif column in queries.BOOL_COLUMNS:
            value = bool(value)
        out[camel(column)] = value
    if "tags" in row:
        out["tags"] = list(row["tags"])
    return out
