"""Signed 1,000-event batches posted to a running `leadline serve`; events applied per second.

Leadline: a separate process posts SendGrid-shaped, signed batches to the server's
/webhooks/sendgrid, one after another; the figure is events stored *and applied*
(email state, timeline, counters) per second, end to end. Floor, in the same run: the
same inserts and updates done with the bare driver (sqlite3 / psycopg executemany), one
transaction per batch, on an identical database: store the raw events, update the
emails and their "sent" timeline entries' status, insert the timeline entries, update the
prospects' counters. Goal: at least 60% (issue 21; 25% before it).

    .venv/bin/python benchmarks/webhook_ingest.py [--batches 20] [--postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import sqlite3
import subprocess
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from _common import LEADLINE, WORK, fresh_sqlite, insert_rows, machine
from leadline.ids import new_id
from leadline.webhooks.signature import public_key_text
from leadline.webhooks.simulate import frame, signed_headers

BATCH = 1000
STATUS = {"delivered": "delivered", "open": "opened", "click": "clicked"}
SENT_AT = datetime(2025, 11, 17, 14, 30, tzinfo=UTC)


def sqlite_time(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", timespec="microseconds")


def seed_rows(count: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Prospects, their sent emails and each email's "sent" timeline entry (as sending makes it: the
    entry the email's status moves on, sent -> delivered -> opened)."""
    now = sqlite_time(SENT_AT)
    prospects, emails, entries = [], [], []
    for n in range(count):
        pid = f"bench_shop_{n}"
        prospects.append((pid, f"Bench Shop {n}", f"owner{n}@benchshop{n}.com", 1, now, now))
        emails.append((f"email_BENCH{n:021d}", pid, f"owner{n}@benchshop{n}.com", entry_id(n), now, now, now))
        entries.append((entry_id(n), pid, json.dumps({"emailId": f"email_BENCH{n:021d}", "template": "pain_point"})))
    return prospects, emails, entries


def entry_id(n: int) -> str:
    return f"act_BENCH{n:021d}"


def entry_of(event: dict[str, Any]) -> str:
    """The timeline entry of the event's email (``entry_id``)."""
    return "act_" + event["leadline_email_id"].removeprefix("email_")


def prospect_of(event: dict[str, Any]) -> str:
    return "bench_shop_" + event["email"][5:].split("@")[0]


def load_sqlite(path: str, count: int) -> None:
    prospects, emails, entries = seed_rows(count)
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("BEGIN")  # many rows a statement: the search index's trigger writes a segment at each
    insert_rows(
        connection,
        "INSERT INTO prospects (id, name, email, tier, gaps, status, sales_status, emails_sent_count, "
        "emails_opened_count, calls_scheduled_count, calls_completed_count, do_not_contact, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, '[]', 'active', 'contacted', 1, 0, 0, 0, 0, ?, ?)",
        prospects,
    )
    now = sqlite_time(SENT_AT)
    insert_rows(
        connection,
        "INSERT INTO outreach_activities (id, prospect_id, type, status, details, actor, created_at, updated_at) "
        f"VALUES (?, ?, 'email', 'sent', ?, 'cli', '{now}', '{now}')",
        entries,
    )
    insert_rows(
        connection,
        "INSERT INTO email_activities (id, prospect_id, email_type, template, subject, to_email, from_email, body_text, "
        "outreach_activity_id, status, open_count, machine_open_count, click_count, sent_at, created_at, updated_at) "
        "VALUES (?, ?, 'pain_point', 'pain_point', 'Hello', ?, 'dana@gridline.example', 'Hi', ?, 'sent', 0, 0, 0, ?, ?, "
        "?)",
        emails,
    )
    connection.execute("COMMIT")
    connection.close()


def make_batches(count: int, batches: int, rng: random.Random) -> list[list[dict[str, Any]]]:
    """Each batch touches 1,000 different emails: delivered, opens and a few clicks."""
    out = []
    for b in range(batches):
        events = []
        for n in rng.sample(range(count), BATCH):
            at = SENT_AT + timedelta(seconds=rng.randint(5, 86400))
            kind = rng.choices(["delivered", "open", "click"], [5, 4, 1])[0]
            event = {
                "email": f"owner{n}@benchshop{n}.com", "event": kind, "timestamp": int(at.timestamp()),
                "sg_event_id": f"bench-{b}-{n}", "sg_message_id": f"BenchMsg{n:014d}.recvd-1-2-3.0",
                "category": ["pain_point"], "leadline_email_id": f"email_BENCH{n:021d}",
            }  # fmt: skip
            if kind == "open":
                event["sg_machine_open"] = rng.random() < 0.2
            if kind == "click":
                event["url"] = "https://www.gridline.example/report"
            events.append(event)
        out.append(events)
    return out


