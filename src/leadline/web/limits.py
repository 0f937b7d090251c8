"""Request bodies: what any request may send, checked before the body is read.

One ASGI middleware, :class:`BodyLimits`, in front of every route:

- a size limit per route (``LEADLINE_MAX_BODY_BYTES`` unless the route has its own, see
  :func:`body_limit`): a declared ``Content-Length`` above it is refused (413) before a byte
  is read, and a body sent without one (chunked) is counted as it arrives and refused as
  soon as it passes the limit;
- a body that sends nothing for ``LEADLINE_BODY_TIMEOUT_SECONDS`` is refused (408);
- every ``/api/`` request shows valid credentials (``auth.deps.api_gate``) before its body is
  read, so a stranger's body is never read or parsed (FastAPI reads and parses a JSON body
  before it runs any dependency); so does an upload to a page (a file on a prospect or customer,
  the import page: ``auth.deps.page_gate``), whose form the stored-text rule would otherwise
  read before the page's own sign-in check;
- a JSON body for ``/api/`` is checked with :func:`leadline.jsonin.loads` (strict, nested at
  most ``MAX_DEPTH`` levels) as its last byte arrives, before FastAPI parses it (422, field
  ``body``).

Refusals raised while a route reads its body are :class:`BodyRefused` (an ``HTTPException``,
so FastAPI passes it through), answered by :func:`refused`.

FastAPI 0.16x has a ``max_body_size`` of its own; it is not used because its per-route limits
are fixed when the routes are declared (ours are settings), it answers an early refusal in
plain text, and it is newer than the FastAPI versions Leadline supports.
"""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadline import jsonin
from leadline.config import Settings
from leadline.fields import digits

IMPORT_PATHS = ("/api/prospects/import", "/prospects/import")


def is_page_upload(path: str) -> bool:
    """The pages that take a file: a file on a prospect or customer, the import page."""
    return path == "/prospects/import" or (path.endswith("/files") and path.startswith(("/prospects/", "/customers/")))


class BodyRefused(HTTPException):
    """A request body refused for its size, its pace or its JSON; ``code`` and ``field`` as in every error."""

    def __init__(self, status: int, code: str, message: str, *, field: str | None = None, close: bool = False) -> None:
        # ``close``: the client may still be sending; end the connection once answered.
        super().__init__(status, message, headers={"Connection": "close"} if close else None)
        self.code = code
        self.field = field


def body_limit(settings: Settings, path: str) -> tuple[int, str]:
    """The most bytes a request to ``path`` may send, and the setting that says so."""
    if path == "/webhooks/sendgrid":
        return settings.webhook_max_body_bytes, "LEADLINE_WEBHOOK_MAX_BODY_BYTES"
    if path.startswith("/webhooks/twilio/"):
        return settings.twilio_max_body_bytes, "LEADLINE_TWILIO_MAX_BODY_BYTES"
    if path.startswith("/webhooks/sendgrid/inbound"):
        return settings.inbound_max_body_bytes, "LEADLINE_INBOUND_MAX_BODY_BYTES"
    if path == "/api/files" or (path != "/prospects/import" and is_page_upload(path)):
        # the file itself and room for the form around it (the file is read with the exact cap)
        return settings.file_max_bytes + 64 * 1024, "LEADLINE_FILE_MAX_BYTES"
    if path in IMPORT_PATHS:
        return settings.import_max_body_bytes, "LEADLINE_IMPORT_MAX_BODY_BYTES"
    return settings.max_body_bytes, "LEADLINE_MAX_BODY_BYTES"


def _too_large(limit: int, setting: str, *, close: bool = False) -> BodyRefused:
    return BodyRefused(413, "too_large", f"the request body is larger than {limit:,} bytes ({setting})", close=close)


