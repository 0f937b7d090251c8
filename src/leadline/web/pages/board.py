"""``/board``: the pipeline as columns (current stages), and moving a prospect by hand.

Filters (tier, owner, trade, tag) and how many New cards show ride in the query and in every move form;
after a move the board offers Undo (the move back, reason "undo"); a refused move is said in plain words.
A move goes through ``prospects.service.move_stage``, exactly as ``leadline prospects stage`` and
``POST /api/prospects/{id}/stage`` do: the same rules, the same one-line refusals, the same
timeline entry, with the signed-in user as the actor. ``static/board.js`` sends a dragged card
(or the card's "Move to" select) here and swaps in the board it gets back; without JavaScript
the select's form posts and the whole page comes back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from leadline import money
from leadline.auth.deps import PageUser, PageWriter, Principal
from leadline.db import unit_of_work
from leadline.errors import LeadlineError
from leadline.fields import digits
from leadline.prospects import bulk
from leadline.prospects import service as prospects
from leadline.prospects.stages import OPEN_STAGES, STAGE_LABELS, STAGES
from leadline.web.pages.forms import errors_of, read_form
from leadline.web.render import page, settings_of

router = APIRouter(include_in_schema=False)

#: Cards shown per column; the rest are behind an "and N more" link to the prospects list.
CARDS_PER_COLUMN = 50
#: The New column (the biggest by far) shows this many first, and "Show more" adds as many again.
NEW_CARDS = 20
NEW_CARDS_MAX = 500
MAX_TAG = 40  # as prospects.schemas.ProspectFilter's tag
FRAGMENT_HEADER = "x-leadline-fragment"
FILTERS = ("tier", "owner", "trade")


@dataclass
class Column:
    stage: str
    label: str
    total: int
    cards: list[dict[str, Any]] = field(default_factory=list)
    value: float = 0.0  # the sum of deal values, closed stages too
    probability: float | None = None  # open stages only (the forecast's weights)
    weighted: float | None = None

    @property
    def more(self) -> int:
        return max(0, self.total - len(self.cards))


def _new_cards(text: str) -> int | None:
    """The number of New cards ``text`` asks for, if the board shows that many."""
    return int(text) if digits(text) and len(text) <= 6 and NEW_CARDS <= int(text) <= NEW_CARDS_MAX else None


@dataclass
class View:
    """The board's filters and how many New cards it shows, from the query or the move form."""

    tier: int | None = None
    owner: str = ""
    trade: str = ""
    tag: str = ""
    new: int = NEW_CARDS

    @classmethod
    def of(cls, values: Mapping[str, str]) -> View:
        """The view ``values`` ask for; what :func:`problem` refuses falls back to the default."""
        tier = values.get("tier", "").strip()
        new = values.get("new", "").strip()
        tag = " ".join(values.get("tag", "").lower().split())
        return cls(
            tier=int(tier) if tier in ("1", "2", "3") else None, owner=values.get("owner", "").strip(),
            trade=values.get("trade", "").strip(), tag=tag if len(tag) <= MAX_TAG else "",
            new=_new_cards(new) or NEW_CARDS,
        )  # fmt: skip

    @staticmethod
    def problem(values: Mapping[str, str]) -> str | None:
        """What is wrong with the view ``values`` ask for, in one line naming the field (None: nothing)."""
        tier = values.get("tier", "").strip()
        if tier and tier not in ("1", "2", "3"):
            return f"tier: {tier[:40]!r} is not a tier (1, 2 or 3)"
        new = values.get("new", "").strip()
        if new and _new_cards(new) is None:
            return f"new: {new[:40]!r} is not a number of New cards from {NEW_CARDS} to {NEW_CARDS_MAX}"
        if len(" ".join(values.get("tag", "").split())) > MAX_TAG:
            return f"tag: a tag has at most {MAX_TAG} characters"
        return None

    def only(self) -> prospects.BoardFilter:
        return prospects.BoardFilter(
            tier=self.tier, trade=self.trade or None, owner=self.owner or None, tag=self.tag or None
        )

    def params(self, **changes: Any) -> dict[str, str]:
        values = {"tier": str(self.tier or ""), "owner": self.owner, "trade": self.trade, "tag": self.tag,
                  "new": str(self.new) if self.new != NEW_CARDS else ""}  # fmt: skip
        values |= {k: str(v) for k, v in changes.items()}
        return {k: v for k, v in values.items() if v}

    def query(self, **changes: Any) -> str:
        found = urlencode(self.params(**changes))
        return f"?{found}" if found else ""

    @property
    def filtered(self) -> bool:
        return bool(self.tier or self.owner or self.trade or self.tag)


