"""``/search``: the header's search box. As you type, htmx asks for the results list alone
(``HX-Target: search-results``); without JavaScript the box submits to the whole page.
``/search/prospects`` fills the prospect pickers of forms (``<datalist>`` options)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from leadline.auth.deps import PageUser
from leadline.config import Settings
from leadline.db import unit_of_work
from leadline.errors import Invalid
from leadline.search import service
from leadline.search.schemas import SearchHit
from leadline.web.render import page, settings_of

router = APIRouter()

KIND_LABELS = {"prospect": "Prospect", "customer": "Customer", "email": "Email", "call": "Call"}


def _find(settings: Settings, text: str, kinds: tuple[str, ...] | None = None) -> tuple[list[SearchHit], str]:
    """The hits, or none and why (fewer than two characters is not an error on a page: just nothing yet)."""
    if len(" ".join(text.split())) < service.MIN_CHARS:
        return [], ""
    with unit_of_work(settings, readonly=True) as session:
        try:
            return service.search(session, text, kinds=kinds), ""
        except Invalid as problem:
            return [], problem.message


@router.get("/search")
async def search_page(request: Request, principal: PageUser) -> Response:
    text = request.query_params.get("q", "")[: service.MAX_CHARS + 1]
    hits, problem = await run_in_threadpool(_find, settings_of(request), text)
    context: dict[str, Any] = {"q": text, "hits": hits, "problem": problem, "kinds": KIND_LABELS}
    if request.headers.get("hx-request") and request.headers.get("hx-target") == "search-results":
        return page(request, "app/search/_results.html", context)
    return page(request, "app/search/index.html", context)


@router.get("/search/prospects")
async def prospect_options(request: Request, principal: PageUser) -> Response:
    """``<option>``s for a prospect picker: the value is the id, the label says who it is."""
    text = next((v for k, v in request.query_params.items() if k in ("q", "prospectId")), "")
    hits, _ = await run_in_threadpool(_find, settings_of(request), text[: service.MAX_CHARS + 1], ("prospect",))
    return page(request, "app/search/_options.html", {"hits": hits})
