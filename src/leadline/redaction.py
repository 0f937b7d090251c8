"""Secrets never reach a log line, a traceback or a CLI message.

Three rules, applied to every text Leadline's processes write out:

* a URL that carries a secret in its path or query (the Inbound Parse URL, the calendar feed,
  unsubscribe and set-password links, ``?token=``, ``?secret=``...) loses everything after the
  secret-bearing part, whether the path came as sent (any percent-encoding, any letter case) or
  decoded: :func:`redact_path` and :func:`redact_text`;
* the password of any URL (``scheme://user:password@host``) is masked;
* the secrets this process knows (the secret key and what is derived from it, the inbound
  secret, the SendGrid API key, the SMTP password, the Slack webhook path, the passwords in the
  database and Redis URLs) are replaced in raw, percent-encoded and base64 forms.

:func:`install` applies them to every log record the process makes (a log-record factory, so
every handler — uvicorn's, Huey's, the last-resort stderr one — sees only redacted text, its
traceback included) and to uncaught exceptions (``sys.excepthook``, ``threading.excepthook``).
SQL parameters are kept out at the source: every engine has ``hide_parameters`` (leadline/db.py).
"""

from __future__ import annotations

import base64
import logging
import re
import sys
import threading
import traceback
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus, unquote

if TYPE_CHECKING:
    from leadline.config import Settings

REDACTED = "[redacted]"
MIN_SECRET = 6  # shorter values would redact ordinary words

# Paths whose next segments are a secret (compared decoded, lower-cased, with "//" as "/").
_SECRET_PATHS = ("/webhooks/sendgrid/inbound/", "/calendar/", "/unsubscribe/", "/book/")
#: Secret paths that count only at the start of the path (a proposal's private link, ``/p/TOKEN``).
_SECRET_ROOTS = ("/p/",)
# Query parameters that hold a secret.
_SECRET_PARAMETER = re.compile(r"(?:token|secret|pass|key|auth|sig|session|cookie)", re.IGNORECASE)
# The same, inside any text (a log message, an exception): cut the rest of the URL.
_SECRET_PATH_IN_TEXT = re.compile(
    r"((?:/|%2f)+(?:webhooks(?:/|%2f)+sendgrid(?:/|%2f)+inbound|calendar|unsubscribe|book)(?:/|%2f)+)[^\s\"'<>?#]+",
    re.IGNORECASE,
)
_SECRET_QUERY_IN_TEXT = re.compile(
    rf"([?&;][^=&;#\s\"'<>]*{_SECRET_PARAMETER.pattern}[^=&;#\s\"'<>]*=)[^&;#\s\"'<>]+", re.IGNORECASE
)
# scheme://user:PASSWORD@ in any text, up to the last "@" of the URL.
_URL_PASSWORD_IN_TEXT = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s:/@?#\"'<>]*:)(?!\*{8}@)[^\s\"'<>]*@", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _decoded(text: str) -> str:
    """Percent-decoded until nothing changes (at most 3 rounds: %252e is %2e is '.')."""
    for _ in range(3):
        plain = unquote(text)
        if plain == text:
            break
        text = plain
    return text


def _printable(text: str) -> str:
    """Control characters escaped (a decoded path must not start new log lines)."""
    return _CONTROL.sub(lambda m: f"%{ord(m.group(0)):02X}", text)


def redact_path(path: str) -> str:
    """A request path (with its query) as sent, fit for a log: the secret in the Inbound Parse,
    calendar and unsubscribe URLs and the value of secret-looking query parameters replaced,
    however the path was percent-encoded and whatever its letter case."""
    raw_path, mark, query = path.partition("?")
    plain = re.sub(r"/{2,}", "/", _decoded(raw_path))
    lowered = plain.lower()
    for prefix in (*_SECRET_PATHS, *_SECRET_ROOTS):
        at = lowered.find(prefix) if prefix in _SECRET_PATHS else (0 if lowered.startswith(prefix) else -1)
        if at != -1:
            end = at + len(prefix)
            suffix = ".ics" if prefix == "/calendar/" and lowered.endswith(".ics") else ""
            raw_path = quote(plain[:end], safe="/:@!$&'()*+,;=-._~") + REDACTED + suffix
            break
    if mark:
        parts = []
        for part in query.split("&"):
            name, equals, _ = part.partition("=")
            if equals and _SECRET_PARAMETER.search(_decoded(name.replace("+", " "))):
                part = f"{name}={REDACTED}"
            parts.append(part)
        query = "&".join(parts)
    return raw_path + mark + query


def _forms(secret: str) -> set[str]:
    """How a secret may appear in text: as is, percent-encoded, and in base64."""
    data = secret.encode()
    found = {secret, quote(secret, safe=""), quote_plus(secret), quote(secret)}
    for encoded in (base64.b64encode(data), base64.urlsafe_b64encode(data)):
        text = encoded.decode()
        found |= {text, text.rstrip("=")}
    return {form for form in found if len(form) >= MIN_SECRET}


