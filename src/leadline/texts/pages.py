"""Pages: ``/texts`` (the list every texts figure of the dashboard and the weekly report opens, paged
with the texts' keyset cursor so a figure's list is read to its end; a filter that does not fit is
named, 422; admins also see texts from unknown numbers), and the prospect page's text forms (log one, preview and send a
template), plain HTML forms that work without JavaScript: the preview (the text, its segment count and
encoding, and whatever would stop it now) comes in as a template is chosen (htmx), or from the
"Preview" button without JavaScript."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from leadline.auth.deps import PageUser, PageWriter
from leadline.config import Settings
from leadline.db import unit_of_work
from leadline.errors import Invalid, LeadlineError
from leadline.texts import flows, phones, service
from leadline.texts import templates as text_templates
from leadline.texts.schemas import Preview, TextLog
from leadline.times import list_moments
from leadline.web.pages.forms import errors_of, read_form
from leadline.web.render import page, settings_of
from leadline.words import listed

router = APIRouter()


PAGE_SIZE = 50
TIMES = ("sentFrom", "sentTo")
KEPT = ("prospectId", "direction", "status", *TIMES)


def _params(request: Request, settings: Settings) -> tuple[dict[str, str], dict[str, datetime], LeadlineError | None]:
    """The list's filters as given (kept in its links) and its moments; a filter that does not fit is
    named (422) and the list shows every text below the error."""
    params = {k: v.strip()[:200] for k, v in request.query_params.items() if k in KEPT and v.strip()}
    if params.get("direction", "out") not in ("out", "in"):
        return {}, {}, Invalid(f"{params['direction']!r} is not a direction: give out or in", field="direction")
    try:
        return params, list_moments(params, TIMES, settings.zone), None
    except Invalid as refused:
        return {}, {}, refused


def _list(settings: Settings, params: dict[str, str], moments: dict[str, datetime], cursor: str | None,
          admin: bool) -> dict[str, Any]:  # fmt: skip
    """A page of texts, newest first, and the keyset cursor of the next (the figures' lists read to their end)."""
    error: LeadlineError | None = None
    with unit_of_work(settings, readonly=True) as session:
        try:
            after = service.parse_cursor(cursor)
        except LeadlineError as problem:  # a cursor this server did not make: the first page, with the error
            error, after, cursor = problem, None, None
        found = service.search(session, prospect_id=params.get("prospectId"), direction=params.get("direction"),
                               status=params.get("status"), sent_from=moments.get("sentFrom"),
                               sent_to=moments.get("sentTo"), limit=PAGE_SIZE + 1, after=after)  # fmt: skip
        shown = [service.read(m) for m in found[:PAGE_SIZE]]
        unmatched = service.unmatched(session) if admin else []
        return {"texts": shown, "unmatched": [service.read(m) for m in unmatched], "cursor": cursor,
                "next_cursor": service.cursor_for(shown[-1]) if len(found) > PAGE_SIZE else None,
                "errors": errors_of(error) if error else None}  # fmt: skip


@router.get("/texts")
async def texts_page(request: Request, principal: PageUser) -> Response:
    settings = settings_of(request)
    params, moments, error = _params(request, settings)
    cursor = (request.query_params.get("cursor") or "").strip()[:200] or None
    context = await run_in_threadpool(_list, settings, params, moments, None if error else cursor, principal.is_admin)
    if error:
        context["errors"] = errors_of(error)
    status = 422 if context["errors"] else 200
    context |= {"params": params, "moments": moments, "admin": principal.is_admin,
                "counted": counted_words(params.get("direction"))}  # fmt: skip
    return page(request, "app/texts/list.html", context, status_code=status)


def counted_words(direction: str | None) -> str:
    """What the dashboard counts as a text of ``direction`` (out, in, or either), in words."""
    sent, received = listed(service.SENT_STATUSES, "or"), listed(service.RECEIVED_STATUSES, "or")
    if direction == "out":
        return sent
    if direction == "in":
        return received
    return f"going out, {sent}; coming in, {received}"


def panel(session: Any, settings: Settings, prospect: Any) -> dict[str, Any]:
    """What the prospect page's text forms need: the templates, the number texts go to, any opt-out."""
    number = phones.maybe_e164(prospect.phone, settings.phone_region)
    from leadline.texts import optouts

    return {
        "templates": [(t.name, t.name) for t in text_templates.search(session)],
        "number": number,
        "opted_out": bool(number and optouts.find(session, number)),
        "backend": settings.texts_backend,
    }


def _back(prospect_id: str, done: str) -> Response:
    return RedirectResponse(f"/prospects/{quote(prospect_id)}?done={done}#texts", status_code=303)


async def _refused(request: Request, prospect_id: str, form: str, values: dict[str, str], error: Exception,
                   **extra: Any) -> Response:  # fmt: skip
    from leadline.web.pages.prospects import _refused as show_refused

    return await show_refused(request, prospect_id, form, values, errors_of(error), **extra)


def _preview(settings: Settings, prospect_id: str, template: str) -> Preview:
    """What ``template`` would send the prospect, its segments, and every rule that would stop it now."""
    with unit_of_work(settings, readonly=True) as session:
        return service.plan(session, settings, prospect_id, template, strict=False).preview(settings)


def _preview_or_none(settings: Settings, prospect_id: str, template: str) -> Preview | None:
    try:
        return _preview(settings, prospect_id, template) if template else None
    except LeadlineError:
        return None


@router.get("/prospects/{prospect_id}/texts/preview")
async def preview_fragment(
    request: Request, prospect_id: str, principal: PageUser, template: Annotated[str, Query(max_length=100)] = ""
) -> Response:
    """The preview beside the send form, as a template is chosen (htmx)."""
    context: dict[str, Any] = {"text_preview": None, "errors": None}
    if template:
        try:
            context["text_preview"] = await run_in_threadpool(_preview, settings_of(request), prospect_id, template)
        except LeadlineError as error:
            context["errors"] = errors_of(error)
    return page(request, "app/texts/_preview.html", context)


@router.post("/prospects/{prospect_id}/texts/preview")
async def preview_page(request: Request, prospect_id: str, principal: PageWriter) -> Response:
    """The "Preview" button (no JavaScript): the prospect page with the preview in the text form."""
    from leadline.web.pages.prospects import _show

    settings = settings_of(request)
    values = await read_form(request)
    template = values.get("template", "")
    try:
        if not template:
            raise Invalid("choose a text template", field="template")
        preview = await run_in_threadpool(_preview, settings, prospect_id, template)
    except LeadlineError as error:
        return await _refused(request, prospect_id, "text-send", values, error)
    return await _show(request, prospect_id, form="text-send", values=values, text_preview=preview)


@router.post("/prospects/{prospect_id}/texts")
async def log_text(request: Request, prospect_id: str, principal: PageWriter) -> Response:
    settings = settings_of(request)
    values = await read_form(request, keep_blank=("body",))

    def work() -> None:
        data = TextLog.model_validate({k: v for k, v in values.items() if k in ("direction", "body", "at")})
        with unit_of_work(settings) as session:
            service.log(session, settings, prospect_id, data, actor=principal.actor)

    try:
        await run_in_threadpool(work)
    except (LeadlineError, ValidationError) as error:
        return await _refused(request, prospect_id, "text-log", values, error)
    return _back(prospect_id, "texted")


@router.post("/prospects/{prospect_id}/texts/send")
async def send_text(request: Request, prospect_id: str, principal: PageWriter) -> Response:
    settings = settings_of(request)
    values = await read_form(request)

    def work() -> None:
        template = values.get("template", "")
        flows.send(settings, prospect_id, template, actor=principal.actor)

    try:
        await run_in_threadpool(work)
    except (LeadlineError, ValidationError) as error:
        preview = await run_in_threadpool(_preview_or_none, settings, prospect_id, values.get("template", ""))
        return await _refused(request, prospect_id, "text-send", values, error, text_preview=preview)
    return _back(prospect_id, "text-sent")
