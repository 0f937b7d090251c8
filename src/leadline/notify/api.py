"""``/api/notifications`` and ``/api/notify/test``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import Field

from leadline.deps import CurrentSettings, ReadSession
from leadline.notify import service
from leadline.notify.flows import send_test
from leadline.schemas import ApiModel

notifications_router = APIRouter(prefix="/api/notifications", tags=["notifications"])
notify_router = APIRouter(prefix="/api/notify", tags=["notifications"])


class NotificationRead(ApiModel):
    id: str
    kind: str
    title: str
    body: str
    status: str
    channels: list[str]
    attempts: int
    prospect_id: str | None
    recipient: str | None = Field(None, description="The user it is for: its task's or prospect's owner.")
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


@notifications_router.get("", response_model=list[NotificationRead], summary="Notifications, newest first")
def list_notifications(
    session: ReadSession,
    status: Literal["pending", "sending", "sent", "failed", "recorded"] | None = None,
    recipient: Annotated[str | None, Query(max_length=320, description="Only those for this user (e-mail).")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Any:
    return service.search(session, status=status, recipient=recipient, limit=limit)


class NotifyTest(ApiModel):
    status: str
    channels: list[str]
    error: str | None


@notify_router.post("/test", response_model=NotifyTest, summary="Send a test notification to the channels set")
def notify_test(settings: CurrentSettings) -> Any:
    result = send_test(settings)
    if result is None:
        return {"status": "recorded", "channels": [], "error": None}
    return {"status": result.status, "channels": result.channels, "error": result.error}


router = APIRouter()
router.include_router(notifications_router)
router.include_router(notify_router)
