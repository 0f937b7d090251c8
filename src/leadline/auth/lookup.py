"""Who is a user, for the services that name one (the owner of a prospect or of a task): the user
table alone, without the sign-in machinery of ``auth.service`` (Argon2). The user model is loaded
when an owner is checked, not when a command that reads prospects starts."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadline.errors import Invalid


def require_user(session: Session, email: str, *, field: str = "owner") -> None:
    """An owner is a user's email: Invalid naming ``field`` when ``email`` is no user's."""
    from leadline.auth.models import User

    if session.scalar(select(User.id).where(User.email == email.strip().lower())) is None:
        raise Invalid(f"{email[:80]!r} is not a user (see leadline users list)", field=field)
