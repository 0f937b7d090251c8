"""When a prospect's next booked call is: the one read of the calls domain that the tasks
service needs (a prospect's next follow-up is the earliest booked call or open task). It
knows only the calls table, so it sits below every service and ``tasks`` calls it without
climbing to ``calls.service``, which itself makes tasks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadline.calls.models import CallActivity


def earliest_pending(session: Session, prospect_id: str) -> datetime | None:
    """When the prospect's earliest call booked and not yet held is."""
    return session.scalar(
        select(func.min(CallActivity.scheduled_at)).where(
            CallActivity.prospect_id == prospect_id, CallActivity.status == "scheduled"
        )
    )
