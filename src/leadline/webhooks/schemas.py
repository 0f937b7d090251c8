"""What the webhook and inbox shells show: one shape for a received reply in the API and the CLI."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from leadline.schemas import ApiModel


class InboundRead(ApiModel):
    id: str
    status: str
    from_address: str | None
    subject: str | None
    reply_text: str | None
    email_activity_id: str | None
    prospect_id: str | None
    matched_by: str | None
    auto_reply: bool
    sender_verified: bool
    error: str | None = Field(description="Why a post could not be read (status failed; it is kept raw).")
    received_at: datetime
