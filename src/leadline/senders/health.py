"""Each sender's and each sending domain's health, from Leadline's own signed events: of the emails
a sender sent in a rolling window (24 hours, 7 days, 28 days), how many bounced hard, were
reported as spam or were unsubscribed from. Every figure comes with the list of the emails it
counts (``lists``), so a figure always equals the length of its list.

The auto-pause reads the 7-day window (``verdict``): hard bounces at LEADLINE_BOUNCE_PAUSE_RATE or
more once there are LEADLINE_BOUNCE_PAUSE_MIN_SENDS sends (default 5% of at least 40, a warning
from 2%), spam reports at LEADLINE_SPAM_PAUSE_RATE or more once there are
LEADLINE_SPAM_PAUSE_MIN_SENDS sends (default 0.3% of at least 500, a warning from 0.1%). The spam
minimum is 500 because below 334 sends a single complaint is already over 0.3%: one report from
a small sample says little, two out of 500 (0.4%) do.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadline.clock import utc_now
from leadline.config import Settings
from leadline.emails.models import EmailActivity

WINDOWS: dict[str, timedelta] = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "28d": timedelta(days=28)}
KINDS = ("sends", "bounces", "blocked", "spamReports", "unsubscribes")
_COLUMNS = (EmailActivity.id, EmailActivity.sender_id, EmailActivity.sent_at, EmailActivity.bounced_at,
            EmailActivity.bounce_type, EmailActivity.spam_reported_at, EmailActivity.unsubscribed_at)  # fmt: skip


@dataclass
class Figures:
    """One window's figures for one sender or domain, with the emails each one counts."""

    window: str
    since: datetime
    lists: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in KINDS})

    def count(self, kind: str) -> int:
        return len(self.lists[kind])

    def rate(self, kind: str) -> float:
        sends = self.count("sends")
        return self.count(kind) / sends if sends else 0.0

    def add(self, row: Any, as_of: datetime | None = None) -> None:
        """Count ``row`` (sent in the window); its events only when they came by ``as_of`` (a past week's report)."""

        def seen(at: datetime | None) -> bool:
            return at is not None and (as_of is None or at <= as_of)

        self.lists["sends"].append(row.id)
        if seen(row.bounced_at):
            self.lists["bounces" if row.bounce_type != "blocked" else "blocked"].append(row.id)
        if seen(row.spam_reported_at):
            self.lists["spamReports"].append(row.id)
        if seen(row.unsubscribed_at):
            self.lists["unsubscribes"].append(row.id)

    def as_dict(self) -> dict[str, Any]:
        return {
            "window": self.window, "since": self.since.isoformat(), "sends": self.count("sends"),
            "bounces": self.count("bounces"), "bounceRate": round(self.rate("bounces"), 6),
            "blocked": self.count("blocked"),
            "spamReports": self.count("spamReports"), "spamRate": round(self.rate("spamReports"), 6),
            "unsubscribes": self.count("unsubscribes"), "unsubscribeRate": round(self.rate("unsubscribes"), 6),
            "lists": {k: sorted(v) for k, v in self.lists.items()},
        }  # fmt: skip


def _rows(session: Session, since: datetime, sender_id: str | None = None, until: datetime | None = None) -> Any:
    query = select(*_COLUMNS).where(EmailActivity.sent_at >= since, EmailActivity.sender_id.is_not(None))
    if until is not None:
        query = query.where(EmailActivity.sent_at <= until)
    if sender_id is not None:
        query = query.where(EmailActivity.sender_id == sender_id)
    return session.execute(query.order_by(EmailActivity.sent_at, EmailActivity.id))


def recent(session: Session, sender_id: str, *, now: datetime | None = None) -> Figures:
    """A sender's last 7 days (what the auto-pause judges)."""
    since = (now or utc_now()) - WINDOWS["7d"]
    figures = Figures("7d", since)
    for row in _rows(session, since, sender_id):
        figures.add(row)
    return figures


def report(session: Session, *, now: datetime | None = None) -> dict[str, Any]:
    """Every sender's and every sending domain's figures for the three windows ending ``now`` (``leadline
    senders health``; the dashboard and a week's report give their week's end: what was known then)."""
    from leadline.senders.models import Sender

    as_of = now
    now = now or utc_now()
    senders = list(session.scalars(select(Sender).order_by(Sender.created_at, Sender.id)))
    domain_of = {s.id: s.email.rpartition("@")[2] for s in senders}
    by_sender: dict[str, dict[str, Figures]] = {s.id: {w: Figures(w, now - d) for w, d in WINDOWS.items()}
                                                for s in senders}  # fmt: skip
    by_domain: dict[str, dict[str, Figures]] = defaultdict(dict)
    for domain in sorted(set(domain_of.values())):
        by_domain[domain] = {w: Figures(w, now - d) for w, d in WINDOWS.items()}
    for row in _rows(session, now - WINDOWS["28d"], until=as_of):
        if row.sender_id not in by_sender:
            continue
        for window, figures in by_sender[row.sender_id].items():
            if row.sent_at >= figures.since:
                figures.add(row, as_of)
                by_domain[domain_of[row.sender_id]][window].add(row, as_of)
    return {
        "asOf": now.isoformat(),
        "senders": [
            {"id": s.id, "email": s.email, "domain": domain_of[s.id], "status": s.status,
             "pausedReason": s.paused_reason, "windows": {w: f.as_dict() for w, f in by_sender[s.id].items()}}
            for s in senders
        ],
        "domains": [{"domain": d, "windows": {w: f.as_dict() for w, f in ws.items()}} for d, ws in by_domain.items()],
    }  # fmt: skip


@dataclass
class Verdict:
    pause: bool = False
    warn: bool = False
    kind: str = ""
    reason: str = ""
    figures: dict[str, Any] = field(default_factory=dict)


def verdict(settings: Settings, figures: Figures) -> Verdict:
    """Pause, warn or nothing, from a sender's last 7 days (see the module notes for the thresholds)."""
    sends = figures.count("sends")
    found = Verdict()
    for kind, name, pause_rate, warn_rate, minimum in (
        ("bounces", "hard bounce", settings.bounce_pause_rate, settings.bounce_warn_rate,
         settings.bounce_pause_min_sends),
        ("spamReports", "spam report", settings.spam_pause_rate, settings.spam_warn_rate,
         settings.spam_pause_min_sends),
    ):  # fmt: skip
        count, rate = figures.count(kind), figures.rate(kind)
        if sends < minimum or not count:
            continue
        numbers = {"window": "7d", "sends": sends, kind: count, "rate": round(rate, 6), "threshold": pause_rate,
                   "minSends": minimum, "emailIds": sorted(figures.lists[kind])[:50]}  # fmt: skip
        said = (f"{count} {name}{'s' if count != 1 else ''} in {sends} sends over the last 7 days ({rate:.2%}; "
                f"pause at {pause_rate:.2%}, warning from {warn_rate:.2%}, judged from {minimum} sends)")  # fmt: skip
        if rate >= pause_rate:
            return Verdict(pause=True, kind=name, reason=said, figures=numbers)
        if rate >= warn_rate and not found.warn:
            found = Verdict(warn=True, kind=name, reason=said, figures=numbers)
    return found
