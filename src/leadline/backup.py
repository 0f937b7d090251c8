"""``leadline backup`` and ``leadline restore``: a consistent copy of the database, and back.

SQLite: SQLite's online backup API copies the live file page by page under its own
locking, so the copy is one consistent state even while the server and workers write;
the copy is checked (``PRAGMA integrity_check``) before it replaces the target, which is
written next to it first and renamed into place, so a half-written backup never exists.
A restore copies the backup into the live database the same way (one transaction for
the readers and writers around it), after saving the current database beside it, and
then brings the schema up to date if the backup is older.

PostgreSQL: ``pg_dump --format=custom`` (one consistent snapshot, online) and
``pg_restore --clean --if-exists --single-transaction``, the PostgreSQL tools of the
server's version, which must be on the PATH (Debian: postgresql-client).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from leadline.config import Settings, create_private
from leadline.errors import Conflict, Invalid

SQLITE_HEADER = b"SQLite format 3\x00"


@dataclass
class Result:
    path: Path
    size: int
    revision: str | None
    saved_current: Path | None = None


def _sqlite_path(settings: Settings) -> Path | None:
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        raise Invalid("the database is in memory; there is nothing to back up", field="databaseUrl")
    return Path(url.database)


def _libpq(settings: Settings) -> tuple[str, dict[str, str]]:
    """The URL for pg_dump/pg_restore without its password (that goes in PGPASSWORD, not argv)."""
    url = make_url(settings.database_url)
    extra = {"PGPASSWORD": url.password} if url.password else {}
    plain = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return plain, {str(k): str(v) for k, v in extra.items()}


def _revision_of(path: Path) -> str | None:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        try:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError:
            return None
    return str(row[0]) if row else None


def _check_sqlite_file(path: Path) -> str:
    """The file's schema revision; refuses anything that is not a sound Leadline database."""
    with path.open("rb") as handle:
        if handle.read(16) != SQLITE_HEADER:
            raise Invalid(f"{path} is not a SQLite database", field="file")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        verdict = connection.execute("PRAGMA integrity_check").fetchone()[0]
    if verdict != "ok":
        raise Invalid(f"{path} is damaged: {verdict}", field="file")
    revision = _revision_of(path)
    if revision is None:
        raise Invalid(f"{path} is not a Leadline database (no schema version in it)", field="file")
    return revision


def _copy_sqlite(source: Path, target: Path, *, standalone: bool = False) -> None:
    """Copy with SQLite's online backup; ``standalone``: the copy is one file (no -wal/-shm beside it)."""
    with sqlite3.connect(source, timeout=30) as src, sqlite3.connect(target, timeout=30) as dst:
        src.backup(dst, pages=1024)
        if standalone:
            dst.execute("PRAGMA journal_mode = DELETE")
    src.close()
    dst.close()


def backup(settings: Settings, target: Path, *, force: bool = False) -> Result:
    if target.exists() and not force:
        raise Conflict(f"{target} exists; give --force to replace it", field="file")
    if target.exists() and target.is_dir():
        raise Invalid(f"{target} is a folder; name a file", field="file")
    if not target.parent.is_dir():
        raise Invalid(f"{target.parent} does not exist", field="file")
    path = _sqlite_path(settings)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    create_private(partial)  # a backup is the whole database: 0600 from its first byte
    try:
        if path is None:
            url, env = _libpq(settings)
            _run(["pg_dump", "--format=custom", "--no-owner", f"--file={partial}", url], env)
            revision = None
        else:
            if not path.exists():
                raise Invalid(f"{path} does not exist; run `leadline init` first", field="databaseUrl")
            _copy_sqlite(path, partial, standalone=True)
            revision = _check_sqlite_file(partial)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return Result(target, target.stat().st_size, revision)


def restore(settings: Settings, source: Path) -> Result:
    from leadline.db import dispose_engines
    from leadline.migrate import head_revision, upgrade

    if not source.is_file():
        raise Invalid(f"{source} does not exist", field="file")
    path = _sqlite_path(settings)
    saved = None
    if path is None:
        with source.open("rb") as handle:
            if handle.read(5) != b"PGDMP":
                raise Invalid(f"{source} is not a pg_dump archive (--format=custom)", field="file")
        url, env = _libpq(settings)
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", f"--dbname={url}",
              str(source)], env)  # fmt: skip
        revision = None
    else:
        revision = _check_sqlite_file(source)
        known = _known_revisions()
        if revision not in known:
            raise Invalid(
                f"{source} has schema {revision}, which this version of Leadline does not know "
                f"(newest: {head_revision()}); restore it with the version that made it",
                field="file",
            )
        if path.exists():
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            saved = path.with_name(f"{path.name}.before-restore-{stamp}")
            create_private(saved)
            _copy_sqlite(path, saved, standalone=True)
        dispose_engines()
        _copy_sqlite(source, path)
    dispose_engines()
    upgrade(settings)
    return Result(source, source.stat().st_size, revision, saved)


def _known_revisions() -> set[str]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from leadline.migrate import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}


def _run(command: list[str], env: dict[str, str]) -> None:
    tool = command[0]
    if shutil.which(tool) is None:
        raise Invalid(f"{tool} is not installed; install PostgreSQL's client tools (Debian: postgresql-client)",
                      field="databaseUrl")  # fmt: skip
    done = subprocess.run(  # noqa: S603 (our own command line: a fixed tool, a URL and a path)
        command, capture_output=True, text=True, check=False, env={**os.environ, **env}
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise Invalid(f"{tool} failed: {last}", field="databaseUrl")
