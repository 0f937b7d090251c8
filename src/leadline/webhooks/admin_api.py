"""The CLI's webhook and inbox commands over HTTP: ``/api/webhooks/...`` and ``/api/inbound``
(under the API's sign-in requirement)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import Field

from leadline.auth.deps import ApiAdmin
from leadline.deps import Actor, CurrentSettings, DbSession, ReadSession
from leadline.schemas import ApiModel, InputModel
from leadline.webhooks import replies, service
from leadline.webhooks.flows import replay
from leadline.webhooks.schemas import InboundRead
from leadline.webhooks.security import webhook_urls as urls

router = APIRouter(tags=["webhooks"])


class WebhookStats(ApiModel):
    batches: int
    received: int
    stored: int
    duplicates: int
    applied: int
    unmatched: int
    ignored: int
    failed: int
    waiting: int
    last_received_at: datetime | None
    by_type: dict[str, int]
    replies: dict[str, int]
    unreadable: dict[str, int] = Field(
        description="Posts kept raw because they could not be read: eventWebhook and inboundParse."
    )


class ReplayRequest(InputModel):
    failed: bool = Field(False, description="Events that failed to apply.")
    unmatched: bool = Field(False, description="Events and replies not matched to an email.")


class ReplayResult(ApiModel):
    applied: int
    unmatched: int
    failed: int
    matched_replies: int


class WebhookUrls(ApiModel):
    event_webhook: str
    inbound_parse: str
    inbound_parse_basic_auth: str


class Assign(InputModel):
    email_id: str = Field(min_length=1, max_length=40, description="The email the reply answers.")


@router.get("/api/webhooks/stats", response_model=WebhookStats, summary="Events received, applied, duplicates...")
def webhook_stats(session: ReadSession) -> Any:
    return service.stats_summary(session)


@router.post("/api/webhooks/replay", response_model=ReplayResult, summary="Apply stored events again (admins)")
def webhook_replay(settings: CurrentSettings, actor: Actor, _: ApiAdmin, body: ReplayRequest | None = None) -> Any:
    chosen = body or ReplayRequest()
    return replay(settings, failed=chosen.failed, unmatched=chosen.unmatched, actor=actor)


@router.get("/api/webhooks/urls", response_model=WebhookUrls, summary="The URLs to paste into SendGrid (admins)")
def webhook_urls(settings: CurrentSettings, _: ApiAdmin) -> Any:
    return urls(settings)


@router.get("/api/inbound", response_model=list[InboundRead], summary="Replies received, newest first")
def inbound_list(
    session: ReadSession,
    status: Literal["matched", "unmatched", "auto_reply", "failed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> Any:
    return replies.replies(session, status=status, limit=limit)


@router.post("/api/inbound/{inbound_id}/assign", response_model=InboundRead, summary="Say which email a reply answers")
def inbound_assign(inbound_id: str, body: Assign, session: DbSession, settings: CurrentSettings, actor: Actor) -> Any:
    return replies.assign_reply(session, settings, inbound_id, body.email_id, actor=actor)
