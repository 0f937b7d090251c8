"""Call shapes on the wire: book, log (the seed's ``POST /api/calls`` body), edit, read."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from leadline.calls.objections import parse as parse_objections
from leadline.customers.schemas import Fee, ServiceType
from leadline.fields import Duration, FreeText, LongText, Moment, TextLines, WebUrl, When
from leadline.schemas import ApiModel, InputModel
from leadline.tasks.schemas import TaskRead

Outcome = Literal["interested", "not_interested", "follow_up", "proposal_sent", "closed_won"]
OUTCOMES: tuple[str, ...] = Outcome.__args__  # type: ignore[attr-defined]
CallStatus = Literal["scheduled", "completed", "cancelled", "no_show"]
#: ``pending``: booked and not logged yet; ``overdue``: pending and its time has passed.
CallListStatus = Literal["booked", "pending", "overdue", "completed", "cancelled", "no_show"]
ProspectRef = Annotated[str, Field(min_length=1, max_length=80)]
Reason = Annotated[str | None, Field(max_length=500)]
NextSteps = Annotated[FreeText | None, Field(max_length=1000)]
#: Objections as said: text is split on commas and line breaks, a list's items are one each
#: (:func:`leadline.calls.objections.parse`, the one parser); at most 50, each one line of at most 500.
Objections = Annotated[
    list[Annotated[str, Field(max_length=500)]], TextLines, BeforeValidator(parse_objections), Field(max_length=50)
]


class CallBook(InputModel):
    """Book a call (``POST /api/calls`` with ``scheduledAt``)."""

    prospect_id: ProspectRef
    scheduled_at: When = Field(description="Wall-clock time in the configured zone unless it has an offset.")
    notes: LongText = None


class _Outcome(InputModel):
    """What a logged call says, shared by logging and by completing a booked call."""

    duration: Duration | None = Field(None, description="Seconds, or text like 25m, 1h30m, 25:00.")
    notes: LongText = None
    objections: Objections = Field(default_factory=list)
    next_steps: NextSteps = None
    completed_at: When | None = Field(None, description="When the call ended; default: now.")
    recording_url: WebUrl = None
    follow_up_at: Moment | None = Field(None, description="Outcome follow_up: when to follow up.")
    next_step_due: Moment | None = Field(
        None, description="When the next-step task is due; default: N business days at 09:00."
    )
    lost_reason: Reason = Field(None, description="Outcome not_interested: why (default: the objections).")
    service_type: ServiceType | None = Field(None, description="Outcome closed_won: the service sold.")
    monthly_fee: Fee | None = Field(None, description="Outcome closed_won: default the prospect's dealValue.")
    start_date: Moment | None = None
    signed_at: Moment | None = None
    contract_url: WebUrl = None


class CallLog(_Outcome):
    """Log a call that happened (the seed's ``create:call`` / ``POST /api/calls`` body).

    With a booked, pending call for the prospect the earliest one is completed (or the one
    named by ``callId``); otherwise a call is created and completed.
    """

    prospect_id: Annotated[str | None, Field(max_length=80)] = None
    call_id: Annotated[str | None, Field(max_length=40)] = None
    outcome: Outcome
    scheduled_at: When | None = Field(
        None, description="When the call started; default: the booked time, else completedAt - duration."
    )


class CallEdit(_Outcome):
    """``PATCH /api/calls/{id}``: with ``outcome`` on a booked call, log it; on a logged call,
    fix its duration, notes, objections, next steps or recording."""

    outcome: Outcome | None = None
    objections: Objections | None = None  # type: ignore[assignment]

    def given(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class Reschedule(InputModel):
    scheduled_at: When
    reason: Reason = None


class Cancel(InputModel):
    reason: Reason = None


class NoShow(InputModel):
    notes: Annotated[FreeText | None, Field(max_length=500)] = None


class CallRead(ApiModel):
    id: str
    prospect_id: str
    prospect_name: str | None = None
    prospect_timezone: str | None = Field(None, description="The prospect's own zone, when known.")
    outreach_activity_id: str | None
    status: CallStatus
    outcome: str
    scheduled_at: datetime | None
    completed_at: datetime | None
    duration: int | None = Field(description="Seconds.")
    notes: str | None
    objections: list[str]
    objection_categories: list[str]
    next_steps: str | None
    recording_url: str | None
    cancel_reason: str | None
    ics_sequence: int
    created_at: datetime
    updated_at: datetime


class CallLogged(CallRead):
    """A call after logging: with the prospect's stage, the next-step task and any customer."""

    sales_status: str
    task: TaskRead | None = None
    customer_id: str | None = None


class ObjectionCategory(ApiModel):
    category: str
    label: str
    count: int
    share: float = Field(description="Of all objections, 0-1.")
    examples: list[str]
