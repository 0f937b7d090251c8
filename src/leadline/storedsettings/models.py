from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from leadline.clock import utc_now
from leadline.db import Base, JSONType

VERSION_ROW = "__version__"


class StoredSetting(Base):
    """One setting's value, chosen by an admin. The row named ``__version__`` holds a token that changes
    with every change, so that each process re-reads the table only when something changed."""

    __tablename__ = "stored_settings"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONType)
    updated_by: Mapped[str] = mapped_column(String(254), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class SettingChange(Base):
    """Who changed which setting, when, from what to what (``old``/``new`` null: not stored)."""

    __tablename__ = "settings_changes"
    __table_args__ = (Index("ix_settings_changes_changed_at", "changed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(60))
    old_value: Mapped[Any] = mapped_column(JSONType, nullable=True)
    new_value: Mapped[Any] = mapped_column(JSONType, nullable=True)
    changed_by: Mapped[str] = mapped_column(String(254))
    changed_at: Mapped[datetime] = mapped_column(default=utc_now)
