"""Bulk inserts feed the SQLite search index a few hundred rows at a time.

The search index is an FTS5 table kept by a trigger on prospects (and emails, calls, customers).
FTS5 writes its pending terms out as a new segment at every statement that fires the trigger, so
an ``executemany`` of N rows wrote N segments and the merges behind them: a 1,000,000-row import
fell to about 100 rows a second as the index grew. ``db.bulk_insert`` writes many rows per
statement; this test counts the statements SQLite ran and checks the rows are found."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Table, event

from leadline.db import SQLITE_ROWS_PER_INSERT, Base, bulk_insert, unit_of_work
from leadline.search import service


def _rows(n: int) -> list[dict[str, object]]:
    now = datetime.now(UTC)
    return [
        {"id": f"bulk_{i:05d}", "name": f"Bulk Plumbing {i:05d}", "email": f"owner{i}@bulk{i}.example",
         "gaps": [], "created_at": now, "updated_at": now, "status": "active", "sales_status": "new", "tier": 3,
         "emails_sent_count": 0, "emails_opened_count": 0, "calls_scheduled_count": 0, "calls_completed_count": 0,
         "do_not_contact": False}
        for i in range(n)
    ]  # fmt: skip


def test_a_bulk_insert_is_a_few_statements_and_every_row_is_found(sqlite_settings):
    rows = _rows(1_000)
    ran: list[tuple[str, bool]] = []  # (statement, run with executemany: once per row)

    def note(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.startswith("INSERT INTO prospects"):
            ran.append((statement, executemany))

    with unit_of_work(sqlite_settings) as session:
        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", note)
        try:
            bulk_insert(session, Table("prospects", Base.metadata), rows)
        finally:
            event.remove(engine, "before_cursor_execute", note)
    assert len(ran) == -(-len(rows) // SQLITE_ROWS_PER_INSERT) and not any(many for _, many in ran)  # 4, not 1,000
    with unit_of_work(sqlite_settings, readonly=True) as session:
        for i in (0, 499, 999):
            hits = service.search(session, f"Bulk Plumbing {i:05d}", kinds=["prospect"])
            assert [h.id for h in hits] == [f"bulk_{i:05d}"], hits
