"""Issue 15, "every figure opens its list": each count on the dashboard and in the weekly report
equals the length of the list it links to (the API's list, with the figure's own filters), on
generated weeks: prospects added, emails sent and their SendGrid events (delivered, opened by a
person or a machine, clicked, bounced), replies, calls booked, held, cancelled or missed, and deals
won, all through the real services, before, in and after the week shown. A past week reads as
of its end, and so do its lists. SQLite and PostgreSQL (the ``settings`` fixture)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from sqlalchemy import select

from leadline import clock
from leadline.analytics.service import dashboard as dashboards
from leadline.analytics.service import report as reports
from leadline.analytics.weeks import week_of
from leadline.calls import service as calls
from leadline.calls.schemas import CallBook, CallLog
from leadline.db import unit_of_work
from leadline.emails import service as emails
from leadline.emails.flows import send
from leadline.emails.models import EmailActivity
from leadline.webhooks import service as webhooks
from tests.conftest import changed
from tests.factories import make_prospect, snapshot

ZONE = ZoneInfo("America/Chicago")  # the tests' LEADLINE_TIMEZONE
#: The week shown (each example moves it on, so examples never share a week).
FIRST_MONDAY = datetime(2025, 11, 17, tzinfo=ZONE)
HOUR = 3600
DAY = 24 * HOUR

_numbers = itertools.count(1)
_weeks = itertools.count(0)

EVENTS = ("delivered", "open", "open_machine", "click", "bounce")
CALL_ENDS = ("none", "held", "won", "cancelled", "no_show")

#: One prospect's story: when it was added (hours from the shown week's start; negative: before),
#: whether and when it was emailed, the events on that email (kind, hours after sending), a reply
#: (hours after sending), and a call booked (hours after sending) that ends some way later.
stories = st.lists(
    st.fixed_dictionaries({
        "added": st.integers(-10 * 24, 8 * 24),
        "sent": st.one_of(st.none(), st.integers(0, 4 * 24)),
        "events": st.lists(st.tuples(st.sampled_from(EVENTS), st.integers(0, 5 * 24)), max_size=4),
        "reply": st.one_of(st.none(), st.integers(1, 6 * 24)),
        "call": st.one_of(st.none(), st.tuples(st.integers(1, 5 * 24), st.sampled_from(CALL_ENDS),
                                               st.integers(1, 5 * 24))),
    }),
    min_size=1,
    max_size=5,
)  # fmt: skip


def at(moment: datetime) -> None:
    clock.set_frozen(moment.astimezone(UTC))


def event(target: EmailActivity, kind: str, moment: datetime, key: str) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if kind == "open_machine":
        kind, extra = "open", {"sg_machine_open": True}
    elif kind == "open":
        extra = {"sg_machine_open": False}
    elif kind == "click":
        extra = {"url": "https://example.com/case-study"}
    elif kind == "bounce":
        extra = {"type": "bounce", "reason": "550 no such user"}
    return {"email": target.to_email, "event": kind, "timestamp": int(moment.timestamp()), "sg_event_id": key,
            "leadline_email_id": target.id, **extra}  # fmt: skip


def play(settings: Any, start: datetime, story: dict[str, Any]) -> list[tuple[datetime, Any]]:
    """Add the prospect now and send its email; return what happens later, as (when, do) steps."""
    number = next(_numbers)
    added = start + timedelta(hours=story["added"])
    at(added)
    pid = make_prospect(settings, name=f"Figure Biz {number}", email=f"owner{number}@figurebiz{number}.com").id
    if story["sent"] is None:
        return []
    steps: list[tuple[datetime, Any]] = []
    sent = added + timedelta(hours=story["sent"])

    def do_send() -> None:
        report = send(settings, "pain_point", actor="test", prospect_ids=[pid])
        assert report.count("sent") == 1, report.as_dict()

    steps.append((sent, do_send))

    def email() -> EmailActivity:
        with unit_of_work(settings, readonly=True) as session:
            return session.scalars(select(EmailActivity).where(EmailActivity.prospect_id == pid)).one()

    for index, (kind, hours) in enumerate(story["events"]):
        moment = sent + timedelta(hours=hours, seconds=index + 1)

        def do_event(kind: str = kind, moment: datetime = moment, index: int = index) -> None:
            with unit_of_work(settings) as session:
                stored = webhooks.ingest(session, [event(email(), kind, moment, f"fig{number}-{index}")])
            with unit_of_work(settings) as session:
                webhooks.apply(session, stored.new_ids)

        steps.append((moment, do_event))
    if story["reply"] is not None:

        def do_reply() -> None:
            with unit_of_work(settings) as session:
                emails.record_reply(session, email().id, "Tell me more", actor="test")

        steps.append((sent + timedelta(hours=story["reply"], minutes=7), do_reply))
    if story["call"] is not None:
        hours, end, later = story["call"]
        booked = sent + timedelta(hours=hours, minutes=13)
        held = booked + timedelta(hours=later)

        def do_book() -> None:
            with unit_of_work(settings) as session:
                data = CallBook.model_validate({"prospect_id": pid, "scheduled_at": held.isoformat()})
                calls.book(session, data, actor="test")

        def do_end() -> None:
            with unit_of_work(settings) as session:
                call = calls.search(session, status="pending", prospect_id=pid)[0][0]
                if end == "cancelled":
                    calls.cancel(session, call.id, reason="moved on", actor="test")
                elif end == "no_show":
                    calls.no_show(session, call.id, notes=None, actor="test")
                else:
                    extra = {"service_type": "grid_health_analysis", "monthly_fee": 900} if end == "won" else {}
                    data = CallLog.model_validate({"call_id": call.id, "outcome": "closed_won" if end == "won"
                                                   else "interested", "duration": 600, **extra})  # fmt: skip
                    calls.log(session, data, actor="test")

        steps.append((booked, do_book))
        if end != "none":
            steps.append((held + timedelta(minutes=1), do_end))
    return steps


def listed(client: Any, api: str) -> int:
    """How many records the API's list at ``api`` holds (every page)."""
    kind = api.split("?")[0]
    if kind == "/api/customers":
        answer = client.get(api)
        assert answer.status_code == 200, answer.text
        return len(answer.json()["items"])
    total, page, cursor = 0, 1, None
    while True:
        params: dict[str, Any] = {"limit": 500}
        if kind == "/api/calls":
            params["page"] = page
        elif cursor:
            params["cursor"] = cursor
        answer = client.get(f"{api}{'&' if '?' in api else '?'}{urlencode(params)}")  # params= would drop the query
        assert answer.status_code == 200, (api, answer.text)
        body = answer.json()
        total += len(body["items"])
        cursor = body.get("nextCursor")
        page += 1
        if kind == "/api/calls" and total < body["total"]:
            continue
        if kind != "/api/calls" and cursor:
            continue
        return total


