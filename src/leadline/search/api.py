"""``GET /api/search?q=TEXT``: prospects, customers, emails and calls that match, with where each lives."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from leadline.deps import ReadSession
from leadline.search import service
from leadline.search.schemas import HitKind, SearchResults

router = APIRouter(prefix="/api/search", tags=["search"])


@router.get("", response_model=SearchResults, summary="Search prospects, customers, emails and calls")
def search(
    session: ReadSession,
    q: Annotated[str, Query(description="At least two characters.", max_length=service.MAX_CHARS)],
    kind: Annotated[list[HitKind] | None, Query(description="Only these kinds (repeat for several).")] = None,
) -> Any:
    return SearchResults(query=q, hits=service.search(session, q, kinds=kind))
