"""``/api/customers``: list (with MRR), read, edit, pause, churn, reactivate."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from leadline.customers import service
from leadline.customers.schemas import (
    CustomerList,
    CustomerRead,
    CustomerStatus,
    CustomerUpdate,
    StatusChange,
)
from leadline.deps import Actor, CurrentSettings, DbSession, ReadSession
from leadline.times import to_utc

router = APIRouter(prefix="/api/customers", tags=["customers"])


@router.get("", response_model=CustomerList, summary="List customers, with MRR")
def list_customers(
    session: ReadSession,
    settings: CurrentSettings,
    status: Annotated[CustomerStatus | None, Query()] = None,
    signed_from: Annotated[datetime | None, Query(alias="signedFrom", description="Signed at or after.")] = None,
    signed_to: Annotated[datetime | None, Query(alias="signedTo", description="Signed before.")] = None,
) -> Any:
    if signed_from is not None and signed_from.tzinfo is None:
        signed_from = to_utc(signed_from, settings.zone, field="signedFrom")
    if signed_to is not None and signed_to.tzinfo is None:
        signed_to = to_utc(signed_to, settings.zone, field="signedTo")
    items = service.search(session, status=status, signed_from=signed_from, signed_to=signed_to)
    return CustomerList(
        items=[CustomerRead.model_validate(c) for c in items], total=len(items), mrr=service.mrr(session)
    )


@router.get("/{customer_id}", response_model=CustomerRead, summary="Read a customer (by id or prospect id)")
def get_customer(customer_id: str, session: ReadSession) -> Any:
    return service.get(session, customer_id)


@router.patch("/{customer_id}", response_model=CustomerRead, summary="Edit a customer")
def update_customer(customer_id: str, body: CustomerUpdate, session: DbSession, actor: Actor) -> Any:
    return service.update(session, customer_id, body, actor=actor)


def _status_route(action: str, summary: str) -> None:
    def change(
        customer_id: str,
        session: DbSession,
        actor: Actor,
        body: Annotated[StatusChange | None, Body()] = None,
    ) -> Any:
        reason = body.reason if body else None
        return service.change_status(session, customer_id, action, reason=reason, actor=actor)

    change.__name__ = f"{action}_customer"
    router.post(f"/{{customer_id}}/{action}", response_model=CustomerRead, summary=summary)(change)


_status_route("pause", "Pause a customer")
_status_route("churn", "Churn a customer")
_status_route("reactivate", "Reactivate a paused or churned customer")
