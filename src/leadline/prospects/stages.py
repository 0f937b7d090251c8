"""The one table of sales stages: names, labels, order, default probabilities, open or closed.

Everything else is derived from :data:`STAGE_TABLE` (the constants below); the ``Literal`` types
that pydantic and Typer need (:data:`Stage`, ``deals.schemas.OpenStage``) and the
database's CHECK constraint are checked against it by ``tests/test_stage_table.py``.
Stdlib only: the fast CLI path and ``config`` import it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: A stage's name, for pydantic and Typer (checked against :data:`STAGE_TABLE`).
Stage = Literal["new", "contacted", "replied", "scheduled", "interested", "proposal", "closed_won", "closed_lost"]


@dataclass(frozen=True)
class SalesStage:
    name: str
    #: What the pages, the board and the CLI call it.
    label: str
    #: Position on the road to a sale (closed_lost sits outside it: see RANK).
    order: int
    #: The default chance that a prospect here becomes a customer (the forecast's weight;
    #: ``LEADLINE_STAGE_PROBABILITIES`` replaces these).
    probability: float
    closed: bool


STAGE_TABLE: tuple[SalesStage, ...] = (
    SalesStage("new", "New", 0, 0.0, closed=False),
    SalesStage("contacted", "Contacted", 1, 0.02, closed=False),
    SalesStage("replied", "Replied", 2, 0.10, closed=False),
    SalesStage("scheduled", "Scheduled", 3, 0.20, closed=False),
    SalesStage("interested", "Called", 4, 0.35, closed=False),
    SalesStage("proposal", "Proposal", 5, 0.60, closed=False),
    SalesStage("closed_won", "Closed won", 6, 1.0, closed=True),
    SalesStage("closed_lost", "Closed lost", 7, 0.0, closed=True),
)

WON = "closed_won"
LOST = "closed_lost"

STAGES: tuple[str, ...] = tuple(stage.name for stage in STAGE_TABLE)
STAGE_LABELS: dict[str, str] = {stage.name: stage.label for stage in STAGE_TABLE}
OPEN_STAGES: tuple[str, ...] = tuple(stage.name for stage in STAGE_TABLE if not stage.closed)
#: The two closed stages, (closed_won, closed_lost): a closed prospect never moves automatically.
CLOSED_STAGES: tuple[str, ...] = tuple(stage.name for stage in STAGE_TABLE if stage.closed)
#: Position on the road to a sale; closed_lost sits outside it.
RANK: dict[str, int] = {stage.name: stage.order for stage in STAGE_TABLE if stage.name != LOST}
DEFAULT_PROBABILITIES: dict[str, float] = {stage.name: stage.probability for stage in STAGE_TABLE}


def is_forward(current: str, target: str) -> bool:
    """True when an automatic move from ``current`` to ``target`` goes forward.

    Closed prospects never move automatically; closed_lost is reachable from any open stage.
    """
    if current in CLOSED_STAGES:
        return False
    if target == LOST:
        return True
    return RANK[target] > RANK[current]
