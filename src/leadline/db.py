"""Database plumbing: the declarative base, column types, engines and the unit of work.

Rules (see docs/architecture.md):

* services never commit; the shell that opened :func:`unit_of_work` owns the transaction;
* on SQLite every write transaction starts with ``BEGIN IMMEDIATE`` so that two processes
  writing at once wait for the write lock (:func:`_begin_immediate`) instead of failing with
  "database is locked";
* times are stored in UTC and always come back timezone-aware.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from operator import itemgetter
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, Engine, Index, MetaData, Table, create_engine, event, text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

from leadline.config import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A point in time. Stored as UTC (naive on SQLite, timestamptz on PostgreSQL); read back aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: Leadline stores aware UTC times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class PortableJSON(TypeDecorator[Any]):
    """JSON: ``JSONB`` on PostgreSQL, ``JSON`` elsewhere. The PostgreSQL dialect package (asyncpg's
    dialect and all) is imported on PostgreSQL only, when this type is first compiled there: a
    SQLite process never loads it (``JSON().with_variant(JSONB(), ...)`` imported it everywhere)."""

    impl = JSON
    cache_ok = True
    hashable = False  # as JSON's own flags: values are dicts and lists; None is stored as JSON null
    should_evaluate_none = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())

    def coerce_compared_value(self, op: Any, value: Any) -> Any:
        """``details["key"]`` compares as JSON's own index does (a key is text, not a JSON document)."""
        return self.impl_instance.coerce_compared_value(op, value)


JSONType = PortableJSON()


class PartialIndex(Index):
    """An index of the rows where ``where`` (SQL) holds, on SQLite and PostgreSQL alike.

    ``Index(..., postgresql_where=...)`` checks its PostgreSQL option when it is made, which imports
    the PostgreSQL dialect package in every process (a SQLite CLI command too); this index gives that
    option when PostgreSQL's DDL, or Alembic on PostgreSQL, first asks for it."""

    def __init__(self, name: str, *expressions: Any, where: str, **kw: Any) -> None:
        self.where = where
        super().__init__(name, *expressions, sqlite_where=text(where), **kw)

    def _kw_reg_for_dialect_cls(self, dialect_name: str) -> Any:  # type: ignore[override]
        options = super()._kw_reg_for_dialect_cls(dialect_name)
        if dialect_name == "postgresql":
            options["where"] = text(self.where)
        return options


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSONType,
        list[str]: JSONType,
        list[dict[str, Any]]: JSONType,
    }


def compared(name: str | None, kind: str, parents: Any) -> bool:
    """What Alembic compares with the models: all but the search index (``search_*``: SQLite's FTS5
    tables and their map, PostgreSQL's trigram indexes and the prospects' stored search text), made
    by migrations 0018 and 0042 and kept by the database, outside the ORM."""
    return not (kind in ("table", "index", "column") and name is not None and name.startswith("search_"))


def import_all_models() -> None:
    """Import every domain's models so that ``Base.metadata`` knows every table."""
    import leadline.models  # noqa: F401


# --- engines -------------------------------------------------------------------------------

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


SQLITE_CACHE_KIB = 8000  # page cache per connection
SQLITE_STATEMENTS = 32  # prepared statements kept per connection (Python's default: 128)
SQLITE_MAX_VARIABLES = 32_766  # values one statement may bind (SQLite's limit since 3.32)
#: Rows of one INSERT statement in :func:`bulk_insert` on SQLite: enough that a full-text index
#: fed by trigger writes a segment per few hundred rows, few enough that the statement stays small
#: (a prepared statement of 1,000 rows of prospects cost the import 24 MB more at its peak).
SQLITE_ROWS_PER_INSERT = 250


#: Rows of each index that SQLite's ANALYZE reads: all of them up to a few tens of thousands of
#: prospects, a bounded sample beyond (a fraction of a second at a million). SQLite's own suggestion
#: of 400 to 1000 misleads the planner here: an index's first thousand entries share one stage, and
#: the planner then sorts 800,000 "contacted" prospects instead of walking the created index.
SQLITE_ANALYSIS_LIMIT = 50_000


