"""The unit of work: after-commit work runs only after a commit, and a read-only unit refuses it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from leadline.config import Settings
from leadline.db import after_commit, dispose_engines, rollback_only, unit_of_work


@pytest.fixture
def pg_settings(postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """PostgreSQL alone (what these tests look at is the driver's and the server's)."""
    from tests.conftest import _settings_for, truncate_postgres

    truncate_postgres(postgres_url)
    yield _settings_for(postgres_url, tmp_path, monkeypatch)
    dispose_engines()


def test_after_commit_runs_only_after_a_commit(settings: Settings) -> None:
    ran: list[str] = []
    with unit_of_work(settings) as session:
        after_commit(session, lambda: ran.append("committed"))
        assert ran == []
    assert ran == ["committed"]
    with pytest.raises(ZeroDivisionError), unit_of_work(settings) as session:
        after_commit(session, lambda: ran.append("rolled back"))
        1 / 0  # noqa: B018
    with unit_of_work(settings) as session:
        after_commit(session, lambda: ran.append("dry run"))
        rollback_only(session)
    assert ran == ["committed"]


def test_a_read_only_unit_refuses_after_commit_work(settings: Settings) -> None:
    ran: list[str] = []
    with unit_of_work(settings, readonly=True) as session:
        with pytest.raises(RuntimeError, match="never commits"):
            after_commit(session, lambda: ran.append("never"))
    assert ran == []


def test_a_unit_that_wrote_and_failed_writes_nothing_and_a_read_only_one_never_writes(settings: Settings) -> None:
    """On PostgreSQL a transaction that only read ends with COMMIT (psycopg keeps its prepared
    statements); one that wrote still rolls back: a failed unit, a dry run, a read-only unit."""
    from sqlalchemy import text

    def count() -> int:
        with unit_of_work(settings, readonly=True) as session:
            return int(session.execute(text("SELECT count(*) FROM daily_send_counts")).scalar_one())

    with pytest.raises(ZeroDivisionError), unit_of_work(settings) as session:
        session.execute(text("INSERT INTO daily_send_counts (day, sent) VALUES ('2025-11-17', 1)"))
        1 / 0  # noqa: B018
    with unit_of_work(settings) as session:
        session.execute(text("INSERT INTO daily_send_counts (day, sent) VALUES ('2025-11-18', 1)"))
        rollback_only(session)
    with unit_of_work(settings, readonly=True) as session:
        session.execute(text("SELECT count(*) FROM daily_send_counts")).scalar_one()
        session.execute(text("INSERT INTO daily_send_counts (day, sent) VALUES ('2025-11-19', 1)"))
    assert count() == 0


def test_a_failed_unit_that_wrote_through_insert_new_writes_nothing(settings: Settings) -> None:
    """``db.insert_new`` sends its rows past SQLAlchemy's statement events on PostgreSQL (psycopg's
    pipeline): the transaction still counts as one that wrote, and a failure rolls it back."""
    from datetime import date

    from sqlalchemy import text

    from leadline.db import insert_new
    from leadline.emails.models import DailySendCount

    with pytest.raises(ZeroDivisionError), unit_of_work(settings) as session:
        session.execute(text("SELECT count(*) FROM daily_send_counts")).scalar_one()
        inserted = insert_new(session, DailySendCount.__table__, [{"day": date(2025, 11, 17), "sent": 1}],
                              unique=("day",), returning="day")  # fmt: skip
        assert len(inserted) == 1
        1 / 0  # noqa: B018
    with unit_of_work(settings, readonly=True) as session:
        assert session.execute(text("SELECT count(*) FROM daily_send_counts")).scalar_one() == 0


@pytest.mark.postgres
def test_postgresql_prepares_the_statements_read_only_units_repeat(pg_settings: Settings) -> None:
    """psycopg prepares a statement after its connection ran it five times; a ROLLBACK made it forget
    them all, and every unit of work began with one (after reading the stored settings)."""
    from sqlalchemy import text

    settings = pg_settings
    for _ in range(8):
        with unit_of_work(settings, readonly=True) as session:
            session.execute(text("SELECT count(*) FROM daily_send_counts WHERE sent = :sent"), {"sent": 1}).scalar_one()
    with unit_of_work(settings, readonly=True) as session:
        prepared = session.execute(
            text(
                "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%FROM daily_send_counts WHERE sent%'"
            )
        ).scalar_one()
    assert prepared == 1


def test_a_read_only_unit_reads_one_snapshot_and_a_writing_unit_sees_what_others_committed(settings: Settings) -> None:
    """Every figure of a report counts the same moment: a read-only unit does not see what another
    unit commits while it runs (SQLite's read transaction; PostgreSQL's REPEATABLE READ, begun with
    the unit, its settings read included), and a writing unit reads what others committed."""
    from datetime import date

    from sqlalchemy import text

    from leadline.emails.models import DailySendCount

    def add(day: int) -> None:
        with unit_of_work(settings) as writer:
            writer.add(DailySendCount(day=date(2025, 11, day), sent=1))

    counted = "SELECT count(*) FROM daily_send_counts"
    with unit_of_work(settings, readonly=True) as session:
        assert session.execute(text(counted)).scalar_one() == 0
        add(17)
        assert session.execute(text(counted)).scalar_one() == 0
    with unit_of_work(settings) as session:
        assert session.execute(text(counted)).scalar_one() == 1
        if settings.database_url.startswith("postgresql"):  # (a SQLite writer holds the lock: none commits beside it)
            add(18)
            assert session.execute(text(counted)).scalar_one() == 2


@pytest.mark.postgres
def test_postgresql_read_only_units_are_one_snapshot_without_jit(pg_settings: Settings) -> None:
    from sqlalchemy import text

    with unit_of_work(pg_settings, readonly=True) as session:
        assert session.execute(text("SHOW transaction_isolation")).scalar_one() == "repeatable read"
        assert session.execute(text("SHOW jit")).scalar_one() == "off"
    with unit_of_work(pg_settings) as session:
        assert session.execute(text("SHOW transaction_isolation")).scalar_one() == "read committed"
        assert session.execute(text("SHOW jit")).scalar_one() == "off"


@pytest.mark.postgres
def test_the_dashboard_keeps_one_plan_per_statement_for_its_transaction_only(pg_settings: Settings) -> None:
    from sqlalchemy import text

    from leadline.analytics.service import common
    from leadline.analytics.service import dashboard as figures

    settings = pg_settings
    with unit_of_work(settings, readonly=True) as session:
        figures.dashboard(session, common.resolve_week("last", settings), settings=settings)
        assert session.execute(text("SHOW plan_cache_mode")).scalar_one() == "force_generic_plan"
    with unit_of_work(settings, readonly=True) as session:
        assert session.execute(text("SHOW plan_cache_mode")).scalar_one() == "auto"


@pytest.mark.postgres
def test_the_dashboards_totals_are_read_by_index_in_its_generic_plans(pg_settings: Settings) -> None:
    """Once autovacuum has analysed ``analytics_totals``, most of whose rows are the cards' scores, a
    generic plan that guessed each figure's rows from the table's average read all of it; the
    figures are in the statement's text, so the plan finds the few rows of the figures it sums."""
    from sqlalchemy import text

    from leadline.analytics import totals
    from leadline.analytics.service import common

    columns = "figure, start_day, event_day, template, sender, tier, trade, band, n, amount"
    with unit_of_work(pg_settings) as session:
        session.execute(
            text(
                f"INSERT INTO analytics_totals ({columns}) SELECT 'cards.score', 740000 + g % 7,"
                " 740000 + g % 7, 'prospect' || g, '', 0, '', '', 1, 0 FROM generate_series(1, 30000) g"
            )
        )
        session.execute(text(f"INSERT INTO analytics_totals ({columns}) SELECT 'prospects', 0, 740000 + g,"
                             " '', '', g % 3 + 1, '', '', 1, 0 FROM generate_series(1, 50) g"))  # fmt: skip
    with unit_of_work(pg_settings) as session:
        session.execute(text("ANALYZE analytics_totals"))
    funnel = totals._sums_statement(((("prospects", "new", "reached.contacted"), False, False, ("tier",)),))
    with unit_of_work(pg_settings, readonly=True) as session:
        common.plan_once(session)
        session.execute(text(f"PREPARE funnel_sums(int) AS {funnel.text.replace(':before_0', '$1')}"))
        plan = "\n".join(session.execute(text("EXPLAIN EXECUTE funnel_sums(800000)")).scalars())
        found = totals.sums(session, ["prospects", "new", "reached.contacted"], before=800000, by=["tier"])
    assert "Seq Scan" not in plan and "analytics_totals" in plan, plan
    assert sum(n for n, _ in found.values()) == 50 and {tier for _, tier in found} == {1, 2, 3}


