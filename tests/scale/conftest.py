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
from tests.conftest import _settings_for, configure, require_service, settings_env, truncate_postgres
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
    configure(monkeypatch, settings, redis_url=server.url)
    yield server
    jobs._hueys.pop(server.url, None)
    server.close()


@pytest.fixture
def signing_key(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> ec.EllipticCurvePrivateKey:
    key = ec.generate_private_key(ec.SECP256R1())
    configure(monkeypatch, settings, sendgrid_webhook_public_key=public_key_text(key))
    return key


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The settings this test and the processes it starts share, as their environment (call it after
    the fixtures that change settings)."""
    configure(monkeypatch, settings, send_window_start="00:00", send_window_end="24:00",
              send_window_days="mon,tue,wed,thu,fri,sat,sun", daily_send_limit=1000, log_level="warning",
              embedded_worker=False)  # fmt: skip
    return {**os.environ, **settings_env(settings)}


from tests.emails.conftest import fake_sendgrid  # noqa: E402,F401  (the local SendGrid)
