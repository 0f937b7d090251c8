"""Customers: the records made when a deal is won, their service, fee, results and status.

Statuses: active -> paused -> active, active|paused -> churned -> active (reactivate).
MRR is the sum of the monthly fees of active customers. Services never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadline.activity import service as activity
from leadline.clock import utc_now
from leadline.customers.lookup import for_prospect as for_prospect
from leadline.customers.models import Customer
from leadline.customers.schemas import REQUIRED_FIELDS, CustomerUpdate
from leadline.db import settings_of
from leadline.errors import Conflict, Invalid, NotFound
from leadline.fields import require_one_line
from leadline.ids import new_id
from leadline.names import camel
from leadline.prospects import service as prospects
from leadline.times import iso, start_of_day, to_utc

if TYPE_CHECKING:
    from leadline.prospects.models import Prospect


class CustomerNotFound(NotFound):
    pass


class CustomerStatusConflict(Conflict):
    pass


def get(session: Session, ref: str, *, for_update: bool = False) -> Customer:
    """A customer by its id (``cus_...``) or by its prospect's id (``royal_plumbing_co``)."""
    for column in (Customer.id, Customer.prospect_id):
        query = select(Customer).where(column == ref)
        if for_update:
            query = query.with_for_update()
        customer = session.scalar(query)
        if customer is not None:
            return customer
    raise CustomerNotFound(f"no customer {ref!r} (give a customer id or a prospect id)", field="customerId")


def search(
    session: Session,
    *,
    status: str | None = None,
    signed_from: datetime | None = None,
    signed_to: datetime | None = None,
) -> Sequence[Customer]:
    """Customers by signing time; ``signed_from`` / ``signed_to``: signed in [from, to) (the
    dashboard's deals won in a week)."""
    if signed_from is not None and signed_to is not None and signed_from >= signed_to:
        raise Invalid("must be after signedFrom", field="signedTo")
    query = select(Customer).order_by(Customer.signed_at, Customer.id)
    if status is not None:
        query = query.where(Customer.status == status)
    if signed_from is not None:
        query = query.where(Customer.signed_at >= signed_from)
    if signed_to is not None:
        query = query.where(Customer.signed_at < signed_to)
    return session.scalars(query).all()


def mrr(session: Session) -> float:
    """Monthly recurring revenue: the sum of active customers' monthly fees."""
    total = session.scalar(select(func.sum(Customer.monthly_fee)).where(Customer.status == "active"))
    return float(total or 0.0)


def day_start(session: Session, value: date | datetime, *, field: str) -> datetime:
    """A date (midnight, local) or a date and time, as UTC."""
    zone = settings_of(session).zone
    if isinstance(value, datetime):
        return to_utc(value, zone, field=field)
    return start_of_day(value, zone)


def create_from_prospect(
    session: Session,
    prospect: Prospect,
    *,
    service_type: str,
    monthly_fee: float,
    start_date: datetime,
    signed_at: datetime,
    contract_url: str | None,
    notes: str | None = None,
    actor: str,
) -> Customer:
    """The customer record of a won deal: company, contact and grid health copied from the prospect."""
    existing = for_prospect(session, prospect.id)
    if existing is not None:
        raise CustomerStatusConflict(
            f"{prospect.id} is already a customer ({existing.id}, {existing.status})", field="prospectId"
        )
    now = utc_now()
    customer = Customer(
        id=new_id("cus"),
        prospect_id=prospect.id,
        company_name=prospect.name,
        contact_name=prospect.contact_name,
        email=prospect.email,
        phone=prospect.phone,
        website=prospect.website,
        service_type=service_type,
        monthly_fee=monthly_fee,
        start_date=start_date,
        signed_at=signed_at,
        contract_url=contract_url,
        primary_contact=prospect.contact_name,
        initial_grid_health=prospect.grid_health,
        current_grid_health=prospect.grid_health,
        status="active",
        notes=notes,
        created_at=now,
        updated_at=now,
    )
    session.add(customer)
    session.flush()
    activity.record(
        session,
        prospect.id,
        "customer",
        "created",
        {
            "customerId": customer.id,
            "serviceType": service_type,
            "monthlyFee": monthly_fee,
            "startDate": iso(start_date),
            "signedAt": iso(signed_at),
        },
        actor=actor,
    )
    return customer


def update(session: Session, ref: str, changes: CustomerUpdate, *, actor: str) -> Customer:
    customer = get(session, ref, for_update=True)
    wanted = changes.changes()
    if not wanted:
        raise Invalid("nothing to change", field="body")
    for name in REQUIRED_FIELDS:
        if name in wanted and wanted[name] is None:
            raise Invalid("cannot be empty", field=camel(name))
    if "start_date" in wanted:
        wanted["start_date"] = day_start(session, wanted["start_date"], field="startDate")
    diff: dict[str, list[Any]] = {}
    for name, value in wanted.items():
        old = getattr(customer, name)
        if old != value:
            diff[camel(name)] = [_plain(old), _plain(value)]
            setattr(customer, name, value)
    if diff:
        customer.updated_at = utc_now()
        activity.record(
            session,
            customer.prospect_id,
            "customer",
            "updated",
            {"customerId": customer.id, "changes": diff},
            actor=actor,
        )
    session.flush()
    return customer


_MOVES = {
    # action: (allowed from, to)
    "pause": (("active",), "paused"),
    "churn": (("active", "paused"), "churned"),
    "reactivate": (("paused", "churned"), "active"),
}
_DONE = {"pause": "paused", "churn": "churned", "reactivate": "reactivated"}


def change_status(session: Session, ref: str, action: str, *, reason: str | None, actor: str) -> Customer:
    """pause | churn | reactivate, recorded on the prospect's timeline."""
    if reason is not None:
        require_one_line(reason, "reason")
    allowed, target = _MOVES[action]
    customer = get(session, ref, for_update=True)
    if customer.status not in allowed:
        raise CustomerStatusConflict(
            f"{customer.company_name} ({customer.id}) is {customer.status}; "
            f"only {' or '.join(allowed)} customers can be {_DONE[action]}",
            field="status",
        )
    before = customer.status
    now = utc_now()
    customer.status = target
    if target == "churned":
        customer.end_date = now
    elif target == "active":
        customer.end_date = None
    customer.updated_at = now
    details: dict[str, Any] = {"customerId": customer.id, "from": before, "to": target}
    if reason:
        details["reason"] = reason
    activity.record(session, customer.prospect_id, "customer", _DONE[action], details, actor=actor)
    if target == "active":
        prospect = prospects.get(session, customer.prospect_id, for_update=True)
        if prospect.sales_status != "closed_won":
            prospects.move_stage(session, prospect.id, "closed_won", reason="customer reactivated", actor=actor)
    session.flush()
    return customer


def _plain(value: Any) -> Any:
    return iso(value) if isinstance(value, datetime) else value
