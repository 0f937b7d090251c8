"""``/replies``: every reply with its label (the rules' reading, or a person's), the reason and what was
done; a person corrects a label here (the same ``guardian.service.correct`` as ``leadline emails label``
and ``POST /api/replies/{id}/label``). ``/settings/domain``: the domain doctor's checklist, a fragment
the Settings page loads for admins (DNS lookups take up to LEADLINE_DNS_LIFETIME_SECONDS)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from leadline.auth.deps import PageAdmin, PageUser, PageWriter
from leadline.db import unit_of_work
from leadline.errors import LeadlineError
from leadline.guardian import service
from leadline.guardian.labels import LABEL_NAMES, LABELS
from leadline.web.pages.forms import read_form
from leadline.web.render import page, settings_of

router = APIRouter(include_in_schema=False)


@router.get("/replies")
async def replies_page(request: Request, principal: PageUser) -> Response:
    settings = settings_of(request)
    chosen = request.query_params.get("label") or None
    if chosen is not None and chosen not in LABELS:
        chosen = None

    def load() -> dict[str, Any]:
        with unit_of_work(settings, readonly=True) as session:
            return {"replies": service.search(session, label=chosen, limit=200), "report": service.report(session)}

    context = await run_in_threadpool(load)
    return page(request, "app/replies.html", context | {
        "labels": LABELS, "label_names": LABEL_NAMES, "chosen": chosen, "writer": principal.can_write,
        "flash": "Label saved." if request.query_params.get("ok") == "label" else None,
    })  # fmt: skip


@router.post("/replies/{reply_id}/label")
async def correct_label(request: Request, reply_id: str, principal: PageWriter) -> Response:
    settings = settings_of(request)
    values = await read_form(request)
    label = values.get("label", "")

    def run() -> None:
        with unit_of_work(settings) as session:
            service.correct(session, reply_id, label, actor=principal.actor)

    try:
        await run_in_threadpool(run)
    except LeadlineError as error:
        raise HTTPException(error.status_code, str(error)) from None
    back = request.query_params.get("next") or "/replies"
    if not back.startswith("/") or back.startswith("//"):
        back = "/replies"
    return RedirectResponse(back + ("&" if "?" in back else "?") + "ok=label", status_code=303)


@router.get("/settings/domain")
async def domain_checklist(request: Request, principal: PageAdmin) -> Response:
    from leadline.guardian import doctor

    settings = settings_of(request)
    try:
        report = await run_in_threadpool(doctor.check, settings)
    except LeadlineError as error:
        return page(request, "app/settings/_domain.html", {"problem": str(error), "report": None})
    return page(request, "app/settings/_domain.html", {"report": report, "problem": None})
