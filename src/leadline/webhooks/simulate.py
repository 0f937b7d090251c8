"""A realistic, signed stream of SendGrid events (and Inbound Parse replies) for emails Leadline sent.

Used by ``leadline webhooks simulate`` against a running server, by the demo to play
out the seed's week through the real endpoints, and by the tests and benchmarks. The
events have SendGrid's shape and wire framing (compact JSON, sorted keys, ``,\\r\\n``
between events, a trailing ``\\r\\n``; ../shared/SENDGRID.md §1.7, §2.5) and are signed
the way SendGrid signs them.
"""

from __future__ import annotations

import base64
import json
import random
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from leadline.emails.service import SentEmail
from leadline.webhooks.events import CUSTOM_ARG
from leadline.webhooks.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)",
]
REPLIES = [
    "Interested! Can we talk this week?",
    "Thanks for sending this. What would it cost us? Call me Thursday after 2pm.",
    "We get most of our work from referrals but I'd like to see the report.",
    "Who is Summit ahead of us on? Send me the side-by-side.",
]


@dataclass
class Reply:
    email: SentEmail
    text: str
    at: datetime
    auto: bool = False


@dataclass
class Stream:
    events: list[dict[str, Any]] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)


def _event_id(rng: random.Random) -> str:
    return base64.urlsafe_b64encode(rng.randbytes(36)).decode().rstrip("=")


def _x_message_id(email: SentEmail, rng: random.Random) -> str:
    return email.sendgrid_id or base64.urlsafe_b64encode(rng.randbytes(16)).decode()[:22]


def _event(email: SentEmail, kind: str, at: datetime, rng: random.Random, **extra: Any) -> dict[str, Any]:
    prefix = _x_message_id(email, rng)
    event: dict[str, Any] = {
        "email": email.to_email,
        "timestamp": int(at.timestamp()),
        "event": kind,
        "sg_event_id": _event_id(rng),
        "sg_message_id": f"{prefix}.recvd-5f54b5d587-pczjm-1-{rng.randrange(16**8):08X}-{rng.randrange(1, 30)}.0",
        "category": [email.template],
        CUSTOM_ARG: email.id,
    }
    if kind in ("processed", "delivered", "deferred", "bounce", "dropped"):
        event["smtp-id"] = f"<{prefix}@ismtpd0014p1iad2.sendgrid.net>"
    event.update(extra)
    return event


def seed_week(emails: Sequence[SentEmail], *, seed: int = 47, repliers: Sequence[str] = ()) -> Stream:
    """The seed's week over these emails: all but one delivered, one hard bounce, about a third
    opened (a few of them only by Apple's mail privacy prefetch), a few clicks, two replies."""
    rng = random.Random(seed)
    ordered = sorted(emails, key=lambda e: (e.sent_at, e.id))
    n = len(ordered)
    stream = Stream()
    if not n:
        return stream
    chosen_repliers = [e for e in ordered if e.prospect_id in repliers][:2]
    others = [e for e in ordered if e not in chosen_repliers]
    rng.shuffle(others)
    while len(chosen_repliers) < min(2, n) and others:
        chosen_repliers.append(others.pop())
    bounced = others.pop() if n >= 5 and others else None
    to_open = round(n * 8 / 25)  # the seed's week: 8 of 25 opened, 3 clicked, 2 replied
    machine_n = 2 if to_open >= 6 else 0
    human = chosen_repliers + [others.pop() for _ in range(min(len(others), max(0, to_open - machine_n - 2)))]
    machine_only = [others.pop() for _ in range(min(len(others), machine_n))]
    clickers = (chosen_repliers[:1] + human[len(chosen_repliers) :])[: round(n * 3 / 25)]
    for email in ordered:
        sent = email.sent_at
        stream.events.append(_event(email, "processed", sent + timedelta(seconds=1), rng, send_at=0))
        if email is bounced:
            stream.events.append(
                _event(email, "bounce", sent + timedelta(seconds=rng.randint(3, 20)), rng, type="bounce",
                       reason="550 5.1.1 The email account that you tried to reach does not exist.",
                       status="5.1.1", ip="149.72.123.24", tls=1, bounce_classification="Invalid Address")
            )  # fmt: skip
            continue
        delay = timedelta(seconds=rng.randint(3, 40))
        if rng.random() < 0.08:
            stream.events.append(
                _event(email, "deferred", sent + delay, rng, response="451 4.7.1 Please try again later",
                       attempt="1", ip="149.72.123.24", tls=1)
            )  # fmt: skip
            delay += timedelta(minutes=20)
        delivered = sent + delay
        stream.events.append(
            _event(email, "delivered", delivered, rng, ip="149.72.123.24", tls=1,
                   response=f"250 2.0.0 OK {int(delivered.timestamp())} - gsmtp")
        )  # fmt: skip
        if email in machine_only:
            stream.events.append(
                _event(email, "open", delivered + timedelta(seconds=rng.randint(5, 90)), rng, sg_machine_open=True,
                       sg_content_type="html", ip="17.58.101.4", useragent="Mozilla/5.0")
            )  # fmt: skip
        if email in human:
            first_open = delivered + timedelta(hours=rng.uniform(0.5, 5))
            if email in chosen_repliers:
                first_open = delivered + timedelta(hours=rng.uniform(1, 4))
            for index in range(rng.choice([1, 1, 2, 3])):
                stream.events.append(
                    _event(email, "open", first_open + timedelta(hours=20 * index), rng, sg_machine_open=False,
                           sg_content_type="html", ip=f"66.249.84.{rng.randint(2, 250)}",
                           useragent=rng.choice(USER_AGENTS))
                )  # fmt: skip
            if email in clickers:
                stream.events.append(
                    _event(email, "click", first_open + timedelta(minutes=rng.randint(1, 12)), rng,
                           url="https://www.gridline.example/report", url_offset={"index": 0, "type": "html"},
                           ip=f"203.0.113.{rng.randint(2, 250)}", useragent=rng.choice(USER_AGENTS))
                )  # fmt: skip
            if email in chosen_repliers:
                index = chosen_repliers.index(email)
                stream.replies.append(Reply(email, REPLIES[index % len(REPLIES)], first_open + timedelta(hours=2)))
    return stream


