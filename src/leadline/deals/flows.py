"""Proposals: the proposal email sent through the email code, then the deal's value and stage.

Like any send this spans transactions (claim, backend, record; see emails/flows.py),
so this module opens its own units of work. Only a proposal that went out moves the
prospect to ``proposal`` and records the deal value.

A flow (docs/architecture.md, "Flows"): it opens its own units of work, one per step, and
composes services; shells and jobs call it, services never do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from leadline.activity import service as activity
from leadline.config import Settings
from leadline.db import unit_of_work
from leadline.emails.backends import Backend
from leadline.emails.flows import send
from leadline.errors import Conflict, Invalid, LeadlineError
from leadline.money import monthly_problem
from leadline.prospects import service as prospects
from leadline.prospects.stages import CLOSED_STAGES
from leadline.tasks import service as tasks


class ProposalNotSent(LeadlineError):
    status_code = 409
    code = "not_sent"


@dataclass
class ProposalResult:
    prospect_id: str
    email_id: str | None
    value: float
    status: str  # sent | planned
    subject: str | None
    sales_status: str


def send_proposal(
    settings: Settings,
    prospect_id: str,
    value: float,
    *,
    actor: str,
    template: str = "proposal",
    force: bool = False,
    dry_run: bool = False,
    backend: Backend | None = None,
    extra: dict[str, Any] | None = None,
    document: dict[str, Any] | None = None,
    also: Callable[[Session, str], None] | None = None,
) -> ProposalResult:
    """Email the proposal for ``value`` a month; when it went out, record the value and move to proposal.

    A proposal document (proposals/flows.py) passes its link in ``extra`` (the email's merge fields), its
    id and version in ``document`` (kept on the timeline entry), and ``also``: what else to record, with
    the email's id, in the same unit of work as the deal's value and stage.
    """

    problem = monthly_problem(value)
    if problem:
        raise Invalid(problem, field="value")
    with unit_of_work(settings, readonly=True) as session:
        prospect = prospects.get(session, prospect_id)
        if prospect.sales_status in CLOSED_STAGES:
            raise Conflict(
                f"{prospect_id} is {prospect.sales_status}; a proposal needs an open deal", field="prospectId"
            )
    report = send(
        settings, template, actor=actor, prospect_ids=[prospect_id], force=force, dry_run=dry_run,
        backend=backend, extra={"proposalValue": f"{value:,.0f}", "dealValue": f"{value:,.0f}", **(extra or {})},
    )  # fmt: skip
    outcome = report.outcomes[0]
    if dry_run and outcome.status != "failed":
        return ProposalResult(prospect_id, None, value, "planned", outcome.subject, prospect.sales_status)
    if outcome.status != "sent":
        detail = outcome.detail or outcome.status
        if outcome.status == "unknown":
            detail += (
                f"; check it, then `leadline emails resolve {outcome.email_id} --sent` and "
                f"`leadline prospects stage {prospect_id} proposal --reason 'proposal sent'`"
            )
        raise ProposalNotSent(f"the proposal to {prospect_id} was not sent: {detail}", field="prospectId")
    assert outcome.email_id is not None
    with unit_of_work(settings) as session:
        moved = record(session, prospect_id, value, email_id=outcome.email_id, template=template, actor=actor,
                       document=document)  # fmt: skip
        if also is not None:
            also(session, outcome.email_id)
    return ProposalResult(prospect_id, outcome.email_id, value, "sent", outcome.subject, moved)


def record(session: Session, prospect_id: str, value: float, *, email_id: str, template: str, actor: str,
           document: dict[str, Any] | None = None) -> str:  # fmt: skip
    """A proposal went out: the deal's value, the stage (forward only), the timeline."""
    prospect = prospects.get(session, prospect_id, for_update=True)
    before = prospect.deal_value
    prospect.deal_value = value
    details: dict[str, Any] = {"emailId": email_id, "value": value, "template": template, "previousValue": before}
    details.update(document or {})
    activity.record(session, prospect.id, "proposal", "sent", details, actor=actor)
    prospects.advance(session, prospect, "proposal", actor=actor, cause={"emailId": email_id, "proposal": True})
    tasks.action_done(session, prospect.id, "proposal_sent", actor=actor, cause={"emailId": email_id})
    return prospect.sales_status
