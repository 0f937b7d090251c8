"""``/replies``: every reply with its label (the rules' reading, or a person's), the reason and what was
done; a person corrects a label here (the same ``guardian.service.correct`` as ``leadline emails label``
and ``POST /api/replies/{id}/label``). ``/settings/domain``: the domain doctor's checklist, a fragment
the Settings page loads for admins (DNS lookups take up to LEADLINE_DNS_LIFETIME_SECONDS)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from leadline.auth.deps import PageAdmin, PageUser, PageWriter
from leadline.db import unit_of_work
from leadline.errors import LeadlineError
from leadline.guardian import service
from leadline.guardian.labels import LABEL_NAMES, LABELS
from leadline.web.pages.forms import read_form
from leadline.web.render import page, settings_of

router = APIRouter(include_in_schema=False)
FLASHES = {"label": "Label saved.", "lost": "Marked lost, with the reply as the reason.",
           "referral": "The referred prospect is added."}  # fmt: skip


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
        "flash": FLASHES.get(request.query_params.get("ok") or ""),
    })  # fmt: skip


async def _act_on(request: Request, act: Callable[[Session, dict[str, str]], object], done: str) -> Response:
    """Run one of the replies' actions (the same service call as the command) and go back to where
    the form was (the Today page or /replies) saying so; a refusal is the error page, nothing changed."""
    settings = settings_of(request)
    values = await read_form(request)

    def run() -> None:
        with unit_of_work(settings) as session:
            act(session, values)

    try:
        await run_in_threadpool(run)
    except LeadlineError as error:
        raise HTTPException(error.status_code, str(error)) from None
    back = request.query_params.get("next") or "/replies"
    if not back.startswith("/") or back.startswith("//"):
        back = "/replies"
    return RedirectResponse(back + ("&" if "?" in back else "?") + f"ok={done}", status_code=303)


@router.post("/replies/{reply_id}/label")
async def correct_label(request: Request, reply_id: str, principal: PageWriter) -> Response:
    return await _act_on(request, lambda session, values: service.correct(
        session, reply_id, values.get("label", ""), actor=principal.actor), "label")  # fmt: skip


@router.post("/replies/{reply_id}/confirm")
async def confirm_lost(request: Request, reply_id: str, principal: PageWriter) -> Response:
    """A not-interested reply confirmed: the prospect is lost with it as the reason (``leadline replies confirm``)."""
    return await _act_on(request, lambda session, _values: service.confirm_lost(
        session, reply_id, actor=principal.actor), "lost")  # fmt: skip


@router.post("/replies/{reply_id}/accept-referral")
async def accept_referral(request: Request, reply_id: str, principal: PageWriter) -> Response:
    """The prospect a referral names, made (``leadline replies accept-referral``)."""
    return await _act_on(request, lambda session, values: service.accept_referral(
        session, reply_id, actor=principal.actor, name=values.get("name") or None,
        email=values.get("email") or None), "referral")  # fmt: skip


@router.get("/settings/domain")
async def domain_checklist(request: Request, principal: PageAdmin) -> Response:
    from leadline.guardian import doctor

    settings = settings_of(request)
    try:
        report = await run_in_threadpool(doctor.check, settings)
    except LeadlineError as error:
        return page(request, "app/settings/_domain.html", {"problem": str(error), "report": None})
    return page(request, "app/settings/_domain.html", {"report": report, "problem": None})
