"""``X-Twilio-Signature``, exactly as Twilio computes it: HMAC-SHA1, keyed with the Auth Token, over
the full URL Twilio called (scheme, host, path and query) followed by each POST parameter's name and
value, sorted by name, with nothing between them; base64. Stdlib only."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable

HEADER = "X-Twilio-Signature"


def compute(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """The signature of a post of ``params`` (name, value pairs; a name may repeat) to ``url``."""
    data = url + "".join(name + value for name, value in sorted(params, key=lambda p: p[0]))
    digest = hmac.new(auth_token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def valid(auth_token: str, url: str, params: Iterable[tuple[str, str]], signature: str | None) -> bool:
    """Whether ``signature`` is Twilio's for this post (compared in constant time)."""
    if not signature or not auth_token:
        return False
    expected = compute(auth_token, url, params)
    return hmac.compare_digest(expected.encode("ascii"), signature.strip().encode("ascii", "replace"))
