"""Proposal flows: sending one (the deals' proposal flow: its email with the private link, then the deal's
value and stage and the version marked sent, in one unit of work) and accepting one (checked, the signed
PDF made outside any transaction, then everything written in one unit of work).

A flow (docs/architecture.md, "Flows"): it opens its own units of work and composes services.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from leadline.clock import utc_now
from leadline.config import Settings
from leadline.db import unit_of_work
from leadline.deals.flows import send_proposal
from leadline.emails.backends import Backend
from leadline.proposals import pdf, service
from leadline.proposals.models import Proposal
from leadline.proposals.schemas import Acceptance


@dataclass
class Sent:
    proposal_id: str
    version: int
    email_id: str | None
    url: str
    sales_status: str
    subject: str | None


def send(
    settings: Settings, proposal_id: str, *, actor: str, template: str = "proposal", force: bool = False,
    backend: Backend | None = None,
) -> Sent:  # fmt: skip
    """Email the proposal's link; record the value, move the prospect to proposal, mark the version sent."""
    with unit_of_work(settings, readonly=True) as session:
        proposal, version = service.check_sendable(session, proposal_id)
        prospect_id, fee, number, version_id = proposal.prospect_id, proposal.monthly_fee, version.version, version.id
    url = service.url_for(settings, version_id)

    def mark(session: Session, email_id: str) -> None:
        service.mark_sent(session, proposal_id, number, email_id)

    result = send_proposal(
        settings, prospect_id, fee, actor=actor, template=template, force=force or number > 1, backend=backend,
        extra={"proposalUrl": url}, document={"proposalId": proposal_id, "version": number}, also=mark,
    )  # fmt: skip
    return Sent(proposal_id, number, result.email_id, url, result.sales_status, result.subject)


def accept(settings: Settings, token: str, data: Acceptance, *, ip: str, agent: str) -> Proposal:
    """The prospect accepts: checked, the signed PDF (document + certificate) made, then kept with the deal won."""
    seen = service.Evidence(at=utc_now(), ip=ip or "unknown", agent=agent or "unknown")
    with unit_of_work(settings, readonly=True) as session:
        proposal, version = service.check_acceptable(session, token, data)
        certificate = service.evidence_of(proposal, version, data, seen)
        html, title = version.html, version.title
    signed = pdf.render(html, title=title, certificate=certificate)
    with unit_of_work(settings) as session:
        return service.accept(session, token, data, seen, signed)


def document_pdf(settings: Settings, proposal_id: str | None = None, *, token: str | None = None) -> tuple[str, bytes]:
    """A proposal's PDF: the signed one once accepted (the filed file), else the current version's document."""
    from leadline.files import service as files

    with unit_of_work(settings, readonly=True) as session:
        if token is not None:
            proposal, version = service.shown(session, token)
        else:
            assert proposal_id is not None
            proposal = service.get(session, proposal_id)
            version = service.current_version(session, proposal)
        if proposal.signed_file_id and proposal.accepted_version == version.version:
            stored = files.get(session, proposal.signed_file_id, with_data=True)
            return stored.name, stored.data
        html, title, name = version.html, version.title, f"proposal-{proposal.id}-v{version.version}.pdf"
    return name, pdf.render(html, title=title)
