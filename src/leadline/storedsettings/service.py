"""Settings an admin changes while Leadline runs (``config.EDITABLE``): kept in ``stored_settings``,
laid over the environment's values by every process at the start of each unit of work
(:func:`refresh`, one primary-key read; the table itself is read again only when its version
token changed), every change audited in ``settings_changes``. A variable set in the environment
wins: such a setting is shown as set by the environment and refused here."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from leadline.clock import utc_now
from leadline.config import EDITABLE, EDITABLE_GROUPS, SettingInvalid, Settings, setting_text
from leadline.db import settings_of
from leadline.errors import Conflict, Invalid
from leadline.names import camel
from leadline.storedsettings.models import VERSION_ROW, SettingChange, StoredSetting

_VERSION_SQL = {
    "sqlite": f"SELECT value FROM stored_settings WHERE name = '{VERSION_ROW}'",
    "postgresql": f"SELECT value::text FROM stored_settings WHERE name = '{VERSION_ROW}'",
}


def refresh(session: Session, settings: Settings) -> None:
    """Bring ``settings`` up to date with the database's stored values (cheap when nothing changed).
    Every unit of work calls it first, inside the unit's own transaction (a read-only unit's snapshot
    begins with this read)."""
    try:
        # The driver's own statement (no ORM, no compiling): this runs at the start of every unit of work.
        found = session.connection().exec_driver_sql(_VERSION_SQL[session.get_bind().dialect.name]).first()
    except (OperationalError, ProgrammingError) as error:
        text = str(error.orig).lower()
        if "no such table" not in text and "does not exist" not in text:
            raise  # the database is locked or unreachable: the caller's unit of work says so
        session.rollback()  # no table yet: a database before `leadline init` / `db upgrade`
        return
    version = None if found is None else str(found[0])  # the token as the driver gives it (JSON text on SQLite)
    if version != settings.stored_version:
        rows = session.execute(select(StoredSetting.name, StoredSetting.value).where(StoredSetting.name != VERSION_ROW))
        settings.apply_stored(version, {name: value for name, value in rows})


def field_name(name: str) -> str:
    """``daily_send_limit``, ``dailySendLimit``, ``daily-send-limit`` or ``LEADLINE_DAILY_SEND_LIMIT``."""
    text = name.strip().removeprefix("LEADLINE_").removeprefix("leadline_").replace("-", "_")
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", text).lower()
    if snake not in EDITABLE:
        raise Invalid(f"unknown setting {name!r} (see `leadline settings list`)", field="name")
    return snake


@dataclass
class SettingRow:
    name: str  # snake_case
    group: str
    value: Any
    text: str  # as typed in a form or on the command line
    source: str  # env | stored | default
    updated_by: str = ""
    updated_at: datetime | None = None

    @property
    def env_name(self) -> str:
        return f"LEADLINE_{self.name.upper()}"

    @property
    def field(self) -> str:
        return camel(self.name)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.field, "group": self.group, "value": self.value, "source": self.source,
            "env": self.env_name, "updatedBy": self.updated_by or None,
            "updatedAt": self.updated_at.isoformat() if self.updated_at else None,
        }  # fmt: skip


def list_settings(session: Session) -> list[SettingRow]:
    settings = settings_of(session)
    refresh(session, settings)
    stored = {row.name: row for row in session.scalars(select(StoredSetting))}
    rows = []
    for group, names in EDITABLE_GROUPS.items():
        for name in names:
            value = getattr(settings, name)
            source = settings.source(name)
            row = stored.get(name) if source == "stored" else None
            rows.append(SettingRow(name, group, value, setting_text(name, value), source,
                                   row.updated_by if row else "", row.updated_at if row else None))  # fmt: skip
    return rows


def get_setting(session: Session, name: str) -> SettingRow:
    snake = field_name(name)
    return next(row for row in list_settings(session) if row.name == snake)


def _changeable(settings: Settings, snake: str) -> None:
    if settings.set_by_env(snake):
        raise Conflict(
            f"is set by the environment (LEADLINE_{snake.upper()}), which wins: change or remove it there",
            field=camel(snake),
        )


def _record(session: Session, snake: str, old: Any, new: Any, actor: str) -> None:
    now = utc_now()
    session.add(SettingChange(name=snake, old_value=old, new_value=new, changed_by=actor, changed_at=now))
    version = session.get(StoredSetting, VERSION_ROW)
    token = uuid.uuid4().hex
    if version is None:
        session.add(StoredSetting(name=VERSION_ROW, value=token, updated_by=actor, updated_at=now))
    else:
        version.value, version.updated_by, version.updated_at = token, actor, now


def _plain(value: Any) -> Any:
    from pydantic_core import to_jsonable_python

    return to_jsonable_python(value)


def set_settings(session: Session, values: dict[str, Any], *, actor: str) -> list[tuple[str, Any, Any]]:
    """Store new values (text as typed, or JSON data); all or nothing: the first bad value is refused
    naming its field, and nothing is changed. Returns (name, old, new) for each value that changed."""
    settings = settings_of(session)
    refresh(session, settings)
    checked: dict[str, Any] = {}
    typed = {field_name(name): raw for name, raw in values.items()}  # checked beside each other (a window's ends)
    for snake, raw in typed.items():
        _changeable(settings, snake)
        try:
            checked[snake] = _plain(settings.validated(snake, raw, {k: v for k, v in typed.items() if k != snake}))
        except SettingInvalid as error:
            raise Invalid(error.message, field=camel(snake)) from None
    changes = []
    for snake, new in checked.items():
        old = _plain(getattr(settings, snake))
        if old == new:
            continue
        row = session.get(StoredSetting, snake)
        if row is None:
            session.add(StoredSetting(name=snake, value=new, updated_by=actor, updated_at=utc_now()))
        else:
            row.value, row.updated_by, row.updated_at = new, actor, utc_now()
        _record(session, snake, old, new, actor)
        changes.append((snake, old, new))
    session.flush()
    return changes


def unset_setting(session: Session, name: str, *, actor: str) -> tuple[str, Any, Any] | None:
    """Forget the stored value: the environment's or the default value applies again."""
    settings = settings_of(session)
    refresh(session, settings)
    snake = field_name(name)
    _changeable(settings, snake)
    if session.get(StoredSetting, snake) is None:
        return None
    old = _plain(getattr(settings, snake))
    new = _plain(settings.base_value(snake))
    for other in EDITABLE:  # the rules that read two settings (a window's start before its end) still hold
        if other != snake:
            try:
                settings.validated(other, getattr(settings, other), {snake: settings.base_value(snake)})
            except SettingInvalid as error:
                raise Invalid(
                    f"cannot be unset while {camel(other)} needs it: {error.message}", field=camel(snake)
                ) from None
    session.execute(delete(StoredSetting).where(StoredSetting.name == snake))
    _record(session, snake, old, new, actor)
    session.flush()
    return snake, old, new


def history(session: Session, *, limit: int = 50) -> list[SettingChange]:
    return list(session.scalars(select(SettingChange).order_by(SettingChange.id.desc()).limit(limit)))
