"""Signing in, also while someone is trying thousands of passwords.

Three short steps, so that the slow password check (Argon2id: 64 MiB and a few tenths of a second
of CPU) never runs inside a transaction (on SQLite a write transaction holds the database's only
write lock):

1. a write transaction counts the attempt, unless the client must wait or is locked
   (``service.take_attempt``: per e-mail address and client, and per e-mail address);
2. the password is checked outside any transaction;
3. if it was right, a write transaction clears the count, notes the sign-in and starts the session.

They run in a few threads of their own, never in the threadpool that serves every other request:
the sign-in route awaits each step without holding a thread, only a short queue may wait (beyond
it an attempt is refused at once, 429 with Retry-After), and the password checks run at a lower
CPU priority, so a flood of wrong passwords slows sign-ins, not the rest of the app. Browsers
that signed in to the account before (a signed ``leadline_device`` cookie) have a lane of their
own, so a flood from strangers does not keep them waiting either.

A flow (docs/architecture.md, "Flows"): it opens its own units of work, one per step, and
composes services; shells and jobs call it, services never do.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from itsdangerous import BadSignature, URLSafeTimedSerializer

from leadline.auth import service
from leadline.clock import utc_now
from leadline.config import Settings
from leadline.db import unit_of_work

WRONG = "wrong e-mail address or password"
BUSY = "too many sign-ins at once; try again in a few seconds"
BUSY_RETRY_AFTER = 2  # seconds
DEVICE_COOKIE = "leadline_device"
DEVICE_DAYS = 365
NICE = 10  # CPU priority of the password checks (the request threads' is 0)
T = TypeVar("T")


@dataclass
class SignIn:
    user_id: str | None
    error: str = ""
    retry_after: int = 0  # seconds; set when the client must wait, is locked, or the queue is full
    session_cookie: str = ""  # after a right password: the new browser session
    device_cookie: str = ""  # ... and the value that makes this browser known to the account


def _lower_priority() -> None:
    """Run this thread (and the Argon2 lane threads it starts) at a lower CPU priority."""
    with contextlib.suppress(AttributeError, OSError):  # not on every platform
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)


class _Lane:
    """Threads of its own and a short queue: waiting holds no request thread, a full queue answers at once.

    The database steps and the password checks have separate threads: only the checks run at a
    lower priority, so a thread holding SQLite's write lock is never the one left waiting for CPU."""

    def __init__(self, name: str, slots: int, queue: int) -> None:
        self.limit = slots + queue
        self.steps = ThreadPoolExecutor(slots, thread_name_prefix=f"leadline-sign-in-{name}")
        self.checks = ThreadPoolExecutor(slots, thread_name_prefix=f"leadline-password-{name}",
                                         initializer=_lower_priority)  # fmt: skip
        self.taken = 0  # attempts running or waiting, from every event loop of this process
        self._lock = threading.Lock()

    def admit(self) -> bool:
        with self._lock:
            if self.taken >= self.limit:
                return False
            self.taken += 1
            return True

    def release(self) -> None:
        with self._lock:
            self.taken -= 1

    async def step(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.steps, work)

    async def check(self, hashed: str | None, password: str) -> bool:
        work = functools.partial(service.check_password_hash, hashed, password)
        return await asyncio.get_running_loop().run_in_executor(self.checks, work)


# Per process, at most two password checks at once for new browsers and one for known ones (each
# takes 64 MiB and, in four threads, keeps two cores busy: more at once would only slow the rest);
# eight and four more may wait, a few seconds' work.
_strangers = _Lane("new", slots=2, queue=8)
_known = _Lane("known", slots=1, queue=4)


def _signer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret(), salt="leadline known browser")


def _account(email: str) -> str:
    return service.digest(email)[:32]  # the cookie names the account without showing its address


def device_cookie(settings: Settings, email: str, device: str | None = None) -> str:
    """The cookie value that makes this browser known to ``email``'s account (a new device id unless given)."""
    return _signer(settings).dumps({"a": _account(email), "d": device or secrets.token_urlsafe(16)})


def known_device(settings: Settings, value: str, email: str) -> str | None:
    """The device id of a browser whose cookie says it signed in to ``email``'s account, else None."""
    if not value or not email:
        return None
    try:
        data = _signer(settings).loads(value, max_age=DEVICE_DAYS * 86400)
    except BadSignature:  # also expired
        return None
    if not isinstance(data, dict) or data.get("a") != _account(email) or not isinstance(data.get("d"), str):
        return None
    return str(data["d"])[:40]


def _count(settings: Settings, email: str, client: str, known: bool) -> tuple[service.Attempt, tuple[str, str] | None]:
    with unit_of_work(settings) as session:
        attempt = service.take_attempt(session, settings, email, client, utc_now(), known_browser=known)
        return attempt, service.password_hash_for(session, email) if attempt.allowed else None


def _start(settings: Settings, user_id: str, client: str, password: str, device: str | None,
           user_agent: str) -> SignIn:  # fmt: skip
    with unit_of_work(settings) as session:
        user = service.signed_in(session, user_id, client, password, utc_now())
        raw = service.start_session(session, settings, user, user_agent)
        return SignIn(user.id, session_cookie=raw, device_cookie=device_cookie(settings, user.email, device))


async def sign_in(settings: Settings, email: str, password: str, *, client: str, device: str = "",
                  user_agent: str = "") -> SignIn:  # fmt: skip
    """Try a password for ``email`` from ``client`` (see ``service.client_key``), with the browser's
    ``leadline_device`` cookie if it has one. Awaits its turn in the sign-in threads."""
    email = email.strip().lower()[:254]
    known = known_device(settings, device, email)
    lane = _known if known else _strangers
    if not lane.admit():
        return SignIn(None, BUSY, BUSY_RETRY_AFTER)
    try:
        if not email:
            await lane.check(None, password)  # as long as any other wrong answer
            return SignIn(None, WRONG)
        key = f"device:{known}" if known else client
        attempt, user = await lane.step(functools.partial(_count, settings, email, key, known is not None))
        if not attempt.allowed:
            return SignIn(None, attempt.error, attempt.retry_after)
        right = await lane.check(user[1] if user else None, password)
        if not right or user is None:
            return SignIn(None, WRONG)
        return await lane.step(functools.partial(_start, settings, user[0], key, password, known, user_agent))
    finally:
        lane.release()
