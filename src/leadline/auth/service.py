"""Users, passwords, sign-in throttling, browser sessions and API tokens.

Secrets that let someone in (session cookies, API tokens, set-password links) are random
values of 256 bits; only their SHA-256 is stored. Passwords are hashed with Argon2id.
Like every service, nothing here commits: the caller's unit of work does.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from leadline.auth.models import ROLES, SCOPES, ApiToken, LoginThrottle, User, WebSession
from leadline.clock import utc_now
from leadline.config import Settings
from leadline.db import insert_ignore
from leadline.errors import Conflict, Invalid, NotFound
from leadline.fields import require_one_line, text_problem
from leadline.ids import new_id

MIN_PASSWORD = 10
SET_PASSWORD_HOURS = 72
TOKEN_PREFIX = "ll_"  # noqa: S105 (not a secret: marks Leadline tokens)
_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the e-mail is unknown, so that a wrong address takes as long as a
    wrong password. Made on first need: hashing costs 0.2 s and Argon2's 64 MB, which every
    process importing this module (the server, the worker, most commands) would otherwise pay."""
    return _hasher.hash("not a password of anyone's")


def prepare_sign_in() -> None:
    """What the server does before it answers: make the dummy hash, so that the first sign-in
    with an unknown address takes no longer than later ones."""
    _dummy_hash()


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normalise_email(value: str) -> str:
    email = value.strip().lower()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or any(c.isspace() for c in email) or len(email) > 254 or text_problem(email):
        raise Invalid(f"not an e-mail address: {value!r}", field="email")
    return email


def check_role(role: str) -> str:
    if role not in ROLES:
        raise Invalid(f"unknown role {role!r}: use one of {', '.join(ROLES)}", field="role")
    return role


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"the password must have at least {MIN_PASSWORD} characters", field="password")
    if len(password) > 1024:
        raise Invalid("the password is longer than 1024 characters", field="password")
    return password


# --- users ------------------------------------------------------------------------------------


def get_user(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise NotFound(f"no user {email!r}", field="email")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.email)))


def first_active(session: Session, role: str) -> User | None:
    """The longest-standing user with ``role`` who is not disabled, if any."""
    return session.scalar(
        select(User).where(User.role == role, User.disabled_at.is_(None)).order_by(User.created_at, User.id).limit(1)
    )


def lock(session: Session, user_id: str) -> None:
    """Hold the user's row until the transaction ends (``SELECT ... FOR UPDATE`` on PostgreSQL;
    SQLite's write transactions are serial already)."""
    session.execute(select(User.id).where(User.id == user_id).with_for_update())


def add_user(session: Session, email: str, role: str, password: str | None = None) -> User:
    """A new user, with a password, or (``password=None``) waiting for a set-password link."""
    email = normalise_email(email)
    check_role(role)
    if password is not None:
        check_password(password)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"a user {email} already exists", field="email")
    user = User(id=new_id("usr"), email=email, role=role,
                password_hash=_hasher.hash(password) if password is not None else None)  # fmt: skip
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, user: User, password: str) -> None:
    user.password_hash = _hasher.hash(check_password(password))
    user.set_password_hash = None
    user.set_password_expires_at = None
    # A new password signs every browser out.
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    _forget_failures(session, user.email)


def set_password_link(session: Session, settings: Settings, user: User) -> str:
    """A one-time link (valid for three days) at which the user chooses a password."""
    raw = secrets.token_urlsafe(32)
    user.set_password_hash = digest(raw)
    user.set_password_expires_at = utc_now() + timedelta(hours=SET_PASSWORD_HOURS)
    return f"{settings.base_url}/set-password?token={raw}"


def user_for_link(session: Session, raw: str) -> User:
    user = session.scalar(select(User).where(User.set_password_hash == digest(raw))) if raw else None
    if user is None or user.set_password_expires_at is None or user.set_password_expires_at <= utc_now():
        raise Invalid("this set-password link is not valid (used or expired); ask an admin for a new one",
                      field="token")  # fmt: skip
    return user


