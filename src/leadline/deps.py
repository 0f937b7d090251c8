"""FastAPI dependencies shared by every router: settings, database sessions, the acting user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.orm import Session

from leadline.config import Settings
from leadline.db import unit_of_work
from leadline.fields import text_problem
from leadline.names import camel

#: The longest path or query parameter taken (ids, e-mail addresses, searches and cursors are far shorter).
MAX_PARAM_CHARS = 2000
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


async def text_rule(request: Request) -> None:
    """The stored-text rule (:mod:`leadline.fields`) for what no input schema reads whole: every path and
    query parameter is one line of at most :data:`MAX_PARAM_CHARS` characters (a path parameter is named in
    the API's camelCase, as the not-found errors name it), and every field of a posted
    form (a page's; an upload's file name) holds no control character but line breaks and tabs (the
    schemas and services then refuse line breaks in one-line fields). A 422 naming the parameter."""
    errors: list[dict[str, object]] = []

    def refuse(where: str, name: str, problem: str, value: str) -> None:
        errors.append({"type": "stored_text", "loc": (where, name if name.isprintable() else where),
                       "msg": problem, "input": value})  # fmt: skip

    params = [("path", camel(n), v) for n, v in request.path_params.items() if isinstance(v, str)]
    for where, name, value in params + [("query", n, v) for n, v in request.query_params.multi_items()]:
        if problem := text_problem(name) or text_problem(value):
            refuse(where, name, problem, value)
        elif len(value) > MAX_PARAM_CHARS:
            refuse(where, name, f"must be at most {MAX_PARAM_CHARS} characters", value)
    if not errors and request.method == "POST" and request.headers.get("content-type", "").startswith(_FORMS):
        for name, item in (await request.form()).multi_items():
            if isinstance(item, str):
                if problem := text_problem(name) or text_problem(item, "lines"):
                    refuse("body", name, problem, item)
            elif item.filename and (problem := text_problem(item.filename)):
                refuse("body", name, f"its file name {problem}", item.filename)
    if errors:
        raise RequestValidationError(errors)


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