@hyp_settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(story_list=stories, shown=st.sampled_from([-1, 0, 1]), inside=st.booleans())
def test_every_figure_counts_exactly_its_list(settings, client, story_list, shown, inside):
    settings = changed(settings, daily_send_limit=100000)
    start = FIRST_MONDAY + timedelta(weeks=3 * next(_weeks))
    steps: list[tuple[datetime, Any]] = []
    for story in story_list:
        steps += play(settings, start, story)
    for moment, step in sorted(steps, key=lambda item: item[0]):
        at(moment)
        step()
    # read the week before, the week of, or the week after the stories; now inside it, or well after
    week = week_of(start + timedelta(weeks=shown, days=2), ZONE)
    now = week.start + timedelta(days=3) if inside else week.end + timedelta(days=20)
    latest = max([moment for moment, _ in steps], default=start)
    at(max(now, latest + timedelta(minutes=1)) if not inside else now)
    with unit_of_work(settings, readonly=True) as session:
        board = dashboards.dashboard(session, week, settings=settings)
        report = reports.weekly_report(session, week, settings=settings)
    figures = [*board.lists, *report.lists]
    keys = {item.key for item in board.lists}
    assert {
        "engagement.opened",
        "engagement.clicked",
        "engagement.replied",
        "outreach.delivered",
        "outreach.bounced",
        "calls.scheduled",
        "calls.completed",
        "pipeline.replied",
        "dealsWon",
    } <= keys
    # each count is the dashboard's own figure, not a number made up beside it
    assert next(i for i in board.lists if i.key == "engagement.opened").count == board.engagement.opened.count
    assert next(i for i in board.lists if i.key == "pipeline.new").count == board.pipeline[0].count
    for item in figures:
        assert listed(client, item.api) == item.count, (item.key, item.api)


BAD_FILTERS = [
    ("/api/emails?asOf=2025-11-24T00:00:00Z", "asOf"),  # as of when, but did what?
    ("/api/emails?status=scheduled&asOf=2025-11-24T00:00:00Z", "asOf"),  # a state, not something done
    ("/api/emails?sentFrom=2025-11-24T00:00:00Z&sentTo=2025-11-17T00:00:00Z", "sentTo"),
    ("/api/emails?status=seen", "status"),
    ("/api/calls?status=overdue&asOf=2025-11-24T00:00:00Z", "asOf"),
    ("/api/calls?bookedFrom=2025-11-24T00:00:00Z&bookedTo=2025-11-17T00:00:00Z", "bookedTo"),
    ("/api/prospects?reached=lost", "reached"),
    ("/api/prospects?asOf=2025-11-24T00:00:00", "asOf"),  # no offset: which instant?
    ("/api/customers?signedFrom=2025-11-24T00:00:00Z&signedTo=2025-11-17T00:00:00Z", "signedTo"),
]


@pytest.mark.parametrize(("url", "field"), BAD_FILTERS)
def test_a_figure_filter_that_does_not_fit_is_refused_by_name(settings, client, url, field):
    make_prospect(settings, name="Untouched Biz")
    before = snapshot(settings)
    answer = client.get(url)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field
    assert snapshot(settings) == before


def test_the_cli_refuses_an_as_of_without_a_status(settings, cli):
    make_prospect(settings, name="Untouched Biz")
    before = snapshot(settings)
    result = cli("emails", "list", "--as-of", "2025-11-24")
    assert result.exit_code == 1 and "asOf" in result.stderr and "needs a status" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    result = cli("prospects", "list", "--reached", "lost")
    assert result.exit_code != 0 and "reached" in result.stderr
    assert snapshot(settings) == before