def _is_json(content_type: str | None) -> bool:
    """What FastAPI parses as JSON: application/json and application/*+json."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))


def _wants_page(request: Request) -> bool:
    path = request.url.path
    return "text/html" in request.headers.get("accept", "") and not path.startswith(("/api/", "/webhooks/"))


async def refused(request: Request, error: Exception) -> Response:
    """The answer to a :class:`BodyRefused`: the JSON error shape, or for a browser the app's error page."""
    assert isinstance(error, BodyRefused)
    if _wants_page(request):
        page = request.app.exception_handlers.get(HTTPException)
        if page is not None:
            response: Response = await page(request, error)
            return response
    body: dict[str, Any] = {"error": error.code, "message": error.detail}
    if error.field:
        body["field"] = error.field
    return JSONResponse(body, status_code=error.status_code, headers=error.headers)


async def _answer(scope: Scope, receive: Receive, send: Send, error: Exception) -> None:
    """Answer from the middleware (no route ran) the way the app's handlers would."""
    request = Request(scope, receive)
    if isinstance(error, BodyRefused):
        response = await refused(request, error)
    else:
        handlers = scope["app"].exception_handlers
        handler = handlers.get(type(error)) or handlers.get(HTTPException)
        response = await handler(request, error)
    await response(scope, receive, send)


class BodyLimits:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):  # behind a proxy's prefix: the path the routes see
            path = path[len(root) :]
        limit, setting = body_limit(self.settings, path)
        headers = Headers(scope=scope)
        declared = headers.get("content-length", "")
        if digits(declared) and int(declared) > limit:
            await _answer(scope, receive, send, _too_large(limit, setting))
            return
        api = path.startswith("/api/")
        if api:
            from leadline.auth.deps import api_gate

            try:
                await api_gate(Request(scope))
            except HTTPException as error:
                await _answer(scope, receive, send, error)
                return
        elif scope["method"] == "POST" and is_page_upload(path):
            from leadline.auth.deps import SignInRequired, page_gate

            try:
                await page_gate(Request(scope))
            except (HTTPException, SignInRequired) as error:
                await _answer(scope, receive, send, error)
                return
        content_type = headers.get("content-type")
        check_json = api and (content_type is None or _is_json(content_type))  # older FastAPI: no type is JSON
        body = _Body(receive, limit, setting, self.settings.body_timeout_seconds, check_json=check_json)
        started = False

        async def send_noting_start(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, body.receive, send_noting_start)
        except BodyRefused as error:  # raised where no handler saw it (the route answered it otherwise)
            if started:
                raise
            await _answer(scope, receive, send, error)


class _Body:
    """The request's ``receive``, counting bytes, timing each wait and checking JSON at the end."""

    def __init__(self, receive: Receive, limit: int, setting: str, timeout: float, *, check_json: bool) -> None:
        self._receive = receive
        self.limit = limit
        self.setting = setting
        self.timeout = timeout
        self.size = 0
        self.done = False
        self.chunks: list[bytes] | None = [] if check_json else None

    async def receive(self) -> Message:
        if self.done:  # the body is in; later calls wait for a disconnect, as long as the response takes
            return await self._receive()
        try:
            with anyio.fail_after(self.timeout):
                message = await self._receive()
        except TimeoutError:
            self.done = True
            raise BodyRefused(
                408, "timeout", f"the request body stalled: nothing arrived for {self.timeout:g} s", close=True
            ) from None
        if message["type"] != "http.request":
            self.done = True
            return message
        chunk: bytes = message.get("body", b"")
        self.size += len(chunk)
        if self.size > self.limit:
            self.done = True
            raise _too_large(self.limit, self.setting, close=True)
        if self.chunks is not None and chunk:
            self.chunks.append(chunk)
        if not message.get("more_body", False):
            self.done = True
            if self.chunks:
                await self._check_json(b"".join(self.chunks))
            self.chunks = None
        return message

    async def _check_json(self, data: bytes) -> None:
        try:
            if len(data) > 64 * 1024:  # walking a large value takes a while: not on the event loop
                await anyio.to_thread.run_sync(jsonin.loads, data)
            else:
                jsonin.loads(data)
        except jsonin.NotJson as error:
            raise BodyRefused(422, "invalid", f"body: {error}", field="body") from None


def install(app: FastAPI, settings: Settings) -> None:
    """The body middleware and its error answer (inside SecurityHeaders: refusals get the headers too)."""
    app.add_exception_handler(BodyRefused, refused)
    app.add_middleware(BodyLimits, settings=settings)
