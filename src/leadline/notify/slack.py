"""Slack incoming webhooks with Block Kit: one message per notification."""

from __future__ import annotations

from typing import Any

import httpx

from leadline.fields import digits


class SlackError(Exception):
    def __init__(self, message: str, *, retry: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry = retry
        self.retry_after = retry_after


def _escape(text: str) -> str:
    """Slack's mrkdwn control characters (https://api.slack.com/reference/surfaces/formatting#escaping)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _fit(text: str, limit: int) -> str:
    """``text`` escaped, at most ``limit`` characters long, never cutting an escape in two."""
    escaped = _escape(text)
    while len(escaped) > limit:
        text = text[: len(text) - max(1, (len(escaped) - limit) // 5)]
        escaped = _escape(text)
    return escaped


def blocks(title: str, body: str, *, link: str | None, kind: str) -> dict[str, Any]:
    """The message for one notification. Every text Slack parses is escaped (``&``, ``<``, ``>``):
    the fallback ``text`` and the mrkdwn blocks, so a prospect named ``<!channel> ...`` pings nobody.
    The header is ``plain_text``, which Slack shows as given and never parses: it is only cut."""
    content: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": title[:150]}}]
    if body.strip():
        content.append({"type": "section", "text": {"type": "mrkdwn", "text": _fit(body, 2900)}})
    what = _escape(kind.replace("_", " "))
    context = f"<{link}|Open in Leadline> · {what}" if link else f"Leadline · {what}"
    content.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    return {"text": _fit(title, 300), "blocks": content}


def post(client: httpx.Client, url: str, message: dict[str, Any]) -> None:
    """POST one message. Raises SlackError(retry=True) when trying again is safe and may help."""
    try:
        response = client.post(url, json=message)
    except (httpx.ConnectError, httpx.ConnectTimeout) as error:
        raise SlackError(f"cannot reach Slack: {error}", retry=True) from None
    except httpx.TransportError as error:
        # The message may have been posted: never post it again (no duplicates).
        raise SlackError(f"no answer from Slack after posting ({type(error).__name__})", retry=False) from None
    if response.status_code == 200:
        return
    text = response.text.strip()[:200]
    if response.status_code == 429 or response.status_code >= 500:
        after = response.headers.get("retry-after")
        raise SlackError(
            f"Slack answered {response.status_code} {text}", retry=True,
            retry_after=float(after) if after and digits(after) else None,
        )  # fmt: skip
    raise SlackError(f"Slack refused the message ({response.status_code} {text})", retry=False)
