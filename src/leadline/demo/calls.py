"""The demo's calls and deal: the seed's flow from CALL SCHEDULED to "Customer becomes active".

Through the services a user's commands call, with the clock at each moment of the demo week:
four tier-1 prospects get a call booked; Royal Plumbing Co's call is the seed's example
(25 minutes, three objections, interested, "Send ROI proposal + case studies"); one call
goes to a proposal and then a won deal (grid health analysis, 2,400/month); one prospect
says no; one call is left booked for the next working day at 15:00.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import TYPE_CHECKING

from leadline import clock
from leadline.db import unit_of_work
from leadline.times import add_business_days

if TYPE_CHECKING:
    from leadline.demo import DemoContext

ROYAL = "royal_plumbing_co"
ACTOR = "demo"


def _pick(context: DemoContext) -> list[str]:
    """Royal Plumbing Co, then the replied prospects (when the email steps made some), then the
    other tier-1 prospects from the weakest grid health up."""
    from leadline.prospects import service as prospects
    from leadline.prospects.queries import Filters
    from leadline.prospects.stages import CLOSED_STAGES

    replied = context.shared.get("replied_ids")
    with unit_of_work(context.settings, readonly=True) as session:
        tier1 = prospects.search(session, Filters(tier=1), sort="grid_health", limit=100).items
        open_ids = [p.id for p in tier1 if p.sales_status not in CLOSED_STAGES]
    order = [ROYAL]
    if isinstance(replied, list | tuple):
        order += [str(i) for i in replied]
    order += open_ids
    picked: list[str] = []
    for prospect_id in order:
        if prospect_id not in picked and prospect_id in open_ids:
            picked.append(prospect_id)
    return picked[:4]


def calls_and_a_deal(context: DemoContext) -> None:
    from leadline.calls import service as calls
    from leadline.calls.schemas import CallBook, CallLog
    from leadline.deals import service as deals
    from leadline.deals.schemas import DealWon
    from leadline.tasks import service as tasks

    picked = _pick(context)
    if len(picked) < 4:
        context.notes.append("Not enough open tier-1 prospects for the demo's calls; none booked.")
        return
    royal, pending, winner, loser = picked
    at = context.at

    def book(prospect_id: str, day: int, hour: int, notes: str | None = None, when: datetime | None = None) -> str:
        with unit_of_work(context.settings) as session:
            data = CallBook(prospect_id=prospect_id, scheduled_at=when or at(day, hour), notes=notes)
            return calls.book(session, data, actor=ACTOR).id

    # The call still to come is on the next working day at 15:00 (after the real now),
    # so a new user sees it coming up in `leadline today` and on the calendar.
    zone = context.settings.zone
    upcoming = add_business_days(context.started_at.astimezone(zone).date(), 1)
    upcoming_at = datetime.combine(upcoming, time(15, 0), tzinfo=zone)

    # Wednesday afternoon: calls booked for Thursday, and the next one.
    clock.set_frozen(at(2, 16))
    book(royal, 3, 15, "Daniel replied to the pain-point email; wants to talk this week.")
    book(pending, 0, 0, "Replied asking about cost; call booked for the next working day.", when=upcoming_at)
    book(winner, 3, 10)
    book(loser, 3, 11)

    def log(day: int, hour: int, minute: int, **values: object) -> str | None:
        clock.set_frozen(at(day, hour, minute))
        with unit_of_work(context.settings) as session:
            task = calls.log(session, CallLog.model_validate(values), actor=ACTOR).task
            return task.id if task else None

    proposal_task = log(
        3, 10, 40, prospect_id=winner, outcome="proposal_sent", duration="35m",
        objections=["Is there a long contract?", "What results have businesses like mine seen?"],
        notes="Ready to go if the numbers work. Wants the proposal today.",
        next_steps="Send the proposal and the contract",
    )  # fmt: skip
    log(
        3, 11, 20, prospect_id=loser, outcome="not_interested", duration="12m",
        objections=["We already have an agency doing our marketing"],
        notes="Happy with their agency; try again next year.",
    )  # fmt: skip
    # The seed's example call (CallActivity "call_001").
    log(
        3, 15, 25, prospect_id=royal, outcome="interested", duration="25m",
        objections=["How much will this cost?", "Do you have case studies?", "What's the timeline?"],
        notes="Daniel was very interested. Grid health 48% is major pain point.",
        next_steps="Send ROI proposal + case studies",
    )  # fmt: skip

    # Thursday afternoon: the proposal went out.
    clock.set_frozen(at(3, 16, 30))
    if proposal_task is not None:
        with unit_of_work(context.settings) as session:
            tasks.done(session, proposal_task, actor=ACTOR)

    # Friday morning: the contract comes back signed; the customer becomes active.
    clock.set_frozen(at(4, 11))
    with unit_of_work(context.settings) as session:
        _, customer = deals.won(
            session,
            DealWon(
                prospect_id=winner,
                service_type="grid_health_analysis",
                monthly_fee=2400,
                signed_at=at(4, 11),
                start_date=at(7, 0).date(),
                contract_url=f"https://contracts.example.com/{winner}.pdf",
            ),
            actor=ACTOR,
        )
        company = customer.company_name
    context.shared["call_prospect_ids"] = picked
    context.notes.append(
        f"Booked 4 calls with tier-1 prospects and logged 3 (the seed's example with {royal}); "
        f"won 1 deal: {company}, grid health analysis at 2,400/month; "
        f"1 call still booked ({pending}, {upcoming_at:%a %Y-%m-%d %H:%M})."
    )
