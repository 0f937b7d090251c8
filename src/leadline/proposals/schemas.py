"""Proposal shapes: create, change, accept, decline; a proposal as read."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from leadline.customers.schemas import ServiceType
from leadline.fields import FreeText
from leadline.money import MAX_MONTHLY
from leadline.schemas import ApiModel, InputModel

Fee = Annotated[float, Field(gt=0, le=MAX_MONTHLY, allow_inf_nan=False)]
Title = Annotated[str, Field(min_length=1, max_length=200)]
Intro = Annotated[FreeText | None, Field(max_length=5000)]
TemplateName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[a-z0-9][a-z0-9_-]*$")]


class ProposalCreate(InputModel):
    prospect_id: Annotated[str, Field(min_length=1, max_length=80)]
    service_type: ServiceType
    monthly_fee: Fee
    title: Title | None = Field(None, description="Default: 'Proposal for <the business>'.")
    intro: Intro = None
    template: TemplateName = "standard"


class ProposalUpdate(InputModel):
    service_type: ServiceType | None = None
    monthly_fee: Fee | None = None
    title: Title | None = None
    intro: Intro = None
    template: TemplateName | None = None


class Acceptance(InputModel):
    """The prospect's acceptance: the name typed, the box ticked, the SHA-256 of the document they were shown."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    agree: bool = False
    document: Annotated[str, Field(min_length=64, max_length=64, pattern=r"^[0-9a-f]{64}$")]


class Decline(InputModel):
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class ProposalSendRequest(InputModel):
    template: Annotated[str, Field(min_length=1, max_length=100)] = "proposal"
    force: bool = False


class VersionRead(ApiModel):
    version: int
    service_type: str
    monthly_fee: float
    sha256: str
    created_at: datetime
    sent_at: datetime | None
    replaced_at: datetime | None
    url: str | None = None


class ViewRead(ApiModel):
    version: int
    viewed_at: datetime
    seconds: int


class ProposalRead(ApiModel):
    id: str
    prospect_id: str
    title: str
    service_type: str
    monthly_fee: float
    intro: str | None
    template: str
    status: str
    version: int
    created_by: str
    created_at: datetime
    sent_at: datetime | None
    first_viewed_at: datetime | None
    accepted_at: datetime | None
    accepted_version: int | None
    signer_name: str | None
    signer_ip: str | None
    signer_agent: str | None
    signed_sha256: str | None
    signed_file_id: str | None
    customer_id: str | None
    declined_at: datetime | None
    decline_reason: str | None
    url: str | None = None
    views: list[ViewRead] = Field(default_factory=list)
    versions: list[VersionRead] = Field(default_factory=list)
