"""Availability per user, and the free slots it offers.

A slot is offered when it starts inside one of the day's ranges (in the user's zone) and ends
by the range's end, starts at least the minimum notice from now and within the horizon, keeps
the buffers clear of every booked call the user hosts, and its day (in the user's zone) has
fewer booked calls than the daily maximum. Slots start at the range's start and step by the
call length (a 30-minute call: 09:00, 09:30, ...).

Which booked calls are the host's: a call booked through a link names its host; any other
booked call counts for the prospect's owner, and for everyone when the prospect has no owner
(a small team's calls, booked by hand, all block the time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadline.auth import service as users
from leadline.auth.models import User
from leadline.booking.models import Availability, Booking
from leadline.booking.schemas import DAYS, AvailabilityRead, AvailabilitySet
from leadline.calls import service as calls
from leadline.clock import utc_now
from leadline.db import settings_of
from leadline.prospects import service as prospects

DEFAULT_WEEKLY = {day: ["09:00-17:00"] for day in DAYS[:5]}
DEFAULTS = {
    "weekly": DEFAULT_WEEKLY, "lengths": [30], "buffer_before": 0, "buffer_after": 10, "horizon_days": 14,
    "min_notice_minutes": 240, "daily_max": 6,
}  # fmt: skip
#: How long a booked call that was not booked through a link is taken to last.
OTHER_CALL_MINUTES = int(calls.DEFAULT_LENGTH.total_seconds() // 60)


def get(session: Session, user_id: str, *, for_update: bool = False) -> Availability | None:
    """The hours ``user_id`` set, if they set any (see ``offer_for`` for what they offer)."""
    query = select(Availability).where(Availability.user_id == user_id)
    if for_update:
        query = query.with_for_update()
    return session.scalar(query)


def defaults(user: User, zone: str) -> Availability:
    """What a user who has set nothing offers: the defaults in the configured zone (not stored)."""
    values = DEFAULTS | {"weekly": {day: list(hours) for day, hours in DEFAULT_WEEKLY.items()}, "lengths": [30]}
    return Availability(user_id=user.id, timezone=zone, updated_by="", **values)


def offer_for(session: Session, user: User, *, for_update: bool = False) -> Availability:
    """What ``user`` offers: the hours they set, else the defaults.

    ``for_update`` locks the user's row first (``SELECT ... FOR UPDATE`` on PostgreSQL), then their
    availability row when they have one: whether or not the host set anything, two bookings of the
    same host wait for each other.
    """
    if for_update:
        users.lock(session, user.id)
    row = get(session, user.id, for_update=for_update)
    return row if row is not None else defaults(user, settings_of(session).timezone)


def set_for(session: Session, user: User, data: AvailabilitySet, *, actor: str) -> Availability:
    """Set what ``user`` offers; fields not given keep their value (the defaults, the first time)."""
    row = get(session, user.id, for_update=True)
    if row is None:
        row = Availability(user_id=user.id, timezone=settings_of(session).timezone, **DEFAULTS)
        session.add(row)
    given = data.model_dump(exclude_none=True)
    for key, value in given.items():
        setattr(row, key, value)
    row.updated_at = utc_now()
    row.updated_by = actor
    session.flush()
    return row


def read(row: Availability | None, user: User, default_zone: str) -> AvailabilityRead:
    row = row if row is not None else defaults(user, default_zone)
    return AvailabilityRead(
        user=user.email, timezone=row.timezone, weekly=row.weekly, lengths=list(row.lengths),
        buffer_before=row.buffer_before, buffer_after=row.buffer_after, horizon_days=row.horizon_days,
        min_notice_minutes=row.min_notice_minutes, daily_max=row.daily_max, updated_at=row.updated_at,
        updated_by=row.updated_by,
    )  # fmt: skip


def _clock(text: str) -> time:
    hours, minutes = (int(part) for part in text.split(":"))
    return time(23, 59, 59, 999999) if hours == 24 else time(hours, minutes)


def _at(day: date, moment: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, moment, zone).astimezone(ZoneInfo("UTC"))


def candidate_starts(row: Availability, length: int, now: datetime) -> list[datetime]:
    """Every start the weekly hours, notice and horizon allow for a call of ``length`` minutes
    (UTC), before booked calls and the daily maximum are taken into account."""
    zone = ZoneInfo(row.timezone)
    earliest = now + timedelta(minutes=row.min_notice_minutes)
    latest = now + timedelta(days=row.horizon_days)
    step = timedelta(minutes=length)
    found: list[datetime] = []
    day = earliest.astimezone(zone).date()
    while _at(day, time(0), zone) <= latest:
        for text in row.weekly.get(DAYS[day.weekday()], []):
            first, last = text.split("-")
            start, end = _at(day, _clock(first), zone), _at(day, _clock(last), zone)
            moment = start
            while moment + step <= end + timedelta(microseconds=1):
                if earliest <= moment <= latest and moment > now:
                    found.append(moment)
                moment += step
        day += timedelta(days=1)
    return found


@dataclass(frozen=True)
class Busy:
    call_id: str
    start: datetime
    end: datetime


def busy(session: Session, user: User, start: datetime, end: datetime) -> list[Busy]:
    """The booked calls ``user`` hosts that start in ``[start, end)`` (see the module's note)."""
    rows = calls.booked_between(session, start, end)
    if not rows:
        return []
    ids = [call_id for call_id, _, _ in rows]
    bookings = {b.call_id: b for b in session.scalars(select(Booking).where(Booking.call_id.in_(ids)))}
    owners = {pid: p.owner for pid, p in prospects.get_many(session, {pid for _, pid, _ in rows}).items()}
    found = []
    for call_id, prospect_id, at in rows:
        booked = bookings.get(call_id)
        if booked is not None:
            mine, minutes = booked.host_user_id == user.id, booked.length_minutes
        else:
            owner = (owners.get(prospect_id) or "").lower()
            mine, minutes = owner in ("", user.email.lower()), OTHER_CALL_MINUTES
        if mine:
            found.append(Busy(call_id, at, at + timedelta(minutes=minutes)))
    return found


def free_slots(
    session: Session, row: Availability, user: User, length: int, *, now: datetime | None = None,
    ignore_call: str | None = None,
) -> list[datetime]:  # fmt: skip
    """Starts (UTC) of the slots offered for a call of ``length`` minutes."""
    now = now or utc_now()
    starts = candidate_starts(row, length, now)
    if not starts:
        return []
    zone = ZoneInfo(row.timezone)
    taken = [b for b in busy(session, user, starts[0] - timedelta(days=1), starts[-1] + timedelta(days=1))
             if b.call_id != ignore_call]  # fmt: skip
    per_day: dict[date, int] = {}
    for b in taken:
        per_day[b.start.astimezone(zone).date()] = per_day.get(b.start.astimezone(zone).date(), 0) + 1
    before, after, span = (timedelta(minutes=m) for m in (row.buffer_before, row.buffer_after, length))
    free = []
    for start in starts:
        if per_day.get(start.astimezone(zone).date(), 0) >= row.daily_max:
            continue
        # Each call's buffers stay clear of the other: this call's around it, and the booked call's
        # (10 minutes after each call means after the booked one too, not only after the new one).
        if any(start - before < b.end + after and start + span + after > b.start - before for b in taken):
            continue
        free.append(start)
    return free
