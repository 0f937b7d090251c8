"""Security headers on every response (a small ASGI middleware, no per-request task overhead).

The Content-Security-Policy allows scripts and styles from this site only (plus inline
``style=`` attributes for chart bars), so an injected ``<script>`` would not run even if
escaping failed somewhere. Pages may not be framed (click-jacking). /docs too: its Swagger UI
is vendored under /static/vendor/ and started by /static/swagger-init.js, no inline script.
"""

from __future__ import annotations

import logging

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadline.redaction import redact_path

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name for name, _ in headers}
                headers += [(name, value) for name, value in HEADERS if name not in names]
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", CSP.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def with_security_headers(response: Response) -> Response:
    """The headers above on a response made outside the middleware (the handler of unexpected
    errors runs in Starlette's outermost layer)."""
    for name, value in [*HEADERS, (b"content-security-policy", CSP.encode())]:
        response.headers.setdefault(name.decode(), value.decode())
    return response


def redact(path: str) -> str:
    """A request path with the secrets some URLs carry (set-password links, the inbound and
    calendar URLs, unsubscribe tokens) replaced, for logs: checked on the path as sent and
    decoded, so no percent-encoding or letter case gets a secret past (leadline/redaction.py)."""
    return redact_path(path)


class RedactSecrets(logging.Filter):
    """Keeps secrets in URLs out of uvicorn's access log (journald, files, log shippers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact(args[2]), *args[3:])
        return True


def redact_access_log() -> None:
    """Install the filter on uvicorn's access logger (after uvicorn has configured logging)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactSecrets) for f in access.filters):
        access.addFilter(RedactSecrets())
