"""Sender shapes on the wire (the CLI builds the same ones), with every rule on their values."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from leadline.addresses import EMAIL_RE
from leadline.schemas import ApiModel, InputModel
from leadline.times import END_OF_DAY, clock_time, opens, window_end

#: The largest daily cap a sender may have (providers allow far less for one mailbox).
MAX_DAILY_CAP = 10_000
#: The longest minimum gap between two sends of one sender: a day.
MAX_GAP_SECONDS = 86_400
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,99}$")
_WINDOW = re.compile(r"^(\d{1,2}:\d{2})-(\d{1,2}:\d{2})(?:\s+([a-z,\-]+))?(?:\s+(\S+))?$", re.IGNORECASE)


#: The senders a send or a sequence rotates across (``--sender``, ``senders`` in the API): ids or addresses.
SenderKeys = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=320)]] | None,
    Field(max_length=50, description="The senders (ids or addresses) to rotate across; default: every active one."),
]


def _address(value: str) -> str:
    value = value.strip()
    if len(value) > 320 or not value.isascii() or not EMAIL_RE.fullmatch(value):
        raise ValueError(f"{value[:80]!r} is not a valid email address")
    return value.lower()


def _env_name(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    if not _ENV_NAME.fullmatch(value):
        raise ValueError(
            "give the NAME of an environment variable (capital letters, digits, underscores), never the secret itself"
        )
    return value


def _clock(value: str, *, end: bool = False) -> str:
    try:
        parsed = window_end(value) if end else clock_time(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a time of day (HH:MM{', or 24:00 for midnight' if end else ''})") from None
    return END_OF_DAY if parsed is None else parsed.strftime("%H:%M")


def _days(text: str) -> list[str]:
    """``mon-fri``, ``mon,wed,fri`` or ``sat-sun,mon`` -> the days in week order."""
    chosen: set[int] = set()
    for part in text.lower().split(","):
        ends = [p.strip()[:3] for p in part.split("-")]
        if not all(end in DAYS for end in ends) or len(ends) > 2:
            raise ValueError(f"{part!r} is not a day or a range of days (mon..sun)")
        first, last = DAYS.index(ends[0]), DAYS.index(ends[-1])
        span = range(first, last + 1) if first <= last else [*range(first, 7), *range(0, last + 1)]
        chosen.update(span)
    return [DAYS[d] for d in sorted(chosen)]


class Window(ApiModel):
    """When a sender may send: ``start``-``end`` local time on ``days`` in ``zone`` (the configured zone if empty)."""

    start: str
    end: str
    days: list[str]
    zone: str | None = None

    @classmethod
    def parse(cls, text: str) -> Window | None:
        """``08:00-17:00 mon-fri Europe/Paris`` (days and zone optional); ``always`` or empty: no window."""
        text = text.strip()
        if not text or text.lower() in ("always", "none", "any"):
            return None
        if len(text) > 200:
            raise ValueError("is too long (a window reads like 08:00-17:00 mon-fri Europe/Paris)")
        found = _WINDOW.fullmatch(text)
        if not found:
            raise ValueError(f"{text!r} is not a window; write it like 08:00-17:00 mon-fri Europe/Paris")
        start, end, days, zone = found.groups()
        return cls(start=start, end=end, days=_days(days) if days else list(DAYS[:5]), zone=zone)

    @model_validator(mode="after")
    def _valid(self) -> Window:
        self.start, self.end = _clock(self.start), _clock(self.end, end=True)
        if not opens(clock_time(self.start), window_end(self.end)):
            raise ValueError(f"the window must end after it starts ({self.start}-{self.end})")
        self.days = _days(",".join(self.days)) if self.days else []
        if not self.days:
            raise ValueError("the window needs at least one day")
        if self.zone:
            try:
                ZoneInfo(self.zone)
            except (KeyError, ValueError):
                raise ValueError(f"{self.zone!r} is not a known time zone (such as Europe/Paris)") from None
        return self

    def text(self) -> str:
        return f"{self.start}-{self.end} {','.join(self.days)}" + (f" {self.zone}" if self.zone else "")


def _window(value: Any) -> Any:
    if isinstance(value, str):
        return Window.parse(value)
    return value


Address = Annotated[str, Field(max_length=320), AfterValidator(_address)]
Cap = Annotated[int, Field(ge=0, le=MAX_DAILY_CAP)]
Ramp = Annotated[int, Field(ge=0, le=MAX_DAILY_CAP)]
Gap = Annotated[int, Field(ge=0, le=MAX_GAP_SECONDS)]
EnvName = Annotated[str | None, Field(max_length=100), AfterValidator(_env_name)]
WindowIn = Annotated[Window | None, BeforeValidator(_window)]


class _Ramp(InputModel):
    @model_validator(mode="after")
    def _ramp(self) -> Any:
        start, top = getattr(self, "warmup_start", None), getattr(self, "warmup_max", None)
        if start is not None and top is not None and top < start:
            raise ValueError(f"warmupMax ({top}) must not be below warmupStart ({start})")
        return self


class SenderCreate(_Ramp):
    """A new sender. Caps and ramps are sends per day; the gap is in seconds."""

    email: Address
    name: Annotated[str, Field(min_length=1, max_length=200)]
    daily_cap: Cap = 40
    warmup_start: Ramp | None = None
    warmup_step: Ramp = 0
    warmup_max: Ramp | None = None
    min_gap_seconds: Gap = 0
    window: WindowIn = None
    credentials_env: EnvName = None


class SenderUpdate(_Ramp):
    """What to change (fields left out stay as they are; ``window: null`` removes the window)."""

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    daily_cap: Cap | None = None
    warmup_start: Ramp | None = None
    warmup_step: Ramp | None = None
    warmup_max: Ramp | None = None
    min_gap_seconds: Gap | None = None
    window: WindowIn = None
    credentials_env: EnvName = None


class PauseIn(InputModel):
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class ResumeIn(InputModel):
    note: Annotated[str, Field(min_length=1, max_length=2000)]


class SenderEventRead(ApiModel):
    id: str
    kind: str
    actor: str
    note: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime


class SenderRead(ApiModel):
    id: str
    email: str
    name: str
    domain: str
    daily_cap: int
    cap_today: int  # the cap with the warm-up ramp applied
    sent_today: int
    warmup_start: int | None = None
    warmup_step: int = 0
    warmup_max: int | None = None
    min_gap_seconds: int = 0
    window: Window | None = None
    credentials_env: str | None = None
    status: str
    paused_reason: str | None = None
    paused_by: str | None = None
    paused_at: datetime | None = None
    first_send_on: date | None = None
    last_claim_at: datetime | None = None
    created_at: datetime
    events: list[SenderEventRead] | None = None
