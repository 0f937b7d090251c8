"""A request that meets an unreachable database is answered 503 and logged as one line, not a traceback."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx

from leadline.config import Settings
from leadline.webhooks.security import inbound_token
from tests.conftest import require_service
from tests.operations.conftest import leadline_env, ok
from tests.processes import free_port, postgres_binaries_reason, private_postgres, start_server
from tests.webhooks.test_inbound import form

KEY = "unavailable-log-test-key-" + "x" * 32


def test_a_handled_503_logs_one_line(tmp_path: Path) -> None:
    require_service(postgres_binaries_reason())
    with private_postgres() as pg:
        env = leadline_env(tmp_path / "data", pg.url(), LEADLINE_SECRET_KEY=KEY)
        ok(env, "init")
        port = free_port()
        server = start_server(env, port, tmp_path)
        try:
            token = inbound_token(Settings(secret_key=KEY, data_dir=tmp_path / "data", database_url=pg.url()))
            body, kind = form({"from": "<a@b.example>", "to": "sales@example.com", "subject": "hi", "text": "hello"})
            url = f"http://127.0.0.1:{port}/webhooks/sendgrid/inbound/{token}"
            assert httpx.post(url, content=body, headers={"content-type": kind}, timeout=30).status_code == 200
            pg.stop("fast")
            answers = [httpx.post(url, content=body, headers={"content-type": kind}, timeout=30) for _ in range(3)]
            health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=30)
        finally:
            server.stop(signal.SIGTERM)
    log = server.output()
    assert [a.status_code for a in answers] == [503, 503, 503], [a.text for a in answers]
    assert all(a.headers["retry-after"] == "30" for a in answers)
    assert health.status_code == 503 and health.json()["status"] == "down"
    lines = [line for line in log.splitlines() if "database unavailable" in line]
    assert len(lines) == 3, log
    assert "Traceback" not in log, log[-4000:]
