"""A prospect's replies, calls and tasks go to its owner (issue 18, item 2): their Today page (``mine``
by default for a user who owns prospects; ``leadline today --owner``; ``GET /api/today?owner=me``) and
their notifications (the notification names them and its delivery emails them)."""

from __future__ import annotations

import email
import json
from datetime import timedelta
from email import policy
from pathlib import Path

from sqlalchemy import func, select

from leadline import clock
from leadline.auth.models import User
from leadline.db import unit_of_work
from leadline.emails import service as emails
from leadline.notify import flows
from leadline.notify import service as notify
from leadline.notify.models import Notification
from leadline.tasks import service as tasks
from leadline.tasks.schemas import TaskCreate
from leadline.tasks.today import build
from tests.conftest import make_user, run_leadline, settings_env
from tests.factories import make_prospect
from tests.web.helpers import book_call_later_today, send_email

ANN, BOB = "ann@example.com", "bob@example.com"


def _day(settings) -> dict[str, str]:
    """Ann owns Royal (a call today, a task given to nobody) and Baker (a reply waiting); Bob owns
    Harbor (a call today); a task of Bob's is about Ann's Royal; one prospect has no owner."""
    for person in (ANN, BOB):
        with unit_of_work(settings, readonly=True) as session:
            known = session.scalar(select(func.count()).select_from(User).where(User.email == person))
        if not known:
            make_user(settings, person, "member")
    royal = make_prospect(settings, name="Royal Plumbing Co", owner=ANN)
    baker = make_prospect(settings, name="Baker Roofing", owner=ANN)
    harbor = make_prospect(settings, name="Harbor Electric", owner=BOB)
    loose = make_prospect(settings, name="Nobody's Co")
    book_call_later_today(settings, royal.id)
    book_call_later_today(settings, harbor.id)
    book_call_later_today(settings, loose.id)
    email_id = send_email(settings, baker.id)
    due = clock.utc_now() - timedelta(hours=1)
    with unit_of_work(settings) as session:
        emails.record_reply(session, email_id, "Call me Thursday", actor="test")
        tasks.create(session, TaskCreate(title="Send Royal the ROI", prospect_id=royal.id, due=due), actor="cli")
        tasks.create(session, TaskCreate(title="Bob checks Royal", prospect_id=royal.id, due=due, owner=BOB),
                     actor="test")  # fmt: skip
    return {"royal": royal.id, "baker": baker.id, "harbor": harbor.id, "loose": loose.id}


def _id(settings, name: str) -> str:
    from leadline.prospects.models import Prospect

    with unit_of_work(settings, readonly=True) as session:
        return session.scalars(select(Prospect.id).where(Prospect.name == name)).one()


def _names(day) -> dict[str, list[str]]:
    return {"calls": sorted(c.prospect_name for c in day.calls), "replies": [r.prospect_name for r in day.replies],
            "tasks": sorted(t.title for t in day.tasks)}  # fmt: skip


def test_the_owners_day_in_the_service_the_cli_and_the_api(settings, client):
    _day(settings)
    with unit_of_work(settings, readonly=True) as session:
        everyone = _names(build(session))
        ann = _names(build(session, owner="Ann@Example.com "))
        bob = _names(build(session, owner=BOB))
    assert everyone["calls"] == ["Harbor Electric", "Nobody's Co", "Royal Plumbing Co"]
    assert ann == {"calls": ["Royal Plumbing Co"], "replies": ["Baker Roofing"], "tasks": ["Send Royal the ROI"]}
    assert bob == {"calls": ["Harbor Electric"], "replies": [], "tasks": ["Bob checks Royal"]}
    done = run_leadline("today", "--owner", ANN, "--json", env=settings_env(settings))
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["owner"] == ANN and [c["prospectName"] for c in shown["calls"]] == ["Royal Plumbing Co"]
    text = run_leadline("today", "--owner", BOB, env=settings_env(settings)).stdout
    assert f"for {BOB}" in text and "Harbor Electric" in text and "Royal Plumbing Co" not in text.split("Tasks")[0]
    api = client.get("/api/today", params={"owner": ANN}).json()
    assert [r["prospectName"] for r in api["replies"]] == ["Baker Roofing"] and api["owner"] == ANN
    assert len(client.get("/api/today").json()["calls"]) == 3
    assert client.get("/api/today", params={"owner": "x" * 400}).status_code == 422
    # A mistyped address is said, not shown as an empty day (it answered "nothing today" without a word)
    unknown = run_leadline("today", "--owner", "nobody@example.com", env=settings_env(settings))
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "error: owner: 'nobody@example.com' is not a user (see leadline users list)"
    refused = client.get("/api/today", params={"owner": "nobody@example.com"})
    assert refused.status_code == 422 and refused.json()["field"] == "owner"


