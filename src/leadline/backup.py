"""``leadline backup`` and ``leadline restore``: everything needed to come back, in one file, and back.

A backup is a tar archive (see docs/backups.md) holding, in this order:

* ``manifest.json``: ``{"format": "leadline-backup", "version": 1, "database": "sqlite" | "postgresql",
  "schema": ..., "createdAt": ..., "leadline": ..., "files": {name: {"bytes": n, "sha256": ...}}}``;
* ``keys.json``: the secret key that signs unsubscribe links, the calendar feed's URL and the
  Inbound Parse URL (and ``LEADLINE_INBOUND_SECRET`` when one is set): without it, every link in
  emails already sent stops working after a restore onto a new machine;
* ``leadline.db`` (SQLite) or ``leadline.pgdump`` (PostgreSQL, ``pg_dump --format=custom``).

SQLite: SQLite's online backup API copies the live file page by page under its own locking,
so the copy is one consistent state even while the server and workers write; the copy is
checked (``PRAGMA integrity_check``) before it goes into the archive. Everything is written in
a private temporary folder beside the target, synced, and renamed into place: a backup file that
exists is a whole one, and nothing else is left beside it. A restore checks every member against
the manifest, copies the database in the same way (one transaction for the readers and writers
around it) after saving the current one beside it, puts the keys back, and brings the schema up
to date if the backup is older. The data folder is created if it does not exist (a new machine).

PostgreSQL: ``pg_dump --format=custom`` (one consistent snapshot, online) and
``pg_restore --clean --if-exists --single-transaction``, the PostgreSQL tools of the
server's version, which must be on the PATH (Debian: postgresql-client).

Backups made before the archive format (a bare SQLite file, a bare pg_dump archive) still
restore; they hold no keys, which the restore says.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from leadline.config import Settings, create_private, private_folder, write_private
from leadline.errors import Conflict, Invalid

SQLITE_HEADER = b"SQLite format 3\x00"
FORMAT = "leadline-backup"
VERSION = 1
MANIFEST, KEYS, SQLITE_MEMBER, PG_MEMBER = "manifest.json", "keys.json", "leadline.db", "leadline.pgdump"


@dataclass
class Result:
    path: Path
    size: int
    revision: str | None
    saved_current: Path | None = None
    warnings: list[str] = field(default_factory=list)


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
    connection.close()
    return str(row[0]) if row else None


def _check_sqlite_file(path: Path, shown: Path | None = None) -> str:
    """The file's schema revision; refuses anything that is not a sound Leadline database."""
    name = shown or path
    with path.open("rb") as handle:
        if handle.read(16) != SQLITE_HEADER:
            raise Invalid(f"{name} is not a SQLite database", field="file")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        verdict = connection.execute("PRAGMA integrity_check").fetchone()[0]
    connection.close()
    if verdict != "ok":
        raise Invalid(f"{name} is damaged: {verdict}", field="file")
    revision = _revision_of(path)
    if revision is None:
        raise Invalid(f"{name} is not a Leadline database (no schema version in it)", field="file")
    return revision


def _copy_sqlite(source: Path, target: Path, *, standalone: bool = False) -> None:
    """Copy with SQLite's online backup; ``standalone``: the copy is one file (no -wal/-shm beside it)."""
    with sqlite3.connect(source, timeout=30) as src, sqlite3.connect(target, timeout=30) as dst:
        src.backup(dst, pages=1024)
        if standalone:
            dst.execute("PRAGMA journal_mode = DELETE")
    src.close()
    dst.close()


@contextmanager
def _scratch(beside: Path, label: str) -> Iterator[Path]:
    """A private (0700) temporary folder in ``beside`` (so a rename from it stays on one file
    system), removed with everything in it however the block ends."""
    folder = Path(tempfile.mkdtemp(prefix=f".{label}.", suffix=".partial", dir=beside))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def _keys(settings: Settings) -> dict[str, Any]:
    inbound = settings.inbound_secret.get_secret_value() if settings.inbound_secret is not None else None
    return {
        "secretKey": settings.secret(),
        "secretKeyFrom": "LEADLINE_SECRET_KEY" if settings.secret_key is not None else "data/secret_key",
        "inboundSecret": inbound or None,
    }


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _pg_revision(settings: Settings) -> str | None:
    from leadline.db import get_engine
    from leadline.migrate import current_revision

    return current_revision(get_engine(settings))


