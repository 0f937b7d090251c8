"""The SendGrid backend: the v3 Mail Send API (facts in ../shared/SENDGRID.md §4).

One personalization per recipient, carrying our email id in ``custom_args`` so webhook
events find the email; the template name as category; open and click tracking on; the
``X-Message-Id`` of the 202 kept as ``sendgridId``.

Retries: a 429 or 5xx means SendGrid did not take the message, so it is retried with
backoff (429 waits for ``X-RateLimit-Reset`` when given). A connection that fails before
the request is written is retried too. A timeout or a broken connection *after* the
request was written may hide an accepted message: that is :class:`Unknown`, never retried.
"""

from __future__ import annotations

import base64
import os
import time
from typing import Any

import httpx

from leadline.config import Settings
from leadline.emails.backends import Accepted, AuthFailed, Rejected, Unknown, require_compliance
from leadline.emails.message import Outgoing, problem, untracked
from leadline.fields import digits

CUSTOM_ARG = "leadline_email_id"


def payload(message: Outgoing) -> dict[str, Any]:
    to: dict[str, str] = {"email": message.to_email}
    if message.to_name:
        to["name"] = message.to_name
    headers = {"Message-ID": message.message_id, **message.headers()}
    body: dict[str, Any] = {
        "personalizations": [{"to": [to], "custom_args": {CUSTOM_ARG: message.email_id}}],
        "from": {"email": message.from_email, "name": message.from_name},
        "subject": message.subject,
        "content": [
            {"type": "text/plain", "value": message.text},
            # Leadline's unsubscribe link is never tracked (a body stored before this rule too).
            {"type": "text/html", "value": untracked(message.html, message.unsubscribe_url)},
        ],
        "categories": [message.template[:255]],
        "headers": headers,
        "tracking_settings": {
            # Plain text has no per-link opt-out: its links (the unsubscribe link) are never tracked.
            "click_tracking": {"enable": True, "enable_text": False},
            "open_tracking": {"enable": True},
            "subscription_tracking": {"enable": False},
        },
    }
    if message.reply_to:
        body["reply_to"] = {"email": message.reply_to}
    if message.attachments:
        body["attachments"] = [
            {"content": base64.b64encode(item.data).decode(), "type": item.content_type, "filename": item.filename,
             "disposition": "attachment"}
            for item in message.attachments
        ]  # fmt: skip
    return body


def error_text(response: httpx.Response) -> str:
    """SendGrid's error messages, or the start of a non-JSON body (an nginx 413 page)."""
    try:
        errors = response.json().get("errors") or []
        parts = []
        for error in errors:
            where = f" ({error['field']})" if error.get("field") else ""
            parts.append(f"{error.get('message', 'error')}{where}")
        if parts:
            return "; ".join(parts)
    except (ValueError, AttributeError, TypeError):
        pass
    text = " ".join(response.text.split())[:200]
    return text or response.reason_phrase


class SendGridBackend:
    name = "sendgrid"

    def __init__(self, settings: Settings) -> None:
        require_compliance(settings, self.name)  # before anything is claimed: nothing sent, no cap spent
        if settings.sendgrid_api_key is None or not settings.sendgrid_api_key.get_secret_value():
            raise AuthFailed("LEADLINE_SENDGRID_API_KEY is not set; the sendgrid backend needs an API key")
        self.url = settings.sendgrid_api_url.rstrip("/") + "/v3/mail/send"
        self.retries = settings.sendgrid_max_retries
        self.delay = settings.sendgrid_retry_delay_seconds
        self.client = httpx.Client(
            timeout=httpx.Timeout(
                settings.sendgrid_timeout_seconds, connect=min(10.0, settings.sendgrid_timeout_seconds)
            ),
            headers={
                "Authorization": f"Bearer {settings.sendgrid_api_key.get_secret_value()}",
                "Content-Type": "application/json",
                "User-Agent": "leadline",
            },
        )

    def send(self, message: Outgoing) -> Accepted:
        why = problem(message)  # the same rule for every backend: never a header with a line break
        if why is not None:
            raise Rejected(why)
        body = payload(message)
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self.client.post(self.url, json=body, headers=self._own_key(message))
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
                if attempt <= self.retries:
                    self._wait(attempt)
                    continue
                raise Rejected(f"cannot reach SendGrid after {attempt} tries: {error}") from None
            except httpx.TransportError as error:
                raise Unknown(
                    f"no answer from SendGrid after the message was sent ({type(error).__name__}); "
                    "it may have been accepted"
                ) from None
            status = response.status_code
            if status in (200, 202):
                return Accepted(provider_id=response.headers.get("x-message-id"))
            if status == 401:
                raise AuthFailed(f"SendGrid refused the API key (401): {error_text(response)}")
            if status == 429 or status >= 500:
                if attempt <= self.retries:
                    self._wait(attempt, response)
                    continue
                raise Rejected(f"SendGrid answered {status} {attempt} times: {error_text(response)}")
            raise Rejected(f"SendGrid refused the message ({status}): {error_text(response)}")

    @staticmethod
    def _own_key(message: Outgoing) -> dict[str, str] | None:
        """The sender's own API key, read from the variable it names (senders' ``credentials_env``)."""
        if not message.api_key_env:
            return None
        key = os.environ.get(message.api_key_env, "").strip()
        if not key:
            raise Rejected(f"{message.api_key_env} (the sender {message.from_email}'s SendGrid key) is not set")
        return {"Authorization": f"Bearer {key}"}

    def _wait(self, attempt: int, response: httpx.Response | None = None) -> None:
        delay = self.delay * 2 ** (attempt - 1)
        if response is not None and response.status_code == 429:
            reset = response.headers.get("x-ratelimit-reset")
            if reset and digits(reset):
                delay = max(delay, min(60.0, int(reset) - time.time()))
        time.sleep(max(0.0, delay))

    def close(self) -> None:
        self.client.close()
