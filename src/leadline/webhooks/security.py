"""Who may post to the webhooks: SendGrid's signing keys, and the Inbound Parse secret."""

from __future__ import annotations

import hmac
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from leadline.config import Settings
from leadline.keys import inbound_token
from leadline.webhooks.signature import public_key_text


def simulator_key_path(settings: Settings) -> Path:
    return settings.data_dir / "webhook-simulator.pem"


def simulator_key(settings: Settings, *, create: bool = False) -> ec.EllipticCurvePrivateKey | None:
    """The key `leadline webhooks simulate` signs with (made by `leadline demo`; never in production)."""
    path = simulator_key_path(settings)
    if path.is_file():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return key
    if not create:
        return None
    key = ec.generate_private_key(ec.SECP256R1())
    settings.ensure_data_dir()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    return key


def trusted_keys(settings: Settings) -> list[str]:
    """SendGrid's keys (several during a rotation), plus the simulator's when its key file exists."""
    keys = list(settings.sendgrid_webhook_public_key)
    local = simulator_key(settings)
    if local is not None:
        keys.append(public_key_text(local))
    return keys


def inbound_token_ok(settings: Settings, given: str) -> bool:
    return hmac.compare_digest(given.encode(), inbound_token(settings).encode())


def event_webhook_url(settings: Settings) -> str:
    return f"{settings.base_url}/webhooks/sendgrid"


def inbound_url(settings: Settings) -> str:
    return f"{settings.base_url}/webhooks/sendgrid/inbound/{inbound_token(settings)}"


def webhook_urls(settings: Settings) -> dict[str, str]:
    """The URLs to paste into SendGrid (the inbound ones carry the secret)."""
    credentials = f"://leadline:{inbound_token(settings)}@"
    return {
        "eventWebhook": event_webhook_url(settings),
        "inboundParse": inbound_url(settings),
        "inboundParseBasicAuth": settings.base_url.replace("://", credentials, 1) + "/webhooks/sendgrid/inbound",
    }