def backup(settings: Settings, target: Path, *, force: bool = False) -> Result:
    if target.exists() and not force:
        raise Conflict(f"{target} exists; give --force to replace it", field="file")
    if target.exists() and target.is_dir():
        raise Invalid(f"{target} is a folder; name a file", field="file")
    if not target.parent.is_dir():
        raise Invalid(f"{target.parent} does not exist", field="file")
    path = _sqlite_path(settings)
    if path is not None and not path.exists():
        raise Invalid(f"{path} does not exist; run `leadline init` first", field="databaseUrl")
    with _scratch(target.parent, target.name) as scratch:
        if path is None:
            database, kind = scratch / PG_MEMBER, "postgresql"
            url, env = _libpq(settings)
            revision = _pg_revision(settings)
            _run(["pg_dump", "--format=custom", "--no-owner", f"--file={database}", url], env)
        else:
            database, kind = scratch / SQLITE_MEMBER, "sqlite"
            _copy_sqlite(path, database, standalone=True)
            revision = _check_sqlite_file(database)
        keys = json.dumps(_keys(settings), indent=2).encode()
        manifest = {
            "format": FORMAT, "version": VERSION, "database": kind, "schema": revision,
            "createdAt": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "leadline": _leadline_version(),
            "files": {
                KEYS: {"bytes": len(keys), "sha256": hashlib.sha256(keys).hexdigest()},
                database.name: {"bytes": database.stat().st_size, "sha256": _digest(database)},
            },
        }  # fmt: skip
        archive = scratch / "backup.tar"
        create_private(archive)  # a backup holds the whole database and the secret key: 0600 from its first byte
        with archive.open("r+b") as handle:
            with tarfile.open(fileobj=handle, mode="w", format=tarfile.PAX_FORMAT) as tar:
                _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=2).encode())
                _add_bytes(tar, KEYS, keys)
                tar.add(database, arcname=database.name, recursive=False, filter=_plain)
            handle.flush()
            os.fsync(handle.fileno())
        archive.replace(target)
        _fsync_folder(target.parent)
    return Result(target, target.stat().st_size, revision)


def _leadline_version() -> str:
    from leadline import __version__

    return __version__


def _plain(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o600
    return info


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    info.mtime = int(datetime.now(UTC).timestamp())
    tar.addfile(info, io.BytesIO(data))


@dataclass
class _Unpacked:
    kind: str  # sqlite | postgresql
    database: Path
    keys: dict[str, Any] | None  # None: a backup from before the archive format
    schema: str | None


def _unpack(source: Path, scratch: Path) -> _Unpacked:
    """The backup's database (and keys) in ``scratch``, each checked against the manifest."""
    with source.open("rb") as handle:
        head = handle.read(16)
    if head == SQLITE_HEADER:
        return _Unpacked("sqlite", source, None, None)
    if head.startswith(b"PGDMP"):
        return _Unpacked("postgresql", source, None, None)
    if not tarfile.is_tarfile(source):
        raise Invalid(f"{source} is not a SQLite database nor a Leadline backup", field="file")
    with tarfile.open(source, mode="r") as tar:  # a gzipped backup too
        members = {m.name: m for m in tar.getmembers()}
        manifest = _json_member(tar, members, MANIFEST, source)
        if manifest.get("format") != FORMAT:
            raise Invalid(f"{source} is not a Leadline backup (no Leadline manifest in it)", field="file")
        if manifest.get("version") != VERSION:
            raise Invalid(
                f"{source} is a Leadline backup of format version {manifest.get('version')}, which this version "
                f"of Leadline does not read (it reads {VERSION}); restore it with the version that made it",
                field="file",
            )
        kind = manifest.get("database")
        name = {"sqlite": SQLITE_MEMBER, "postgresql": PG_MEMBER}.get(str(kind))
        files = manifest.get("files") or {}
        if name is None or name not in files or KEYS not in files:
            raise Invalid(f"{source} is damaged: its manifest does not list the database and the keys", field="file")
        for member in (KEYS, name):
            info = members.get(member)
            if info is None or not info.isfile():
                raise Invalid(f"{source} is damaged: {member} is missing", field="file")
            reader = tar.extractfile(info)
            assert reader is not None
            out = scratch / member
            create_private(out)
            sha = hashlib.sha256()
            with reader, out.open("wb") as writer:
                while block := reader.read(1 << 20):
                    sha.update(block)
                    writer.write(block)
            if sha.hexdigest() != files[member].get("sha256") or out.stat().st_size != files[member].get("bytes"):
                raise Invalid(f"{source} is damaged: {member} does not match its checksum", field="file")
        keys = json.loads((scratch / KEYS).read_text())
    if not isinstance(keys, dict) or not isinstance(keys.get("secretKey"), str) or not keys["secretKey"]:
        raise Invalid(f"{source} is damaged: it holds no secret key", field="file")
    return _Unpacked(str(kind), scratch / name, keys, manifest.get("schema"))


def _json_member(tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo], name: str, source: Path) -> Any:
    info = members.get(name)
    if info is None or not info.isfile() or info.size > 1 << 20:
        raise Invalid(f"{source} is not a Leadline backup (no {name} in it)", field="file")
    reader = tar.extractfile(info)
    assert reader is not None
    try:
        value = json.loads(reader.read())
    except ValueError:
        raise Invalid(f"{source} is damaged: {name} is not JSON", field="file") from None
    if not isinstance(value, dict):
        raise Invalid(f"{source} is damaged: {name} is not a JSON object", field="file")
    return value


