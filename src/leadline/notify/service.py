"""Raising notifications, once each; the worker delivers them (notify/flows.py).

Whom one is for: the user named by the raiser (a task's owner), else the owner of its prospect
(``prospects.service.owner_of``). Delivery emails that user besides the team's channels, and their
Today page lists it (:func:`search` with ``recipient``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadline import jobs
from leadline.clock import utc_now
from leadline.db import insert_ignore
from leadline.ids import new_id
from leadline.notify.models import Notification
from leadline.prospects import service as prospects


def raise_event(
    session: Session,
    kind: str,
    dedup_key: str,
    title: str,
    *,
    body: str = "",
    prospect_id: str | None = None,
    payload: dict[str, Any] | None = None,
    recipient: str | None = None,
) -> bool:
    """Record a notification once: a second raise with the same ``dedup_key`` does nothing.

    Delivery is queued for after the commit; the periodic sweep catches any that the
    queue loses. Returns True when the notification is new. ``recipient`` (a user's email): whom it
    is for; by default the owner of ``prospect_id``.
    """
    if recipient is None and prospect_id is not None:
        recipient = prospects.owner_of(session, prospect_id)
    notification_id = new_id("ntf")
    result = session.execute(
        insert_ignore(
            session,
            Notification,
            {
                "id": notification_id, "kind": kind, "dedup_key": dedup_key[:200], "title": title[:300],
                "body": body, "prospect_id": prospect_id, "recipient": recipient, "payload": payload or {},
                "status": "pending", "attempts": 0, "channels": [], "created_at": utc_now(),
            },
            ["dedup_key"],
        )
    )  # fmt: skip
    if not result.rowcount:  # type: ignore[attr-defined]
        return False

    jobs.defer(session, "notify.deliver", notification_id)
    return True


def search(
    session: Session,
    *,
    status: str | None = None,
    kind: str | None = None,
    recipient: str | None = None,
    limit: int = 50,
) -> Sequence[Notification]:
    """Notifications, newest first; ``recipient``: only those for this user."""
    query = select(Notification).order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
    if recipient:
        query = query.where(Notification.recipient == recipient.strip().lower())
    if status:
        query = query.where(Notification.status == status)
    if kind:
        query = query.where(Notification.kind == kind)
    return session.scalars(query).all()
