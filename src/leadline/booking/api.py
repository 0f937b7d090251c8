"""``/api/availability`` (what a user offers) and ``/api/booking`` (a prospect's link, revoking it)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from leadline.auth.deps import ApiPrincipal
from leadline.booking import availability, service
from leadline.booking.schemas import AvailabilityRead, AvailabilitySet, BookingLinkRead, RevokeIn
from leadline.db import settings_of
from leadline.deps import DbSession, ReadSession

router = APIRouter(tags=["booking"])

UserQuery = Annotated[str | None, Query(max_length=254, description="Another user's (admins); default: yours.")]


@router.get("/api/availability", response_model=AvailabilityRead, summary="A user's availability for booked calls")
def get_availability(session: ReadSession, principal: ApiPrincipal, user: UserQuery = None) -> Any:
    acting = principal.name if principal.kind == "session" else None
    found = service.user_for(session, user, acting_email=acting, admin=principal.is_admin or acting is None)
    return availability.read(availability.get(session, found.id), found, settings_of(session).timezone)


@router.put("/api/availability", response_model=AvailabilityRead, summary="Set a user's availability")
def put_availability(body: AvailabilitySet, session: DbSession, principal: ApiPrincipal, user: UserQuery = None) -> Any:
    acting = principal.name if principal.kind == "session" else None
    found = service.user_for(session, user, acting_email=acting, admin=principal.is_admin or acting is None)
    row = availability.set_for(session, found, body, actor=principal.actor)
    return availability.read(row, found, settings_of(session).timezone)


@router.get("/api/booking/links/{prospect_id}", response_model=BookingLinkRead, summary="A prospect's booking link")
def get_link(
    prospect_id: str, session: ReadSession,
    sender: Annotated[str | None, Query(max_length=320, description="The From address; default: yours.")] = None,
) -> Any:  # fmt: skip
    return service.link_for(session, prospect_id, sender)


@router.post("/api/booking/revoke", response_model=BookingLinkRead, summary="Withdraw a prospect's booking links")
def revoke(body: RevokeIn, session: DbSession, principal: ApiPrincipal) -> Any:
    row = service.revoke(session, body.prospect_id, sender=body.sender, reason=body.reason, actor=principal.actor)
    return BookingLinkRead(prospect_id=row.prospect_id, sender=row.sender_email, url=None, revoked_at=row.revoked_at,
                           revoked_reason=row.revoked_reason)  # fmt: skip
