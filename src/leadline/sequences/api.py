"""``/api/sequences``: start, stop, status (the worker sends the steps)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field, model_validator

from leadline.deps import Actor, CurrentSettings, DbSession, ReadSession
from leadline.prospects.queries import Filters
from leadline.prospects.schemas import Stage
from leadline.schemas import ApiModel, InputModel
from leadline.sequences import service

router = APIRouter(prefix="/api/sequences", tags=["sequences"])


class SequenceStart(InputModel):
    template: Annotated[str, Field(min_length=1, max_length=100)]
    steps: Annotated[str | None, Field(max_length=1000, description="e.g. follow_up_1:3d,follow_up_2:4d")] = None
    prospect_ids: Annotated[list[str], Field(max_length=1000)] = Field(default_factory=list)
    status: Stage | None = None
    tier: Annotated[int | None, Field(ge=1, le=3)] = None
    trade: Annotated[str | None, Field(max_length=80)] = None
    limit: Annotated[int | None, Field(ge=1, le=10_000)] = None
    at: datetime | None = Field(None, description="When the first emails go (default: now).")
    dry_run: bool = False

    @model_validator(mode="after")
    def _one_way(self) -> SequenceStart:
        selection = self.status is not None or self.tier is not None or self.trade is not None
        if bool(self.prospect_ids) == selection:
            raise ValueError("give prospectIds, or a selection (status, tier, trade) with a limit")
        if selection and self.limit is None:
            raise ValueError("a selection needs a limit")
        return self


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


class StopRequest(InputModel):
    prospect_id: Annotated[str | None, Field(max_length=80)] = None
    all: bool = False
    reason: Annotated[str | None, Field(max_length=500)] = None


@router.post("", response_model=StartResult, status_code=201, summary="Start a follow-up sequence")
def start(body: SequenceStart, session: DbSession, settings: CurrentSettings, actor: Actor) -> Any:
    from leadline.times import to_utc

    selection = body.status is not None or body.tier is not None or body.trade is not None
    steps = service.parse_steps(body.steps if body.steps is not None else settings.sequence_steps)
    at = to_utc(body.at, settings.zone, field="at") if body.at else None
    sequence, plan = service.start(
        session, settings, body.template, steps=steps, actor=actor, prospect_ids=body.prospect_ids or None,
        filters=Filters(status=body.status, tier=body.tier, trade=body.trade) if selection else None,
        limit=body.limit, at=at, dry_run=body.dry_run,
    )  # fmt: skip
    return StartResult(
        sequence_id=sequence.id if sequence else None, dry_run=body.dry_run,
        steps=[s["template"] for s in plan.sequence_steps],
        enrolled=[{"prospectId": p, "name": n, "firstStep": plan.first_step(p)} for p, n in plan.enrolled],
        skipped=[{"prospectId": s.prospect_id, "reason": s.reason, "code": s.code} for s in plan.skipped],
    )  # fmt: skip


@router.get("/status", response_model=list[EnrollmentRead], summary="Sequence enrollments and their next step")
def status(session: ReadSession, include_ended: Annotated[bool, Query(alias="all")] = False) -> Any:
    return [EnrollmentRead(**vars(row)) for row in service.status(session, include_ended=include_ended)]


@router.post("/stop", summary="Stop a prospect's sequence, or all of them")
def stop(body: StopRequest, session: DbSession, actor: Actor) -> dict[str, int]:
    return {"stopped": service.stop(session, actor=actor, prospect_id=body.prospect_id, everything=body.all,
                                    reason=body.reason)}  # fmt: skip
