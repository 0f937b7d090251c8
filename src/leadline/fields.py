"""Pydantic field types shared by calls, deals, customers and tasks (one wording everywhere)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from leadline.times import parse_duration, parse_moment, parse_when

_URL_RE = re.compile(r"^https?://(?:[\w-]+\.)+[\w-]{2,}\.?(?::\d{1,5})?(?:[/?#]\S*)?$", re.IGNORECASE)


def _url(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
        url = value if "://" in value else f"https://{value}"
        if len(url) > 1000 or not _URL_RE.match(url):
            raise ValueError(f"{value!r} is not a web address (https://...)")
        return url
    return value


def _text_list(value: Any) -> Any:
    """A list of short texts; text is split on commas (``"cost,timeline"``); blanks dropped."""
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(",")
    if isinstance(value, list | tuple):
        items = []
        for item in value:
            if not isinstance(item, str):
                raise ValueError("must be a list of text")
            text = " ".join(item.split())
            if text:
                items.append(text)
        return items
    return value


#: A moment: ISO date and time (wall-clock in the configured zone unless it has an offset).
When = Annotated[datetime, BeforeValidator(parse_when)]
#: A due date: a date alone (09:00 local) or a date and time.
Moment = Annotated[datetime | date, BeforeValidator(parse_moment)]
#: Seconds: 1500, "25m", "1h30m", "90s", "25:00"; 0 to 12 hours.
Duration = Annotated[int, BeforeValidator(parse_duration), Field(ge=0, le=12 * 3600)]
WebUrl = Annotated[str | None, BeforeValidator(_url)]  # _url checks the length
Objections = Annotated[list[Annotated[str, Field(max_length=500)]], BeforeValidator(_text_list), Field(max_length=50)]
ShortText = Annotated[str, Field(min_length=1, max_length=500)]
LongText = Annotated[str | None, Field(max_length=20000)]
