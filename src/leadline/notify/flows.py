"""Delivering notifications to Slack, by email to the team's address, and by email to the user it is
for (its ``recipient``: the prospect's or task's owner, when an active user), each exactly once.

A notification is claimed (``pending`` -> ``sending``, one worker wins), posted, and its
outcome recorded. Slack errors that are safe to retry (429, 5xx, no connection) put it
back to ``pending`` with a growing delay; a post whose outcome is unknown is never
repeated, so nobody gets the same Slack message twice.

A flow (docs/architecture.md, "Flows"): it opens its own units of work, one per step, and
composes services; shells and jobs call it, services never do.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from leadline import jobs
from leadline.auth import service as users
from leadline.clock import utc_now
from leadline.config import Settings
from leadline.db import unit_of_work
from leadline.emails.backends import get_backend
from leadline.emails.message import Outgoing, text_to_html
from leadline.errors import NotFound
from leadline.notify import service
from leadline.notify.models import Notification
from leadline.notify.slack import SlackError, blocks, post

BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=6))
MAX_ATTEMPTS = len(BACKOFF) + 1
STUCK_AFTER = timedelta(minutes=10)


@dataclass
class Delivery:
    id: str
    status: str
    channels: list[str]
    error: str | None = None


def channels(settings: Settings) -> list[str]:
    found = []
    if settings.slack_webhook_url is not None and settings.slack_webhook_url.get_secret_value():
        found.append("slack")
    if settings.notify_email:
        found.append("email")
    return found


def deliver(settings: Settings, notification_id: str, *, quick_retries: int = 2) -> Delivery | None:
    """Claim and deliver one notification; None if it is not due (or another worker has it)."""
    now = utc_now()
    with unit_of_work(settings) as session:
        claimed = session.execute(
            update(Notification)
            .where(
                Notification.id == notification_id,
                Notification.status == "pending",
                (Notification.next_attempt_at.is_(None)) | (Notification.next_attempt_at <= now),
            )
            .values(status="sending", claimed_at=now, attempts=Notification.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if not claimed.rowcount:  # type: ignore[attr-defined]
            return None
        row = session.get(Notification, notification_id)
        assert row is not None
        title, body, kind, done = row.title, row.body, row.kind, list(row.channels)
        attempts, prospect_id = row.attempts, row.prospect_id
        owner = _active_user(session, row.recipient)
    wanted = channels(settings)
    if owner is not None and owner != (settings.notify_email or "").lower():
        wanted.append("owner")  # the team's address already gets it when it is the owner's
    if not wanted:
        return _finish(settings, notification_id, "recorded", done, None)
    link = f"{settings.base_url}/prospects/{prospect_id}" if prospect_id else None
    error: SlackError | None = None
    if "slack" in wanted and "slack" not in done:
        assert settings.slack_webhook_url is not None
        message = blocks(title, body, link=link, kind=kind)
        with httpx.Client(timeout=10) as client:
            for attempt in range(quick_retries + 1):
                try:
                    post(client, settings.slack_webhook_url.get_secret_value(), message)
                    done.append("slack")
                    error = None
                    break
                except SlackError as failure:
                    error = failure
                    if not failure.retry or attempt == quick_retries:
                        break
                    time.sleep(min(failure.retry_after or 2**attempt * 0.5, 5))
    if "email" in wanted and "email" not in done:
        try:
            assert settings.notify_email is not None
            _email(settings, notification_id, title, body, link, to=settings.notify_email)
            done.append("email")
        except Exception as failure:  # the email channel failing must not lose the Slack outcome
            error = error or SlackError(f"email: {failure}", retry=True)
    if "owner" in wanted and "owner" not in done:
        assert owner is not None
        try:
            _email(settings, f"{notification_id}-owner", title, body, link, to=owner)
            done.append("owner")
        except Exception as failure:  # nor the owner's email the others'
            error = error or SlackError(f"owner email: {failure}", retry=True)
    if error is None:
        return _finish(settings, notification_id, "sent", done, None)
    if error.retry and attempts < MAX_ATTEMPTS:
        return _finish(settings, notification_id, "pending", done, str(error), retry_in=BACKOFF[attempts - 1])
    return _finish(settings, notification_id, "failed", done, str(error))


def _finish(
    settings: Settings, notification_id: str, status: str, done: list[str], error: str | None,
    retry_in: timedelta | None = None,
) -> Delivery:  # fmt: skip
    with unit_of_work(settings) as session:
        row = session.get(Notification, notification_id, with_for_update=True)
        assert row is not None
        row.status = status
        row.channels = done
        row.last_error = error
        row.next_attempt_at = utc_now() + retry_in if retry_in else None
        if status == "sent":
            row.sent_at = utc_now()
        if retry_in is not None:
            jobs.defer(session, "notify.deliver", notification_id, delay=retry_in)
    return Delivery(notification_id, status, done, error)


def _active_user(session: Session, email: str | None) -> str | None:
    """The recipient's email when they are a user who is not disabled (else nobody is emailed)."""
    if not email:
        return None
    try:
        user = users.get_user(session, email)
    except NotFound:
        return None
    return None if user.disabled_at is not None else user.email


def _email(settings: Settings, notification_id: str, title: str, body: str, link: str | None, *, to: str) -> None:
    from email.utils import make_msgid

    text = body + (f"\n\n{link}" if link else "") + "\n"
    settings_url = f"{settings.base_url}/settings"
    message = Outgoing(
        email_id=notification_id, to_email=to, to_name=None, from_email=settings.sender_email,
        from_name="Leadline", subject=f"[Leadline] {title}", text=text, html=text_to_html(text),
        message_id=make_msgid(domain=settings.sender_email.rsplit("@", 1)[-1]), template="notification",
        unsubscribe_url=settings_url, date=utc_now(),
    )  # fmt: skip
    backend = get_backend(settings)
    try:
        backend.send(message)
    finally:
        backend.close()


def sweep(settings: Settings) -> int:
    """Deliver what is due; a claim left ``sending`` by a dead worker is failed, never re-posted."""
    now = utc_now()
    with unit_of_work(settings) as session:
        session.execute(
            update(Notification)
            .where(Notification.status == "sending", Notification.claimed_at < now - STUCK_AFTER)
            .values(status="failed", last_error="the worker stopped while delivering it; not posted again")
            .execution_options(synchronize_session=False)
        )
        due = list(
            session.scalars(
                select(Notification.id)
                .where(
                    Notification.status == "pending",
                    (Notification.next_attempt_at.is_(None)) | (Notification.next_attempt_at <= now),
                )
                .order_by(Notification.created_at)
                .limit(200)
            )
        )
    delivered = 0
    for notification_id in due:
        delivered += deliver(settings, notification_id) is not None
    return delivered


def send_test(settings: Settings) -> Delivery | None:
    """A test notification, raised and delivered now (``leadline notify test``, ``POST /api/notify/test``)."""

    with unit_of_work(settings) as session:
        key = f"test:{utc_now().isoformat()}"
        service.raise_event(session, "test", key, "Leadline test notification",
                            body="If you can read this, notifications reach you.")  # fmt: skip
        notification_id = service.search(session, kind="test", limit=1)[0].id
    return deliver(settings, notification_id, quick_retries=0)