def change_role(session: Session, email: str, role: str) -> User:
    user = get_user(session, email)
    check_role(role)
    if user.role == "admin" and role != "admin":
        _keep_an_admin(session, user)
    user.role = role
    return user


def remove_user(session: Session, email: str) -> User:
    user = get_user(session, email)
    if user.role == "admin":
        _keep_an_admin(session, user)
    session.delete(user)
    session.flush()
    return user


def _keep_an_admin(session: Session, user: User) -> None:
    others = session.scalar(select(func.count()).select_from(User).where(User.role == "admin", User.id != user.id))
    if not others:
        raise Conflict(f"{user.email} is the last admin; make someone else admin first", field="email")


# --- signing in -------------------------------------------------------------------------------


ACCOUNT = "*"  # the client of an account's own row: its failures from every browser not known to it


@dataclass
class Attempt:
    """Whether a sign-in attempt may check its password now; if not, for how long and why."""

    allowed: bool
    error: str = ""
    retry_after: int = 0  # seconds


@dataclass
class LockState:
    """Sign-in locks in force on one e-mail address (short waits between tries are not locks)."""

    until: datetime  # when the last of them ends
    account: bool  # locked for every browser that has not signed in to it before
    clients: int  # addresses (or known browsers) locked out on their own


def client_key(host: str | None) -> str:
    """The throttle's name for a client address: the address, or for IPv6 its /64 network (one
    subscriber usually holds a whole /64, so counting single IPv6 addresses would slow no one)."""
    try:
        address = ipaddress.ip_address((host or "").strip())
    except ValueError:
        return (host or "unknown").strip()[:60] or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)


def _wait_after(failures: int) -> float:
    """Seconds to wait before the next try: none for the first two mistakes, then 1, 2, 4... (at most 30)."""
    return 0.0 if failures < 2 else float(min(30, 2 ** (failures - 2)))


def _count(session: Session, email: str, client: str, now: datetime) -> int | None:
    """Count one attempt on the row (email, client) unless it must wait or is locked: one conditional
    UPDATE, so attempts arriving at once in several processes are counted one after another."""
    session.execute(insert_ignore(session, LoginThrottle, {"email": email, "client": client, "failures": 0},
                                  ["email", "client"]))  # fmt: skip
    counted: int | None = session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.email == email, LoginThrottle.client == client)
        .where(LoginThrottle.locked_until.is_(None) | (LoginThrottle.locked_until <= now))
        .values(failures=LoginThrottle.failures + 1, last_failure_at=now)
        .returning(LoginThrottle.failures)
    ).scalar_one_or_none()
    return counted


def _row(email: str, client: str) -> Any:
    return update(LoginThrottle).where(LoginThrottle.email == email, LoginThrottle.client == client)


def _refused(session: Session, email: str, client: str, now: datetime) -> Attempt:
    row = session.execute(select(LoginThrottle.failures, LoginThrottle.locked_until)
                          .where(LoginThrottle.email == email, LoginThrottle.client == client)).one()  # fmt: skip
    wait = max(1, math.ceil((row.locked_until - now).total_seconds()))
    if client == ACCOUNT:
        message = (f"too many failed sign-ins to this account from elsewhere: locked for new browsers; "
                   f"try again in {_duration(wait)}, or from a browser that signed in here before")  # fmt: skip
        return Attempt(False, message, wait)
    if row.failures == 0:  # the long lock (the count starts again after it)
        return Attempt(False, f"too many failed sign-ins: locked; try again in {_duration(wait)}", wait)
    return Attempt(False, f"too many failed sign-ins: try again in {_duration(wait)}", wait)


