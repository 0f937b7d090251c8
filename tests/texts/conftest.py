"""Texts' fixtures: a frozen weekday noon in Chicago (inside the texting hours), a prospect with a
phone, and a local Twilio stand-in (tests/fakes/twilio.py) the app's settings point at."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from leadline import clock
from leadline.config import Settings
from tests.conftest import configure
from tests.fakes.twilio import FakeTwilio

NOON = datetime(2025, 11, 18, 18, 0, tzinfo=UTC)  # Tuesday 12:00 in Chicago
OUR_NUMBER = "+15125550100"
PUBLIC = "https://crm.example.com"


@pytest.fixture
def noon() -> Iterator[datetime]:
    clock.set_frozen(NOON)
    yield NOON
    clock.set_frozen(None)


@pytest.fixture
def twilio(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTwilio]:
    fake = FakeTwilio().start()
    configure(monkeypatch, settings, texts_backend="twilio", twilio_account_sid=fake.account_sid,
              twilio_auth_token=fake.auth_token, twilio_from=OUR_NUMBER, twilio_api_url=fake.url,
              base_url=PUBLIC)  # fmt: skip
    yield fake
    fake.stop()
