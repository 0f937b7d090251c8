"""Customer shapes on the wire."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from leadline.fields import INT32_MAX, Email, LongText, Moment, Phone, Website, WebUrl
from leadline.money import MAX_MONTHLY
from leadline.schemas import ApiModel, InputModel

ServiceType = Literal["grid_health_analysis", "content_generation", "paid_ads"]
CustomerStatus = Literal["active", "paused", "churned"]
Fee = Annotated[float, Field(ge=0, le=MAX_MONTHLY, allow_inf_nan=False)]
Health = Annotated[float | None, Field(ge=0, le=100, allow_inf_nan=False)]
Count = Annotated[int | None, Field(ge=0, le=INT32_MAX)]
Short = Annotated[str | None, Field(max_length=200)]


class CustomerRead(ApiModel):
    id: str
    prospect_id: str
    company_name: str
    contact_name: str | None
    email: str | None
    phone: str | None
    website: str | None
    service_type: str
    monthly_fee: float
    start_date: datetime
    end_date: datetime | None
    contract_url: str | None
    signed_at: datetime
    primary_contact: str | None
    slack_channel: str | None
    google_drive_folder: str | None
    initial_grid_health: float | None
    current_grid_health: float | None
    impressions_generated: int | None
    leads_generated: int | None
    status: CustomerStatus
    notes: str | None
    created_at: datetime
    updated_at: datetime


class CustomerList(ApiModel):
    items: list[CustomerRead]
    total: int
    mrr: float = Field(description="Monthly recurring revenue: the sum of active customers' monthly fees.")


class CustomerUpdate(InputModel):
    """A partial change: only the fields present are applied; null clears an optional field."""

    company_name: Annotated[str | None, Field(min_length=1, max_length=200)] = None
    contact_name: Short = None
    email: Email = None
    phone: Phone = None
    website: Website = None
    service_type: ServiceType | None = None
    monthly_fee: Fee | None = None
    start_date: Moment | None = None
    contract_url: WebUrl = None
    primary_contact: Short = None
    slack_channel: Short = None
    google_drive_folder: WebUrl = None
    current_grid_health: Health = None
    impressions_generated: Count = None
    leads_generated: Count = None
    notes: LongText = None

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


REQUIRED_FIELDS = ("company_name", "service_type", "monthly_fee", "start_date")


class StatusChange(InputModel):
    reason: Annotated[str | None, Field(max_length=500)] = None


def as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value
