"""/healthz and `leadline doctor` tell the truth, fast, without taking a lock: a writer holding the
lock, a read-only database file, a full disk (a small tmpfs), the queue and the worker's heartbeat."""

from __future__ import annotations

import contextlib
import json
import re
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from leadline import health
from leadline.app import create_app
from leadline.config import Settings
from leadline.jobs import get_huey
from tests.conftest import run_leadline
from tests.operations.conftest import leadline_env, ok
from tests.processes import free_port, start_server, start_worker, wait_for


def _db(settings: Settings) -> Path:
    return Path(settings.database_url.removeprefix("sqlite:///"))


@contextlib.contextmanager
def _write_lock_held(path: Path) -> Iterator[None]:
    """Another connection (as an import or a stuck process would) holds SQLite's write lock."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO alembic_version (version_num) VALUES ('held')")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_healthy_says_ok_with_every_part(sqlite_settings):
    with TestClient(create_app(sqlite_settings)) as client:
        answer = client.get("/healthz")
    body = answer.json()
    assert answer.status_code == 200, body
    assert body["status"] == "ok" and body["database"] == "ok" and body["writes"] == "ok"
    assert body["queue"]["state"] == "ok" and body["problems"] == []
    assert body["worker"] == {"state": "none seen", "lastHeartbeat": None}


def test_a_held_write_lock_is_degraded_and_answered_fast(sqlite_settings):
    with TestClient(create_app(sqlite_settings)) as client, _write_lock_held(_db(sqlite_settings)):
        started = time.monotonic()
        answer = client.get("/healthz")
        took = time.monotonic() - started
        strict = client.get("/healthz", params={"strict": "1"})
    body = answer.json()
    assert answer.status_code == 200 and body["status"] == "degraded" and body["writes"] == "locked", body
    assert "locked out" in body["problems"][0]
    assert took < health.PROBE_WAIT + 1.5, took  # was 13 s behind an import, or 503 after 30 s
    assert strict.status_code == 503 and strict.headers["retry-after"] == "30"


def test_writes_are_ok_beside_a_writer_that_leaves_the_lock_free_for_moments(sqlite_settings):
    """A busy writer leaves the write lock free for moments between its transactions (an import, 20 ms):
    the probe takes it in such a gap (trying every few ms, as Leadline's writers do). On SQLite's busy
    handler it tried at 328 and 428 ms and missed a gap from 340 to 420 ms ("writers are locked out"),
    let alone an import's 20 ms."""
    import threading

    holder = sqlite3.connect(_db(sqlite_settings), isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")

    def short_gap() -> None:
        time.sleep(0.34)
        holder.execute("ROLLBACK")
        time.sleep(0.08)
        holder.execute("BEGIN IMMEDIATE")  # waits, if need be, for the probe's moment
        time.sleep(0.3)
        holder.execute("ROLLBACK")

    writer = threading.Thread(target=short_gap)
    writer.start()
    try:
        report = health.check(sqlite_settings)
    finally:
        writer.join()
        holder.close()
    assert report.writes == "ok", report


def test_healthz_behind_a_writer_on_a_real_server(tmp_path):
    """The server as a process, a writer holding the lock for 5 s: every probe answers in about half a
    second (the probe's wait; under 2 s even on a busy CI machine), where it took 13 s or 30 s."""
    data = tmp_path / "data"
    env = leadline_env(data)
    ok(env, "init")
    port = free_port()
    server = start_server(env, port, tmp_path)
    try:
        with _write_lock_held(data / "leadline.db"):
            times, states = [], set()
            end = time.monotonic() + 5
            while time.monotonic() < end:
                started = time.monotonic()
                answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=30)
                times.append(time.monotonic() - started)
                states.add((answer.status_code, answer.json()["status"], answer.json()["writes"]))
            doctor = run_leadline("doctor", env=env)
        after = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=30).json()
    finally:
        server.stop(signal.SIGTERM)
    print(f"\n/healthz with the write lock held: {len(times)} probes, slowest {max(times) * 1000:.0f} ms")
    assert states == {(200, "degraded", "locked")}
    assert max(times) < 2.0, times
    assert doctor.returncode == 1 and "locked out" in doctor.stdout, doctor.stdout + doctor.stderr
    assert after["status"] == "ok", after
    assert "Traceback" not in server.output()


