"""Test clients signed in with a given role, for the pages' HTTP-level tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from leadline.config import Settings
from tests.conftest import make_user, sign_in


@contextmanager
def signed_in(settings: Settings, role: str, email: str | None = None) -> Iterator[Any]:
    """A TestClient signed in as a new user with ``role``; ``.csrf`` is its session's CSRF token."""
    from fastapi.testclient import TestClient

    from leadline.app import create_app

    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        client.csrf = sign_in(client, make_user(settings, email or f"{role}@example.com", role))
        yield client


def send_email(prospect_id: str) -> str:
    """Send pain_point to the prospect through the outbox (the CLI's path); the email's id."""
    from sqlalchemy import select

    from leadline.config import get_settings
    from leadline.db import unit_of_work
    from leadline.emails.models import EmailActivity
    from leadline.emails.sending import send

    report = send(get_settings(), "pain_point", actor="test", prospect_ids=[prospect_id])
    assert report.count("sent") == 1, report.as_dict()
    with unit_of_work(readonly=True) as session:
        return str(session.scalars(select(EmailActivity.id).where(EmailActivity.prospect_id == prospect_id)).one())
