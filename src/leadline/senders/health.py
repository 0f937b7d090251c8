"""Each sender's and each sending domain's health, from Leadline's own signed events: of the emails
a sender sent in a rolling window (24 hours, 7 days, 28 days), how many bounced hard, were blocked,
were reported as spam or were unsubscribed from.

The report's windows are whole UTC hours. A report for the moment ``now`` (the current time, or a
past week's end: what was known then) ends at the first hour boundary at or after it (``until``:
a week's end, a local midnight, exactly in a whole-hour time zone; the current time, the end of the
current hour); a window counts the emails sent in [until - 24 h / 7 d / 28 d, until), and each of
their events that happened before ``until``. The figures come from the maintained totals
(:mod:`leadline.analytics.totals`, ``health.*``: per sender, per hour of the send and hour of the
event), so reading them costs the same at any size; each figure's list of emails, by the same
definition, is read on demand from the rows (:func:`emails`; ``report(lists=True)``,
``leadline senders health --list``, ``GET /api/senders/health/emails``), so a figure always
equals the length of its list.

The auto-pause reads one sender's exact last 7 days from the rows (``recent``, by the index on
(sender, sent time); it runs in the webhook's transaction, before the totals are written):
hard bounces at LEADLINE_BOUNCE_PAUSE_RATE or
more once there are LEADLINE_BOUNCE_PAUSE_MIN_SENDS sends (default 5% of at least 40, a warning
from 2%), spam reports at LEADLINE_SPAM_PAUSE_RATE or more once there are
LEADLINE_SPAM_PAUSE_MIN_SENDS sends (default 0.3% of at least 500, a warning from 0.1%). The spam
minimum is 500 because below 334 sends a single complaint is already over 0.3%: one report from
a small sample says little, two out of 500 (0.4%) do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from leadline.analytics.totals import HEALTH_FIGURES, hour_of
from leadline.clock import utc_now
from leadline.config import Settings
from leadline.emails.models import EmailActivity
from leadline.errors import Invalid, NotFound

WINDOWS: dict[str, timedelta] = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "28d": timedelta(days=28)}
KINDS = ("sends", "bounces", "blocked", "spamReports", "unsubscribes")
_COLUMNS = (EmailActivity.id, EmailActivity.sender_id, EmailActivity.sent_at, EmailActivity.bounced_at,
            EmailActivity.bounce_type, EmailActivity.spam_reported_at, EmailActivity.unsubscribed_at)  # fmt: skip
_HOUR = timedelta(hours=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Where each figure's list is read (``GET``), filtered as the figure is counted.
LIST_PATH = "/api/senders/health/emails"
#: The same list as a page, for a browser (the dashboard's and the weekly report's figures link there).
PAGE_PATH = "/senders/health/emails"
LABELS = {"sends": "Sends", "bounces": "Hard bounces", "blocked": "Blocked", "spamReports": "Spam reports",
          "unsubscribes": "Unsubscribes"}  # fmt: skip


def page_link(link: str) -> str:
    """A figure's list address (``links`` of :func:`report`, the API's) as the page's."""
    return PAGE_PATH + link.removeprefix(LIST_PATH) if link.startswith(LIST_PATH) else link


def window_end(now: datetime) -> datetime:
    """The end of a report's windows for the moment ``now``: the first whole UTC hour at or after it."""
    moment = now.astimezone(UTC)
    floor = moment - (moment - _EPOCH) % _HOUR
    return floor if floor == moment else floor + _HOUR


