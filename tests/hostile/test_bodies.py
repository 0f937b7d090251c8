"""Request bodies against a running `leadline serve`: a stranger's 40 MB is refused before it is
read (in under a second, under 50 MB of memory), every route has a limit, stalled bodies time
out, /api/ JSON is nested at most 32 levels, and the routes with larger limits still take what
SendGrid and an import send. Every refusal changes nothing in the database."""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from leadline.jsonin import MAX_DEPTH
from leadline.webhooks.security import inbound_token
from tests.hostile.served import MB, Served, nested, send, serve

pytestmark = pytest.mark.xdist_group("processes")

TIMEOUT = 2.0  # LEADLINE_BODY_TIMEOUT_SECONDS of the server under test
ATTACKED = [("POST", "/api/prospects"), ("PATCH", "/api/prospects/some-id"), ("POST", "/api/deals/won"),
            ("POST", "/api/prospects/import"), ("POST", "/api/no-such-route")]  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sqlite_template) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("bodies"), sqlite_template, body_timeout_seconds=TIMEOUT,
               sendgrid_webhook_verify=False) as served:  # fmt: skip
        yield served


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("who", ["anonymous", "invalid-token", "read-only-token"])
def test_a_40_mb_post_without_write_rights_to_any_api_route_is_refused_at_once_in_flat_memory(server, chunked, who):
    before = server.rows()
    token = {"anonymous": None, "invalid-token": "ll_not-a-token", "read-only-token": server.read_token}[who]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    for method, path in ATTACKED:
        rss = server.rss()
        server.reset_peak()
        answer = send(server.port, method, path, size=40 * MB, chunked=chunked, headers=headers)
        grown, peak = server.rss() - rss, server.peak() - rss
        # Declared too large: 413 before anything else; sent chunked: 401/403 before a byte is read.
        expected = 413 if not chunked else 403 if who == "read-only-token" else 401
        assert answer.status == expected, (method, path, answer.status, answer.body[:300])
        assert answer.json()["error"] == {413: "too_large", 401: "unauthorized", 403: "forbidden"}[expected]
        assert answer.seconds < 1, (method, path, answer.seconds)
        assert grown < 50 and peak < 50, (method, path, f"RSS +{grown} MB, peak +{peak} MB")
    assert server.rows() == before


def test_three_at_once_leave_the_server_answering(server):
    before = server.rows()
    rss = server.rss()
    server.reset_peak()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        attacks = [pool.submit(send, server.port, "POST", "/api/prospects", size=40 * MB, chunked=chunked)
                   for chunked in (True, True, False)]  # fmt: skip
        started = time.perf_counter()
        health = httpx.get(f"{server.base}/healthz", timeout=5)
        health_seconds = time.perf_counter() - started
        answers = [attack.result() for attack in attacks]
    assert [a.status for a in answers] == [401, 401, 413]
    assert all(a.seconds < 1 for a in answers), [a.seconds for a in answers]
    assert health.status_code == 200 and health_seconds < 5  # a busy test machine: the point is that it answers
    assert server.peak() - rss < 50 and server.rss() - rss < 50
    assert server.rows() == before


