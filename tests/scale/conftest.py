"""Fixtures for the multi-process and fault tests: PostgreSQL only, a private Redis per test,
and the environment the `leadline serve` / `leadline worker` processes share with the test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from leadline import clock, jobs
from leadline.config import Settings, get_settings
from leadline.db import dispose_engines
from leadline.webhooks.signature import public_key_text
from tests.conftest import _settings_for, require_service, truncate_postgres
from tests.processes import PrivateRedis, redis_server_reason


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """These tests are about many processes on one shared database: PostgreSQL, clean."""
    url: str = request.getfixturevalue("postgres_url")
    truncate_postgres(url)
    yield _settings_for(url, tmp_path, monkeypatch)
    get_settings.cache_clear()
    dispose_engines()
    clock.set_frozen(None)


@pytest.fixture
def redis(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[PrivateRedis]:
    """A Redis server of this test's own (nothing else can see its queue), set as LEADLINE_REDIS_URL."""
    require_service(redis_server_reason())
    server = PrivateRedis()
    monkeypatch.setenv("LEADLINE_REDIS_URL", server.url)
    get_settings.cache_clear()
    yield server
    jobs._hueys.pop(server.url, None)
    server.close()


@pytest.fixture
def signing_key(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> ec.EllipticCurvePrivateKey:
    key = ec.generate_private_key(ec.SECP256R1())
    monkeypatch.setenv("LEADLINE_SENDGRID_WEBHOOK_PUBLIC_KEY", public_key_text(key))
    get_settings.cache_clear()
    return key


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """What this test and the processes it starts share (call it after the fixtures that set variables)."""
    extra = {
        "LEADLINE_SEND_WINDOW_START": "00:00",
        "LEADLINE_SEND_WINDOW_END": "23:59",
        "LEADLINE_SEND_WINDOW_DAYS": "mon,tue,wed,thu,fri,sat,sun",
        "LEADLINE_DAILY_SEND_LIMIT": "1000",
        "LEADLINE_LOG_LEVEL": "warning",
        "LEADLINE_EMBEDDED_WORKER": "false",
    }
    for key, value in extra.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    return dict(os.environ)


from tests.emails.conftest import fake_sendgrid  # noqa: E402,F401  (the local SendGrid)
