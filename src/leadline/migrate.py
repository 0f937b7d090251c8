"""Create, upgrade and downgrade the database schema with Alembic (``leadline init`` / ``leadline db``)."""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from leadline.config import Settings
from leadline.db import get_engine, refresh_statistics
from leadline.errors import Invalid

MIGRATIONS = Path(__file__).parent / "migrations"
_BATCH = re.compile(r"""batch_alter_table\(\s*["']([^"']+)["']""")
_DROPS = re.compile(r"""drop_(table|column)\(\s*["']([^"']+)["']""")


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))
    config.set_main_option("file_template", "%%(year)d-%%(month).2d-%%(day).2d_%%(rev)s_%%(slug)s")
    return config


@cache
def _scripts() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


def head_revision() -> str | None:
    return _scripts().get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _lineage(revision: str) -> list[str]:
    """``revision`` and every revision before it, newest first."""
    return [script.revision for script in _scripts().iterate_revisions(revision, "base")]


def _check_known(revision: str) -> None:
    known = _lineage(head_revision() or "base") if head_revision() else []
    if revision not in known:
        raise Invalid(f"no schema revision {revision!r}; this Leadline knows {', '.join(reversed(known))}",
                      field="revision")  # fmt: skip


def upgrade(settings: Settings, revision: str = "head") -> tuple[str | None, str | None]:
    """Bring the schema to ``revision``; returns (before, after). An older ``revision`` is refused:
    going back is :func:`downgrade`'s, which asks first and takes a backup."""
    engine = get_engine(settings)
    before = current_revision(engine)
    if revision != "head":
        _check_known(revision)
        if before is not None and revision != before and revision in _lineage(before):
            raise Invalid(
                f"the database is at {before}, which is newer than {revision}: `db upgrade` only goes forward; "
                f"to go back, run `leadline db downgrade {revision}` (it asks first and takes a backup)",
                field="revision",
            )
    config = alembic_config(settings)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        config.attributes["settings"] = settings  # a data step may need them (0022: the first sender)
        command.upgrade(config, revision)
        refresh_statistics(connection)
    return before, current_revision(engine)


@dataclass
class Step:
    """One migration a downgrade undoes, and the tables and columns its undoing drops."""

    revision: str
    title: str
    drops: list[str] = field(default_factory=list)


def downgrade_steps(settings: Settings, revision: str) -> tuple[str, list[Step]]:
    """The database's revision and the migrations going back to ``revision`` undoes, newest first."""
    before = current_revision(get_engine(settings))
    if before is None:
        raise Invalid("the database is empty; there is nothing to downgrade", field="revision")
    if revision != "base":
        _check_known(revision)
    lineage = _lineage(before)
    if revision == before or (revision != "base" and revision not in lineage):
        raise Invalid(f"the database is at {before}, not newer than {revision}: nothing to downgrade"
                      + ("" if revision == before else f"; to go forward, run `leadline db upgrade {revision}`"),
                      field="revision")  # fmt: skip
    steps = []
    for name in lineage:
        if name == revision:
            break
        script = _scripts().get_revision(name)
        assert script is not None
        drops = _drops(inspect.getsource(script.module.downgrade))
        steps.append(Step(name, (script.doc or "").strip().splitlines()[0] if script.doc else name, drops))
    return before, steps


def _drops(source: str) -> list[str]:
    """The tables and columns a migration's ``downgrade()`` drops (``column table.name``)."""
    found, table = [], None
    for line in source.splitlines():
        batch = _BATCH.search(line)
        if batch:
            table = batch.group(1)
        for kind, target in _DROPS.findall(line):
            found.append(f"table {target}" if kind == "table" else f"column {table + '.' if table else ''}{target}")
    return found


def downgrade(settings: Settings, revision: str) -> tuple[str | None, str | None]:
    """Undo migrations down to ``revision`` in one transaction; returns (before, after)."""
    engine = get_engine(settings)
    before = current_revision(engine)
    config = alembic_config(settings)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
    return before, current_revision(engine)


def is_current(settings: Settings) -> bool:
    return current_revision(get_engine(settings)) == head_revision()
