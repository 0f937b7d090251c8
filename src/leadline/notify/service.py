"""Raising notifications, once each; the worker delivers them (notify/flows.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadline.clock import utc_now
from leadline.db import insert_ignore
from leadline.ids import new_id
from leadline.notify.models import Notification


def raise_event(
    session: Session,
    kind: str,
    dedup_key: str,
    title: str,
    *,
    body: str = "",
    prospect_id: str | None = None,
    payload: dict[str, Any] | None = None,
) -> bool:
    """Record a notification once: a second raise with the same ``dedup_key`` does nothing.

    Delivery is queued for after the commit; the periodic sweep catches any that the
    queue loses. Returns True when the notification is new.
    """
    notification_id = new_id("ntf")
    result = session.execute(
        insert_ignore(
            session,
            Notification,
            {
                "id": notification_id, "kind": kind, "dedup_key": dedup_key[:200], "title": title[:300],
                "body": body, "prospect_id": prospect_id, "payload": payload or {}, "status": "pending",
                "attempts": 0, "channels": [], "created_at": utc_now(),
            },
            ["dedup_key"],
        )
    )  # fmt: skip
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    from leadline import jobs

    jobs.defer(session, "notify.deliver", notification_id)
    return True


def search(
    session: Session, *, status: str | None = None, kind: str | None = None, limit: int = 50
) -> Sequence[Notification]:
    query = select(Notification).order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
    if status:
        query = query.where(Notification.status == status)
    if kind:
        query = query.where(Notification.kind == kind)
    return session.scalars(query).all()
