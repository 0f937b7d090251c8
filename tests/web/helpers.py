"""What the page tests share besides the ``signed_in`` fixture (tests/conftest.py): records made
through the services, as the CLI makes them, and the error line a refused form shows."""

from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta

ROLES = ("admin", "member", "viewer")


def error_line(html: str) -> str:
    """The one line at the top of a refused form (every problem of the form), unescaped."""
    found = re.search(r'<p class="errors" role="alert"[^>]*>(.*?)</p>', html, re.S)
    assert found, "no error line on the page"
    return html_lib.unescape(found.group(1)).strip()


def field_errors(html: str) -> dict[str, str]:
    """Each input's error, shown beside it: ``{input name: message}``, unescaped."""
    found = re.findall(r'<span class="field-error" id="err-([\w]+)">([^<]*)</span>', html)
    return {name: html_lib.unescape(message) for name, message in found}


def send_email(settings, prospect_id: str) -> str:
    """Send pain_point to the prospect through the outbox (the CLI's path); the email's id."""
    from sqlalchemy import select

    from leadline.db import unit_of_work
    from leadline.emails.flows import send
    from leadline.emails.models import EmailActivity

    report = send(settings, "pain_point", actor="test", prospect_ids=[prospect_id])
    assert report.count("sent") == 1, report.as_dict()
    with unit_of_work(settings, readonly=True) as session:
        return str(session.scalars(select(EmailActivity.id).where(EmailActivity.prospect_id == prospect_id)).one())


def book_call(settings, prospect_id: str, *, days: float = 2, notes: str | None = None) -> str:
    """A call booked ``days`` from now (negative: in the past, booked then); returns its id."""
    from leadline import clock
    from leadline.calls import service
    from leadline.calls.schemas import CallBook
    from leadline.db import unit_of_work

    at = clock.utc_now() + timedelta(days=days)
    if days < 0:
        # Booked a while ago for a time that has passed since: book it "then".
        clock.set_frozen(at - timedelta(days=1))
    try:
        with unit_of_work(settings) as session:
            data = CallBook(prospect_id=prospect_id, scheduled_at=at, notes=notes)
            call_id = service.book(session, data, actor="test").id
    finally:
        if days < 0:
            clock.set_frozen(None)
    return call_id


def book_call_later_today(settings, prospect_id: str, *, notes: str | None = None) -> str:
    """A call booked for later today in the settings' zone, whatever the time of day the test runs.

    A call "in 15 minutes" is tomorrow's when the test runs in the last quarter hour of the day
    (America/Chicago: 05:45 UTC), and Today no longer lists it. The call is booked halfway to
    midnight when that is sooner; in the last minute of the day the test waits for the next one."""
    import time

    from leadline import clock
    from leadline.times import local_day_bounds

    end = local_day_bounds(clock.utc_now(), settings.zone)[1]
    if end - clock.utc_now() < timedelta(minutes=1):
        time.sleep((end - clock.utc_now()).total_seconds() + 0.5)
        end = local_day_bounds(clock.utc_now(), settings.zone)[1]
    ahead = min(timedelta(minutes=15), (end - clock.utc_now()) / 2)
    return book_call(settings, prospect_id, days=ahead / timedelta(days=1), notes=notes)


def make_customer(settings, prospect_id: str, *, fee: float = 2400) -> str:
    from leadline.db import unit_of_work
    from leadline.deals import service
    from leadline.deals.schemas import DealWon

    with unit_of_work(settings) as session:
        _, customer = service.won(
            session,
            DealWon(prospect_id=prospect_id, service_type="grid_health_analysis", monthly_fee=fee),
            actor="test",
        )
        return customer.id


def stage_of(settings, prospect_id: str) -> str:
    from leadline.db import unit_of_work
    from leadline.prospects import service

    with unit_of_work(settings, readonly=True) as session:
        return service.get(session, prospect_id).sales_status