def restore(settings: Settings, source: Path) -> Result:
    from leadline.db import dispose_engines
    from leadline.migrate import upgrade

    if not source.is_file():
        raise Invalid(f"{source} does not exist", field="file")
    path = _sqlite_path(settings)
    settings.ensure_data_dir()  # a new machine: the data folder does not exist yet
    saved = None
    warnings: list[str] = []
    with _scratch(settings.data_dir, "restore") as scratch:
        unpacked = _unpack(source, scratch)
        if (unpacked.kind == "sqlite") != (path is not None):
            here = "SQLite" if path is not None else "PostgreSQL"
            raise Invalid(
                f"{source} is a backup of a {'SQLite' if unpacked.kind == 'sqlite' else 'PostgreSQL'} database "
                f"and this Leadline uses {here}; move a database between the two with "
                "`leadline export --all` and `leadline import --all`",
                field="file",
            )
        if path is None:
            with unpacked.database.open("rb") as handle:
                if handle.read(5) != b"PGDMP":
                    raise Invalid(f"{source} is not a pg_dump archive (--format=custom)", field="file")
            url, env = _libpq(settings)
            _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", f"--dbname={url}",
                  str(unpacked.database)], env)  # fmt: skip
            revision = unpacked.schema
        else:
            revision = _check_sqlite_file(unpacked.database, shown=source)
            _check_known(source, revision)
            private_folder(path.parent)
            if path.exists():
                stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
                saved = path.with_name(f"{path.name}.before-restore-{stamp}")
                create_private(saved)
                _copy_sqlite(path, saved, standalone=True)
            dispose_engines()
            create_private(path)
            _copy_sqlite(unpacked.database, path)
        if unpacked.keys is None:
            warnings.append(
                f"{source} is a backup from before keys were kept in backups: links in emails already sent "
                "work only if this machine has the same secret key (LEADLINE_SECRET_KEY or data/secret_key)"
            )
        else:
            warnings += _put_keys_back(settings, unpacked.keys)
    dispose_engines()
    upgrade(settings)
    return Result(source, source.stat().st_size, revision, saved, warnings)


def _put_keys_back(settings: Settings, keys: dict[str, Any]) -> list[str]:
    """data/secret_key from the backup (a different one is saved beside it); what the environment overrides."""
    warnings = []
    secret = str(keys["secretKey"])
    path = settings.data_dir / "secret_key"
    current = path.read_text().strip() if path.is_file() else None
    if current != secret:
        if current is not None:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            write_private(path.with_name(f"secret_key.before-restore-{stamp}"), current.encode())
        partial = path.with_name(".secret_key.partial")
        write_private(partial, secret.encode())
        partial.replace(path)
    if settings.secret_key is not None and settings.secret_key.get_secret_value() != secret:
        warnings.append(
            "LEADLINE_SECRET_KEY is set to another key than the backup's, and it wins over data/secret_key: "
            "unset it (or set it to the backup's key) or links in emails already sent will not work"
        )
    inbound = keys.get("inboundSecret")
    now = settings.inbound_secret.get_secret_value() if settings.inbound_secret is not None else None
    if inbound and inbound != now:
        warnings.append(
            "the backup was made with LEADLINE_INBOUND_SECRET set; set it to the same value again "
            "(it is in the backup's keys.json) or SendGrid's Inbound Parse posts will be refused"
        )
    return warnings


def _check_known(source: Path, revision: str) -> None:
    from leadline.migrate import head_revision

    if revision not in _known_revisions():
        raise Invalid(
            f"{source} has schema {revision}, which this version of Leadline does not know "
            f"(newest: {head_revision()}); restore it with the version that made it",
            field="file",
        )


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
