"""Senders: add, change, pause and resume them, and choose one for each send.

:func:`take` is called when a send is claimed (emails/recording.py), in the claim's transaction:
the thread's own sender when the prospect already had an email (follow-ups and replies keep
their sender), else the active sender that has sent least today and still has room, ties by id.
It takes one send from that sender's cap for today (with its warm-up ramp) and honours its
minimum gap and window, atomically across processes: the status check is part of the same
conditional UPDATE that marks the claim, so a sender paused by another transaction (a bounce
arriving through the webhook) claims nothing more from the moment that transaction commits.
When no sender can send now the claim says how long to wait (``Wait``): scheduled sends and
sequence steps stay queued until then, never failed or skipped.

:func:`judge` is the auto-pause (senders/health.py has the figures), called by the webhooks
service in the transaction that records a bounce or a spam report.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from leadline import jobs
from leadline.clock import utc_now
from leadline.config import Settings
from leadline.db import insert_ignore, settings_of
from leadline.emails.models import DailySendCount, EmailActivity
from leadline.errors import Conflict, Invalid, NotFound
from leadline.ids import new_id
from leadline.notify import service as notify
from leadline.senders import health
from leadline.senders.models import Sender, SenderDailyCount, SenderEvent
from leadline.senders.schemas import DAYS, SenderCreate, SenderEventRead, SenderRead, SenderUpdate, Window
from leadline.times import clock_time, window_end, window_opening

#: How often a send waiting on a paused sender looks again (a resume also wakes the queues at once).
RECHECK = timedelta(minutes=15)
#: Actors that are not a person: they may pause a sender but never resume one.
MACHINES = ("worker:", "webhook:", "token:", "system")
#: Email states that mean the email was claimed for sending (the thread's sender is its first such email's).
_CLAIMED = ("sending", "unknown", "sent", "delivered", "opened", "clicked", "replied", "bounced")


#: The codes of a send that waits for its sender (it stays queued): paused or outside its window, or its gap.
WAIT_CODES = ("sender_wait", "sender_gap")


@dataclass
class Wait:
    """No sender can take this send now: ``code`` ``cap`` (every candidate's cap is used up today:
    the next sending day), ``sender_wait`` (paused, outside its window) or ``sender_gap`` (its
    minimum gap between sends), until ``until``; or ``senders_gone`` (every sender chosen for it was
    removed: nothing to wait for)."""

    code: str
    reason: str
    until: datetime | None = None


# --- reading --------------------------------------------------------------------------------


def find(session: Session, key: str, *, for_update: bool = False) -> Sender:
    """A sender by id or address."""
    key = (key or "").strip()
    sender = session.get(Sender, key, with_for_update=for_update) if key else None
    if sender is None and key:
        sender = session.scalar(select(Sender).where(Sender.email == key.lower()))
    if sender is None:
        raise NotFound(f"no sender {key[:100]!r} (see `leadline senders list`)", field="sender")
    return sender


def all_senders(session: Session) -> list[Sender]:
    return list(session.scalars(select(Sender).order_by(Sender.created_at, Sender.id)))


def choices(session: Session) -> list[Sender]:
    """Every sender, by address: what a form offers to send from (a paused one is shown so)."""
    return list(session.scalars(select(Sender).order_by(Sender.email)))


def local_day(settings: Settings, at: datetime | None = None) -> date:
    """The sending day (configured zone) of ``at``: caps are per day (as emails/quota.py counts them)."""
    return (at or utc_now()).astimezone(settings.zone).date()


def sent_on(session: Session, sender_id: str, day: date) -> int:
    row = session.get(SenderDailyCount, (sender_id, day))
    return row.sent if row else 0


def cap_today(sender: Sender, day: date) -> int:
    """The daily cap with the warm-up ramp: min(cap, start + step * days since the first send, ceiling)."""
    cap = sender.daily_cap
    if sender.warmup_start is not None:
        days = max(0, (day - (sender.first_send_on or day)).days)
        ramp = sender.warmup_start + sender.warmup_step * days
        if sender.warmup_max is not None:
            ramp = min(ramp, sender.warmup_max)
        cap = min(cap, ramp)
    return cap


def window_of(sender: Sender) -> Window | None:
    if not sender.window_start or not sender.window_end:
        return None
    return Window(start=sender.window_start, end=sender.window_end, days=(sender.window_days or "").split(","),
                  zone=sender.window_zone)  # fmt: skip


def next_opening(settings: Settings, sender: Sender, moment: datetime) -> datetime:
    """``moment`` when the sender's window is open then, else when it next opens (UTC)."""
    window = window_of(sender)
    if window is None:
        return moment
    zone = ZoneInfo(window.zone) if window.zone else settings.zone
    days = {DAYS.index(d) for d in window.days}
    opening = window_opening(moment, zone, clock_time(window.start), window_end(window.end), days)
    if opening is not None:
        return opening
    return moment + RECHECK  # unreachable: a window has at least one day


