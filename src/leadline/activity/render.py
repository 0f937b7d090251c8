"""One line of plain text for a timeline entry (CLI, pages, notifications)."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from leadline.prospects.stages import STAGE_LABELS


def _short(value: Any, limit: int = 80) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _when(value: Any, zone: tzinfo, style: str = "full") -> str:
    """An ISO time from a timeline entry in the one format (``times.moment_text``): ``Fri 21 Nov 2025 15:00 CST``."""
    from datetime import datetime

    from leadline.times import moment_text

    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        return str(value)
    return moment_text(moment, zone, style)


def _stage(name: Any) -> str:
    return STAGE_LABELS.get(str(name), str(name))


def _monthly(value: Any, currency: str) -> str:
    """A monthly fee in the one money format (``leadline.money.amount``): ``$2,400/month``."""
    from leadline.money import amount

    if isinstance(value, int | float) and not isinstance(value, bool):
        return amount(value, currency, "month")
    return f"{value}/month"


def _call(status: str, details: dict[str, Any], zone: tzinfo) -> str:
    when = _when(details["scheduledAt"], zone) if details.get("scheduledAt") else ""
    reason = f" ({_short(details['reason'], 60)})" if details.get("reason") else ""
    if status == "scheduled":
        return f"booked for {when}"
    if status == "rescheduled":
        return f"moved from {_when(details.get('from'), zone)} to {when}{reason}"
    if status == "cancelled":
        return f"call of {when} cancelled{reason}"
    if status == "no_show":
        return f"no-show for the call of {when}"
    if status == "edited":
        return "changed " + ", ".join(details.get("changes") or {})
    parts = [str(details.get("outcome") or status)]
    seconds = details.get("durationSeconds")
    if isinstance(seconds, int):
        minutes, secs = divmod(seconds, 60)
        parts.append(f"{minutes} min" + (f" {secs} s" if secs else ""))
    if details.get("objections"):
        parts.append("objections: " + "; ".join(map(str, details["objections"])))
    if details.get("nextSteps"):
        parts.append("next: " + _short(details["nextSteps"], 60))
    if details.get("notes"):
        parts.append(_short(details["notes"], 80))
    return " · ".join(parts)


def _deal(status: str, details: dict[str, Any], currency: str) -> str:
    if status == "won":
        return f"{details.get('serviceType')} at {_monthly(details.get('monthlyFee'), currency)}"
    if status == "reopened":
        return f"back to {details.get('to')} ({_short(details.get('reason') or '', 60)})"
    return _short(details.get("reason") or "", 80)


def _count(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value}"


def _proposal(status: str, details: dict[str, Any], currency: str) -> str:
    name = f"{details.get('proposalId')} v{details.get('version')}"
    if status == "accepted":
        return f"{name} accepted by {details.get('signerName')} ({_monthly(details.get('monthlyFee'), currency)})"
    if status == "declined":
        return f"{name} declined: {_short(details.get('reason') or '', 70)}"
    if status == "viewed":
        return f"{name} opened by the prospect for the first time"
    if status == "revised":
        return f"{name}: a new version (the earlier link now says so)"
    if status == "sent":
        return f"{name} sent: {_monthly(details.get('value'), currency)}"
    return f"{name} {status}"


def _customer(status: str, details: dict[str, Any], zone: tzinfo, currency: str) -> str:
    if status == "created":
        fee = _monthly(details.get("monthlyFee"), currency)
        line = f"{details.get('customerId')}: {details.get('serviceType')}, {fee}"
        if details.get("startDate"):
            line += f" from {_when(details['startDate'], zone, 'day')}"
        return line
    if status == "updated":
        changes = details.get("changes") or {}
        return ", ".join(f"{name}: {_short(old, 20)!s} -> {_short(new, 20)!s}" for name, (old, new) in changes.items())
    line = f"{details.get('from')} -> {details.get('to')}"
    if details.get("reason"):
        line += f" ({_short(details['reason'], 60)})"
    return line


#: Where an email got to after it was sent (``emails.sync_timeline_statuses`` moves its own entry on).
_MOVED_ON = frozenset({"delivered", "opened", "clicked", "replied", "bounced"})


def _moved_on(type: str, status: str, details: dict[str, Any]) -> bool:
    """An email's own entry (made when it was sent; its events have entries of their own) whose email
    has got further since."""
    return type == "email" and not details.get("event") and not details.get("error") and status in _MOVED_ON


def shown_status(type: str, status: str, details: dict[str, Any]) -> str:
    """An entry's status as its line says it: what happened at the entry's time. An email's own entry
    says "sent" (where the email got to since is in :func:`describe`: "now opened"); read beside its
    time, "email opened" said it was opened when it was sent."""
    return "sent" if _moved_on(type, status, details) else status


def describe(type: str, status: str, details: dict[str, Any], *, zone: tzinfo, currency: str = "USD") -> str:
    if type == "stage_change":  # the stages by their names everywhere (badges, board, reports): "Scheduled -> Called"
        line = f"{_stage(details.get('from'))} -> {_stage(details.get('to'))}"
        if details.get("reason"):
            line += f" ({_short(details['reason'], 60)})"
        return line
    if type == "updated":
        changes = details.get("changes") or {}
        return ", ".join(f"{name}: {_short(old, 20)!s} -> {_short(new, 20)!s}" for name, (old, new) in changes.items())
    if type in ("created", "imported"):
        source = details.get("file") or details.get("source") or ""
        return f"from {source}" if source else ""
    if type == "email":
        event = details.get("event")
        if event == "open":
            return "opened" + (" (by a machine: mail privacy prefetch)" if details.get("machine") else "")
        if event == "click":
            line = f"clicked {_short(details.get('url') or '', 70)}"
            if details.get("counted") is False:
                return line + " (Leadline's own link: not counted)"
            return line + (" (by a machine: link scanner)" if details.get("machine") else "")
        if event in ("bounce", "dropped", "deferred"):
            kind = f" ({details['bounceType']})" if details.get("bounceType") else ""
            return _short(f"{event}{kind}: {details.get('reason') or details.get('response') or ''}", 90)
        if event:
            return str(event)
        if details.get("error"):
            return _short(f"{details.get('template') or ''}: {details['error']}", 90)
        parts = [details.get("template") or "", _short(details.get("subject") or "", 60)]
        if _moved_on(type, status, details):
            parts.append(f"now {status}")
        return " · ".join(p for p in parts if p)
    if type == "call":
        return _call(status, details, zone)
    if type == "task":
        line = _short(details.get("title") or "", 60)
        if status == "created" and details.get("dueAt"):
            line += f", due {_when(details['dueAt'], zone)}"
        if status == "done" and details.get("because"):
            line += f" ({details['because']})"
        return line
    if type == "note":
        written = _when(details.get("noteAt"), zone) if details.get("noteAt") else ""
        if status == "edited":
            return f"the note of {written} now reads: {_short(details.get('text') or '', 70)}"
        if status == "removed":
            return f"removed the note of {written} by {details.get('author')}"
        edited = f" (edited {_when(details['editedAt'], zone)})" if details.get("editedAt") else ""
        return _short(details.get("text") or "", 200) + edited
    if type == "file":
        size = details.get("size")
        what = f"{_short(details.get('name') or '', 70)} ({_count(size)} bytes, {details.get('contentType')})"
        where = f" on customer {details['customerId']}" if details.get("customerId") else ""
        return f"{'removed' if status == 'removed' else 'added'} {what}{where}"
    if type == "proposal" and details.get("proposalId"):
        return _proposal(status, details, currency)
    if type == "deal":
        return _deal(status, details, currency)
    if type == "customer":
        return _customer(status, details, zone, currency)
    if type == "sms":
        if status in ("opted_out", "opted_in"):
            verb = "opted out of texts" if status == "opted_out" else "opted back in to texts"
            return f"{details.get('number')} {verb} ({details.get('keyword') or ''})"
        arrow = "to" if details.get("direction") == "out" else "from"
        number = details.get("to") if details.get("direction") == "out" else details.get("from")
        line = f"{arrow} {number or 'their phone'}: {_short(details.get('body') or '', 80)}"
        if details.get("errorCode") or details.get("error"):
            line += f" (error {details.get('errorCode') or ''} {_short(details.get('error') or '', 40)})".replace(
                "  ", " "
            )
        return line
    if type == "reply":
        return _short(details.get("text") or details.get("replyText") or "", 80)
    if type == "reply_label":
        label = str(details.get("label") or "other").replace("_", " ")
        reason = str(details.get("reason") or "")
        named = " ".join(  # what the reason does not already say ("back 2026-12-14")
            str(details[k]) for k in ("namedPerson", "namedEmail", "namedDate") if details.get(k)
            and str(details[k]) not in reason
        )  # fmt: skip
        who = "corrected by a person" if status == "corrected" else "read by the rules"
        return _short(f"reply labelled {label} ({who}): {reason}" + (f"; {named}" if named else ""), 200)
    if type == "merged":
        moved = sum(int(n) for n in (details.get("moved") or {}).values())
        filled = ", ".join(details.get("filled") or []) or "nothing"
        records = "1 record" if moved == 1 else f"{moved} records"
        return f"{details.get('fromName')} ({details.get('from')}) merged in: {records} moved, filled {filled}"
    keys = ("reason", "note", "text", "summary", "title")
    for key in keys:
        if details.get(key):
            return _short(details[key])
    return ""