def test_sqlite_writers_of_one_process_take_the_write_lock_in_the_order_they_asked(sqlite_settings: Settings) -> None:
    """A writer that finds the lock taken waits its turn and gets it at the COMMIT before it, in the
    order the writers asked (db.WriterTurns), not when SQLite's busy handler next wakes it up."""
    import threading
    import time

    from sqlalchemy import text

    from leadline.db import get_engine, writer_turns

    engine = get_engine(sqlite_settings)
    turns = writer_turns(engine.url.database or "")
    began: list[tuple[str, float]] = []

    def write(name: str) -> None:
        with unit_of_work(sqlite_settings) as session:
            began.append((name, time.perf_counter()))
            session.execute(text("INSERT INTO daily_send_counts (day, sent) VALUES (:day, 1)"),
                            {"day": f"2025-11-{10 + len(began)}"})  # fmt: skip

    def waiting() -> int:
        return len(turns._waiting)

    with unit_of_work(sqlite_settings) as first:
        first.execute(text("INSERT INTO daily_send_counts (day, sent) VALUES ('2025-11-01', 1)"))
        threads = []
        for name in "BCD":
            thread = threading.Thread(target=write, args=(name,))
            thread.start()
            threads.append(thread)
            deadline = time.monotonic() + 10
            while waiting() < len(threads):  # each one in line before the next asks
                assert time.monotonic() < deadline, "the writer did not wait for its turn"
                time.sleep(0.005)
        time.sleep(0.23)  # SQLite's busy handler would now sleep until about 0.33 s
        committed = time.perf_counter()
    for thread in threads:
        thread.join(timeout=30)
    assert [name for name, _ in began] == ["B", "C", "D"]
    assert began[0][1] - committed < 0.05, "the next writer began late: woken by a timer, not handed the turn"
    assert waiting() == 0 and turns.holder is None
    with unit_of_work(sqlite_settings, readonly=True) as session:
        assert session.execute(text("SELECT count(*) FROM daily_send_counts")).scalar_one() == 4