def credentials_env(session: Session, sender_id: str | None) -> str | None:
    """The name of the variable holding the sender's own backend key, if it has one."""
    return session.scalar(select(Sender.credentials_env).where(Sender.id == sender_id)) if sender_id else None


def read(session: Session, settings: Settings, sender: Sender, *, events: bool = False) -> SenderRead:
    day = local_day(settings)
    found = None
    if events:
        rows = session.scalars(
            select(SenderEvent).where(SenderEvent.sender_id == sender.id)
            .order_by(SenderEvent.created_at.desc(), SenderEvent.id.desc()).limit(50)
        )  # fmt: skip
        found = [SenderEventRead.model_validate(r) for r in rows]
    return SenderRead(
        id=sender.id, email=sender.email, name=sender.name, domain=sender.email.rpartition("@")[2],
        daily_cap=sender.daily_cap, cap_today=cap_today(sender, day), sent_today=sent_on(session, sender.id, day),
        warmup_start=sender.warmup_start, warmup_step=sender.warmup_step, warmup_max=sender.warmup_max,
        min_gap_seconds=sender.min_gap_seconds, window=window_of(sender), credentials_env=sender.credentials_env,
        status=sender.status, paused_reason=sender.paused_reason, paused_by=sender.paused_by,
        paused_at=sender.paused_at, first_send_on=sender.first_send_on, last_claim_at=sender.last_claim_at,
        created_at=sender.created_at, events=found,
    )  # fmt: skip


def all_paused(session: Session, only: Sequence[str] | None = None) -> str | None:
    """Why nothing can be sent now when every sender (of the selection ``only``) is paused (None: one is
    active, or there is none yet)."""
    query = select(Sender.email, Sender.status, Sender.paused_reason).order_by(Sender.email)
    rows = session.execute(query.where(Sender.id.in_(list(only))) if only else query).all()
    if not rows or any(status == "active" for _, status, _ in rows):
        return None
    return "every sender is paused (" + "; ".join(f"{e}: {r}" for e, _, r in rows)[:300] + ")"


def capacity_left(session: Session, settings: Settings, only: Sequence[str] | None = None) -> tuple[int, int]:
    """(sends today's caps still allow, today's cap): the active senders' (of the selection ``only``)
    caps, under the ceiling ``LEADLINE_DAILY_SEND_LIMIT`` across every sender; before the first sender
    exists, the setting alone."""
    day = local_day(settings)
    ceiling = settings.daily_send_limit
    claimed = session.scalar(select(DailySendCount.sent).where(DailySendCount.day == day)) or 0
    under_ceiling = max(0, ceiling - claimed)
    if not session.scalar(select(func.count()).select_from(Sender)):
        return under_ceiling, ceiling
    senders = [s for s in all_senders(session) if s.status == "active" and (not only or s.id in only)]
    caps = {s.id: cap_today(s, day) for s in senders}
    used = dict(
        session.execute(
            select(SenderDailyCount.sender_id, SenderDailyCount.sent).where(SenderDailyCount.day == day)
        ).all()
    )
    left = sum(max(0, cap - used.get(sid, 0)) for sid, cap in caps.items())
    return min(left, under_ceiling), min(sum(caps.values()), ceiling)


