"""``/prospects/duplicates``: the likely duplicates, group by group, each with a Merge button
(a plain form with a confirm dialog: it works without JavaScript). The merge itself is
``POST /prospects/{keep}/merge`` (``web.pages.prospects``), through ``prospects.merging``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from leadline.auth.deps import PageUser
from leadline.config import Settings
from leadline.db import unit_of_work
from leadline.errors import LeadlineError
from leadline.fields import digits
from leadline.prospects import merging
from leadline.web.pages.forms import FormErrors, errors_of
from leadline.web.render import page, settings_of

router = APIRouter()

PAGE_SIZE = 25
DONE = {"merged": "Merged: everything of the duplicate is now on the prospect kept, and the duplicate is deleted."}


def _groups(settings: Settings, reason: str | None, number: int) -> merging.DuplicatePage:
    with unit_of_work(settings, readonly=True) as session:
        return merging.duplicates(session, reason=reason, limit=PAGE_SIZE, page=number)


async def show(request: Request, *, status: int = 200, errors: FormErrors | None = None,
               given: dict[str, str] | None = None) -> Response:  # fmt: skip
    """The page (``given``: its parameters, else the query string's); after a refused merge, with
    the refusal at its top (nothing was changed)."""
    settings = settings_of(request)
    params = given if given is not None else dict(request.query_params)
    reason = params.get("reason", "").strip() or None
    raw = params.get("page", "1").strip() or "1"
    context: dict[str, Any] = {"reason": reason or "", "reasons": merging.REASON_LABELS, "errors": errors}
    try:
        number = int(raw) if digits(raw) and len(raw) < 8 else 0
        if number < 1:
            raise LeadlineError("must be a page number, 1 or more", field="page")
        found = await run_in_threadpool(_groups, settings, reason, number)
    except LeadlineError as error:
        context["errors"] = errors_of(error)
        return page(request, "app/prospects/duplicates.html", context | {"groups": [], "page": 1, "next_page": None},
                    status_code=422)  # fmt: skip
    done = request.query_params.get("done", "")
    if done in DONE and errors is None:
        context["flash"] = DONE[done]
    context |= {"groups": found.items, "page": found.page, "next_page": found.next_page}
    return page(request, "app/prospects/duplicates.html", context, status_code=status)


@router.get("/prospects/duplicates")
async def duplicates_page(request: Request, principal: PageUser) -> Response:
    return await show(request)
