"""The ASGI application: API routers, webhooks, pages and one error format for all of them."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette import staticfiles as starlette_static
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import Scope

from leadline import __version__, redaction
from leadline.analytics.api import router as analytics_router
from leadline.auth.api import router as auth_router
from leadline.auth.deps import SignInRequired, api_principal, sign_in_url
from leadline.auth.pages import router as auth_pages
from leadline.auth.service import prepare_sign_in
from leadline.booking.api import router as booking_router
from leadline.booking.pages import router as booking_pages
from leadline.calls.api import calendar_router
from leadline.calls.api import router as calls_router
from leadline.config import Settings, get_settings
from leadline.customers.api import router as customers_router
from leadline.db import is_unavailable
from leadline.deals.api import proposals_router
from leadline.deals.api import router as deals_router
from leadline.deps import text_rule
from leadline.emails.api import router as emails_router
from leadline.emails.unsubscribe import router as unsubscribe_router
from leadline.errors import LeadlineError
from leadline.files.api import router as files_router
from leadline.guardian.api import router as replies_router
from leadline.health import router as health_router
from leadline.notes.api import router as notes_router
from leadline.notify.api import router as notifications_router
from leadline.proposals.api import router as proposal_documents_router
from leadline.prospects.api import router as prospects_router
from leadline.schemas import ErrorBody, field_errors, field_path, one_line, plain_message
from leadline.search.api import router as search_router
from leadline.senders.api import router as senders_router
from leadline.sequences.api import router as sequences_router
from leadline.tasks.api import router as tasks_router
from leadline.texts.api import router as texts_router
from leadline.texts.webhooks import router as twilio_router
from leadline.views.api import router as views_router
from leadline.web.limits import install as install_body_limits
from leadline.web.pages import router as pages_router
from leadline.web.pages.proposal_links import router as proposal_links_router
from leadline.web.ratelimit import limiter
from leadline.web.render import STATIC, page, pages, static_version
from leadline.web.security import SecurityHeaders, redact, redact_access_log, with_security_headers
from leadline.webhooks.admin_api import router as webhooks_admin_router
from leadline.webhooks.api import router as webhooks_router
from leadline.worker import EmbeddedWorker


class StaticFiles(starlette_static.StaticFiles):
    """The files under /static/. An address that names the file's current content (``?v=`` from
    ``static()`` in the pages) may be kept by the browser for a year without asking again: the next
    release's pages name new addresses. Any other address is checked each time (ETag)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200 and _names_content(path, scope):
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def _names_content(path: str, scope: Scope) -> bool:
    asked = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("v")
    try:
        return asked == [static_version(path)]
    except OSError:
        return False


log = logging.getLogger("leadline")

DESCRIPTION = """
Leadline's REST API. JSON uses the seed's camelCase field names (`salesStatus`,
`gridHealth`, `emailsSentCount`, ...). Every error has the same shape:
`{"error": "<code>", "message": "<one line>", "field": "<the field to blame>", "errors": [...]}`.
Text is one line without control characters (a NUL anywhere, a line break in a name: 422
naming the field); notes and reply bodies keep their line breaks and lose other control
characters; whole numbers fit a 32-bit integer column.
"""


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"error": code, "message": message}
    if field:
        body["field"] = field
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers)


_PAGE_TITLES = {400: "Bad request", 401: "Sign-in needed", 403: "Not allowed", 404: "Not found",
                405: "Not allowed here", 409: "Changed meanwhile", 413: "Too large", 422: "Not understood",
                429: "Too many tries", 500: "Something went wrong", 503: "Try again shortly"}  # fmt: skip


def _wants_page(request: Request) -> bool:
    """A browser asking for a page (not the API, a webhook or an HTMX fragment) gets an HTML error."""
    path = request.url.path
    if path.startswith(("/api/", "/webhooks/", "/calendar/", "/static/")) or request.headers.get("hx-request"):
        return False
    return "text/html" in request.headers.get("accept", "")


