"""Every command of the CLI tree, run once as a real process on the demo, on SQLite and (but for the
reads and refusals marked :func:`read`) on PostgreSQL.

In-process CLI tests share one interpreter in which every model is already imported; a fresh
process imports only what its command needs, which is how `leadline tasks add` once failed
(a foreign key to a table no imported module had defined). Each command here gets a read and,
where it has one, a write, and must exit as listed without an "unexpected" error. A command
added to the tree without a line here fails `test_every_command_is_listed`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from leadline.migrate import head_revision
from tests.conftest import PG_ADMIN_URL, postgres_database, run_leadline
from tests.processes import EXE, free_port, wait_for


@dataclass(frozen=True)
class Run:
    args: tuple[str, ...]
    code: int = 0  # 1: a refusal the demo's state calls for, with its one-line error
    postgresql: bool = True  # run as a process on PostgreSQL too (see read)


def run(*args: str, code: int = 0) -> Run:
    return Run(args, code)


def read(*args: str, code: int = 0) -> Run:
    """A read or a refusal whose statements are the same on both databases: a process on SQLite only.
    What a fresh process can get wrong (its imports, the engine's set-up) is the same for every
    command of a group; PostgreSQL's run keeps each group's writes, its other reads and every
    command with SQL of PostgreSQL's own (the prospects, webhooks and analytics groups whole), and
    these commands' answers are checked on both databases in process by their groups' tests."""
    return Run(args, code, postgresql=False)


# {name} placeholders are filled from the database just before the command runs (see IDS).
GROUPS: dict[str, list[Run]] = {
    "prospects": [
        run("prospects", "list", "--json", "--limit", "5"),
        run("prospects", "show", "royal_plumbing_co", "--json"),
        run("list:prospects", "--status", "new", "--limit", "10"),  # the seed's spelling (issue 15)
        run("prospects", "add", "--name", "Fresh Process Plumbing", "--email", "owner@freshprocess.example"),
        run("prospects", "update", "royal_plumbing_co", "--notes", "Owner prefers texts"),
        run("prospects", "stage", "reyes_tree_service", "interested", "--reason", "met at the trade show"),
        run("prospects", "export", "--format", "csv", "-o", "{tmp}/prospects.csv"),
        run("prospects", "import", "{tmp}/prospects.csv", "--dry-run"),
        run("prospects", "import", "{tmp}/prospects.csv"),
        run("prospects", "duplicates", "--json", "--limit", "5"),
        run("prospects", "merge", "royal_plumbing_co", "royal_plumbing_co", code=1),  # refused: itself
        run("prospects", "merge", "royal_plumbing_co", "fresh_process_plumbing"),
        run("prospects", "bulk", "--trade", "plumbing", "--add-tag", "spring push", "--tier", "1", "--dry-run"),
        run("prospects", "bulk", "--trade", "plumbing", "--add-tag", "spring push", "--tier", "1"),
        run("prospects", "bulk", "--trade", "plumbing", "--stage", "contacted", code=1),  # refused: no --reason
        run("prospects", "list", "--tag", "spring push", "--json"),
        run("prospects", "bulk-status", "{bulk}"),
        run("prospects", "bulk-undo", "{bulk}"),
        run("prospects", "bulk-undo", "{bulk}", code=1),  # refused: already undone
        run("analytics", "recount", "--check"),  # the totals moved with every change above
    ],
    "emails": [
        read("templates", "list", "--json"),
        read("templates", "show", "pain_point"),
        read("templates", "preview", "pain_point", "--prospect", "royal_plumbing_co"),
        run("emails", "list", "--json"),
        read("list:emails", "--status", "opened"),
        read("emails", "show", "{email}", "--json"),
        run("emails", "send", "--template", "solution", "--prospect", "royal_plumbing_co"),
        run("emails", "send", "--template", "solution", "--prospect", "baker_roofing_co", "--at", "2099-01-05 08:30"),
        run("emails", "cancel", "{scheduled_email}"),
        run("emails", "reply", "{email}", "--text", "Interested, call me Friday"),
        run("emails", "label", "{reply}", "interested", "--note", "they asked for pricing"),
        read("emails", "label", "{reply}", "spam", code=1),  # refused: not a label
        run("replies", "list", "--json"),
        read("replies", "labels", "--json"),
        read("replies", "confirm", "{reply}", code=1),  # refused: labelled interested
        read("replies", "accept-referral", "{reply}", code=1),  # refused: not a referral
        read("senders", "check", "not a domain", code=1),
        read("senders", "check", "example.com", "--json"),  # answers pass/warn/fail whatever DNS says, in bounded time
        run("emails", "compose", "--reply-to", "{replied_email}", "--body", "Friday works. Talk then!"),
        run(
            "emails",
            "compose",
            "--prospect",
            "royal_plumbing_co",
            "--subject",
            "Notes from our call",
            "--body",
            "Hi {{ firstName }}, as promised.",
            "--dry-run",
        ),
        read("emails", "resolve", "{email}", "--sent", code=1),  # only an email in status unknown
        run("suppressions", "add", "someone@example.com"),
        read("suppressions", "list", "--json"),
        run("suppressions", "remove", "someone@example.com"),
        run("analytics", "recount", "--check"),  # the totals moved with every change above
    ],
    "webhooks": [
        run("webhooks", "urls"),
        run("webhooks", "stats", "--json"),
        run("webhooks", "import", "{tmp}/events.json"),
        run("webhooks", "replay"),
        run("webhooks", "simulate", "--url", "{server}", "--no-replies"),
        run("webhooks", "recount-clicks", "--json"),
        run("inbound", "list", "--json"),
        run("inbound", "assign", "{inbound}", "--email", "{email}", code=1),  # refused: matched already
        run("analytics", "recount", "--check"),  # the totals moved with every change above
    ],
    "sequences": [
        # Tier 2: the demo enrolls tier 1 in its follow-ups itself (issue 15).
        run("sequences", "start", "--template", "pain_point", "--tier", "2", "--limit", "2"),
        run("sequences", "status", "--json"),
        run("sequences", "stop", "--all", "--reason", "process test"),
        read("notifications", "list", "--json"),
        run("notify", "test"),  # no channel configured: it says so and records the test
        run("analytics", "recount", "--check"),  # the totals moved with every change above
    ],
    "senders": [
        run("senders", "list", "--json"),
        run(
            "senders",
            "add",
            "sam@mail.example.org",
            "--name",
            "Sam",
            "--daily-cap",
            "20",
            "--warmup-start",
            "5",
            "--warmup-step",
            "2",
            "--min-gap",
            "30",
            "--window",
            "08:00-17:00 mon-fri",
            "--json",
        ),
        read("senders", "show", "sam@mail.example.org", "--json"),
        run("senders", "update", "sam@mail.example.org", "--daily-cap", "25", "--json"),
        run("senders", "pause", "sam@mail.example.org", "--reason", "process test", "--json"),
        run("senders", "resume", "sam@mail.example.org", "--note", "checked the bounces", "--json"),
        read("senders", "add", "not an address", code=1),  # refused: not an address
        run("senders", "remove", "sam@mail.example.org", "--json"),
        run("senders", "health", "--json"),
    ],
    "calls": [
        run("calls", "list", "--json"),
        read("list:calls", "--status", "pending"),
        read("calls", "show", "{call}", "--json"),
        read("calls", "ics", "-o", "{tmp}/calls.ics"),
        run("calls", "schedule", "--prospect", "hughes_plumbing", "--at", "2099-01-02 15:00"),
        run("calls", "reschedule", "{pending_call}", "--at", "2099-01-03 15:00"),
        read("calls", "no-show", "{pending_call}", code=1),  # refused: the call is still to come
        run("calls", "schedule", "--prospect", "hughes_plumbing", "--at", "2099-01-04 15:00"),
        run("calls", "cancel", "{pending_call}"),
        run(
            "calls", "log", "--prospect", "hughes_plumbing", "--outcome", "interested", "--objections", "cost,timeline"
        ),
        run(
            "create:call",
            "--prospect=hughes_plumbing",
            "--outcome=interested",
            "--objections=cost,timeline",
            "--notes=Daniel very interested in grid analysis",
        ),
        read("objections", "--json"),
        run("analytics", "recount", "--check"),  # the totals moved with every change above
    ],
    "booking": [
        run("users", "add", "host@example.com", "--role", "admin", "--link"),
        read("availability", "show", "--user", "host@example.com", "--json"),
        run(
            "availability",
            "set",
            "--user",
            "host@example.com",
            "--hours",
            "mon-fri 09:00-12:00 13:00-17:00",
            "--lengths",
            "15,30",
            "--timezone",
            "America/Chicago",
            "--buffer-after",
            "10",
        ),
        read("availability", "set", "--user", "host@example.com", "--hours", "mon 17:00-09:00", code=1),  # refused
        run("booking", "link", "royal_plumbing_co"),
        run("booking", "revoke", "royal_plumbing_co", "--reason", "asked us to stop"),
        read("booking", "revoke", "no_such_prospect", code=1),  # refused: no such prospect
        run("analytics", "recount", "--check"),  # the totals moved with every change above
    ],
    "deals": [
        run("proposals", "send", "--prospect", "royal_plumbing_co", "--value", "2400"),
        run(
            "deals",
            "won",
            "--prospect",
            "royal_plumbing_co",
            "--service",
            "grid_health_analysis",
            "--monthly-fee",
            "2400",
        ),
        run("deals", "lost", "--prospect", "hughes_plumbing", "--reason", "went with a competitor"),
        run("deals", "reopen", "--prospect", "hughes_plumbing", "--reason", "called back"),
        run("customers", "list", "--json"),
        read("customers", "show", "{customer}", "--json"),
        run("customers", "update", "{customer}", "--leads-generated", "5"),
        run("customers", "pause", "{customer}", "--reason", "winter"),
        run("customers", "reactivate", "{customer}"),
        run("customers", "churn", "{customer}", "--reason", "closed the business"),
        run("analytics", "recount", "--check"),  # the totals moved with every change above
    ],
    "tasks": [
        run("tasks", "list", "--json"),
        run("tasks", "add", "--title", "Call back", "--prospect", "royal_plumbing_co", "--kind", "call_back"),
        run("tasks", "edit", "{task}", "--snooze", "3d"),
        run("tasks", "done", "{task}"),
        run("tasks", "reopen", "{task_done}"),
        run("tasks", "complete", "{task}"),
        run("today", "--json"),
        read("today", "--owner", "demo@leadline.local"),  # the demo's user (an address that is no user's is refused)
        run("notes", "add", "royal_plumbing_co", "Daniel prefers text messages"),
        read("notes", "list", "royal_plumbing_co", "--json"),
        run("notes", "edit", "{note}", "Daniel prefers texts after 5pm"),
        run("notes", "remove", "{note}"),
    ],
    "files": [
        run("export", "customers", "-o", "{tmp}/cu.csv"),
        run("files", "add", "prospect:royal_plumbing_co", "{tmp}/cu.csv"),
        read("files", "add", "royal_plumbing_co", "{tmp}/cu.csv", code=1),  # refused: which record?
        read("files", "list", "--json"),
        run("files", "get", "{file}", "-o", "{tmp}/back.csv"),
        run("files", "remove", "{file}"),
    ],
    "proposal documents": [
        run("proposals", "create", "--prospect", "hughes_plumbing", "--service", "paid_ads", "--fee", "1500"),
        run("proposals", "list", "--json"),
        run("proposals", "send", "{proposal}"),
        read("proposals", "show", "{proposal}", "--json"),
        run("proposals", "edit", "{proposal}", "--fee", "1400"),
        run("proposals", "pdf", "{proposal}", "-o", "{tmp}/p.pdf"),
    ],
    "texts": [  # the log backend (the default); the demo's Royal Plumbing has (512) 555-0142
        run("texts", "templates", "add", "checkin", "--body", "Hi {{{{ firstName }}}}, did my emails reach you?"),
        read("texts", "templates", "add", "checkin", "--body", "again", code=1),  # refused: it exists
        read("texts", "templates", "list", "--json"),
        run("texts", "preview", "--prospect", "royal_plumbing_co", "--template", "checkin", "--json"),
        run("texts", "send", "--prospect", "royal_plumbing_co", "--template", "checkin", "--dry-run"),
        read("texts", "send", "--prospect", "royal_plumbing_co", "--template", "nosuch", code=1),  # refused
        run("texts", "log", "--prospect", "royal_plumbing_co", "--direction", "in", "--body", "Text me Friday"),
        read("texts", "log", "--prospect", "royal_plumbing_co", "--direction", "sideways", "--body", "x", code=1),
        run("texts", "list", "--json"),
        read("texts", "unmatched", "--json"),
        run("texts", "opt-outs", "add", "(512) 555-0199"),
        read("texts", "opt-outs", "list", "--json"),
        run("texts", "opt-outs", "remove", "(512) 555-0199"),
        read("texts", "opt-outs", "remove", "not a phone", code=1),  # refused: not a phone number
        run("texts", "templates", "remove", "checkin"),
    ],
    "analytics": [
        run("dashboard", "--json"),
        run("report", "week", "--format", "json"),
        run("report:week1"),
        run("analytics", "conversion", "--json"),
        run("analytics", "forecast", "--json"),
        run("analytics", "objections", "--json"),
        run("analytics", "templates", "--json"),
        run("analytics", "timing", "--json"),
        run("analytics", "recount", "--check", "--json"),  # the demo's totals were kept as it played
        run("analytics", "recount", "--json"),
        run("export", "prospects", "-o", "{tmp}/p.csv"),
        run("export", "emails", "-o", "{tmp}/e.csv"),
        run("export", "calls", "-o", "{tmp}/c.csv"),
        run("export", "customers", "-o", "{tmp}/cu.csv"),
    ],
    "admin": [
        read("version"),
        read("config"),
        run("db", "current"),
        run("db", "upgrade"),
        run("db", "downgrade", head_revision() or "", code=1),  # refused: the database is there already
        run("init"),
        run("demo", "--if-empty"),
        run("users", "add", "ann@example.com", "--role", "member", "--link"),
        read("users", "list", "--json"),
        run("users", "role", "ann@example.com", "viewer"),
        run("users", "set-password", "ann@example.com", "--link"),
        run("users", "unlock", "ann@example.com"),
        run("users", "remove", "ann@example.com"),
        run("tokens", "create", "--name", "process-test", "--scope", "read"),
        read("tokens", "list", "--json"),
        run("tokens", "revoke", "process-test"),
        run("settings", "set", "dailySendLimit", "40"),
        read("settings", "set", "digestHour", "24", code=1),  # refused: digestHour at most 23
        read("settings", "get", "dailySendLimit", "--json"),
        run("settings", "list", "--json"),
        run("settings", "unset", "dailySendLimit"),
        run("export", "--all", "-o", "{tmp}/all.jsonl"),
        read("import", "{tmp}/all.jsonl", "--all", code=1),  # refused: the database is not empty
        run("backup", "{tmp}/backup.db"),
        run("doctor", "--json"),
        run("worker"),  # started, then stopped
    ],
}
SERVE = run("serve")  # run by the webhooks group, which posts to it
STOPPED = (0, -signal.SIGTERM)  # uvicorn shuts down gracefully, then re-raises the signal it caught
# `restore` replaces the whole database: it runs on SQLite after `backup` (see test_restore).


def _query(url: str, sql: str) -> str:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            value = connection.execute(text(sql)).scalar()
    finally:
        engine.dispose()
    assert value is not None, sql
    return str(value)


IDS: dict[str, str] = {
    "email": "SELECT id FROM email_activities WHERE status = 'delivered' ORDER BY id LIMIT 1",
    "replied_email": "SELECT id FROM email_activities WHERE replied_at IS NOT NULL ORDER BY id LIMIT 1",
    "scheduled_email": "SELECT id FROM email_activities WHERE status = 'scheduled' ORDER BY id DESC LIMIT 1",
    "inbound": "SELECT id FROM inbound_messages ORDER BY id LIMIT 1",
    "call": "SELECT id FROM call_activities ORDER BY id LIMIT 1",
    "pending_call": "SELECT id FROM call_activities WHERE completed_at IS NULL AND outcome = 'pending' "
    "AND scheduled_at > CURRENT_TIMESTAMP ORDER BY id DESC LIMIT 1",
    "customer": "SELECT id FROM customers ORDER BY id LIMIT 1",
    "task": "SELECT id FROM tasks WHERE done_at IS NULL ORDER BY id LIMIT 1",
    "task_done": "SELECT id FROM tasks WHERE done_at IS NOT NULL ORDER BY id LIMIT 1",
    "note": "SELECT id FROM outreach_activities WHERE type = 'note' AND status = 'added' ORDER BY id DESC LIMIT 1",
    "bulk": "SELECT id FROM bulk_operations ORDER BY created_at DESC LIMIT 1",
    "file": "SELECT id FROM files ORDER BY id DESC LIMIT 1",
    "proposal": "SELECT id FROM proposals ORDER BY id DESC LIMIT 1",
    "reply": "SELECT id FROM reply_labels ORDER BY id DESC LIMIT 1",
}


def every_command() -> set[str]:
    import typer.main

    from leadline.cli.main import app

    found: set[str] = set()

    def walk(command: object, path: tuple[str, ...]) -> None:
        subs = getattr(command, "commands", None)
        if subs is None:
            found.add(" ".join(path))
            return
        for name, sub in subs.items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return found


def _name(args: tuple[str, ...], commands: set[str]) -> str:
    words = [a for a in args if not a.startswith("-") and "{" not in a]
    for depth in (3, 2):  # `texts templates add` is three words deep
        if " ".join(words[:depth]) in commands:
            return " ".join(words[:depth])
    return words[0]


def test_every_command_is_listed() -> None:
    commands = every_command()  # once: building the command tree loads every group (seconds)
    listed = {_name(r.args, commands) for runs in GROUPS.values() for r in runs} | {"serve", "restore"}
    assert commands - listed == set(), "add a line for each new command to GROUPS"


# --- the demo, once per worker, copied for each group ------------------------------------------


def _demo_env(url: str, data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADLINE_") or k.startswith("LEADLINE_TEST_")}
    env.update(
        LEADLINE_DATABASE_URL=url,
        LEADLINE_DATA_DIR=str(data),
        LEADLINE_SECRET_KEY="process-test-secret-" + "x" * 32,
        LEADLINE_TIMEZONE="America/Chicago",
        LEADLINE_SENDER_ADDRESS="Leadline Demo, 100 Congress Ave, Austin, TX 78701",
        LEADLINE_EMAIL_BACKEND="outbox",
    )
    return env


@pytest.fixture(scope="session")
def demo_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli-demo")
    env = _demo_env(f"sqlite:///{folder / 'leadline.db'}", folder)
    for args in (["init"], ["demo"]):
        done = run_leadline(*args, env=env, cwd=folder)
        assert done.returncode == 0, done.stderr
    return folder / "leadline.db"


@pytest.fixture(scope="session")
def demo_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo on PostgreSQL, once per worker: the template each test's database is made from."""
    with postgres_database("leadline_clidemo") as url:
        folder = tmp_path_factory.mktemp("cli-demo-pg")
        env = _demo_env(url, folder)
        for args in (["init"], ["demo"]):
            done = run_leadline(*args, env=env, cwd=folder)
            assert done.returncode == 0, done.stderr
        yield str(make_url(url).database)


def _copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy (the demo's last writes may still be in its WAL file)."""
    import sqlite3

    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def demo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(kind, URL) of a fresh copy of the demo database."""
    if request.param == "sqlite":
        _copy_sqlite(request.getfixturevalue("demo_sqlite"), tmp_path / "leadline.db")
        yield "sqlite", f"sqlite:///{tmp_path / 'leadline.db'}"
        return
    template: str = request.getfixturevalue("demo_postgres")
    name = f"{template}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield "postgresql", make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# --- running the commands ----------------------------------------------------------------------


def _check(done: subprocess.CompletedProcess[str], args: list[str], code: int) -> None:
    said = done.stdout + done.stderr
    assert "unexpected" not in said and "Traceback" not in said, f"{args}: {said[-2000:]}"
    assert done.returncode == code, f"{args} exited {done.returncode} (wanted {code}): {said[-2000:]}"
    if code:
        errors = [line for line in done.stderr.splitlines() if line.strip()]
        assert len(errors) == 1 and errors[0].startswith("error:"), f"{args}: {done.stderr}"


def _until_stopped(args: list[str], env: dict[str, str], cwd: Path, ready: Callable[[], bool]) -> None:
    """A long-running command: started, ready within 60 s, stopped with SIGTERM, exits cleanly."""
    log = cwd / f"{args[0]}.log"
    with log.open("wb") as out:
        process = subprocess.Popen([EXE, *args], env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        try:
            assert wait_for(lambda: process.poll() is None and ready(), timeout=60), log.read_text()[-2000:]
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=30)
    said = log.read_text()
    assert code in STOPPED and "Traceback" not in said, said[-2000:]


def _events(path: Path, email_id: str) -> None:
    import json

    path.write_text(json.dumps([{
        "email": "someone@example.com", "event": "open", "timestamp": int(time.time()) - 60,
        "sg_event_id": f"process-test-{uuid.uuid4().hex}", "leadline_email_id": email_id,
    }]))  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("group", list(GROUPS))
def test_each_command_in_a_fresh_process(group: str, demo: tuple[str, str], tmp_path: Path) -> None:
    kind, url = demo
    data = tmp_path / "data"
    data.mkdir()
    env = _demo_env(url, data)
    server: subprocess.Popen[bytes] | None = None
    port = free_port()
    try:
        for step in GROUPS[group]:
            if kind == "postgresql" and not step.postgresql:
                continue
            fill = {"tmp": str(tmp_path), "server": f"http://127.0.0.1:{port}"}
            for key, sql in IDS.items():
                if any("{" + key + "}" in a for a in step.args):
                    fill[key] = _query(url, sql)
            args = [a.format(**fill) for a in step.args]
            if args[0] == "webhooks" and args[1] == "import":
                _events(Path(args[2]), _query(url, IDS["email"]))
            if args[:2] == ["webhooks", "simulate"] and server is None:
                server = subprocess.Popen([EXE, "serve", "--port", str(port)], env=env, cwd=tmp_path,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
                assert wait_for(lambda: _healthy(port), timeout=60)
            if args == ["worker"]:
                _until_stopped(args, env, tmp_path, lambda: True)
                continue
            _check(run_leadline(*args, env=env, cwd=tmp_path), args, step.code)
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            assert server.wait(timeout=30) in STOPPED


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.slow
def test_restore_in_a_fresh_process(demo_sqlite: Path, tmp_path: Path) -> None:
    _copy_sqlite(demo_sqlite, tmp_path / "leadline.db")
    env = _demo_env(f"sqlite:///{tmp_path / 'leadline.db'}", tmp_path)
    _check(run_leadline("backup", str(tmp_path / "b.db"), env=env, cwd=tmp_path), ["backup"], 0)
    _check(run_leadline("restore", str(tmp_path / "b.db"), "--yes", env=env, cwd=tmp_path), ["restore"], 0)
    _check(run_leadline("prospects", "show", "royal_plumbing_co", env=env, cwd=tmp_path), ["show"], 0)


@pytest.mark.parametrize("fast", ["1", "0"], ids=["fast-path", "typer"])
def test_output_read_only_in_part_ends_quietly(demo: tuple[str, str], fast: str, tmp_path: Path) -> None:
    """``leadline prospects list --json | head``: the reader stops after a few bytes, and Leadline stops
    too, exit 1, without a traceback or an "unexpected BrokenPipeError" (the demo's list is over 64 KB,
    more than the pipe holds, so the write after the close fails)."""
    _, url = demo  # on PostgreSQL both go through Typer: the quick path is SQLite's
    env = {**_demo_env(url, tmp_path), "LEADLINE_FAST_CLI": fast}
    process = subprocess.Popen([EXE, "prospects", "list", "--json", "--limit", "1000"], env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.read(100).startswith(b"[")
    process.stdout.close()
    said = process.stderr.read().decode()
    assert process.wait(timeout=120) == 1, said
    assert said == "", said
