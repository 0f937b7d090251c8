"""Writing email in the browser: ``/prospects/{id}/compose`` (your own message) and
``/emails/{id}/reply`` (an answer to the prospect's reply, in its thread), through the same flow
as ``leadline emails compose`` and ``POST /api/emails/compose`` (emails.flows.compose).

Preview shows the message as it will go (merge fields filled, their reply quoted) and keeps
what was typed; a refused send keeps it too, with the reason in plain words; a repeat of the
same words offers "Send anyway".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from leadline.auth.deps import PageWriter
from leadline.config import Settings
from leadline.db import unit_of_work
from leadline.emails import composing
from leadline.emails import service as emails
from leadline.emails.flows import Outcome, compose
from leadline.emails.schemas import ComposeRequest
from leadline.errors import Invalid, LeadlineError
from leadline.prospects import service as prospects
from leadline.schemas import field_errors
from leadline.times import to_utc
from leadline.web.pages.forms import FormError, FormErrors, errors_of, not_sent, read_form
from leadline.web.render import page, settings_of

router = APIRouter()


def plain(outcome: Outcome) -> str:
    """Why ``outcome`` did not go, in plain words."""
    return not_sent(outcome.code, outcome.detail, what="very message")


def _context(settings: Settings, *, prospect_id: str | None = None, email_id: str | None = None) -> dict[str, Any]:
    """Who the message is for and, for an answer, the email and the reply it answers."""
    with unit_of_work(settings, readonly=True) as session:
        answering = None
        if email_id is not None:
            ours = emails.get(session, email_id)
            prospect_id = ours.prospect_id
            inbound = composing.latest_answer(session, ours.id)
            answering = {
                "id": ours.id, "subject": ours.subject,
                "text": (inbound.reply_text if inbound is not None else None) or ours.reply_text or "",
                "at": inbound.received_at if inbound is not None else ours.replied_at,
            }  # fmt: skip
        assert prospect_id is not None
        prospect = prospects.get(session, prospect_id)
        return {"p": prospect, "answering": answering, "zone": settings.timezone}


def _request(settings: Settings, values: dict[str, str], *, prospect_id: str | None, email_id: str | None,
             action: str) -> ComposeRequest:  # fmt: skip
    """The form as the flow's request; a refusal names every input that is wrong (the time and the message)."""
    at = None
    problems: list[Invalid] = []
    if values.get("at"):
        try:
            at = to_utc(datetime.fromisoformat(values["at"]), settings.zone, field="at")
        except ValueError:
            problems.append(FormError("at", "enter a date and time, or leave it empty to send now"))
        except Invalid as error:  # a time the clocks skip
            problems.append(error)
    try:
        wanted = ComposeRequest.model_validate({
            "prospectId": prospect_id, "replyTo": email_id, "subject": values.get("subject") or None,
            "body": values.get("body", ""), "at": at, "force": action == "force", "dryRun": action == "preview",
        })  # fmt: skip
    except ValidationError as error:
        if not problems:
            raise
        found = [Invalid(p["message"], field=p["field"]) for p in field_errors(error)]
        raise Invalid.together([*problems, *found]) from None
    if problems:
        raise Invalid.together(problems)
    return wanted


async def _handle(request: Request, principal: Any, *, prospect_id: str | None, email_id: str | None) -> Response:
    settings = settings_of(request)
    values = await read_form(request)
    action = values.pop("action", "send")
    extra: dict[str, Any] = {"values": values}

    def work() -> Outcome | None:
        report = compose(settings, _request(settings, values, prospect_id=prospect_id, email_id=email_id,
                                            action=action), actor=principal.actor)  # fmt: skip
        return report.outcomes[0] if report.outcomes else None

    try:
        outcome = await run_in_threadpool(work)
    except (LeadlineError, ValidationError) as error:
        extra["errors"] = errors_of(error)
        outcome = None
    else:
        if outcome is not None and outcome.status in ("sent", "scheduled"):
            target = prospect_id or outcome.prospect_id
            return RedirectResponse(
                f"/prospects/{quote(target)}?done={outcome.status}#email-{outcome.email_id}", status_code=303
            )
        if outcome is not None and outcome.status == "planned":
            extra["preview"] = outcome
        elif outcome is not None:
            extra["errors"] = FormErrors(fields={}, line=plain(outcome), status=409)
            extra["offer_force"] = outcome.code == "already_sent"
    context = await run_in_threadpool(_context, settings, prospect_id=prospect_id, email_id=email_id)
    errors = extra.get("errors")
    return page(request, "app/emails/compose.html", context | extra, status_code=errors.status if errors else 200)


@router.get("/prospects/{prospect_id}/compose")
async def compose_page(request: Request, prospect_id: str, principal: PageWriter) -> Response:
    context = await run_in_threadpool(_context, settings_of(request), prospect_id=prospect_id)
    return page(request, "app/emails/compose.html", context | {"values": {}})


@router.post("/prospects/{prospect_id}/compose")
async def compose_send(request: Request, prospect_id: str, principal: PageWriter) -> Response:
    return await _handle(request, principal, prospect_id=prospect_id, email_id=None)


@router.get("/emails/{email_id}/reply")
async def reply_page(request: Request, email_id: str, principal: PageWriter) -> Response:
    context = await run_in_threadpool(_context, settings_of(request), email_id=email_id)
    return page(request, "app/emails/compose.html", context | {"values": {}})


@router.post("/emails/{email_id}/reply")
async def reply_send(request: Request, email_id: str, principal: PageWriter) -> Response:
    return await _handle(request, principal, prospect_id=None, email_id=email_id)