def board_columns(request: Request, view: View) -> tuple[list[Column], list[str], list[str], list[str]]:
    settings = settings_of(request)
    only = view.only()
    columns = []
    with unit_of_work(settings, readonly=True) as session:
        values = prospects.stage_values(session, only=only)
        for stage in STAGES:
            cap = view.new if stage == "new" else CARDS_PER_COLUMN
            items, total = prospects.in_stage(session, stage, limit=cap, only=only)
            column = Column(stage=stage, label=STAGE_LABELS[stage], total=total, value=values.get(stage, 0.0))
            card_tags = prospects.tags_of(session, [p.id for p in items]) if items else {}
            column.cards = [
                {"id": p.id, "name": p.name, "trade": p.trade, "tier": p.tier, "value": p.deal_value,
                 "dnc": p.do_not_contact, "owner": p.owner, "tags": card_tags.get(p.id, [])}
                for p in items
            ]  # fmt: skip
            if stage in OPEN_STAGES:
                column.probability = float(settings.stage_probabilities.get(stage, 0.0))
                column.weighted = column.value * column.probability
            columns.append(column)
        owners, trades = prospects.owners(session), prospects.trades(session)
        tags = [tag for tag, _ in bulk.all_tags(session)]
    return columns, owners, trades, tags


@dataclass
class Message:
    """What the board says after a move: plain words, an optional link, and the move's undo."""

    text: str
    kind: str = "ok"
    link: str = ""
    link_text: str = ""
    undo: dict[str, str] | None = None  # prospectId and the stage it came from

    def as_dict(self) -> dict[str, Any]:
        return {"message": self.text, "link": self.link or None, "linkText": self.link_text or None}


def refusal(error: Exception) -> Message:
    """A refused move in plain words (the service's line names commands; the board names buttons)."""
    if isinstance(error, prospects.StageMoveNotAllowed):
        if error.rule == "needs_deal_won":
            return Message("To win a deal, use Won on the prospect's page: it makes the customer record.", "bad",
                           f"/prospects/{quote(error.subject)}#won-form", "Open the prospect")  # fmt: skip
        if error.rule == "active_customer":
            return Message("This prospect is a customer: to move it back, churn the customer on its page first.",
                           "bad", f"/customers/{quote(error.subject)}", "Open the customer")  # fmt: skip
        if error.rule == "same_stage":
            return Message("It is already in that stage: nothing moved.", "bad")
    return Message(errors_of(error).line, "bad")


def _board(request: Request, principal: Principal, view: View, *, message: Message | None = None,
           status: int = 200, fragment: bool = False) -> Response:  # fmt: skip
    columns, owners, trades, tags = board_columns(request, view)
    context = {"columns": columns, "stages": [(s, STAGE_LABELS[s]) for s in STAGES], "view": view,
               "can_move": principal.can_write, "message": message, "owners": owners, "trades": trades,
               "tags": tags,
               "symbol": money.symbol(settings_of(request).currency),
               "new_step": NEW_CARDS, "new_max": NEW_CARDS_MAX}  # fmt: skip
    return page(request, "app/board/_board.html" if fragment else "app/board/index.html", context, status)


@router.get("/board")
def board(request: Request, principal: PageUser) -> Response:
    problem = View.problem(request.query_params)
    if problem:  # as every page's bad filter: said, and the board shown without it
        return _board(request, principal, View.of(request.query_params), message=Message(problem, "bad"), status=422)
    return _board(request, principal, View.of(request.query_params))


@router.post("/board/move")
async def move(request: Request, principal: PageWriter) -> Response:
    values = await read_form(request)
    fragment = request.headers.get(FRAGMENT_HEADER) == "1"
    view = View.of(values)
    prospect_id = values.get("prospectId", "")
    problem = View.problem(values)
    if problem:  # nothing moves on a form that asks for a board this page cannot show
        if fragment:
            return JSONResponse({"error": "invalid", "field": problem.split(":", 1)[0], "message": problem,
                                 "link": None, "linkText": None}, status_code=422)  # fmt: skip
        return await run_in_threadpool(_board, request, principal, view, message=Message(problem, "bad"), status=422)

    def work() -> Message:  # the service checks the move (prospects.schemas.StageMove: a reason is required)
        with unit_of_work(settings_of(request)) as session:
            try:
                before = prospects.get(session, prospect_id).sales_status
            except LeadlineError:
                before = ""  # move_stage says what is wrong, the reason first
            moved = prospects.move_stage(session, prospect_id, values.get("stage", ""),
                                         reason=values.get("reason", ""), actor=principal.actor)  # fmt: skip
            label = STAGE_LABELS[moved.sales_status]
            if values.get("reason", "").strip() == "undo":
                return Message(f"Undone: {moved.name} is back in {label}.")
            undo = {"prospectId": moved.id, "stage": before} if before else None
            return Message(f"{moved.name} moved to {label}.", undo=undo)

    try:
        message = await run_in_threadpool(work)
    except (LeadlineError, ValidationError) as error:
        # Refused: the unit of work rolled back; the card goes back where it was.
        refused = refusal(error)
        status = error.status_code if isinstance(error, LeadlineError) else 422
        if fragment:
            code = error.code if isinstance(error, LeadlineError) else "invalid"
            field_name = getattr(error, "field", None) or next(iter(errors_of(error).fields), None)
            return JSONResponse({"error": code, "field": field_name, **refused.as_dict()}, status_code=status)
        return await run_in_threadpool(_board, request, principal, view, message=refused, status=status)
    return await run_in_threadpool(_board, request, principal, view, message=message, fragment=fragment)