def refresh_statistics(connection: Any, tables: tuple[str, ...] = ()) -> None:
    """Bring the query planner's statistics up to date for ``tables`` (every table when none are
    named), so that it picks the index a list's filter and sort need: run after migrations and after
    an import. PostgreSQL's autovacuum also does this by itself, later."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(f"PRAGMA analysis_limit = {SQLITE_ANALYSIS_LIMIT}")
    for statement in [f"ANALYZE {table}" for table in tables] or ["ANALYZE"]:
        connection.exec_driver_sql(statement)


SQLITE_BUSY_SECONDS = 30  # how long a writer waits for the database's write lock
SQLITE_RETRY_SECONDS = 0.004  # at most this long between two tries for a write lock another process holds


class WriterTurns:
    """One SQLite file's writers in this process, given the write lock one at a time, first come first
    served.

    Without it, a writer that finds the lock taken tries again now and then (SQLite's busy handler woke
    after 1, 2, 5, 10, ... then every 100 ms; :func:`take_write_lock` every few ms) and takes it only if
    it is free then: two threads ingesting webhooks left it idle between their transactions, and a third
    (an API token's "last used" once a minute, a settings change) could be passed over for seconds.
    Here a writer waits its turn on a lock that is handed straight to the next in line at COMMIT or
    ROLLBACK. Other processes' writers still try for the lock (:func:`take_write_lock`). A thread that
    already writes on another connection of the same file is not queued behind itself: SQLite's lock
    decides for it, as before."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiting: deque[threading.Lock] = deque()
        self._taken = False
        self.holder: Any = None  # the driver connection whose transaction has the turn
        self._thread: int | None = None

    def take(self, dbapi_connection: Any, timeout: float = SQLITE_BUSY_SECONDS) -> None:
        """Wait for the turn of ``dbapi_connection``, which is about to BEGIN IMMEDIATE. After
        ``timeout`` it goes on without the turn (SQLite's busy wait then decides)."""
        if self._thread == threading.get_ident():
            return
        with self._mutex:
            if not self._taken:
                self._taken = True
                waiter = None
            else:
                waiter = threading.Lock()
                waiter.acquire()
                self._waiting.append(waiter)
        if waiter is not None:
            try:
                handed = waiter.acquire(timeout=timeout)
            except BaseException:  # interrupted in line (a signal): no turn may stay with nobody
                if not self._leave_line(waiter):
                    self._pass_on()
                raise
            if not handed and self._leave_line(waiter):
                return  # go on without the turn
        self.holder, self._thread = dbapi_connection, threading.get_ident()

    def give_back(self, dbapi_connection: Any) -> None:
        """``dbapi_connection``'s transaction ended: the next writer in line (if any) has the turn."""
        if dbapi_connection is None or self.holder is not dbapi_connection:
            return
        self.holder = self._thread = None
        self._pass_on()

    def _leave_line(self, waiter: threading.Lock) -> bool:
        """Out of the line; False if ``waiter`` was handed the turn meanwhile (and so holds it)."""
        with self._mutex:
            if waiter in self._waiting:
                self._waiting.remove(waiter)
                return True
            return False

    def _pass_on(self) -> None:
        with self._mutex:
            if self._waiting:
                self._waiting.popleft().release()  # handed over: the turn stays taken
            else:
                self._taken = False


_writer_turns: dict[str, WriterTurns] = {}
_writer_turns_lock = threading.Lock()


def _forget_turns_in_child() -> None:
    """A forked child has none of its parent's threads: a turn one of them held would never come back."""
    global _writer_turns_lock
    _writer_turns_lock = threading.Lock()
    for turns in _writer_turns.values():  # the engines the child inherited keep theirs
        turns.__init__()  # type: ignore[misc]


os.register_at_fork(after_in_child=_forget_turns_in_child)


def writer_turns(database: str) -> WriterTurns:
    """The turns of the SQLite file ``database`` (one for every engine of that file in this process)."""
    key = str(Path(database).resolve())
    with _writer_turns_lock:
        return _writer_turns.setdefault(key, WriterTurns())


def _sqlite_setup(engine: Engine, turns: WriterTurns | None) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_SECONDS * 1000}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        # A bounded page cache per connection (8 MB): a process's memory stays flat however big the
        # database or an import grows (the pages beyond it come from the OS's file cache).
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        if turns is None or mode != "IMMEDIATE":
            connection.exec_driver_sql(f"BEGIN {mode}")
            return
        dbapi_connection = connection.connection.dbapi_connection
        turns.take(dbapi_connection)
        try:
            _begin_immediate(connection, dbapi_connection)
        except BaseException:
            turns.give_back(dbapi_connection)
            raise

    if turns is not None:
        _give_back_at_the_end(engine.dialect, turns)


