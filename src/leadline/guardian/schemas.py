"""Reply labels and the domain checklist on the wire."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from leadline.schemas import ApiModel, InputModel

LabelName = Literal["interested", "meeting_request", "not_interested", "not_now", "unsubscribe_request", "referral",
                    "out_of_office", "auto_reply", "bounce_like", "other"]  # fmt: skip


class LabelChange(InputModel):
    label: LabelName = Field(description="The reply's label, as a person reads it.")
    note: Annotated[str | None, Field(max_length=500)] = None


class ReferralAccept(InputModel):
    name: Annotated[str | None, Field(min_length=1, max_length=200)] = None
    email: Annotated[str | None, Field(max_length=320)] = None


class ReplyRead(ApiModel):
    id: str
    prospect_id: str
    prospect_name: str
    email_id: str | None
    source: str
    label: str
    reason: str
    set_by: str
    rule_label: str
    named_date: date | None
    named_person: str | None
    named_email: str | None
    action: str
    action_detail: dict[str, Any]
    excerpt: str
    received_at: datetime


class CheckRead(ApiModel):
    status: Literal["pass", "warn", "fail"]
    detail: str
    record: str | None


class DomainCheckRead(ApiModel):
    domain: str
    spf: CheckRead
    dkim: CheckRead
    dmarc: CheckRead
    mx: CheckRead
    base_url: CheckRead
