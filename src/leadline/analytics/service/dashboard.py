"""The seed's dashboard ("WEEK N SALES METRICS"): the funnel, the week's outreach, engagement and
calls, the key metrics against their targets, and the most active prospects' cards; with the live
page's data version and current MRR."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy.orm import Session

from leadline.analytics import totals
from leadline.analytics.queries import dashboard as qd
from leadline.analytics.queries import what_works as qw
from leadline.analytics.schemas import (
    CallFigures,
    Dashboard,
    Engagement,
    KeyMetric,
    Outreach,
    ProspectCard,
    ProspectTotals,
    TextFigures,
    WeekInfo,
)
from leadline.analytics.service import funnel as lines
from leadline.analytics.service.common import make_rate, plan_once
from leadline.analytics.service.figures import dashboard_lists
from leadline.analytics.service.funnel import FUNNEL as FUNNEL  # the funnel's lines, for older imports
from leadline.analytics.service.funnel import STATEMENT
from leadline.analytics.weeks import Week, week_of, working_days_elapsed
from leadline.calls.objections import label as objection_label
from leadline.clock import utc_now
from leadline.config import Settings
from leadline.errors import Invalid
from leadline.senders import health
from leadline.texts import service as text_messages

DEFAULT_CARDS = 3
MAX_CARDS = 50


def week_info(session: Session, week: Week, now: datetime) -> WeekInfo:
    first = qd.first_send(session)
    number = None
    if first is not None:
        first_week = week_of(first, week.zone)
        if week.monday >= first_week.monday:
            number = (week.monday - first_week.monday).days // 7 + 1
    return WeekInfo(
        label=week.label,
        number=number,
        start=week.start,
        end=week.end,
        first_day=week.monday,
        last_day=week.days[-1],
        timezone=week.zone.key,
        span=week.span_text(),
        is_current=week.contains(now),
    )


def dashboard(
    session: Session,
    week: Week,
    *,
    settings: Settings,
    cards: int = DEFAULT_CARDS,
    now: datetime | None = None,
) -> Dashboard:
    """The seed's "WEEK N SALES METRICS" block for ``week``."""
    now = now or utc_now()
    if not 0 <= cards <= MAX_CARDS:
        raise Invalid(f"must be between 0 and {MAX_CARDS}", field="cards")
    start, end = week.start, week.end
    plan_once(session)
    zone = totals.zone_of(session)
    # The funnel and the week's figures: one read of the totals (one round trip to a server).
    found = totals.read(session, lines.asked(end, zone), qd.week_asked(start, end, zone))
    counts = lines.funnel(session, end, found=found[0])
    week_counts = qd.week_counts(session, start, end, found=found[1])
    emails, calls, won, new_mrr = week_counts.emails, week_counts.calls, week_counts.won, week_counts.new_mrr
    sent, converted = emails["sent"], emails["call_booked"]
    days = working_days_elapsed(week, now)
    contacted, closed = counts.contacted, counts.won

    def metric(key: str, label: str, count: float, total: float, target: float, unit: str = "rate") -> KeyMetric:
        value = count / total if total else None
        return KeyMetric(
            key=key, label=label, value=value, count=count, total=total, target=target,
            on_target=None if value is None else value >= target, unit=unit,
        )  # fmt: skip

    data = Dashboard(
        currency=settings.currency,
        week=week_info(session, week, now),
        generated_at=now,
        prospects=ProspectTotals(
            total=counts.total,
            tier1=counts.tiers.get(1, 0),
            tier2=counts.tiers.get(2, 0),
            tier3=counts.tiers.get(3, 0),
        ),
        outreach=Outreach(
            sent=sent,
            delivered=make_rate(emails["delivered"], sent, interval=True),
            bounced=make_rate(emails["bounced"], sent, interval=True),
            failed=make_rate(emails["failed"], sent, interval=True),
        ),
        engagement=Engagement(
            opened=make_rate(emails["opened"], sent, interval=True),
            human_opened=make_rate(emails["human_opened"], sent, interval=True),
            machine_only_opened=emails["machine_only_opened"],
            machine_opens=emails["machine_opens"],
            clicked=make_rate(emails["clicked"], sent, interval=True),
            replied=make_rate(emails["replied"], sent, interval=True),
        ),
        calls=CallFigures(
            scheduled=calls["scheduled"],
            completed=calls["completed"],
            pending=calls["pending"],
            no_show=calls["no_show"],
            average_duration_seconds=calls["seconds"] / calls["timed"] if calls["timed"] else None,
            average_duration_minutes=calls["seconds"] / calls["timed"] / 60 if calls["timed"] else None,
        ),
        texts=TextFigures(**text_messages.week_counts(session, start, end)),
        deals_won=won,
        new_mrr=new_mrr,
        pipeline=counts.stages(),
        pipeline_definition=STATEMENT,
        cards=prospect_cards(session, week, cards, settings, now=now),
        key_metrics=[
            metric("send_rate", "Email send rate", sent, days, settings.target_sends_per_day, "per_day"),
            metric("open_rate", "Email open rate", emails["opened"], sent, settings.target_open_rate),
            metric("reply_rate", "Email reply rate", emails["replied"], sent, settings.target_reply_rate),
            metric("call_conversion", "Call conversion", converted, emails["replied"], settings.target_call_conversion),
            metric("deal_conversion", "Deal conversion", closed, contacted, settings.target_deal_conversion),
        ],
        working_days=days,
    )
    data.lists = dashboard_lists(data, week)
    data.deliverability = health.report(session, now=min(now, end))
    return data


