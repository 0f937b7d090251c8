"""One line of plain text for a timeline entry (CLI, pages, notifications)."""

from __future__ import annotations

from typing import Any


def _short(value: Any, limit: int = 80) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe(type: str, status: str, details: dict[str, Any]) -> str:
    if type == "stage_change":
        line = f"{details.get('from')} -> {details.get('to')}"
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
            return f"clicked {_short(details.get('url') or '', 70)}"
        if event in ("bounce", "dropped", "deferred"):
            kind = f" ({details['bounceType']})" if details.get("bounceType") else ""
            return _short(f"{event}{kind}: {details.get('reason') or details.get('response') or ''}", 90)
        if event:
            return str(event)
        if details.get("error"):
            return _short(f"{details.get('template') or ''}: {details['error']}", 90)
        parts = [details.get("template") or "", _short(details.get("subject") or "", 60)]
        return " · ".join(p for p in parts if p)
    if type == "call":
        parts = []
        if details.get("outcome"):
            parts.append(str(details["outcome"]))
        if details.get("objections"):
            parts.append("objections: " + ", ".join(map(str, details["objections"])))
        if details.get("scheduledAt"):
            parts.append(f"at {details['scheduledAt']}")
        return "; ".join(parts)
    if type == "reply":
        return _short(details.get("text") or details.get("replyText") or "", 80)
    keys = ("reason", "note", "text", "summary", "title")
    for key in keys:
        if details.get(key):
            return _short(details[key])
    return ""
