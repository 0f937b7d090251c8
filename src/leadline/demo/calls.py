"""The demo's calls and deal: the seed's flow from CALL SCHEDULED to "Customer becomes active".

Last week (the seed's Week 1), through the services a user's commands call, with the clock at
each moment: the two prospects who replied get a call booked on Wednesday; Royal Plumbing Co's
is the seed's example (Friday 15:00, 25 minutes, objections cost and timeline, interested,
"Send ROI proposal + case studies"); the other is booked for the next working day after the
demo runs, at 15:00, so it is still to come. That is the seed's block: Calls Scheduled 2,
Completed 1 (25 min), Pending 1; funnel 315 / 25 / 2 / 2 / 1.

This week (:func:`this_week`): the follow-up sequence for the tier-1 prospects (follow_up_1 in
each thread, sent by the worker's job inside each prospect's window), a reply from one who
opened, a call booked and held with that prospect, the proposal and the won deal (grid health
analysis, 2,400/month), so the dashboard a newcomer opens first, the board and the customers
page have something in them. Every moment of this week is before the demo runs.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, cast

from leadline import clock
from leadline.db import unit_of_work
from leadline.times import add_business_days

if TYPE_CHECKING:
    from leadline.demo import DemoContext

ROYAL = "royal_plumbing_co"
ACTOR = "demo"
#: The reply a follow-up gets this week (logged as `leadline emails reply` would).
THIS_WEEKS_REPLY = "Thanks for following up. Yes, the reviews thing has been bugging us. Can you call me?"


def _repliers(context: DemoContext) -> list[str]:
    replied = cast(list[str], context.shared.get("replied_ids") or [])
    return [ROYAL, *[pid for pid in replied if pid != ROYAL][:1]]


def week_one_calls(context: DemoContext) -> None:
    """Wednesday: a call booked with each of the week's two repliers; Friday: Royal's call held."""
    from leadline.calls import service as calls
    from leadline.calls.schemas import CallBook, CallLog

    repliers = _repliers(context)
    if len(repliers) < 2:
        context.notes.append("Fewer than two replies in the demo's week; no calls booked.")
        return
    royal, other = repliers
    at = context.at
    zone = context.settings.zone
    upcoming = add_business_days(context.started_at.astimezone(zone).date(), 1)
    upcoming_at = datetime.combine(upcoming, time(15, 0), tzinfo=zone)

    clock.set_frozen(at(2, 16))
    with unit_of_work(context.settings) as session:
        for prospect_id, when, notes in (
            (royal, at(4, 15), "Daniel replied: interested, wants to discuss on Friday."),
            (other, upcoming_at, "Replied asking about cost; call booked."),
        ):
            calls.book(session, CallBook(prospect_id=prospect_id, scheduled_at=when, notes=notes), actor=ACTOR)
    # The seed's example call (CallActivity "call_001"): Friday 15:00, 25 minutes.
    clock.set_frozen(at(4, 15, 25))
    with unit_of_work(context.settings) as session:
        calls.log(
            session,
            CallLog.model_validate(
                {"prospect_id": royal, "outcome": "interested", "duration": "25m",
                 "objections": ["How much will this cost?", "What's the timeline?"],
                 "notes": "Daniel was very interested. Grid health 48% is major pain point.",
                 "next_steps": "Send ROI proposal + case studies"}
            ),
            actor=ACTOR,
        )  # fmt: skip
    context.shared["pending_call"] = (other, upcoming_at)
    context.notes.append(
        f"Booked calls with the two who replied and held one (the seed's example, 25 minutes, with {royal}); "
        f"1 call still booked ({other}, {upcoming_at:%a %Y-%m-%d %H:%M})."
    )


def this_week_moments(context: DemoContext, count: int) -> list[datetime]:
    """``count`` moments of the current week, in order, all before the demo began: working-day
    mornings and afternoons (10:00 and 14:00 from Monday) as far as the week has gone, the rest spread
    over the time since the last of them. Early in the week the follow-ups still go out on Monday
    morning, inside the sending window, as in a real week; only before Monday 10:00 is everything
    squeezed into the hours since midnight."""
    now = context.started_at
    monday = context.monday + timedelta(days=7)
    preferred = [monday + timedelta(days=index // 2, hours=(10 if index % 2 == 0 else 14)) for index in range(count)]
    passed = [moment for moment in preferred if moment < now - timedelta(minutes=1)]
    after = passed[-1] if passed else monday
    rest = count - len(passed)
    span = max(now - after, timedelta(seconds=rest + 1))
    return passed + [after + span * (index + 1) / (rest + 1) for index in range(rest)]


def this_week(context: DemoContext) -> None:
    """The follow-up sequence, a reply from one who opened, a call with them ending in a proposal,
    the proposal and the won deal; all before now. Royal Plumbing Co stays where Week 1 left it
    (called, its next step "Send ROI proposal + case studies" open), the other replier's call is
    still to come."""
    from leadline.calls import service as calls
    from leadline.calls.schemas import CallBook, CallLog
    from leadline.deals import service as deals
    from leadline.deals.flows import send_proposal
    from leadline.deals.schemas import DealWon
    from leadline.emails.backends.outbox import OutboxBackend
    from leadline.emails.models import EmailActivity
    from leadline.guardian import service as guardian
    from leadline.prospects.selection import Selection
    from leadline.sequences import flows as sequence_flows
    from leadline.tasks import service as tasks

    settings = context.settings
    week_one = set(cast(list[str], context.shared.get("week_one_emails") or []))
    follow_up, replied, booked, held, proposal, signed = this_week_moments(context, 6)
    backend = OutboxBackend(settings)

    # Monday: the follow-up sequence for the tier-1 prospects (`leadline sequences start --template
    # pain_point --tier 1 --limit 25`): those who already got pain_point go on from follow_up_1, in
    # that thread; the worker's job sends what is due inside each prospect's sending window.
    clock.set_frozen(follow_up)
    started = sequence_flows.start(
        settings, "pain_point", chosen=Selection(tier=1, limit=25), steps=None, at=None, dry_run=False, actor=ACTOR
    )
    sequence_flows.run_due(settings, backend=backend, actor=ACTOR)
    with unit_of_work(settings, readonly=True) as session:
        firsts = {e.prospect_id: e for e in (session.get(EmailActivity, i) for i in sorted(week_one)) if e}
        follow_ups = {
            e.prospect_id: e.id
            for e in session.query(EmailActivity).filter(EmailActivity.template == "follow_up_1")
            if e.sent_at is not None
        }
    # The one who answers: who opened the first email without replying, the first of them who got
    # the follow-up (or, when the sending window had not opened yet, to the first email itself).
    openers = sorted(p for p, e in firsts.items() if e.opened_at and not e.replied_at and not e.bounced_at)
    if not openers:
        context.notes.append("Nobody to hear back from this week.")
        return
    winner = next((p for p in openers if p in follow_ups), openers[0])
    answered = follow_ups.get(winner, firsts[winner].id)
    clock.set_frozen(replied)
    with unit_of_work(settings) as session:  # labelled and acted on, as `leadline emails reply` does
        guardian.log_reply(session, answered, THIS_WEEKS_REPLY, actor=ACTOR)
    clock.set_frozen(booked)
    with unit_of_work(settings) as session:
        when = booked + (held - booked) / 2  # booked for a time to come, held by the time it is logged
        calls.book(session, CallBook(prospect_id=winner, scheduled_at=when), actor=ACTOR)
    clock.set_frozen(held)
    with unit_of_work(settings) as session:
        task = calls.log(
            session,
            CallLog.model_validate(
                {"prospect_id": winner, "outcome": "proposal_sent", "duration": "35m",
                 "objections": ["Is there a long contract?", "What results have businesses like mine seen?"],
                 "notes": "Ready to go if the numbers work. Wants the proposal today.",
                 "next_steps": "Send the proposal and the contract"}
            ),
            actor=ACTOR,
        ).task  # fmt: skip
        task_id = task.id if task else None
    clock.set_frozen(proposal)
    send_proposal(settings, winner, 2400, actor=ACTOR, backend=backend)
    if task_id is not None:
        with unit_of_work(settings) as session:
            tasks.done(session, task_id, actor=ACTOR)
    clock.set_frozen(signed)
    with unit_of_work(settings) as session:
        _, customer = deals.won(
            session,
            DealWon(
                prospect_id=winner, service_type="grid_health_analysis", monthly_fee=2400, signed_at=signed,
                start_date=signed, contract_url=f"https://contracts.example.com/{winner}.pdf",
            ),
            actor=ACTOR,
        )  # fmt: skip
        company = customer.company_name
    context.shared["winner"] = winner
    context.notes.append(
        f"This week: the follow-up sequence for tier 1 ({len(started.plan.continuing)} go on from follow_up_1; "
        f"{len(follow_ups)} sent so far); {winner} replied, a 35-minute call, the proposal, and a won deal: "
        f"{company}, grid health analysis at 2,400/month."
    )