def test_the_today_page_is_mine_by_default_for_an_owner(settings, signed_in):
    ann = signed_in("member", email=ANN)
    admin = signed_in("admin")  # owns nothing: everyone's day
    _day(settings)
    page = ann.get("/today").text
    assert 'href="/today?who=mine" aria-current="page"' in page and "The prospects you own" in page
    assert "Royal Plumbing Co" in page and "Baker Roofing" in page and "Harbor Electric" not in page
    assert "Send Royal the ROI" in page and "Bob checks Royal" not in page
    everyone = ann.get("/today?who=all").text
    assert 'href="/today?who=all" aria-current="page"' in everyone
    assert "Harbor Electric" in everyone and "Royal Plumbing Co" in everyone
    theirs = admin.get("/today").text
    assert 'href="/today?who=all" aria-current="page"' in theirs and "Harbor Electric" in theirs
    # What is raised about Ann's prospects is listed for her.
    from tests.calls.helpers import log

    log(settings, _id(settings, "Royal Plumbing Co"), "interested")
    mine = ann.get("/today").text
    assert 'aria-label="Notifications for you"' in mine and "Call logged: " in mine
    assert 'aria-label="Notifications for you"' not in admin.get("/today").text


def test_notifications_go_to_the_owner_and_are_emailed_to_them(settings):
    day = _day(settings)
    from tests.calls.helpers import log

    log(settings, day["royal"], "interested")
    log(settings, day["loose"], "interested")
    with unit_of_work(settings, readonly=True) as session:
        mine = notify.search(session, recipient=ANN)
        kinds = {(n.kind, n.prospect_id) for n in mine}
        loose = session.scalars(select(Notification).where(Notification.prospect_id == day["loose"])).all()
    assert ("call_logged", day["royal"]) in kinds and all(n.recipient is None for n in loose)
    logged = next(n for n in mine if n.kind == "call_logged")
    listed = run_leadline("notifications", "list", "--for", ANN, "--json", env=settings_env(settings))
    assert listed.returncode == 0, listed.stderr
    assert {(n["kind"], n["recipient"]) for n in json.loads(listed.stdout)} >= {("call_logged", ANN)}
    assert all(n["recipient"] == ANN for n in json.loads(listed.stdout))
    table = run_leadline("notifications", "list", env=settings_env(settings)).stdout
    assert "For" in table and ANN in table
    outbox = Path(settings.outbox_path)
    before = set(outbox.glob("*.eml")) if outbox.exists() else set()
    delivered = flows.deliver(settings, logged.id)
    assert delivered is not None and delivered.status == "sent" and delivered.channels == ["owner"]
    sent = [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in set(outbox.glob("*.eml")) - before]
    assert [m["To"] for m in sent] == [ANN] and "Royal Plumbing Co" in str(sent[0]["Subject"])
    # Delivered once: a second delivery finds nothing to do and sends nothing.
    assert flows.deliver(settings, logged.id) is None
    assert len(set(outbox.glob("*.eml")) - before) == 1
    # A disabled user is not emailed; the notification is only recorded.
    with unit_of_work(settings) as session:
        session.scalars(select(User).where(User.email == BOB)).one().disabled_at = clock.utc_now()
    log(settings, day["harbor"], "interested")
    with unit_of_work(settings, readonly=True) as session:
        bobs = [n for n in notify.search(session, recipient=BOB) if n.kind == "call_logged"]
        count = session.scalar(select(func.count()).select_from(Notification))
    assert len(bobs) == 1 and count is not None
    assert flows.deliver(settings, bobs[0].id).status == "recorded"  # type: ignore[union-attr]
    assert len(set(outbox.glob("*.eml")) - before) == 1
