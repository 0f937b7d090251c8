from __future__ import annotations

import email
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.conftest import PUBLIC_BASE_URL, configure
from tests.fakes.sendgrid import FakeSendGrid
from tests.fakes.smtp import SmtpServer


@pytest.fixture
def fake_sendgrid(settings, monkeypatch) -> Iterator[FakeSendGrid]:
    """A local SendGrid, which the test's settings send through."""
    fake = FakeSendGrid()
    configure(monkeypatch, settings, email_backend="sendgrid", sendgrid_api_key=fake.api_key, sendgrid_api_url=fake.url,
              sendgrid_retry_delay_seconds=0.01, sendgrid_timeout_seconds=1, sender_email="dana@gridline.example",
              base_url=PUBLIC_BASE_URL,
              sender_name="Dana Whitfield")  # fmt: skip
    yield fake
    fake.close()


@pytest.fixture
def smtp_server(settings, monkeypatch) -> Iterator[SmtpServer]:
    """A local SMTP server, which the test's settings send through."""
    server = SmtpServer()
    configure(monkeypatch, settings, email_backend="smtp", smtp_host="127.0.0.1", smtp_port=server.port,
              sender_email="dana@gridline.example", base_url=PUBLIC_BASE_URL)  # fmt: skip
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


from tests.webhooks.conftest import hook  # noqa: E402, F401 (a fixture: replies come in through the Inbound Parse hook)
