"""Tasks: next steps made by logged calls, follow-ups, and things added by hand.

A prospect's ``nextFollowUpAt`` is the earliest of its pending calls and open tasks, so
adding or finishing a task asks the calls service to recount the prospect. Services
never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadline.activity import service as activity
from leadline.calls import lookup as calls
from leadline.clock import utc_now
from leadline.db import settings_of
from leadline.errors import Conflict, NotFound
from leadline.ids import new_id
from leadline.prospects import service as prospects
from leadline.tasks.models import Task
from leadline.tasks.schemas import TaskCreate, TaskRead
from leadline.times import due_moment, iso, local_day_bounds

if TYPE_CHECKING:
    from leadline.prospects.models import Prospect


class TaskNotFound(NotFound):
    pass


class TaskAlreadyDone(Conflict):
    pass


def get(session: Session, task_id: str, *, for_update: bool = False) -> Task:
    query = select(Task).where(Task.id == task_id)
    if for_update:
        query = query.with_for_update()
    task = session.scalar(query)
    if task is None:
        raise TaskNotFound(f"no task with id {task_id!r}", field="taskId")
    return task


def create(session: Session, data: TaskCreate, *, actor: str) -> Task:
    """A task added by hand (``leadline tasks add``, ``POST /api/tasks``)."""
    prospect = prospects.get(session, data.prospect_id, for_update=True) if data.prospect_id else None
    due_at = due_moment(data.due, settings_of(session).zone, field="due") if data.due else utc_now()
    task = add(session, prospect, title=data.title, due_at=due_at, kind="manual", notes=data.notes, actor=actor)
    if prospect is not None:
        _refresh_follow_up(session, prospect)
    return task


def add(
    session: Session,
    prospect: Prospect | None,
    *,
    title: str,
    due_at: datetime,
    kind: str,
    actor: str,
    call_id: str | None = None,
    notes: str | None = None,
) -> Task:
    """Make a task (and its timeline entry). The caller recounts the prospect's follow-up date."""
    now = utc_now()
    task = Task(
        id=new_id("task"),
        prospect_id=prospect.id if prospect else None,
        call_id=call_id,
        title=title,
        kind=kind,
        due_at=due_at,
        notes=notes,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    session.add(task)
    session.flush()
    if prospect is not None:
        details = {"taskId": task.id, "title": title, "kind": kind, "dueAt": iso(due_at)}
        if call_id:
            details["callId"] = call_id
        activity.record(session, prospect.id, "task", "created", details, actor=actor)
    return task


def done(session: Session, task_id: str, *, actor: str) -> Task:
    task = get(session, task_id, for_update=True)
    if task.done_at is not None:
        raise TaskAlreadyDone(
            f"task {task.id} was already done on {iso(task.done_at)} by {task.done_by}", field="taskId"
        )
    now = utc_now()
    task.done_at = now
    task.done_by = actor
    task.updated_at = now
    session.flush()
    if task.prospect_id is not None:
        activity.record(
            session, task.prospect_id, "task", "done", {"taskId": task.id, "title": task.title}, actor=actor
        )
        _refresh_follow_up(session, prospects.get(session, task.prospect_id, for_update=True))
    return task


def search(
    session: Session,
    *,
    state: str = "open",
    prospect_id: str | None = None,
    due: str | None = None,
    limit: int = 200,
) -> Sequence[Task]:
    """Tasks, soonest due first. ``due``: today (due before the end of today, overdue included)
    or overdue (due before now)."""
    query = select(Task).order_by(Task.due_at, Task.id).limit(limit)
    if state == "open":
        query = query.where(Task.done_at.is_(None))
    elif state == "done":
        query = query.where(Task.done_at.is_not(None))
    if prospect_id is not None:
        query = query.where(Task.prospect_id == prospect_id)
    now = utc_now()
    if due == "today":
        query = query.where(Task.due_at < local_day_bounds(now, settings_of(session).zone)[1])
    elif due == "overdue":
        query = query.where(Task.due_at < now)
    return session.scalars(query).all()


def for_call(session: Session, call_id: str) -> Task | None:
    return session.scalar(select(Task).where(Task.call_id == call_id).order_by(Task.created_at).limit(1))


def earliest_open_due(session: Session, prospect_id: str) -> datetime | None:
    """When the prospect's earliest open task is due (for its next follow-up date)."""
    return session.scalar(select(func.min(Task.due_at)).where(Task.prospect_id == prospect_id, Task.done_at.is_(None)))


def next_follow_up(session: Session, prospect_id: str) -> datetime | None:
    """The prospect's next follow-up: the earliest call booked and not yet held, or open task."""
    upcoming = [m for m in (calls.earliest_pending(session, prospect_id), earliest_open_due(session, prospect_id)) if m]
    return min(upcoming) if upcoming else None


def _refresh_follow_up(session: Session, prospect: Prospect) -> None:
    prospects.set_next_follow_up(prospect, next_follow_up(session, prospect.id))


def read(session: Session, tasks: Sequence[Task]) -> list[TaskRead]:
    """Tasks as they go on the wire, with their prospect's name."""
    names = prospects.get_many(session, {t.prospect_id for t in tasks if t.prospect_id})
    out = []
    for task in tasks:
        item = TaskRead.model_validate(task)
        if task.prospect_id and task.prospect_id in names:
            item.prospect_name = names[task.prospect_id].name
        out.append(item)
    return out
