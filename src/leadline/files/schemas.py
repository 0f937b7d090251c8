"""File shapes: which record a file goes on (``prospect:ID`` or ``customer:ID``), and a file as read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from leadline.errors import Invalid
from leadline.fields import require_one_line
from leadline.schemas import ApiModel

KINDS = ("prospect", "customer")


@dataclass(frozen=True)
class Target:
    """The record a file is kept with."""

    kind: str  # prospect | customer
    id: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


def parse_target(text: str, *, field: str = "target") -> Target:
    """``prospect:royal_plumbing_co`` or ``customer:cus_...``; anything else is refused, saying so."""
    require_one_line(text, field)
    kind, sep, ident = text.strip().partition(":")
    kind, ident = kind.strip().lower(), ident.strip()
    if not sep or kind not in KINDS or not ident or len(ident) > 80:
        raise Invalid(
            f"{text[:90]!r} does not say which record: write prospect:ID or customer:ID "
            "(e.g. prospect:royal_plumbing_co)",
            field=field,
        )
    return Target(kind, ident)


class FileRead(ApiModel):
    id: str
    prospect_id: str
    customer_id: str | None
    name: str
    content_type: str
    size: int
    sha256: str
    source: str
    created_by: str
    created_at: datetime
