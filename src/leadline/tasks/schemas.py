"""Task shapes on the wire, and the `today` view."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from leadline.fields import LongText, Moment
from leadline.schemas import ApiModel, InputModel

TaskKind = Literal["next_step", "follow_up", "manual"]
TaskState = Literal["open", "done", "all"]
TaskDue = Literal["today", "overdue"]


class TaskCreate(InputModel):
    title: Annotated[str, Field(min_length=1, max_length=500)]
    prospect_id: Annotated[str | None, Field(max_length=80)] = None
    due: Moment | None = Field(None, description="A date (09:00 local) or a date and time; default: now.")
    notes: LongText = None


class TaskRead(ApiModel):
    id: str
    prospect_id: str | None
    prospect_name: str | None = None
    call_id: str | None
    title: str
    kind: TaskKind
    due_at: datetime
    done_at: datetime | None
    done_by: str | None
    notes: str | None
    created_by: str
    created_at: datetime


class TodayCall(ApiModel):
    call_id: str
    prospect_id: str
    prospect_name: str
    contact_name: str | None
    phone: str | None
    grid_health: float | None
    sales_status: str
    scheduled_at: datetime
    overdue: bool
    notes: str | None
    past_objections: list[str]


class TodayFollowUp(ApiModel):
    prospect_id: str
    prospect_name: str
    phone: str | None
    sales_status: str
    next_follow_up_at: datetime
    last_contact_at: datetime | None


class TodayReply(ApiModel):
    prospect_id: str
    prospect_name: str
    contact_name: str | None
    phone: str | None
    email_id: str
    subject: str
    replied_at: datetime
    reply_text: str | None


class TodayRead(ApiModel):
    date: str = Field(description="The local day (in the configured time zone), YYYY-MM-DD.")
    timezone: str
    calls: list[TodayCall]
    overdue_follow_ups: list[TodayFollowUp]
    tasks: list[TaskRead]
    replies: list[TodayReply]
