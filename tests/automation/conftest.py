from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from leadline import clock, worker
from tests.conftest import configure
from tests.fakes.slack import FakeSlack

CHICAGO = ZoneInfo("America/Chicago")
MONDAY_9AM = datetime(2025, 11, 17, 9, 0, tzinfo=CHICAGO)


@pytest.fixture
def slack(settings, monkeypatch) -> Iterator[FakeSlack]:
    fake = FakeSlack()
    configure(monkeypatch, settings, slack_webhook_url=fake.url)
    yield fake
    fake.close()


@pytest.fixture
def immediate(settings) -> Iterator[None]:
    """Deferred jobs run right after their transaction commits (Huey's queue is not involved)."""
    worker.set_immediate(True)
    yield
    worker.set_immediate(False)


@pytest.fixture
def monday(settings) -> Iterator[datetime]:
    clock.set_frozen(MONDAY_9AM)
    yield MONDAY_9AM
    clock.set_frozen(None)


from tests.emails.conftest import fake_sendgrid  # noqa: E402,F401  (the local SendGrid)
from tests.webhooks.conftest import hook  # noqa: E402,F401  (the signed-webhook client fixture)
