"""Who is asking, and may they? Dependencies for the API and for pages.

Every ``/api/`` route takes a bearer token (``Authorization: Bearer ll_...``) or the cookie of a
signed-in browser. Reads (GET/HEAD) need any principal; anything else needs a write token or a
member/admin, and, when it comes with a session cookie, the session's CSRF token in the
``X-CSRF-Token`` header or a ``csrf_token`` form field (the synchronizer-token pattern).
Bearer tokens are never sent by browsers on their own, so they need no CSRF token.
"""

from __future__ import annotations

import hmac
import logging
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import BackgroundTasks, Depends, HTTPException, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from leadline.auth import service
from leadline.clock import utc_now
from leadline.config import Settings
from leadline.db import unit_of_work

log = logging.getLogger(__name__)

SESSION_COOKIE = "leadline_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    kind: Literal["session", "token"]
    name: str  # the user's e-mail address, or the token's name
    role: str  # tokens: write scope acts as a member, read scope as a viewer
    user_id: str | None = None
    csrf_token: str | None = None

    @property
    def can_write(self) -> bool:
        return self.role in ("admin", "member")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def actor(self) -> str:
        """The name written in timelines and audit entries."""
        return f"user:{self.name}" if self.kind == "session" else f"token:{self.name}"


class SignInRequired(Exception):
    """A page was asked for without a session: the browser is sent to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


def resolve(request: Request) -> Principal | None:
    """The principal of this request (None when anonymous); looked up once per request."""
    if hasattr(request.state, "principal"):
        cached: Principal | None = request.state.principal
        return cached
    settings = request.app.state.settings
    principal: Principal | None = None
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise _unauthorized("the Authorization header must be 'Bearer <token>'")
        with unit_of_work(settings, readonly=True) as session:
            token = service.find_token(session, raw.strip())
            if token is None:
                raise _unauthorized("this API token is not valid (revoked, or mistyped)")
            principal = Principal("token", token.name, "member" if token.scope == "write" else "viewer")
            if token.last_used_at is None or token.last_used_at < utc_now() - timedelta(minutes=1):
                request.state.token_to_touch = token.id  # noted after the answer: api_principal
    else:
        raw = request.cookies.get(SESSION_COOKIE, "")
        if raw:
            with unit_of_work(settings, readonly=True) as session:
                found = service.find_session(session, raw)
                if found is not None:
                    web, user = found
                    principal = Principal("session", user.email, user.role, user.id, web.csrf_token)
    request.state.principal = principal
    if principal is not None:
        request.state.actor = principal.actor
    return principal


async def check_csrf(request: Request, principal: Principal) -> None:
    """Refuse a state-changing request from a session without that session's CSRF token."""
    if request.method in SAFE_METHODS or principal.kind != "session":
        return
    sent = request.headers.get("x-csrf-token", "")
    content_type = request.headers.get("content-type", "")
    if not sent and content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get("csrf_token")
        sent = value if isinstance(value, str) else ""
    if not sent or not principal.csrf_token or not hmac.compare_digest(sent, principal.csrf_token):
        raise HTTPException(403, "missing or wrong CSRF token: reload the page and try again")


# Declared for the OpenAPI document (the "Authorize" button of /docs); resolve() does the checking.
bearer_scheme = HTTPBearer(auto_error=False, description="An API token: `leadline tokens create`.")
cookie_scheme = APIKeyCookie(name=SESSION_COOKIE, auto_error=False,
                             description="A signed-in browser; writes also need the X-CSRF-Token header.")  # fmt: skip


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def api_gate(request: Request) -> Principal:
    """What an ``/api/`` request must pass before its body is read (web/limits.py runs it first, so
    a stranger's body is neither read nor parsed): a principal (else 401) and, to change anything,
    write rights and, for a session, the CSRF header (403). A form body may carry the CSRF token
    instead of the header; :func:`api_principal` checks that one once the form is read."""
    if hasattr(request.state, "principal"):  # resolved already (web/limits.py ran this gate)
        principal: Principal | None = request.state.principal
    else:
        principal = await run_in_threadpool(resolve, request)  # the token or session lookup: off the event loop
    if principal is None:
        raise _unauthorized("sign in, or send an API token: Authorization: Bearer <token>")
    if request.method not in SAFE_METHODS:
        if not principal.can_write:
            raise HTTPException(403, f"{principal.actor} may only read ({principal.role})")
        if not request.headers.get("content-type", "").startswith(FORM_TYPES):
            await check_csrf(request, principal)
    return principal


