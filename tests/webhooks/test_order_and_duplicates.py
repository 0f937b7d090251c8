"""Any order, any duplication, any batching of the same events gives the same final state."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from sqlalchemy import select

from leadline import clock
from leadline.db import unit_of_work
from leadline.emails.message import unsubscribe_url
from leadline.emails.models import EmailActivity, EmailLinkClick, Suppression
from leadline.prospects.models import Prospect
from leadline.webhooks import service
from tests.conftest import changed
from tests.webhooks.conftest import send_to

KINDS = ["processed", "delivered", "deferred", "open", "open_machine", "click", "click_other_link", "click_scanner",
         "click_unsubscribe", "bounce", "blocked", "dropped", "spamreport", "unsubscribe", "group_unsubscribe",
         "group_resubscribe"]  # fmt: skip
FIELDS = ("status", "delivered_at", "opened_at", "open_count", "machine_open_count", "clicked_at", "click_count",
          "machine_click_count", "bounced_at", "bounce_type", "failed_at", "spam_reported_at",
          "unsubscribed_at")  # fmt: skip

# A stream: (email index 0-2, kind, seconds after the send). Kept small: each example sends 6 emails.
streams = st.lists(
    st.tuples(st.integers(0, 2), st.sampled_from(KINDS), st.one_of(st.integers(0, 120), st.integers(0, 5 * 86400))),
    min_size=1,
    max_size=25,
)


def make_event(target: EmailActivity, kind: str, offset: int, key: str, settings: Any = None) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if kind.startswith("click"):
        url = {"click_other_link": "https://x.example/b", "click_unsubscribe": None}.get(kind, "https://x.example/a")
        if url is None:
            url = unsubscribe_url(settings, target.id)
        agent = "Mimecast Link Scanner" if kind == "click_scanner" else "Mozilla/5.0 (Macintosh) Safari/605.1.15"
        kind, extra = "click", {"url": url, "useragent": agent}
    elif kind == "open_machine":
        kind, extra = "open", {"sg_machine_open": True}
    elif kind == "open":
        extra = {"sg_machine_open": False}
    elif kind in ("bounce", "blocked"):
        extra = {"type": kind, "reason": "550 no"}
        kind = "bounce"
    elif kind == "dropped":
        extra = {"reason": "Bounced Address"}
    elif kind.startswith("group_"):
        extra = {"asm_group_id": 7}
    return {"email": target.to_email, "event": kind, "timestamp": int(target.sent_at.timestamp()) + offset,
            "sg_event_id": key, "leadline_email_id": target.id, **extra}  # fmt: skip


def feed(settings, batches: list[list[dict[str, Any]]]) -> None:
    for batch in batches:
        with unit_of_work(settings) as session:
            result = service.ingest(session, batch)
        with unit_of_work(settings) as session:
            service.apply(session, result.new_ids)


def state(settings, emails: list[EmailActivity]) -> list[tuple[Any, ...]]:
    with unit_of_work(settings, readonly=True) as session:
        found = []
        for target in emails:
            row = session.get(EmailActivity, target.id)
            prospect = session.get(Prospect, target.prospect_id)
            suppressed = session.get(Suppression, target.to_email)
            links = sorted(
                (link.url, link.human_clicks, link.machine_clicks)
                for link in session.scalars(select(EmailLinkClick).where(EmailLinkClick.email_activity_id == row.id))
            )
            found.append(
                (*(getattr(row, f) for f in FIELDS), prospect.emails_sent_count, prospect.emails_opened_count,
                 prospect.do_not_contact, suppressed.reason if suppressed else None, links)
            )  # fmt: skip
    return found


def recount_matches(settings, emails: list[EmailActivity]) -> None:
    with unit_of_work(settings, readonly=True) as session:
        for target in emails:
            rows = list(session.scalars(select(EmailActivity).where(EmailActivity.prospect_id == target.prospect_id)))
            prospect = session.get(Prospect, target.prospect_id)
            assert prospect.emails_sent_count == sum(1 for r in rows if r.sent_at is not None)
            assert prospect.emails_opened_count == sum(1 for r in rows if r.opened_at is not None)


@hyp_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stream=streams, data=st.data())
def test_order_duplicates_and_batching_do_not_matter(settings, stream, data):
    settings = changed(settings, daily_send_limit=100000)  # every example sends six emails
    clock.set_frozen(datetime(2025, 11, 17, 14, 30, tzinfo=UTC))  # both sets sent at the same instant
    first = send_to(settings, 3)
    second = send_to(settings, 3)
    clock.set_frozen(None)
    run = first[0].id  # event ids are unique per example: the database outlives one example
    canonical = [
        make_event(first[i], kind, offset, f"{run}a{n}", settings) for n, (i, kind, offset) in enumerate(stream)
    ]
    mirrored = [
        make_event(second[i], kind, offset, f"{run}b{n}", settings) for n, (i, kind, offset) in enumerate(stream)
    ]
    # First set: one batch, in time order. Second: shuffled, duplicated, cut into random batches.
    feed(settings, [sorted(canonical, key=lambda e: e["timestamp"])])
    noisy = data.draw(st.permutations(mirrored + data.draw(st.lists(st.sampled_from(mirrored), max_size=10))))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(noisy)), max_size=4)))
    pieces, start = [], 0
    for cut in [*cuts, len(noisy)]:
        pieces.append(noisy[start:cut])
        start = cut
    feed(settings, [p for p in pieces if p])
    feed(settings, [noisy[: len(noisy) // 2]])  # SendGrid retries a batch it thinks failed
    assert state(settings, first) == state(settings, second)
    recount_matches(settings, first + second)


def test_a_replayed_stream_changes_nothing(hook, cli):
    targets = send_to(hook.settings, 2)
    t0 = targets[0].sent_at
    events = [make_event(targets[0], "delivered", 5, "r1"), make_event(targets[0], "open", 3600, "r2"),
              make_event(targets[1], "bounce", 10, "r3")]  # fmt: skip
    hook.post(events)
    before = cli("prospects", "export", "--format", "json").stdout, state(hook.settings, targets)
    timeline = cli("prospects", "show", targets[0].prospect_id, "--json").json["timeline"]
    assert hook.post(events).json()["new"] == 0
    assert (cli("prospects", "export", "--format", "json").stdout, state(hook.settings, targets)) == before
    assert cli("prospects", "show", targets[0].prospect_id, "--json").json["timeline"] == timeline
    assert t0 is not None
