"""SendGrid's signed Event Webhook: ECDSA P-256 / SHA-256 over timestamp + raw body.

The public key is what SendGrid shows (base64 of a DER SubjectPublicKeyInfo); the
signature is base64 of a DER ECDSA-Sig-Value. Verification uses the bytes exactly as
received: re-serialising the JSON would break it (../shared/SENDGRID.md §2).
"""

from __future__ import annotations

import base64
import binascii
import time
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"


class BadKey(ValueError):
    """A configured public key that is not a P-256 key in SendGrid's format."""


@lru_cache(maxsize=16)
def load_key(text: str) -> ec.EllipticCurvePublicKey:
    cleaned = "".join(
        line.strip() for line in text.strip().splitlines() if line.strip() and not line.startswith("-----")
    )
    try:
        key = serialization.load_der_public_key(base64.b64decode(cleaned, validate=True))
    except (binascii.Error, ValueError) as error:
        raise BadKey(f"not a SendGrid verification key ({error})") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise BadKey("SendGrid verification keys are ECDSA P-256 keys")
    return key


def verify(public_keys: list[str], signature_b64: str, timestamp: str, raw_body: bytes) -> bool:
    """True when any of ``public_keys`` (several during a key rotation) signed ``timestamp + raw_body``."""
    try:
        signature = base64.b64decode(signature_b64.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    message = timestamp.encode("ascii", "replace") + raw_body
    for text in public_keys:
        try:
            load_key(text).verify(signature, message, ec.ECDSA(hashes.SHA256()))
            return True
        except (InvalidSignature, ValueError):
            continue
    return False


def too_old(timestamp: str, max_age_seconds: int, now: float | None = None) -> bool:
    if max_age_seconds <= 0:
        return False
    try:
        sent = int(timestamp)
    except ValueError:
        return True
    return abs((now if now is not None else time.time()) - sent) > max_age_seconds


def sign(private_key: ec.EllipticCurvePrivateKey, timestamp: str, raw_body: bytes) -> str:
    """What SendGrid does (for the simulator and the tests)."""
    return base64.b64encode(private_key.sign(timestamp.encode("ascii") + raw_body, ec.ECDSA(hashes.SHA256()))).decode()


def public_key_text(private_key: ec.EllipticCurvePrivateKey) -> str:
    """A public key in the form SendGrid shows it."""
    der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()
