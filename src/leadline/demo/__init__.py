"""``leadline demo``: a realistic data set made through Leadline's own code paths.

The demo is a list of steps played in order with the clock set to the moment each
step happens. Step one imports the research (340 prospects) through the importer;
later steps send the week's emails, play SendGrid's events through the signed
webhook, book and log calls and win a deal, each through the services a user's
command would call. The demo's week (the seed's Week 1) is last ISO week, so everything in it
is past: its dashboard prints the seed's block figure for figure and, read as of its end, never
changes. The rest of the story (follow-ups, another reply, a call, a proposal, a won deal)
happens this week, before the demo runs: see :mod:`leadline.demo.calls`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import func, select

from leadline import clock
from leadline.config import Settings, private_folder, write_private
from leadline.db import Base, import_all_models, unit_of_work
from leadline.demo.calls import this_week, week_one_calls


@dataclass
class DemoContext:
    settings: Settings
    monday: datetime  # 00:00 on the Monday of the demo's week, in the configured zone
    notes: list[str] = field(default_factory=list)
    started_at: datetime = field(default_factory=clock.utc_now)  # "now" when the demo began
    shared: dict[str, object] = field(default_factory=dict)

    def at(self, day: int, hour: int, minute: int = 0) -> datetime:
        """A moment of the demo's week: day 0 is Monday."""
        return self.monday + timedelta(days=day, hours=hour, minutes=minute)


Step = Callable[[DemoContext], None]


