"""The funnel (the dashboard's SALES PIPELINE), defined once for the dashboard, the weekly report,
the API, the web pages and the CLI.

Each line counts the prospects who did that stage's real event by the end of the week shown:
Contacted = an email was sent to them; Replied = they replied to an email (a reply received or
logged); Scheduled = a call was booked with them; Called = a call with them was completed;
Proposal = a proposal was sent (by email, or a call logged as "proposal sent"); Closed = they
signed (a customer record). New counts everyone else: New + Contacted = all prospects. A
prospect moved to a stage (or past it) by hand, without that event, is not counted on that
line: the line shows them apart as "moved by hand". closed_lost has no line: a lost prospect
counts on the lines whose events it did. Everything is read as of the week's end, so a past
week's funnel never changes afterwards. The board shows current stages instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from leadline.analytics import totals
from leadline.analytics.schemas import PipelineStage
from leadline.prospects.queries import REACHED_SQL as EVENT_SQL
from leadline.prospects.stages import STAGE_TABLE, WON

#: The definition in a sentence, shown beside the funnel wherever it is drawn.
STATEMENT = (
    "Each line counts prospects who did it by the week's end: email sent, replied to an email, "
    "call booked, call completed, proposal sent, signed; New = not contacted. "
    "Prospects moved there by hand are shown apart, not counted."
)

#: What each funnel line counts, in the seed's words. closed_lost has no line of its own.
_MEANING = {
    "new": "not contacted", "contacted": "email sent", "replied": "replied to email", "scheduled": "call booked",
    "interested": "completed", "proposal": "sent proposal", WON: "customers",
}  # fmt: skip
#: The funnel lines: (stage, label, what it means, rank), from the stage table. The last line
#: counts customers; the seed's dashboard calls it "Closed (customers)".
FUNNEL: tuple[tuple[str, str, str, int], ...] = tuple(
    (stage.name, "Closed" if stage.name == WON else stage.label, _MEANING[stage.name], stage.order)
    for stage in STAGE_TABLE
    if stage.name in _MEANING
)


@dataclass
class FunnelCounts:
    total: int
    tiers: dict[int, int]
    did: dict[str, int]  # stage -> prospects who did its real event (new: added, not contacted)
    by_hand: dict[str, int]  # stage -> prospects moved to it (or past it) by hand without doing it

    @property
    def contacted(self) -> int:
        return self.did["contacted"]

    @property
    def won(self) -> int:
        return self.did[WON]

    def stages(self) -> list[PipelineStage]:
        lines = []
        for stage, label, description, _rank in FUNNEL:
            count = self.did[stage]
            lines.append(
                PipelineStage(
                    stage=stage, label=label, description=description, count=count,
                    moved_by_hand=self.by_hand.get(stage, 0),
                )
            )  # fmt: skip
        return lines


#: The totals the funnel counts (:mod:`leadline.analytics.totals`), by tier.
FIGURES = ("prospects", "new", *(f"reached.{s}" for s in EVENT_SQL), *(f"by_hand.{s}" for s in EVENT_SQL))


def asked(end: datetime, zone: ZoneInfo) -> totals.Sums:
    """The read of the funnel as of ``end`` (a local midnight): the totals of the days before it."""
    return totals.Sums(FIGURES, before=totals.day_of(end, zone), by=("tier",))


def funnel(session: Session, end: datetime, *, found: totals.Found | None = None) -> FunnelCounts:
    """The funnel as of ``end`` (the end of the week shown, a local midnight): the maintained totals
    (:mod:`leadline.analytics.totals`) of the days before it, one grouped read; ``found``: the sums
    of :func:`asked`, when the caller read them with others."""
    if found is None:
        found = totals.read(session, asked(end, totals.zone_of(session)))[0]
    tiers: dict[int, int] = {}
    did = dict.fromkeys(["new", *EVENT_SQL], 0)
    by_hand = dict.fromkeys(EVENT_SQL, 0)
    for (figure, tier), (n, _amount) in found.items():
        if figure == "prospects":
            tiers[int(tier)] = tiers.get(int(tier), 0) + n
        elif figure == "new":
            did["new"] += n
        else:
            kind, stage = figure.split(".", 1)
            (did if kind == "reached" else by_hand)[stage] += n
    tiers = {tier: n for tier, n in tiers.items() if n}
    return FunnelCounts(total=sum(tiers.values()), tiers=tiers, did=did, by_hand=by_hand)
