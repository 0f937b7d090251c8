"""Task shapes on the wire, and the `today` view."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from leadline.fields import Email, LongText, Moment
from leadline.schemas import ApiModel, InputModel

TaskKind = Literal["next_step", "follow_up", "manual", "proposal", "call_back"]
#: The kinds a person may give a task. A task made for an action completes itself when that action
#: happens for its prospect: proposal (a proposal is sent), follow_up (an email is sent), call_back
#: (a call is logged). next_step tasks are made by logged calls.
NewTaskKind = Literal["manual", "follow_up", "proposal", "call_back"]
TASK_KIND_CHOICES = (("manual", "To do"), ("call_back", "Call back"), ("follow_up", "Follow up (email)"),
                     ("proposal", "Send a proposal"))  # fmt: skip
TaskState = Literal["open", "done", "all"]
TaskDue = Literal["today", "overdue"]
Snooze = Literal["1d", "3d", "1w"]
#: Snoozing moves the due date on from now (or from the due date, when that is later).
SNOOZES = (("1d", "A day", 1), ("3d", "Three days", 3), ("1w", "A week", 7))
SNOOZE_DAYS = {key: days for key, _, days in SNOOZES}
Title = Annotated[str, Field(min_length=1, max_length=500)]


class TaskCreate(InputModel):
    title: Title
    prospect_id: Annotated[str | None, Field(max_length=80)] = None
    customer_id: Annotated[str | None, Field(max_length=40, description="A customer (its prospect is set too).")] = None
    due: Moment | None = Field(None, description="A date (09:00 local) or a date and time; default: now.")
    kind: NewTaskKind = Field("manual", description="What it is for; an action's task completes itself when done.")
    owner: Email = Field(None, description="Whose task it is (a user's e-mail); default: who adds it, when a user.")
    notes: LongText = None


class TaskUpdate(InputModel):
    """A partial change: only the fields present are applied; owner and notes may be null (cleared)."""

    title: Title | None = None
    due: Moment | None = None
    snooze: Snooze | None = Field(
        None, description="Push the due date on: 1d, 3d or 1w (from now, or from a later due date)."
    )
    kind: NewTaskKind | None = None
    owner: Email = None
    notes: LongText = None


class TaskRead(ApiModel):
    id: str
    prospect_id: str | None
    prospect_name: str | None = None
    customer_id: str | None = None
    call_id: str | None
    title: str
    kind: TaskKind
    owner: str | None = None
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
    prospect_timezone: str | None = Field(None, description="The prospect's own zone, when known.")


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


class TodayText(ApiModel):
    """A text a prospect sent that no text of ours has answered yet (texts/)."""

    text_id: str
    prospect_id: str
    prospect_name: str
    body: str
    at: datetime
    from_number: str | None = Field(None, alias="from")


class TodayRead(ApiModel):
    date: str = Field(description="The local day (in the configured time zone), YYYY-MM-DD.")
    timezone: str
    calls: list[TodayCall]
    upcoming_calls: list[TodayCall] = Field(default_factory=list, description="Pending calls of the next 7 days.")
    overdue_follow_ups: list[TodayFollowUp]
    tasks: list[TaskRead]
    replies: list[TodayReply]
    texts: list[TodayText] = Field(default_factory=list, description="Texts from prospects waiting for an answer.")
    owner: str | None = Field(
        None, description="Whose day: only the prospects and tasks of this user (None: everyone's)."
    )
