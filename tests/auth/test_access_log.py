"""Secrets some URLs carry never reach the access log of `leadline serve`."""

from __future__ import annotations

import os

import httpx
import pytest

from leadline.calls import calendar
from leadline.webhooks.security import inbound_token
from tests.conftest import settings_env
from tests.processes import free_port, start_server, stop_all

pytestmark = pytest.mark.xdist_group("processes")


def test_tokens_in_urls_are_redacted_from_the_access_log(sqlite_settings, tmp_path):
    env = {**os.environ, **settings_env(sqlite_settings)}
    port = free_port()
    proc = start_server(env, port, tmp_path)
    secrets = ["s3tpassw0rdtokenvalue", calendar.token(sqlite_settings), inbound_token(sqlite_settings)]
    try:
        base = f"http://127.0.0.1:{port}"
        httpx.get(f"{base}/set-password?token={secrets[0]}")
        httpx.get(f"{base}/calendar/{secrets[1]}.ics")
        httpx.post(f"{base}/webhooks/sendgrid/inbound/{secrets[2]}", data={"to": "x"})
    finally:
        output = stop_all([proc])
    assert output.count("[redacted]") >= 3, output
    assert "/set-password?token=[redacted]" in output and "/calendar/[redacted].ics" in output
    assert not any(secret in output for secret in secrets), output
