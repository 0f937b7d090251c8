"""The stage table in ``prospects/stages.py`` is the one place stages are written down: the types
pydantic and Typer need, the database's CHECK constraint, the default probabilities and the
dashboard's funnel all agree with it."""

from __future__ import annotations

from typing import get_args

from leadline.analytics.service.dashboard import FUNNEL
from leadline.config import Settings
from leadline.deals import cli as deals_cli
from leadline.deals.schemas import OpenStage
from leadline.prospects.models import Prospect
from leadline.prospects.stages import (
    CLOSED_STAGES,
    OPEN_STAGES,
    RANK,
    STAGE_LABELS,
    STAGE_TABLE,
    STAGES,
    Stage,
    is_forward,
)


def test_the_table_in_order():
    assert STAGES == ("new", "contacted", "replied", "scheduled", "interested", "proposal", "closed_won", "closed_lost")
    assert [stage.order for stage in STAGE_TABLE] == list(range(len(STAGE_TABLE)))
    assert STAGES[:-2] == OPEN_STAGES and CLOSED_STAGES == ("closed_won", "closed_lost")
    assert STAGE_LABELS["interested"] == "Called" and STAGE_LABELS["closed_won"] == "Closed won"
    assert "closed_lost" not in RANK and RANK["closed_won"] == 6


def test_the_literal_types_spell_the_table():
    assert get_args(Stage) == STAGES
    assert get_args(OpenStage) == OPEN_STAGES
    assert get_args(deals_cli.OpenStage) == OPEN_STAGES


def test_the_database_accepts_exactly_the_table():
    (check,) = [c for c in Prospect.__table__.constraints if c.name and str(c.name).endswith("sales_status_known")]
    assert str(check.sqltext) == (
        "sales_status IN ('new','contacted','replied','scheduled','interested','proposal','closed_won','closed_lost')"
    )


def test_default_probabilities_come_from_the_table():
    assert Settings(_env_file=None).stage_probabilities == {stage.name: stage.probability for stage in STAGE_TABLE}
    assert Settings(_env_file=None).stage_probabilities["proposal"] == 0.60


def test_the_funnel_follows_the_table_and_keeps_the_seeds_closed_line():
    assert [line[0] for line in FUNNEL] == list(STAGES[:-1])
    assert [line[3] for line in FUNNEL] == [RANK[stage] for stage in STAGES[:-1]]
    assert [line[1] for line in FUNNEL[:-1]] == [STAGE_LABELS[stage] for stage in STAGES[:-2]]
    assert FUNNEL[-1][1:3] == ("Closed", "customers")


def test_closed_stages_never_move_automatically():
    for closed in CLOSED_STAGES:
        assert not any(is_forward(closed, target) for target in STAGES)
    assert all(is_forward(stage, "closed_lost") for stage in OPEN_STAGES)
    assert is_forward("contacted", "replied") and not is_forward("replied", "contacted")
