"""Text shapes on the wire (camelCase) and the inputs every shell builds (the same field names)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field

from leadline.fields import FreeText
from leadline.schemas import ApiModel, InputModel
from leadline.times import parse_when

#: The longest text taken at all (ten segments of GSM-7); the segment limit setting is checked after.
MAX_BODY_CHARS = 1600
NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,99}$"


def _not_blank(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("cannot be empty")
    return value


TextBody = Annotated[FreeText, Field(max_length=MAX_BODY_CHARS), AfterValidator(_not_blank)]


class TextLog(InputModel):
    """A text that happened elsewhere (sent from a phone, received on one)."""

    direction: Literal["out", "in"]
    body: TextBody
    at: Annotated[datetime | None, BeforeValidator(parse_when)] = None


class TextSend(InputModel):
    """Send a text template to a prospect (``dryRun``: only say what would be sent)."""

    template: Annotated[str, Field(pattern=NAME_PATTERN)]
    dry_run: bool = False


class TemplateWrite(InputModel):
    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    body: TextBody


class TextRead(ApiModel):
    id: str
    prospect_id: str | None
    direction: str
    status: str
    body: str
    segments: int
    encoding: str
    from_number: str | None
    to_number: str | None
    twilio_sid: str | None
    template: str | None
    error_code: str | None
    error: str | None
    actor: str
    at: datetime
    delivered_at: datetime | None
    created_at: datetime


class TextPage(ApiModel):
    """A page of texts, newest first; ``nextCursor`` fetches the next page (None: no more)."""

    items: list[TextRead]
    next_cursor: str | None = None


class TemplateRead(ApiModel):
    name: str
    body: str
    created_by: str
    updated_at: datetime


class Preview(ApiModel):
    """What a template would send a prospect, its segments, and why it could not go now (if so)."""

    prospect_id: str
    template: str
    to: str | None
    body: str
    segments: int
    encoding: str
    max_segments: int
    blocked: list[str] = Field(default_factory=list, description="Why it would not be sent now; empty: it would.")


class OptOutRead(ApiModel):
    number: str
    reason: str
    source: str
    keyword: str | None
    created_at: datetime
