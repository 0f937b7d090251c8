"""``/p/{token}``: the proposal page a prospect opens from the email (no sign-in; the link is the key).

It needs no JavaScript: the document, a PDF download, and two plain forms (accept: the typed name and a
ticked box; decline: a reason). Each opening is recorded as a view; ``/static/proposal.js``, when it runs,
reports how long the page stayed open (a beacon to ``/p/{token}/views/{id}``), nothing else. No other
script, font, image or request leaves for anywhere. Every route here is rate-limited per address
(``LEADLINE_PUBLIC_REQUESTS_PER_MINUTE``, ``web/ratelimit.py``). A refused action shows the page again with the reason
and changes nothing.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from leadline.db import unit_of_work
from leadline.errors import LeadlineError
from leadline.fields import digits
from leadline.files.download import attachment
from leadline.proposals import flows, service
from leadline.proposals.schemas import Acceptance, Decline
from leadline.web.pages.forms import FormErrors, errors_of, read_form
from leadline.web.render import page, settings_of

router = APIRouter(include_in_schema=False)

PRIVATE = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow"}
DONE = {"accepted": "Thank you: the proposal is accepted. Your signed copy is below.",
        "declined": "Thank you for letting us know."}  # fmt: skip


def _state(request: Request, token: str, *, record: bool) -> dict[str, Any]:
    settings = settings_of(request)
    with unit_of_work(settings, readonly=not record) as session:
        proposal, version = service.shown(session, token)
        view_id = service.record_view(session, token).id if record else None
        replaced = version.version != proposal.version or version.replaced_at is not None
        return {
            "token": token, "proposal": service.read(session, proposal), "version": version.version,
            "document": version.html, "sha256": version.sha256, "replaced": replaced, "latest": proposal.version,
            "replaced_at": version.replaced_at, "view_id": view_id, "title": version.title,
            "fee": version.monthly_fee, "currency": settings.currency, "sender": settings.sender_name,
        }  # fmt: skip


def _invalid(request: Request, error: LeadlineError) -> HTMLResponse:
    response = page(request, "public/proposal.html", {"invalid": str(error.message)}, status_code=error.status_code)
    response.headers.update(PRIVATE)
    return response


async def _show(request: Request, token: str, *, status: int = 200, record: bool = False, **extra: Any) -> Response:
    try:
        context = await run_in_threadpool(_state, request, token, record=record)
    except LeadlineError as error:
        return _invalid(request, error)
    response = page(request, "public/proposal.html", context | extra, status_code=status)
    response.headers.update(PRIVATE)
    return response


@router.get("/p/{token}")
async def proposal_page(request: Request, token: str) -> Response:
    done = request.query_params.get("done", "")
    return await _show(request, token, record=done not in DONE, flash=DONE.get(done))


@router.get("/p/{token}/pdf")
async def proposal_pdf(request: Request, token: str) -> Response:
    settings = settings_of(request)
    try:
        name, data = await run_in_threadpool(flows.document_pdf, settings, token=token)
    except LeadlineError as error:
        return _invalid(request, error)
    response = attachment(data, name, "application/pdf")
    response.headers.update(PRIVATE)
    return response


def _refused(error: Exception) -> FormErrors:
    return errors_of(error)


@router.post("/p/{token}/accept")
async def accept(request: Request, token: str) -> Response:
    values = await read_form(request)
    agent = request.headers.get("user-agent", "")[:500]
    ip = request.client.host if request.client else "unknown"
    try:
        data = Acceptance.model_validate({"name": values.get("name", ""), "agree": values.get("agree") == "yes",
                                          "document": values.get("document", "")})  # fmt: skip
        await run_in_threadpool(lambda: flows.accept(settings_of(request), token, data, ip=ip, agent=agent))
    except (LeadlineError, ValidationError) as error:
        errors = _refused(error)
        if isinstance(error, service.LinkNotValid):
            return _invalid(request, error)
        return await _show(request, token, status=errors.status, errors=errors, form="accept", values=values)
    return RedirectResponse(f"/p/{token}?done=accepted", status_code=303, headers=PRIVATE)


@router.post("/p/{token}/decline")
async def decline(request: Request, token: str) -> Response:
    values = await read_form(request)

    def work() -> None:
        data = Decline.model_validate({"reason": values.get("reason", "")})
        with unit_of_work(settings_of(request)) as session:
            service.decline(session, token, data.reason)

    try:
        await run_in_threadpool(work)
    except (LeadlineError, ValidationError) as error:
        if isinstance(error, service.LinkNotValid):
            return _invalid(request, error)
        errors = _refused(error)
        return await _show(request, token, status=errors.status, errors=errors, form="decline", values=values)
    return RedirectResponse(f"/p/{token}?done=declined", status_code=303, headers=PRIVATE)


@router.post("/p/{token}/views/{view_id}")
async def view_beacon(request: Request, token: str, view_id: str) -> Response:
    """The page's beacon: the seconds it has been open, a plain-text number (or a form's ``seconds``)."""
    try:
        if request.headers.get("content-type", "").startswith(("application/x-www-form-urlencoded", "multipart/")):
            body = str((await request.form()).get("seconds") or "").strip()  # a form (read by the text rule already)
        else:
            body = (await request.body())[:64].decode("ascii", "replace").strip()
    except ClientDisconnect:  # the page was left before its beacon was read: nothing to record
        return Response(status_code=204, headers=PRIVATE)
    if not digits(body) or len(body) > 10:
        return Response(status_code=204, headers=PRIVATE)  # nothing to record; never an error page for a beacon

    def work() -> None:
        with unit_of_work(settings_of(request)) as session:
            service.record_duration(session, token, view_id, int(body))

    try:
        await run_in_threadpool(work)
    except LeadlineError:
        return Response(status_code=404, headers=PRIVATE)
    return Response(status_code=204, headers=PRIVATE)
