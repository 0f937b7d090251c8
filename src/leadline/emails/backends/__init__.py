"""Where emails go: an outbox folder (default), any SMTP server, or SendGrid's Mail Send API.

A backend's ``send`` returns :class:`Accepted` or raises one of three errors, and the
difference matters for never sending twice:

* :class:`Rejected` - definitely not sent (a 4xx, or retries used up on 429/5xx);
* :class:`Unknown` - the request may have been accepted (the connection broke after the
  message went out); Leadline marks the email ``unknown`` for a person to check and
  never resends it by itself;
* :class:`AuthFailed` - the credentials are wrong: stop the whole run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from leadline.config import Settings
from leadline.emails.message import Outgoing


class SendError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Rejected(SendError):
    """Not sent; sending it again would fail the same way (or retries are used up)."""


class AuthFailed(Rejected):
    """The backend refused our credentials: nothing in this run can be sent."""


class NotCompliant(AuthFailed):
    """A real backend refuses to send with these settings (guardian.compliance): nothing is claimed or sent."""


def require_compliance(settings: Settings, name: str) -> None:
    """Refuse (:class:`NotCompliant`, one line naming the setting) before anything is claimed or sent."""
    from leadline.guardian.compliance import refusal

    why = refusal(settings, name)
    if why is None and settings.require_domain_auth and name != "outbox":
        from leadline.guardian.doctor import check

        report = check(settings)
        if not report.authenticated:
            why = (
                f"LEADLINE_REQUIRE_DOMAIN_AUTH is on and {report.domain} lacks {', '.join(report.missing_auth())} "
                "(see `leadline senders check`)"
            )
    if why is not None:
        raise NotCompliant(why)


class Unknown(SendError):
    """Maybe sent: the outcome could not be learned."""


@dataclass
class Accepted:
    provider_id: str | None = None  # SendGrid's X-Message-Id


class Backend(Protocol):
    name: str

    def send(self, message: Outgoing) -> Accepted: ...

    def close(self) -> None: ...


def get_backend(settings: Settings, name: str | None = None) -> Backend:
    chosen = name or settings.email_backend
    if chosen == "outbox":
        from leadline.emails.backends.outbox import OutboxBackend

        return OutboxBackend(settings)
    if chosen == "smtp":
        from leadline.emails.backends.smtp import SmtpBackend

        return SmtpBackend(settings)
    if chosen == "sendgrid":
        from leadline.emails.backends.sendgrid import SendGridBackend

        return SendGridBackend(settings)
    raise ValueError(f"unknown email backend {chosen!r}")
