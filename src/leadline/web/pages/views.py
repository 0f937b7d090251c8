"""``/views``: every saved view you can open (yours and the shared ones), and saving the list
page you are on under a name (the form each list page shows), through ``views.service``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from leadline.auth.deps import PageUser, PageWriter
from leadline.db import unit_of_work
from leadline.errors import LeadlineError
from leadline.views import service
from leadline.views.schemas import ViewCreate
from leadline.web.pages.forms import errors_of, read_form
from leadline.web.render import page, settings_of

router = APIRouter()


def _views(request: Request, user: str) -> list[Any]:
    with unit_of_work(settings_of(request), readonly=True) as session:
        return [service.read(v) for v in service.visible(session, user)]


@router.get("/views")
async def views_page(request: Request, principal: PageUser) -> Response:
    found = await run_in_threadpool(_views, request, principal.actor)
    flash = {"saved": "The view is saved.", "removed": "The view is removed."}.get(request.query_params.get("ok", ""))
    return page(request, "app/views.html", {"views": found, "flash": flash, "me": principal.actor})


@router.post("/views")
async def save_view(request: Request, principal: PageWriter) -> Response:
    values = await read_form(request)

    def work() -> str:
        given = {"name": values.get("name", ""), "page": values.get("page", ""), "params": values.get("query", "")}
        data = ViewCreate.model_validate(given | {"shared": values.get("shared") == "on"})
        with unit_of_work(settings_of(request)) as session:
            return service.url_of(service.save(session, data, owner=principal.actor))

    try:
        url = await run_in_threadpool(work)
    except (LeadlineError, ValidationError) as error:
        found = await run_in_threadpool(_views, request, principal.actor)
        errors = errors_of(error)
        return page(request, "app/views.html", {"views": found, "errors": errors, "values": values,
                                                "me": principal.actor}, status_code=errors.status)  # fmt: skip
    return RedirectResponse(url, status_code=303)


@router.post("/views/{view_id}/remove")
async def remove_view(request: Request, view_id: str, principal: PageWriter) -> Response:
    await read_form(request)

    def work() -> None:
        with unit_of_work(settings_of(request)) as session:
            service.remove(session, view_id, user=principal.actor, admin=principal.is_admin)

    try:
        await run_in_threadpool(work)
    except LeadlineError as error:
        raise HTTPException(error.status_code, str(error)) from None
    return RedirectResponse("/views?ok=removed", status_code=303)
