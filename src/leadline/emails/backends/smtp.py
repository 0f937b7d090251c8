"""The SMTP backend: any mail server, plain, STARTTLS or SSL, with optional login."""

from __future__ import annotations

import smtplib
import ssl

from leadline.config import Settings
from leadline.emails.backends import Accepted, AuthFailed, Rejected, Unknown, require_compliance
from leadline.emails.message import Outgoing, problem


class SmtpBackend:
    name = "smtp"

    def __init__(self, settings: Settings) -> None:
        require_compliance(settings, self.name)  # before anything is claimed: nothing sent, no cap spent
        self.settings = settings

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context()
        try:
            if s.smtp_security == "ssl":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds, context=context
                )
            else:
                client = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds)
                if s.smtp_security == "starttls":
                    client.starttls(context=context)
        except (OSError, smtplib.SMTPException) as error:
            # Nothing was handed over yet: safe to report as not sent.
            raise Rejected(f"cannot reach the SMTP server {s.smtp_host}:{s.smtp_port}: {error}") from None
        if s.smtp_username:
            password = s.smtp_password.get_secret_value() if s.smtp_password else ""
            try:
                client.login(s.smtp_username, password)
            except smtplib.SMTPAuthenticationError as error:
                client.close()
                raise AuthFailed(f"the SMTP server refused the login: {error.smtp_code} {_text(error)}") from None
            except (OSError, smtplib.SMTPException) as error:
                client.close()
                raise AuthFailed(f"the SMTP server refused the login ({error})") from None
        return client

    def send(self, message: Outgoing) -> Accepted:
        why = problem(message)  # before connecting: a message that cannot be built is refused here
        if why is not None:
            raise Rejected(why)
        mime = message.mime()
        client = self._connect()
        try:
            refused = client.send_message(mime)
        except smtplib.SMTPRecipientsRefused as error:
            code, reason = next(iter(error.recipients.values()))
            raise Rejected(f"the SMTP server refused {message.to_email}: {code} {_decode(reason)}") from None
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
            raise Rejected(f"the SMTP server refused the message: {error.smtp_code} {_text(error)}") from None
        except (TimeoutError, smtplib.SMTPServerDisconnected, OSError) as error:
            raise Unknown(f"the SMTP connection broke while sending: {error}") from None
        except smtplib.SMTPNotSupportedError as error:  # e.g. an address that needs SMTPUTF8
            raise Rejected(f"the SMTP server cannot take this message: {error}") from None
        except smtplib.SMTPResponseException as error:  # any other refusal: the message was not taken
            raise Rejected(f"the SMTP server refused the message: {error.smtp_code} {_text(error)}") from None
        finally:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()
        if refused:
            raise Rejected(f"the SMTP server refused {', '.join(refused)}")
        return Accepted(provider_id=None)

    def close(self) -> None:
        pass


def _decode(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _text(error: smtplib.SMTPResponseException) -> str:
    return _decode(error.smtp_error)