def take_attempt(
    session: Session, settings: Settings, email: str, client: str, now: datetime, *, known_browser: bool = False
) -> Attempt:
    """Count a sign-in attempt *before* its password is checked, unless it must wait or is locked.

    Two counts: one per e-mail address and client (an address, or a browser that signed in to this
    account before: ``device:<id>``), which slows then locks that client alone; and, for clients
    that are not a known browser, one per e-mail address (``client='*'``), a much higher ceiling
    that locks the account for every new browser. So a stranger locks out only themself, many
    strangers lock out only new browsers, and a user's own browser keeps getting in."""
    if secrets.randbelow(100) == 0:  # now and then (and before taking any row), forget counts idle for a day
        session.execute(delete(LoginThrottle).where(
            LoginThrottle.last_failure_at.is_(None) | (LoginThrottle.last_failure_at < now - timedelta(days=1)),
            LoginThrottle.locked_until.is_(None) | (LoginThrottle.locked_until <= now),
        ))  # fmt: skip
    counted = _count(session, email, client, now)
    if counted is None:
        return _refused(session, email, client, now)
    if not known_browser:
        total = _count(session, email, ACCOUNT, now)
        if total is None:  # the account is locked for new browsers: this attempt is not checked, nor counted
            session.execute(_row(email, client).values(failures=LoginThrottle.failures - 1))
            return _refused(session, email, ACCOUNT, now)
        if total >= settings.login_account_max_failures:
            lock = now + timedelta(seconds=settings.login_lockout_seconds)
            session.execute(_row(email, ACCOUNT).values(locked_until=lock, failures=0))
    if counted >= settings.login_max_failures:
        values: dict[str, Any] = {"locked_until": now + timedelta(seconds=settings.login_lockout_seconds),
                                  "failures": 0}  # fmt: skip
    else:
        wait_for = _wait_after(counted)
        values = {"locked_until": now + timedelta(seconds=wait_for) if wait_for else None}
    session.execute(_row(email, client).values(**values))
    return Attempt(True)


def lock_states(session: Session, now: datetime, email: str | None = None) -> dict[str, LockState]:
    """Sign-in locks in force, by e-mail address."""
    query = select(LoginThrottle.email, LoginThrottle.client, LoginThrottle.locked_until).where(
        LoginThrottle.failures == 0, LoginThrottle.locked_until > now
    )
    rows = session.execute(query if email is None else query.where(LoginThrottle.email == email)).all()
    states: dict[str, LockState] = {}
    for row in rows:
        state = states.setdefault(row.email, LockState(row.locked_until, False, 0))
        state.until = max(state.until, row.locked_until)
        if row.client == ACCOUNT:
            state.account = True
        else:
            state.clients += 1
    return states


def unlock(session: Session, email: str) -> tuple[str, int]:
    """Forget every failed sign-in to a user's account, from every client: their address and how many locks ended."""
    user = get_user(session, email)
    state = lock_states(session, utc_now(), user.email).get(user.email)
    _forget_failures(session, user.email)
    return user.email, (state.clients + int(state.account)) if state else 0


def _forget_failures(session: Session, email: str) -> None:
    # The clients' rows first, then the account's: the order in which attempts lock them.
    session.execute(delete(LoginThrottle).where(LoginThrottle.email == email, LoginThrottle.client != ACCOUNT))
    session.execute(delete(LoginThrottle).where(LoginThrottle.email == email, LoginThrottle.client == ACCOUNT))


def password_hash_for(session: Session, email: str) -> tuple[str, str] | None:
    """(user id, password hash) of a user who may sign in with a password, else None."""
    row = session.execute(
        select(User.id, User.password_hash).where(User.email == email, User.disabled_at.is_(None))
    ).first()
    if row is None or not row.password_hash:
        return None
    return str(row.id), str(row.password_hash)


def check_password_hash(hashed: str | None, password: str) -> bool:
    """Argon2 verification; with no hash, a dummy one is checked so that every answer takes as long."""
    matched = _verify(hashed or _dummy_hash(), password)
    return matched and hashed is not None