def cap_reason(session: Session, settings: Settings, only: Sequence[str] | None = None) -> str:
    """Why a send goes over today's cap, in words: every sender paused, the ceiling across every sender
    (LEADLINE_DAILY_SEND_LIMIT), or the senders' own caps."""
    paused = all_paused(session, only)
    if paused is not None:
        return paused
    left, cap = capacity_left(session, settings, only)
    claimed = session.scalar(select(DailySendCount.sent).where(DailySendCount.day == local_day(settings))) or 0
    if left >= settings.daily_send_limit - claimed:  # the ceiling is what stops it
        return (f"over the daily cap of {settings.daily_send_limit} sends across every sender "
                "(LEADLINE_DAILY_SEND_LIMIT, the ceiling over the senders' own caps)")  # fmt: skip
    return f"over the daily cap of {cap} (the senders' caps today)"


# --- changing -------------------------------------------------------------------------------


def _event(session: Session, sender_id: str, kind: str, actor: str, note: str | None = None, **details: Any) -> None:
    session.add(SenderEvent(id=new_id("sev"), sender_id=sender_id, kind=kind, actor=actor[:200], note=note,
                            details=dict(details), created_at=utc_now()))  # fmt: skip


def add(session: Session, data: SenderCreate, *, actor: str) -> Sender:
    if session.scalar(select(Sender.id).where(Sender.email == data.email)) is not None:
        raise Conflict(f"{data.email} is a sender already (see `leadline senders show {data.email}`)", field="email")
    now = utc_now()
    sender = Sender(id=new_id("snd"), email=data.email, name=data.name, daily_cap=data.daily_cap,
                    warmup_start=data.warmup_start, warmup_step=data.warmup_step, warmup_max=data.warmup_max,
                    min_gap_seconds=data.min_gap_seconds, credentials_env=data.credentials_env, status="active",
                    created_at=now, updated_at=now)  # fmt: skip
    _set_window(sender, data.window)
    session.add(sender)
    session.flush()
    _event(session, sender.id, "added", actor)
    return sender


def _set_window(sender: Sender, window: Window | None) -> None:
    sender.window_start = window.start if window else None
    sender.window_end = window.end if window else None
    sender.window_days = ",".join(window.days) if window else None
    sender.window_zone = window.zone if window else None


def update_sender(session: Session, key: str, data: SenderUpdate, *, actor: str) -> Sender:
    sender = find(session, key, for_update=True)
    given = data.model_fields_set
    changes: dict[str, Any] = {}
    for name in ("name", "daily_cap", "warmup_start", "warmup_step", "warmup_max", "min_gap_seconds",
                 "credentials_env"):  # fmt: skip
        if name in given:
            value = getattr(data, name)
            if value is None and name in ("name", "daily_cap", "warmup_step", "min_gap_seconds"):
                raise Invalid("cannot be empty", field=name)
            changes[name] = value
            setattr(sender, name, value)
    if "window" in given:
        _set_window(sender, data.window)
        changes["window"] = data.window.text() if data.window else None
    if sender.warmup_start is not None and sender.warmup_max is not None and sender.warmup_max < sender.warmup_start:
        raise Invalid(f"warmupMax ({sender.warmup_max}) must not be below warmupStart ({sender.warmup_start})",
                      field="warmupMax")  # fmt: skip
    sender.updated_at = utc_now()
    _event(session, sender.id, "updated", actor, **changes)
    return sender