def test_a_read_only_database_file_is_degraded(sqlite_settings):
    path = _db(sqlite_settings)
    with TestClient(create_app(sqlite_settings)) as client:
        assert client.get("/healthz").json()["status"] == "ok"
        done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"chattr +i (a file even root cannot write) is not possible here: {done.stderr}"
        try:
            body = client.get("/healthz").json()
            with pytest.raises(sqlite3.OperationalError, match="readonly"):  # the truth: a write fails
                fresh = sqlite3.connect(path, isolation_level=None)
                fresh.execute("DELETE FROM alembic_version WHERE 0 = 1 OR version_num = 'none'")
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
            fresh.close()
    assert body["status"] == "degraded" and body["writes"] == "read-only", body
    assert body["problems"] == ["the database file is read-only: every write fails"]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 32 MiB tmpfs: a disk that can be filled. Mounting needs root (CI and the developers' machines run as root)."""
    folder = tmp_path / "disk"
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m,mode=0700", "tmpfs", str(folder)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, f"cannot mount a tmpfs here: {done.stderr}"
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_is_degraded_and_writes_do_fail(small_disk: Path, tmp_path: Path):
    data = small_disk / "data"
    env = leadline_env(data)
    ok(env, "init")
    port = free_port()
    server = start_server(env, port, tmp_path)  # holds the database open, as in production
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json()["status"] == "ok"
        filler = small_disk / "filler"
        with filler.open("wb") as handle, contextlib.suppress(OSError):
            while True:
                handle.write(b"\0" * (1 << 20))
                handle.flush()
        try:
            started = time.monotonic()
            answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=30)
            took = time.monotonic() - started
            doctor = run_leadline("doctor", env=env)
            failed = run_leadline("prospects", "add", "--name", "During Full", "--email", "b@during.example",
                                  "--notes", "x" * 100_000, env=env)  # fmt: skip
        finally:
            filler.unlink()
        after = httpx.get(f"http://127.0.0.1:{port}/healthz").json()
    finally:
        server.stop(signal.SIGTERM)
    body = answer.json()
    print(f"\n/healthz on a full disk: {answer.status_code} {body['status']} {body['writes']} in {took * 1000:.0f} ms")
    assert answer.status_code == 200 and body["status"] == "degraded" and body["writes"] == "disk full", body
    assert doctor.returncode == 1 and "disk is full" in doctor.stdout, doctor.stdout + doctor.stderr
    assert failed.returncode == 1 and "Traceback" not in failed.stderr, failed.stderr  # the truth: writes fail
    assert after["status"] == "ok", after


def test_the_worker_heartbeat(sqlite_settings, tmp_path):
    """A running worker reports within seconds; a heartbeat older than two minutes is degraded."""
    env = leadline_env(Path(sqlite_settings.data_dir), sqlite_settings.database_url)
    worker = start_worker(env, tmp_path, "beat")
    try:
        assert wait_for(lambda: json.loads(ok(env, "doctor", "--json").stdout)["worker"]["state"] == "ok", 20)
        report = json.loads(ok(env, "doctor", "--json").stdout)
        assert report["worker"]["pid"] == worker.popen.pid and report["worker"]["ageSeconds"] <= 20
    finally:
        worker.stop(signal.SIGKILL)
    stale = {"at": time.time() - 300, "host": "old-host", "pid": 1}
    get_huey(sqlite_settings).storage.put_data(health.HEARTBEAT_KEY, json.dumps(stale).encode())
    with TestClient(create_app(sqlite_settings)) as client:
        answer = client.get("/healthz")
    body = answer.json()
    assert answer.status_code == 200 and body["status"] == "degraded", body
    assert "host" not in body["worker"] and "pid" not in body["worker"]  # /healthz is open to anyone
    assert body["worker"]["state"] == "stopped" and re.search(r"no worker has reported for 30\d s", body["problems"][0])
    doctor = run_leadline("doctor", env=env)
    assert doctor.returncode == 1 and re.search(r"stopped: last heartbeat 30\d s ago", doctor.stdout), doctor.stdout


def test_database_down_is_503_and_doctor_exits_2(tmp_path):
    env = leadline_env(tmp_path / "data", "postgresql+psycopg://postgres@127.0.0.1:1/none")
    doctor = run_leadline("doctor", env=env)
    assert doctor.returncode == 2 and "down" in doctor.stdout and "Traceback" not in doctor.stderr


@pytest.mark.postgres
def test_a_read_only_postgresql_is_degraded(tmp_path):
    from sqlalchemy import create_engine, text

    from leadline.db import dispose_engines
    from leadline.migrate import upgrade
    from tests.conftest import PG_ADMIN_URL, postgres_database

    with postgres_database("ops_health_ro") as url:
        settings = Settings(database_url=url, data_dir=tmp_path / "data")
        upgrade(settings)
        dispose_engines()
        with TestClient(create_app(settings)) as client:
            assert client.get("/healthz").json()["status"] == "ok"
        name = url.rsplit("/", 1)[1]
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
        admin.dispose()
        dispose_engines()  # new connections, which take the database's new default
        with TestClient(create_app(settings)) as client:
            answer = client.get("/healthz")
        dispose_engines()
    body = answer.json()
    assert answer.status_code == 200 and body["status"] == "degraded" and body["writes"] == "read-only", body


def test_an_unreachable_queue_is_degraded(sqlite_settings):
    away = sqlite_settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    started = time.monotonic()
    report = health.check(away)
    assert time.monotonic() - started < 2
    assert report.status == "degraded" and report.queue == {"state": "down", "kind": "Redis"}
    assert report.problems[0].startswith("the job queue (Redis) cannot be reached")
    assert report.database == "ok" and report.writes == "ok"
