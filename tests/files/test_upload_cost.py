"""What an upload costs before it is refused: the app is called as a server calls it (ASGI), with a body
that keeps coming, and the bytes it pulled in are counted. A stranger's upload (API or page) is refused
before a byte of its body is read; a declared body over the limit too; a signed-in upload sent without a
length is refused as soon as it passes the limit (the file and room for the form), never read whole.
SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import Any

import pytest

from leadline.app import create_app
from leadline.auth.deps import SESSION_COOKIE
from tests.conftest import configure, make_token
from tests.factories import make_prospect, snapshot

CHUNK = 64 * 1024
BOUNDARY = "leadlinetestboundary"
HEAD = (
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
    "Content-Type: application/pdf\r\n\r\n%PDF-1.4\n"
).encode()


def _post(app: Any, path: str, *, total: int, headers: dict[str, str], declared: bool) -> tuple[int, int, dict]:
    """POST a multipart body of ``total`` bytes (declared with Content-Length, or streamed without one);
    the status, the body bytes the app read, and the response headers."""
    pulled = 0
    answer: dict[str, Any] = {}
    sent = HEAD

    async def receive() -> dict[str, Any]:
        nonlocal pulled, sent
        if pulled >= total:
            await asyncio.sleep(3600)  # the body is over: a real server would wait for a disconnect
        part = sent or b"0" * CHUNK
        sent = b""
        part = part[: total - pulled]
        pulled += len(part)
        return {"type": "http.request", "body": part, "more_body": pulled < total}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            answer["headers"] = {k.decode().lower(): v.decode() for k, v in message["headers"]}

    raw = {"content-type": f"multipart/form-data; boundary={BOUNDARY}", "host": "testserver", **headers}
    if declared:
        raw["content-length"] = str(total)
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
        "headers": [(k.encode(), v.encode()) for k, v in raw.items()], "client": ("203.0.113.7", 50000),
        "server": ("testserver", 80), "state": {}, "app": app,
    }  # fmt: skip

    async def call() -> None:
        await asyncio.wait_for(app(scope, receive, send), timeout=60)

    # in a thread of its own: a running event loop (Playwright's, in a browser test's session) would refuse
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, call()).result()
    return answer["status"], pulled, answer["headers"]


@pytest.fixture
def app(settings):
    return create_app(settings)


MB = 1024 * 1024
BIG = 40 * MB


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "streamed"])
def test_a_strangers_upload_reads_no_body(settings, app, declared):
    p = make_prospect(settings)
    before = snapshot(settings)
    for path in ("/api/files", f"/prospects/{p.id}/files", "/customers/cus_x/files"):
        status, pulled, headers = _post(app, path, total=BIG, headers={}, declared=declared)
        if declared:
            assert status == 413 and pulled == 0, (path, status, pulled)
        elif path.startswith("/api/"):
            assert status == 401 and pulled == 0, (path, status, pulled)
        else:  # a page: to the sign-in page, before the body
            assert status == 303 and headers["location"].startswith("/login"), (path, status, pulled, headers)
            assert pulled == 0, (path, pulled)
    assert snapshot(settings) == before


def test_a_viewers_page_upload_reads_no_body(settings, app, signed_in):
    p = make_prospect(settings)
    viewer = {"cookie": f"{SESSION_COOKIE}={signed_in('viewer').cookies.get(SESSION_COOKIE)}"}
    before = snapshot(settings)
    for path in (f"/prospects/{p.id}/files", "/prospects/import"):
        status, pulled, _ = _post(app, path, total=BIG, headers=viewer, declared=False)
        assert (status, pulled) == (403, 0), path
    assert snapshot(settings) == before


def test_an_allowed_upload_over_the_limit_is_refused_as_it_passes_it(settings, app, signed_in, monkeypatch):
    p = make_prospect(settings)
    configure(monkeypatch, settings, file_max_bytes=2 * MB)
    app = create_app(settings)
    token = {"authorization": f"Bearer {make_token(settings)}"}
    member = {"cookie": f"{SESSION_COOKIE}={signed_in('member').cookies.get(SESSION_COOKIE)}"}
    before = snapshot(settings)
    for path, who in (("/api/files", token), (f"/prospects/{p.id}/files", member)):
        status, pulled, _ = _post(app, path, total=BIG, headers=who, declared=True)
        assert (status, pulled) == (413, 0), path
        status, pulled, _ = _post(app, path, total=BIG, headers=who, declared=False)
        assert status == 413 and 2 * MB < pulled <= 2 * MB + 64 * 1024 + CHUNK, (path, pulled)
    assert snapshot(settings) == before
