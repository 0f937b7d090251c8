"""Senders' fixtures: a signed Event Webhook (the real signature, a key of the test's own)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from sqlalchemy import select

from leadline.app import create_app
from leadline.clock import utc_now
from leadline.db import unit_of_work
from leadline.emails.models import EmailActivity
from leadline.senders.models import Sender, SenderEvent
from leadline.webhooks.signature import public_key_text
from leadline.webhooks.simulate import frame, signed_headers
from tests.conftest import configure
from tests.factories import make_prospect

_events = itertools.count(1)

#: A sending window open at any hour of any day: tests of senders' caps and gaps, not of the window.
#: Its end is exclusive: "23:59" would close it for the last minute of each local day (a test run in that
#: minute once failed); "24:00" is midnight.
OPEN_ALL_WEEK = {"send_window_start": "00:00", "send_window_end": "24:00",
                 "send_window_days": "mon,tue,wed,thu,fri,sat,sun"}  # fmt: skip


def add(cli, *args: str) -> dict:
    result = cli("senders", "add", *args, "--json")
    assert result.exit_code == 0, result.stderr
    return result.json  # type: ignore[return-value]


def people(settings, n: int, start: int = 0) -> list[str]:
    return [make_prospect(settings, name=f"Shop {i}", email=f"o{i}@shop{i}.com", tier=1).id
            for i in range(start, start + n)]  # fmt: skip


@dataclass
class Hook:
    client: TestClient
    key: ec.EllipticCurvePrivateKey

    def post(self, events: list[dict[str, Any]]) -> Any:
        body = frame(events)
        return self.client.post("/webhooks/sendgrid", content=body, headers=signed_headers(self.key, body))


@pytest.fixture
def hook(settings, monkeypatch) -> Iterator[Hook]:
    key = ec.generate_private_key(ec.SECP256R1())
    configure(monkeypatch, settings, sendgrid_webhook_public_key=public_key_text(key))
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield Hook(client, key)


def event(email: EmailActivity, kind: str, **extra: Any) -> dict[str, Any]:
    """A SendGrid event for one of our emails, as SendGrid posts it."""
    n = next(_events)
    return {"email": email.to_email, "timestamp": int(utc_now().timestamp()) - 60 + n % 60, "event": kind, "sg_event_id": f"sg-snd-{n}",
            "sg_message_id": f"{email.sendgrid_id or 'x'}.filter", "leadline_email_id": email.id, **extra}  # fmt: skip


def bounce(email: EmailActivity) -> dict[str, Any]:
    return event(email, "bounce", type="bounce", reason="550 5.1.1 no such user", status="5.1.1")


def emails(settings, **where: Any) -> list[EmailActivity]:
    with unit_of_work(settings, readonly=True) as session:
        query = select(EmailActivity).order_by(EmailActivity.created_at, EmailActivity.id)
        for name, value in where.items():
            query = query.where(getattr(EmailActivity, name) == value)
        return list(session.scalars(query))


def sender(settings, email: str) -> Sender:
    with unit_of_work(settings, readonly=True) as session:
        found = session.scalar(select(Sender).where(Sender.email == email))
        assert found is not None
        return found


def sender_events(settings, sender_id: str) -> list[SenderEvent]:
    with unit_of_work(settings, readonly=True) as session:
        return list(session.scalars(select(SenderEvent).where(SenderEvent.sender_id == sender_id)
                                    .order_by(SenderEvent.created_at, SenderEvent.id)))  # fmt: skip
