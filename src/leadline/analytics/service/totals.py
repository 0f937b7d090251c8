"""Recounting the maintained totals (:mod:`leadline.analytics.totals`) from the raw rows."""

from __future__ import annotations

from sqlalchemy.orm import Session

from leadline.analytics import totals
from leadline.config import Settings
from leadline.db import rollback_only


def recount_totals(session: Session, settings: Settings, *, write: bool = True) -> totals.Recount:
    """Every total counted again from the raw rows and compared with the kept ones; with ``write``
    the kept ones are replaced (in this unit of work), without it nothing changes."""
    result = totals.recount(session.connection(), settings.zone, write=write)
    if not write:
        rollback_only(session)
    return result