def error_page(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    back = request.headers.get("referer") or "/"
    if not back.startswith(str(request.base_url)) and not back.startswith("/"):
        back = "/"
    title = _PAGE_TITLES.get(status, "Something went wrong")
    response = page(request, "public/error.html", {"title": title, "message": message, "back": back}, status)
    response.headers.update(headers or {})
    return response


def _answer(request: Request, status: int, code: str, message: str, *, field: str | None = None,
            errors: list[dict[str, str]] | None = None, headers: dict[str, str] | None = None) -> Response:  # fmt: skip
    """The error as an HTML page for a browser asking for a page, else as the API's JSON."""
    if _wants_page(request):
        try:
            return error_page(request, status, message, headers)
        except Exception:  # a page that cannot be drawn must not hide the error itself
            log.exception("could not draw the error page for %s", status)
    return error_response(status, code, message, field=field, errors=errors, headers=headers)


def error_for(scope: Scope, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """For ASGI middleware that refuses a request before any route runs (a body too large, a stalled
    body): the answer the handlers below give (an HTML page for a browser, else the API's JSON error),
    with the security headers."""
    return with_security_headers(_answer(Request(scope), status, code, message, headers=headers))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LeadlineError)
    async def _domain(request: Request, error: LeadlineError) -> Response:
        errors = getattr(error, "errors", None) or None
        headers = {"Retry-After": "30"} if error.status_code == 503 else None
        return _answer(request, error.status_code, error.code, str(error), field=error.field, errors=errors,
                       headers=headers)  # fmt: skip

    @app.exception_handler(RequestValidationError)
    async def _request(request: Request, error: RequestValidationError) -> Response:
        errors = []
        for item in error.errors():
            loc = field_path(item)
            name = ".".join(loc) or "body"
            message = plain_message(item)
            if item.get("type") == "json_invalid":
                name = "body"
            elif loc == ["body"] and item.get("type") in ("model_attributes_type", "dict_type", "model_type"):
                # Not JSON at all (FastAPI reads a body of another Content-Type as bytes): say what is wanted.
                message = "must be a JSON object, sent with Content-Type: application/json"
            errors.append({"field": name, "message": message})
        field = errors[0]["field"] if errors else None
        return _answer(request, 422, "invalid", one_line(errors), field=field, errors=errors)

    @app.exception_handler(ValidationError)
    async def _model(request: Request, error: ValidationError) -> Response:
        errors = field_errors(error)
        field = errors[0]["field"] if errors else None
        return _answer(request, 422, "invalid", one_line(errors), field=field, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        code = {
            404: "not_found",
            405: "method_not_allowed",
            401: "unauthorized",
            403: "forbidden",
            413: "too_large",
            429: "too_many_requests",
        }.get(error.status_code, "error")
        headers = getattr(error, "headers", None)
        return _answer(request, error.status_code, code, str(error.detail), headers=headers)

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, error: SignInRequired) -> Response:
        target = sign_in_url(error.next_path)
        if request.headers.get("hx-request"):
            # HTMX follows HX-Redirect with a full page load (a 303 would be swapped into the page).
            return error_response(401, "unauthorized", "your session has ended; sign in again",
                                  headers={"HX-Redirect": target})  # fmt: skip
        return RedirectResponse(target, status_code=303)

    def _unavailable(request: Request, error: Exception) -> Response:
        first = (str(getattr(error, "orig", None) or error).strip().splitlines() or [type(error).__name__])[0]
        log.warning("database unavailable on %s %s: %s", request.method, redact(request.url.path), first)
        return with_security_headers(_answer(request, 503, "unavailable",
                                             "the database is unavailable; try again shortly",
                                             headers={"Retry-After": "30"}))  # fmt: skip

    async def _database(request: Request, error: Exception) -> Response:
        # Handled here, inside Starlette's exception middleware: the handler of Exception below runs in
        # its outermost layer, which re-raises after answering, so the server logged a traceback for
        # every 503. A database error that is not about reaching the database goes on to that handler.
        if not is_unavailable(error):
            raise error
        return _unavailable(request, error)

    app.add_exception_handler(DBAPIError, _database)
    app.add_exception_handler(SQLAlchemyTimeoutError, _database)

    async def _gone(request: Request, error: Exception) -> Response:
        # The client closed the connection before sending its whole body: no one reads the answer, and a
        # stranger doing it in a loop must not fill the log with tracebacks (the handler of Exception
        # below, outermost, would log one and the server another). One quiet line.
        log.info("client left before its body was sent: %s %s", request.method, redact(request.url.path))
        return error_response(400, "incomplete", "the request's body ended before it was all sent")  # (no page)

    app.add_exception_handler(ClientDisconnect, _gone)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> Response:
        # Runs outside the middleware (Starlette's outermost layer): the security headers are added here.
        if is_unavailable(error):
            return _unavailable(request, error)
        reference = uuid.uuid4().hex[:12]
        # The path as redacted for the access log: the inbound and calendar URLs carry their secret.
        log.exception("unexpected error %s on %s %s", reference, request.method, redact(request.url.path))
        return with_security_headers(
            _answer(request, 500, "internal", f"unexpected server error (reference {reference})")
        )


SWAGGER_UI = "/static/vendor/swagger-ui-5.35.0"


def install_docs(app: FastAPI) -> None:
    """``/docs``: Swagger UI from the vendored files, started by a static script (the CSP allows no
    inline script and no other site), reading ``/openapi.json``."""

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> Response:
        context = {"title": app.title, "openapi_url": app.openapi_url, "css_url": f"{SWAGGER_UI}/swagger-ui.css",
                   "js_url": f"{SWAGGER_UI}/swagger-ui-bundle.js", "init_url": "/static/swagger-init.js"}  # fmt: skip
        return pages.TemplateResponse(request, "docs/swagger.html", context)


def create_app(settings: Settings | None = None, *, worker: bool = False) -> FastAPI:
    """The application; with ``worker`` it also runs the job worker in this process (``leadline serve``)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        redact_access_log()
        redaction.install(settings)
        await run_in_threadpool(prepare_sign_in)  # the first unknown address answers as fast as the rest
        embedded = None
        if worker:
            embedded = EmbeddedWorker(settings)
            embedded.start()
        try:
            yield
        finally:
            if embedded is not None:
                embedded.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="Leadline",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,  # install_docs: Swagger UI from vendored files
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    install_error_handlers(app)
    install_docs(app)
    install_body_limits(app, settings)  # before SecurityHeaders, so it runs inside it
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/favicon.ico", include_in_schema=False, dependencies=[Depends(text_rule)])
    def favicon() -> RedirectResponse:
        """Browsers ask for /favicon.ico whatever the page links: the SVG icon."""
        return RedirectResponse("/static/favicon.svg", status_code=301)

    errors: dict[int | str, dict[str, Any]] = {
        status: {"model": ErrorBody, "description": text}
        for status, text in ((400, "Bad request"), (401, "No credentials, or not valid ones"),
                             (403, "Not allowed for this role, scope, or without the CSRF token"),
                             (404, "Not found"), (409, "Conflicts with the current state"),
                             (413, "Too large"), (422, "Invalid input: the field is named"),
                             (503, "The database or a remote service is unavailable; retry"))
    }  # fmt: skip
    # The stored-text rule for path and query parameters and posted forms (webhooks: see webhooks/api.py).
    checked = [Depends(text_rule)]
    # Open: health checks, the unsubscribe page, webhooks (signed or secret URL), signing in, the calendar feed.
    app.include_router(health_router)
    app.include_router(unsubscribe_router, dependencies=[Depends(limiter("unsubscribe")), *checked])
    app.include_router(booking_pages, dependencies=checked)  # the prospect's booking pages (secret links)
    # A proposal's private link (the prospect's page): open, rate-limited per address.
    app.include_router(proposal_links_router, dependencies=[Depends(limiter("proposal")), *checked])
    app.include_router(webhooks_router, responses=errors)
    app.include_router(twilio_router, responses=errors)
    app.include_router(auth_pages, dependencies=checked)
    app.include_router(calendar_router, responses=errors, dependencies=checked)  # a secret URL for calendar apps
    # Everything under /api/ needs a token or a signed-in session (writes: write rights + CSRF).
    guarded = [Depends(api_principal), *checked]
    for router in (prospects_router, notes_router, emails_router, calls_router, deals_router, proposals_router,
                   customers_router, tasks_router, sequences_router, notifications_router, analytics_router,
                   auth_router, webhooks_admin_router, search_router, views_router, booking_router,
                   files_router, proposal_documents_router, texts_router,
                   replies_router, senders_router):  # fmt: skip
        app.include_router(router, dependencies=guarded, responses=errors)
    # Pages: each route depends on PageUser / PageWriter / PageAdmin (anonymous: to the sign-in page).
    app.include_router(pages_router, dependencies=checked)
    return app
