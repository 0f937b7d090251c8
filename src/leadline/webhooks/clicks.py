"""Which clicks mean a person's interest: the one rule (documented in docs/analytics.md, "Clicks").

SendGrid reports a ``click`` for every tracked link followed, whoever followed it. Leadline
sorts an email's clicks into three kinds, from the whole set of the email's events (so the
answer does not depend on the order or number of times the events arrive):

* ``leadline``: the link is Leadline's own (the unsubscribe link, a preference page). Those
  links are sent with click tracking off, so such a click only comes from an older message
  or a gateway that follows every URL; it is kept, and counts for nothing.
* ``machine``: the click looks automated. Security gateways and link scanners (Defender
  Safe Links, Proofpoint, Mimecast, Barracuda...) follow links as the message arrives,
  and SendGrid does not flag them (../shared/SENDGRID.md §6.8). A click is a machine's when
  any of these holds:

  1. its user agent names a scanner or a program, not a mail client or browser
     (:data:`SCANNER_AGENT`);
  2. it came within :data:`FAST` of delivery, before any human open (nobody reads a
     message and follows a link that fast without the message being opened);
  3. it is one of clicks on two or more different links of the email, every one of them
     within :data:`FAST` of delivery (a scanner follows every link at once).

* ``human``: every other click. Only these count: ``clickCount``, ``clickedAt``, the
  ``clicked`` status, and every clicked figure.

Machine clicks are counted apart (``machineClickCount``), as machine opens are. A click of
either kind other than ``leadline`` implies that the message was opened (as a machine open
does): ``openedAt``.

Pure functions, no database.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from leadline.webhooks.events import Seen

#: Clicks this soon after delivery are a machine's (rules 2 and 3).
FAST = timedelta(seconds=60)

#: User agents of link scanners and programs (rule 1). Mail clients and browsers never match:
#: a plain "Microsoft Office/16.0 (... Microsoft Outlook ...)" is a person in Outlook.
SCANNER_AGENT = re.compile(
    r"bot[/;)\s]|bot$|crawler|spider|scanner|\+https?://|preview|headless|phantomjs|python|curl/|wget|"
    r"go-http-client|java/|okhttp|libwww|httpclient|apache-http|node-fetch|axios/|"
    r"barracuda|mimecast|proofpoint|safelinks|symantec|messagelabs|trend ?micro|sophos|forcepoint|"
    r"fireeye|zscaler|ironport|appriver|cloudmark|avanan|checkpoint|urldefense",
    re.IGNORECASE,
)

HUMAN, MACHINE, LEADLINE = "human", "machine", "leadline"
#: Longest URL kept per link (longer ones are cut: two links alike this far count as one).
MAX_URL = 2000


def url_of(event: dict[str, Any]) -> str:
    value = event.get("url")
    return value.strip()[:MAX_URL] if isinstance(value, str) else ""


def scanner_agent(event: dict[str, Any]) -> bool:
    """Rule 1: the user agent is a scanner's or a program's (an absent one says nothing)."""
    value = event.get("useragent")
    return isinstance(value, str) and bool(SCANNER_AGENT.search(value))


def _machine_open(event: dict[str, Any]) -> bool:
    value = event.get("sg_machine_open")
    return value is True or (isinstance(value, str) and value.lower() == "true")


def classify(events: Sequence[Seen], own_link: Callable[[str], bool] | None = None) -> dict[str, str]:
    """The kind of each click among one email's events, by event key: ``human``, ``machine`` or
    ``leadline`` (see the module's docstring). ``own_link`` says whether a URL is Leadline's own."""
    clicks = [e for e in events if e.kind == "click"]
    if not clicks:
        return {}
    delivered = min((e.at for e in events if e.kind == "delivered"), default=None)
    human_opens = sorted(e.at for e in events if e.kind == "open" and not _machine_open(e.payload))
    kinds: dict[str, str] = {}
    fast: list[Seen] = []
    for click in clicks:
        url = url_of(click.payload)
        if url and own_link is not None and own_link(url):
            kinds[click.key] = LEADLINE
        elif scanner_agent(click.payload):
            kinds[click.key] = MACHINE
        elif delivered is not None and click.at - delivered < FAST:
            fast.append(click)
            opened_first = bool(human_opens) and human_opens[0] <= click.at
            kinds[click.key] = HUMAN if opened_first else MACHINE
        else:
            kinds[click.key] = HUMAN
    if len({url_of(c.payload) for c in fast}) >= 2:
        kinds.update(dict.fromkeys((c.key for c in fast), MACHINE))
    return kinds


@dataclass(frozen=True)
class LinkClicks:
    """One link of one email: how often people and machines followed it."""

    url: str
    human_clicks: int
    machine_clicks: int
    first_clicked_at: datetime  # the first click of any kind
    first_human_at: datetime | None


def links(events: Iterable[Seen], kinds: dict[str, str]) -> list[LinkClicks]:
    """Per link (URL) of one email, its human and machine clicks; Leadline's own links are left out."""
    found: dict[str, list[Any]] = {}
    for event in events:
        kind = kinds.get(event.key)
        if event.kind != "click" or kind not in (HUMAN, MACHINE):
            continue
        url = url_of(event.payload)
        row = found.setdefault(url, [0, 0, event.at, None])
        row[0 if kind == HUMAN else 1] += 1
        row[2] = min(row[2], event.at)
        if kind == HUMAN:
            row[3] = event.at if row[3] is None else min(row[3], event.at)
    return [LinkClicks(url, h, m, first, human) for url, (h, m, first, human) in sorted(found.items())]
