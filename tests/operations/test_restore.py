"""A backup is everything needed to come back: restored onto a new machine (a data folder that does
not exist yet), the links in emails sent before the backup still work: the unsubscribe link, the
calendar feed, the Inbound Parse URL. On SQLite and on PostgreSQL, every step a real process."""

from __future__ import annotations

import email
import json
import re
import signal
import stat
import tarfile
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import postgres_database
from tests.operations.conftest import leadline_env, ok
from tests.processes import free_port, start_server
from tests.webhooks.test_inbound import form


def _send_one(env: dict[str, str], data: Path) -> email.message.Message:
    ok(env, "init")
    ok(
        env,
        "prospects",
        "add",
        "--name",
        "Restore Plumbing",
        "--email",
        "owner@restoreplumbing.example",
        "--trade",
        "plumbing",
        "--city",
        "Austin",
        "--critical-gaps",
        "3",
        "--grid-health",
        "40",
        "--contact-name",
        "Dana Reyes",
    )
    listed = json.loads(ok(env, "prospects", "list", "--json").stdout)
    prospect = (listed["items"] if isinstance(listed, dict) else listed)[0]["id"]
    ok(env, "emails", "send", "--template", "solution", "--prospect", prospect)
    files = list((data / "outbox").glob("*.eml"))
    assert len(files) == 1, files
    return email.message_from_bytes(files[0].read_bytes())


def _path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def _secret_urls(env: dict[str, str]) -> tuple[str, str]:
    calendar = ok(env, "calls", "ics", "--url").stdout.strip()
    shown = ok(env, "webhooks", "urls").stdout
    inbound = re.search(r"https?://\S+/webhooks/sendgrid/inbound/\S+", shown)
    assert inbound, shown
    return _path_of(calendar), _path_of(inbound.group(0))


def _round_trip(tmp_path: Path, old_url: str | None, new_url: str | None) -> None:
    old_data = tmp_path / "old" / "data"
    old = leadline_env(old_data, old_url)
    sent = _send_one(old, old_data)
    assert (old_data / "secret_key").is_file()  # the key was generated, not given
    unsubscribe = _path_of(sent["List-Unsubscribe"].strip("<>").split(">")[0])
    calendar, inbound = _secret_urls(old)

    backup = tmp_path / "backups" / "leadline.backup"
    backup.parent.mkdir()
    started = time.monotonic()
    ok(old, "backup", str(backup))
    took = time.monotonic() - started
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert sorted(p.name for p in backup.parent.iterdir()) == ["leadline.backup"]  # no -wal, -shm, .partial
    with tarfile.open(backup) as tar:
        names = tar.getnames()
    assert names[:2] == ["manifest.json", "keys.json"] and names[2] in ("leadline.db", "leadline.pgdump")

    new_data = tmp_path / "new" / "data"  # a new machine: not even the folder exists
    new = leadline_env(new_data, new_url)
    assert not new_data.parent.exists()
    restored = ok(new, "restore", str(backup), "--yes")
    assert "warning" not in restored.stderr, restored.stderr
    assert (new_data / "secret_key").read_text() == (old_data / "secret_key").read_text()
    assert stat.S_IMODE((new_data / "secret_key").stat().st_mode) == 0o600
    print(f"\nbackup of {backup.stat().st_size:,} bytes in {took:.2f} s; restored onto {new_data}")

    port = free_port()
    server = start_server(new, port, tmp_path)
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=10) as client:
            assert client.get(unsubscribe).status_code == 200
            done = client.post(unsubscribe)
            assert done.status_code == 200, done.text
            assert client.get(calendar).status_code == 200
            body, kind = form({
                "headers": f"From: <owner@restoreplumbing.example>\nIn-Reply-To: {sent['Message-ID']}\n",
                "from": "<owner@restoreplumbing.example>", "to": "sales@example.com", "subject": "Re: hello",
                "text": "Sounds good, call me.",
            })  # fmt: skip
            answer = client.post(inbound, content=body, headers={"content-type": kind})
            assert answer.status_code == 200, answer.text
            assert answer.json()["emailId"] is not None
            # The test can fail: another key gives 403 / 404.
            assert client.post(inbound + "x", content=body, headers={"content-type": kind}).status_code == 403
            assert client.get(unsubscribe[:-3] + "abc").status_code == 404
    finally:
        server.stop(signal.SIGTERM)
    suppressed = ok(new, "suppressions", "list", "--json").stdout
    assert "owner@restoreplumbing.example" in suppressed


def test_restore_onto_a_new_machine_keeps_old_links_working_sqlite(tmp_path: Path) -> None:
    _round_trip(tmp_path, None, None)


@pytest.mark.postgres
def test_restore_onto_a_new_machine_keeps_old_links_working_postgresql(tmp_path: Path) -> None:
    with postgres_database("ops_restore_old") as old_url, postgres_database("ops_restore_new") as new_url:
        _round_trip(tmp_path, old_url, new_url)
