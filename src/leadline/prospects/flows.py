"""Importing a prospect file in short transactions, with a journal: stage, decide, publish, clean.

A flow (docs/architecture.md, "Flows"): it opens its own units of work and calls
``prospects.imports``. No write transaction of an import lasts long, whatever the file's size,
so webhooks, edits, sends and health checks keep working during a big import:

1. **staging** -- the file is read as a stream; each chunk of valid rows is decided against the
   database (``imports.decide``: create, update, unchanged, or refused) in a read-only transaction;
   decided rows are written to ``import_staging`` in short write transactions (a few chunks at a time,
   about :data:`TARGET_HOLD` each). Users see none of it.
2. The decision point: with refused rows and no ``--skip-invalid`` the run is discarded (nothing
   was published); otherwise the run moves to **publishing** in one short transaction.
3. **publishing** -- staged rows are published into ``prospects`` in batches: each batch is read
   while the lock is free, then written in its own short transaction that also removes those staged
   rows and moves the run's ``published_seq`` on (a batch is published exactly once). The batch size
   adapts so that a batch holds the write lock for about :data:`TARGET_HOLD` seconds.
4. **done** -- any staged rows left are removed in short transactions; ``finished_at`` is set last.

On SQLite a write transaction takes the whole database's write lock, and a writer of another
process waiting for it tries again every few milliseconds (``db._begin_immediate``); the flow leaves
the lock free for :data:`SQLITE_GAP` between two of its write transactions, so every waiting writer
gets in.

If the process dies, :func:`recover` (run by the next import, ``leadline serve`` and ``leadline
worker`` at start, the worker's minute sweep, and ``leadline prospects import --resume``) sees that
the run's process is gone (same host, no such pid; or no heartbeat for :data:`STALE` seconds): a run
that was staging is abandoned and its staged rows removed (nothing had been published); a run that was
publishing is published to the end. Either way the end result is all of the file's rows or none.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from leadline.clock import utc_now
from leadline.config import Settings
from leadline.db import get_engine, refresh_statistics, unit_of_work
from leadline.ids import new_id
from leadline.prospects import imports
from leadline.prospects.files import ProspectFile, RowResult, validate
from leadline.prospects.imports import MAX_KEPT_ERRORS, PREVIEW_SIZE, ImportRejected, ImportReport, ImportTakenOver
from leadline.prospects.models import ImportRun, StagedRow
from leadline.prospects.readiness import Readiness

log = logging.getLogger("leadline.imports")

CHUNK = 1000  # rows read and staged per chunk
TARGET_HOLD = 0.2  # seconds a batch should hold the write lock (a writer beside it waits under ~0.5 s)
MAX_BATCH = 5000  # rows staged or published per transaction at most (bounds the memory a batch takes)
HEARTBEAT = 5.0  # seconds: staging writes at least this often (the run's heartbeat)
SQLITE_GAP = 0.02  # seconds the write lock is left free between two write transactions (SQLite)
STALE = timedelta(seconds=120)  # no heartbeat for this long: the run's process is gone
CLEAN_BATCH = 2000  # staged rows removed per transaction
_HOST = socket.gethostname()[:200]
_OWNER = new_id("own")  # this process, as the owner of the runs it works on


def _now() -> datetime:
    return datetime.now(UTC)  # wall time, never the frozen clock: heartbeats are compared across processes


@dataclass
class Pacer:
    """Short write transactions with a gap between them (SQLite); records how long each held the lock."""

    gap: float
    longest: float = 0.0
    writes: int = 0
    _released: float = field(default=0.0)
    held: float = field(default=0.0)

    @classmethod
    def for_settings(cls, settings: Settings) -> Pacer:
        return cls(SQLITE_GAP if get_engine(settings).dialect.name == "sqlite" else 0.0)

    @contextlib.contextmanager
    def write(self, settings: Settings) -> Iterator[Session]:
        # Free at least as long as the last one held it (at most ``gap``): short ones need short gaps.
        wait = self._released + min(self.gap, self.held) - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        started = time.monotonic()
        try:
            with unit_of_work(settings) as session:
                yield session
        finally:
            self._released = time.monotonic()
            self.held = self._released - started
            self.writes += 1
            self.longest = max(self.longest, self.held)


# --- one import -----------------------------------------------------------------------------------


def import_file(
    settings: Settings,
    path: Path,
    *,
    actor: str,
    skip_invalid: bool = False,
    ignore_unknown: bool = False,
    dry_run: bool = False,
    on_reject: Callable[[RowResult], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    chunk_size: int = CHUNK,
    overwrite: bool = False,
    encoding: str | None = None,
    mapping: dict[str, str] | None = None,
    defaults: dict[str, Any] | None = None,
) -> ImportReport:
    """Create or update prospects from a CSV/JSON file; rows find their prospects by
    ``prospects.matching`` (other systems' ids, id, email, website, name).

    ``overwrite``: blank cells clear fields and shorter values replace longer ones; ``encoding``
    of a CSV file (UTF-8 unless told); ``mapping``: {column: field} chosen by hand; ``defaults``:
    {field: value} for rows that lack one (``--set``).

    Bad rows are collected; unless ``skip_invalid`` (or ``dry_run``), any bad row raises
    :class:`ImportRejected` before anything is published. A dry run stages and decides, reports,
    and publishes nothing."""
    recover(settings)
    path = Path(path)
    pacer = Pacer.for_settings(settings)
    opened = ProspectFile(
        path, ignore_unknown=ignore_unknown, encoding=encoding, mapping=mapping, defaults=defaults,
        keep_blanks=overwrite,
    )  # fmt: skip
    with opened as source:
        report = ImportReport(import_id=new_id("imp"), file=path.name, kind=source.kind, label=source.label)
        run_id = report.import_id
        with pacer.write(settings) as session:
            now = _now()
            session.add(ImportRun(
                id=run_id, file=path.name[:200], kind=source.kind, label=source.label, actor=actor[:200],
                state="staging", skip_invalid=skip_invalid, host=_HOST, pid=os.getpid(), owner=_OWNER,
                started_at=now, heartbeat_at=now, report={},
            ))  # fmt: skip
        try:
            _stage(settings, pacer, source, report, on_reject=on_reject, on_progress=on_progress,
                   chunk_size=chunk_size, overwrite=overwrite)  # fmt: skip
            report.columns = source.columns.describe() if source.columns else []
            if source.columns:
                report.profile = source.columns.profile
                report.mapping = {h: source.columns.target_of(h) for h in source.columns.headers}
            if dry_run or (report.rejected and not skip_invalid):
                _discard(settings, pacer, run_id)
                if not dry_run:
                    raise ImportRejected(report)
                return report
            with pacer.write(settings) as session:
                kept = {
                    "columns": report.columns, "errors": report.errors[:MAX_KEPT_ERRORS], "merged": report.merged,
                    "profile": report.profile, "mapping": report.mapping, "lacking": report.lacking,
                }  # fmt: skip
                _owned(session, run_id, state="publishing", rows=report.rows, rejected=report.rejected, report=kept)
        except ImportRejected:
            raise
        except BaseException:
            with contextlib.suppress(Exception):
                _discard(settings, pacer, run_id)
            raise
    published = _publish(settings, pacer, run_id)
    published.label = report.label
    log.info("import %s: %d rows; the longest write transaction held the lock %.0f ms (%d transactions)",
             run_id, report.rows, pacer.longest * 1000, pacer.writes)  # fmt: skip
    return published


def _stage(
    settings: Settings,
    pacer: Pacer,
    source: ProspectFile,
    report: ImportReport,
    *,
    on_reject: Callable[[RowResult], None] | None,
    on_progress: Callable[[int, int], None] | None,
    chunk_size: int,
    overwrite: bool = False,
) -> None:
    with unit_of_work(settings, readonly=True) as session:
        readiness = Readiness.for_session(session)
    stager = imports.Stager(
        report.import_id, report, on_reject, overwrite=overwrite, columns=source.columns, readiness=readiness
    )
    chunk: list[RowResult] = []
    # Decided rows wait here until there are enough of them for a write transaction of about
    # TARGET_HOLD (the stager knows them: a later chunk's duplicates are found among them too).
    pending: list[dict[str, Any]] = []
    write_size = chunk_size
    written_at = time.monotonic()

    def flush(*, final: bool = False) -> None:
        nonlocal write_size, written_at
        if chunk:
            stager.columns = source.columns
            with unit_of_work(settings, readonly=True) as session:
                pending.extend(stager.stage_chunk(session, chunk))
            chunk.clear()
        if final or len(pending) >= write_size or time.monotonic() - written_at > HEARTBEAT:
            with pacer.write(settings) as session:
                imports.write_staged(session, pending)
                _owned(session, report.import_id, staged=stager.seq, rows=report.rows, rejected=report.rejected)
            stager.written()
            if len(pending) >= write_size:
                write_size = _next_size(write_size, pacer.held)
            pending.clear()
            written_at = time.monotonic()
        if on_progress:
            on_progress(source.position, source.size)

    for raw in source.rows():
        report.rows += 1
        result = validate(raw, source.columns)
        if result.data is None:
            stager.reject(result)
        else:
            chunk.append(result)
        if len(chunk) >= chunk_size or (report.rows % (chunk_size * 5) == 0 and not chunk):
            flush()  # (a chunk of only bad rows still beats the heartbeat)
    flush(final=True)
    report.lacking = stager.readiness.summary()
    if on_progress:
        on_progress(source.size, source.size)


def _next_size(size: int, held: float) -> int:
    """The next batch's size: about TARGET_HOLD of work at the last batch's pace (at most twice as many)."""
    return max(100, min(MAX_BATCH, 2 * size, int(size * TARGET_HOLD / max(held, 0.001))))


def _owned(session: Session, run_id: str, **values: Any) -> None:
    """Move the run on, if this process still owns it (and beat its heartbeat)."""
    done = session.execute(
        update(ImportRun)
        .where(ImportRun.id == run_id, ImportRun.owner == _OWNER)
        .values(heartbeat_at=_now(), **values)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise ImportTakenOver(f"import {run_id} was taken over by another process (this one looked dead)")


def _publish(settings: Settings, pacer: Pacer, run_id: str) -> ImportReport:
    """Publish the run's staged rows, batch by batch, then clean up; the report of the whole run."""
    size = 1000
    while True:
        # Read (and decode) the next batch while the lock is free for others (the pacer's gap).
        with unit_of_work(settings, readonly=True) as session:
            run = session.get(ImportRun, run_id)
            if run is None or run.owner != _OWNER:
                raise ImportTakenOver(f"import {run_id} was taken over by another process (this one looked dead)")
            batch = imports.next_staged(session, run_id, after=run.published_seq, limit=size)
        with pacer.write(settings) as session:
            run = session.get(ImportRun, run_id)
            if run is None or run.owner != _OWNER:
                raise ImportTakenOver(f"import {run_id} was taken over by another process (this one looked dead)")
            if batch is None:
                _owned(session, run_id, state="done")
                refresh_statistics(session.connection(), ("prospects", "prospect_tags"))
                break
            done = imports.publish_batch(session, run, batch, now=utc_now())  # the clock: demo and tests set it
            kept = dict(run.report)
            kept["preview"] = (kept.get("preview", []) + done.preview)[:PREVIEW_SIZE]
            if done.conflicts:
                kept["errors"] = (kept.get("errors", []) + done.conflicts)[:MAX_KEPT_ERRORS]
            if done.tagged:
                tagged = dict(kept.get("tagged") or {})
                for tag, n in done.tagged.items():
                    tagged[tag] = tagged.get(tag, 0) + n
                kept["tagged"] = tagged
            _owned(
                session, run_id, published_seq=done.last_seq, created=run.created + done.created,
                updated=run.updated + done.updated, unchanged=run.unchanged + done.unchanged,
                rejected=run.rejected + len(done.conflicts), report=kept,
            )  # fmt: skip
        size = _next_size(size, pacer.held)
    _clean(settings, pacer, run_id)
    return _report_of(settings, run_id)


def _report_of(settings: Settings, run_id: str) -> ImportReport:
    with unit_of_work(settings, readonly=True) as session:
        run = session.get(ImportRun, run_id)
        assert run is not None
        kept = run.report or {}
        return ImportReport(
            import_id=run.id, file=run.file, kind=run.kind, rows=run.rows, created=run.created,
            updated=run.updated, unchanged=run.unchanged, rejected=run.rejected, errors=list(kept.get("errors", [])),
            columns=[tuple(c) for c in kept.get("columns", [])], preview=list(kept.get("preview", [])), label=run.label,
            merged=int(kept.get("merged") or 0), profile=kept.get("profile"), mapping=dict(kept.get("mapping") or {}),
            lacking=list(kept.get("lacking") or []), tagged=dict(kept.get("tagged") or {}),
        )  # fmt: skip


def _clean(settings: Settings, pacer: Pacer, run_id: str) -> None:
    """Remove a finished run's staged rows in short transactions, then mark it finished."""
    while True:
        with pacer.write(settings) as session:
            last = session.scalar(
                select(StagedRow.seq).where(StagedRow.run_id == run_id).order_by(StagedRow.seq)
                .offset(CLEAN_BATCH - 1).limit(1)
            )  # fmt: skip
            query = delete(StagedRow).where(StagedRow.run_id == run_id)
            if last is not None:
                query = query.where(StagedRow.seq <= last)
            session.execute(query.execution_options(synchronize_session=False))
            if last is None:
                _owned(session, run_id, finished_at=_now())
                return
            _owned(session, run_id)


def _discard(settings: Settings, pacer: Pacer, run_id: str) -> None:
    """A run that published nothing (a dry run, refused rows, an error while staging): no trace left."""
    _clean(settings, pacer, run_id)
    with pacer.write(settings) as session:
        session.execute(delete(ImportRun).where(ImportRun.id == run_id, ImportRun.owner == _OWNER))


# --- recovery ---------------------------------------------------------------------------------------


_UNSETTLED = or_(ImportRun.state.in_(("staging", "publishing")), ImportRun.finished_at.is_(None))


def _alive(run: ImportRun, now: datetime) -> bool:
    if run.owner == _OWNER:
        return True
    if run.host == _HOST:
        try:
            os.kill(run.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass  # a process of another user has that pid now
    return run.heartbeat_at > now - STALE


def _take_over(settings: Settings, pacer: Pacer, run: ImportRun) -> bool:
    with pacer.write(settings) as session:
        done = session.execute(
            update(ImportRun)
            .where(ImportRun.id == run.id, ImportRun.owner == run.owner)
            .values(owner=_OWNER, host=_HOST, pid=os.getpid(), heartbeat_at=_now())
            .execution_options(synchronize_session=False)
        )
        return done.rowcount == 1  # type: ignore[attr-defined,no-any-return]


def interrupted(settings: Settings) -> list[dict[str, Any]]:
    """Imports whose process is gone and that recovery has not settled yet (for doctor)."""
    now = _now()
    with unit_of_work(settings, readonly=True) as session:
        runs = session.scalars(select(ImportRun).where(_UNSETTLED)).all()
        return [
            {"id": r.id, "file": r.file, "state": r.state, "published": r.published_seq, "staged": r.staged}
            for r in runs
            if not _alive(r, now)
        ]


def recover(settings: Settings, *, on_progress: Callable[[int, int], None] | None = None) -> list[str]:
    """Settle every import whose process died: abandon those that were staging (nothing was published),
    publish to the end those that were publishing. One line per run settled."""
    pacer = Pacer.for_settings(settings)
    now = _now()
    with unit_of_work(settings, readonly=True) as session:
        runs = session.scalars(select(ImportRun).where(_UNSETTLED)).all()
    said: list[str] = []
    for run in runs:
        if _alive(run, now) or not _take_over(settings, pacer, run):
            continue
        try:
            said += _settle(settings, pacer, run)
        except Exception as error:  # one run that cannot be settled must not stop the others, nor new imports
            log.exception("settling import %s failed", run.id)
            said.append(f"Could not settle the import of {run.file} ({run.id}): {error}; it is tried again later.")
    for line in said:
        log.warning(line)
    return said


def _settle(settings: Settings, pacer: Pacer, run: ImportRun) -> list[str]:
    if run.state == "staging":
        with pacer.write(settings) as session:
            _owned(session, run.id, state="abandoned",
                   note="the importing process stopped while staging; nothing was published")  # fmt: skip
        _clean(settings, pacer, run.id)
        return [f"Abandoned the import of {run.file} ({run.id}): it stopped before publishing; "
                "nothing of it was published."]  # fmt: skip
    if run.state == "publishing":
        report = _publish(settings, pacer, run.id)
        return [
            f"Finished the import of {run.file} ({run.id}) that had stopped while publishing: "
            f"{report.created} created, {report.updated} updated, {report.unchanged} unchanged."
        ]
    _clean(settings, pacer, run.id)  # done or abandoned, its staged rows not all removed yet
    return []


def recover_in_background(settings: Settings) -> None:
    """:func:`recover` in a thread (``leadline serve`` and ``leadline worker`` start without waiting for it)."""
    import threading

    def run() -> None:
        try:
            recover(settings)
        except Exception:  # the minute sweep tries again
            log.exception("settling interrupted imports failed")

    threading.Thread(target=run, name="leadline-import-recovery", daemon=True).start()


__all__ = ["ImportRejected", "ImportReport", "import_file", "interrupted", "recover", "recover_in_background"]
