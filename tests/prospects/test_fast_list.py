"""The fast `prospects list` path prints exactly what the full CLI and the API say."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from leadline.app import create_app
from leadline.prospects import listing
from tests.conftest import make_token, run_leadline, settings_env
from tests.factories import make_prospect

CASES = [
    [],
    ["--json"],
    ["--tier", "1", "--json"],
    ["--status", "new", "--limit", "2"],
    ["--sort", "-grid_health", "--json"],
    ["--search", "roy", "--trade", "plumbing"],
    ["--page", "2", "--limit", "1", "--json"],
]


@pytest.fixture
def filled(sqlite_settings):
    make_prospect(sqlite_settings, name="Royal Plumbing Co", email="d@royal.com", tier=1, grid_health=48)
    make_prospect(sqlite_settings, name="Summit HVAC", email="m@summit.com", tier=2, trade="hvac", grid_health=61)
    make_prospect(
        sqlite_settings, name="Bright Spark", email="j@spark.com", tier=3, trade="electrical", grid_health=None
    )
    return sqlite_settings


@pytest.mark.parametrize("args", CASES)
def test_fast_path_prints_what_the_full_cli_prints(filled, args):
    fast = run_leadline("prospects", "list", *args, env=settings_env(filled))
    full = run_leadline("prospects", "list", *args, env=settings_env(filled, LEADLINE_FAST_CLI="0"))
    assert fast.returncode == full.returncode == 0, fast.stderr + full.stderr
    assert fast.stdout == full.stdout
    assert fast.stdout.strip()


def test_json_equals_the_api(filled):
    fast = json.loads(run_leadline("prospects", "list", "--json", "--limit", "50", env=settings_env(filled)).stdout)
    headers = {"Authorization": f"Bearer {make_token(filled)}"}
    with TestClient(create_app(filled), headers=headers) as client:
        assert len(fast) == 3
        assert fast == client.get("/api/prospects", params={"limit": 50}).json()["items"]


def test_old_schema_falls_back_to_the_full_cli_message(filled):
    import sqlite3

    path = filled.database_url.split("///", 1)[1]
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0000'")
    result = run_leadline("prospects", "list", env=settings_env(filled))
    assert result.returncode == 1
    assert "run `leadline db upgrade`" in result.stderr


def test_options_match_the_typer_command():
    from typer.main import get_command

    from leadline.cli.main import app

    command = get_command(app).commands["prospects"].commands["list"]  # type: ignore[attr-defined]
    typer_options = {opt for param in command.params for opt in param.opts + param.secondary_opts}
    fast_options = {opt for action in listing.parser()._actions for opt in action.option_strings}
    assert fast_options == typer_options - {"--help", "-h"}


def test_no_filter_is_what_the_filter_schema_makes_of_none():
    """With no filter the Typer command skips the schema too (a quicker start): the same filters."""
    from leadline.prospects.queries import Filters
    from leadline.prospects.schemas import ProspectFilter

    assert ProspectFilter().query() == Filters()


def test_the_sort_type_offers_the_sorts_the_query_knows():
    """``SortKey`` (pydantic's and Typer's choices) and ``SORT_CHOICES`` (what ``queries.build`` takes) agree."""
    from typing import get_args

    from leadline.prospects.queries import SORT_CHOICES, SortKey

    assert sorted(get_args(SortKey)) == sorted(SORT_CHOICES)
