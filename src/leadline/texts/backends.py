"""Where a text goes: ``log`` (the default: each text written as a JSON file to
``data_dir/texts-outbox``, like the email outbox) or ``twilio`` (Twilio's Messaging API:
``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``, form-encoded ``To``, ``From`` or
``MessagingServiceSid``, ``Body`` and ``StatusCallback``, HTTP basic auth SID:token)."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Protocol

import httpx

from leadline.config import Settings, private_folder, write_private
from leadline.errors import LeadlineError


@dataclass
class Handed:
    sid: str
    status: str
    from_number: str | None


class BackendRefused(LeadlineError):
    """The text was refused and did not go (Twilio's 4xx, a missing setting): ``code`` is Twilio's."""

    status_code = 502
    code = "text_refused"

    def __init__(self, message: str, *, twilio_code: str | None = None) -> None:
        super().__init__(message)
        self.twilio_code = twilio_code


class BackendUnavailable(LeadlineError):
    """No answer we can trust (a timeout, a dropped connection, 5xx after retries): it may have gone."""

    status_code = 503
    code = "unavailable"


class TextBackend(Protocol):
    name: str

    def send(self, to: str, body: str, *, status_callback: str) -> Handed: ...

    def close(self) -> None: ...


class LogBackend:
    name = "log"

    def __init__(self, settings: Settings) -> None:
        self.folder = settings.data_dir / "texts-outbox"
        self.from_number = settings.twilio_from

    def send(self, to: str, body: str, *, status_callback: str) -> Handed:
        private_folder(self.folder)
        sid = "LG" + secrets.token_hex(16)
        record = {"sid": sid, "to": to, "from": self.from_number, "body": body, "statusCallback": status_callback}
        write_private(self.folder / f"{sid}.json", json.dumps(record, ensure_ascii=False, indent=1).encode())
        return Handed(sid, "sent", self.from_number)

    def close(self) -> None:
        return None


class TwilioBackend:
    name = "twilio"
    RETRIES = 2

    def __init__(self, settings: Settings) -> None:
        if not settings.twilio_account_sid or settings.twilio_auth_token is None:
            raise BackendRefused(
                "set LEADLINE_TWILIO_ACCOUNT_SID and LEADLINE_TWILIO_AUTH_TOKEN to send through Twilio"
            )
        if not settings.twilio_from and not settings.twilio_messaging_service_sid:
            raise BackendRefused("set LEADLINE_TWILIO_FROM or LEADLINE_TWILIO_MESSAGING_SERVICE_SID")
        self.settings = settings
        self.account = settings.twilio_account_sid
        self.client = httpx.Client(
            base_url=settings.twilio_api_url.rstrip("/"),
            auth=(settings.twilio_account_sid, settings.twilio_auth_token.get_secret_value()),
            timeout=settings.twilio_timeout_seconds,
        )

    def send(self, to: str, body: str, *, status_callback: str) -> Handed:
        form = {"To": to, "Body": body, "StatusCallback": status_callback}
        if self.settings.twilio_messaging_service_sid:
            form["MessagingServiceSid"] = self.settings.twilio_messaging_service_sid
        else:
            form["From"] = self.settings.twilio_from or ""
        path = f"/2010-04-01/Accounts/{self.account}/Messages.json"
        for attempt in range(self.RETRIES + 1):
            try:
                response = self.client.post(path, data=form)
            except httpx.ConnectError as error:  # nothing reached Twilio: safe to try again
                if attempt < self.RETRIES:
                    time.sleep(0.2 * 2**attempt)
                    continue
                raise BackendRefused(f"Twilio could not be reached: {error}") from None
            except httpx.HTTPError as error:  # a timeout after sending: it may have gone
                raise BackendUnavailable(f"no answer from Twilio ({type(error).__name__})") from None
            if response.status_code in (429, 500, 502, 503, 504) and attempt < self.RETRIES:
                time.sleep(0.2 * 2**attempt)
                continue
            return self._answer(response)
        raise AssertionError("unreachable")

    def _answer(self, response: httpx.Response) -> Handed:
        try:
            data = response.json()
        except ValueError:
            data = {}
        if (
            response.status_code in (200, 201)
            and isinstance(data, dict)
            and str(data.get("sid", "")).startswith(("SM", "MM"))
        ):
            return Handed(str(data["sid"]), str(data.get("status") or "queued"), data.get("from"))
        if 400 <= response.status_code < 500 and response.status_code != 429:
            code = str(data.get("code")) if isinstance(data, dict) and data.get("code") else None
            message = data.get("message") if isinstance(data, dict) else None
            raise BackendRefused(f"Twilio refused the text ({response.status_code}"
                                 f"{', error ' + code if code else ''}): {message or response.text[:200]}",
                                 twilio_code=code)  # fmt: skip
        raise BackendUnavailable(f"Twilio answered {response.status_code}")

    def close(self) -> None:
        self.client.close()


def get_backend(settings: Settings) -> TextBackend:
    if settings.texts_backend == "twilio":
        return TwilioBackend(settings)
    return LogBackend(settings)
