"""Reading SendGrid events, and what an email's events add up to.

Pure functions, no database. The key idea: an email's state is computed from the
*set* of its events, never changed step by step, so the result is the same whatever
order the events arrive in and however many times each one does (SendGrid retries,
re-batches, and delivers out of order; ../shared/SENDGRID.md §1.5).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from leadline import jsonin
from leadline.webhooks import clicks as click_rule

CUSTOM_ARG = "leadline_email_id"

DELIVERY_TYPES = frozenset({"processed", "dropped", "delivered", "deferred", "bounce"})
ENGAGEMENT_TYPES = frozenset({"open", "click", "spamreport", "unsubscribe", "group_unsubscribe", "group_resubscribe"})
KNOWN_TYPES = DELIVERY_TYPES | ENGAGEMENT_TYPES | {"account_status_change"}

# SendGrid drops a message when its own suppression lists hold the address; mirror them.
DROP_SUPPRESSIONS = {
    "bounced address": "hard_bounce",
    "unsubscribed address": "unsubscribe",
    "spam reporting address": "spam_report",
    "invalid": "invalid",
}


class BadEvent(ValueError):
    pass


def event_key(event: dict[str, Any]) -> str:
    """``sg_event_id`` (SendGrid's dedup key), else a hash of the event itself."""
    key = event.get("sg_event_id")
    if isinstance(key, str) and key.strip():
        return key.strip()[:200]
    canonical = json.dumps(event, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def event_type(event: dict[str, Any]) -> str:
    kind = event.get("event")
    return kind.strip().lower()[:40] if isinstance(kind, str) and kind.strip() else "unknown"


def occurred_at(event: dict[str, Any], default: datetime) -> datetime:
    """The event's time: Unix seconds (milliseconds tolerated), else when we received it."""
    stamp = event.get("timestamp")
    if isinstance(stamp, bool) or not isinstance(stamp, int | float | str):
        return default
    try:
        seconds = float(stamp)
    except ValueError:
        return default
    if seconds > 1e12:
        seconds /= 1000
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return default


def address(event: dict[str, Any]) -> str | None:
    value = event.get("email")
    return value.strip().lower()[:320] if isinstance(value, str) and value.strip() else None


def our_email_id(event: dict[str, Any]) -> str | None:
    value = event.get(CUSTOM_ARG)
    return value if isinstance(value, str) and value.startswith("email_") else None


def message_prefix(event: dict[str, Any]) -> str | None:
    """The X-Message-Id part of ``sg_message_id`` (everything before the first dot)."""
    value = event.get("sg_message_id")
    if not isinstance(value, str) or not value:
        return None
    prefix = value.split(".", 1)[0]
    return prefix or None


def is_machine_open(event: dict[str, Any]) -> bool:
    value = event.get("sg_machine_open")
    return value is True or (isinstance(value, str) and value.lower() == "true")


def bounce_kind(event: dict[str, Any]) -> str:
    """``bounce`` (hard: the address is bad) or ``blocked`` (the message or our IP was refused)."""
    value = event.get("type")
    return "blocked" if isinstance(value, str) and value.lower() == "blocked" else "bounce"


def text(event: dict[str, Any], key: str, limit: int = 1000) -> str | None:
    value = event.get(key)
    if value is None:
        return None
    return str(value)[:limit]


@dataclass(frozen=True)
class Seen:
    """One stored event, as the state computation needs it."""

    key: str
    kind: str
    at: datetime
    payload: dict[str, Any]


def _first(events: Iterable[Seen]) -> Seen | None:
    return min(events, key=lambda e: (e.at, e.key), default=None)


def email_state(
    events: list[Seen], *, replied: bool, base_status: str, own_link: Callable[[str], bool] | None = None
) -> dict[str, Any]:
    """The email's event-driven fields and status from all of its events. Only clicks by people on
    links that are not Leadline's own count as clicks (the rule: :mod:`.clicks`); ``own_link`` says
    whether a URL is Leadline's own."""
    by_kind: dict[str, list[Seen]] = {}
    for event in events:
        by_kind.setdefault(event.kind, []).append(event)
    opens = by_kind.get("open", [])
    kinds = click_rule.classify(events, own_link)
    everyone = [c for c in by_kind.get("click", []) if kinds[c.key] != click_rule.LEADLINE]
    clicks = [c for c in everyone if kinds[c.key] == click_rule.HUMAN]
    bounces = by_kind.get("bounce", [])
    drops = by_kind.get("dropped", [])
    delivered = _first(by_kind.get("delivered", []))
    first_open = _first([*opens, *everyone])  # a click (a person's or a machine's) implies an open
    first_click = _first(clicks)
    hard = [b for b in bounces if bounce_kind(b.payload) == "bounce"]
    bounce = _first(hard) or _first(bounces)
    drop = _first(drops)
    spam = _first(by_kind.get("spamreport", []))
    unsub = _first([*by_kind.get("unsubscribe", []), *by_kind.get("group_unsubscribe", [])])
    state: dict[str, Any] = {
        "delivered_at": delivered.at if delivered else None,
        "opened_at": first_open.at if first_open else None,
        "open_count": len(opens),
        "machine_open_count": sum(1 for o in opens if is_machine_open(o.payload)),
        "clicked_at": first_click.at if first_click else None,
        "click_count": len(clicks),
        "machine_click_count": len(everyone) - len(clicks),
        "bounced_at": bounce.at if bounce else None,
        "bounce_reason": text(bounce.payload, "reason") if bounce else None,
        "bounce_type": bounce_kind(bounce.payload) if bounce else None,
        "spam_reported_at": spam.at if spam else None,
        "unsubscribed_at": unsub.at if unsub else None,
    }
    if drop is not None:
        state["failed_at"] = drop.at
        state["error"] = f"SendGrid dropped it: {text(drop.payload, 'reason') or 'no reason given'}"
    # Each later state outranks the earlier ones; a bigger set of events never ranks lower.
    if replied:
        status = "replied"
    elif bounce is not None:
        status = "bounced"
    elif drop is not None:
        status = "failed"
    elif clicks:
        status = "clicked"
    elif opens or everyone:
        status = "opened"
    elif delivered is not None:
        status = "delivered"
    else:
        status = base_status
    state["status"] = status
    return state


@dataclass(frozen=True)
class AddressVerdict:
    suppressed: bool
    reason: str | None  # a suppressions.reason when suppressed
    event: Seen | None


def address_verdict(events: list[Seen]) -> AddressVerdict | None:
    """What an address's events say about emailing it again (None: they say nothing)."""
    permanent: list[tuple[Seen, str]] = []
    group: list[Seen] = []
    for event in events:
        if event.kind == "bounce" and bounce_kind(event.payload) == "bounce":
            permanent.append((event, "hard_bounce"))
        elif event.kind == "spamreport":
            permanent.append((event, "spam_report"))
        elif event.kind == "unsubscribe":
            permanent.append((event, "unsubscribe"))
        elif event.kind == "dropped":
            reason = DROP_SUPPRESSIONS.get((text(event.payload, "reason") or "").strip().lower())
            if reason:
                permanent.append((event, reason))
        elif event.kind in ("group_unsubscribe", "group_resubscribe"):
            group.append(event)
    if permanent:
        first, reason = min(permanent, key=lambda pair: (pair[0].at, pair[0].key))
        return AddressVerdict(True, reason, first)
    if group:
        last = max(group, key=lambda e: (e.at, e.key))
        return AddressVerdict(last.kind == "group_unsubscribe", "group_unsubscribe", last)
    return None


def _storable_text(value: str) -> str:
    if "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def storable(value: Any) -> Any:
    """``value`` with every string made storable in any database: PostgreSQL refuses NUL in
    text and JSON, and no driver can encode a lone surrogate (JSON may carry both).

    A copy made without recursion (an explicit stack), so no nesting can exhaust the stack;
    what arrives from outside is already refused past ``leadline.jsonin.MAX_DEPTH`` levels."""
    if isinstance(value, str):
        return _storable_text(value)
    if not isinstance(value, list | dict):
        return value
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(value, root, 0)]  # (source, parent copy, key in it)
    while stack:
        item, parent, key = stack.pop()
        if isinstance(item, str):
            parent[key] = _storable_text(item)
        elif isinstance(item, list):
            copy: Any = [None] * len(item)
            parent[key] = copy
            stack.extend((child, copy, index) for index, child in enumerate(item))
        elif isinstance(item, dict):
            copy = {}
            parent[key] = copy
            for name, child in item.items():
                name = _storable_text(str(name))
                copy[name] = None  # keeps the order of the keys
                stack.append((child, copy, name))
        else:
            parent[key] = item
    return root[0]


def parse_batch(body: bytes) -> list[dict[str, Any]]:
    """A webhook body must be a JSON array of objects (strict JSON, at most
    ``jsonin.MAX_DEPTH`` levels deep); anything else is refused whole."""
    try:
        data = jsonin.loads(body)
    except jsonin.NotJson as error:
        raise BadEvent(f"the body is {error}") from None
    if not isinstance(data, list):
        raise BadEvent("the body must be a JSON array of events")
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise BadEvent(f"item {index} of the array is not an object")
    if _UNSTORABLE.search(body) is None:
        return data  # no string in it can hold a NUL or a lone surrogate: storable() would copy it unchanged
    return [storable(item) for item in data]


# What can put a NUL or a lone surrogate into a string parsed from a JSON text: a NUL byte (which
# also makes ``json`` read the text as UTF-16 or UTF-32), a \u0000 or \uD800-\uDFFF escape, or a
# surrogate encoded in UTF-8 (ED A0-BF, which ``json`` decodes with "surrogatepass"). A body
# without any of them needs no storable() pass; one with them (or a harmless look-alike) gets it.
_UNSTORABLE = re.compile(rb"\x00|\\u(?:0000|[dD][89a-fA-F])|\xed[\xa0-\xbf]")