async def api_principal(
    request: Request,
    after_answer: BackgroundTasks,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)] = None,
    _cookie: Annotated[str | None, Depends(cookie_scheme)] = None,
) -> Principal:
    """Any signed-in user or valid token; writes need write rights (and CSRF for sessions)."""
    principal = await api_gate(request)  # resolved once per request: the second call reads request.state
    if request.method not in SAFE_METHODS:
        await check_csrf(request, principal)
    token_id = getattr(request.state, "token_to_touch", None)
    if token_id is not None:
        request.state.token_to_touch = None
        with _touching_lock:
            first = token_id not in _touching
            _touching.add(token_id)
        if first:
            after_answer.add_task(touch_token, request.app.state.settings, token_id)
    return principal


#: Tokens whose use is being noted: while that write waits for the lock, the token still looks unused
#: for a minute, and a poller's every request would queue one more write behind it.
_touching: set[str] = set()
_touching_lock = threading.Lock()


def touch_token(settings: Settings, token_id: str) -> None:
    """Note a token's use once the answer has gone: a write waits for the write lock, which a read
    should not (on SQLite, behind the webhooks being stored). Bookkeeping only: a failure is logged."""
    try:
        with unit_of_work(settings) as session:
            service.touch_token(session, token_id)
    except Exception:
        log.warning("could not note when API token %s was last used", token_id, exc_info=True)
    finally:
        with _touching_lock:
            _touching.discard(token_id)


async def api_admin(request: Request, after_answer: BackgroundTasks) -> Principal:
    principal = await api_principal(request, after_answer)
    if principal.kind != "session" or not principal.is_admin:
        raise HTTPException(403, "only an admin, signed in, may do this")
    return principal


def _next_path(request: Request) -> str:
    path = request.url.path
    return path + (f"?{request.url.query}" if request.url.query else "")


async def page_user(request: Request) -> Principal:
    """The signed-in user of a page; anyone else is sent to the sign-in page."""
    principal = await run_in_threadpool(resolve, request)
    if principal is None or principal.kind != "session":
        raise SignInRequired(_next_path(request))
    await check_csrf(request, principal)
    return principal


async def page_gate(request: Request) -> Principal:
    """What a page upload must pass before its body is read (web/limits.py runs it first, so a
    stranger's or a viewer's file is neither read nor parsed): a signed-in user (else the sign-in
    page) with write rights (else 403). The CSRF token travels in the form: :func:`page_writer`
    checks it once the form is read."""
    principal = await run_in_threadpool(resolve, request)
    if principal is None or principal.kind != "session":
        raise SignInRequired(_next_path(request))
    if not principal.can_write:
        raise HTTPException(403, f"{principal.name} is a viewer and may not change anything")
    return principal


async def page_writer(request: Request) -> Principal:
    principal = await page_user(request)
    if not principal.can_write:
        raise HTTPException(403, f"{principal.name} is a viewer and may not change anything")
    return principal


async def page_admin(request: Request) -> Principal:
    principal = await page_user(request)
    if not principal.is_admin:
        raise HTTPException(403, "only an admin may do this")
    return principal


def sign_in_url(next_path: str) -> str:
    return "/login" if next_path in ("", "/") else f"/login?next={quote(next_path, safe='/')}"


ApiPrincipal = Annotated[Principal, Depends(api_principal)]
ApiAdmin = Annotated[Principal, Depends(api_admin)]
PageUser = Annotated[Principal, Depends(page_user)]
PageWriter = Annotated[Principal, Depends(page_writer)]
PageAdmin = Annotated[Principal, Depends(page_admin)]
