"""Stopping a prospect's sequences: the one part of the sequences domain that every other
domain may call (a reply, a bounce, a call booked, a close, do-not-contact).

It knows only the enrollment table and the timeline, so it sits below every service:
``prospects``, ``emails``, ``calls`` and ``webhooks`` call it without climbing to
``sequences.service`` (which starts and runs sequences and reads all of them).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadline.activity import service as activity
from leadline.clock import utc_now
from leadline.sequences.models import SequenceEnrollment


def stop_for_prospect(session: Session, prospect_id: str, reason: str, *, actor: str) -> int:
    """Stop the prospect's active sequences (a reply, a bounce, a call booked ...). Returns how many."""
    stopped = 0
    for enrollment in session.scalars(
        select(SequenceEnrollment)
        .where(SequenceEnrollment.prospect_id == prospect_id, SequenceEnrollment.status == "active")
        .with_for_update()
    ):
        stop_enrollment(session, enrollment, reason, actor=actor)
        stopped += 1
    return stopped


def stop_enrollment(session: Session, enrollment: SequenceEnrollment, reason: str, *, actor: str) -> None:
    """Stop one enrollment, with why on the prospect's timeline."""
    enrollment.status = "stopped"
    enrollment.stop_reason = reason
    enrollment.next_send_at = None
    enrollment.updated_at = utc_now()
    activity.record(
        session, enrollment.prospect_id, "sequence", "stopped",
        {"sequenceId": enrollment.sequence_id, "reason": reason, "step": enrollment.step}, actor=actor,
    )  # fmt: skip


def pause_for_prospect(session: Session, prospect_id: str, until: datetime, reason: str, *, actor: str) -> int:
    """Hold the prospect's active sequences until ``until`` (an out-of-office reply): the next step
    waits, then the sequence runs on by itself. Returns how many were held."""
    held = 0
    for enrollment in session.scalars(
        select(SequenceEnrollment)
        .where(SequenceEnrollment.prospect_id == prospect_id, SequenceEnrollment.status == "active")
        .with_for_update()
    ):
        if enrollment.next_send_at is not None and enrollment.next_send_at >= until:
            continue
        enrollment.next_send_at = until
        enrollment.updated_at = utc_now()
        activity.record(
            session, prospect_id, "sequence", "paused",
            {"sequenceId": enrollment.sequence_id, "until": until.isoformat(), "reason": reason,
             "step": enrollment.step}, actor=actor,
        )  # fmt: skip
        held += 1
    return held
