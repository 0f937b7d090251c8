"""The whole dashboard at 1,000,000 prospects and 3,000,000 emails, against hand-written SQL.

A generator writes a year of outbound sales into a fresh migrated SQLite database with bare
``sqlite3`` (1,000 rows a statement): prospects (tiers, trades, grid health, stages, deal values), emails
sent on working days over 52 weeks (delivered, bounced, failed, opened, machine-only opens,
clicks, replies; realistic text and HTML bodies), calls with objections, customers, and the
stage-change timeline the funnel reads; then the maintained totals of those rows, by the same
code as ``leadline analytics recount`` (``analytics.totals.recount``). The same rows are then
copied into PostgreSQL, and its totals counted there the same way.

Then, on each database, in the same run: ``analytics.service.dashboard.dashboard(...)`` for last week
(the whole dashboard: totals, outreach, engagement, calls, funnel, prospect cards, key
metrics) against the same figures computed by hand-written SQL through the bare driver
(``sqlite3`` / ``psycopg``); median of several warm runs each, plus the first (cold) run. Leadline's
runs come after ``--warm`` more dashboards (12), each for a week made anew as a request does: a server
that has answered a few requests (on PostgreSQL psycopg prepares a statement run five times).
The figures of both are compared, so the floor is known to compute the same thing. The
weekly report: the median of three runs.
Goals (issue 21): the dashboard under 20 ms and the weekly report under 300 ms at a million
prospects, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/dashboard.py [--prospects 1000000] [--emails 3000000]
        [--runs 7] [--warm 12] [--reuse] [--postgres URL | --no-postgres] [--pg-prospects N --pg-emails N]

``--reuse`` keeps the generated database of an earlier run (benchmarks/_work/dashboard/).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import sqlite3
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from _common import WORK, fresh_sqlite, insert_rows, machine

ZONE = ZoneInfo("America/Chicago")
TRADES = ["plumbing", "hvac", "electrical", "roofing", "landscaping", "pest control", "painting", "garage doors",
          "tree service", "water damage"]  # fmt: skip
CITIES = ["Austin", "Denver", "Phoenix", "Charlotte", "Nashville", "Tampa", "Boise", "Omaha", "Tulsa", "Reno"]
#: Where a million prospects stand after a year (share of prospects).
STAGE_SHARES = [("new", 0.12), ("contacted", 0.80), ("replied", 0.03), ("scheduled", 0.012), ("interested", 0.008),
                ("proposal", 0.005), ("closed_won", 0.005), ("closed_lost", 0.02)]  # fmt: skip
RANK = {"new": 0, "contacted": 1, "replied": 2, "scheduled": 3, "interested": 4, "proposal": 5, "closed_won": 6}
PATH = ["new", "contacted", "replied", "scheduled", "interested", "proposal", "closed_won"]
TEMPLATES = ["pain_point", "follow_up_1", "follow_up_2", "solution", "competitor_threat", "proposal"]
CATEGORIES = ["price", "timeline", "proof", "trust", "has_provider", "no_time", "needs_to_think", "other"]
#: The sending mailboxes the emails go out from, in turn (the deliverability block's senders).
SENDERS = [("snd_0001", "sales@crm.example.com"), ("snd_0002", "hello@crm.example.com"),
           ("snd_0003", "team@outreach.example.com"), ("snd_0004", "pat@outreach.example.com")]  # fmt: skip
BIG_TABLES = ("prospects", "email_activities", "call_activities", "customers", "outreach_activities")

TEXT_BODY = (
    "Hi {first},\n\nI looked at how {name} shows up when people in {city} search for {trade} help.\n"
    'On our local-visibility check ("grid health") you scored {grid}/100, while {rival} scores {rival_grid}.\n\n'
    "The biggest gaps I found:\n  - Missing service-area pages\n  - No HTTPS on the website\n"
    "  - No Google Business Profile posts in 90 days\n\nFor {name}, that gap is worth roughly $1,500 a week in "
    "calls that go to someone else.\n\nMost of it is fixable in a few weeks. Would a 15-minute call this week be "
    "worth it? I can walk you through the full report.\n\nLeadline\n\n--\nLeadline\nNot interested? Unsubscribe "
    "with one click: https://crm.example.com/unsubscribe/{token}\n"
)


def sqlite_time(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", timespec="microseconds")


def week_monday(now: datetime) -> datetime:
    local = now.astimezone(ZONE)
    monday = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return monday.replace(tzinfo=None).replace(tzinfo=ZONE)  # re-resolve the offset for that day


# --- the generator -------------------------------------------------------------------------------


def generate(path: str, prospects: int, emails: int, now: datetime) -> dict[str, int]:
    """Write the data set into the migrated SQLite file at ``path``; returns row counts."""
    rng = random.Random(20251117)
    this_monday = week_monday(now)
    first_monday = this_monday - timedelta(weeks=52)
    span_days = 52 * 7

    def work_moment(day_offset: int) -> datetime:
        """A working-hours moment (local) ``day_offset`` days after the first Monday, moved to a weekday."""
        day = first_monday + timedelta(days=day_offset)
        while day.weekday() >= 5:
            day += timedelta(days=1)
        local = datetime(day.year, day.month, day.day, 8, tzinfo=ZONE) + timedelta(seconds=rng.randrange(9 * 3600))
        return local.astimezone(UTC)

    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode = MEMORY")
    connection.execute("PRAGMA synchronous = OFF")
    connection.execute("PRAGMA cache_size = -1000000")
    indexes = connection.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN "
        f"({', '.join('?' * len(BIG_TABLES))})",
        BIG_TABLES,
    ).fetchall()
    for name, _ in indexes:  # bulk load first, index after: same schema, much faster
        connection.execute(f'DROP INDEX "{name}"')
    connection.execute("BEGIN")

    # Prospects: their stage, and how many emails each got (about emails / contacted on average).
    stages = rng.choices([s for s, _ in STAGE_SHARES], weights=[w for _, w in STAGE_SHARES], k=prospects)
    contacted = [i for i, s in enumerate(stages) if s != "new"]
    mean = emails / max(1, len(contacted))
    counts = {i: max(1, min(8, round(rng.gauss(mean, 1.2)))) for i in contacted}
    total = sum(counts.values())
    order = contacted[:]
    rng.shuffle(order)
    step = 0
    while total != emails and order:
        i = order[step % len(order)]
        if total < emails and counts[i] < 8:
            counts[i] += 1
            total += 1
        elif total > emails and counts[i] > 1:
            counts[i] -= 1
            total -= 1
        step += 1
    lost_reach = {i: rng.choice([1, 1, 2, 3, 3, 4, 5]) for i, s in enumerate(stages) if s == "closed_lost"}

    prospect_rows = []
    created = sqlite_time(first_monday - timedelta(days=7))
    for i, stage in enumerate(stages):
        trade = TRADES[i % len(TRADES)]
        grid = round(rng.uniform(10, 95), 1)
        tier = 1 if rng.random() < 0.075 else (2 if rng.random() < 0.32 else 3)
        prospect_rows.append((
            f"p{i:07d}", f"{CITIES[i % len(CITIES)]} {trade.title()} {i}", trade, f"Owner {i}",
            f"owner{i}@business{i}.com", f"(512) 555-{i % 10000:04d}", f"https://business{i}.example",
            CITIES[i % len(CITIES)], tier, grid, rng.randint(0, 6), '["No online booking", "Few reviews"]',
            f"Rival {i}", min(99.0, grid + 20), "active", stage, counts.get(i, 0),
            round(rng.uniform(500, 3000), -2) if rng.random() < 0.7 else None, created, created,
        ))  # fmt: skip
    insert_rows(
        connection,
        "INSERT INTO prospects (id, name, trade, contact_name, email, phone, website, city, tier, grid_health, "
        "critical_gaps, gaps, top_competitor, competitor_health, status, sales_status, emails_sent_count, "
        "deal_value, created_at, updated_at, emails_opened_count, calls_scheduled_count, calls_completed_count, "
        "do_not_contact) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, 0)",
        prospect_rows,
    )
    del prospect_rows

    insert_rows(
        connection,
        "INSERT INTO senders (id, email, name, daily_cap, warmup_step, min_gap_seconds, status, created_at, "
        "updated_at) VALUES (?, ?, ?, 1000000, 0, 0, 'active', ?, ?)",
        [(sid, address, address, created, created) for sid, address in SENDERS],
    )

    # Emails: each contacted prospect's sequence, a few days apart; replies from those who replied;
    # from the senders in turn, some unsubscribed from or reported as spam a few days later.
    email_rows: list[tuple[Any, ...]] = []
    opened_by: dict[int, int] = {}
    replied_at: dict[int, datetime] = {}
    html = "<div>" + TEXT_BODY.replace("\n", "<br>") + "</div>"
    for i in contacted:
        reached = lost_reach.get(i, RANK.get(stages[i], 1))
        n = counts[i]
        start = rng.randrange(span_days - 3 * n)
        moments = [work_moment(start + k * rng.randint(3, 7)) for k in range(n)]
        replier = n - 1 if reached >= 2 else -1
        trade, city = TRADES[i % len(TRADES)], CITIES[i % len(CITIES)]
        name = f"{city} {trade.title()} {i}"
        for k, sent in enumerate(moments):
            status, delivered, bounced, failed, opened, opens, machine_opens, clicked, clicks, replied = (
                "delivered", sent + timedelta(seconds=20), None, None, None, 0, 0, None, 0, None,
            )  # fmt: skip
            roll = rng.random()
            if roll < 0.02 and k != replier:
                status, delivered, bounced = "bounced", None, sent + timedelta(seconds=15)
            elif roll < 0.025 and k != replier:
                status, delivered, failed = "failed", None, sent + timedelta(seconds=2)
            elif rng.random() < 0.35 or k == replier:
                opened = sent + timedelta(minutes=rng.randint(5, 3000))
                if rng.random() < 0.2 and k != replier:
                    opens = machine_opens = 1
                else:
                    opens, machine_opens = rng.choice([1, 1, 2, 3]), 0
                status = "opened"
                if rng.random() < 0.1:
                    clicked, clicks, status = opened + timedelta(minutes=2), rng.randint(1, 2), "clicked"
            if k == replier:
                replied = (opened or sent) + timedelta(minutes=rng.randint(20, 4000))
                status = "replied"
                replied_at[i] = replied
            if opened is not None:
                opened_by[i] = opened_by.get(i, 0) + 1
            later = sent + timedelta(hours=rng.randint(1, 120))
            unsubscribed = later if rng.random() < 0.005 else None
            spam = later if rng.random() < 0.001 else None
            sender_id = SENDERS[(i + k) % len(SENDERS)][0]
            text = TEXT_BODY.format(first="Pat", name=name, city=city, trade=trade, grid=50, rival=f"Rival {i}",
                                    rival_grid=70, token=f"t{i}x{k}")  # fmt: skip
            email_rows.append((
                sent, f"p{i:07d}", f"sg{i}x{k}", TEMPLATES[min(k, len(TEMPLATES) - 1)], f"{name}: your opportunity",
                f"owner{i}@business{i}.com", text, html, status, sent, delivered, opened, opens, machine_opens,
                clicked, clicks, replied, "Interested, call me" if replied else None, bounced,
                "550 5.1.1 no such user" if bounced else None,
                ("blocked" if roll < 0.002 else "bounce") if bounced else None, failed, sender_id, unsubscribed,
                spam,
            ))  # fmt: skip
    email_rows.sort(key=lambda row: row[0])  # inserted in the order they were sent, as in real life
    times = (9, 10, 11, 14, 16, 18, 21, 23, 24)  # positions of times in a row
    batch: list[tuple[Any, ...]] = []

    def flush() -> None:
        insert_rows(
            connection,
            "INSERT INTO email_activities (id, prospect_id, sendgrid_id, email_type, template, subject, to_email, "
            "from_email, body_text, body_html, backend, status, sent_at, delivered_at, opened_at, open_count, "
            "machine_open_count, clicked_at, click_count, replied_at, reply_text, bounced_at, bounce_reason, "
            "bounce_type, failed_at, sender_id, unsubscribed_at, spam_reported_at, created_at, updated_at, "
            "message_id) VALUES (?, ?, ?, ?, ?, ?, ?, 'sales@crm.example.com', ?, ?, 'sendgrid', ?, ?, ?, ?, ?, ?, "
            "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            batch,
        )
        batch.clear()

    for n, row in enumerate(email_rows):
        values = list(row[1:])
        for position in times:
            if values[position - 1] is not None:
                values[position - 1] = sqlite_time(values[position - 1])
        stamp = sqlite_time(row[0])
        batch.append((f"email_{n:09d}", values[0], values[1], values[2], values[2], *values[3:], stamp, stamp,
                      f"<email_{n:09d}@crm.example.com>"))  # fmt: skip
        if len(batch) >= 20_000:
            flush()
    flush()
    email_count = len(email_rows)
    del email_rows

    # Calls, objections, customers and the stage-change timeline.
    call_rows, customer_rows, stage_rows = [], [], []
    for i in contacted:
        pid = f"p{i:07d}"
        reached = lost_reach.get(i, RANK.get(stages[i], 1))
        base = replied_at.get(i) or work_moment(rng.randrange(span_days))
        at = base
        for before, after in itertools.pairwise(PATH[: reached + 1]):
            at = at + timedelta(hours=rng.randint(1, 30))
            stage_rows.append((f"act_s{len(stage_rows):09d}", pid, after,
                               json.dumps({"from": before, "to": after, "manual": False}), sqlite_time(at)))  # fmt: skip
        if stages[i] == "closed_lost":
            at = at + timedelta(days=2)
            stage_rows.append((f"act_s{len(stage_rows):09d}", pid, "closed_lost",
                               json.dumps({"from": PATH[reached], "to": "closed_lost", "manual": True}),
                               sqlite_time(at)))  # fmt: skip
        if reached >= 3:
            booked = base + timedelta(hours=rng.randint(2, 48))
            when = booked + timedelta(days=rng.randint(1, 5))
            held = reached >= 4 or (stages[i] == "closed_lost" and rng.random() < 0.5)
            status = "completed" if held else rng.choice(["scheduled", "scheduled", "no_show", "cancelled"])
            cats = rng.sample(CATEGORIES, rng.randint(0, 3)) if held else []
            outcome = {"interested": "interested", "proposal": "proposal_sent", "closed_won": "closed_won",
                       "closed_lost": "not_interested"}.get(stages[i], "interested") if held else "pending"  # fmt: skip
            call_rows.append((
                f"call_{len(call_rows):09d}", pid, sqlite_time(when),
                sqlite_time(when + timedelta(minutes=25)) if held else None, rng.randint(600, 2400) if held else None,
                json.dumps([f"They said: {c}" for c in cats]), json.dumps(cats), outcome, status,
                sqlite_time(booked), sqlite_time(booked),
            ))  # fmt: skip
        if stages[i] == "closed_won":
            signed = sqlite_time(base + timedelta(days=rng.randint(7, 20)))
            customer_rows.append((f"cus_{i:09d}", pid, f"Customer {i}", "grid_health_analysis",
                                  round(rng.uniform(900, 3000), -2), signed, signed,
                                  rng.choice(["active"] * 8 + ["paused", "churned"]), signed, signed))  # fmt: skip
    call_rows.sort(key=lambda row: row[9])  # both in the order they happened, as in real life
    stage_rows.sort(key=lambda row: row[4])
    insert_rows(
        connection,
        "INSERT INTO call_activities (id, prospect_id, scheduled_at, completed_at, duration, objections, "
        "objection_categories, outcome, status, created_at, updated_at, ics_sequence) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
        call_rows,
    )
    insert_rows(
        connection,
        "INSERT INTO customers (id, prospect_id, company_name, service_type, monthly_fee, start_date, signed_at, "
        "status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        customer_rows,
    )
    insert_rows(
        connection,
        "INSERT INTO outreach_activities (id, prospect_id, type, status, details, actor, created_at, updated_at) "
        "VALUES (?, ?, 'stage_change', ?, ?, 'system', ?, ?)",
        ((r[0], r[1], r[2], r[3], r[4], r[4]) for r in stage_rows),
    )
    connection.executemany(
        "UPDATE prospects SET emails_opened_count = ? WHERE id = ?", ((n, f"p{i:07d}") for i, n in opened_by.items())
    )
    connection.execute("COMMIT")
    for _, sql in indexes:
        connection.execute(sql)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.close()
    return {"prospects": prospects, "emails": email_count, "calls": len(call_rows), "customers": len(customer_rows),
            "timeline": len(stage_rows)}  # fmt: skip


def fill_totals(url: str) -> float:
    """The maintained totals of the rows just loaded, by the same code as ``leadline analytics
    recount`` (and migration 0029); returns the seconds it took."""
    from sqlalchemy import create_engine

    from leadline.analytics import totals

    engine = create_engine(url)
    start = time.perf_counter()
    with engine.begin() as connection:
        totals.recount(connection, ZONE)
    engine.dispose()
    return time.perf_counter() - start


def copy_to_postgres(
    sqlite_path: str, url: str, prospects: int | None, *, name: str = "leadline_bench_dashboard",
    more: tuple[str, ...] = (), totals: bool = True,
) -> dict[str, int]:  # fmt: skip
    """The same rows into a fresh migrated PostgreSQL database ``name`` (COPY); optionally only the
    first ``prospects`` prospects and their records. ``more``: other tables of prospects' rows to copy
    (keyed by ``prospect_id``); ``totals``: count the maintained totals (the lists do not read them)."""
    import psycopg
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from leadline.config import Settings
    from leadline.db import dispose_engines
    from leadline.migrate import upgrade

    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    target = make_url(url).set(database=name).render_as_string(hide_password=False)
    upgrade(Settings(database_url=target))
    dispose_engines()
    source = sqlite3.connect(sqlite_path)
    limit = f"p{prospects:07d}" if prospects else None
    counts = {}
    dsn = make_url(target).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as pg:
        pg.execute("SET TimeZone = 'UTC'")
        indexes = pg.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY(%s)"
            " AND indexname NOT LIKE 'pk_%%' AND indexdef NOT LIKE '%%UNIQUE%%'",
            (list(BIG_TABLES),),
        ).fetchall()
        for index, _ in indexes:
            pg.execute(f'DROP INDEX "{index}"')
        for table in ("senders", "prospects", "email_activities", "call_activities", "customers",
                      "outreach_activities", *more):  # fmt: skip
            columns = [row[1] for row in source.execute(f"PRAGMA table_info({table})")]
            key = "id" if table == "prospects" else "prospect_id"
            cut = limit if table != "senders" else None
            where = f" WHERE {key} < ?" if cut else ""
            cursor = source.execute(f"SELECT {', '.join(columns)} FROM {table}{where}", (cut,) if cut else ())
            n = 0
            with pg.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in cursor:
                    copy.write_row(row)
                    n += 1
            counts[table] = n
        for _, definition in indexes:
            pg.execute(definition)
    if totals:
        counts["totals_seconds"] = round(fill_totals(target))
    with psycopg.connect(dsn, autocommit=True) as pg:
        pg.execute("VACUUM ANALYZE")  # the steady state autovacuum reaches
    return counts


def postgres_has(url: str, prospects: int) -> bool:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as c:
            return bool(c.execute(text("SELECT count(*) FROM prospects")).scalar() == prospects)
    except Exception:
        return False
    finally:
        engine.dispose()


# --- timing --------------------------------------------------------------------------------------


def first_call(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


#: The funnel's events (analytics.service.funnel): who did each before the week's end.
EVENTS = {
    "contacted": "SELECT prospect_id FROM email_activities WHERE sent_at < {end}",
    "replied": "SELECT prospect_id FROM email_activities WHERE replied_at < {end}",
    "scheduled": "SELECT prospect_id FROM call_activities WHERE created_at < {end}",
    "interested": "SELECT prospect_id FROM call_activities WHERE status = 'completed' AND completed_at < {end}",
    "proposal": "SELECT prospect_id FROM outreach_activities WHERE type = 'proposal' AND created_at < {end} UNION ALL "
                "SELECT prospect_id FROM call_activities WHERE outcome = 'proposal_sent' AND status = 'completed' "
                "AND completed_at < {end}",
    "closed_won": "SELECT prospect_id FROM customers WHERE signed_at < {end}",
}  # fmt: skip
FLOOR_SQL = {
    "prospects": "SELECT tier, count(*) FROM prospects WHERE created_at < {end} GROUP BY tier",
    **{f"did_{stage}": f"SELECT count(DISTINCT x.prospect_id) FROM ({sql}) AS x" for stage, sql in EVENTS.items()},
    "emails": """
        SELECT count(*), SUM(CASE WHEN delivered_at < {end} THEN 1 ELSE 0 END),
               SUM(CASE WHEN bounced_at < {end} THEN 1 ELSE 0 END),
               SUM(CASE WHEN status = 'failed' AND (failed_at IS NULL OR failed_at < {end}) THEN 1 ELSE 0 END),
               SUM(CASE WHEN opened_at < {end} THEN 1 ELSE 0 END),
               SUM(CASE WHEN opened_at < {end} AND (open_count > machine_open_count OR click_count > 0)
                   THEN 1 ELSE 0 END),
               SUM(CASE WHEN opened_at < {end} THEN machine_open_count ELSE 0 END),
               SUM(CASE WHEN click_count > 0 AND (clicked_at IS NULL OR clicked_at < {end}) THEN 1 ELSE 0 END),
               SUM(CASE WHEN replied_at < {end} THEN 1 ELSE 0 END)
        FROM email_activities WHERE sent_at >= {start} AND sent_at < {end}""",
    "converted": """
        SELECT count(*) FROM email_activities e WHERE e.sent_at >= {start} AND e.sent_at < {end}
          AND e.replied_at < {end} AND EXISTS (SELECT 1 FROM call_activities c WHERE c.prospect_id = e.prospect_id
          AND c.created_at >= e.sent_at AND c.created_at < {end} AND NOT (c.status = 'cancelled' AND c.updated_at < {end}))""",
    "calls_booked": """
        SELECT count(*),
               SUM(CASE WHEN NOT (status IN ('cancelled', 'no_show') AND updated_at < {end})
                         AND NOT (status = 'completed' AND completed_at < {end}) THEN 1 ELSE 0 END),
               SUM(CASE WHEN status = 'no_show' AND updated_at < {end} THEN 1 ELSE 0 END) FROM call_activities
        WHERE created_at >= {start} AND created_at < {end} AND NOT (status = 'cancelled' AND updated_at < {end})""",
    "calls_held": """
        SELECT SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END),
               SUM(CASE WHEN status = 'completed' THEN duration END),
               count(CASE WHEN status = 'completed' THEN duration END)
        FROM call_activities WHERE completed_at >= {start} AND completed_at < {end}""",
    "deals": "SELECT count(*), SUM(monthly_fee) FROM customers WHERE signed_at >= {start} AND signed_at < {end}",
    "first": "SELECT min(sent_at) FROM email_activities",
    "cards": """
        SELECT prospect_id, SUM(r), SUM(c), SUM(o)
        FROM (SELECT prospect_id, 1 AS r, 0 AS c, 0 AS o FROM email_activities
                WHERE replied_at >= {start} AND replied_at < {end}
              UNION ALL SELECT prospect_id, 0, 1, 0 FROM call_activities
                WHERE created_at >= {start} AND created_at < {end} AND status <> 'cancelled'
              UNION ALL SELECT prospect_id, 0, CASE WHEN status = 'completed' THEN 1 ELSE 0 END, 0 FROM call_activities
                WHERE completed_at >= {start} AND completed_at < {end}
              UNION ALL SELECT prospect_id, 0, 0, 1 FROM email_activities
                WHERE sent_at >= {start} AND sent_at < {end} AND opened_at IS NOT NULL) AS x
        GROUP BY prospect_id HAVING SUM(r) + SUM(c) + SUM(o) > 0
        ORDER BY SUM(r) DESC, SUM(c) DESC, SUM(o) DESC, prospect_id LIMIT 3""",
    "card_rows": "SELECT id, name, sales_status, emails_sent_count, emails_opened_count, last_contact_at, "
                 "next_follow_up_at, deal_value FROM prospects WHERE id IN ({ids})",
    "card_calls": "SELECT prospect_id, objection_categories FROM call_activities WHERE prospect_id IN ({ids}) "
                  "AND status = 'completed' ORDER BY completed_at",
}  # fmt: skip


def floor_figures(execute: Callable[[str, tuple[Any, ...]], list[tuple[Any, ...]]], dialect: str, start: Any,
                  end: Any) -> dict[str, Any]:  # fmt: skip
    """The dashboard's figures, by hand: the queries above through the bare driver, and the
    little arithmetic on top (the same counts, not the formatting)."""
    mark = "?" if dialect == "sqlite" else "%s"

    def run(name: str, ids: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        sql = FLOOR_SQL[name]
        params: list[Any] = []
        for token in re.findall(r"\{(start|end|ids)\}", sql):
            params.extend(ids if token == "ids" else [start if token == "start" else end])
        sql = sql.replace("{start}", mark).replace("{end}", mark).replace("{ids}", ", ".join([mark] * len(ids)))
        return execute(sql, tuple(params))

    tiers = [0, 0, 0, 0]
    for tier, n in run("prospects"):
        tiers[tier] += n
    total = sum(tiers)
    did = [run(f"did_{stage}")[0][0] for stage in EVENTS]
    sent, delivered, bounced, failed, opened, human, machine, clicked, replied = run("emails")[0]
    converted = run("converted")[0][0]
    booked, pending, no_show = run("calls_booked")[0]
    held, seconds, timed = run("calls_held")[0]
    held = held or 0
    won, _ = run("deals")[0]
    run("first")
    cards = run("cards")
    ids = tuple(row[0] for row in cards)
    if ids:
        run("card_rows", ids)
        run("card_calls", ids)
    return {
        "total": total, "tiers": tiers[1:], "funnel": [total - did[0], *did],
        "emails": [sent, delivered or 0, bounced or 0, failed or 0, opened or 0, human or 0, machine or 0,
                   clicked or 0, replied or 0],
        "converted": converted, "calls": [booked, pending or 0, no_show or 0, held],
        "seconds": float(seconds or 0) / timed if timed else None, "won": won, "cards": list(ids),
    }  # fmt: skip


def leadline_figures(board: Any) -> dict[str, Any]:
    out, eng, calls = board.outreach, board.engagement, board.calls
    return {
        "total": board.prospects.total, "tiers": [board.prospects.tier1, board.prospects.tier2, board.prospects.tier3],
        "funnel": [s.count for s in board.pipeline],
        "emails": [out.sent, out.delivered.count, out.bounced.count, out.failed.count, eng.opened.count,
                   eng.human_opened.count, eng.machine_opens, eng.clicked.count, eng.replied.count],
        "converted": int(next(m for m in board.key_metrics if m.key == "call_conversion").count),
        "calls": [calls.scheduled, calls.pending, calls.no_show, calls.completed],
        "seconds": calls.average_duration_seconds, "won": board.deals_won, "cards": [c.id for c in board.cards],
    }  # fmt: skip


def measure(url: str, runs: int, label: str, warm: int = 0) -> dict[str, Any]:
    """Time Leadline's dashboard and the hand-written floor on the database at ``url``."""
    os.environ["LEADLINE_DATABASE_URL"] = url
    os.environ["LEADLINE_TIMEZONE"] = "America/Chicago"
    from leadline.analytics.service import common, report, what_works
    from leadline.analytics.service import dashboard as figures
    from leadline.analytics.weeks import weeks_before
    from leadline.config import get_settings
    from leadline.db import dispose_engines, unit_of_work

    get_settings.cache_clear()
    dispose_engines()
    settings = get_settings()
    week = common.resolve_week("last", settings)

    # Before 2026-12-07 a report's unit asked for its snapshot itself; a read-only unit now is one.
    snapshot = getattr(common, "snapshot", lambda session: None)

    def leadline() -> Any:
        asked = common.resolve_week("last", settings)  # as a request does: the week made anew
        with unit_of_work(settings, readonly=True) as session:
            snapshot(session)
            return figures.dashboard(session, asked, settings=settings)

    if url.startswith("sqlite"):
        connection = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
        connection.execute("PRAGMA cache_size = -32000")  # the same cache Leadline's engine asks for
        bounds = (sqlite_time(week.start), sqlite_time(week.end))

        def floor() -> dict[str, Any]:
            connection.execute("BEGIN")
            try:
                return floor_figures(lambda sql, p: connection.execute(sql, p).fetchall(), "sqlite", *bounds)
            finally:
                connection.execute("COMMIT")
    else:
        import psycopg
        from sqlalchemy.engine import make_url

        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        pg = psycopg.connect(dsn, autocommit=True)
        pg.execute("SET jit = off")  # as Leadline does: JIT costs more than it saves here
        pg.autocommit = False
        pg.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ  # sent with BEGIN, as Leadline's reads

        def floor() -> dict[str, Any]:
            with pg.transaction():
                return floor_figures(lambda sql, p: pg.execute(sql, p).fetchall(), "postgresql", week.start, week.end)

    # Interleave: warm both, then alternate so neither gets a warmer cache.
    first_floor = first_call(floor)
    first_leadline = first_call(leadline)
    for _ in range(warm):  # a server that has answered a few requests (PostgreSQL: statements prepared)
        leadline()
    floor_times, leadline_times = [], []
    expected = got = None
    for _ in range(runs):
        start = time.perf_counter()
        expected = floor()
        floor_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        board = leadline()
        leadline_times.append(time.perf_counter() - start)
        got = leadline_figures(board)
    if got != expected:
        sys.exit(f"{label}: Leadline and the hand-written SQL disagree:\n  leadline {got}\n  floor    {expected}")
    tracemalloc.start()
    leadline()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    def once(work: Callable[[Any], Any]) -> float:
        with unit_of_work(settings, readonly=True) as session:
            snapshot(session)
            start = time.perf_counter()
            work(session)
            return time.perf_counter() - start

    quarter = common.resolve_week("last", settings)
    since = weeks_before(quarter, report.REPORT_WEEKS - 1).start
    reports = [once(lambda session: report.weekly_report(session, week, settings=settings)) for _ in range(3)]
    from leadline.senders import health

    def median_of(work: Callable[[Any], Any], n: int = 5) -> float:
        return statistics.median(once(work) for _ in range(n))

    others = {
        "dashboard part: deliverability (senders.health.report as of the week's end, median of 5)": median_of(
            lambda session: health.report(session, now=week.end)
        ),
        "dashboard part: prospect cards (3, median of 5)": median_of(
            lambda session: figures.prospect_cards(session, week, 3, settings)
        ),
        "weekly report (all of it, median of 3)": statistics.median(reports),
        "templates, 13 weeks": once(
            lambda session: what_works.template_performance(session, since=since, until=week.end)
        ),
        "templates, all time": once(lambda session: what_works.template_performance(session)),
        "objections": once(lambda session: what_works.objection_table(session, settings=settings)),
        "conversion, as of the week's end (the report's)": once(
            lambda session: what_works.conversion(session, until=week.end)
        ),
        "conversion, now": once(what_works.conversion),
        "timing, 13 weeks": once(
            lambda session: what_works.timing(session, settings=settings, since=since, until=week.end)
        ),
        "timing, all time": once(lambda session: what_works.timing(session, settings=settings)),
        "forecast": once(lambda session: what_works.forecast(session, settings=settings)),
    }
    dispose_engines()
    floor_median, leadline_median = statistics.median(floor_times), statistics.median(leadline_times)
    return {
        "label": label, "week": week.label, "floor": floor_median, "leadline": leadline_median,
        "ratio": leadline_median / floor_median, "first_floor": first_floor, "first_leadline": first_leadline,
        "peak": peak, "figures": got, "others": others,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prospects", type=int, default=1_000_000)
    parser.add_argument("--emails", type=int, default=3_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--warm", type=int, default=12, help="Dashboards asked for before the timed runs.")
    parser.add_argument("--reuse", action="store_true", help="Keep the database generated by an earlier run.")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--pg-prospects", type=int, default=None, help="Copy only this many prospects to PostgreSQL.")
    args = parser.parse_args()

    print(machine())
    folder = WORK / "dashboard"
    path = folder / "leadline.db"
    stamp = folder / "generated.json"
    if args.reuse and stamp.is_file() and path.is_file():
        counts = json.loads(stamp.read_text())
        print(f"reusing {path}: {counts}")
    else:
        path_text, _ = fresh_sqlite("dashboard")
        start = time.perf_counter()
        counts = generate(path_text, args.prospects, args.emails, datetime.now(UTC))
        counts["totals_seconds"] = round(fill_totals(f"sqlite:///{path_text}"))
        print(f"generated {counts} in {time.perf_counter() - start:.1f} s "
              f"({Path(path_text).stat().st_size / 1e9:.2f} GB)")  # fmt: skip
        stamp.write_text(json.dumps(counts))
    results = [measure(f"sqlite:///{path}", args.runs, "SQLite", args.warm)]
    if not args.no_postgres:
        from sqlalchemy.engine import make_url

        url = make_url(args.postgres).set(database="leadline_bench_dashboard").render_as_string(hide_password=False)
        if args.reuse and postgres_has(url, args.pg_prospects or counts["prospects"]):
            print("reusing the PostgreSQL copy")
        else:
            start = time.perf_counter()
            copied = copy_to_postgres(str(path), args.postgres, args.pg_prospects)
            print(f"copied to PostgreSQL in {time.perf_counter() - start:.1f} s: {copied}")
        results.append(measure(url, args.runs, "PostgreSQL", args.warm))
    print()
    print(
        "| database | week | hand-written SQL | leadline | ratio | first run (floor / leadline) | peak Python memory |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['label']} | {r['week']} | {r['floor'] * 1000:.0f} ms | {r['leadline'] * 1000:.0f} ms | "
              f"{r['ratio']:.2f}x | {r['first_floor'] * 1000:.0f} / {r['first_leadline'] * 1000:.0f} ms | "
              f"{r['peak'] / 1024:.0f} KiB |")  # fmt: skip
    print()
    print("| Leadline, once | " + " | ".join(r["label"] for r in results) + " |")
    print("|---|" + "---|" * len(results))
    for name in results[0]["others"]:
        print(f"| {name} | " + " | ".join(f"{r['others'][name] * 1000:,.0f} ms" for r in results) + " |")
    print()
    for r in results:
        print(f"{r['label']} figures: {r['figures']}")


if __name__ == "__main__":
    main()
