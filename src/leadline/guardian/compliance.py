"""The compliance gate: what must hold before a real backend (smtp, sendgrid) sends anything.

Standard library only (it is read by the backends and by ``Settings.warnings``): the
unsubscribe link must be HTTPS on a public host name, and the postal address must be set.
The outbox backend is exempt: it is for trying Leadline, and nothing leaves the machine.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

REAL_BACKENDS = frozenset({"smtp", "sendgrid"})
# Names that never reach the public internet (RFC 6761, RFC 6762, RFC 8375 and common practice).
_PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa", ".test", ".invalid", ".example",
                     ".intranet", ".corp", ".home")  # fmt: skip


def base_url_problem(base_url: str | None) -> str | None:
    """Why ``base_url`` cannot carry a working unsubscribe link (None: it is public HTTPS)."""
    text = (base_url or "").strip()
    if not text:
        return "is not set"
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").rstrip(".").lower()
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return f"({text[:200]!r}) is not a URL"
    if parts.scheme.lower() != "https":
        return f"({text[:200]}) is not HTTPS"
    if not host:
        return f"({text[:200]}) names no host"
    if host == "localhost" or host.endswith(_PRIVATE_SUFFIXES):
        return f"({text[:200]}) names a local host, not a public one"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if "." not in host:
            return f"({text[:200]}) names a host without a domain, not a public one"
        return None
    if address.is_loopback:
        return f"({text[:200]}) is a loopback address"
    if not address.is_global:
        return f"({text[:200]}) is a private address"
    return None


def refusal(settings: Any, backend: str) -> str | None:
    """The one line that says why ``backend`` must not send with these settings (None: it may)."""
    if backend not in REAL_BACKENDS:
        return None
    problem = base_url_problem(settings.base_url)
    if problem is not None:
        return (
            f"LEADLINE_BASE_URL {problem}: the unsubscribe link must be HTTPS on a public host name; "
            "set it to this server's public https:// address"
        )
    if not (settings.sender_address or "").strip():
        return "set LEADLINE_SENDER_ADDRESS (your postal address): commercial email must carry it"
    return None
