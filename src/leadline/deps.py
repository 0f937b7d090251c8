"""FastAPI dependencies shared by every router: settings, database sessions, the acting user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from leadline.config import Settings
from leadline.db import unit_of_work


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """A unit of work for the request: committed before the response is sent."""
    with unit_of_work(request.app.state.settings) as session:
        yield session


def get_read_session(request: Request) -> Iterator[Session]:
    """A read-only unit of work (SQLite: a deferred transaction, so readers never queue)."""
    with unit_of_work(request.app.state.settings, readonly=True) as session:
        yield session


def get_actor(request: Request) -> str:
    """Who is acting, for the timeline. Set by the authentication middleware when signed in."""
    return str(getattr(request.state, "actor", None) or "api")


# scope="function": the code after ``yield`` (the commit) runs before the response goes out,
# so a 2xx always means the change is durable.
DbSession = Annotated[Session, Depends(get_session, scope="function")]
ReadSession = Annotated[Session, Depends(get_read_session, scope="function")]
CurrentSettings = Annotated[Settings, Depends(get_settings_dep)]
Actor = Annotated[str, Depends(get_actor)]
