"""Exports: prospects, emails, calls and customers as camelCase records, streamed, with the filters
each kind has."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadline.analytics.queries import common as qc
from leadline.analytics.service.common import check_period
from leadline.calls.models import CALL_OUTCOMES, CALL_STATUSES, CallActivity
from leadline.customers.models import CUSTOMER_STATUSES, Customer
from leadline.emails.models import EMAIL_STATUSES, EmailActivity
from leadline.errors import Invalid
from leadline.names import camel
from leadline.prospects import service as prospects
from leadline.prospects.columns import EXPORT_COLUMNS, row_to_json
from leadline.prospects.queries import Filters
from leadline.times import iso

ExportKind = Literal["prospects", "emails", "calls", "customers"]
EXPORT_KINDS: tuple[ExportKind, ...] = ("prospects", "emails", "calls", "customers")


@dataclass
class ExportFilters:
    status: str | None = None
    tier: int | None = None
    trade: str | None = None
    search: str | None = None
    do_not_contact: bool | None = None
    sort: str = "created"
    prospect_id: str | None = None
    template: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None


#: Columns left out of an export (bodies: see `leadline emails show`; bookkeeping).
EXPORT_SKIPPED = {
    "emails": {"body_text", "body_html"},
    "calls": {"ics_sequence"},
    "customers": set(),
}
#: Filters that only some exports have.
EXPORT_ONLY_FOR: dict[str, tuple[str, ...]] = {
    "tier": ("prospects",),
    "trade": ("prospects",),
    "search": ("prospects",),
    "do_not_contact": ("prospects",),
    "sort": ("prospects",),
    "template": ("emails",),
    "outcome": ("calls",),
    "prospect_id": ("emails", "calls"),
    "since": ("emails", "calls", "customers"),
    "until": ("emails", "calls", "customers"),
}
#: Which time column --since / --until filter on.
EXPORT_TIME_COLUMN = {"emails": "sent_at", "calls": "scheduled_at", "customers": "signed_at"}


def export(session: Session, kind: str, filters: ExportFilters) -> tuple[list[str], Iterator[dict[str, Any]]]:
    """(columns, records) of an export; records are camelCase JSON-ready dicts, streamed."""
    check_period(filters.since, filters.until)
    for name, kinds in EXPORT_ONLY_FOR.items():
        if getattr(filters, name) not in (None, "created") and kind not in kinds:
            raise Invalid(f"is not a filter of {kind} (only of {' and '.join(kinds)})", field=camel(name))
    if kind == "prospects":
        chosen = Filters(
            status=filters.status, tier=filters.tier, trade=filters.trade, search=filters.search,
            do_not_contact=filters.do_not_contact,
        )  # fmt: skip
        rows = prospects.export_rows(session, chosen, sort=filters.sort)
        return list(EXPORT_COLUMNS), (row_to_json(row) for row in rows)
    if kind not in EXPORT_KINDS:
        raise Invalid(f"must be one of {', '.join(EXPORT_KINDS)}", field="kind")
    _check_choice(filters.status, _statuses(kind), "status")
    if kind == "calls":
        _check_choice(filters.outcome, CALL_OUTCOMES, "outcome")
    return _export_table(session, kind, filters)


def _statuses(kind: str) -> tuple[str, ...]:
    return {"emails": EMAIL_STATUSES, "calls": CALL_STATUSES, "customers": CUSTOMER_STATUSES}[kind]


def _check_choice(value: str | None, choices: tuple[str, ...], field: str) -> None:
    if value is not None and value not in choices:
        raise Invalid(f"{value!r} is not one of {', '.join(choices)}", field=field)


def _export_table(session: Session, kind: str, filters: ExportFilters) -> tuple[list[str], Iterator[dict[str, Any]]]:
    model: Any = {"emails": EmailActivity, "calls": CallActivity, "customers": Customer}[kind]
    table = model.__table__
    columns = [c for c in table.columns if c.name not in EXPORT_SKIPPED[kind]]
    statement = select(*columns)
    if filters.status:
        statement = statement.where(table.c.status == filters.status)
    if filters.prospect_id:
        statement = statement.where(table.c.prospect_id == filters.prospect_id)
    if filters.template and kind == "emails":
        statement = statement.where(table.c.template == filters.template)
    if filters.outcome and kind == "calls":
        statement = statement.where(table.c.outcome == filters.outcome)
    when = table.c[EXPORT_TIME_COLUMN[kind]]
    if filters.since is not None:
        statement = statement.where(when >= filters.since)
    if filters.until is not None:
        statement = statement.where(when < filters.until)
    order = (table.c.signed_at, table.c.id) if kind == "customers" else (table.c.created_at, table.c.id)
    statement = statement.order_by(*order)
    names = [camel(c.name) for c in columns]

    def records() -> Iterator[dict[str, Any]]:
        connection = session.connection()
        for row in qc.stream(connection, statement, {}):
            yield {camel(key): _plain(value) for key, value in row.items()}

    return names, records()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    return value