def prospect_cards(
    session: Session, week: Week, limit: int, settings: Settings, *, now: datetime | None = None
) -> list[ProspectCard]:
    """The week's most active prospects; a past week's cards as they stood at its end."""
    now = now or utc_now()
    active = qd.active_prospects(session, week.start, week.end, limit)
    ids = [a.prospect_id for a in active]
    found = qd.card_prospects(session, ids)
    if week.end <= now:
        for prospect_id, then in qd.card_prospects_as_of(session, ids, week.end).items():
            if prospect_id in found:
                found[prospect_id].update({k: v for k, v in then.items() if k != "sales_status" or v is not None})
    objections = qd.card_objections(session, ids, week.end)
    cards = []
    for item in active:
        row = found.get(item.prospect_id)
        if row is None:
            continue
        said: list[str] = []
        for texts, categories in objections.get(item.prospect_id, []):
            for index, words in enumerate(texts):
                known = index < len(categories) and categories[index] != "other"
                name = objection_label(categories[index]) if known else words
                if name not in said:
                    said.append(name)
        value = row["deal_value"]
        cards.append(
            ProspectCard(
                id=item.prospect_id,
                name=row["name"],
                status=row["sales_status"],
                emails_sent=int(row["emails_sent_count"] or 0),
                emails_opened=int(row["emails_opened_count"] or 0),
                last_contact_at=row["last_contact_at"],
                next_follow_up_at=row["next_follow_up_at"],
                objections=said,
                value_per_month=float(value) if value is not None else None,
                replies_this_week=item.replies,
                calls_booked_this_week=item.booked,
                calls_held_this_week=item.held,
                opens_this_week=item.opens,
            )
        )
    return cards


def current_mrr(session: Session) -> tuple[float, int]:
    """(monthly recurring revenue of the active customers, how many there are)."""
    fees = {status: (n, total) for status, n, total in qw.customer_fees(session)}
    n, total = fees.get("active", (0, 0.0))
    return total, n


def data_version(session: Session) -> str:
    """A short text that changes whenever the dashboard's figures may have changed (new timeline
    entries, webhook events applied, emails, calls, customers, prospects). Cheap at any size: a
    handful of index lookups, so a page may ask for it every few seconds. Deleting a prospect
    whose rows are not the newest is not noticed until something else changes."""
    raw = "|".join("" if value is None else str(value) for value in qd.data_version(session))
    return hashlib.blake2s(raw.encode(), digest_size=8).hexdigest()
