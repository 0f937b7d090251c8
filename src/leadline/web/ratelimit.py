"""A per-client limit on the public pages (booking, unsubscribe): a sliding minute per client
address (an IPv6 client's /64, as the sign-in throttle counts them) and page group, kept in this
process's memory (each server process counts its own). Over the limit: 429 with Retry-After and a
plain page that says when to try again."""

from __future__ import annotations

import math
import threading
import time
from collections import deque

from fastapi import Request
from starlette.exceptions import HTTPException

from leadline.auth.service import client_key

WINDOW = 60.0
_MAX_CLIENTS = 50_000


class _Windows:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: dict[tuple[int, str, str], deque[float]] = {}

    def take(self, key: tuple[int, str, str], limit: int, now: float) -> float | None:
        """None when allowed; else the seconds until the oldest request leaves the window."""
        with self.lock:
            if len(self.seen) > _MAX_CLIENTS:  # bounded memory: forget the idle ones
                for stale in [k for k, q in self.seen.items() if not q or q[-1] < now - WINDOW]:
                    del self.seen[stale]
                for oldest in list(self.seen)[: len(self.seen) - _MAX_CLIENTS]:  # still too many: the oldest go
                    del self.seen[oldest]
            times = self.seen.setdefault(key, deque())
            while times and times[0] <= now - WINDOW:
                times.popleft()
            if len(times) >= limit:
                return times[0] + WINDOW - now
            times.append(now)
            return None


_WINDOWS = _Windows()


class TooManyRequests(HTTPException):
    def __init__(self, retry_after: float) -> None:
        seconds = max(1, math.ceil(retry_after))
        super().__init__(
            429, f"too many requests; try again in {seconds} seconds", headers={"Retry-After": str(seconds)}
        )


def limiter(group: str):  # type: ignore[no-untyped-def]
    """A route dependency: count this request against the client's limit for ``group``."""

    def check(request: Request) -> None:
        settings = request.app.state.settings
        client = client_key(request.client.host if request.client else None)
        wait = _WINDOWS.take((id(request.app), group, client), settings.public_requests_per_minute, time.monotonic())
        if wait is not None:
            raise TooManyRequests(wait)

    return check