def test_a_sqlite_writer_beside_two_busy_ones_waits_at_most_their_turns(sqlite_settings: Settings) -> None:
    """Two threads write back to back (an ingest); a third writes now and then (an API token's "last
    used", a settings change): each of its writes waits at most about one turn of each of the others."""
    import threading
    import time

    from sqlalchemy import text

    hold = 0.03
    stop = threading.Event()
    turns_taken = {"busy": 0}

    def busy() -> None:
        while not stop.is_set():
            with unit_of_work(sqlite_settings) as session:
                session.execute(text("UPDATE daily_send_counts SET sent = sent + 1 WHERE day = '2025-11-01'"))
                time.sleep(hold)  # work inside the transaction
            turns_taken["busy"] += 1

    with unit_of_work(sqlite_settings) as session:
        session.execute(text("INSERT INTO daily_send_counts (day, sent) VALUES ('2025-11-01', 0)"))
    workers = [threading.Thread(target=busy) for _ in range(2)]
    for worker in workers:
        worker.start()
    waits = []
    try:
        time.sleep(0.2)
        for _ in range(10):
            start = time.perf_counter()
            with unit_of_work(sqlite_settings) as session:
                waits.append(time.perf_counter() - start)
                session.execute(text("INSERT OR REPLACE INTO daily_send_counts (day, sent) VALUES ('2025-11-02', 1)"))
            time.sleep(0.05)
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=30)
    assert turns_taken["busy"] > 20, "the busy writers did not keep the lock busy"
    # Two turns of 30 ms at most, with room for a loaded machine; SQLite's busy handler alone let
    # such a writer wait several hundred milliseconds.
    assert max(waits) < 0.25, [round(w * 1000) for w in waits]