def pause(session: Session, key: str, reason: str, *, actor: str, figures: dict[str, object] | None = None) -> Sender:
    """Stop the sender at once: every claim from the commit on finds it paused (the status is in its UPDATE)."""
    sender = find(session, key)
    now = utc_now()
    paused = session.execute(
        update(Sender).where(Sender.id == sender.id, Sender.status == "active")
        .values(status="paused", paused_reason=reason[:2000], paused_by=actor[:200], paused_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    session.refresh(sender)
    if not paused.rowcount:  # type: ignore[attr-defined]
        raise Conflict(f"{sender.email} is paused already ({sender.paused_reason})", field="sender")
    _event(session, sender.id, "paused", actor, reason, **(figures or {}))
    title = f"Sender {sender.email} paused"
    body = reason if actor.startswith(MACHINES) else f"{reason} (by {actor})"
    payload = {"senderId": sender.id, "email": sender.email, "reason": reason, **(figures or {})}
    notify.raise_event(session, "sender_paused", f"sender_paused:{sender.id}:{now.isoformat()}", title, body=body,
                       payload=payload)  # fmt: skip
    return sender


def resume(session: Session, key: str, note: str, *, actor: str) -> Sender:
    """A person (never the worker, a webhook or an API token) resumes a paused sender, with a note."""
    if actor.startswith(MACHINES):
        raise Invalid(f"only a person may resume a sender ({actor} is not one)", field="actor")
    note = (note or "").strip()
    if not note:
        raise Invalid("say why it is safe to send again (a note is kept with the resume)", field="note")
    sender = find(session, key, for_update=True)
    if sender.status != "paused":
        raise Conflict(f"{sender.email} is not paused", field="sender")
    was = sender.paused_reason
    sender.status, sender.paused_reason, sender.paused_by, sender.paused_at = "active", None, None, None
    sender.updated_at = utc_now()
    _event(session, sender.id, "resumed", actor, note, pausedFor=was)
    # what waited on it goes now (it would look again within RECHECK anyway)
    jobs.defer(session, "emails.send_scheduled")
    jobs.defer(session, "sequences.run_due")
    return sender


def remove(session: Session, key: str, *, actor: str) -> str:
    """Remove a sender that never sent (one that did keeps its threads: pause it instead)."""
    sender = find(session, key, for_update=True)
    counted = select(func.count()).select_from(EmailActivity).where(EmailActivity.sender_id == sender.id)
    waiting = session.scalar(counted.where(EmailActivity.status == "scheduled")) or 0
    used = (session.scalar(counted) or 0) - waiting
    if used:
        raise Conflict(f"{sender.email} sent {used} emails and their threads keep it; pause it instead",
                       field="sender")  # fmt: skip
    if waiting:
        raise Conflict(f"{sender.email} has {waiting} scheduled emails written for it; cancel them or pause it "
                       "instead", field="sender")  # fmt: skip
    email = sender.email
    session.delete(sender)
    return email


def ensure_first(session: Session, settings: Settings, *, actor: str = "system") -> Sender | None:
    """The single-sender settings become the first sender when there is none (``leadline init``, the
    first send). Returns it when it was made now."""
    if session.scalar(select(Sender.id).limit(1)) is not None:
        return None
    now = utc_now()
    sender_id = new_id("snd")
    values = {
        "id": sender_id, "email": settings.sender_email.strip().lower()[:320], "name": settings.sender_name[:200],
        "daily_cap": settings.daily_send_limit, "warmup_step": 0, "min_gap_seconds": 0, "status": "active",
        "created_at": now, "updated_at": now,
    }  # fmt: skip
    session.execute(insert_ignore(session, Sender, values, ["email"]))
    made = session.get(Sender, sender_id)  # None: another process made it first
    if made is not None:
        note = "from LEADLINE_SENDER_EMAIL, LEADLINE_SENDER_NAME and LEADLINE_DAILY_SEND_LIMIT"
        _event(session, sender_id, "added", actor, note)
        session.flush()
    return made


# --- choosing a sender for one send -----------------------------------------------------------


def thread_sender(session: Session, prospect_id: str) -> str | None:
    """The sender of the prospect's first email: their follow-ups and replies come from it."""
    return session.scalar(
        select(EmailActivity.sender_id)
        .where(EmailActivity.prospect_id == prospect_id, EmailActivity.sender_id.is_not(None),
               EmailActivity.status.in_(_CLAIMED))
        .order_by(EmailActivity.created_at, EmailActivity.id).limit(1)
    )  # fmt: skip


def selection(session: Session, keys: Iterable[str] | None) -> tuple[str, ...] | None:
    """The sender ids a send or sequence may rotate across (``--sender``, ``senders`` in the API), from
    ids or addresses; None (or nothing given): every sender. An unknown or removed one is refused."""
    found: list[str] = []
    for key in keys or ():
        try:
            sender_id = find(session, key).id
        except NotFound:
            raise Invalid(f"no sender {str(key).strip()[:100]!r} (see `leadline senders list`); nothing was sent",
                          field="senders") from None  # fmt: skip
        if sender_id not in found:
            found.append(sender_id)
    return tuple(found) or None


def _rotation(session: Session, day: date, only: Sequence[str] | None) -> list[Sender]:
    """The active senders (of the selection ``only``), least used on ``day`` first, ties by id."""
    used = (
        select(SenderDailyCount.sent)
        .where(SenderDailyCount.sender_id == Sender.id, SenderDailyCount.day == day)
        .scalar_subquery()
    )
    query = select(Sender).where(Sender.status == "active").order_by(func.coalesce(used, 0), Sender.id)
    if only:
        query = query.where(Sender.id.in_(list(only)))
    return list(session.scalars(query))


class Likely:
    """The sender each message of a batch will most likely go from, to write it with (its name in
    ``{{ senderName }}``, its signature): the thread's own (its first claimed email's, else a scheduled
    one's), else the rotation's next turn among the active senders of the selection ``only`` (a batch
    takes them in turn), else the selection's first even when paused (it waits for it), else None (the
    settings' sender, before any sender exists). :func:`take` decides at the claim; a message written for
    another is written again then. A few queries per batch, not per message."""

    def __init__(
        self, session: Session, settings: Settings, prospect_ids: Iterable[str], *, only: Sequence[str] | None = None
    ) -> None:
        ids = sorted(set(prospect_ids))
        self.threads: dict[str, str] = {}
        for states in (_CLAIMED, ("scheduled",)):
            for start in range(0, len(ids), 500):
                rows = session.execute(
                    select(EmailActivity.prospect_id, EmailActivity.sender_id)
                    .where(EmailActivity.prospect_id.in_(ids[start : start + 500]),
                           EmailActivity.sender_id.is_not(None), EmailActivity.status.in_(states))
                    .order_by(EmailActivity.created_at.desc(), EmailActivity.id.desc())
                )  # fmt: skip
                found = {prospect_id: sender_id for prospect_id, sender_id in rows}  # the last kept: the first
                self.threads |= {k: v for k, v in found.items() if k not in self.threads and v}
        self.senders = {sender.id: sender for sender in all_senders(session)}
        self.rotation = _rotation(session, local_day(settings), only)
        self.fallback = self.senders.get(only[0]) if only else None
        self.turn = 0

    def __call__(self, prospect_id: str) -> Sender | None:
        own = self.threads.get(prospect_id)
        if own is not None:
            return self.senders.get(own)
        if self.rotation:
            self.turn += 1
            return self.rotation[(self.turn - 1) % len(self.rotation)]
        return self.fallback


def take(
    session: Session,
    settings: Settings,
    prospect_id: str,
    *,
    now: datetime | None = None,
    only: Sequence[str] | None = None,
    pinned: str | None = None,
) -> Sender | Wait:
    """Choose the sender of one send and take it from that sender's cap (see the module notes):
    ``pinned`` (a scheduled email, written for it: the thread's own when it was scheduled), else the
    thread's own, else the rotation over the active senders of the selection ``only`` (every sender
    when None)."""
    now = now or utc_now()
    ensure_first(session, settings)
    day = local_day(settings, now)
    own = pinned or thread_sender(session, prospect_id)  # a scheduled email was written for its pinned sender
    if own is not None:
        candidates = [s for s in [session.get(Sender, own)] if s is not None]
    elif only:
        candidates = _rotation(session, day, only)
        if not candidates:  # every sender of the selection is paused: the send waits for one
            paused = session.scalars(select(Sender).where(Sender.id.in_(list(only))).order_by(Sender.id))
            candidates = list(paused)
        if not candidates:  # removed since the selection was made (a sequence's): nothing to wait for
            return Wait("senders_gone", "none of the senders chosen for it exists any more")
    else:
        candidates = _rotation(session, day, None)
    waits: list[tuple[datetime, str, str]] = []
    full: list[str] = []
    for sender in candidates:
        if sender.status != "active":
            waits.append(_paused(sender, now))
            continue
        opening = next_opening(settings, sender, now)
        if opening > now:
            waits.append((opening, f"its sender {sender.email} is outside its sending window", "sender_wait"))
            continue
        cap = cap_today(sender, day)
        if not _reserve(session, sender.id, day, cap):
            full.append(f"{sender.email}: {cap}")
            continue
        cutoff = now - timedelta(seconds=sender.min_gap_seconds)
        claimed = session.execute(
            update(Sender)
            .where(Sender.id == sender.id, Sender.status == "active",
                   or_(Sender.min_gap_seconds == 0, Sender.last_claim_at.is_(None), Sender.last_claim_at <= cutoff))
            .values(last_claim_at=now, first_send_on=func.coalesce(Sender.first_send_on, day))
            .execution_options(synchronize_session=False)
        )  # fmt: skip
        if claimed.rowcount:  # type: ignore[attr-defined]
            session.refresh(sender)
            return sender
        release(session, sender.id, day)
        session.refresh(sender)
        if sender.status != "active":
            waits.append(_paused(sender, now))
        else:
            gap_ends = (sender.last_claim_at or now) + timedelta(seconds=sender.min_gap_seconds)
            said = f"its sender {sender.email} keeps {sender.min_gap_seconds} s between sends"
            waits.append((max(gap_ends, now + timedelta(seconds=1)), said, "sender_gap"))
    if not candidates:
        return Wait("sender_wait", "no sender is active (all are paused)", now + RECHECK)
    if waits:
        until, reason, code = min(waits)
        return Wait(code, reason, until)
    return Wait("cap", f"the daily cap of {', '.join(full)} is used up")


def _paused(sender: Sender, now: datetime) -> tuple[datetime, str, str]:
    return now + RECHECK, f"its sender {sender.email} is paused ({sender.paused_reason})", "sender_wait"


def _reserve(session: Session, sender_id: str, day: date, cap: int) -> bool:
    session.execute(insert_ignore(session, SenderDailyCount, {"sender_id": sender_id, "day": day, "sent": 0},
                                  ["sender_id", "day"]))  # fmt: skip
    taken = session.execute(
        update(SenderDailyCount)
        .where(SenderDailyCount.sender_id == sender_id, SenderDailyCount.day == day, SenderDailyCount.sent < cap)
        .values(sent=SenderDailyCount.sent + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(taken.rowcount)  # type: ignore[attr-defined]


def release(session: Session, sender_id: str | None, day: date) -> None:
    """Give a send back to the sender's cap (it definitely did not go out)."""
    if sender_id is None:
        return
    session.execute(
        update(SenderDailyCount)
        .where(SenderDailyCount.sender_id == sender_id, SenderDailyCount.day == day, SenderDailyCount.sent > 0)
        .values(sent=SenderDailyCount.sent - 1)
        .execution_options(synchronize_session=False)
    )


# --- auto-pause -------------------------------------------------------------------------------


def senders_of(session: Session, email_ids: Iterable[str]) -> set[str]:
    ids = sorted(set(email_ids))
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        found |= set(session.scalars(
            select(EmailActivity.sender_id).where(EmailActivity.id.in_(ids[start : start + 500]),
                                                  EmailActivity.sender_id.is_not(None))
        ))  # fmt: skip
    return {s for s in found if s}


def judge(session: Session, sender_ids: Sequence[str], *, actor: str) -> list[str]:
    """After a bounce or spam report is recorded (same transaction): pause each active sender whose last
    7 days pass a threshold, warn from the lower ones. Returns the senders paused now."""
    settings = settings_of(session)
    paused: list[str] = []
    for sender_id in sorted(set(sender_ids)):
        sender = session.get(Sender, sender_id)
        if sender is None or sender.status != "active":
            continue
        verdict = health.verdict(settings, health.recent(session, sender_id))
        if verdict.pause:
            pause(session, sender_id, verdict.reason, actor=actor, figures=verdict.figures)
            paused.append(sender_id)
        elif verdict.warn:
            day = local_day(settings).isoformat()
            if notify.raise_event(session, "sender_warning", f"sender_warning:{sender_id}:{verdict.kind}:{day}",
                                  f"Sender {sender.email}: {verdict.kind} rate rising", body=verdict.reason,
                                  payload={"senderId": sender_id, **verdict.figures}):  # fmt: skip
                _event(session, sender_id, "warning", actor, verdict.reason, **verdict.figures)
    return paused
