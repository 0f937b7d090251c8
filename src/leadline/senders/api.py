"""``/api/senders``: list, add, show, change, pause, resume and remove senders; ``/api/senders/health``.

Reads need any principal. Adding, changing, removing and resuming need an admin, signed in (a
person: a resume is a person's decision); pausing needs write rights (stopping is always safe)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from leadline.auth.deps import ApiAdmin, ApiPrincipal
from leadline.db import settings_of
from leadline.deps import DbSession, ReadSession
from leadline.errors import Forbidden, Invalid
from leadline.senders import health, service
from leadline.senders.schemas import PauseIn, ResumeIn, SenderCreate, SenderRead, SenderUpdate

router = APIRouter(tags=["senders"])


@router.get("/api/senders", response_model=list[SenderRead], summary="Every sender, with today's sends and cap")
def list_senders(session: ReadSession) -> Any:
    settings = settings_of(session)
    return [service.read(session, settings, s) for s in service.all_senders(session)]


@router.get("/api/senders/health", summary="Bounce, spam-report and unsubscribe rates per sender and domain")
def sender_health(
    session: ReadSession,
    as_of: Annotated[datetime | None, Query(alias="asOf", description="A past moment (with its offset)")] = None,
    lists: Annotated[bool, Query(description="Each figure's emails too (read from the rows)")] = False,
) -> Any:
    if as_of is not None and as_of.tzinfo is None:
        raise Invalid("must be a time with its offset", field="asOf")
    return health.report(session, now=as_of, lists=lists)


@router.get("/api/senders/health/emails", summary="The emails one sender-health figure counts (its list)")
def sender_health_emails(
    session: ReadSession,
    window: Annotated[str, Query(description="24h, 7d or 28d")],
    kind: Annotated[str, Query(description="sends, bounces, blocked, spamReports or unsubscribes")],
    until: Annotated[datetime, Query(description="The report's asOf (a whole UTC hour)")],
    sender: Annotated[str | None, Query(description="A sender's id or address")] = None,
    domain: Annotated[str | None, Query(description="A sending domain")] = None,
) -> Any:
    ids = health.emails(session, window=window, kind=kind, until=until, sender=sender, domain=domain)
    return {"window": window, "kind": kind, "until": until.isoformat(), "sender": sender, "domain": domain,
            "count": len(ids), "emailIds": ids}  # fmt: skip


@router.post("/api/senders", response_model=SenderRead, status_code=201, summary="Add a sender (admins)")
def add_sender(body: SenderCreate, session: DbSession, principal: ApiAdmin) -> Any:
    return service.read(session, settings_of(session), service.add(session, body, actor=principal.actor))


@router.get("/api/senders/{key}", response_model=SenderRead, summary="One sender (id or address), with its record")
def show_sender(key: str, session: ReadSession) -> Any:
    return service.read(session, settings_of(session), service.find(session, key), events=True)


@router.patch("/api/senders/{key}", response_model=SenderRead, summary="Change a sender (admins)")
def update_sender(key: str, body: SenderUpdate, session: DbSession, principal: ApiAdmin) -> Any:
    sender = service.update_sender(session, key, body, actor=principal.actor)
    return service.read(session, settings_of(session), sender)


@router.post("/api/senders/{key}/pause", response_model=SenderRead, summary="Stop a sender at once")
def pause_sender(key: str, body: PauseIn, session: DbSession, principal: ApiPrincipal) -> Any:
    if not principal.can_write:
        raise Forbidden("pausing a sender needs write rights")
    sender = service.pause(session, key, body.reason, actor=principal.actor)
    return service.read(session, settings_of(session), sender)


@router.post("/api/senders/{key}/resume", response_model=SenderRead, summary="Let a paused sender send (admins)")
def resume_sender(key: str, body: ResumeIn, session: DbSession, principal: ApiAdmin) -> Any:
    sender = service.resume(session, key, body.note, actor=principal.actor)
    return service.read(session, settings_of(session), sender)


@router.delete("/api/senders/{key}", status_code=204, summary="Remove a sender that never sent (admins)")
def remove_sender(key: str, session: DbSession, principal: ApiAdmin) -> Response:
    service.remove(session, key, actor=principal.actor)
    return Response(status_code=204)
