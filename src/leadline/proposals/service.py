"""Proposals as documents: made from a template for a prospect, versioned, shown at a private link, viewed,
accepted (the deal won, the customer made, the signed PDF filed) or declined (the deal lost). Services never
commit; flows.py sends one (through the deals' proposal flow) and accepts one (the PDF is made outside any
transaction).

A version is frozen once sent: changing a sent proposal makes the next version, and the earlier link says
it was replaced and can no longer be accepted. A link's token is HMAC-SHA256(secret key, version id); only
its SHA-256 is stored, so a tampered or made-up token finds nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadline.activity import service as activity
from leadline.clock import utc_now
from leadline.config import Settings
from leadline.db import settings_of
from leadline.deals import service as deals
from leadline.deals.schemas import DealWon
from leadline.errors import Conflict, Invalid, NotFound
from leadline.fields import require_one_line
from leadline.files import service as files
from leadline.files.schemas import Target
from leadline.ids import new_id
from leadline.notify import service as notify
from leadline.proposals import document
from leadline.proposals.models import Proposal, ProposalVersion, ProposalView
from leadline.proposals.schemas import (
    Acceptance,
    ProposalCreate,
    ProposalRead,
    ProposalUpdate,
    VersionRead,
    ViewRead,
)
from leadline.prospects import service as prospects
from leadline.prospects.stages import CLOSED_STAGES

MAX_VIEW_SECONDS = 24 * 3600


class ProposalNotFound(NotFound):
    pass


class LinkNotValid(NotFound):
    """A token that matches no version: mistyped, cut short or tampered with."""


class VersionReplaced(Conflict):
    """The link is of an earlier version: the proposal was changed after it was sent."""

    code = "replaced"


class ProposalClosed(Conflict):
    pass


@dataclass
class Evidence:
    at: Any
    ip: str
    agent: str


# --- links --------------------------------------------------------------------------------------------


def token_for(settings: Settings, version_id: str) -> str:
    digest = hmac.new(settings.secret().encode(), f"proposal-link:{version_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode("ascii")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def url_for(settings: Settings, version_id: str) -> str:
    return f"{settings.base_url}/p/{token_for(settings, version_id)}"


def by_token(session: Session, token: str, *, for_update: bool = False) -> tuple[Proposal, ProposalVersion]:
    """The proposal and version a link opens; any other token (tampered, cut short) is a 404 saying so."""
    if not token or len(token) > 100:
        raise LinkNotValid("this proposal link is not valid (it may have been copied incompletely)", field="token")
    version = session.scalar(select(ProposalVersion).where(ProposalVersion.token_hash == _hash(token)))
    if version is None:
        raise LinkNotValid("this proposal link is not valid (it may have been copied incompletely)", field="token")
    proposal = get(session, version.proposal_id, for_update=for_update)
    return proposal, version


# --- making and changing --------------------------------------------------------------------------------


def get(session: Session, proposal_id: str, *, for_update: bool = False) -> Proposal:
    query = select(Proposal).where(Proposal.id == proposal_id)
    if for_update:
        query = query.with_for_update()
    found = session.scalar(query)
    if found is None:
        raise ProposalNotFound(f"no proposal with id {proposal_id!r}", field="proposalId")
    return found


def current_version(session: Session, proposal: Proposal) -> ProposalVersion:
    found = session.scalar(
        select(ProposalVersion).where(
            ProposalVersion.proposal_id == proposal.id, ProposalVersion.version == proposal.version
        )
    )
    assert found is not None
    return found


def _render(session: Session, proposal: Proposal) -> tuple[str, str]:
    settings = settings_of(session)
    prospect = prospects.get(session, proposal.prospect_id)
    values = document.context(
        prospect, title=proposal.title, service_type=proposal.service_type, monthly_fee=proposal.monthly_fee,
        intro=proposal.intro, version=proposal.version, date=utc_now().astimezone(settings.zone).strftime("%-d %B %Y"),
        settings=settings,
    )  # fmt: skip
    html = document.render(proposal.template, document.load(settings, proposal.template), values)
    return html, hashlib.sha256(html.encode("utf-8")).hexdigest()


def _new_version(session: Session, proposal: Proposal) -> ProposalVersion:
    html, digest = _render(session, proposal)
    version_id = new_id("prv")
    version = ProposalVersion(
        id=version_id, proposal_id=proposal.id, version=proposal.version, title=proposal.title,
        service_type=proposal.service_type, monthly_fee=proposal.monthly_fee, html=html, sha256=digest,
        token_hash=_hash(token_for(settings_of(session), version_id)),
    )  # fmt: skip
    session.add(version)
    return version


def _check_open(session: Session, prospect_id: str) -> None:
    prospect = prospects.get(session, prospect_id)
    if prospect.sales_status in CLOSED_STAGES:
        raise Conflict(f"{prospect_id} is {prospect.sales_status}; a proposal needs an open deal", field="prospectId")


def create(session: Session, data: ProposalCreate, *, actor: str) -> Proposal:
    """A draft proposal (version 1, rendered and kept); sending it is flows.send."""
    _check_open(session, data.prospect_id)
    prospect = prospects.get(session, data.prospect_id)
    proposal = Proposal(
        id=new_id("prp"), prospect_id=prospect.id, title=data.title or f"Proposal for {prospect.name}",
        service_type=data.service_type, monthly_fee=data.monthly_fee, intro=data.intro, template=data.template,
        status="draft", version=1, created_by=actor,
    )  # fmt: skip
    session.add(proposal)
    session.flush()
    _new_version(session, proposal)
    activity.record(session, prospect.id, "proposal", "created", _summary(proposal), actor=actor)
    session.flush()
    return proposal


def _summary(proposal: Proposal, **more: Any) -> dict[str, Any]:
    return {"proposalId": proposal.id, "version": proposal.version, "serviceType": proposal.service_type,
            "monthlyFee": proposal.monthly_fee, **more}  # fmt: skip


def update(session: Session, proposal_id: str, data: ProposalUpdate, *, actor: str) -> Proposal:
    """Change a proposal. A draft is rendered again in place; a sent one gets a new version (the old link
    then says it was replaced). An accepted or declined one cannot change."""
    proposal = get(session, proposal_id, for_update=True)
    if proposal.status in ("accepted", "declined"):
        raise ProposalClosed(f"proposal {proposal.id} was {proposal.status}; it cannot change", field="proposalId")
    changes = data.model_dump(exclude_unset=True)
    if not changes:
        return proposal
    for key, value in changes.items():
        if value is None and key != "intro":
            raise Invalid("cannot be emptied", field=key)
        setattr(proposal, key, value)
    proposal.updated_at = utc_now()
    version = current_version(session, proposal)
    if version.sent_at is None:
        html, digest = _render(session, proposal)
        version.html, version.sha256 = html, digest
        version.title, version.service_type, version.monthly_fee = (
            proposal.title,
            proposal.service_type,
            proposal.monthly_fee,
        )
    else:
        version.replaced_at = utc_now()
        proposal.version += 1
        proposal.status = "draft"
        session.flush()
        _new_version(session, proposal)
        activity.record(session, proposal.prospect_id, "proposal", "revised", _summary(proposal, changes=list(changes)),
                        actor=actor)  # fmt: skip
    session.flush()
    return proposal


def check_sendable(session: Session, proposal_id: str) -> tuple[Proposal, ProposalVersion]:
    proposal = get(session, proposal_id)
    if proposal.status in ("accepted", "declined"):
        raise ProposalClosed(f"proposal {proposal.id} was {proposal.status}", field="proposalId")
    version = current_version(session, proposal)
    if version.sent_at is not None:
        raise Conflict(
            f"version {version.version} of {proposal.id} was sent already; change the proposal to make a new version",
            field="proposalId",
        )
    _check_open(session, proposal.prospect_id)
    return proposal, version


def mark_sent(session: Session, proposal_id: str, version_number: int, email_id: str) -> Proposal:
    """The proposal's email went out (called in the deals flow's own unit of work, with its record)."""
    proposal = get(session, proposal_id, for_update=True)
    version = current_version(session, proposal)
    if version.version != version_number:
        raise Conflict(f"proposal {proposal.id} changed while it was being sent", field="proposalId")
    now = utc_now()
    version.sent_at, version.email_id = now, email_id
    proposal.status, proposal.sent_at = "sent", now
    session.flush()
    return proposal


# --- the prospect's side ---------------------------------------------------------------------------------


def shown(session: Session, token: str) -> tuple[Proposal, ProposalVersion]:
    """What a link shows: a version that was sent (a draft's link is not valid yet)."""
    proposal, version = by_token(session, token)
    if version.sent_at is None:
        raise LinkNotValid("this proposal link is not valid (it may have been copied incompletely)", field="token")
    return proposal, version


def record_view(session: Session, token: str) -> ProposalView:
    """The prospect opened the page: a view (time; duration from the beacon). The first one notifies the owner."""
    proposal, version = shown(session, token)
    proposal = get(session, proposal.id, for_update=True)
    now = utc_now()
    view = ProposalView(id=new_id("pvw"), proposal_id=proposal.id, version_id=version.id, viewed_at=now, seconds=0)
    session.add(view)
    if proposal.first_viewed_at is None:
        proposal.first_viewed_at = now
        prospect = prospects.get(session, proposal.prospect_id)
        activity.record(session, prospect.id, "proposal", "viewed", _summary(proposal, version=version.version),
                        actor=f"link:{proposal.id}")  # fmt: skip
        notify.raise_event(
            session, "proposal_viewed", f"proposal_viewed:{proposal.id}", f"Proposal opened: {prospect.name}",
            body=f"{proposal.title} (version {version.version}) was opened for the first time",
            prospect_id=prospect.id, payload={"proposalId": proposal.id, "owner": prospect.owner},
        )  # fmt: skip
    session.flush()
    return view


def record_duration(session: Session, token: str, view_id: str, seconds: int) -> None:
    """The page's beacon: how long the view has lasted (only ever longer; at most a day)."""
    _, version = shown(session, token)
    view = session.get(ProposalView, view_id, with_for_update=True)
    if view is None or view.version_id != version.id:
        raise NotFound("no such view of this proposal", field="view")
    view.seconds = max(view.seconds, min(max(int(seconds), 0), MAX_VIEW_SECONDS))
    session.flush()


def check_acceptable(session: Session, token: str, data: Acceptance) -> tuple[Proposal, ProposalVersion]:
    """Everything that must hold for this acceptance, checked before the PDF is made and again in its unit."""
    proposal, version = shown(session, token)
    if version.version != proposal.version or version.replaced_at is not None:
        raise VersionReplaced(
            f"this is version {version.version}, replaced by version {proposal.version}: it can no longer be accepted",
            field="token",
        )
    if proposal.status == "accepted":
        raise ProposalClosed("this proposal was accepted already", field="token")
    if proposal.status == "declined":
        raise ProposalClosed("this proposal was declined", field="token")
    if prospects.get(session, proposal.prospect_id).sales_status in CLOSED_STAGES:
        raise ProposalClosed("this proposal is no longer open: reply to the email it came in", field="token")
    if not data.agree:
        raise Invalid("tick the box to accept the proposal", field="agree")
    if data.document != version.sha256:
        raise VersionReplaced("the document changed since this page was opened: open the link again", field="document")
    return proposal, version


def evidence_of(proposal: Proposal, version: ProposalVersion, data: Acceptance, seen: Evidence) -> dict[str, Any]:
    """The certificate's lines (also what is kept on the proposal)."""
    return {
        "Proposal": f"{proposal.id}, version {version.version}",
        "Title": version.title,
        "Signer's name (typed)": data.name,
        "Accepted at (UTC)": seen.at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "IP address": seen.ip,
        "User agent": seen.agent,
        "Document SHA-256": version.sha256,
        "Terms": f"{version.service_type}, {version.monthly_fee:,.2f} a month",
    }


def accept(session: Session, token: str, data: Acceptance, seen: Evidence, signed_pdf: bytes) -> Proposal:
    """Accept: the evidence kept, the deal won (the customer made with the proposal's service and fee, as
    ``leadline deals won``), and the signed PDF filed on the customer. All or nothing."""
    proposal, version = check_acceptable(session, token, data)
    proposal = get(session, proposal.id, for_update=True)
    actor = f"link:{proposal.id}"
    _, customer = deals.won(
        session,
        DealWon.model_validate({"prospectId": proposal.prospect_id, "serviceType": version.service_type,
                                "monthlyFee": version.monthly_fee}),
        actor=actor, cause={"proposalId": proposal.id, "version": version.version},
    )  # fmt: skip
    name = f"proposal-{proposal.id}-v{version.version}-signed.pdf"
    stored = files.add(session, Target("customer", customer.id), name, signed_pdf, actor=actor, source="proposal")
    proposal.status, proposal.accepted_at, proposal.accepted_version = "accepted", seen.at, version.version
    proposal.signer_name, proposal.signer_ip, proposal.signer_agent = data.name, seen.ip[:64], seen.agent[:500]
    proposal.signed_sha256, proposal.signed_file_id, proposal.customer_id = version.sha256, stored.id, customer.id
    activity.record(session, proposal.prospect_id, "proposal", "accepted",
                    _summary(proposal, version=version.version, monthlyFee=version.monthly_fee, signerName=data.name,
                             ip=proposal.signer_ip, userAgent=proposal.signer_agent, sha256=version.sha256,
                             fileId=stored.id, customerId=customer.id), actor=actor)  # fmt: skip
    session.flush()
    return proposal


def decline(session: Session, token: str, reason: str) -> Proposal:
    """Decline, with a reason: it becomes the lost deal's reason."""
    require_one_line(reason, "reason")
    reason = " ".join(reason.split())
    if not reason:
        raise Invalid("say why, in a few words", field="reason")
    proposal, version = shown(session, token)
    if version.version != proposal.version or version.replaced_at is not None:
        raise VersionReplaced(
            f"this is version {version.version}, replaced by version {proposal.version}", field="token"
        )
    if proposal.status in ("accepted", "declined"):
        raise ProposalClosed(f"this proposal was {proposal.status} already", field="token")
    if prospects.get(session, proposal.prospect_id).sales_status in CLOSED_STAGES:
        raise ProposalClosed("this proposal is no longer open: reply to the email it came in", field="token")
    proposal = get(session, proposal.id, for_update=True)
    actor = f"link:{proposal.id}"
    deals.lost(session, proposal.prospect_id, reason=f"proposal declined: {reason}"[:500], actor=actor,
               cause={"proposalId": proposal.id, "version": version.version})  # fmt: skip
    proposal.status, proposal.declined_at, proposal.decline_reason = "declined", utc_now(), reason[:500]
    activity.record(session, proposal.prospect_id, "proposal", "declined",
                    _summary(proposal, reason=reason), actor=actor)  # fmt: skip
    session.flush()
    return proposal


# --- reading ----------------------------------------------------------------------------------------------


def search(session: Session, prospect_id: str | None = None, *, limit: int = 500) -> list[Proposal]:
    query = select(Proposal).order_by(Proposal.created_at.desc(), Proposal.id.desc()).limit(limit)
    if prospect_id:
        prospects.get(session, prospect_id)
        query = query.where(Proposal.prospect_id == prospect_id)
    return list(session.scalars(query))


def read(session: Session, proposal: Proposal, *, full: bool = False) -> ProposalRead:
    settings = settings_of(session)
    result = ProposalRead.model_validate(proposal)
    version = current_version(session, proposal)
    result.url = url_for(settings, version.id) if version.sent_at else None
    if full:
        versions = list(session.scalars(select(ProposalVersion).where(ProposalVersion.proposal_id == proposal.id)
                                        .order_by(ProposalVersion.version)))  # fmt: skip
        numbers = {v.id: v.version for v in versions}
        result.versions = [
            VersionRead.model_validate(v).model_copy(update={"url": url_for(settings, v.id) if v.sent_at else None})
            for v in versions
        ]
        views = session.scalars(select(ProposalView).where(ProposalView.proposal_id == proposal.id)
                                .order_by(ProposalView.viewed_at))  # fmt: skip
        result.views = [ViewRead(version=numbers.get(v.version_id, 0), viewed_at=v.viewed_at, seconds=v.seconds)
                        for v in views]  # fmt: skip
    return result