def test_a_signed_in_body_over_the_default_limit_is_refused(server):
    before = server.rows()
    # Declared: refused before it is read.
    declared = send(server.port, "POST", "/api/prospects", size=2 * MB, headers=server.auth())
    assert declared.status == 413 and declared.json()["error"] == "too_large"
    assert "LEADLINE_MAX_BODY_BYTES" in declared.json()["message"]
    # Chunked: counted as it arrives, refused past the limit, and the connection is closed.
    streamed = send(server.port, "POST", "/api/prospects", size=200 * MB, headers=server.auth(), chunked=True)
    assert streamed.status == 413 and streamed.json()["error"] == "too_large"
    assert streamed.headers.get("connection") == "close" and streamed.seconds < 5
    # Pages have the same limit: the sign-in form.
    page = send(server.port, "POST", "/login", size=2 * MB, chunked=True,
                headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert page.status == 413
    assert server.rows() == before


def _stall(server: Served, path: str, headers: dict[str, str]) -> tuple[float, bytes, bytes]:
    """Send the head and 10 of 100 promised bytes, then nothing: (seconds to the answer, answer, after)."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT + 10)
    head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Length: 100"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    started = time.perf_counter()
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + b'{"name": "')
    answer = sock.recv(65536)
    seconds = time.perf_counter() - started
    while chunk := sock.recv(65536):  # the head and the body may come in separate segments
        answer += chunk
    after = sock.recv(100)  # the server closed the connection (a timeout here raises)
    sock.close()
    return seconds, answer, after


@pytest.mark.parametrize(
    ("path", "kind"),
    [("/api/prospects", "application/json"), ("/login", "application/x-www-form-urlencoded"),
     ("/webhooks/sendgrid", "application/json")],
)  # fmt: skip
def test_a_stalled_body_times_out(server, path, kind):
    before = server.rows()
    headers = {"Content-Type": kind, **(server.auth() if path.startswith("/api/") else {})}
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        stalled = pool.submit(_stall, server, path, headers)
        time.sleep(0.3)
        health = httpx.get(f"{server.base}/healthz", timeout=5)
        assert health.status_code == 200 and not stalled.done()  # answered while the body stalls
        seconds, answer, after = stalled.result()
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b'"error":"timeout"' in answer and b"connection: close" in answer.lower()
    assert TIMEOUT <= seconds < TIMEOUT + 2, seconds
    assert after == b""
    assert server.rows() == before


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/api/prospects"), ("PATCH", "/api/prospects/x"), ("POST", "/api/deals/won"),
                         ("POST", "/api/tasks"), ("POST", "/api/prospects/x/stage")],
)  # fmt: skip
def test_a_too_deep_api_body_is_refused_naming_the_body(server, method, path):
    before = server.rows()
    for body in (nested(MAX_DEPTH + 1), nested(200_000), b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
                 b'{"name": "x", "notes": ' + nested(MAX_DEPTH) + b"}"):  # fmt: skip
        rss = server.rss()
        started = time.perf_counter()
        answer = httpx.request(method, server.base + path, content=body, timeout=30,
                               headers={**server.auth(), "Content-Type": "application/json"})  # fmt: skip
        assert answer.status_code == 422, answer.text
        assert answer.json()["field"] == "body" and f"deeper than {MAX_DEPTH}" in answer.json()["message"]
        assert time.perf_counter() - started < 5 and server.rss() - rss < 50
    # Strict JSON: no NaN.
    nan = httpx.request(method, server.base + path, content=b'{"name": "x", "gridHealth": NaN}',
                        headers={**server.auth(), "Content-Type": "application/json"})  # fmt: skip
    assert nan.status_code == 422 and nan.json()["field"] == "body"
    assert server.rows() == before


def test_json_at_the_limit_is_still_read(server):
    answer = httpx.post(f"{server.base}/api/prospects", headers=server.auth(),
                        json={"name": "Deep Enough Plumbing", "gaps": ["a"]})  # fmt: skip
    assert answer.status_code == 201, answer.text
    nested_ok = httpx.post(f"{server.base}/api/prospects", headers={**server.auth(), "Content-Type": "application/json"},
                           content=nested(MAX_DEPTH))  # fmt: skip
    assert nested_ok.status_code == 422 and "deeper" not in nested_ok.text  # read, then refused by the schema


def test_routes_with_their_own_limits_take_what_sendgrid_and_imports_send(server):
    # Inbound Parse: an email with a 10 MB attachment (SendGrid posts up to 30 MB).
    fields = {"from": "Dana <dana@example.org>", "to": "reply@example.com", "subject": "Re: hello", "text": "Yes!",
              "headers": "From: dana@example.org\nSubject: Re: hello\n", "SPF": "pass", "attachments": "1",
              "envelope": json.dumps({"to": ["reply@example.com"], "from": "dana@example.org"})}  # fmt: skip
    files = {"attachment1": ("plan.pdf", b"%PDF" + b"\0" * (10 * MB), "application/pdf")}
    inbound = httpx.post(f"{server.base}/webhooks/sendgrid/inbound/{inbound_token(server.settings)}",
                         data=fields, files=files, timeout=60)  # fmt: skip
    assert inbound.status_code == 200, inbound.text
    # Event Webhook: a 3 MB batch (over the 1 MiB default, under its 8 MB).
    events = [{"email": f"p{i}@example.org", "event": "processed", "timestamp": 1_700_000_000,
               "sg_event_id": f"evt-{i}", "sg_message_id": f"msg-{i}.filter", "note": "x" * 3_000}
              for i in range(1_000)]  # fmt: skip
    body = json.dumps(events).encode()
    assert 2 * MB < len(body) < 8 * MB
    batch = httpx.post(f"{server.base}/webhooks/sendgrid", content=body, timeout=60,
                       headers={"Content-Type": "application/json"})  # fmt: skip
    assert batch.status_code == 200, batch.text
    # Imports: a 2 MB file through the API (dry run) and the import page.
    upload = b"name,city\nBig File Plumbing,Austin\n" + (b" " * 1023 + b"\n") * 2048
    api = httpx.post(f"{server.base}/api/prospects/import?dryRun=true", headers=server.auth(),
                     files={"file": ("big.csv", upload, "text/csv")}, timeout=60)  # fmt: skip
    assert api.status_code == 200 and api.json()["rows"] == 1, api.text
    with server.browser() as browser:
        csrf = browser.headers["X-CSRF-Token"]
        page = browser.post("/prospects/import", data={"csrf_token": csrf},
                            files={"file": ("big.csv", upload, "text/csv")})  # fmt: skip
        assert page.status_code == 200 and "Big File Plumbing" in page.text
        # Past the import limit, a browser gets the error page (413), not a JSON body.
        too_big = send(server.port, "POST", "/prospects/import", size=30 * MB, headers={"Accept": "text/html"})
        assert too_big.status == 413 and too_big.headers["content-type"].startswith("text/html")


def _head(port: int, head: bytes) -> tuple[bytes, float]:
    """Send a request head from a thread (the server may close before it is all sent) while reading the
    answer: (its status line, seconds to it)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    started = time.perf_counter()

    def pump() -> None:
        with contextlib.suppress(OSError):
            sock.sendall(head)

    sender = threading.Thread(target=pump, daemon=True)
    sender.start()
    try:
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            while b"\r\n" not in answer and (chunk := sock.recv(65536)):
                answer += chunk
        return answer.split(b"\r\n", 1)[0], time.perf_counter() - started
    finally:
        sock.close()
        sender.join(10)


def test_a_request_head_over_64_kb_is_refused_before_any_route(server):
    """httptools, uvicorn's usual parser, read a head of any size: 64 MB of one header cost the server 5 s of
    CPU. A head (request line and headers) over 64 KB is refused at once, in flat memory."""
    before = server.rows()
    rss = server.rss()
    server.reset_peak()
    start = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    for head in (b"X-Big: " + b"a" * (16 * MB) + b"\r\n", b"X-Many: a\r\n" * 1_000_000):
        status, seconds = _head(server.port, start + head + b"\r\n")
        assert status == b"HTTP/1.1 400 Bad Request", status
        assert seconds < 1, seconds
    assert server.peak() - rss < 20 and server.rss() - rss < 20
    # A head of a few large cookies is still read.
    assert httpx.get(f"{server.base}/healthz", headers={"X-Big": "a" * 40_000}).status_code == 200
    assert server.rows() == before


def test_a_body_abandoned_midway_is_one_quiet_line_not_a_traceback(server):
    """A client that sends part of a body and leaves: nothing is answered to anyone, nothing stored, and
    the server does not log it as an unexpected error with its traceback (8.5 KB a post: a stranger
    in a loop filled the log at about 3 GB an hour)."""
    before = server.rows()
    logged = len(server.proc.output())
    paths = ["/webhooks/sendgrid", f"/webhooks/sendgrid/inbound/{inbound_token(server.settings)}", "/api/prospects"]
    for path in paths * 10:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json", "Content-Length: 100",
                *(f"{k}: {v}" for k, v in server.auth().items())]  # fmt: skip
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + b'[{"email": "')
        time.sleep(0.02)
        sock.close()
    time.sleep(1)  # the server has seen every disconnect
    assert httpx.get(f"{server.base}/healthz").status_code == 200
    written = server.proc.output()[logged:]
    assert "Traceback" not in written and "unexpected error" not in written, written[-3000:]
    assert len(written) < 30 * 300, len(written)  # at most a line or two each
    assert server.rows() == before


