"""``/api/deals``: won (makes the customer record), lost, reopen."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from leadline.deals import service
from leadline.deals.schemas import DealLost, DealReopen, DealResult, DealWon
from leadline.deps import Actor, DbSession

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
