"""Objections: read the one way (:func:`parse`), kept as said, and each mapped to a category by the
user's keyword map.

Objections typed as text are split on commas and line breaks: "price, timing" and "price\ntiming"
are both ``['price', 'timing']``, from the prospect page, the calls page, the CLI and the API alike
(``calls.schemas.Objections`` applies :func:`parse`). An item of a list (JSON, or one
``--objection``) is one objection as said and may hold a comma.

``LEADLINE_OBJECTION_CATEGORIES`` (JSON) maps a category to keywords. An objection gets the
first category, in the map's order, with a keyword in it; ``other`` when none matches.
A keyword matches at the start of a word, case-insensitively; keywords of four characters
or more also match longer words (``cost`` -> "costs", ``case stud`` -> "case studies"),
shorter ones only whole words (``fee`` matches "fee" and not "feel").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

OTHER = "other"
_SEPARATORS = re.compile(r"[,\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def parse(value: Any) -> Any:
    """Objections as typed -> a list: text split on commas and line breaks, a list's items each one
    objection; spaces trimmed and runs of them made one, blanks dropped, repeats (ignoring case)
    dropped with the first kept. A list holding other things is refused; anything else is left for the
    schema to refuse."""
    if value is None:
        return []
    if isinstance(value, str):
        parts: list[Any] = _SEPARATORS.split(value)
    elif isinstance(value, list | tuple):
        parts = list(value)
    else:
        return value
    found: dict[str, str] = {}
    for part in parts:
        if not isinstance(part, str):
            raise ValueError("must be a list of text")
        said = " ".join(part.split())
        if said:
            found.setdefault(said.casefold(), said)
    return list(found.values())


LABELS = {
    "price": "Price / cost",
    "timeline": "Timeline",
    "proof": "Proof / case studies",
    "trust": "Trust",
    "has_provider": "Already has a provider",
    "no_time": "No time",
    "needs_to_think": "Needs to think",
    OTHER: "Other",
}


def label(category: str) -> str:
    return LABELS.get(category) or category.replace("_", " ").capitalize()


@lru_cache(maxsize=512)
def _pattern(keyword: str) -> re.Pattern[str] | None:
    word = " ".join(keyword.lower().replace("\u2019", "'").split())
    if not word:
        return None
    start = r"\b" if word[0].isalnum() else ""
    end = "" if len(word) >= 4 or not word[-1].isalnum() else r"\b"
    return re.compile(start + re.escape(word) + end)


def categorize(text: str, categories: Mapping[str, Iterable[str]]) -> str:
    said = " ".join(text.lower().replace("\u2019", "'").split())
    for category, keywords in categories.items():
        for keyword in keywords:
            pattern = _pattern(keyword)
            if pattern is not None and pattern.search(said):
                return category
    return OTHER


def categorize_all(objections: Iterable[str], categories: Mapping[str, Iterable[str]]) -> list[str]:
    return [categorize(text, categories) for text in objections]
