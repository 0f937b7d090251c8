"""``/api/replies`` (labelled replies, a person's corrections, the report) and ``/api/senders/check``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from leadline.auth.deps import ApiPrincipal
from leadline.deps import DbSession, ReadSession
from leadline.guardian import service
from leadline.guardian.schemas import DomainCheckRead, LabelChange, LabelName, ReferralAccept, ReplyRead

router = APIRouter(tags=["replies"])


@router.get("/api/replies", response_model=list[ReplyRead], summary="Replies with their labels, newest first")
def list_replies(
    session: ReadSession,
    label: Annotated[LabelName | None, Query()] = None,
    prospect_id: Annotated[str | None, Query(alias="prospectId", max_length=80)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Any:
    return service.search(session, label=label, prospect_id=prospect_id, limit=limit)


@router.get("/api/replies/labels", summary="Counts by label, who set them, and the corrections")
def label_report(session: ReadSession) -> Any:
    return service.report(session)


@router.get("/api/replies/{reply_id}", response_model=ReplyRead, summary="One reply and its label")
def get_reply(reply_id: str, session: ReadSession) -> Any:
    return service.view(session, service.get(session, reply_id))


@router.post("/api/replies/{reply_id}/label", response_model=ReplyRead, summary="Correct a reply's label")
def correct_label(reply_id: str, body: LabelChange, session: DbSession, principal: ApiPrincipal) -> Any:
    row = service.correct(session, reply_id, body.label, actor=principal.actor, note=body.note)
    return service.view(session, row)


@router.post("/api/replies/{reply_id}/confirm", response_model=ReplyRead,
             summary="Confirm a not-interested reply: the prospect moves to lost")  # fmt: skip
def confirm_lost(reply_id: str, session: DbSession, principal: ApiPrincipal) -> Any:
    return service.view(session, service.confirm_lost(session, reply_id, actor=principal.actor))


@router.post("/api/replies/{reply_id}/accept-referral", status_code=201,
             summary="Create the prospect a referral names")  # fmt: skip
def accept_referral(reply_id: str, body: ReferralAccept, session: DbSession, principal: ApiPrincipal) -> Any:
    created = service.accept_referral(session, reply_id, actor=principal.actor, name=body.name, email=body.email)
    return {"prospectId": created.id, "name": created.name, "email": created.email}


@router.get("/api/senders/check", response_model=DomainCheckRead, summary="The domain doctor's checklist")
def check_domain(
    session: ReadSession, domain: Annotated[str | None, Query(max_length=320)] = None,
    selector: Annotated[str | None, Query(max_length=63)] = None,
) -> Any:  # fmt: skip
    from leadline.db import settings_of
    from leadline.guardian import doctor

    report = doctor.check(settings_of(session), domain, selector=selector)
    return {"domain": report.domain, **report.as_dict()}