def test_an_unsigned_event_post_is_refused_before_its_body_is_read(tmp_path, sqlite_template):
    """The Event Webhook refuses what its headers alone say is not SendGrid's (no signature, a timestamp
    older than LEADLINE_SENDGRID_WEBHOOK_MAX_AGE_SECONDS) before reading the body: ten 8 MB posts at once
    were buffered whole before (the server's peak memory rose 77 MB)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from leadline.webhooks.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, public_key_text

    key = public_key_text(ec.generate_private_key(ec.SECP256R1()))
    with serve(
        tmp_path, sqlite_template, sendgrid_webhook_public_key=[key], sendgrid_webhook_max_age_seconds=600
    ) as signed:
        before = signed.rows()
        rss = signed.rss()
        signed.reset_peak()
        stale = {SIGNATURE_HEADER: "MEUCIQ" + "A" * 90, TIMESTAMP_HEADER: "1600000000"}
        with concurrent.futures.ThreadPoolExecutor(10) as pool:
            answers = list(pool.map(lambda headers: send(signed.port, "POST", "/webhooks/sendgrid", size=8 * MB - 1,
                                                         headers=headers), [{}] * 5 + [stale] * 5))  # fmt: skip
        assert [a.status for a in answers] == [401] * 5 + [403] * 5, [(a.status, a.body[:100]) for a in answers]
        assert "missing" in answers[0].json()["message"] and "too old" in answers[-1].json()["message"]
        assert all(a.seconds < 1 for a in answers), [a.seconds for a in answers]
        assert signed.peak() - rss < 30, f"peak +{signed.peak() - rss} MB"
        assert signed.rows() == before
