"""Reminders: before each booked call, when a follow-up falls due, when a task falls due.

Each reminder is a notification raised once (its dedup key holds the time it is about),
so the job that raises them can run every minute on any number of workers. A call that
is rescheduled gets a new reminder for its new time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadline.calls.models import CallActivity
from leadline.clock import utc_now
from leadline.config import Settings
from leadline.notify import service as notify
from leadline.prospects import service as prospects
from leadline.tasks.models import Task
from leadline.times import iso, local_text

WINDOW = timedelta(hours=24)  # older things are listed by `leadline today`, not pushed again


def _covered(session: Session, prospect_id: str, moment: datetime) -> bool:
    """A follow-up date that is an open task's due time or a booked call has its own reminder."""
    task = session.scalar(
        select(Task.id).where(Task.prospect_id == prospect_id, Task.done_at.is_(None), Task.due_at == moment).limit(1)
    )
    call = session.scalar(
        select(CallActivity.id)
        .where(CallActivity.prospect_id == prospect_id, CallActivity.status == "scheduled",
               CallActivity.scheduled_at == moment)
        .limit(1)
    )  # fmt: skip
    return task is not None or call is not None


def raise_due(session: Session, settings: Settings) -> int:
    now = utc_now()
    zone = settings.zone
    raised = 0
    soon = now + timedelta(minutes=settings.call_reminder_minutes)
    calls = session.scalars(
        select(CallActivity).where(
            CallActivity.status == "scheduled", CallActivity.scheduled_at > now, CallActivity.scheduled_at <= soon
        )
    )
    names = {}
    for call in calls:
        assert call.scheduled_at is not None
        if call.prospect_id not in names:
            names[call.prospect_id] = prospects.get(session, call.prospect_id)
        person = names[call.prospect_id]
        minutes = max(1, round((call.scheduled_at - now).total_seconds() / 60))
        raised += notify.raise_event(
            session, "call_reminder", f"call_reminder:{call.id}:{iso(call.scheduled_at)}",
            f"Call with {person.name} in {minutes} min ({local_text(call.scheduled_at, zone, '%H:%M')})",
            body="\n".join(x for x in (person.contact_name, person.phone, call.notes) if x),
            prospect_id=person.id, payload={"callId": call.id, "scheduledAt": iso(call.scheduled_at)},
        )  # fmt: skip
        call.reminded_at = now
    for person in prospects.follow_ups_due(session, before=now):
        assert person.next_follow_up_at is not None
        if person.next_follow_up_at < now - WINDOW or _covered(session, person.id, person.next_follow_up_at):
            continue
        raised += notify.raise_event(
            session, "follow_up_due", f"follow_up:{person.id}:{iso(person.next_follow_up_at)}",
            f"Follow up with {person.name}", body=f"Due {local_text(person.next_follow_up_at, zone)}",
            prospect_id=person.id, payload={"dueAt": iso(person.next_follow_up_at)},
        )  # fmt: skip
    tasks = session.scalars(
        select(Task).where(Task.done_at.is_(None), Task.due_at <= now, Task.due_at > now - WINDOW).order_by(Task.due_at)
    )
    for task in tasks:
        raised += notify.raise_event(
            session, "task_due", f"task_due:{task.id}:{iso(task.due_at)}", f"Task due: {task.title}",
            body=f"Due {local_text(task.due_at, zone)}", prospect_id=task.prospect_id,
            payload={"taskId": task.id, "dueAt": iso(task.due_at)}, recipient=task.owner,
        )  # fmt: skip
    return raised
