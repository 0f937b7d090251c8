"""``/api/views``: saved views of the list pages (yours and the shared ones)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from leadline.auth.deps import ApiPrincipal
from leadline.deps import DbSession, ReadSession
from leadline.views import service
from leadline.views.schemas import ViewCreate, ViewPage, ViewRead

router = APIRouter(prefix="/api/views", tags=["views"])


@router.get("", response_model=list[ViewRead], summary="Saved views: yours and the shared ones")
def list_views(session: ReadSession, principal: ApiPrincipal, page: Annotated[ViewPage | None, Query()] = None) -> Any:
    return [service.read(v) for v in service.visible(session, principal.actor, page)]


@router.post("", response_model=ViewRead, status_code=201, summary="Save a view of a list page")
def save_view(body: ViewCreate, session: DbSession, principal: ApiPrincipal) -> Any:
    return service.read(service.save(session, body, owner=principal.actor))


@router.delete("/{view_id}", status_code=204, summary="Remove a view (yours; an admin any shared one)")
def remove_view(view_id: str, session: DbSession, principal: ApiPrincipal) -> Response:
    service.remove(session, view_id, user=principal.actor, admin=principal.is_admin)
    return Response(status_code=204)
