"""Settings travel with the unit of work: two apps built with different settings in one process
each honour their own (a 15:00 booking is 15:00 in each app's zone), whatever the environment says;
and the CLI honours the settings it is run with."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select

from leadline.app import create_app
from leadline.calls.models import CallActivity
from leadline.config import Settings
from leadline.db import unit_of_work
from tests.conftest import Cli, make_token
from tests.factories import make_prospect


def test_two_apps_book_the_same_local_time_in_their_own_zones(settings: Settings) -> None:
    assert settings.timezone == "America/Chicago"  # the environment's zone
    prospect = make_prospect(settings).id
    paris = settings.model_copy(update={"timezone": "Europe/Paris"})
    token = make_token(settings)
    booked: dict[str, str] = {}
    for name, chosen in (("chicago", settings), ("paris", paris)):
        app = create_app(chosen)
        with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
            response = client.post(
                "/api/calls",
                json={"prospectId": prospect, "scheduledAt": "2099-06-01T15:00", "notes": name},
            )
            assert response.status_code == 201, response.text
            booked[name] = response.json()["id"]
    with unit_of_work(settings, readonly=True) as session:
        stored = {c.id: c.scheduled_at for c in session.scalars(select(CallActivity))}
    assert stored[booked["chicago"]] == datetime(2099, 6, 1, 20, 0, tzinfo=UTC)  # 15:00 CDT
    assert stored[booked["paris"]] == datetime(2099, 6, 1, 13, 0, tzinfo=UTC)  # 15:00 CEST


def test_the_cli_books_in_the_zone_of_the_settings_it_runs_with(settings: Settings) -> None:
    prospect = make_prospect(settings).id
    paris = settings.model_copy(update={"timezone": "Europe/Paris"})
    expected = {"paris": "2099-06-01T13:00:00Z", "chicago": "2099-06-01T20:00:00Z"}  # 15:00 CEST, 15:00 CDT
    booked: dict[str, str] = {}
    for name, chosen in (("paris", paris), ("chicago", settings)):
        result = Cli(chosen)("calls", "schedule", "--prospect", prospect, "--at", "2099-06-01 15:00", "--json")
        assert result.exit_code == 0, result.stderr
        assert result.json["scheduledAt"] == expected[name]
        booked[name] = result.json["id"]
    with unit_of_work(settings, readonly=True) as session:
        stored = {c.id: c.scheduled_at for c in session.scalars(select(CallActivity))}
    assert stored[booked["paris"]] == datetime(2099, 6, 1, 13, 0, tzinfo=UTC)
    assert stored[booked["chicago"]] == datetime(2099, 6, 1, 20, 0, tzinfo=UTC)
