"""Phone numbers in E.164 (``+15125550142``), normalised from what was typed or imported with the
``phonenumbers`` library; a number without a country code is read in ``LEADLINE_PHONE_REGION``."""

from __future__ import annotations

import phonenumbers

from leadline.errors import Invalid

MAX_INPUT = 50  # the prospects' phone column; longer input is not a phone number


def to_e164(raw: str | None, region: str, *, field: str = "phone") -> str:
    """``raw`` as E.164, or :class:`Invalid` naming ``field`` (not a number, not a valid one)."""
    text = (raw or "").strip()
    if not text:
        raise Invalid("no phone number", field=field)
    if len(text) > MAX_INPUT:
        raise Invalid(f"is longer than {MAX_INPUT} characters: not a phone number", field=field)
    try:
        number = phonenumbers.parse(text, region.upper())
    except phonenumbers.NumberParseException:
        raise Invalid(f"{text!r} is not a phone number", field=field) from None
    if not phonenumbers.is_valid_number(number):
        raise Invalid(f"{text!r} is not a valid phone number (region {region.upper()})", field=field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def maybe_e164(raw: str | None, region: str) -> str | None:
    """E.164, or None when ``raw`` is not a valid number."""
    try:
        return to_e164(raw, region)
    except Invalid:
        return None