def floor_sqlite(path: str, batches: list[list[dict[str, Any]]]) -> float:
    """The same writes, bare: raw events, email updates, timeline rows, prospect counters."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")
    start = time.perf_counter()
    for events in batches:
        now = sqlite_time(datetime.now(UTC))
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(
            "INSERT OR IGNORE INTO webhook_events (id, source, event_id, event_type, email, occurred_at, payload, "
            "email_activity_id, status, batch_id, received_at, applied_at) "
            "VALUES (?, 'sendgrid', ?, ?, ?, ?, ?, ?, 'applied', 'b', ?, ?)",
            [
                (
                    new_id("evt"),
                    e["sg_event_id"],
                    e["event"],
                    e["email"],
                    sqlite_time(datetime.fromtimestamp(e["timestamp"], UTC)),
                    json.dumps(e),
                    e["leadline_email_id"],
                    now,
                    now,
                )
                for e in events
            ],
        )
        connection.executemany(
            "UPDATE email_activities SET status = ?, delivered_at = COALESCE(delivered_at, ?), "
            "opened_at = COALESCE(opened_at, ?), open_count = open_count + ?, click_count = click_count + ? "
            "WHERE id = ?",
            [
                (
                    STATUS[e["event"]],
                    now,
                    now if e["event"] != "delivered" else None,
                    int(e["event"] == "open"),
                    int(e["event"] == "click"),
                    e["leadline_email_id"],
                )
                for e in events
            ],
        )
        connection.executemany(
            "INSERT INTO outreach_activities (id, prospect_id, type, status, details, actor, created_at, updated_at) "
            "VALUES (?, ?, 'email', ?, ?, 'webhook', ?, ?)",
            [
                (
                    new_id("act"),
                    prospect_of(e),
                    e["event"],
                    json.dumps({"emailId": e["leadline_email_id"], "event": e["event"]}),
                    now,
                    now,
                )
                for e in events
            ],
        )
        connection.executemany(
            "UPDATE outreach_activities SET status = ?, updated_at = ? WHERE id = ?",
            [(STATUS[e["event"]], now, entry_of(e)) for e in events],
        )
        connection.executemany(
            "UPDATE prospects SET emails_opened_count = 1 WHERE id = ?",
            [(prospect_of(e),) for e in events if e["event"] != "delivered"],
        )
        connection.execute("COMMIT")
    seconds = time.perf_counter() - start
    connection.close()
    return seconds


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_leadline(env: dict[str, str], batches: list[list[dict[str, Any]]], key: ec.EllipticCurvePrivateKey) -> float:
    port = free_port()
    server = subprocess.Popen(
        [LEADLINE, "serve", "--port", str(port)], env={**env, "LEADLINE_LOG_LEVEL": "warning"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        bodies = [frame(events) for events in batches]
        with httpx.Client(timeout=300) as client:
            start = time.perf_counter()
            for body in bodies:
                response = client.post(f"{url}/webhooks/sendgrid", content=body, headers=signed_headers(key, body))
                response.raise_for_status()
                assert response.json()["applied"] == BATCH, response.json()
            return time.perf_counter() - start
    finally:
        server.terminate()
        server.wait(timeout=30)


def load_postgres(url: str, count: int) -> None:
    """The same prospects and sent emails as ``load_sqlite``, into a migrated PostgreSQL database."""
    import psycopg

    prospects, emails, entries = seed_rows(count)
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO prospects (id, name, email, tier, gaps, status, sales_status, emails_sent_count, "
            "emails_opened_count, calls_scheduled_count, calls_completed_count, do_not_contact, created_at, "
            "updated_at) VALUES (%s, %s, %s, %s, '[]', 'active', 'contacted', 1, 0, 0, 0, false, %s, %s)",
            [(*p[:4], SENT_AT, SENT_AT) for p in prospects],
        )
        cur.executemany(
            "INSERT INTO outreach_activities (id, prospect_id, type, status, details, actor, created_at, updated_at) "
            "VALUES (%s, %s, 'email', 'sent', %s, 'cli', %s, %s)",
            [(*entry, SENT_AT, SENT_AT) for entry in entries],
        )
        cur.executemany(
            "INSERT INTO email_activities (id, prospect_id, email_type, template, subject, to_email, from_email, "
            "body_text, outreach_activity_id, status, open_count, machine_open_count, click_count, sent_at, "
            "created_at, updated_at) VALUES (%s, %s, 'pain_point', 'pain_point', 'Hello', %s, 'd@g.example', 'Hi', "
            "%s, 'sent', 0, 0, 0, %s, %s, %s)",
            [(*e[:4], SENT_AT, SENT_AT, SENT_AT) for e in emails],
        )


def floor_postgres(url: str, batches: list[list[dict[str, Any]]]) -> float:
    """The same writes as ``floor_sqlite`` with psycopg executemany, one transaction per batch."""
    import psycopg
    from psycopg.types.json import Jsonb

    with psycopg.connect(url) as conn:
        start = time.perf_counter()
        for events in batches:
            now = datetime.now(UTC)
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO webhook_events (id, source, event_id, event_type, email, occurred_at, payload, "
                    "email_activity_id, status, batch_id, received_at, applied_at) VALUES (%s, 'sendgrid', %s, "
                    "%s, %s, %s, %s, %s, 'applied', 'b', %s, %s) ON CONFLICT DO NOTHING",
                    [
                        (
                            new_id("evt"),
                            e["sg_event_id"],
                            e["event"],
                            e["email"],
                            datetime.fromtimestamp(e["timestamp"], UTC),
                            Jsonb(e),
                            e["leadline_email_id"],
                            now,
                            now,
                        )
                        for e in events
                    ],
                )
                cur.executemany(
                    "UPDATE email_activities SET status = %s, delivered_at = COALESCE(delivered_at, %s), "
                    "opened_at = COALESCE(opened_at, %s), open_count = open_count + %s, "
                    "click_count = click_count + %s WHERE id = %s",
                    [
                        (
                            STATUS[e["event"]],
                            now,
                            now if e["event"] != "delivered" else None,
                            int(e["event"] == "open"),
                            int(e["event"] == "click"),
                            e["leadline_email_id"],
                        )
                        for e in events
                    ],
                )
                cur.executemany(
                    "INSERT INTO outreach_activities (id, prospect_id, type, status, details, actor, created_at, "
                    "updated_at) VALUES (%s, %s, 'email', %s, %s, 'webhook', %s, %s)",
                    [
                        (
                            new_id("act"),
                            prospect_of(e),
                            e["event"],
                            Jsonb({"emailId": e["leadline_email_id"], "event": e["event"]}),
                            now,
                            now,
                        )
                        for e in events
                    ],
                )
                cur.executemany(
                    "UPDATE outreach_activities SET status = %s, updated_at = %s WHERE id = %s",
                    [(STATUS[e["event"]], now, entry_of(e)) for e in events],
                )
                cur.executemany(
                    "UPDATE prospects SET emails_opened_count = 1 WHERE id = %s",
                    [(prospect_of(e),) for e in events if e["event"] != "delivered"],
                )
        return time.perf_counter() - start


def fresh_postgres(name: str, env_extra: dict[str, str] | None = None) -> tuple[str, dict[str, str]]:
    """A new, migrated PostgreSQL database ``name``; returns (psycopg URL, env for leadline)."""
    import psycopg

    admin = os.environ.get("LEADLINE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test").replace(
        "+psycopg", ""
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = admin.rsplit("/", 1)[0] + f"/{name}"
    folder = WORK / name
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "LEADLINE_DATABASE_URL": url, "LEADLINE_DATA_DIR": str(folder), **(env_extra or {})}
    subprocess.run([LEADLINE, "init"], env=env, check=True, capture_output=True)
    return url, env


def postgres(batches: list[list[dict[str, Any]]], count: int, key: ec.EllipticCurvePrivateKey) -> tuple[float, float]:
    results = []
    for name in ("leadline_bench_floor", "leadline_bench_app"):
        url, env = fresh_postgres(name, {"LEADLINE_SENDGRID_WEBHOOK_PUBLIC_KEY": public_key_text(key)})
        load_postgres(url, count)
        if name.endswith("floor"):
            results.append(floor_postgres(url, batches))
        else:
            results.append(run_leadline(env, batches, key))
    return results[0], results[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--emails", type=int, default=20_000)
    parser.add_argument("--postgres", action="store_true", help="also measure on PostgreSQL")
    args = parser.parse_args()
    rng = random.Random(11)
    key = ec.generate_private_key(ec.SECP256R1())
    batches = make_batches(args.emails, args.batches, rng)
    events = args.batches * BATCH
    floor_db, _ = fresh_sqlite("webhook-floor")
    load_sqlite(floor_db, args.emails)
    floor = floor_sqlite(floor_db, batches)
    app_db, env = fresh_sqlite("webhook-app")
    load_sqlite(app_db, args.emails)
    env["LEADLINE_SENDGRID_WEBHOOK_PUBLIC_KEY"] = public_key_text(key)
    ours = run_leadline(env, batches, key)
    print(f"machine: {machine()}")
    print(f"{args.batches} signed batches of {BATCH} events over {args.emails:,} emails")
    print(f"SQLite floor (sqlite3 executemany, one transaction per batch): {events / floor:,.0f} events/s")
    print(f"SQLite leadline serve (HTTP, verify, store, apply):            {events / ours:,.0f} events/s "
          f"({floor / ours:.0%} of the floor; goal >= 60%)")  # fmt: skip
    if args.postgres:
        pg_floor, pg_ours = postgres(batches, args.emails, key)
        print(f"PostgreSQL floor (psycopg executemany):                        {events / pg_floor:,.0f} events/s")
        print(f"PostgreSQL leadline serve:                                     {events / pg_ours:,.0f} events/s "
              f"({pg_floor / pg_ours:.0%} of the floor; goal >= 60%)")  # fmt: skip


if __name__ == "__main__":
    main()
