"""``/api/texts`` (the list every dashboard figure opens), ``/api/prospects/{id}/texts`` (log, send,
preview), ``/api/texts/templates``, ``/api/texts/opt-outs`` and ``/api/texts/unmatched`` (admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from leadline.auth.deps import ApiPrincipal
from leadline.deps import CurrentSettings, DbSession, ReadSession
from leadline.errors import Forbidden
from leadline.texts import flows, optouts, phones, service
from leadline.texts import templates as text_templates
from leadline.texts.schemas import (
    OptOutRead,
    Preview,
    TemplateRead,
    TemplateWrite,
    TextLog,
    TextPage,
    TextRead,
    TextSend,
)

router = APIRouter(tags=["texts"])


@router.get("/api/texts", response_model=TextPage, summary="Texts, newest first (status=counted: what the "
            "dashboard counts)")  # fmt: skip
def list_texts(
    session: ReadSession,
    prospect_id: Annotated[str | None, Query(alias="prospectId")] = None,
    direction: Literal["out", "in"] | None = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    sent_from: Annotated[datetime | None, Query(alias="sentFrom")] = None,
    sent_to: Annotated[datetime | None, Query(alias="sentTo")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> Any:
    after = service.parse_cursor(cursor)
    found = service.search(session, prospect_id=prospect_id, direction=direction, status=status,
                           sent_from=sent_from, sent_to=sent_to, limit=limit + 1, after=after)  # fmt: skip
    items = [service.read(m) for m in found[:limit]]
    more = len(found) > limit
    return TextPage(items=items, next_cursor=service.cursor_for(items[-1]) if more else None)


@router.get("/api/prospects/{prospect_id}/texts", response_model=list[TextRead], summary="A prospect's texts")
def prospect_texts(prospect_id: str, session: ReadSession) -> Any:
    from leadline.prospects import service as prospects

    prospects.get(session, prospect_id)
    return [service.read(m) for m in service.search(session, prospect_id=prospect_id, limit=1000)]


@router.post("/api/prospects/{prospect_id}/texts", response_model=TextRead, status_code=201,
             summary="Log a text that happened elsewhere")  # fmt: skip
def log_text(prospect_id: str, body: TextLog, session: DbSession, settings: CurrentSettings,
             principal: ApiPrincipal) -> Any:  # fmt: skip
    return service.read(service.log(session, settings, prospect_id, body, actor=principal.actor))


@router.get("/api/prospects/{prospect_id}/texts/preview", response_model=Preview,
            summary="What a text template would send, its segments, and why it could not go now")  # fmt: skip
def preview_text(prospect_id: str, template: str, session: ReadSession, settings: CurrentSettings) -> Any:
    return service.plan(session, settings, prospect_id, template, strict=False).preview(settings)


@router.post("/api/prospects/{prospect_id}/texts/send", summary="Send a text template (Twilio, or the log)")
def send_text(prospect_id: str, body: TextSend, settings: CurrentSettings, principal: ApiPrincipal) -> Any:
    if not principal.can_write:
        raise Forbidden("a read-only principal may not send texts")
    return flows.send(settings, prospect_id, body.template, actor=principal.actor, dry_run=body.dry_run).as_dict()


@router.get("/api/texts/templates", response_model=list[TemplateRead], summary="Text templates")
def list_templates(session: ReadSession) -> Any:
    return [TemplateRead.model_validate(t) for t in text_templates.search(session)]


@router.post("/api/texts/templates", response_model=TemplateRead, status_code=201, summary="Add a text template")
def add_template(body: TemplateWrite, session: DbSession, principal: ApiPrincipal) -> Any:
    return TemplateRead.model_validate(text_templates.save(session, body, actor=principal.actor))


@router.delete("/api/texts/templates/{name}", status_code=204, summary="Remove a text template")
def remove_template(name: str, session: DbSession) -> Response:
    text_templates.remove(session, name)
    return Response(status_code=204)


@router.get("/api/texts/opt-outs", response_model=list[OptOutRead], summary="Numbers opted out of texts")
def list_opt_outs(session: ReadSession) -> Any:
    return [OptOutRead.model_validate(o) for o in optouts.search(session)]


@router.post("/api/texts/opt-outs", response_model=OptOutRead, status_code=201, summary="Opt a number out")
def add_opt_out(number: Annotated[str, Query(max_length=50)], session: DbSession, settings: CurrentSettings,
                principal: ApiPrincipal) -> Any:  # fmt: skip
    e164 = phones.to_e164(number, settings.phone_region, field="number")
    optouts.add(session, e164, reason="manual", source=principal.actor)
    session.flush()
    return OptOutRead.model_validate(optouts.find(session, e164))


@router.delete("/api/texts/opt-outs/{number}", status_code=204, summary="Lift a number's opt-out")
def lift_opt_out(number: str, session: DbSession, settings: CurrentSettings) -> Response:
    optouts.lift(session, phones.to_e164(number, settings.phone_region, field="number"), missing_ok=False)
    return Response(status_code=204)


@router.get("/api/texts/unmatched", response_model=list[TextRead], summary="Inbound texts from unknown numbers")
def list_unmatched(session: ReadSession, principal: ApiPrincipal) -> Any:
    if not principal.is_admin:
        raise Forbidden("only an admin may read texts from unknown numbers")
    return [service.read(m) for m in service.unmatched(session)]
