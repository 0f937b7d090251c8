"""kill -9 during an outbox send: nothing half-written is left in the outbox, and the email ends
``failed`` (sent again by the next run), not ``unknown``."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from leadline.clock import utc_now
from leadline.emails import flows
from tests.conftest import postgres_database
from tests.operations.conftest import leadline_env, ok
from tests.processes import EXE, wait_for

PROSPECT = ("--name", "Killed Plumbing", "--email", "owner@killedplumbing.example", "--trade", "plumbing",
            "--city", "Austin", "--critical-gaps", "3", "--grid-health", "40", "--contact-name", "Dana Reyes")  # fmt: skip

# Loaded by the sending process only: stops it inside the outbox write (after the message's bytes
# are written, before they are synced and named) and says so, so that the kill lands right there.
STALL = textwrap.dedent(
    """
    import os, time
    _fsync = os.fsync
    def fsync(descriptor):
        try:
            where = os.readlink(f"/proc/self/fd/{descriptor}")
        except OSError:
            where = ""
        if "outbox" in where:
            open(os.environ["STALL_MARK"], "w").close()
            time.sleep(120)
        return _fsync(descriptor)
    os.fsync = fsync
    """
)


def _engine(data: Path, url: str | None) -> Engine:
    return create_engine(url or f"sqlite:///{data / 'leadline.db'}")


def _status(engine: Engine) -> list[tuple[str, str, str | None]]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, status, error FROM email_activities ORDER BY created_at"))
        return [(r[0], r[1], r[2]) for r in rows]


def _age_claims(engine: Engine) -> None:
    """Eleven minutes pass (the time after which a claim counts as abandoned)."""
    then = datetime.now(UTC) - timedelta(minutes=11)
    value = then.replace(tzinfo=None).isoformat(" ") if engine.dialect.name == "sqlite" else then
    with engine.begin() as connection:
        connection.execute(text("UPDATE email_activities SET send_attempted_at = :t"), {"t": value})


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_kill_during_an_outbox_write_leaves_nothing_and_the_email_fails(tmp_path: Path, database: str) -> None:
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(postgres_database("ops_outbox_kill")) if database == "postgresql" else None
        _kill_during_write(tmp_path, url)


def _kill_during_write(tmp_path: Path, url: str | None) -> None:
    data = tmp_path / "data"
    env = leadline_env(data, url)
    engine = _engine(data, url)
    ok(env, "init")
    ok(env, "prospects", "add", *PROSPECT)
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(STALL)
    mark = tmp_path / "stalled"
    stalled_env = {**env, "PYTHONPATH": str(hook), "STALL_MARK": str(mark)}
    sender = subprocess.Popen([EXE, "emails", "send", "--template", "solution", "--prospect", "killed_plumbing"],
                              env=stalled_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        assert wait_for(mark.exists, 60), sender.communicate(timeout=5)
        started = time.monotonic()
        sender.send_signal(signal.SIGKILL)
        sender.wait(10)
    finally:
        if sender.poll() is None:
            sender.kill()
    assert sender.returncode == -signal.SIGKILL
    outbox = data / "outbox"
    left = sorted(p.name for p in outbox.iterdir())
    assert left == [], left  # no .eml.part, no 0-byte file, no half message
    [(email_id, status, _)] = _status(engine)
    assert status == "sending"

    # Ten minutes later (the time after which a claim counts as abandoned), the next run settles it.
    _age_claims(engine)
    again = ok(env, "emails", "send", "--template", "solution", "--prospect", "killed_plumbing")
    rows = {i: (s, e) for i, s, e in _status(engine)}
    engine.dispose()
    assert rows[email_id][0] == "failed", rows
    assert "before the message was written to the outbox" in str(rows[email_id][1])
    assert "unknown" not in {s for s, _ in rows.values()}
    sent = [i for i, (s, _) in rows.items() if s == "sent"]
    assert len(sent) == 1 and sent[0] != email_id, (rows, again.stdout)  # sent again, once
    assert [p.name.endswith(f"-{sent[0]}.eml") for p in outbox.iterdir()] == [True]
    print(f"\nkilled in the outbox write: {len(left)} files left; settled and sent again in "
          f"{time.monotonic() - started:.1f} s")  # fmt: skip


def _claim(settings, prospect_id: str) -> str:
    """What a sending process has done when it is killed: the send claimed (status ``sending``)."""
    from leadline.db import unit_of_work
    from leadline.emails import service
    from leadline.emails.templates import load

    with unit_of_work(settings) as session:
        plan = service.plan(session, settings, "pain_point", prospect_ids=[prospect_id])
        email, _ = service.claim(session, settings, plan.items[0], load(settings, "pain_point"), force=False,
                                 actor="test")  # fmt: skip
        assert email is not None
        return str(email.id)


def test_stale_outbox_sends_are_settled_by_their_file(sqlite_settings, monkeypatch):
    """A send whose file is in the outbox is sent; one whose file is not is failed (a .part that the
    fallback write of a killed process left is removed); through any other backend: unknown."""
    from leadline import clock
    from leadline.db import unit_of_work
    from leadline.emails import service
    from tests.factories import make_prospect

    settings = sqlite_settings
    outbox = Path(settings.outbox_path)
    outbox.mkdir(parents=True, exist_ok=True)
    written = _claim(settings, make_prospect(sqlite_settings, name="Written", email="a@written.example").id)
    (outbox / f"20261205-120000-{written}.eml").write_bytes(b"Subject: hi\r\n\r\nbody\r\n")
    cut = _claim(settings, make_prospect(sqlite_settings, name="Cut", email="b@cut.example").id)
    (outbox / f".20261205-120000-{cut}.eml.x1y2.part").write_bytes(b"Subject: h")
    fresh = _claim(settings, make_prospect(sqlite_settings, name="Fresh", email="c@fresh.example").id)
    clock.set_frozen(utc_now() + timedelta(minutes=11))
    try:
        newer = _claim(
            settings, make_prospect(sqlite_settings, name="Newer", email="d@newer.example").id
        )  # still in flight
        assert flows.mark_stale_sends(settings, actor="test") == 3
        monkeypatch.setattr(settings, "email_backend", "smtp")
        elsewhere = _claim(settings, make_prospect(sqlite_settings, name="Smtp", email="e@smtp.example").id)
        clock.set_frozen(utc_now() + timedelta(minutes=11))
        assert flows.mark_stale_sends(settings, actor="test") == 2
    finally:
        clock.set_frozen(None)
    with unit_of_work(settings, readonly=True) as session:
        states = {i: service.get(session, i).status for i in (written, cut, fresh, newer, elsewhere)}
    assert states == {written: "sent", cut: "failed", fresh: "failed", newer: "unknown", elsewhere: "unknown"}
    assert sorted(p.name for p in outbox.iterdir()) == [f"20261205-120000-{written}.eml"]
