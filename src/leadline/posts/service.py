"""Generated posts: reading a prospect's posts (they are written by the content pipeline)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadline.posts.models import GeneratedPost


def for_prospect(session: Session, prospect_id: str, *, limit: int = 50) -> Sequence[GeneratedPost]:
    """The prospect's posts, newest first."""
    query = (
        select(GeneratedPost)
        .where(GeneratedPost.prospect_id == prospect_id)
        .order_by(GeneratedPost.created_at.desc(), GeneratedPost.id.desc())
        .limit(limit)
    )
    return session.scalars(query).all()
