"""schemathesis against /openapi.json: generated requests to every API operation (with a write
token, on a SQLite database holding the demo, through a real server), checking for server errors
and for responses that break the document's own schema (status codes, content types, bodies)."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from leadline.app import create_app
from leadline.config import Settings
from leadline.db import dispose_engines
from tests.conftest import make_settings, make_token
from tests.web.conftest import free_port

pytestmark = pytest.mark.xdist_group("schemathesis")
# What the API promises: no server error, and every response as its document describes it
# (status code, content type, headers, body). Not checked: whether a schema-valid request is
# accepted (a prospect id that does not exist is a 404, a second "won" a 409: by design).
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]
schema = schemathesis.openapi.from_dict(create_app(Settings(data_dir=Path("/nonexistent"))).openapi())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[tuple[str, str]]:
    """One server for every operation: (base URL, write token)."""
    import uvicorn

    from leadline.demo import load_demo

    folder = tmp_path_factory.mktemp("schemathesis")
    shutil.copyfile(sqlite_template, folder / "leadline.db")
    chosen = make_settings(
        f"sqlite:///{folder / 'leadline.db'}",
        folder,
        secret_key="schemathesis-secret-" + "x" * 32,
        dns_lifetime_seconds=1,
    )  # fmt: skip  (GET /api/senders/check looks domains up)
    load_demo(chosen)
    token = make_token(chosen, scope="write")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(chosen), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", token
    server.should_exit = True
    thread.join(timeout=15)
    dispose_engines()


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_api_keeps_to_its_own_document(case: Any, server: tuple[str, str]) -> None:
    base_url, token = server
    case.call_and_validate(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
