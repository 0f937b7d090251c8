"""The one money format, for every shell and service that writes an amount for people: ``$2,400``,
``$2,400/month``, in the currency of the settings (default USD). Standard library only."""

from __future__ import annotations

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
