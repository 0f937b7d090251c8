"""Prospect shapes on the wire. One set of rules for the API, the CLI and the importer."""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, Field

from leadline.schemas import ApiModel, InputModel

Stage = Literal[
    "new", "contacted", "replied", "scheduled", "interested", "proposal", "closed_won", "closed_lost"
]
ResearchStatus = Literal["active", "inactive", "archived"]

# The WHATWG "valid e-mail address" syntax (what browsers check for <input type=email>),
# with one dot required in the domain: a prospect's address is on the public internet.
EMAIL_RE = re.compile(
    r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+$"
)
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_]{0,79}$")
_PHONE_OK = re.compile(r"^[0-9+().\-\s/]*(?:\s*(?:x|ext\.?)\s*[0-9]+)?$", re.IGNORECASE)


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _email(value: Any) -> Any:
    value = _blank_to_none(value)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("must be text")
    if len(value) > 320 or not EMAIL_RE.match(value):
        raise ValueError(f"{value!r} is not a valid email address")
    return value.lower()


def _phone(value: Any) -> Any:
    value = _blank_to_none(value)
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(int(value))
    if not isinstance(value, str):
        raise ValueError("must be text")
    digits = sum(ch.isdigit() for ch in value)
    if not _PHONE_OK.match(value) or digits < 7 or digits > 20:
        raise ValueError(f"{value!r} is not a phone number")
    return value


def _website(value: Any) -> Any:
    value = _blank_to_none(value)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("must be text")
    url = value if "://" in value else f"https://{value}"
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or "." not in host or " " in url or len(url) > 500:
        raise ValueError(f"{value!r} is not a website address")
    return url


def _trade(value: Any) -> Any:
    value = _blank_to_none(value)
    if isinstance(value, str):
        return " ".join(value.lower().split())
    return value


def _zone(value: Any) -> Any:
    value = _blank_to_none(value)
    if value is None:
        return None
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not a time zone (use an IANA name such as America/Chicago)") from None
    return str(value)


