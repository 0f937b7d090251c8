"""What SendGrid's events make of an email, written down: the emails they name, locked in
one order, and the state their whole set adds up to (``webhooks.events.email_state``),
written in one statement for many emails. The webhooks service decides; this writes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete
from sqlalchemy.orm import Session

from leadline.activity import service as activity
from leadline.analytics import totals
from leadline.clock import utc_now
from leadline.db import Base, bulk_update, read_by_keys
from leadline.emails.reading import EmailNotFound

EVENT_FIELDS = (
    "delivered_at", "opened_at", "open_count", "machine_open_count", "clicked_at", "click_count",
    "machine_click_count", "bounced_at", "bounce_reason", "bounce_type", "spam_reported_at", "unsubscribed_at",
)  # fmt: skip


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


@dataclass
class EventTarget:
    """What applying events needs to know about an email (a plain row, not an ORM object)."""

    id: str
    prospect_id: str
    status: str
    to_email: str
    subject: str
    outreach_activity_id: str | None
    replied_at: datetime | None
    send_attempted_at: datetime | None
    backend: str | None
    failed_at: datetime | None
    error: str | None
    state: tuple[Any, ...]  # the EVENT_FIELDS, in order
    #: The columns the maintained totals read of an email (``totals.EMAIL_COLUMNS``), as read.
    stored: dict[str, Any] = field(default_factory=dict)


def event_targets(session: Session, email_ids: Sequence[str]) -> dict[str, EventTarget]:
    """The emails that events are about, locked (in id order) for the rest of the transaction."""
    table = _table("email_activities")
    names = ("id", "prospect_id", "status", "to_email", "subject", "outreach_activity_id", "replied_at",
             "send_attempted_at", "backend", "failed_at", "error")  # fmt: skip
    # Read once: the target, its event fields, and what the totals read (their before-state).
    read = list(dict.fromkeys((*names, *EVENT_FIELDS, *totals.EMAIL_COLUMNS)))
    place = {name: index for index, name in enumerate(read)}
    counted = [(name, place[name]) for name in totals.EMAIL_COLUMNS]
    count, fields = len(names), len(names) + len(EVENT_FIELDS)
    found: dict[str, EventTarget] = {}
    ordered = sorted(set(email_ids))
    for values in read_by_keys(session, table, read, ordered, lock=True):  # one driver-level read per 500
        found[values[0]] = EventTarget(
            **dict(zip(names, values[:count], strict=True)), state=values[count:fields],
            stored={name: values[at] for name, at in counted},
        )  # fmt: skip
    missing = set(ordered) - set(found)
    if missing:
        raise EmailNotFound(f"no email with id {sorted(missing)[0]!r}", field="emailId")
    return found


def write_event_states(
    session: Session, targets: dict[str, EventTarget], states: dict[str, dict[str, Any]]
) -> list[EventTarget]:
    """Put what each email's events add up to on it (one statement for all). Returns those whose
    status changed."""
    rows, moved, before, after = [], [], [], []
    for email_id, state in states.items():
        target = targets[email_id]
        values = {name: state[name] for name in EVENT_FIELDS}
        values["status"] = state["status"]
        # SendGrid dropped it: the earliest drop says why (otherwise keep what sending recorded).
        values["failed_at"] = state.get("failed_at", target.failed_at)
        values["error"] = state.get("error", target.error)
        unchanged = (
            tuple(state[name] for name in EVENT_FIELDS) == target.state
            and state["status"] == target.status
            and (values["failed_at"], values["error"]) == (target.failed_at, target.error)
        )
        if unchanged:
            continue
        values["id"] = email_id
        rows.append(values)
        before.append(_Stored(target.stored))
        after.append(_Stored({**target.stored, **{k: v for k, v in values.items() if k in target.stored}}))
        if state["status"] != target.status:
            target.status = state["status"]
            moved.append(target)
    if rows:
        # One driver-level executemany for all (this runs for every webhook batch). The totals move
        # from the rows as read (locked) by event_targets to the same rows with what is written here.
        bulk_update(session, _table("email_activities"), rows, also={"updated_at": utc_now()})
        totals.emails_rewritten(session, before, after)
    return moved


class _Stored:
    """An email's stored columns by attribute (what the totals' contributions read)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def sync_timeline_statuses(session: Session, moved: Sequence[EventTarget]) -> None:
    """Each email's own timeline entry shows where the email got to (sent -> opened -> replied)."""
    activity.update_statuses(session, {e.outreach_activity_id: e.status for e in moved if e.outreach_activity_id})


def write_link_clicks(session: Session, links: Mapping[str, Sequence[Any]]) -> None:
    """Put each email's clicks per link (``webhooks.clicks.links``: url, human_clicks,
    machine_clicks, first_clicked_at, first_human_at) in ``email_link_clicks``, replacing what
    was there: recomputed from all the email's events, so a redelivered event changes nothing."""
    if not links:
        return
    table = _table("email_link_clicks")
    ids = sorted(links)
    for start in range(0, len(ids), 500):
        session.execute(delete(table).where(table.c.email_activity_id.in_(ids[start : start + 500])))
    rows = [
        {"email_activity_id": email_id, "url": link.url, "human_clicks": link.human_clicks,
         "machine_clicks": link.machine_clicks, "first_clicked_at": link.first_clicked_at,
         "first_human_at": link.first_human_at}
        for email_id in ids
        for link in links[email_id]
    ]  # fmt: skip
    if rows:
        session.execute(table.insert(), rows)
