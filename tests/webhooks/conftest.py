from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from sqlalchemy import select

from leadline.app import create_app
from leadline.db import unit_of_work
from leadline.emails.models import EmailActivity
from leadline.webhooks.signature import public_key_text
from leadline.webhooks.simulate import frame, signed_headers
from tests.conftest import configure
from tests.factories import make_prospect

_ids = itertools.count(1)


@dataclass
class Hook:
    client: TestClient
    key: ec.EllipticCurvePrivateKey
    settings: Any

    def post(self, events: list[dict[str, Any]], *, key: ec.EllipticCurvePrivateKey | None = None) -> Any:
        body = frame(events)
        return self.client.post("/webhooks/sendgrid", content=body, headers=signed_headers(key or self.key, body))

    def raw(self, body: bytes, headers: dict[str, str] | None = None) -> Any:
        return self.client.post("/webhooks/sendgrid", content=body, headers=headers or {})


@pytest.fixture
def hook(settings, monkeypatch) -> Iterator[Hook]:
    key = ec.generate_private_key(ec.SECP256R1())
    configure(monkeypatch, settings, sendgrid_webhook_public_key=public_key_text(key))
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield Hook(client, key, settings)


def send_to(settings, n: int, **prospect: Any) -> list[EmailActivity]:
    """n prospects, each sent pain_point through the outbox; their email rows."""
    from leadline.emails.flows import send

    ids = []
    for _ in range(n):
        number = next(_ids)
        values = {"name": f"Hook Biz {number}", "email": f"owner{number}@hookbiz{number}.com", **prospect}
        if n > 1 and "name" in prospect:
            values["name"] = f"{prospect['name']} {number}"
        ids.append(make_prospect(settings, **values).id)
    report = send(settings, "pain_point", actor="test", prospect_ids=ids)
    assert report.count("sent") == n, report.as_dict()
    return emails_of(settings, ids)


def emails_of(settings, prospect_ids: list[str]) -> list[EmailActivity]:
    with unit_of_work(settings, readonly=True) as session:
        rows = {
            e.prospect_id: e
            for e in session.scalars(select(EmailActivity).where(EmailActivity.prospect_id.in_(prospect_ids)))
        }
    return [rows[p] for p in prospect_ids]


def email(settings, email_id: str) -> EmailActivity:
    with unit_of_work(settings, readonly=True) as session:
        return session.get(EmailActivity, email_id)


_events = itertools.count(1)


def event(target: EmailActivity, kind: str, at: datetime | int | None = None, **extra: Any) -> dict[str, Any]:
    """An event in SendGrid's shape for ``target``."""
    if isinstance(at, int):
        stamp = at
    elif at is not None:
        stamp = int(at.timestamp())
    else:
        stamp = int(target.sent_at.timestamp()) + 1
    n = next(_events)
    data = {
        "email": target.to_email,
        "event": kind,
        "timestamp": stamp,
        "sg_event_id": f"ev{n:08d}-{kind}",
        "sg_message_id": f"{target.sendgrid_id or 'Xq3vT9bWQkCm1rY7pZ0aLw'}.recvd-5f54b5d587-pczjm-1-665F1A2B-{n}.0",
        "category": ["pain_point"],
        "leadline_email_id": target.id,
    }
    data.update(extra)
    return data


def body_of(events: list[dict[str, Any]]) -> bytes:
    return json.dumps(events).encode()
