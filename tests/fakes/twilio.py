"""A local stand-in for Twilio's Programmable Messaging, speaking its protocol.

* ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``: HTTP basic auth (Account SID and Auth Token,
  else 401 with Twilio's error 20003), form-encoded ``To``, ``From`` or ``MessagingServiceSid``, ``Body``,
  ``StatusCallback``; Twilio's checks (21604 no To, 21211 a To that is not E.164, 21602 no Body, 21606/
  21603 no sender); 201 with a Twilio-shaped message resource (``sid`` SM + 32 hex digits, ``status``
  ``queued``). A script may answer the next send with an error instead (``fail_next``).
* Then, like Twilio, it POSTs signed status callbacks (``sent``, then ``delivered`` or the scripted
  ``undelivered``/``failed`` with its ``ErrorCode``) to the ``StatusCallback`` URL: over HTTP itself
  (``auto_callbacks``, for a real server) or through a test's client (:meth:`deliver`).
* :meth:`inbound` posts a signed inbound text to an app, with Twilio's parameters (``OptOutType`` for
  STOP/START/HELP words, as Advanced Opt-Out adds).

The signature is Twilio's: HMAC-SHA1 keyed with the Auth Token over the URL followed by the sorted
parameters' names and values, base64 (computed here independently of leadline.texts.signature).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
STOP = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
START = {"START", "UNSTOP", "YES"}
HELP = {"HELP", "INFO"}


def twilio_signature(token: str, url: str, params: list[tuple[str, str]]) -> str:
    data = url
    for name, value in sorted(set(params)):  # by name, then a repeated name's distinct values in order
        data += name + value
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


@dataclass
class Callback:
    url: str
    params: list[tuple[str, str]]
    signature: str


@dataclass
class FakeTwilio:
    account_sid: str = "AC" + "0" * 31 + "1"
    auth_token: str = "fake-twilio-token-" + "9" * 14
    auto_callbacks: bool = False
    sent: list[dict[str, str]] = field(default_factory=list)
    callbacks: list[Callback] = field(default_factory=list)
    delivered: list[tuple[str, int]] = field(default_factory=list)  # (url, status) of auto callbacks
    script: list[tuple[int, int, str]] = field(default_factory=list)  # (http status, twilio code, message)
    outcomes: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # To -> (final status, ErrorCode)
    server: ThreadingHTTPServer | None = None
    url: str = ""

    def fail_next(self, status: int, code: int, message: str) -> None:
        self.script.append((status, code, message))

    def final_status(self, to: str, status: str, error_code: str | None = None) -> None:
        """The next texts to ``to`` end ``status`` (delivered by default; undelivered, failed)."""
        self.outcomes[to] = (status, error_code)

    # --- the API --------------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        match = re.fullmatch(r"/2010-04-01/Accounts/([^/]+)/Messages\.json", path)
        if method != "POST" or match is None:
            return 404, {"code": 20404, "message": f"The requested resource {path} was not found", "status": 404}
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if headers.get("authorization") != expected or match.group(1) != self.account_sid:
            return 401, {"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003",
                         "status": 401}  # fmt: skip
        form = dict(parse_qsl(body.decode(), keep_blank_values=True))
        to, sender, service, text = form.get("To"), form.get("From"), form.get("MessagingServiceSid"), form.get("Body")
        problem = None
        if not to:
            problem = (400, 21604, "A 'To' phone number is required.")
        elif not E164.match(to):
            problem = (400, 21211, f"The 'To' number {to} is not a valid phone number.")
        elif not sender and not service:
            problem = (400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message.")
        elif not text:
            problem = (400, 21602, "Message body is required.")
        elif self.script:
            problem = self.script.pop(0)
        if problem:
            status, code, message = problem
            return status, {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
                            "status": status}  # fmt: skip
        sid = "SM" + secrets.token_hex(16)
        self.sent.append({**form, "sid": sid})
        resource = {
            "account_sid": self.account_sid, "api_version": "2010-04-01", "body": text, "date_created": formatdate(usegmt=True),
            "date_sent": None, "date_updated": formatdate(usegmt=True), "direction": "outbound-api", "error_code": None,
            "error_message": None, "from": sender, "messaging_service_sid": service, "num_media": "0",
            "num_segments": "1", "price": None, "price_unit": "USD", "sid": sid, "status": "queued",
            "subresource_uris": {"media": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}/Media.json"},
            "to": to, "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }  # fmt: skip
        if form.get("StatusCallback"):
            final, code = self.outcomes.get(to, ("delivered", None))
            for status in ("sent", final):
                params = [("AccountSid", self.account_sid), ("ApiVersion", "2010-04-01"), ("From", sender or ""),
                          ("MessageSid", sid), ("MessageStatus", status), ("SmsSid", sid), ("SmsStatus", status),
                          ("To", to)]  # fmt: skip
                if status in ("failed", "undelivered") and code:
                    params.append(("ErrorCode", code))
                self.callbacks.append(
                    Callback(form["StatusCallback"], params, self.sign(form["StatusCallback"], params))
                )
            if self.auto_callbacks:
                threading.Thread(target=self._post_callbacks, daemon=True).start()
        return 201, resource

    def sign(self, url: str, params: list[tuple[str, str]]) -> str:
        return twilio_signature(self.auth_token, url, params)

    def _post_callbacks(self) -> None:
        while self.callbacks:
            callback = self.callbacks.pop(0)
            try:
                response = httpx.post(callback.url, data=dict(callback.params),
                                      headers={"X-Twilio-Signature": callback.signature}, timeout=10)  # fmt: skip
                self.delivered.append((callback.url, response.status_code))
            except httpx.HTTPError:
                self.delivered.append((callback.url, 0))

    def deliver(self, client: Any) -> list[int]:
        """Post the waiting status callbacks through a test's client (to the URL's path): their statuses."""
        statuses = []
        while self.callbacks:
            callback = self.callbacks.pop(0)
            parts = urlsplit(callback.url)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            response = client.post(target, content=urlencode(callback.params),
                                   headers={"X-Twilio-Signature": callback.signature,
                                            "Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
            statuses.append(response.status_code)
        return statuses

    def inbound_params(self, from_: str, to: str, body: str) -> list[tuple[str, str]]:
        sid = "SM" + secrets.token_hex(16)
        params = [("ToCountry", "US"), ("ToState", "TX"), ("SmsMessageSid", sid), ("NumMedia", "0"), ("ToCity", "AUSTIN"),
                  ("FromZip", ""), ("SmsSid", sid), ("FromState", "TX"), ("SmsStatus", "received"), ("FromCity", ""),
                  ("Body", body), ("FromCountry", "US"), ("To", to), ("ToZip", ""), ("NumSegments", "1"),
                  ("MessageSid", sid), ("AccountSid", self.account_sid), ("From", from_), ("ApiVersion", "2010-04-01")]  # fmt: skip
        word = body.strip().upper()
        if word in STOP | START | HELP:
            params.append(("OptOutType", "STOP" if word in STOP else "START" if word in START else "HELP"))
        return params

    def inbound(self, url: str, from_: str, to: str, body: str, *, post: Callable[..., Any] | None = None) -> Any:
        """Post a signed inbound text to ``url`` (the public URL), through ``post(path, ...)`` or over HTTP."""
        params = self.inbound_params(from_, to, body)
        headers = {"X-Twilio-Signature": self.sign(url, params), "Content-Type": "application/x-www-form-urlencoded"}
        if post is not None:
            parts = urlsplit(url)
            return post(
                parts.path + (f"?{parts.query}" if parts.query else ""), content=urlencode(params), headers=headers
            )
        return httpx.post(url, content=urlencode(params), headers=headers, timeout=10)

    # --- serving ----------------------------------------------------------------------------------

    def start(self, port: int = 0) -> FakeTwilio:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, payload = fake.handle("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - by hand: docs/texts.md, "Trying it locally"
    """``python -m tests.fakes.twilio [--port N]``: the stand-in, printing its URL (posting signed status
    callbacks to each text's StatusCallback); ``python -m tests.fakes.twilio inbound URL --from N --to N
    --body TEXT``: post one signed inbound text to URL (Leadline's /webhooks/twilio/sms, as Twilio would),
    printing the answer. Both sign with LEADLINE_TWILIO_AUTH_TOKEN (and take LEADLINE_TWILIO_ACCOUNT_SID)."""
    import argparse
    import os
    import sys
    import time

    parser = argparse.ArgumentParser(prog="python -m tests.fakes.twilio", description="A local Twilio stand-in.")
    parser.add_argument("--port", type=int, default=0, help="Port to listen on (default: any free one).")
    commands = parser.add_subparsers(dest="command")
    inbound = commands.add_parser("inbound", help="Post one signed inbound text, as Twilio would.")
    inbound.add_argument("url", help="The public URL Twilio would call, e.g. http://127.0.0.1:8000/webhooks/twilio/sms")
    inbound.add_argument("--from", dest="from_", required=True, help="The sender's number (E.164).")
    inbound.add_argument("--to", default=os.environ.get("LEADLINE_TWILIO_FROM", "+15005550006"), help="Our number.")
    inbound.add_argument("--body", required=True, help="What the text says (STOP, START, HELP add OptOutType).")
    args = parser.parse_args(argv)

    fake = FakeTwilio(auto_callbacks=True)
    fake.account_sid = os.environ.get("LEADLINE_TWILIO_ACCOUNT_SID", fake.account_sid)
    fake.auth_token = os.environ.get("LEADLINE_TWILIO_AUTH_TOKEN", fake.auth_token)
    if args.command == "inbound":
        response = fake.inbound(args.url, args.from_, args.to, args.body)
        print(response.status_code, response.text)
        sys.exit(0 if response.status_code == 200 else 1)

    class Logged(FakeTwilio):
        def handle(self, *given: Any) -> tuple[int, dict[str, Any]]:
            status, payload = super().handle(*given)
            print(f"{given[0]} {given[1]} -> {status} {payload.get('sid') or payload.get('message')}", flush=True)
            return status, payload

        def _post_callbacks(self) -> None:
            done = len(self.delivered)
            super()._post_callbacks()
            for url, status in self.delivered[done:]:
                print(f"status callback -> {url}: {status}", flush=True)

    fake = Logged(auto_callbacks=True, account_sid=fake.account_sid, auth_token=fake.auth_token)
    fake.start(port=args.port)
    print(fake.url, flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":  # pragma: no cover
    main()
