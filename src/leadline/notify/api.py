"""``/api/notifications``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from leadline.deps import ReadSession
from leadline.notify import service
from leadline.schemas import ApiModel

router = APIRouter(prefix="/api/notifications", tags=["notifications"])


class NotificationRead(ApiModel):
    id: str
    kind: str
    title: str
    body: str
    status: str
    channels: list[str]
    attempts: int
    prospect_id: str | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


@router.get("", response_model=list[NotificationRead], summary="Notifications, newest first")
def list_notifications(
    session: ReadSession,
    status: Literal["pending", "sending", "sent", "failed", "recorded"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Any:
    return service.search(session, status=status, limit=limit)
