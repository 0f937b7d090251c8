"""Real processes for the scale, fault and deployment tests: `leadline serve` / `leadline worker`,
and private PostgreSQL and Redis servers that a test may stop and start (the shared ones on
5432/6379 are never touched)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

EXE = str(Path(sys.executable).with_name("leadline"))
PG_BIN = Path(os.environ.get("LEADLINE_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], bool], timeout: float = 60, every: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(every)
    return False


def healthy(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class Proc:
    """A process of ours, in its own session (so a kill reaches its children), its output in a file."""

    args: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] = field(init=False)

    def __post_init__(self) -> None:
        handle = self.log.open("ab")
        self.popen = subprocess.Popen(
            self.args,
            env={**self.env, "PYTHONUNBUFFERED": "1"},
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        handle.close()

    def send(self, sig: int) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Stop with ``sig`` (SIGKILL after ``timeout``); returns the exit code."""
        self.send(sig)
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.send(signal.SIGKILL)
            return self.popen.wait(10)

    def output(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def start_server(env: dict[str, str], port: int, folder: Path, args: list[str] | None = None) -> Proc:
    """`leadline serve` on ``port`` (or the command line ``args``), once /healthz answers."""
    proc = Proc(args or [EXE, "serve", "--port", str(port)], env, folder / f"serve-{port}.log")
    if not wait_for(lambda: healthy(f"http://127.0.0.1:{port}") or proc.popen.poll() is not None, 60):
        proc.stop(signal.SIGKILL)
        raise RuntimeError(f"leadline serve on {port} did not start:\n{proc.tail()}")
    if proc.popen.poll() is not None:
        raise RuntimeError(f"leadline serve on {port} exited:\n{proc.tail()}")
    return proc


def start_worker(env: dict[str, str], folder: Path, name: str, args: list[str] | None = None) -> Proc:
    proc = Proc(args or [EXE, "worker", "--threads", "2"], env, folder / f"worker-{name}.log")
    if not wait_for(lambda: "Leadline worker on" in proc.output() or proc.popen.poll() is not None, 60):
        proc.stop(signal.SIGKILL)
        raise RuntimeError(f"leadline worker {name} did not start:\n{proc.tail()}")
    if proc.popen.poll() is not None:
        raise RuntimeError(f"leadline worker {name} exited:\n{proc.tail()}")
    return proc


def stop_all(procs: list[Proc], sig: int = signal.SIGINT) -> str:
    for proc in procs:
        proc.send(sig)
    for proc in procs:
        proc.stop(sig)
    return "\n".join(f"--- {Path(p.args[0]).name} {' '.join(p.args[1:])}\n{p.tail()}" for p in procs)


# --- private servers -------------------------------------------------------------------------


def redis_server_reason() -> str | None:
    if shutil.which("redis-server") is None:
        return "redis-server is not installed (the tests start private Redis servers)"
    return None


class PrivateRedis:
    """``redis-server`` on a free port, no persistence: a queue this test alone uses."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="leadline-redis-"))
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        if not wait_for(self.up, 20, 0.05):
            raise RuntimeError(f"redis-server on {self.port} did not start")

    def up(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)
        self.proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def postgres_binaries_reason() -> str | None:
    if not (PG_BIN / "initdb").is_file():
        return f"no PostgreSQL server binaries in {PG_BIN} (set LEADLINE_TEST_PG_BIN); they start a private server"
    return None


class PrivatePostgres:
    """A throw-away PostgreSQL cluster (initdb in a temporary folder) on a free port, trust auth."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="leadline-pg-"))
        self.data = self.dir / "data"
        self._as: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            shutil.chown(self.dir, "postgres", "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]
        subprocess.run(
            [*self._as, str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
             "--no-sync"],
            check=True, capture_output=True,
        )  # fmt: skip
        self.start()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            [*self._as, str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60", *args],
            check=True, capture_output=True,
        )  # fmt: skip

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
        self._ctl("-o", options, "-l", str(self.dir / "server.log"), "start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "stop")

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        yield server
    finally:
        server.close()


@contextlib.contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    try:
        yield server
    finally:
        server.close()