def _begin_immediate(connection: Any, dbapi_connection: Any) -> None:
    """BEGIN IMMEDIATE on an engine's connection, waiting for the write lock up to
    :data:`SQLITE_BUSY_SECONDS` (:func:`take_write_lock`); then "database is locked", as SQLAlchemy says it."""
    dbapi_connection.execute("PRAGMA busy_timeout = 0")
    try:
        try:
            taken = take_write_lock(dbapi_connection, SQLITE_BUSY_SECONDS)
        except sqlite3.Error:  # not the lock (a read-only file, a full disk): said below, as SQLAlchemy says it
            taken = False
        if not taken:
            connection.exec_driver_sql("BEGIN IMMEDIATE")  # a last try, whose error the callers know (503)
    finally:
        dbapi_connection.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_SECONDS * 1000}")


def take_write_lock(dbapi_connection: sqlite3.Connection, seconds: float) -> bool:
    """BEGIN IMMEDIATE on a SQLite driver connection whose busy timeout is zero; while another connection
    (another process) holds the write lock, try again every few milliseconds (at most
    :data:`SQLITE_RETRY_SECONDS` apart). False if the lock was still taken after ``seconds``.

    SQLite's own busy handler sleeps longer and longer between its tries (1, 2, 5, 10 ... then 100 ms)
    and takes the lock only if it is free when it wakes: beside a process writing in short
    transactions (an import's, the webhooks'), a writer woke up to 100 ms after the lock was freed,
    so each of those transactions had to leave it free that long. A try that finds the lock taken
    costs a few microseconds."""
    deadline = time.monotonic() + seconds
    pause = 0.0005
    while True:
        try:
            dbapi_connection.execute("BEGIN IMMEDIATE")
            return True
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:  # (extended codes: SQLITE_BUSY_RECOVERY...)
                raise
        if time.monotonic() >= deadline:
            return False
        time.sleep(pause)
        pause = min(pause * 2, SQLITE_RETRY_SECONDS)


def _give_back_at_the_end(dialect: Dialect, turns: WriterTurns) -> None:
    """The writer's turn ends with its transaction: after COMMIT, ROLLBACK, or a closed connection."""
    ends = {"do_commit": dialect.do_commit, "do_rollback": dialect.do_rollback, "do_close": dialect.do_close}

    def ending(end: Callable[[Any], None]) -> Callable[[Any], None]:
        def end_then_give_back(connection: Any) -> None:
            try:
                end(connection)
            finally:  # the pool's reset passes its proxy of the driver connection
                turns.give_back(getattr(connection, "dbapi_connection", connection))

        return end_then_give_back

    for name, end in ends.items():
        setattr(dialect, name, ending(end))


def _private_sqlite_file(engine: Engine, path: Path) -> None:
    """The file's folder now (0700 if new), the file itself 0600 just before SQLite would create it."""
    from leadline.config import create_private, private_folder

    private_folder(path.parent)

    @event.listens_for(engine, "do_connect")
    def _create(*_: Any) -> None:
        create_private(path)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """A new engine for ``url`` with Leadline's settings for its dialect.

    Statements that fail are logged and raised without their parameters (``hide_parameters``):
    they can hold passwords' digests, tokens' digests, e-mail addresses and message bodies.
    A SQLite file Leadline creates is readable by its owner only (0600, and so are its -wal and -shm).
    """
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        database = make_url(url).database or ""
        # A bounded statement cache too: each length of an IN (...) list is its own prepared statement
        # (SQLite keeps each with its parameters), and 128 of them grew an import by ~10 MB.
        connect_args = {"timeout": 30, "check_same_thread": False, "cached_statements": SQLITE_STATEMENTS}
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        on_file = database not in ("", ":memory:") and not database.startswith("file:")
        if on_file:
            _private_sqlite_file(engine, Path(database))
        _sqlite_setup(engine, writer_turns(database) if on_file else None)
        return engine
    options: dict[str, Any] = {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}
    options.update(kwargs)
    if options.get("poolclass") is NullPool:
        for key in ("pool_size", "max_overflow"):
            options.pop(key, None)
    engine = create_engine(url, **options)
    if engine.dialect.name == "postgresql":
        _postgresql_setup(engine)
    return engine


