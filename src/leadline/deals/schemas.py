"""Deal shapes on the wire: win, lose, reopen."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from leadline.customers.schemas import Fee, ServiceType
from leadline.fields import LongText, Moment, WebUrl
from leadline.schemas import ApiModel, InputModel

OpenStage = Literal["new", "contacted", "replied", "scheduled", "interested", "proposal"]
Reason = Annotated[str, Field(min_length=1, max_length=500)]


class DealWon(InputModel):
    prospect_id: Annotated[str, Field(min_length=1, max_length=80)]
    service_type: ServiceType
    monthly_fee: Fee
    start_date: Moment | None = Field(None, description="When the service starts; default: the signing day.")
    signed_at: Moment | None = Field(None, description="When the contract was signed; default: now.")
    contract_url: WebUrl = None
    notes: LongText = None


class DealLost(InputModel):
    prospect_id: Annotated[str, Field(min_length=1, max_length=80)]
    reason: Reason


class DealReopen(InputModel):
    prospect_id: Annotated[str, Field(min_length=1, max_length=80)]
    reason: Reason
    stage: OpenStage | None = Field(None, description="Default: the stage it was lost from.")


class DealResult(ApiModel):
    prospect_id: str
    sales_status: str
    customer_id: str | None = None
