"""``/api/emails``, ``/api/templates``, ``/api/suppressions``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from leadline.deps import Actor, CurrentSettings, DbSession, ReadSession
from leadline.emails import flows, service, templates
from leadline.emails.flows import compose, send
from leadline.emails.schemas import (
    ComposeRequest,
    EmailDetail,
    EmailFilterStatus,
    EmailRead,
    PreviewRead,
    ReplyRequest,
    ResolveRequest,
    SendRequest,
    SuppressionCreate,
    SuppressionRead,
    TemplateRead,
)
from leadline.prospects import service as prospects
from leadline.schemas import ApiModel
from leadline.times import to_utc

router = APIRouter(tags=["emails"])


class EmailPageRead(ApiModel):
    items: list[EmailRead]
    next_cursor: str | None


@router.post("/api/emails/send", summary="Send a template to prospects (or plan it with dryRun)")
async def send_emails(body: SendRequest, settings: CurrentSettings, actor: Actor) -> dict[str, Any]:
    at = to_utc(body.at, settings.zone, field="at") if body.at else None
    report = await run_in_threadpool(
        send, settings, body.template, actor=actor, prospect_ids=body.prospect_ids or None, filters=body.filters(),
        limit=body.limit, force=body.force, dry_run=body.dry_run, at=at, sender_keys=body.senders,
    )  # fmt: skip
    return report.as_dict()


@router.post("/api/emails/compose", summary="Write an email to a prospect, or answer a reply in its thread")
async def compose_email(body: ComposeRequest, settings: CurrentSettings, actor: Actor) -> dict[str, Any]:
    """The same guardrails as a template's send (suppression, do-not-contact, the daily cap, no
    double send: the same words again need ``force``); ``dryRun`` returns the message unsent."""
    if body.at is not None:
        body = body.model_copy(update={"at": to_utc(body.at, settings.zone, field="at")})
    report = await run_in_threadpool(compose, settings, body, actor=actor)
    return report.as_dict()


@router.get("/api/emails", response_model=EmailPageRead, summary="List emails, newest first")
def list_emails(
    session: ReadSession,
    settings: CurrentSettings,
    status: Annotated[
        EmailFilterStatus | None,
        Query(
            description="opened, clicked, replied, delivered, bounced... mean ever did (by asOf); "
            "attention: pending, sending or unknown."
        ),
    ] = None,
    since: Annotated[datetime | None, Query(description="Sent at or after (ISO 8601).")] = None,
    sent_from: Annotated[datetime | None, Query(alias="sentFrom", description="Sent at or after (ISO 8601).")] = None,
    sent_to: Annotated[datetime | None, Query(alias="sentTo", description="Sent before (ISO 8601).")] = None,
    as_of: Annotated[
        datetime | None, Query(alias="asOf", description="What the emails had done by this instant (ISO 8601).")
    ] = None,
    template: Annotated[str | None, Query(max_length=100)] = None,
    prospect_id: Annotated[str | None, Query(alias="prospectId", max_length=80)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Any:
    if since is not None and since.tzinfo is None:
        since = to_utc(since, settings.zone, field="since")
    if sent_from is not None and sent_from.tzinfo is None:
        sent_from = to_utc(sent_from, settings.zone, field="sentFrom")
    if sent_to is not None and sent_to.tzinfo is None:
        sent_to = to_utc(sent_to, settings.zone, field="sentTo")
    if as_of is not None and as_of.tzinfo is None:
        as_of = to_utc(as_of, settings.zone, field="asOf")
    page = service.search(
        session,
        status=status,
        since=since,
        sent_from=sent_from,
        sent_to=sent_to,
        as_of=as_of,
        template=template,
        prospect_id=prospect_id,
        limit=limit,
        cursor=cursor,
    )
    return EmailPageRead(items=[EmailRead.model_validate(e) for e in page.items], next_cursor=page.next_cursor)


@router.get("/api/emails/{email_id}", response_model=EmailDetail, summary="One email, as sent")
def get_email(email_id: str, session: ReadSession) -> Any:
    return service.get(session, email_id)


@router.post("/api/emails/{email_id}/reply", response_model=EmailRead, summary="Log a reply received another way")
def log_reply(email_id: str, body: ReplyRequest, session: DbSession, actor: Actor) -> Any:
    from leadline.guardian import service as guardian

    return guardian.log_reply(session, email_id, body.text, actor=actor).email


@router.post("/api/emails/{email_id}/cancel", response_model=EmailRead, summary="Cancel a scheduled email")
def cancel(email_id: str, session: DbSession, actor: Actor) -> Any:
    return service.cancel(session, email_id, actor=actor)


@router.post("/api/emails/{email_id}/resolve", response_model=EmailRead, summary="Settle an email in status unknown")
def resolve(email_id: str, body: ResolveRequest, settings: CurrentSettings, actor: Actor) -> Any:
    return flows.resolve(settings, email_id, sent=body.outcome == "sent", actor=actor)


@router.get("/api/templates", response_model=list[TemplateRead], tags=["templates"], summary="Email templates")
def list_templates(settings: CurrentSettings) -> Any:
    return [_template(templates.load(settings, name)) for name in templates.names(settings)]


@router.get("/api/templates/{name}", response_model=TemplateRead, tags=["templates"], summary="One template")
def get_template(name: str, settings: CurrentSettings) -> Any:
    return _template(templates.load(settings, name))


@router.get("/api/templates/{name}/preview", response_model=PreviewRead, tags=["templates"],
            summary="A template filled in for a prospect")  # fmt: skip
def preview(
    name: str,
    settings: CurrentSettings,
    session: ReadSession,
    prospect_id: Annotated[str, Query(alias="prospectId", max_length=80)],
) -> Any:
    template = templates.load(settings, name)
    prospect = prospects.get(session, prospect_id)
    rendered = templates.render(template, prospect, settings)
    return PreviewRead(template=name, prospect_id=prospect.id, to_email=prospect.email, subject=rendered.subject,
                       text=rendered.text, html=rendered.html)  # fmt: skip


def _template(t: templates.EmailTemplate) -> TemplateRead:
    return TemplateRead(name=t.name, email_type=t.email_type, subject=t.subject, body=t.body, html=t.html,
                        source=t.source, fields=sorted(t.fields))  # fmt: skip


@router.get("/api/suppressions", response_model=list[SuppressionRead], tags=["suppressions"],
            summary="Addresses Leadline never emails")  # fmt: skip
def list_suppressions(session: ReadSession) -> Any:
    return service.suppressions(session)


@router.post("/api/suppressions", response_model=SuppressionRead, status_code=201, tags=["suppressions"],
             summary="Suppress an address by hand")  # fmt: skip
def add_suppression(body: SuppressionCreate, session: DbSession, actor: Actor) -> Any:
    service.suppress(session, body.email, "manual", source="api", actor=actor, note=body.note)
    return service.suppression_for(session, body.email)


@router.delete("/api/suppressions/{email}", status_code=204, tags=["suppressions"], summary="Allow an address again")
def remove_suppression(email: str, session: DbSession, actor: Actor) -> None:
    service.lift_suppression(session, email, actor=actor)