#: Statements that read (or set something for the transaction only): a transaction of only these ends
#: the same by COMMIT as by ROLLBACK. Anything else (a write, a savepoint, a session-level SET) is a write.
_READS = ("SELECT", "SET LOCAL", "SHOW")
#: The driver connections whose open transaction ran something other than :data:`_READS`.
_wrote: weakref.WeakSet[Any] = weakref.WeakSet()


def _postgresql_setup(engine: Engine) -> None:
    """No JIT; and end a transaction that only read with COMMIT, not ROLLBACK: the same end, but psycopg forgets
    its prepared statements on every ROLLBACK (and its counts towards preparing one). Every unit of
    work's settings read, and every read-only unit, ended that way: no statement was ever prepared,
    and PostgreSQL parsed and planned each again on every request. psycopg prepares a statement its
    connection has run ``prepare_threshold`` (5) times; PostgreSQL may then keep one plan for it."""

    @event.listens_for(engine, "connect")
    def _no_jit(dbapi_connection: Any, _record: Any) -> None:
        # No JIT compilation: PostgreSQL compiles any statement its planner thinks costly (a million rows
        # are), which cost the reports several times the milliseconds their queries take. Once for each
        # new connection, not a statement in every unit of work.
        dbapi_connection.autocommit = True
        dbapi_connection.execute("SET jit = off")
        dbapi_connection.autocommit = False

    @event.listens_for(engine, "before_cursor_execute")
    def _note_writes(connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.lstrip()[:9].upper().startswith(_READS):
            _wrote.add(connection.connection.dbapi_connection)

    dialect = engine.dialect
    rollback, commit = dialect.do_rollback, dialect.do_commit

    def do_rollback(connection: Any) -> None:
        raw = getattr(connection, "dbapi_connection", connection)
        if raw is None or raw in _wrote or raw.info.transaction_status != _INTRANS:
            _wrote.discard(raw)
            rollback(connection)  # a write to undo, or an aborted transaction
        else:
            commit(connection)  # only reads: nothing to undo

    def do_commit(connection: Any) -> None:
        _wrote.discard(getattr(connection, "dbapi_connection", connection))
        commit(connection)

    dialect.do_rollback = do_rollback  # type: ignore[method-assign,assignment]
    dialect.do_commit = do_commit  # type: ignore[method-assign,assignment]


_INTRANS = 2  # psycopg.pq.TransactionStatus.INTRANS: in a transaction, its statements so far succeeded


def get_engine(settings: Settings) -> Engine:
    """The shared engine for ``settings``' database (one per URL per process)."""
    url = settings.database_url
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = make_engine(url)
        return engine


def dispose_engines() -> None:
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _sessionmakers.clear()


_sessionmakers: dict[tuple[str, bool], sessionmaker[Session]] = {}


def get_sessionmaker(settings: Settings, *, readonly: bool = False) -> sessionmaker[Session]:
    key = (settings.database_url, readonly)
    maker = _sessionmakers.get(key)
    if maker is None:
        # Every table known before the first session that writes: a command that imports one domain's
        # models must still flush rows whose foreign keys name another domain's tables. A read-only
        # unit never flushes: it needs only the models its queries name (a quicker CLI start).
        if not readonly:
            import_all_models()
        engine = get_engine(settings)
        if readonly and engine.dialect.name == "sqlite":
            engine = engine.execution_options(sqlite_begin="DEFERRED")
        elif readonly:
            # One snapshot for the whole unit, as SQLite's read transaction is: every figure and the
            # list it counts agree. The level goes out with psycopg's BEGIN (no round trip of its own).
            engine = engine.execution_options(isolation_level="REPEATABLE READ")
        maker = _sessionmakers[key] = sessionmaker(bind=engine, expire_on_commit=False)
    return maker


@contextmanager
def unit_of_work(settings: Settings, *, readonly: bool = False) -> Iterator[Session]:
    """One transaction. Commits when the block ends, rolls back on any exception.

    Callbacks registered with :func:`after_commit` run only once the commit succeeded
    (this is how jobs are queued: never for work that was rolled back).

    A ``readonly`` unit reads one snapshot of the database, on both engines (SQLite's deferred read
    transaction; PostgreSQL's REPEATABLE READ): the reports' figures all count the same moment.

    ``settings`` are kept in the session for the services (:func:`settings_of`): every shell
    passes its own (the app's, the worker's, a CLI command's ``cli_settings()``).
    """
    with get_sessionmaker(settings, readonly=readonly)() as session:
        session.info["settings"] = settings
        session.info["readonly"] = readonly
        try:
            _refresh_stored_settings(session, settings)
            yield session
            committed = False
            if session.info.get("rollback_only"):
                session.rollback()
            elif not readonly:
                session.commit()
                committed = True
            # A read-only unit ends when the session closes: the transaction is released
            # and loaded objects stay readable (a rollback would expire them).
        except BaseException:
            session.rollback()
            raise
    callbacks: list[Callable[[], None]] = session.info.pop("after_commit", [])
    if not committed:
        return  # a dry run or a read-only unit (which refuses after-commit work) never commits
    for callback in callbacks:
        callback()


def _refresh_stored_settings(session: Session, settings: Settings) -> None:
    """Lay the settings an admin keeps in the database over ``settings`` (every process, every unit)."""
    from leadline.storedsettings.service import refresh

    refresh(session, settings)


def settings_of(session: Session) -> Settings:
    """The settings of the unit of work that owns ``session`` (services read these, never a global)."""
    settings = session.info.get("settings")
    if not isinstance(settings, Settings):
        raise RuntimeError("this session was not opened by unit_of_work(): it carries no settings")
    return settings


def rollback_only(session: Session) -> None:
    """Make the unit of work that owns ``session`` roll back instead of committing (dry runs)."""
    session.info["rollback_only"] = True


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` after the unit of work that owns ``session`` has committed.

    A read-only unit of work never commits: asking it for after-commit work is a bug, refused here.
    """
    if session.info.get("readonly"):
        raise RuntimeError("a read-only unit of work never commits: it cannot run after-commit work")
    session.info.setdefault("after_commit", []).append(callback)


@event.listens_for(Session, "after_rollback")
def _drop_callbacks(session: Session) -> None:
    session.info.pop("after_commit", None)


def bulk_insert(session: Session, table: Table, rows: list[dict[str, Any]], *, or_ignore: bool = False) -> None:
    """INSERT many rows with one driver-level executemany.

    For imports of hundreds of thousands of rows. SQLAlchemy's per-value type processing
    costs more than the insert itself there, so the values are turned into what the
    driver wants once per column kind: UTC times as SQLAlchemy stores them, JSON, booleans.
    Every row must have the same keys. ``or_ignore`` (SQLite only) skips rows that break
    a unique constraint.
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect.name
    # Columns that are NULL in every row are left out: fewer values to bind per row.
    names = [name for name in rows[0] if not (table.c[name].nullable and all(row[name] is None for row in rows))]
    marks = ", ".join(["?" if dialect == "sqlite" else "%s"] * len(names))
    verb = "INSERT OR IGNORE" if or_ignore and dialect == "sqlite" else "INSERT"
    sql = f"{verb} INTO {table.name} ({', '.join(names)}) VALUES ({marks})"
    convert = [
        (index, converter)
        for index, name in enumerate(names)
        if (converter := _driver_value(table.c[name].type, dialect)) is not None
    ]
    getter = itemgetter(*names)
    params = []
    for row in rows:
        values = list(getter(row))
        for index, converter in convert:
            value = values[index]
            if value is not None:
                values[index] = converter(value)
        params.append(tuple(values))
    if dialect != "sqlite":
        connection.exec_driver_sql(sql, params)
        return
    # SQLite: many rows per statement. A table whose rows feed a full-text index by trigger
    # (prospects, emails, calls, customers) runs each statement in a statement transaction, and
    # FTS5 writes its pending terms out as a new segment at each one: row by row, every insert
    # added a segment and the merges behind it, and a 1,000,000-row import fell to about 100 rows
    # a second as the index grew. One statement per chunk writes one segment per chunk.
    per_statement = max(1, min(SQLITE_ROWS_PER_INSERT, SQLITE_MAX_VARIABLES // len(names)))
    for start in range(0, len(params), per_statement):
        chunk = params[start : start + per_statement]
        statement = f"{verb} INTO {table.name} ({', '.join(names)}) VALUES " + ", ".join([f"({marks})"] * len(chunk))
        connection.exec_driver_sql(statement, tuple(value for values in chunk for value in values))


def insert_new(
    session: Session, table: Table, rows: list[dict[str, Any]], *, unique: tuple[str, ...], returning: str = "id"
) -> list[Any]:
    """INSERT many rows, skipping each that conflicts on the ``unique`` columns (``ON CONFLICT
    (...) DO NOTHING``); returns the ``returning`` column of the rows inserted. As
    :func:`bulk_insert` (values converted once per column kind, every row with the same keys): on
    SQLite in multi-row INSERTs, on PostgreSQL in one pipeline. Rows are inserted in the order given."""
    if not rows:
        return []
    connection = session.connection()
    dialect = connection.dialect
    names = [name for name in rows[0] if not (table.c[name].nullable and all(row[name] is None for row in rows))]
    converters = [(index, _driver_value(table.c[name].type, dialect.name)) for index, name in enumerate(names)]
    convert = [(index, converter) for index, converter in converters if converter is not None]
    params = _driver_rows(rows, names, convert)
    tail = f"ON CONFLICT ({', '.join(unique)}) DO NOTHING RETURNING {returning}"
    if dialect.name == "postgresql":
        return _insert_new_postgres(connection, table, names, params, tail)
    marks = "(" + ", ".join(["?"] * len(names)) + ")"
    per_statement = max(1, min(SQLITE_ROWS_PER_INSERT, SQLITE_MAX_VARIABLES // len(names)))
    found: list[Any] = []
    for start in range(0, len(params), per_statement):
        chunk = params[start : start + per_statement]
        statement = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES {', '.join([marks] * len(chunk))} {tail}"
        found += [value for (value,) in connection.exec_driver_sql(statement, tuple(v for row in chunk for v in row))]
    return found


def _driver_rows(
    rows: list[dict[str, Any]], names: list[str], convert: list[tuple[int, Callable[[Any], Any]]]
) -> list[list[Any]]:
    """Each row's ``names`` values, those at ``convert``'s indexes turned into the driver's values."""
    getter = itemgetter(*names)
    params = []
    for row in rows:
        values = list(getter(row)) if len(names) > 1 else [row[names[0]]]
        for index, converter in convert:
            value = values[index]
            if value is not None:
                values[index] = converter(value)
        params.append(values)
    return params


def _insert_new_postgres(connection: Any, table: Table, names: list[str], params: list[Any], tail: str) -> list[Any]:
    """:func:`insert_new` on PostgreSQL: psycopg's ``executemany`` with ``returning=True``, every row
    sent in one pipeline (one round trip; faster here than one ``unnest`` or multi-row statement).
    The driver's errors are raised as SQLAlchemy's, as any statement's are (:func:`is_unavailable`)."""
    from sqlalchemy.exc import DBAPIError

    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))}) {tail}"
    found: list[Any] = []
    _wrote.add(connection.connection.dbapi_connection)  # past SQLAlchemy's events: a rollback must roll back
    cursor = connection.connection.cursor()
    try:
        cursor.executemany(sql, params, returning=True)
        while True:
            found += [value for (value,) in cursor.fetchall()]
            if not cursor.nextset():
                break
    except connection.dialect.loaded_dbapi.Error as error:
        raise DBAPIError.instance(sql, None, error, connection.dialect.loaded_dbapi.Error, hide_parameters=True,
                                  dialect=connection.dialect) from error  # fmt: skip
    finally:
        cursor.close()
    return found


def read_by_keys(
    session: Session, table: Table, names: tuple[str, ...] | list[str], keys: list[Any], *, key: str = "id",
    lock: bool = False,
) -> list[tuple[Any, ...]]:  # fmt: skip
    """The ``names`` columns of the rows whose ``key`` (a column, or the code's own expression of one:
    ``lower(name)``) is one of ``keys``, in ``key`` order (``lock``:
    locked for the rest of the transaction on PostgreSQL, in that order; SQLite's write transaction
    holds the whole file). The read companion of :func:`bulk_update` for the hot paths: one
    driver-level statement per 500 keys, values turned into what SQLAlchemy would give (aware UTC
    times, booleans, JSON) once per column kind, not through per-value type processing."""
    session.flush()  # what the session holds is read as it will be stored
    connection = session.connection()
    dialect = connection.dialect.name
    readers = [(index, reader) for index, name in enumerate(names) if (reader := _python_value(table.c[name].type,
               dialect)) is not None]  # fmt: skip
    columns = ", ".join(names)
    found: list[tuple[Any, ...]] = []
    ordered = sorted(set(keys))
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        if dialect == "postgresql":
            sql = f"SELECT {columns} FROM {table.name} WHERE {key} = ANY(%s) ORDER BY {key}"
            result = connection.exec_driver_sql(sql + (" FOR UPDATE" if lock else ""), (chunk,))
        else:
            marks = ", ".join(["?"] * len(chunk))
            result = connection.exec_driver_sql(
                f"SELECT {columns} FROM {table.name} WHERE {key} IN ({marks}) ORDER BY {key}", tuple(chunk)
            )
        for row in result:
            values = list(row)
            for index, reader in readers:
                value = values[index]
                if value is not None:
                    values[index] = reader(value)
            found.append(tuple(values))
    return found


def _python_value(kind: Any, dialect: str) -> Callable[[Any], Any] | None:
    """What turns a driver's value of a column of ``kind`` into SQLAlchemy's (:func:`read_by_keys`)."""
    import json

    if isinstance(kind, UTCDateTime):
        if dialect == "sqlite":
            return lambda v: datetime.fromisoformat(v).replace(tzinfo=UTC)
        return lambda v: v.astimezone(UTC)
    if isinstance(kind, JSON) or getattr(kind, "_type_affinity", None) is JSON:
        return json.loads if dialect == "sqlite" else None
    try:
        python_type = kind.python_type
    except NotImplementedError:
        return None
    return bool if dialect == "sqlite" and python_type is bool else None


def bulk_update(
    session: Session,
    table: Table,
    rows: list[dict[str, Any]],
    *,
    key: str = "id",
    only_changed: tuple[str, ...] = (),
    also: dict[str, Any] | None = None,
) -> None:
    """UPDATE many rows, each by its ``key``, with one driver-level executemany.

    The companion of :func:`bulk_insert` for the hot paths (webhook events applied by the
    thousand): values are turned into what the driver wants once per column kind, with no
    per-row statement processing. Every row has the same keys: ``key`` and the columns it sets.
    ``also``: the same value for every row (``updated_at``). ``only_changed``: a row is written only
    when one of these columns differs from its value (null-safe), so unchanged rows are not touched.
    Pending ORM changes are flushed first, so this write is the last word on what it sets."""
    if not rows:
        return
    session.flush()
    connection = session.connection()
    if connection.dialect.name == "postgresql" and len({row[key] for row in rows}) == len(rows):
        _bulk_update_postgres(connection, table, rows, key=key, only_changed=only_changed, also=also or {})
        return
    sqlite = connection.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    names = [name for name in rows[0] if name != key]
    fixed = dict(also or {})
    assignments = ", ".join([f"{name} = {mark}" for name in names] + [f"{name} = {mark}" for name in fixed])
    sql = f"UPDATE {table.name} SET {assignments} WHERE {key} = {mark}"
    if only_changed:
        differs = "IS NOT" if sqlite else "IS DISTINCT FROM"
        sql += " AND (" + " OR ".join(f"{name} {differs} {mark}" for name in only_changed) + ")"
    dialect = connection.dialect.name
    ordered = [*names, key, *only_changed]
    converters = [_driver_value(table.c[name].type, dialect) for name in ordered]
    fixed_values = []
    for name, value in fixed.items():
        converter = _driver_value(table.c[name].type, dialect)
        fixed_values.append(value if value is None or converter is None else converter(value))
    convert = [(index, converter) for index, converter in enumerate(converters) if converter is not None]
    count = len(names)
    params = [(*values[:count], *fixed_values, *values[count:]) for values in _driver_rows(rows, ordered, convert)]
    connection.exec_driver_sql(sql, params)


def _bulk_update_postgres(
    connection: Any, table: Table, rows: list[dict[str, Any]], *, key: str, only_changed: tuple[str, ...],
    also: dict[str, Any],
) -> None:  # fmt: skip
    """:func:`bulk_update` on PostgreSQL: one statement, each column's values sent as one array and
    joined by ``key`` (``UPDATE ... FROM unnest(...)``), not one statement per row (a webhook batch
    updated 500 rows three times a transaction)."""
    dialect = connection.dialect
    names = [key, *(name for name in rows[0] if name != key)]
    arrays, casts = [], []
    for name in names:
        converter = _driver_value(table.c[name].type, dialect.name)
        values = [row[name] for row in rows]
        if converter is not None:
            values = [None if value is None else converter(value) for value in values]
        arrays.append(values)
        casts.append(f"%s::{table.c[name].type.compile(dialect=dialect)}[]")
    assignments = [f"{name} = v.{name}" for name in names if name != key] + [f"{name} = %s" for name in also]
    fixed = []
    for name, value in also.items():
        converter = _driver_value(table.c[name].type, dialect.name)
        fixed.append(value if value is None or converter is None else converter(value))
    sql = (
        f"UPDATE {table.name} SET {', '.join(assignments)} FROM unnest({', '.join(casts)}) AS v({', '.join(names)}) "
        f"WHERE {table.name}.{key} = v.{key}"
    )
    if only_changed:
        sql += " AND (" + " OR ".join(f"{table.name}.{name} IS DISTINCT FROM v.{name}" for name in only_changed) + ")"
    connection.exec_driver_sql(sql, (*fixed, *arrays))


def _driver_value(kind: Any, dialect: str) -> Callable[[Any], Any] | None:
    import json

    if isinstance(kind, UTCDateTime):
        if dialect == "sqlite":
            last: list[Any] = [None, None]

            def sqlite_time(value: datetime) -> str:
                if value is not last[0]:  # rows of one import share their timestamps
                    last[0] = value
                    if value.tzinfo is not UTC:  # (most are UTC already: no conversion for them)
                        value = value.astimezone(UTC)
                    last[1] = value.replace(tzinfo=None).isoformat(" ", timespec="microseconds")
                return str(last[1])

            return sqlite_time
        return lambda v: v.astimezone(UTC)
    if isinstance(kind, JSON) or getattr(kind, "_type_affinity", None) is JSON:
        if dialect == "sqlite":
            return lambda v: json.dumps(v)
        from psycopg.types.json import Jsonb

        return Jsonb
    try:
        python_type = kind.python_type
    except NotImplementedError:
        return None
    return int if dialect == "sqlite" and python_type is bool else None


def insert_ignore(session: Session, model: Any, values: dict[str, Any], keys: list[str]) -> Any:
    """INSERT ... ON CONFLICT (keys) DO NOTHING, on SQLite and PostgreSQL."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(model).values(**values).on_conflict_do_nothing(index_elements=keys)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(model).values(**values).on_conflict_do_nothing(index_elements=keys)


def is_unavailable(error: BaseException) -> bool:
    """True when ``error`` means the database cannot be reached (answer 503, retry later)."""
    from sqlalchemy.exc import DBAPIError, OperationalError, TimeoutError

    if isinstance(error, TimeoutError):
        return True
    if isinstance(error, OperationalError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated
