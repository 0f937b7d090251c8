"""Soak: minutes of steady SendGrid webhook traffic, with the dashboard polled, on two set-ups.

(i) SQLite and one ``leadline serve`` (its embedded worker on: the one-machine set-up);
(ii) PostgreSQL and two ``leadline serve`` processes (embedded worker off: the team set-up).

Sender threads post signed batches (delivered, opens, clicks over a pool of sent emails,
with about 5% of the events sent again, as SendGrid's retries do) one after another, the
servers taken in turn; one more thread asks for ``GET /api/dashboard`` every second. Every
30 s it prints events/s, the latency of both endpoints, the machine's load average and the
servers' resident memory;
at the end the totals, whether memory stayed flat (mean RSS of the first third against the
last third), and a check that every distinct event was stored once.

The floor, measured in the same run on an identical database: the same inserts and updates
done with the bare driver (``webhook_ingest.floor_sqlite`` / ``floor_postgres``), one
transaction per batch, for as many batches as the floor can do in a tenth of the soak.

    .venv/bin/python benchmarks/soak.py [--seconds 180] [--setup sqlite|postgres|both]
        [--senders 2] [--batch 200] [--emails 100000]

PostgreSQL is the server of LEADLINE_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test);
its autovacuum, fsync and synchronous_commit settings are printed, since they change the figures.
The dashboard polled is the week of the seeded sends (2025-W47), so it has 100,000 emails to count.
/api/dashboard may need a token: LEADLINE_BENCH_TOKEN, else one made with
`leadline tokens create` when this Leadline has that command.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from _common import LEADLINE, fresh_sqlite, machine
from leadline.webhooks.signature import public_key_text
from leadline.webhooks.simulate import frame, signed_headers
from webhook_ingest import (
    SENT_AT,
    floor_postgres,
    floor_sqlite,
    free_port,
    fresh_postgres,
    load_postgres,
    load_sqlite,
)

WINDOW = 30.0
DUPLICATE_SHARE = 0.05
DASHBOARD_WEEK = {"week": "2025-W47"}  # the week of the seeded sends (SENT_AT) and of most events


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def load_average() -> float:
    """The machine's 1-minute load average: on a shared machine, other work changes every figure."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return float("nan")


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class EventSource:
    """Unique events over the email pool, and now and then one sent before (a retry)."""

    def __init__(self, emails: int, tag: str, seed: int) -> None:
        self.emails, self.tag = emails, tag
        self.rng = random.Random(seed)
        self.counter = itertools.count()
        self.recent: list[dict[str, Any]] = []
        self.ids: set[str] = set()
        self.lock = threading.Lock()

    def batch(self, size: int) -> list[dict[str, Any]]:
        with self.lock:
            events = []
            for _ in range(size):
                if self.recent and self.rng.random() < DUPLICATE_SHARE:
                    events.append(self.rng.choice(self.recent))
                    continue
                n = self.rng.randrange(self.emails)
                kind = self.rng.choices(["delivered", "open", "click"], [5, 4, 1])[0]
                at = SENT_AT + timedelta(seconds=self.rng.randint(5, 7 * 86400))
                event: dict[str, Any] = {
                    "email": f"owner{n}@benchshop{n}.com", "event": kind, "timestamp": int(at.timestamp()),
                    "sg_event_id": f"soak-{self.tag}-{next(self.counter)}",
                    "sg_message_id": f"BenchMsg{n:014d}.recvd-1-2-3.0", "category": ["pain_point"],
                    "leadline_email_id": f"email_BENCH{n:021d}",
                }  # fmt: skip
                if kind == "open":
                    event["sg_machine_open"] = self.rng.random() < 0.2
                if kind == "click":
                    event["url"] = "https://www.gridline.example/report"
                events.append(event)
                self.ids.add(event["sg_event_id"])
            self.recent = (self.recent + events)[-5000:]
            return events


@dataclass
class Sample:
    at: float
    events: int = 0
    webhook_ms: float | None = None
    dashboard_ms: float | None = None
    rss: list[float] = field(default_factory=list)


