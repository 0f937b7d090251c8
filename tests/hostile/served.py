"""A real `leadline serve` for the hostile-input tests, and what they measure of it: time to the
answer, the server's resident memory (VmRSS, and its peak since a reset), and the database rows."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from leadline.config import Settings
from leadline.db import dispose_engines
from tests.conftest import PASSWORD, make_token, make_user, settings_env
from tests.factories import snapshot
from tests.processes import Proc, free_port, start_server, stop_all

MB = 1024 * 1024


@dataclass
class Served:
    proc: Proc
    port: int
    settings: Settings
    token: str
    read_token: str
    user: str

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.popen.pid

    def status(self, name: str) -> int:
        """A VmRSS/VmHWM figure of the server process, in MB."""
        with open(f"/proc/{self.pid}/status") as handle:
            for line in handle:
                if line.startswith(name + ":"):
                    return int(line.split()[1]) // 1024
        raise AssertionError(f"no {name} for {self.pid}")

    def rss(self) -> int:
        return self.status("VmRSS")

    def reset_peak(self) -> None:
        """Start the peak (VmHWM) over from the current RSS (Linux: clear_refs 5); no-op if not allowed."""
        with contextlib.suppress(OSError), open(f"/proc/{self.pid}/clear_refs", "w") as handle:
            handle.write("5")

    def peak(self) -> int:
        return self.status("VmHWM")

    def rows(self) -> dict[str, list[tuple[Any, ...]]]:
        return snapshot(self.settings)

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @contextlib.contextmanager
    def browser(self) -> Iterator[httpx.Client]:
        """An httpx client signed in through the sign-in form; ``.headers['X-CSRF-Token']`` is set."""
        with httpx.Client(base_url=self.base, timeout=60) as client:
            yield self._sign_in(client)

    def _sign_in(self, client: httpx.Client) -> httpx.Client:
        form = client.get("/login")
        found = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert found, form.text
        signed = client.post("/login", data={"email": self.user, "password": PASSWORD, "csrf_token": found.group(1)})
        assert signed.status_code in (200, 303), signed.text
        page = client.get("/prospects/import")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf, page.text
        client.headers["X-CSRF-Token"] = csrf.group(1)
        return client


@contextlib.contextmanager
def serve(tmp: Path, template: Path, **changes: Any) -> Iterator[Served]:
    """`leadline serve` on a copy of the migrated SQLite template, with ``changes`` to its settings;
    the server is given them as its environment, the test keeps them (for snapshots)."""
    data = tmp / "data"
    data.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, data / "leadline.db")
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{data / 'leadline.db'}", "data_dir": data,
        "secret_key": "hostile-bodies-" + "x" * 32, "embedded_worker": False,
    }  # fmt: skip
    settings = Settings(**(values | changes), _env_file=None)
    token, read_token = make_token(settings), make_token(settings, scope="read")
    user = make_user(settings, "admin@example.com", "admin")
    port = free_port()
    own = {k: v for k, v in os.environ.items() if not k.startswith("LEADLINE_") or k.startswith("LEADLINE_TEST_")}
    proc = start_server({**own, **settings_env(settings)}, port, tmp)
    try:
        yield Served(proc, port, settings, token, read_token, user)
    finally:
        stop_all([proc])
        dispose_engines()


@dataclass
class Answer:
    status: int
    seconds: float  # from the first byte sent to the status line received
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


def _pieces(size: int, piece: bytes, chunked: bool) -> Iterator[bytes]:
    sent = 0
    while sent < size:
        part = piece[: size - sent]
        sent += len(part)
        yield f"{len(part):x}\r\n".encode() + part + b"\r\n" if chunked else part
    if chunked:
        yield b"0\r\n\r\n"


def send(port: int, method: str, path: str, *, size: int, headers: dict[str, str] | None = None,
         chunked: bool = False, piece: bytes = b"{}," * 21_846, timeout: float = 30) -> Answer:  # fmt: skip
    """Send a ``size``-byte body (declared with Content-Length, or chunked) from a thread while
    reading the answer, as an attacker would: the answer's time is the server's, not the upload's."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    headers = {"Content-Type": "application/json", **(headers or {})}
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}")
    started = time.perf_counter()
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())

    def pump() -> None:
        with contextlib.suppress(OSError):
            for part in _pieces(size, piece, chunked):
                sock.sendall(part)

    sender = threading.Thread(target=pump, daemon=True)
    sender.start()
    try:
        response = http.client.HTTPResponse(sock, method=method)
        response.begin()
        seconds = time.perf_counter() - started
        body = response.read()
        return Answer(response.status, seconds, body, {k.lower(): v for k, v in response.getheaders()})
    finally:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
        sender.join(10)


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth
