"""Write and read a prospect's timeline: the one writer of ``outreach_activities``.

Every domain adds entries through :func:`record` (one entry, an ORM object) or
:func:`record_many` (many plain rows in one executemany, for webhook batches and imports).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from leadline.activity.models import OutreachActivity
from leadline.clock import utc_now
from leadline.db import Base, bulk_insert
from leadline.ids import new_id


def record(
    session: Session,
    prospect_id: str,
    type: str,
    status: str,
    details: dict[str, Any] | None = None,
    *,
    actor: str = "system",
    at: datetime | None = None,
) -> OutreachActivity:
    """Add one entry to ``prospect_id``'s timeline."""
    moment = at or utc_now()
    entry = OutreachActivity(
        id=new_id("act"),
        prospect_id=prospect_id,
        type=type,
        status=status,
        details=details or {},
        actor=actor,
        created_at=moment,
        updated_at=moment,
    )
    session.add(entry)
    return entry


def row(
    prospect_id: str,
    type: str,
    status: str,
    details: dict[str, Any],
    *,
    actor: str,
    at: datetime,
) -> dict[str, Any]:
    """The same entry as a plain row, for :func:`record_many`."""
    return {
        "id": new_id("act"),
        "prospect_id": prospect_id,
        "type": type,
        "status": status,
        "details": details,
        "actor": actor,
        "created_at": at,
        "updated_at": at,
    }


def record_many(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Add many entries made with :func:`row` at once (a batch of webhook events, a chunk of an
    import): one driver-level executemany, no ORM object per entry."""
    from leadline.analytics import totals  # a writer's: reads of the timeline never load the totals

    funnel = {row["prospect_id"] for row in rows if row["type"] in totals.FUNNEL_TYPES}
    if not funnel:
        bulk_insert(session, Base.metadata.tables[OutreachActivity.__tablename__], list(rows))
        return
    with totals.changing(session, prospects=funnel):  # a stage change or a proposal moves the funnel
        bulk_insert(session, Base.metadata.tables[OutreachActivity.__tablename__], list(rows))


def update_status(session: Session, activity_id: str | None, status: str, **details: Any) -> None:
    """Move a timeline entry on (an email entry goes sent -> opened -> replied) and merge details."""
    if activity_id is None:
        return
    entry = session.get(OutreachActivity, activity_id)
    if entry is None:
        return
    entry.status = status
    if details:
        entry.details = {**entry.details, **details}


def update_statuses(session: Session, statuses: dict[str, str]) -> None:
    """Set the status of many timeline entries at once ({activity id: status}): one executemany, no
    ORM object per entry (a webhook batch moves the "sent" entries of a thousand emails). An entry
    already at its status keeps its ``updated_at``. Entries of the funnel's kinds (stage changes,
    proposals) are left alone: their totals move with the ORM's changes (:func:`update_status`)."""
    from leadline.analytics.totals import FUNNEL_TYPES  # a writer's: reads of the timeline never load the totals

    if not statuses:
        return
    session.flush()  # an entry made earlier in this transaction is in the table before it is updated
    table = Base.metadata.tables[OutreachActivity.__tablename__]
    session.execute(
        update(table)
        .where(table.c.id == bindparam("entry"), table.c.status != bindparam("moved_to"),
               *(table.c.type != kind for kind in FUNNEL_TYPES))
        .values(status=bindparam("moved_to")),  # (and updated_at: the column's own onupdate)
        [{"entry": key, "moved_to": statuses[key]} for key in sorted(statuses)],
    )  # fmt: skip
    for held in [obj for obj in session.identity_map.values() if isinstance(obj, OutreachActivity)]:
        if held.id in statuses:
            session.expire(held, ["status", "updated_at"])  # read again from the row, if asked


def get(session: Session, activity_id: str, *, for_update: bool = False) -> OutreachActivity | None:
    query = select(OutreachActivity).where(OutreachActivity.id == activity_id)
    return session.scalar(query.with_for_update() if for_update else query)


def revise(entry: OutreachActivity, details: dict[str, Any], *, at: datetime | None = None) -> None:
    """Change an entry's details (a note edited by its author); the change itself is recorded by the caller."""
    entry.details = details
    entry.updated_at = at or utc_now()


def remove(session: Session, entry: OutreachActivity) -> None:
    """Take one entry off the timeline (a note removed); the caller records the removal."""
    session.delete(entry)
    session.flush()


def for_prospect(session: Session, prospect_id: str, *, limit: int | None = None) -> Sequence[OutreachActivity]:
    query = (
        select(OutreachActivity)
        .where(OutreachActivity.prospect_id == prospect_id)
        .order_by(OutreachActivity.created_at, OutreachActivity.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return session.scalars(query).all()