@dataclass
class Soak:
    name: str
    urls: list[str]
    pids: list[int]
    key: ec.EllipticCurvePrivateKey
    source: EventSource
    headers: dict[str, str]
    seconds: float
    senders: int
    batch: int
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)

    def sender(self, index: int, stop: threading.Event) -> None:
        turn = itertools.count(index)
        with httpx.Client(timeout=120) as client:
            while not stop.is_set():
                events = self.source.batch(self.batch)
                body = frame(events)
                url = self.urls[next(turn) % len(self.urls)]
                started = time.perf_counter()
                try:
                    response = client.post(
                        f"{url}/webhooks/sendgrid", content=body, headers=signed_headers(self.key, body)
                    )
                except httpx.HTTPError as error:
                    self.errors.append(f"webhook: {error}")
                    continue
                took = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    self.errors.append(f"webhook {response.status_code}: {response.text[:200]}")
                    continue
                self.record(Sample(time.monotonic(), events=len(events), webhook_ms=took))

    def poller(self, stop: threading.Event) -> None:
        turn = itertools.count()
        with httpx.Client(timeout=60, headers=self.headers) as client:
            while not stop.is_set():
                url = self.urls[next(turn) % len(self.urls)]
                started = time.perf_counter()
                try:
                    response = client.get(f"{url}/api/dashboard", params=DASHBOARD_WEEK)
                except httpx.HTTPError as error:
                    self.errors.append(f"dashboard: {error}")
                    continue
                took = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    self.errors.append(f"dashboard {response.status_code}: {response.text[:200]}")
                else:
                    self.record(Sample(time.monotonic(), dashboard_ms=took))
                stop.wait(max(0.0, 1.0 - took / 1000))

    def memory(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.record(Sample(time.monotonic(), rss=[rss_mb(pid) for pid in self.pids]))
            stop.wait(2.0)

    def run(self) -> dict[str, Any]:
        stop = threading.Event()
        threads = [threading.Thread(target=self.sender, args=(i, stop)) for i in range(self.senders)]
        threads += [
            threading.Thread(target=self.poller, args=(stop,)),
            threading.Thread(target=self.memory, args=(stop,)),
        ]
        start = time.monotonic()
        for thread in threads:
            thread.start()
        print(f"\n{self.name}: {self.senders} senders x {self.batch}-event batches, dashboard every 1 s, "
              f"{self.seconds:.0f} s")  # fmt: skip
        print(f"{'t (s)':>6} {'events/s':>9} {'webhook p50/p99 ms':>20} {'dashboard p50/p99 ms':>22} {'load':>5}  "
              "RSS MB per server")  # fmt: skip
        for number in itertools.count(1):
            begin, edge = start + (number - 1) * WINDOW, start + min(number * WINDOW, self.seconds)
            while time.monotonic() < edge:
                time.sleep(0.2)
            window = self.window(begin, edge)
            print(f"{edge - start:6.0f} {window['eps']:9,.0f} {window['webhook']:>20} {window['dashboard']:>22} "
                  f"{load_average():5.1f}  {window['rss']}")  # fmt: skip
            if edge - start >= self.seconds:
                break
        stop.set()
        for thread in threads:
            thread.join(150)
        return self.summary(start)

    def window(self, begin: float, end: float) -> dict[str, Any]:
        with self.lock:
            inside = [s for s in self.samples if begin <= s.at < end]
        hooks = [s.webhook_ms for s in inside if s.webhook_ms is not None]
        dash = [s.dashboard_ms for s in inside if s.dashboard_ms is not None]
        rss = [s.rss for s in inside if s.rss]
        last = rss[-1] if rss else []
        return {
            "eps": sum(s.events for s in inside) / (end - begin),
            "webhook": f"{percentile(hooks, 50):,.0f} / {percentile(hooks, 99):,.0f}",
            "dashboard": f"{percentile(dash, 50):,.0f} / {percentile(dash, 99):,.0f}",
            "rss": "  ".join(f"{v:6.1f}" for v in last),
        }

    def summary(self, start: float) -> dict[str, Any]:
        with self.lock:
            samples = list(self.samples)
        end = start + self.seconds
        hooks = [s.webhook_ms for s in samples if s.webhook_ms is not None and s.at < end]
        dash = [s.dashboard_ms for s in samples if s.dashboard_ms is not None and s.at < end]
        events = sum(s.events for s in samples if s.at < end)
        rss = [(s.at, s.rss) for s in samples if s.rss]
        third = self.seconds / 3
        first = [sum(r) for at, r in rss if at < start + third]
        last = [sum(r) for at, r in rss if at >= start + 2 * third]
        return {
            "events": events, "eps": events / self.seconds, "batches": len(hooks),
            "webhook_p50": percentile(hooks, 50), "webhook_p99": percentile(hooks, 99),
            "dashboard_p50": percentile(dash, 50), "dashboard_p99": percentile(dash, 99), "dashboards": len(dash),
            "rss_first": statistics.mean(first) if first else float("nan"),
            "rss_last": statistics.mean(last) if last else float("nan"),
            "errors": list(self.errors),
        }  # fmt: skip


def start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [LEADLINE, "serve", "--port", str(port)], env={**env, "LEADLINE_LOG_LEVEL": "warning"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    sys.exit(f"error: leadline serve on port {port} did not start")


def api_headers(env: dict[str, str]) -> dict[str, str]:
    """A bearer token for /api/ when this Leadline asks for one (LEADLINE_BENCH_TOKEN, or `leadline tokens`)."""
    token = os.environ.get("LEADLINE_BENCH_TOKEN")
    if not token:
        shown = subprocess.run([LEADLINE, "--help"], env=env, capture_output=True, text=True).stdout
        if " tokens " not in shown:
            return {}
        made = subprocess.run(
            [LEADLINE, "tokens", "create", "--name", "soak-benchmark", "--scope", "read"],
            env=env, capture_output=True, text=True,
        )  # fmt: skip
        tokens = [word for word in made.stdout.split() if word.startswith("ll_")]  # the printed secret
        if made.returncode != 0 or not tokens:
            sys.exit(f"error: could not make an API token: {made.stderr.strip() or made.stdout.strip()}")
        token = tokens[0]
    return {"Authorization": f"Bearer {token}"}


def floor_rate(floor: Any, target: str, source: EventSource, batch: int, budget: float) -> float:
    """Events/s of the bare-driver floor: batches until ``budget`` seconds are spent (at least 5)."""
    spent, events = 0.0, 0
    while spent < budget or events < 5 * batch:
        batches = [source.batch(batch) for _ in range(5)]
        spent += floor(target, batches)
        events += sum(len(b) for b in batches)
    return events / spent


def count_events(env: dict[str, str]) -> int:
    url = env["LEADLINE_DATABASE_URL"]
    if url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(url.split("///", 1)[1]) as conn:
            return int(conn.execute("SELECT count(*) FROM webhook_events").fetchone()[0])
    import psycopg

    with psycopg.connect(url) as conn:
        return int(conn.execute("SELECT count(*) FROM webhook_events").fetchone()[0])


def setup_sqlite(args: argparse.Namespace, key: ec.EllipticCurvePrivateKey) -> tuple[dict[str, Any], float]:
    floor_db, _ = fresh_sqlite("soak-floor")
    load_sqlite(floor_db, args.emails)
    floor = floor_rate(floor_sqlite, floor_db, EventSource(args.emails, "floor", 5), args.batch, args.seconds / 10)
    app_db, env = fresh_sqlite("soak-app")
    load_sqlite(app_db, args.emails)
    env = {**env, "LEADLINE_SENDGRID_WEBHOOK_PUBLIC_KEY": public_key_text(key)}
    return soak("SQLite, one leadline serve", env, 1, args, key), floor


def server_settings(url: str) -> str:
    """The PostgreSQL settings that change these figures (a test server often runs without autovacuum,
    and then the planner never learns the tables grew)."""
    import psycopg

    names = ("server_version", "autovacuum", "fsync", "synchronous_commit", "shared_buffers")
    with psycopg.connect(url) as conn:
        rows = dict(conn.execute("SELECT name, setting FROM pg_settings WHERE name = ANY(%s)", [list(names)]))
    shown = ", ".join(f"{name}={rows.get(name)}" for name in names)
    if rows.get("autovacuum") != "on":
        shown += "  (warning: autovacuum is off, so no statistics: not what a production server does)"
    return shown


def setup_postgres(args: argparse.Namespace, key: ec.EllipticCurvePrivateKey) -> tuple[dict[str, Any], float]:
    floor_url, _ = fresh_postgres("leadline_soak_floor")
    print(f"PostgreSQL: {server_settings(floor_url)}")
    load_postgres(floor_url, args.emails)
    floor = floor_rate(floor_postgres, floor_url, EventSource(args.emails, "floor", 5), args.batch, args.seconds / 10)
    url, env = fresh_postgres(
        "leadline_soak_app",
        {"LEADLINE_SENDGRID_WEBHOOK_PUBLIC_KEY": public_key_text(key), "LEADLINE_EMBEDDED_WORKER": "false"},
    )
    load_postgres(url, args.emails)
    return soak("PostgreSQL, two leadline serve", env, 2, args, key), floor


def soak(name: str, env: dict[str, str], servers: int, args: argparse.Namespace, key: Any) -> dict[str, Any]:
    ports = [free_port() for _ in range(servers)]
    processes = [start_server(env, port) for port in ports]
    try:
        source = EventSource(args.emails, name[:2].lower(), 11)
        run = Soak(name, [f"http://127.0.0.1:{p}" for p in ports], [p.pid for p in processes], key, source,
                   api_headers(env), args.seconds, args.senders, args.batch)  # fmt: skip
        idle = []
        with httpx.Client(timeout=60, headers=run.headers) as client:
            for _ in range(5):
                started = time.perf_counter()
                response = client.get(f"{run.urls[0]}/api/dashboard", params=DASHBOARD_WEEK)
                if response.status_code != 200:
                    sys.exit(f"error: GET /api/dashboard answered {response.status_code}: {response.text[:200]}")
                idle.append((time.perf_counter() - started) * 1000)
        result = run.run()
        result["dashboard_idle"] = statistics.median(idle)
        result["distinct"] = len(source.ids)
        result["stored"] = count_events(env)
        return result
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)


def report(name: str, result: dict[str, Any], floor: float) -> None:
    growth = (result["rss_last"] - result["rss_first"]) / result["rss_first"]
    flat = "flat" if abs(growth) < 0.10 else "NOT flat"
    print(f"\n{name}:")
    print(f"  floor (bare driver, same writes, one transaction per batch): {floor:,.0f} events/s")
    print(f"  leadline: {result['eps']:,.0f} events/s ({result['eps'] / floor:.0%} of the floor), "
          f"{result['events']:,} events in {result['batches']:,} batches")  # fmt: skip
    print(f"  webhook latency p50 {result['webhook_p50']:,.0f} ms, p99 {result['webhook_p99']:,.0f} ms")
    print(f"  dashboard p50 {result['dashboard_p50']:,.0f} ms, p99 {result['dashboard_p99']:,.0f} ms under load "
          f"({result['dashboards']} polls; {result['dashboard_idle']:,.0f} ms idle before)")  # fmt: skip
    print(f"  RSS of the servers: {result['rss_first']:,.1f} MB (first third) -> {result['rss_last']:,.1f} MB "
          f"(last third), {growth:+.1%}: {flat}")  # fmt: skip
    ok = "every distinct event stored once" if result["stored"] == result["distinct"] else "MISMATCH"
    print(f"  stored {result['stored']:,} events for {result['distinct']:,} distinct ids posted: {ok}")
    if result["errors"]:
        print(f"  {len(result['errors'])} errors, first: {result['errors'][0]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=180, help="how long each set-up is soaked (default 180)")
    parser.add_argument("--setup", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--senders", type=int, default=2, help="threads posting batches (default 2)")
    parser.add_argument("--batch", type=int, default=200, help="events per signed batch (default 200)")
    parser.add_argument("--emails", type=int, default=100_000, help="sent emails the events are about")
    args = parser.parse_args()
    if args.seconds < 3 * 2 or args.senders < 1 or args.batch < 1 or args.emails < 1:
        parser.error("--seconds must be at least 6; --senders, --batch and --emails at least 1")
    key = ec.generate_private_key(ec.SECP256R1())
    print(f"machine: {machine()}")
    results = []
    if args.setup in ("sqlite", "both"):
        results.append(("SQLite, one leadline serve", *setup_sqlite(args, key)))
    if args.setup in ("postgres", "both"):
        import psycopg

        try:
            results.append(("PostgreSQL, two leadline serve", *setup_postgres(args, key)))
        except psycopg.OperationalError as error:
            first = str(error).strip().splitlines()[0]
            sys.exit(f"error: PostgreSQL (LEADLINE_TEST_POSTGRES_URL) is not reachable: {first}")
    for name, result, floor in results:
        report(name, result, floor)


if __name__ == "__main__":
    main()
