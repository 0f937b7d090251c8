"""The sales stages and their order. Stdlib only: the fast CLI path imports it too."""

from __future__ import annotations

STAGES: tuple[str, ...] = (
    "new",
    "contacted",
    "replied",
    "scheduled",
    "interested",
    "proposal",
    "closed_won",
    "closed_lost",
)

#: Labels used by the dashboard's funnel and the board.
STAGE_LABELS: dict[str, str] = {
    "new": "New",
    "contacted": "Contacted",
    "replied": "Replied",
    "scheduled": "Scheduled",
    "interested": "Called",
    "proposal": "Proposal",
    "closed_won": "Closed won",
    "closed_lost": "Closed lost",
}

#: Position on the road to a sale; closed_lost sits outside it.
RANK: dict[str, int] = {stage: index for index, stage in enumerate(STAGES[:-1])}

OPEN_STAGES = STAGES[:-2]
CLOSED_STAGES = ("closed_won", "closed_lost")


def is_forward(current: str, target: str) -> bool:
    """True when an automatic move from ``current`` to ``target`` goes forward.

    Closed prospects never move automatically; closed_lost is reachable from any open stage.
    """
    if current in CLOSED_STAGES:
        return False
    if target == "closed_lost":
        return True
    return RANK[target] > RANK[current]
