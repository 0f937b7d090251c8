"""``/api/proposals/...``: proposal documents (create, change, send, read, PDF). ``POST /api/proposals`` (an
email-only proposal) stays in deals/api.py."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from leadline.deps import Actor, CurrentSettings, DbSession, ReadSession
from leadline.files.download import attachment
from leadline.proposals import flows, service
from leadline.proposals.schemas import ProposalCreate, ProposalRead, ProposalSendRequest, ProposalUpdate
from leadline.schemas import ApiModel

router = APIRouter(prefix="/api/proposals", tags=["proposals"])


class SentRead(ApiModel):
    proposal_id: str
    version: int
    email_id: str | None
    url: str
    sales_status: str
    subject: str | None


@router.get("/documents", response_model=list[ProposalRead], summary="Proposal documents, newest first")
def list_proposals(
    session: ReadSession, prospect_id: Annotated[str | None, Query(alias="prospectId", max_length=80)] = None
) -> Any:
    return [service.read(session, p) for p in service.search(session, prospect_id)]


@router.post("/documents", response_model=ProposalRead, status_code=201, summary="Make a draft proposal document")
def create(body: ProposalCreate, session: DbSession, actor: Actor) -> Any:
    return service.read(session, service.create(session, body, actor=actor), full=True)


@router.get("/documents/{proposal_id}", response_model=ProposalRead, summary="A proposal: versions, views, evidence")
def show(proposal_id: str, session: ReadSession) -> Any:
    return service.read(session, service.get(session, proposal_id), full=True)


@router.patch("/documents/{proposal_id}", response_model=ProposalRead,
              summary="Change a proposal (a sent one gets a new version)")  # fmt: skip
def update(proposal_id: str, body: ProposalUpdate, session: DbSession, actor: Actor) -> Any:
    return service.read(session, service.update(session, proposal_id, body, actor=actor), full=True)


@router.post("/documents/{proposal_id}/send", response_model=SentRead,
             summary="Email the proposal's link; record the value; move to proposal")  # fmt: skip
async def send(
    proposal_id: str, settings: CurrentSettings, actor: Actor, body: ProposalSendRequest | None = None
) -> Any:
    given = body or ProposalSendRequest()
    sent = await run_in_threadpool(
        lambda: flows.send(settings, proposal_id, actor=actor, template=given.template, force=given.force)
    )
    return SentRead(**sent.__dict__)


@router.get("/documents/{proposal_id}/pdf", response_class=Response, summary="The PDF (the signed one once accepted)",
            responses={200: {"content": {"application/pdf": {}}}})  # fmt: skip
async def pdf(proposal_id: str, settings: CurrentSettings) -> Response:
    name, data = await run_in_threadpool(flows.document_pdf, settings, proposal_id)
    return attachment(data, name, "application/pdf")
