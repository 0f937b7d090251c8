"""Signing in: three short steps, so that the slow password check (Argon2, ~0.1 s and 64 MiB)
never runs inside a transaction (on SQLite a write transaction holds the database's only write
lock) and only a few run at once.

1. a write transaction counts the attempt, unless the address must wait or is locked;
2. the password is checked outside any transaction;
3. if it was right, a write transaction clears the count and notes the sign-in.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from leadline.auth import service
from leadline.clock import utc_now
from leadline.config import Settings
from leadline.db import unit_of_work

# At most this many password checks at once in one process (each takes 64 MiB of memory).
_checks = threading.BoundedSemaphore(4)
WRONG = "wrong e-mail address or password"


@dataclass
class SignIn:
    user_id: str | None
    error: str = ""
    retry_after: int = 0  # seconds; set when the address must wait or is locked


def sign_in(settings: Settings, email: str, password: str) -> SignIn:
    email = email.strip().lower()[:254]
    now = utc_now()
    if not email:
        with _checks:
            service.check_password_hash(None, password)
        return SignIn(None, WRONG)
    with unit_of_work(settings) as session:
        attempt = service.take_attempt(session, settings, email, now)
        known = service.password_hash_for(session, email) if attempt.allowed else None
    if not attempt.allowed:
        return SignIn(None, attempt.error, attempt.retry_after)
    with _checks:
        right = service.check_password_hash(known[1] if known else None, password)
    if not right or known is None:
        return SignIn(None, WRONG)
    with unit_of_work(settings) as session:
        user = service.signed_in(session, known[0], password, now)
        return SignIn(user.id)
