"""The demo's calls and deal: the seed's flow from CALL SCHEDULED to "Customer becomes active".

Last week (the seed's Week 1), through the services a user's commands call, with the clock at
each moment: the two prospects who replied get a call booked on Wednesday; Royal Plumbing Co's
is the seed's example (Friday 15:00, 25 minutes, objections cost and timeline, interested,
"Send ROI proposal + case studies"); the other is booked for the next working day after the
demo runs, at 15:00, so it is still to come. That is the seed's block: Calls Scheduled 2,
Completed 1 (25 min), Pending 1; funnel 315 / 25 / 2 / 2 / 1.

This week (:func:`this_week`): follow-ups to those who opened and did not reply, another reply,
a call booked and held with that prospect, Royal's proposal and the won deal (grid health
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
THIS_WEEKS_REPLY = "Thanks for following up. Yes, the reviews thing has been bugging us. Can you call me Tuesday?"


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
    mornings and afternoons when that much of the week has gone, else spread over what has."""
    now = context.started_at
    monday = context.monday + timedelta(days=7)
    preferred = [monday + timedelta(days=index // 2, hours=(10 if index % 2 == 0 else 14)) for index in range(count)]
    if preferred[-1] < now - timedelta(minutes=1):
        return preferred
    span = max(now - monday, timedelta(seconds=count + 1))
    return [monday + span * (index + 1) / (count + 1) for index in range(count)]


def this_week(context: DemoContext) -> None:
    """Follow-ups, another reply, a call, Royal's proposal and the won deal, before now."""
    from leadline.calls import service as calls
    from leadline.calls.schemas import CallBook, CallLog
    from leadline.deals import service as deals
    from leadline.deals.proposals import send_proposal
    from leadline.deals.schemas import DealWon
    from leadline.emails import service as emails
    from leadline.emails.backends.outbox import OutboxBackend
    from leadline.emails.models import EmailActivity
    from leadline.emails.sending import send

    settings = context.settings
    week_one = set(cast(list[str], context.shared.get("week_one_emails") or []))
    with unit_of_work(settings, readonly=True) as session:
        sent = [session.get(EmailActivity, email_id) for email_id in sorted(week_one)]
        # Those who opened the first email and neither replied nor bounced: a follow-up each.
        quiet = sorted(e.prospect_id for e in sent if e and e.opened_at and not e.replied_at and not e.bounced_at)
    if not quiet:
        context.notes.append("Nobody to follow up this week.")
        return
    follow_up, replied, booked, held, proposal, signed = this_week_moments(context, 6)
    backend = OutboxBackend(settings)

    clock.set_frozen(follow_up)
    report = send(settings, "follow_up_1", actor=ACTOR, prospect_ids=quiet, backend=backend)
    followed = [o for o in report.outcomes if o.status == "sent" and o.email_id]

    replier = None
    if followed:
        clock.set_frozen(replied)
        first = followed[0]
        assert first.email_id is not None
        with unit_of_work(settings) as session:
            emails.record_reply(session, first.email_id, THIS_WEEKS_REPLY, actor=ACTOR)
        replier = first.prospect_id
        clock.set_frozen(booked)
        with unit_of_work(settings) as session:
            when = booked + (held - booked) / 2  # booked for a time to come, held by the time it is logged
            calls.book(session, CallBook(prospect_id=replier, scheduled_at=when), actor=ACTOR)
        clock.set_frozen(held)
        with unit_of_work(settings) as session:
            calls.log(
                session,
                CallLog.model_validate(
                    {"prospect_id": replier, "outcome": "follow_up", "duration": "20m",
                     "objections": ["Do you have case studies?"],
                     "notes": "Wants to see results from another plumber first.",
                     "next_steps": "Send two case studies"}
                ),
                actor=ACTOR,
            )  # fmt: skip

    clock.set_frozen(proposal)
    send_proposal(settings, ROYAL, 2400, actor=ACTOR, backend=backend)
    clock.set_frozen(signed)
    with unit_of_work(settings) as session:
        _, customer = deals.won(
            session,
            DealWon(
                prospect_id=ROYAL, service_type="grid_health_analysis", monthly_fee=2400, signed_at=signed,
                start_date=signed, contract_url=f"https://contracts.example.com/{ROYAL}.pdf",
            ),
            actor=ACTOR,
        )  # fmt: skip
        company = customer.company_name
    context.notes.append(
        f"This week: {len(followed)} follow-ups to those who opened, "
        + (f"a reply from {replier} and a 20-minute call with them, " if replier else "")
        + f"the proposal to {ROYAL} and a won deal: {company}, grid health analysis at 2,400/month."
    )
