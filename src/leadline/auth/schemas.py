from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from leadline.schemas import ApiModel, InputModel

Role = Literal["admin", "member", "viewer"]
Scope = Literal["read", "write"]


class Me(ApiModel):
    kind: Literal["session", "token"]
    name: str
    role: Role
    can_write: bool


class UserRead(ApiModel):
    id: str
    email: str
    role: Role
    has_password: bool
    last_login_at: datetime | None
    created_at: datetime


class UserCreate(InputModel):
    email: str = Field(max_length=254)
    role: Role = "member"
    password: str | None = Field(None, max_length=1024, description="Omit to get a one-time set-password link.")


class UserCreated(UserRead):
    set_password_link: str | None = None


class UserUpdate(InputModel):
    role: Role


class TokenRead(ApiModel):
    id: str
    name: str
    scope: Scope
    prefix: str
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreate(InputModel):
    name: str = Field(min_length=1, max_length=100)
    scope: Scope = "read"


class TokenCreated(TokenRead):
    token: str = Field(description="The token itself: shown this once, never stored.")
