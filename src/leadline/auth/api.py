"""``/api/me``, ``/api/users`` and ``/api/tokens`` (the last two for signed-in admins)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from leadline.auth import service
from leadline.auth.deps import ApiAdmin, ApiPrincipal
from leadline.auth.models import User
from leadline.auth.schemas import (
    Me,
    TokenCreate,
    TokenCreated,
    TokenRead,
    UserCreate,
    UserCreated,
    UserRead,
    UserUpdate,
)
from leadline.deps import CurrentSettings, DbSession, ReadSession

router = APIRouter(tags=["access"])


def user_read(user: User, link: str | None = None) -> dict[str, Any]:
    return {"id": user.id, "email": user.email, "role": user.role, "has_password": bool(user.password_hash),
            "last_login_at": user.last_login_at, "created_at": user.created_at, "set_password_link": link}  # fmt: skip


@router.get("/api/me", response_model=Me, summary="Who the request is authenticated as")
def me(principal: ApiPrincipal) -> Any:
    return {"kind": principal.kind, "name": principal.name, "role": principal.role, "can_write": principal.can_write}


@router.get("/api/users", response_model=list[UserRead], summary="Users (admins only)")
def list_users(session: ReadSession, _: ApiAdmin) -> Any:
    return [user_read(u) for u in service.list_users(session)]


@router.post("/api/users", response_model=UserCreated, status_code=201, summary="Add a user (admins only)")
def add_user(body: UserCreate, session: DbSession, settings: CurrentSettings, _: ApiAdmin) -> Any:
    user = service.add_user(session, body.email, body.role, body.password)
    link = service.set_password_link(session, settings, user) if body.password is None else None
    return user_read(user, link)


@router.patch("/api/users/{email}", response_model=UserRead, summary="Change a user's role (admins only)")
def change_role(email: str, body: UserUpdate, session: DbSession, _: ApiAdmin) -> Any:
    return user_read(service.change_role(session, email, body.role))


@router.delete("/api/users/{email}", status_code=204, summary="Remove a user (admins only)")
def remove_user(email: str, session: DbSession, _: ApiAdmin) -> Response:
    service.remove_user(session, email)
    return Response(status_code=204)


@router.get("/api/tokens", response_model=list[TokenRead], summary="API tokens (admins only)")
def list_tokens(session: ReadSession, _: ApiAdmin, include_revoked: bool = False) -> Any:
    return service.list_tokens(session, include_revoked=include_revoked)


@router.post("/api/tokens", response_model=TokenCreated, status_code=201, summary="Create an API token (admins only)")
def create_token(body: TokenCreate, session: DbSession, principal: ApiAdmin) -> Any:
    token, raw = service.create_token(session, body.name, body.scope, principal.actor)
    return {**TokenRead.model_validate(token).model_dump(), "token": raw}


@router.delete("/api/tokens/{token_id}", response_model=TokenRead, summary="Revoke an API token (admins only)")
def revoke_token(token_id: str, session: DbSession, _: ApiAdmin) -> Any:
    return service.revoke_token(session, token_id)
