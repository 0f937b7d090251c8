"""The one money format, for every shell and service that writes an amount for people: ``$2,400``,
``$2,400/month``, in the currency of the settings (default USD). Standard library only."""

from __future__ import annotations

import math

#: The largest amount a month Leadline takes: a deal's value, a proposal's, a customer's fee.
MAX_MONTHLY = 10_000_000


def monthly_problem(value: float) -> str | None:
    """Why ``value`` cannot be an amount proposed a month (not a finite number, not above 0, over
    :data:`MAX_MONTHLY`, the bound every schema's money field has too), or None."""
    if not math.isfinite(value):
        return "must be a finite number"
    if value <= 0:
        return "must be more than 0"
    if value > MAX_MONTHLY:
        return f"must be at most {MAX_MONTHLY:,}"
    return None


#: How an amount is written in each currency Leadline knows a symbol for; others use the code.
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "CA$", "AUD": "A$", "JPY": "¥", "INR": "₹"}


def money(value: float | None) -> str:
    """The figure alone: ``2,400``, ``2,400.50``."""
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def symbol(currency: str) -> str:
    return CURRENCY_SYMBOLS.get(currency, f"{currency} ")


def amount(value: float | None, currency: str = "USD", per: str = "") -> str:
    """The one money format: ``$2,400``, or ``$2,400/month`` with ``per="month"``."""
    if value is None:
        return "n/a"
    return f"{symbol(currency)}{money(value)}" + (f"/{per}" if per else "")