def test_a_sqlite_writer_gets_the_lock_another_process_frees_within_milliseconds(sqlite_settings: Settings) -> None:
    """A writer waiting for a write lock held elsewhere (here a bare sqlite3 connection, as another
    process holds it) takes it within a few milliseconds of its release. SQLite's own busy handler
    sleeps 1, 2, 5 ... then 100 ms between tries: released 350 ms into the wait, the lock was taken
    at its try of 428 ms, and a writer beside an import's short transactions kept missing the gaps."""
    import sqlite3
    import threading
    import time

    from sqlalchemy import text

    from leadline.db import get_engine

    holder = sqlite3.connect(get_engine(sqlite_settings).url.database or "", isolation_level=None,
                             check_same_thread=False)  # fmt: skip
    holder.execute("PRAGMA journal_mode = WAL")
    late = []
    for _ in range(3):
        holder.execute("BEGIN IMMEDIATE")
        released: list[float] = []

        def release(released: list[float] = released) -> None:
            time.sleep(0.35)
            released.append(time.perf_counter())
            holder.execute("ROLLBACK")

        freeing = threading.Thread(target=release)
        freeing.start()
        with unit_of_work(sqlite_settings) as session:
            took = time.perf_counter()
            session.execute(text("SELECT 1"))
        freeing.join()
        late.append(took - released[0])
    holder.close()
    assert max(late) < 0.06, late  # (SQLite's handler: 78 ms at the least; a loaded machine's sleeps overshoot)


def test_a_forked_child_does_not_inherit_a_writers_turn(tmp_path: Path) -> None:
    """The thread that held the turn is not in the child: the child's writers start with none taken."""
    import os

    from leadline.db import writer_turns

    turns = writer_turns(str(tmp_path / "forked.db"))
    turns.take("the parent's connection")
    try:
        child = os.fork()
        if child == 0:
            os._exit(0 if turns.holder is None and not turns._taken else 1)
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert turns.holder == "the parent's connection"
    finally:
        turns.give_back("the parent's connection")
    assert turns.holder is None and not turns._taken


def test_a_writer_interrupted_while_in_line_leaves_no_turn_behind(tmp_path: Path) -> None:
    """A signal that interrupts a writer waiting in line (Ctrl-C, say) must not leave the turn handed
    to nobody: the next writer would wait the whole timeout."""
    import os
    import signal
    import threading
    import time

    from leadline.db import writer_turns

    turns = writer_turns(str(tmp_path / "interrupted.db"))
    holding, release = threading.Event(), threading.Event()

    def first() -> None:
        turns.take("first")
        holding.set()
        release.wait(10)
        turns.give_back("first")

    class Interrupted(Exception):
        pass

    def interrupt(*_: object) -> None:
        raise Interrupted

    holder = threading.Thread(target=first)
    holder.start()
    assert holding.wait(10)
    before = signal.signal(signal.SIGUSR1, interrupt)
    timer = threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGUSR1))
    timer.start()
    try:
        with pytest.raises(Interrupted):
            turns.take("second", timeout=5)
    finally:
        timer.cancel()
        signal.signal(signal.SIGUSR1, before)
        release.set()
        holder.join(10)
    started = time.monotonic()
    turns.take("third", timeout=5)
    assert time.monotonic() - started < 1 and turns.holder == "third"
    turns.give_back("third")
    assert turns.holder is None and not turns._taken and not turns._waiting