class Redactor:
    """Replaces known secrets (in every form) and the secrets URLs carry, in any text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets: set[str] = set()
        self._known: re.Pattern[str] | None = None
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        new = {s for s in secrets if s and len(s) >= MIN_SECRET} - self.secrets
        if not new:
            return
        self.secrets |= new
        forms = sorted({form for secret in self.secrets for form in _forms(secret)}, key=len, reverse=True)
        self._known = re.compile("|".join(re.escape(form) for form in forms), re.IGNORECASE)

    def __call__(self, text: str) -> str:
        cleaned = self._clean(text)
        if "%" in cleaned:  # a secret spelled with percent-escapes, of any mix and case
            plain = _decoded(cleaned)
            if plain != cleaned and (again := self._clean(plain)) != plain:
                return _printable(again)
        return cleaned

    def _clean(self, text: str) -> str:
        if self._known is not None:
            text = self._known.sub(REDACTED, text)
        text = _URL_PASSWORD_IN_TEXT.sub(rf"\g<1>{REDACTED}@", text)
        text = _SECRET_PATH_IN_TEXT.sub(_cut_path, text)
        return _SECRET_QUERY_IN_TEXT.sub(rf"\g<1>{REDACTED}", text)


def _cut_path(match: re.Match[str]) -> str:
    suffix = ".ics" if match.group(0).lower().endswith(".ics") else ""
    return match.group(1) + REDACTED + suffix


def _url_secrets(url: str | None) -> list[str]:
    """The password of a URL and the values of its secret-looking query parameters."""
    if not url:
        return []
    found = []
    match = re.match(r"^[a-z][a-z0-9+.-]*://[^:/@?#]*:(.*)@", url, re.IGNORECASE | re.DOTALL)
    if match:
        found += [match.group(1), unquote(match.group(1))]
    for name, value in re.findall(r"[?&;]([^=&;#]*)=([^&;#]*)", url):
        if _SECRET_PARAMETER.search(name):
            found += [value, unquote(value)]
    return found


def known_secrets(settings: Settings) -> list[str]:
    """Every secret ``settings`` holds or derives. Reads the secret key file but never creates it."""
    found: list[str] = []
    key = settings.secret_key.get_secret_value() if settings.secret_key is not None else None
    if key is None:
        try:
            key = (settings.data_dir / "secret_key").read_text().strip() or None
        except OSError:
            key = None
    if key:
        from pydantic import SecretStr

        from leadline.keys import calendar_token, inbound_token

        keyed = settings.model_copy(update={"secret_key": SecretStr(key)})
        found += [key, inbound_token(keyed), calendar_token(keyed)]
    for secret in (settings.inbound_secret, settings.sendgrid_api_key, settings.smtp_password):
        if secret is not None:
            found.append(secret.get_secret_value())
    if settings.slack_webhook_url is not None:
        slack = settings.slack_webhook_url.get_secret_value()
        path = re.sub(r"^[a-z][a-z0-9+.-]*://[^/?#]*", "", slack, flags=re.IGNORECASE)
        found += [slack, path, path.lstrip("/"), *[part for part in path.split("/") if len(part) >= 8]]
        found += _url_secrets(slack)
    for url in (settings.database_url, settings.redis_url, settings.sendgrid_api_url, settings.base_url):
        found += _url_secrets(url)
    return [secret for secret in found if secret]


# --- installing ------------------------------------------------------------------------------

_redactor = Redactor()
_installed = {"logging": False, "hooks": False}
_lock = threading.Lock()


def redact_text(text: str) -> str:
    """``text`` with every secret known to this process (see :func:`install`) replaced."""
    return _redactor(text)


def _scrub_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return _redactor(value)
    try:
        text = str(value)
    except Exception:
        return value
    cleaned = _redactor(text)
    return value if cleaned == text else cleaned


def scrub_record(record: logging.LogRecord) -> logging.LogRecord:
    """The record's message, arguments, traceback and stack with every secret replaced."""
    try:
        if isinstance(record.args, tuple):
            record.args = tuple(_scrub_value(arg) for arg in record.args)
        elif isinstance(record.args, Mapping):
            record.args = {key: _scrub_value(value) for key, value in record.args.items()}
        record.msg = _scrub_value(record.msg)
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            record.exc_text = _redactor(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = _redactor(record.exc_text)
        if record.stack_info:
            record.stack_info = _redactor(record.stack_info)
    except Exception:  # never lose a log line to the redaction itself
        record.msg, record.args = REDACTED + " (a log line that could not be redacted)", None
    return record


def _print_exception(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    text = "".join(traceback.format_exception(kind, value, tb))
    sys.stderr.write(_redactor(text))
    sys.stderr.flush()


def remember(settings: Settings | None = None, *, extra: Iterable[str] = ()) -> None:
    """Redact the secrets of ``settings`` (and ``extra``) too, from now on."""
    secrets = list(extra)
    if settings is not None:
        secrets += known_secrets(settings)
    with _lock:
        _redactor.add(secrets)


def install(settings: Settings | None = None, *, extra: Iterable[str] = ()) -> None:
    """Redact every log record and uncaught exception of this process from now on, for the
    secrets of ``settings`` (added to those of earlier calls: several apps may share a process)."""
    remember(settings, extra=extra)
    with _lock:
        if not _installed["logging"]:
            previous = logging.getLogRecordFactory()

            def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
                return scrub_record(previous(*args, **kwargs))

            logging.setLogRecordFactory(factory)
            _installed["logging"] = True
        if not _installed["hooks"]:
            sys.excepthook = _print_exception

            def thread_hook(args: threading.ExceptHookArgs) -> None:
                if args.exc_type is SystemExit:
                    return
                name = args.thread.name if args.thread is not None else "a thread"
                sys.stderr.write(f"Exception in {name}:\n")
                _print_exception(args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback)

            threading.excepthook = thread_hook
            _installed["hooks"] = True
