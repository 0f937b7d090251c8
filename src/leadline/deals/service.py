"""Deals: the end of the pipeline. Won makes the customer record, then moves the prospect to
closed_won with its close date; lost moves it to closed_lost with the reason; reopening a
lost deal is its own, explicit step. Services never commit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from leadline.activity import service as activity
from leadline.clock import utc_now
from leadline.customers import service as customers
from leadline.db import settings_of
from leadline.deals.schemas import DealWon
from leadline.errors import Conflict, Invalid
from leadline.fields import require_one_line
from leadline.money import amount
from leadline.notify import service as notify
from leadline.prospects import service as prospects
from leadline.prospects.stages import CLOSED_STAGES
from leadline.times import iso

if TYPE_CHECKING:
    from leadline.customers.models import Customer
    from leadline.prospects.models import Prospect


class DealAlreadyWon(Conflict):
    pass


class DealClosed(Conflict):
    pass


def won(
    session: Session,
    data: DealWon,
    *,
    actor: str,
    cause: dict[str, Any] | None = None,
) -> tuple[Prospect, Customer]:
    """Win the deal: a customer record from the prospect, then closed_won with its close date."""
    prospect = prospects.get(session, data.prospect_id, for_update=True)
    existing = customers.for_prospect(session, prospect.id)
    if existing is not None:
        hint = " (reactivate it with `leadline customers reactivate`)" if existing.status != "active" else ""
        raise DealAlreadyWon(
            f"the deal with {prospect.id} is already won: customer {existing.id} is {existing.status}{hint}",
            field="prospectId",
            on_page=f"this deal is already won; the customer is {existing.status}"
            + (": reactivate it on the customer's page" if hint else ""),
        )
    if prospect.sales_status == "closed_lost":
        raise DealClosed(
            f"the deal with {prospect.id} was lost; reopen it first with `leadline deals reopen "
            f"--prospect {prospect.id} --reason ...`",
            field="prospectId",
            on_page="this deal was lost: reopen it first (Reopen, with a reason)",
        )
    now = utc_now()
    signed_at = customers.day_start(session, data.signed_at, field="signedAt") if data.signed_at else now
    if signed_at > now:
        raise Invalid("is in the future; a deal is won once the contract is signed", field="signedAt")
    start = customers.day_start(session, data.start_date, field="startDate") if data.start_date else signed_at
    details: dict[str, Any] = {
        "serviceType": data.service_type,
        "monthlyFee": data.monthly_fee,
        "signedAt": iso(signed_at),
    }
    if data.contract_url:
        details["contractUrl"] = data.contract_url
    if cause:
        details["cause"] = cause
    entry = activity.record(session, prospect.id, "deal", "won", details, actor=actor)
    customer = customers.create_from_prospect(
        session,
        prospect,
        service_type=data.service_type,
        monthly_fee=data.monthly_fee,
        start_date=start,
        signed_at=signed_at,
        contract_url=data.contract_url,
        notes=data.notes,
        actor=actor,
    )
    entry.details = {**details, "customerId": customer.id}
    monthly = amount(data.monthly_fee, settings_of(session).currency, "month")
    notify.raise_event(
        session, "deal_won", f"deal_won:{customer.id}", f"Deal won: {prospect.name}",
        body=f"{data.service_type.replace('_', ' ')}, {monthly}", prospect_id=prospect.id,
        payload={"customerId": customer.id, "monthlyFee": data.monthly_fee},
    )  # fmt: skip
    prospects.close_won(
        session,
        prospect,
        close_date=signed_at,
        deal_value=data.monthly_fee,
        reason=f"deal won: {data.service_type}, {monthly}",
        actor=actor,
    )
    session.flush()
    return prospect, customer


def lost(
    session: Session,
    prospect_id: str,
    *,
    reason: str,
    actor: str,
    cause: dict[str, Any] | None = None,
) -> Prospect:
    """Lose the deal: closed_lost with the reason (refused for a customer, or a deal lost already)."""
    require_one_line(reason, "reason")
    prospect = prospects.get(session, prospect_id, for_update=True)
    reason = " ".join(reason.split())
    if not reason:
        raise Invalid("must not be empty", field="reason")
    if prospect.sales_status == "closed_won":
        customer = customers.for_prospect(session, prospect.id)
        raise DealAlreadyWon(
            f"the deal with {prospect.id} was won (customer {customer.id if customer else '?'}); "
            "churn the customer instead (`leadline customers churn`)",
            field="prospectId",
            on_page="this deal was won: to end it, churn the customer on the customer's page",
        )
    if prospect.sales_status == "closed_lost":
        raise DealClosed(f"the deal with {prospect.id} is already lost", field="prospectId")
    details: dict[str, Any] = {"reason": reason, "from": prospect.sales_status}
    if cause:
        details["cause"] = cause
    entry = activity.record(session, prospect.id, "deal", "lost", details, actor=actor)
    notify.raise_event(
        session, "deal_lost", f"deal_lost:{entry.id}", f"Deal lost: {prospect.name}", body=reason,
        prospect_id=prospect.id, payload={"reason": reason},
    )  # fmt: skip
    prospects.close_lost(session, prospect, reason=reason, actor=actor, manual=cause is None, cause=cause)
    session.flush()
    return prospect


def reopen(session: Session, prospect_id: str, *, reason: str, stage: str | None = None, actor: str) -> Prospect:
    """Reopen a lost deal, back to ``stage`` (default: the stage it was lost from)."""
    require_one_line(reason, "reason")
    prospect = prospects.get(session, prospect_id, for_update=True)
    if prospect.sales_status != "closed_lost":
        raise DealClosed(
            f"the deal with {prospect.id} is not lost (stage {prospect.sales_status}); "
            "only a lost deal can be reopened",
            field="prospectId",
        )
    target = stage or _stage_before_lost(session, prospect.id)
    details = {"reason": reason, "to": target, "lostReason": prospect.lost_reason}
    activity.record(session, prospect.id, "deal", "reopened", details, actor=actor)
    # The "deal reopened" entry is just above; the move keeps the reason as given (the stage-move rule).
    prospects.reopen(session, prospect, stage=target, reason=reason, actor=actor)
    session.flush()
    return prospect


def _stage_before_lost(session: Session, prospect_id: str) -> str:
    for entry in reversed(activity.for_prospect(session, prospect_id)):
        if entry.type == "stage_change" and entry.details.get("to") == "closed_lost":
            before = entry.details.get("from")
            if isinstance(before, str) and before not in CLOSED_STAGES:
                return before
            break
    return "interested"
