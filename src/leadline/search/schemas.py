from __future__ import annotations

from typing import Literal

from leadline.schemas import ApiModel

HitKind = Literal["prospect", "customer", "email", "call"]


class SearchHit(ApiModel):
    """One thing found: what it is, its id, how to name it, a second line, and where it lives."""

    kind: HitKind
    id: str
    label: str
    detail: str
    url: str


class SearchResults(ApiModel):
    query: str
    hits: list[SearchHit]
