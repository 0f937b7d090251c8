"""``X-Twilio-Signature``, exactly as Twilio computes it: HMAC-SHA1, keyed with the Auth Token, over
the full URL Twilio called (scheme, host, path and query) followed by each POST parameter's name and
value, sorted by name (a name posted more than once: its distinct values in sorted order, as Twilio's
own validators take it), with nothing between them; base64. Like Twilio's validators, a signature
over the URL with the default port written out (``https://host:443/...``), or without it, is taken
too: which of the two Twilio signs follows how the URL was typed into Twilio. Stdlib only."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

HEADER = "X-Twilio-Signature"
DEFAULT_PORTS = {"https": 443, "http": 80}


def compute(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """The signature of a post of ``params`` (name, value pairs; a name may repeat) to ``url``."""
    values: dict[str, set[str]] = {}
    for name, value in params:
        values.setdefault(name, set()).add(value)
    data = url + "".join(name + value for name in sorted(values) for value in sorted(values[name]))
    digest = hmac.new(auth_token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def url_forms(url: str) -> list[str]:
    """``url`` as given, and with its scheme's default port written out or taken away."""
    parts = urlsplit(url)
    default = DEFAULT_PORTS.get(parts.scheme.lower())
    if default is None or not parts.hostname:
        return [url]
    try:
        port = parts.port
    except ValueError:
        return [url]
    host = parts.netloc.rsplit("@", 1)[-1]
    userinfo = parts.netloc[: len(parts.netloc) - len(host)]
    bare = host.rsplit(":", 1)[0] if port is not None else host
    if port is None:
        other = urlunsplit(parts._replace(netloc=f"{userinfo}{bare}:{default}"))
    elif port == default:
        other = urlunsplit(parts._replace(netloc=f"{userinfo}{bare}"))
    else:
        return [url]
    return [url, other]


def valid(auth_token: str, url: str, params: Iterable[tuple[str, str]], signature: str | None) -> bool:
    """Whether ``signature`` is Twilio's for this post (compared in constant time)."""
    if not signature or not auth_token:
        return False
    given = signature.strip().encode("ascii", "replace")
    pairs = list(params)
    found = False
    for form in url_forms(url):  # each compared, so the time taken does not say which matched
        found |= hmac.compare_digest(compute(auth_token, form, pairs).encode("ascii"), given)
    return found