@dataclass
class Figures:
    """One window's figures for one sender or domain; with ``listed``, the emails each one counts."""

    window: str
    since: datetime
    until: datetime | None = None
    listed: bool = True
    lists: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in KINDS})
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))

    def count(self, kind: str) -> int:
        return self.counts[kind]

    def rate(self, kind: str) -> float:
        sends = self.count("sends")
        return self.count(kind) / sends if sends else 0.0

    def _put(self, kind: str, email_id: str) -> None:
        self.counts[kind] += 1
        if self.listed:
            self.lists[kind].append(email_id)

    def add(self, row: Any, until: datetime | None = None) -> None:
        """Count ``row`` (sent in the window); its events only when they came before ``until``."""

        def seen(at: datetime | None) -> bool:
            return at is not None and (until is None or at < until)

        self._put("sends", row.id)
        if seen(row.bounced_at):
            self._put("bounces" if row.bounce_type != "blocked" else "blocked", row.id)
        if seen(row.spam_reported_at):
            self._put("spamReports", row.id)
        if seen(row.unsubscribed_at):
            self._put("unsubscribes", row.id)

    def as_dict(self, links: dict[str, str] | None = None) -> dict[str, Any]:
        found: dict[str, Any] = {
            "window": self.window, "since": self.since.isoformat(),
            "until": None if self.until is None else self.until.isoformat(), "sends": self.count("sends"),
            "bounces": self.count("bounces"), "bounceRate": round(self.rate("bounces"), 6),
            "blocked": self.count("blocked"),
            "spamReports": self.count("spamReports"), "spamRate": round(self.rate("spamReports"), 6),
            "unsubscribes": self.count("unsubscribes"), "unsubscribeRate": round(self.rate("unsubscribes"), 6),
        }  # fmt: skip
        if self.listed:
            found["lists"] = {k: sorted(v) for k, v in self.lists.items()}
        if links is not None:
            found["links"] = links
        return found


def _rows(session: Session, since: datetime, sender_ids: list[str] | None = None, until: datetime | None = None) -> Any:
    query = select(*_COLUMNS).where(EmailActivity.sent_at >= since, EmailActivity.sender_id.is_not(None))
    if until is not None:
        query = query.where(EmailActivity.sent_at < until)
    if sender_ids is not None:
        query = query.where(EmailActivity.sender_id.in_(sender_ids))
    return session.execute(query.order_by(EmailActivity.sent_at, EmailActivity.id))


def recent(session: Session, sender_id: str, *, now: datetime | None = None) -> Figures:
    """A sender's exact last 7 days, from its rows (what the auto-pause judges)."""
    since = (now or utc_now()) - WINDOWS["7d"]
    figures = Figures("7d", since)
    for row in _rows(session, since, [sender_id]):
        figures.add(row)
    return figures


def _summed(session: Session, until: datetime) -> Any:
    """(figure, sender, n in 24h, n in 7d, n in 28d) from the maintained totals: the sends of the
    windows ending ``until`` (a whole hour) and their events before it."""
    end = hour_of(until)
    params: dict[str, Any] = {f"figure_{i}": figure for i, figure in enumerate(HEALTH_FIGURES.values())}
    params.update({f"since_{i}": end - int(span / _HOUR) for i, span in enumerate(WINDOWS.values())})
    params["end"] = end
    return session.execute(_SUMMED, params)


#: :func:`_summed`'s statement, made once (one text on every request: PostgreSQL's prepared
#: statements apply); ``since_i``: the first send hour of each window (:data:`WINDOWS`, the longest last).
_SUMMED = text(
    "SELECT figure, sender, "
    + ", ".join(f"sum(CASE WHEN start_day >= :since_{i} THEN n ELSE 0 END)" for i in range(len(WINDOWS)))
    + " FROM analytics_totals WHERE figure IN ("
    + ", ".join(f":figure_{i}" for i in range(len(HEALTH_FIGURES)))
    + f") AND start_day >= :since_{len(WINDOWS) - 1} AND start_day < :end AND event_day < :end"
    " GROUP BY figure, sender"
)


def _links(until: datetime, **where: str) -> dict[str, dict[str, str]]:
    """{window: {kind: the address of that figure's list}} for one sender or domain."""
    base = f"{LIST_PATH}?{urlencode({**where, 'until': until.isoformat()})}"
    return {window: {kind: f"{base}&window={window}&kind={kind}" for kind in KINDS} for window in WINDOWS}