def demo_week_monday(settings: Settings, now: datetime | None = None) -> datetime:
    """Monday 00:00 (local) of the ISO week before the current one."""
    local_now = (now or clock.utc_now()).astimezone(settings.zone)
    this_monday = (local_now - timedelta(days=local_now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return this_monday - timedelta(days=7)


def import_research(context: DemoContext) -> None:
    """The seed's WEEK 1 research: 340 prospects (25 / 100 / 215 by tier), imported from a file."""
    from leadline.demo.data import generate
    from leadline.prospects import flows

    folder = private_folder(context.settings.data_dir / "demo")
    path = folder / "research.json"
    write_private(path, json.dumps([p.as_row() for p in generate()], indent=1).encode())
    clock.set_frozen(context.at(-3, 16))  # the Friday before: research done
    report = flows.import_file(context.settings, path, actor="demo")
    context.notes.append(f"Imported {report.created} researched prospects from {path}.")


def send_week_one(context: DemoContext) -> None:
    """Monday 08:30: the seed's first send, pain_point to the 25 tier-1 prospects, through the outbox."""
    from leadline.emails.backends.outbox import OutboxBackend
    from leadline.emails.flows import send
    from leadline.prospects.queries import Filters

    clock.set_frozen(context.at(0, 8, 30))
    report = send(
        context.settings,
        "pain_point",
        actor="demo",
        filters=Filters(status="new", tier=1),
        limit=25,
        backend=OutboxBackend(context.settings),
    )
    context.shared["week_one_emails"] = [o.email_id for o in report.outcomes if o.status == "sent"]
    context.notes.append(
        f"Sent {report.count('sent')} pain_point emails to the tier-1 prospects; they are .eml files in "
        f"{context.settings.outbox_path}."
    )


def play_week_events(context: DemoContext) -> None:
    """The rest of the week as SendGrid reports it, through the real signed webhook and Inbound
    Parse endpoints of a server started for the purpose: 24 delivered, 1 bounced, 8 opened,
    3 clicked, 2 replies (one from Royal Plumbing Co)."""
    import httpx

    from leadline.app import create_app
    from leadline.emails import service as emails
    from leadline.serving import background_server
    from leadline.webhooks.security import inbound_url, simulator_key
    from leadline.webhooks.simulate import post_events, post_reply, seed_week

    settings = context.settings
    key = simulator_key(settings, create=True)
    assert key is not None
    week_one = set(cast(list[str], context.shared.get("week_one_emails") or []))
    with unit_of_work(settings, readonly=True) as session:
        sent = [e for e in emails.sent_for_simulation(session) if e.id in week_one]
    stream = seed_week(sent, repliers=["royal_plumbing_co"])
    remaining = sorted(stream.events, key=lambda e: (e["timestamp"], e["sg_event_id"]))

    def post_until(client: httpx.Client, base: str, moment: datetime | None) -> None:
        nonlocal remaining
        due = [e for e in remaining if moment is None or e["timestamp"] <= moment.timestamp()]
        remaining = remaining[len(due) :]
        if due:
            clock.set_frozen(
                datetime.fromtimestamp(due[-1]["timestamp"], clock.utc_now().tzinfo) + timedelta(seconds=5)
            )
            post_events(client, f"{base}/webhooks/sendgrid", due, key, batch_size=50)

    with background_server(create_app(settings)) as base, httpx.Client(timeout=60) as client:
        for reply in sorted(stream.replies, key=lambda r: r.at):
            post_until(client, base, reply.at)
            clock.set_frozen(reply.at)
            post_reply(client, inbound_url(settings).replace(settings.base_url, base, 1), reply,
                       sender_email=settings.sender_email)  # fmt: skip
        post_until(client, base, None)
    context.shared["replied_ids"] = [reply.email.prospect_id for reply in sorted(stream.replies, key=lambda r: r.at)]
    context.notes.append(
        f"Played the week's {len(stream.events)} SendGrid events and {len(stream.replies)} replies through the "
        "signed webhook (24 delivered, 1 bounced, 8 opened, 3 clicked, 2 replied)."
    )


STEPS: list[Step] = [import_research, send_week_one, play_week_events]


def reset_database(settings: Settings) -> None:
    import_all_models()
    with unit_of_work(settings) as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(table.delete())
    outbox = settings.outbox_path
    if outbox.is_dir():
        for message in outbox.glob("*.eml"):
            message.unlink()


def load_demo(settings: Settings, *, reset: bool = False, if_empty: bool = False) -> list[str]:
    """Play every demo step; returns lines to print."""
    from leadline.errors import Conflict
    from leadline.prospects.models import Prospect

    with unit_of_work(settings, readonly=True) as session:
        existing = session.scalar(select(func.count()).select_from(Prospect)) or 0
    if existing and not reset:
        if if_empty:
            return [f"The database already has {existing} prospects; the demo was not loaded again.",
                    *demo_user(settings)]  # fmt: skip
        raise Conflict(f"the database already has {existing} prospects; use --reset to replace everything")
    if reset:
        reset_database(settings)
    context = DemoContext(settings=settings, monday=demo_week_monday(settings))
    frozen = clock.frozen_at()  # the steps move the clock through the week; put it back after
    try:
        for step in STEPS:
            step(context)
    finally:
        clock.set_frozen(frozen)
    week = context.monday.isocalendar()
    context.notes.append(
        f"The seed's Week 1 is {week.year}-W{week.week:02d} (last week): "
        f"`leadline dashboard --week last`; this week goes on from there."
    )
    return context.notes + demo_user(settings)


DEMO_EMAIL = "demo@leadline.local"


def demo_user(settings: Settings) -> list[str]:
    """The demo's admin account. Its password is random, made once and kept in data_dir (mode 600)
    so that every ``make run`` can print it again; ``leadline users set-password`` changes it."""
    import secrets

    from leadline.auth import service
    from leadline.auth.models import User

    path = settings.data_dir / "demo-password"
    if path.exists():
        password = path.read_text().strip()
    else:
        password = secrets.token_urlsafe(12)
        write_private(path, (password + "\n").encode())
    with unit_of_work(settings) as session:
        user = session.scalar(select(User).where(User.email == DEMO_EMAIL))
        if user is None:
            service.add_user(session, DEMO_EMAIL, "admin", password)
        elif not user.password_hash:
            service.set_password(session, user, password)
        elif not service.password_matches(user, password):
            return [f"Sign in at {settings.base_url}/login as {DEMO_EMAIL} (its password was changed; "
                    f"`leadline users set-password {DEMO_EMAIL}` sets a new one)."]  # fmt: skip
    return [f"Sign in at {settings.base_url}/login as {DEMO_EMAIL} with the password {password}"]


# Week 1's calls, then this week's story (issue 15: the demo is the seed's Week 1, exactly).
STEPS += [week_one_calls, this_week]
