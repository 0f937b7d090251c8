from __future__ import annotations

import email
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from leadline.config import get_settings
from tests.fakes.sendgrid import FakeSendGrid
from tests.fakes.smtp import SmtpServer


@pytest.fixture
def fake_sendgrid(settings, monkeypatch) -> Iterator[FakeSendGrid]:
    fake = FakeSendGrid()
    monkeypatch.setenv("LEADLINE_EMAIL_BACKEND", "sendgrid")
    monkeypatch.setenv("LEADLINE_SENDGRID_API_KEY", fake.api_key)
    monkeypatch.setenv("LEADLINE_SENDGRID_API_URL", fake.url)
    monkeypatch.setenv("LEADLINE_SENDGRID_RETRY_DELAY_SECONDS", "0.01")
    monkeypatch.setenv("LEADLINE_SENDGRID_TIMEOUT_SECONDS", "1")
    monkeypatch.setenv("LEADLINE_SENDER_EMAIL", "dana@gridline.example")
    monkeypatch.setenv("LEADLINE_SENDER_NAME", "Dana Whitfield")
    get_settings.cache_clear()
    yield fake
    fake.close()


@pytest.fixture
def smtp_server(settings, monkeypatch) -> Iterator[SmtpServer]:
    server = SmtpServer()
    monkeypatch.setenv("LEADLINE_EMAIL_BACKEND", "smtp")
    monkeypatch.setenv("LEADLINE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("LEADLINE_SMTP_PORT", str(server.port))
    monkeypatch.setenv("LEADLINE_SENDER_EMAIL", "dana@gridline.example")
    get_settings.cache_clear()
    yield server
    server.stop()


def outbox_messages(settings) -> list[EmailMessage]:
    folder = Path(settings.outbox_path)
    found = []
    for path in sorted(folder.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        found.append(message)
    return found
