"""A local stand-in for SendGrid's v3 Mail Send API.

It checks requests the way SendGrid does (Bearer key, JSON shape and limits, forbidden
headers; facts from ../shared/SENDGRID.md §4) and answers from a script: 202 with an
X-Message-Id, SendGrid's error bodies (400, 401, 413), 429 with rate-limit headers,
500, a hang longer than the client's timeout, or a dropped connection.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FORBIDDEN_HEADERS = {
    "x-sg-id", "x-sg-eid", "received", "dkim-signature", "content-type", "content-transfer-encoding", "to",
    "from", "subject", "reply-to", "cc", "bcc",
}  # fmt: skip


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def error_body(message: str, field: str | None = None, help: str | None = None) -> dict[str, Any]:
    return {"errors": [{"message": message, "field": field, "help": help}]}


def check_mail_send(body: Any) -> list[dict[str, Any]]:
    """SendGrid's own validation of a Mail Send body (the parts Leadline uses)."""
    problems: list[dict[str, Any]] = []

    def bad(message: str, field: str | None) -> None:
        problems.append({"message": message, "field": field, "help": None})

    if not isinstance(body, dict):
        bad("Bad Request", None)
        return problems
    personalizations = body.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        bad("The personalizations field is required and must have at least one personalization.", "personalizations")
    elif len(personalizations) > 1000:
        bad("The personalizations field may not have more than 1000 items.", "personalizations")
    else:
        total = 0
        for index, p in enumerate(personalizations):
            to = p.get("to") if isinstance(p, dict) else None
            if not isinstance(to, list) or not to or not all(isinstance(t, dict) and t.get("email") for t in to):
                bad("The to array is required for all personalization objects, and must have at least one email "
                    "object with a valid email address.", f"personalizations.{index}.to")  # fmt: skip
            total += len(to or []) + len(p.get("cc") or []) + len(p.get("bcc") or [])
            args = p.get("custom_args")
            if args is not None and (not isinstance(args, dict) or not all(isinstance(v, str) for v in args.values())):
                bad("Invalid type. Expected: object, given: string.", f"personalizations.{index}.custom_args")
        if total > 1000:
            bad("The total number of recipients must be no more than 1000.", "personalizations")
    sender = body.get("from")
    if not isinstance(sender, dict) or not sender.get("email"):
        bad("The from object must be provided for every email send.", "from.email")
    subject = body.get("subject")
    if not subject and not all(isinstance(p, dict) and p.get("subject") for p in personalizations or []):
        bad("The subject is required. You can get around this requirement if you use a template with a subject "
            "defined or if every personalization has a subject defined.", "subject")  # fmt: skip
    content = body.get("content")
    if not isinstance(content, list) or not content:
        bad("Unless a valid template_id is provided, the content parameter is required.", "content")
    else:
        for index, part in enumerate(content):
            if not isinstance(part, dict) or not part.get("type") or not part.get("value"):
                bad("The content value must be a string at least one character in length.", f"content.{index}.value")
        types = [part.get("type") for part in content if isinstance(part, dict)]
        if "text/plain" in types and types[0] != "text/plain":
            bad("If present, text/plain content must be first, followed by any other content.", "content")
    categories = body.get("categories")
    if categories is not None and (
        not isinstance(categories, list) or len(categories) > 10 or len(set(categories)) != len(categories)
        or any(not isinstance(c, str) or len(c) > 255 for c in categories)
    ):  # fmt: skip
        bad("Categories must be unique strings of at most 255 characters, at most 10.", "categories")
    headers = body.get("headers") or {}
    for name in headers:
        if name.lower() in FORBIDDEN_HEADERS:
            bad(f"The header {name} is reserved and cannot be set.", f"headers.{name}")
    if "reply_to" in body and "reply_to_list" in body:
        bad("The reply_to and reply_to_list fields cannot both be used.", "reply_to")
    return problems


@dataclass
class FakeSendGrid:
    api_key: str = "SG.test-key"
    other_keys: tuple[str, ...] = ()  # more keys it accepts (a sender's own: senders' credentialsEnv)
    requests: list[Recorded] = field(default_factory=list)
    script: deque[str | tuple[int, Any]] = field(default_factory=deque)
    hang_seconds: float = 5.0
    latency: float = 0.0  # seconds each accepted request takes (after it is recorded)

    def __post_init__(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                fake.requests.append(Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                action = fake.script.popleft() if fake.script else "accept"
                if fake.latency:
                    time.sleep(fake.latency)
                if action == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if action == "hang":
                    time.sleep(fake.hang_seconds)
                    return
                if self.path != "/v3/mail/send":
                    return self._json(404, error_body("Not found"))
                if self.headers.get("Authorization") not in {f"Bearer {k}" for k in (fake.api_key, *fake.other_keys)}:
                    return self._json(
                        401, error_body("The provided authorization grant is invalid, expired, or revoked")
                    )
                if isinstance(action, tuple):
                    status, payload = action
                    extra = {"X-RateLimit-Limit": "600", "X-RateLimit-Remaining": "0",
                             "X-RateLimit-Reset": str(int(time.time()))} if status == 429 else {}  # fmt: skip
                    return self._json(status, payload, extra)
                try:
                    parsed = json.loads(body)
                except ValueError:
                    return self._json(400, error_body("Bad Request", None))
                problems = check_mail_send(parsed)
                if problems:
                    return self._json(400, {"errors": problems})
                self.send_response(202)
                self.send_header("X-Message-Id", secrets.token_urlsafe(16)[:22])
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _json(self, status: int, payload: Any, extra: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (extra or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def then(self, *actions: str | tuple[int, Any]) -> FakeSendGrid:
        self.script.extend(actions)
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
