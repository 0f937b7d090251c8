"""``/api/sequences``: start (the steps due now are sent at once, the worker sends the rest), stop, status."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from leadline.deps import Actor, CurrentSettings, DbSession, ReadSession
from leadline.prospects.selection import Selection
from leadline.schemas import ApiModel, InputModel
from leadline.senders.schemas import SenderKeys
from leadline.sequences import flows, service
from leadline.times import to_utc

router = APIRouter(prefix="/api/sequences", tags=["sequences"])


class SequenceStart(Selection):
    """``prospectIds``, or a selection (``status``/``tier``/``trade`` with ``limit``): the one rule of
    :class:`~leadline.prospects.selection.Selection`."""

    template: Annotated[str, Field(min_length=1, max_length=100)]
    steps: Annotated[str | None, Field(max_length=1000, description="e.g. follow_up_1:3d,follow_up_2:4d")] = None
    at: datetime | None = Field(None, description="When the first emails go (default: now).")
    dry_run: bool = False
    senders: SenderKeys = None


class EnrollmentRead(ApiModel):
    id: str
    sequence_id: str
    prospect_id: str
    prospect_name: str
    status: str
    step: int
    steps: list[str]
    next_send_at: datetime | None
    stop_reason: str | None
    last_email_id: str | None
    last_sent_at: datetime | None
    created_at: datetime


class StartResult(ApiModel):
    sequence_id: str | None
    dry_run: bool
    steps: list[str]
    enrolled: list[dict[str, str]]
    skipped: list[dict[str, str]]
    sent_now: int = Field(description="Emails sent by the start itself (those due now).")
    waiting: int = Field(description="Prospects whose first email waits: its time, their sending window, the cap.")


class StopRequest(InputModel):
    prospect_id: Annotated[str | None, Field(max_length=80)] = None
    all: bool = False
    reason: Annotated[str | None, Field(max_length=500)] = None


@router.post("", response_model=StartResult, status_code=201, summary="Start a follow-up sequence")
def start(body: SequenceStart, settings: CurrentSettings, actor: Actor) -> Any:
    """Enrols the prospects and sends the emails due now, as ``leadline sequences start`` does."""

    at = to_utc(body.at, settings.zone, field="at") if body.at else None
    started = flows.start(settings, body.template, chosen=body, steps=body.steps, at=at, dry_run=body.dry_run,
                          actor=actor, sender_keys=body.senders)  # fmt: skip
    return started.as_dict()


@router.get("/status", response_model=list[EnrollmentRead], summary="Sequence enrollments and their next step")
def status(session: ReadSession, include_ended: Annotated[bool, Query(alias="all")] = False) -> Any:
    return [EnrollmentRead(**vars(row)) for row in service.status(session, include_ended=include_ended)]


@router.post("/stop", summary="Stop a prospect's sequence, or all of them")
def stop(body: StopRequest, session: DbSession, actor: Actor) -> dict[str, int]:
    return {"stopped": service.stop(session, actor=actor, prospect_id=body.prospect_id, everything=body.all,
                                    reason=body.reason)}  # fmt: skip