def report(session: Session, *, now: datetime | None = None, lists: bool = False) -> dict[str, Any]:
    """Every sender's and every sending domain's figures for the three windows ending at the first
    whole hour at or after ``now`` (the current time for ``leadline senders health``; the dashboard
    and a week's report give their week's end: what was known then). From the maintained totals;
    with ``lists``, each figure's emails from the rows instead (the same definition), and each
    window's ``links`` give the address of each list."""
    from leadline.senders.models import Sender

    until = window_end(now or utc_now())
    senders = list(session.scalars(select(Sender).order_by(Sender.created_at, Sender.id)))
    domain_of = {s.id: s.email.rpartition("@")[2] for s in senders}

    def windows() -> dict[str, Figures]:
        return {w: Figures(w, until - d, until, lists) for w, d in WINDOWS.items()}

    by_sender = {s.id: windows() for s in senders}
    by_domain: dict[str, dict[str, Figures]] = {domain: windows() for domain in sorted(set(domain_of.values()))}
    if lists:
        for row in _rows(session, until - WINDOWS["28d"], sorted(by_sender), until):
            for window, figures in by_sender[row.sender_id].items():
                if row.sent_at >= figures.since:
                    figures.add(row, until)
                    by_domain[domain_of[row.sender_id]][window].add(row, until)
    else:
        kind_of = {figure: kind for kind, figure in HEALTH_FIGURES.items()}
        for figure, sender_id, *counts in _summed(session, until):
            if sender_id not in by_sender:  # a sender removed since
                continue
            for window, n in zip(WINDOWS, counts, strict=True):
                for target in (by_sender[sender_id][window], by_domain[domain_of[sender_id]][window]):
                    target.counts[kind_of[figure]] += int(n or 0)

    def shown(windows: dict[str, Figures], links: dict[str, dict[str, str]]) -> dict[str, Any]:
        return {w: f.as_dict(links[w]) for w, f in windows.items()}

    return {
        "asOf": until.isoformat(),
        "senders": [
            {"id": s.id, "email": s.email, "domain": domain_of[s.id], "status": s.status,
             "pausedReason": s.paused_reason, "windows": shown(by_sender[s.id], _links(until, sender=s.id))}
            for s in senders
        ],
        "domains": [{"domain": d, "windows": shown(ws, _links(until, domain=d))} for d, ws in by_domain.items()],
    }  # fmt: skip


def emails(
    session: Session, *, window: str, kind: str, until: datetime, sender: str | None = None, domain: str | None = None
) -> list[str]:  # fmt: skip
    """The ids of the emails one figure of :func:`report` counts (a sender's, by id or address, or a
    domain's), in the window ending ``until`` (a whole UTC hour: a report's ``asOf``), sorted."""
    from leadline.senders.models import Sender

    if window not in WINDOWS:
        raise Invalid(f"must be one of {', '.join(WINDOWS)}", field="window")
    if kind not in KINDS:
        raise Invalid(f"must be one of {', '.join(KINDS)}", field="kind")
    if until.tzinfo is None:
        raise Invalid("must be a time with its offset (a report's asOf)", field="until")
    if window_end(until) != until:
        raise Invalid("must be a whole hour (a report's asOf)", field="until")
    if (sender is None) == (domain is None):
        raise Invalid("give a sender or a domain (one of them)", field="sender")
    found = list(session.scalars(select(Sender).order_by(Sender.id)))
    if sender is not None:
        ids = [s.id for s in found if sender in (s.id, s.email)]
    else:
        ids = [s.id for s in found if s.email.rpartition("@")[2] == (domain or "").lower()]
    if not ids:
        raise NotFound(f"no sender {sender}" if sender is not None else f"no sender at {domain}")
    figures = Figures(window, until - WINDOWS[window], until)
    for row in _rows(session, figures.since, ids, until):
        figures.add(row, until)
    return sorted(figures.lists[kind])


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
