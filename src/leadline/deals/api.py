"""``/api/deals``: won (makes the customer record), lost, reopen; ``/api/proposals``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import Field

from leadline.deals import service
from leadline.deals.flows import send_proposal as send
from leadline.deals.schemas import DealLost, DealReopen, DealResult, DealWon
from leadline.deps import Actor, CurrentSettings, DbSession
from leadline.money import MAX_MONTHLY
from leadline.schemas import ApiModel, InputModel

router = APIRouter(prefix="/api/deals", tags=["deals"])


@router.post("/won", response_model=DealResult, status_code=201, summary="Win a deal: make the customer")
def deal_won(body: DealWon, session: DbSession, actor: Actor) -> Any:
    prospect, customer = service.won(session, body, actor=actor)
    return DealResult(prospect_id=prospect.id, sales_status=prospect.sales_status, customer_id=customer.id)


@router.post("/lost", response_model=DealResult, summary="Lose a deal, with the reason")
def deal_lost(body: DealLost, session: DbSession, actor: Actor) -> Any:
    prospect = service.lost(session, body.prospect_id, reason=body.reason, actor=actor)
    return DealResult(prospect_id=prospect.id, sales_status=prospect.sales_status)


@router.post("/reopen", response_model=DealResult, summary="Reopen a lost deal")
def deal_reopen(body: DealReopen, session: DbSession, actor: Actor) -> Any:
    prospect = service.reopen(session, body.prospect_id, reason=body.reason, stage=body.stage, actor=actor)
    return DealResult(prospect_id=prospect.id, sales_status=prospect.sales_status)


class ProposalSend(InputModel):
    prospect_id: Annotated[str, Field(min_length=1, max_length=80)]
    value: Annotated[float, Field(gt=0, le=MAX_MONTHLY, allow_inf_nan=False)]
    template: Annotated[str, Field(min_length=1, max_length=100)] = "proposal"
    force: bool = False
    dry_run: bool = False


class ProposalRead(ApiModel):
    prospect_id: str
    email_id: str | None
    value: float
    status: str
    subject: str | None
    sales_status: str


proposals_router = APIRouter(prefix="/api/proposals", tags=["deals"])


@proposals_router.post("", response_model=ProposalRead, summary="Email a proposal; record the value; move to proposal")
async def send_proposal(body: ProposalSend, settings: CurrentSettings, actor: Actor) -> Any:
    from starlette.concurrency import run_in_threadpool

    result = await run_in_threadpool(
        send, settings, body.prospect_id, body.value, actor=actor, template=body.template, force=body.force,
        dry_run=body.dry_run,
    )  # fmt: skip
    return ProposalRead(**result.__dict__)
