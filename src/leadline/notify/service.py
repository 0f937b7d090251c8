"""Raising notifications (delivery is the worker's job)."""

from __future__ import annotations

from typing import Any

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
) -> None:
    """Record a notification once: a second raise with the same ``dedup_key`` does nothing."""
    session.execute(
        insert_ignore(
            session,
            Notification,
            {
                "id": new_id("ntf"),
                "kind": kind,
                "dedup_key": dedup_key[:200],
                "title": title[:300],
                "body": body,
                "prospect_id": prospect_id,
                "payload": payload or {},
                "status": "pending",
                "attempts": 0,
                "created_at": utc_now(),
            },
            ["dedup_key"],
        )
    )
