"""The one source of "now". Tests freeze it with ``clock.freeze(...)``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

_frozen: datetime | None = None
_offset = timedelta(0)


def utc_now() -> datetime:
    """Timezone-aware UTC now (frozen or shifted in tests and simulations)."""
    if _frozen is not None:
        return _frozen
    return datetime.now(UTC) + _offset


@contextmanager
def freeze(at: datetime) -> Iterator[None]:
    global _frozen
    if at.tzinfo is None:
        raise ValueError("freeze() needs an aware datetime")
    previous, _frozen = _frozen, at.astimezone(UTC)
    try:
        yield
    finally:
        _frozen = previous


def frozen_at() -> datetime | None:
    """The frozen "now", if a test or a simulation froze the clock."""
    return _frozen


def set_frozen(at: datetime | None) -> None:
    """Freeze (or, with None, unfreeze) the clock without a context manager."""
    global _frozen
    _frozen = None if at is None else at.astimezone(UTC)


def advance(delta: timedelta) -> None:
    """Move a frozen clock forward."""
    global _frozen
    if _frozen is None:
        raise RuntimeError("the clock is not frozen")
    _frozen = _frozen + delta
