"""Secrets derived from the installation's signing key (``LEADLINE_SECRET_KEY``): each an HMAC-SHA256
of a fixed label under the key, so that one address that leaks (the calendar feed's, the Inbound
Parse URL's) gives away neither the key nor another. Stdlib and the settings only: the redaction of
every CLI error and log line derives them (:func:`leadline.redaction.known_secrets`)."""

from __future__ import annotations

import hashlib
import hmac

from leadline.config import Settings


def _derived(settings: Settings, label: bytes, length: int) -> str:
    return hmac.new(settings.secret().encode(), label, hashlib.sha256).hexdigest()[:length]


def calendar_token(settings: Settings) -> str:
    """The calendar feed's token (``/calendar/{token}.ics``): changing the key changes the URL."""
    return _derived(settings, b"calendar-feed", 32)


def inbound_token(settings: Settings) -> str:
    """The Inbound Parse secret: LEADLINE_INBOUND_SECRET, else one derived from the signing key."""
    if settings.inbound_secret is not None and settings.inbound_secret.get_secret_value():
        return settings.inbound_secret.get_secret_value()
    return _derived(settings, b"leadline inbound parse", 40)