def signed_in(session: Session, user_id: str, client: str, password: str, now: datetime) -> User:
    """After a right password: this client's count is cleared, and the account's (a lock in force
    on new browsers stays until it ends); the login is noted, the hash renewed if due."""
    user = session.get(User, user_id)
    if user is None or user.disabled_at is not None or not user.password_hash:
        raise NotFound("this user no longer exists", field="email")
    session.execute(delete(LoginThrottle).where(LoginThrottle.email == user.email, LoginThrottle.client == client))
    session.execute(_row(user.email, ACCOUNT).values(failures=0))
    session.execute(delete(LoginThrottle).where(
        LoginThrottle.email == user.email, LoginThrottle.client == ACCOUNT,
        LoginThrottle.locked_until.is_(None) | (LoginThrottle.locked_until <= now),
    ))  # fmt: skip
    user.last_login_at = now
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def password_matches(user: User, password: str) -> bool:
    return bool(user.password_hash) and _verify(user.password_hash or "", password)


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _duration(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} s"
    return f"{math.ceil(seconds / 60)} min"


# --- browser sessions -------------------------------------------------------------------------


def start_session(session: Session, settings: Settings, user: User, user_agent: str = "") -> str:
    """Record a signed-in browser; returns the cookie value (shown to nobody else)."""
    raw = secrets.token_urlsafe(32)
    now = utc_now()
    session.add(WebSession(id_hash=digest(raw), user_id=user.id, csrf_token=secrets.token_urlsafe(32),
                           user_agent=user_agent[:300], created_at=now, last_seen_at=now,
                           expires_at=now + timedelta(seconds=settings.session_max_age_seconds)))  # fmt: skip
    # Sessions that ran out are cleared as others begin.
    session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    return raw


def find_session(session: Session, raw: str) -> tuple[WebSession, User] | None:
    if not raw:
        return None
    row = session.execute(
        select(WebSession, User).join(User, User.id == WebSession.user_id).where(WebSession.id_hash == digest(raw))
    ).first()
    if row is None:
        return None
    web, user = row
    if web.expires_at <= utc_now() or user.disabled_at is not None:
        return None
    return web, user


def end_session(session: Session, raw: str) -> None:
    if raw:
        session.execute(delete(WebSession).where(WebSession.id_hash == digest(raw)))


# --- API tokens -------------------------------------------------------------------------------


def create_token(session: Session, name: str, scope: str, created_by: str) -> tuple[ApiToken, str]:
    """A new token; returns the row and the token itself, which is not stored and cannot be shown again."""
    name = require_one_line(name.strip(), "name")
    if not name or len(name) > 100:
        raise Invalid("a token needs a name of 1 to 100 characters", field="name")
    if scope not in SCOPES:
        raise Invalid(f"unknown scope {scope!r}: use read or write", field="scope")
    taken = session.scalar(select(ApiToken.id).where(ApiToken.name == name, ApiToken.revoked_at.is_(None)))
    if taken is not None:
        raise Conflict(f"a token named {name!r} exists; revoke it or choose another name", field="name")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(id=new_id("tok"), name=name, scope=scope, token_hash=digest(raw), prefix=raw[:9],
                     created_by=created_by)  # fmt: skip
    session.add(token)
    session.flush()
    return token, raw


def list_tokens(session: Session, *, include_revoked: bool = False) -> list[ApiToken]:
    query = select(ApiToken).order_by(ApiToken.created_at)
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    return list(session.scalars(query))


def revoke_token(session: Session, id_or_name: str) -> ApiToken:
    token = session.get(ApiToken, id_or_name) or session.scalar(
        select(ApiToken).where(ApiToken.name == id_or_name, ApiToken.revoked_at.is_(None))
    )
    if token is None or token.revoked_at is not None:
        raise NotFound(f"no active token {id_or_name!r} (see `leadline tokens list`)", field="token")
    token.revoked_at = utc_now()
    return token


def find_token(session: Session, raw: str) -> ApiToken | None:
    if not raw.startswith(TOKEN_PREFIX):
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(raw)))
    if token is None or token.revoked_at is not None:
        return None
    return token


def touch_token(session: Session, token_id: str) -> None:
    """Note when a token was last used (at most once a minute, to keep reads from writing)."""
    now = utc_now()
    session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id)
        .where((ApiToken.last_used_at.is_(None)) | (ApiToken.last_used_at < now - timedelta(minutes=1)))
        .values(last_used_at=now)
    )
