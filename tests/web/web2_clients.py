"""Helpers for the board, calls, customers, reports and settings page tests: a signed-in client per
role, and records made through the services (as the CLI would make them)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from leadline.config import Settings
from tests.conftest import make_user, sign_in

ROLES = ("admin", "member", "viewer")


@contextmanager
def client_as(settings: Settings, role: str) -> Iterator[Any]:
    """A browser signed in as a new user with ``role``; ``.csrf`` is its session's CSRF token."""
    from fastapi.testclient import TestClient

    from leadline.app import create_app

    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        test_client.csrf = sign_in(test_client, make_user(settings, f"{role}-user@example.com", role))
        yield test_client


def book_call(prospect_id: str, *, days: float = 2, notes: str | None = None) -> str:
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
        with unit_of_work() as session:
            data = CallBook(prospect_id=prospect_id, scheduled_at=at, notes=notes)
            call_id = service.book(session, data, actor="test").id
    finally:
        if days < 0:
            clock.set_frozen(None)
    return call_id


def make_customer(prospect_id: str, *, fee: float = 2400) -> str:
    from leadline.db import unit_of_work
    from leadline.deals import service
    from leadline.deals.schemas import DealWon

    with unit_of_work() as session:
        _, customer = service.won(
            session,
            DealWon(prospect_id=prospect_id, service_type="grid_health_analysis", monthly_fee=fee),
            actor="test",
        )
        return customer.id


def stage_of(prospect_id: str) -> str:
    from leadline.db import unit_of_work
    from leadline.prospects import service

    with unit_of_work(readonly=True) as session:
        return service.get(session, prospect_id).sales_status


def error_line(html: str) -> str:
    """The one-line error a refused form shows (role=alert), unescaped."""
    import html as html_lib

    found = re.search(r'<p class="errors" role="alert"[^>]*>(.*?)</p>', html, re.S)
    assert found, "no error line on the page"
    return html_lib.unescape(found.group(1)).strip()
