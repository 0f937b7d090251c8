"""Counts said in words, the one way every shell says them: ``counted(1, "deal")`` is ``1 deal``,
``counted(3, "deal")`` ``3 deals``, ``counted(1200, "prospect")`` ``1,200 prospects``; and lists:
``listed(["a", "b", "c"])`` is ``a, b and c``.

Stdlib only; the pages have it as the ``counted`` filter (``{{ n|counted("deal") }}``).
"""

from __future__ import annotations


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``noun`` as ``count`` of them are called: ``deal`` or ``deals`` (``many``: an irregular plural)."""
    if count == 1:
        return noun
    if many is not None:
        return many
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in ("a", "e", "i", "o", "u"):
        return noun[:-1] + "ies"
    return noun + "s"


def counted(count: int, noun: str, many: str | None = None) -> str:
    """``1 deal``, ``2 deals``, ``1,200 prospects``, ``0 notes``."""
    return f"{count:,} {plural(count, noun, many)}"


def listed(items: list[str] | tuple[str, ...], last: str = "and") -> str:
    """``a``, ``a and b``, ``a, b and c`` (``last="or"``: ``a, b or c``)."""
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"
