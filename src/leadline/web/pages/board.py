"""``/board``: the pipeline as columns (current stages), and moving a prospect by hand.

A move goes through ``prospects.service.move_stage``, exactly as ``leadline prospects stage`` and
``POST /api/prospects/{id}/stage`` do: the same rules, the same one-line refusals, the same
timeline entry, with the signed-in user as the actor. ``static/board.js`` sends a dragged card
(or the card's "Move to" select) here and swaps in the board it gets back; without JavaScript
the select's form posts and the whole page comes back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from leadline.analytics.service.common import snapshot
from leadline.analytics.service.what_works import forecast as weighted
from leadline.auth.deps import PageUser, PageWriter, Principal
from leadline.db import unit_of_work
from leadline.errors import LeadlineError
from leadline.prospects import service as prospects
from leadline.prospects.stages import STAGE_LABELS, STAGES
from leadline.web.pages.forms import errors_of, read_form
from leadline.web.render import page, settings_of

router = APIRouter(include_in_schema=False)

#: Cards shown per column; the rest are behind an "and N more" link to the prospects list.
CARDS_PER_COLUMN = 50
FRAGMENT_HEADER = "x-leadline-fragment"


@dataclass
class Column:
    stage: str
    label: str
    total: int
    cards: list[dict[str, Any]] = field(default_factory=list)
    value: float | None = None  # the sum of deal values (open stages; from the forecast)
    probability: float | None = None
    weighted: float | None = None

    @property
    def more(self) -> int:
        return max(0, self.total - len(self.cards))


def board_columns(request: Request, *, cap: int | None = None) -> list[Column]:
    settings = settings_of(request)
    cap = cap or CARDS_PER_COLUMN
    columns = []
    with unit_of_work(settings, readonly=True) as session:
        snapshot(session)
        forecast = {s.stage: s for s in weighted(session, settings=settings).stages}
        for stage in STAGES:
            items, total = prospects.in_stage(session, stage, limit=cap)
            column = Column(stage=stage, label=STAGE_LABELS[stage], total=total)
            column.cards = [
                {"id": p.id, "name": p.name, "trade": p.trade, "tier": p.tier, "value": p.deal_value,
                 "dnc": p.do_not_contact}
                for p in items
            ]  # fmt: skip
            weights = forecast.get(stage)
            if weights is not None:
                column.value, column.probability, column.weighted = weights.value, weights.probability, weights.weighted
            columns.append(column)
    return columns


def _board(request: Request, principal: Principal, *, flash: str = "", kind: str = "ok", status: int = 200,
           fragment: bool = False) -> Response:  # fmt: skip
    context = {"columns": board_columns(request), "stages": [(s, STAGE_LABELS[s]) for s in STAGES],
               "can_move": principal.can_write, "board_message": flash, "board_kind": kind}  # fmt: skip
    return page(request, "app/board/_board.html" if fragment else "app/board/index.html", context, status)


@router.get("/board")
def board(request: Request, principal: PageUser) -> Response:
    return _board(request, principal)


@router.post("/board/move")
async def move(request: Request, principal: PageWriter) -> Response:
    values = await read_form(request)
    fragment = request.headers.get(FRAGMENT_HEADER) == "1"

    def work() -> str:  # the service checks the move (prospects.schemas.StageMove: a reason is required)
        with unit_of_work(settings_of(request)) as session:
            moved = prospects.move_stage(session, values.get("prospectId", ""), values.get("stage", ""),
                                         reason=values.get("reason", ""), actor=principal.actor)  # fmt: skip
            return f"{moved.name} moved to {STAGE_LABELS[moved.sales_status]}."

    try:
        message = await run_in_threadpool(work)
    except (LeadlineError, ValidationError) as error:
        # Refused: the unit of work rolled back; the card goes back where it was.
        problem = errors_of(error)
        field = next(iter(problem.fields), None)
        if fragment:
            code = error.code if isinstance(error, LeadlineError) else "invalid"
            return JSONResponse({"error": code, "message": problem.line, "field": field}, status_code=problem.status)
        return await run_in_threadpool(_board, request, principal, flash=problem.line, kind="bad",
                                       status=problem.status)  # fmt: skip
    return await run_in_threadpool(_board, request, principal, flash=message, fragment=fragment)