def frame(events: Sequence[dict[str, Any]]) -> bytes:
    """SendGrid's wire format: compact, sorted keys, one event per line, CRLF."""
    lines = [json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=False) for e in events]
    return ("[" + ",\r\n".join(lines) + "]\r\n").encode()


def signed_headers(key: ec.EllipticCurvePrivateKey, body: bytes, timestamp: str | None = None) -> dict[str, str]:
    stamp = timestamp or str(int(time.time()))
    return {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(key, stamp, body),
        TIMESTAMP_HEADER: stamp,
        "User-Agent": "SendGrid Event API",
    }


def batches(
    events: Sequence[dict[str, Any]], size: int, *, rng: random.Random | None = None
) -> list[list[dict[str, Any]]]:
    """Events in posting order: by time, a little shuffled within each batch (SendGrid's order is loose)."""
    ordered = sorted(events, key=lambda e: (e["timestamp"], e["sg_event_id"]))
    groups = [list(ordered[i : i + size]) for i in range(0, len(ordered), size)]
    if rng is not None:
        for group in groups:
            rng.shuffle(group)
    return groups


def post_events(
    client: httpx.Client,
    url: str,
    events: Sequence[dict[str, Any]],
    key: ec.EllipticCurvePrivateKey,
    *,
    batch_size: int = 100,
    rng: random.Random | None = None,
    before: Callable[[list[dict[str, Any]]], None] | None = None,
) -> list[dict[str, Any]]:
    """POST the events in signed batches; returns each answer (raises on a non-2xx)."""
    answers = []
    for group in batches(events, batch_size, rng=rng):
        if before:
            before(group)
        body = frame(group)
        response = client.post(url, content=body, headers=signed_headers(key, body))
        response.raise_for_status()
        answers.append(response.json())
    return answers


def reply_form(reply: Reply, *, sender_email: str, boundary: str | None = None) -> tuple[bytes, str]:
    """An Inbound Parse post in SendGrid's default mode, as multipart/form-data."""
    email = reply.email
    name = email.to_name or email.to_email.split("@", 1)[0]
    # RFC 5322 quoting: a name with a comma or a semicolon ("Reyes, Daniel; Owner") stays one address
    sender = str(Address(display_name=name, addr_spec=email.to_email))
    when = reply.at.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
    message_id = f"<{secrets.token_hex(12)}@{email.to_email.split('@', 1)[1]}>"
    headers = [
        f"Message-ID: {message_id}",
        f"Date: {when}",
        f"From: {sender}",
        f"To: {sender_email}",
        f"Subject: Re: {email.subject}",
    ]
    if reply.auto:
        headers.append("Auto-Submitted: auto-replied")
    if email.message_id:
        headers += [f"In-Reply-To: {email.message_id}", f"References: {email.message_id}"]
    quoted = "\n".join(f"> {line}" for line in ("Hi,", "", "(our email)"))
    sent_on = email.sent_at.astimezone(UTC).strftime("%a, %b %d, %Y at %I:%M %p")
    text = f"{reply.text}\n\nOn {sent_on} <{sender_email}> wrote:\n{quoted}\n"
    fields = {
        "headers": "\n".join(headers) + "\n",
        "text": text,
        "from": sender,
        "to": sender_email,
        "subject": f"Re: {email.subject}",
        "envelope": json.dumps({"to": [sender_email], "from": email.to_email}),
        "charsets": json.dumps({"to": "UTF-8", "subject": "UTF-8", "from": "UTF-8", "text": "UTF-8"}),
        "SPF": "pass",
        "dkim": "{@" + email.to_email.split("@", 1)[1] + " : pass}",
        "sender_ip": "209.85.220.41",
        "attachments": "0",
    }
    marker = boundary or "xYzZY"
    parts = []
    for key, value in fields.items():
        parts.append(f'--{marker}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode())
    body = b"".join(parts) + f"--{marker}--\r\n".encode()
    return body, f"multipart/form-data; boundary={marker}"


def post_reply(client: httpx.Client, url: str, reply: Reply, *, sender_email: str) -> dict[str, Any]:
    body, content_type = reply_form(reply, sender_email=sender_email)
    response = client.post(url, content=body, headers={"Content-Type": content_type, "User-Agent": "Sendlib/1.0"})
    response.raise_for_status()
    answer: dict[str, Any] = response.json()
    return answer