def _gaps(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                raise ValueError("is not a JSON list") from None
        else:
            return [part.strip() for part in re.split(r"[;\n|]", text) if part.strip()]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError("must be a list of text")
    return [item.strip() for item in value if item.strip()]


def _number(*, whole: bool, low: float | None, high: float | None, percent: bool = False) -> Any:
    """A numeric field that accepts numbers and numeric text, with a plain-words error."""

    def check(value: Any) -> Any:
        value = _blank_to_none(value)
        if value is None:
            return None
        if isinstance(value, bool):
            raise ValueError("must be a number")
        if isinstance(value, str):
            text = value[:-1].strip() if percent and value.endswith("%") else value
            try:
                number = float(text)
            except ValueError:
                raise ValueError(f"{value!r} is not a number") from None
        elif isinstance(value, int | float):
            number = float(value)
        else:
            raise ValueError("must be a number")
        if not math.isfinite(number):
            raise ValueError("must be a finite number")
        if whole and not number.is_integer():
            raise ValueError(f"{value!r} is not a whole number")
        if (low is not None and number < low) or (high is not None and number > high):
            if low is not None and high is not None:
                raise ValueError(f"must be between {low:g} and {high:g}")
            raise ValueError(f"must be at least {low:g}")
        return int(number) if whole else number

    return check


def _tier(value: Any) -> Any:
    checked = _number(whole=True, low=None, high=None)(value)
    if checked is not None and checked not in (1, 2, 3):
        raise ValueError("must be 1, 2 or 3")
    return checked


def _slug(value: Any) -> Any:
    value = _blank_to_none(value)
    if value is None:
        return None
    if not isinstance(value, str) or not SLUG_RE.match(value):
        raise ValueError("must be lower-case letters, digits and underscores (like royal_plumbing)")
    return value


Email = Annotated[str | None, BeforeValidator(_email)]
Phone = Annotated[str | None, BeforeValidator(_phone)]
Website = Annotated[str | None, BeforeValidator(_website)]
Trade = Annotated[str | None, BeforeValidator(_trade), Field(max_length=80)]
ZoneName = Annotated[str | None, BeforeValidator(_zone)]
Health = Annotated[float | None, BeforeValidator(_number(whole=False, low=0, high=100, percent=True))]
Tier = Annotated[int, BeforeValidator(_tier)]
Count = Annotated[int | None, BeforeValidator(_number(whole=True, low=0, high=None))]
Money = Annotated[float | None, BeforeValidator(_number(whole=False, low=0, high=None))]
Gaps = Annotated[list[str], BeforeValidator(_gaps)]
ShortText = Annotated[str | None, BeforeValidator(_blank_to_none), Field(max_length=200)]
LongText = Annotated[str | None, BeforeValidator(_blank_to_none), Field(max_length=20000)]
Slug = Annotated[str | None, BeforeValidator(_slug)]
Name = Annotated[str, BeforeValidator(_blank_to_none), Field(min_length=1, max_length=200)]


class _ProspectFields(InputModel):
    """Fields a person may set, on create and on update."""

    trade: Trade = None
    contact_name: ShortText = None
    email: Email = None
    phone: Phone = None
    website: Website = None
    city: Annotated[str | None, BeforeValidator(_blank_to_none), Field(max_length=120)] = None
    state: Annotated[str | None, BeforeValidator(_blank_to_none), Field(max_length=120)] = None
    timezone: ZoneName = None
    grid_health: Health = None
    critical_gaps: Count = None
    gaps: Gaps = Field(default_factory=list)
    top_competitor: ShortText = None
    competitor_health: Health = None
    status: ResearchStatus = "active"
    deal_value: Money = None
    do_not_contact: bool = False
    do_not_contact_reason: ShortText = None
    owner: Email = None
    notes: LongText = None


class ProspectCreate(_ProspectFields):
    """A new prospect. ``id`` is made from the name when not given."""

    id: Slug = None
    name: Name
    tier: Tier = 3
    sales_status: Stage = "new"


class ProspectUpdate(_ProspectFields):
    """A partial change: only the fields present are applied; null clears a field."""

    name: Name | None = None
    tier: Tier | None = None
    gaps: Gaps | None = None  # type: ignore[assignment]
    status: ResearchStatus | None = None  # type: ignore[assignment]
    do_not_contact: bool | None = None  # type: ignore[assignment]
    sales_status: Stage | None = None
    stage_reason: ShortText = Field(
        None, description="Why the stage was changed by hand (kept in the timeline)."
    )

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set if name != "stage_reason"}


class ProspectRead(ApiModel):
    id: str
    name: str
    trade: str | None
    contact_name: str | None
    email: str | None
    phone: str | None
    website: str | None
    city: str | None
    state: str | None
    timezone: str | None
    tier: int
    grid_health: float | None
    critical_gaps: int | None
    gaps: list[str]
    top_competitor: str | None
    competitor_health: float | None
    status: str
    sales_status: Stage
    last_contact_at: datetime | None
    next_follow_up_at: datetime | None
    emails_sent_count: int
    emails_opened_count: int
    calls_scheduled_count: int
    calls_completed_count: int
    deal_value: float | None
    close_date: datetime | None
    lost_reason: str | None
    do_not_contact: bool
    do_not_contact_reason: str | None
    owner: str | None
    notes: str | None
    source: str | None
    created_at: datetime
    updated_at: datetime


class ActivityRead(ApiModel):
    id: str
    prospect_id: str
    type: str
    status: str
    details: dict[str, Any]
    actor: str
    created_at: datetime


class ProspectDetail(ProspectRead):
    timeline: list[ActivityRead] = Field(default_factory=list)


SortKey = Literal[
    "created",
    "-created",
    "name",
    "-name",
    "grid_health",
    "-grid_health",
    "tier",
    "-tier",
    "updated",
    "-updated",
]


class ProspectFilter(ApiModel):
    """Filters shared by ``prospects list``, ``prospects export`` and ``GET /api/prospects``."""

    status: Stage | None = None
    tier: Annotated[int | None, Field(ge=1, le=3)] = None
    trade: str | None = None
    search: Annotated[str | None, Field(max_length=200)] = None
    do_not_contact: bool | None = None
    grid_health_min: Annotated[float | None, Field(ge=0, le=100)] = None
    grid_health_max: Annotated[float | None, Field(ge=0, le=100)] = None
    owner: str | None = None
