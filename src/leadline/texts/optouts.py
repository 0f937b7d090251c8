"""Opted-out numbers, kept like email suppressions: a number that texted STOP (or that Twilio reports
opted out, or that a person opted out) is never texted until it texts START or a person lifts it."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadline.clock import utc_now
from leadline.db import insert_ignore
from leadline.errors import NotFound
from leadline.texts.models import TextOptOut


def find(session: Session, number: str) -> TextOptOut | None:
    return session.get(TextOptOut, number)


def add(session: Session, number: str, *, reason: str, source: str, keyword: str | None = None) -> bool:
    """Opt ``number`` (E.164) out at once; True when it was not opted out already."""
    done = session.execute(
        insert_ignore(
            session, TextOptOut,
            {"number": number, "reason": reason, "source": source[:200], "keyword": keyword, "created_at": utc_now()},
            ["number"],
        )
    )  # fmt: skip
    return bool(done.rowcount)  # type: ignore[attr-defined]


def lift(session: Session, number: str, *, missing_ok: bool = True) -> bool:
    """Texts may go to ``number`` again (it texted START, or a person lifted it)."""
    found = session.get(TextOptOut, number, with_for_update=True)
    if found is None:
        if missing_ok:
            return False
        raise NotFound(f"{number} is not opted out", field="number")
    session.delete(found)
    session.flush()
    return True


def search(session: Session, *, limit: int = 500) -> Sequence[TextOptOut]:
    return session.scalars(select(TextOptOut).order_by(TextOptOut.created_at.desc()).limit(limit)).all()
