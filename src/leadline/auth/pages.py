"""The sign-in page, signing out, and the one-time set-password page.

Before anyone is signed in there is no session to hold a CSRF token, so these forms use a
double-submit token: a random value in an HttpOnly cookie that the form must repeat.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from leadline.auth import service
from leadline.auth.deps import SESSION_COOKIE, PageUser, resolve
from leadline.auth.flows import DEVICE_COOKIE, DEVICE_DAYS, device_cookie, known_device, sign_in
from leadline.db import unit_of_work
from leadline.errors import LeadlineError
from leadline.fields import OneLine
from leadline.web.render import page

router = APIRouter(include_in_schema=False)
LOGIN_COOKIE = "leadline_login"


def safe_next(value: str | None) -> str:
    """Only paths on this site: never ``//evil.example`` or ``https://...``."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def _login_token(request: Request) -> str:
    return request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)


def _with_login_cookie(request: Request, response: Response, token: str) -> Response:
    settings = request.app.state.settings
    response.set_cookie(LOGIN_COOKIE, token, max_age=3600, httponly=True, samesite="strict",
                        secure=settings.secure_cookies, path="/")  # fmt: skip
    response.headers["Cache-Control"] = "no-store"
    return response


def _login_page(request: Request, *, next_path: str = "/", email: str = "", error: str = "", notice: str = "",
                status_code: int = 200, retry_after: int = 0) -> Response:  # fmt: skip
    token = _login_token(request)
    response = page(request, "auth/login.html", {"login_csrf": token, "next": next_path, "email": email,
                                                 "error": error, "notice": notice}, status_code)  # fmt: skip
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return _with_login_cookie(request, response, token)


def _login_csrf_ok(request: Request, sent: str) -> bool:
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    return bool(cookie) and hmac.compare_digest(cookie, sent)


def _signed_in(request: Request, session_cookie: str, device: str, next_path: str) -> Response:
    """Where a browser goes once signed in, with its session cookie and the cookie that makes it
    known to the account (it then keeps getting in while strangers are locked out: docs/access.md)."""
    settings = request.app.state.settings
    response = RedirectResponse(safe_next(next_path), status_code=303)
    response.set_cookie(SESSION_COOKIE, session_cookie, max_age=settings.session_max_age_seconds, httponly=True,
                        samesite="lax", secure=settings.secure_cookies, path="/")  # fmt: skip
    response.set_cookie(DEVICE_COOKIE, device, max_age=DEVICE_DAYS * 86400, httponly=True, samesite="strict",
                        secure=settings.secure_cookies, path="/login")  # fmt: skip
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


@router.get("/login")
async def login_form(request: Request, next: str = "/") -> Response:
    if await run_in_threadpool(resolve, request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    notice = "You are signed out." if request.query_params.get("signed_out") else ""
    return _login_page(request, next_path=safe_next(next), notice=notice)


@router.post("/login")
async def login(
    request: Request,
    email: Annotated[OneLine, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    # Async: the attempt waits for its turn in the sign-in pool without holding a request thread.
    next_path = safe_next(next)
    if not _login_csrf_ok(request, csrf_token):
        return _login_page(request, next_path=next_path, email=email, status_code=403,
                           error="The form had expired; please sign in again.")  # fmt: skip
    client = service.client_key(request.client.host if request.client else None)
    result = await sign_in(request.app.state.settings, email, password, client=client,
                           device=request.cookies.get(DEVICE_COOKIE, ""),
                           user_agent=request.headers.get("user-agent", ""))  # fmt: skip
    if result.user_id is None:
        status = 429 if result.retry_after else 401
        return _login_page(request, next_path=next_path, email=email, error=result.error, status_code=status,
                           retry_after=result.retry_after)  # fmt: skip
    return _signed_in(request, result.session_cookie, result.device_cookie, next_path)


@router.post("/logout")
def logout(request: Request, principal: PageUser) -> Response:
    with unit_of_work(request.app.state.settings) as session:
        service.end_session(session, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login?signed_out=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _set_password_page(request: Request, token: str, *, error: str = "", status_code: int = 200) -> Response:
    email = ""
    try:
        with unit_of_work(request.app.state.settings, readonly=True) as session:
            email = service.user_for_link(session, token).email
    except LeadlineError as problem:
        error, status_code = str(problem), 400
    login_csrf = _login_token(request)
    response = page(request, "auth/set_password.html", {"email": email, "token": token, "error": error,
                    "login_csrf": login_csrf, "min_length": service.MIN_PASSWORD}, status_code)  # fmt: skip
    return _with_login_cookie(request, response, login_csrf)


@router.get("/set-password")
def set_password_form(request: Request, token: str = "") -> Response:
    return _set_password_page(request, token)


@router.post("/set-password")
def set_password(
    request: Request,
    token: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    confirm: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    if not _login_csrf_ok(request, csrf_token):
        return _set_password_page(request, token, error="The form had expired; please try again.", status_code=403)
    if password != confirm:
        return _set_password_page(request, token, error="The two passwords differ.", status_code=422)
    settings = request.app.state.settings
    try:
        with unit_of_work(settings) as session:
            user = service.user_for_link(session, token)
            service.set_password(session, user, password)
            raw = service.start_session(session, settings, user, request.headers.get("user-agent", ""))
            device = known_device(settings, request.cookies.get(DEVICE_COOKIE, ""), user.email)
            device_value = device_cookie(settings, user.email, device)
    except LeadlineError as problem:
        return _set_password_page(request, token, error=str(problem), status_code=problem.status_code)
    return _signed_in(request, raw, device_value, "/")
