"""Tasks: next steps made by logged calls, follow-ups, and things added by hand.

A prospect's ``nextFollowUpAt`` is the earliest of its pending calls and open tasks, so
adding or finishing a task asks the calls service to recount the prospect. Services
never commit.

A task made for an action carries its kind and completes itself when that action happens for its
prospect: the one rule is :func:`action_done` (``ACTION_KINDS``), called by the flows that send a
proposal or an email and by logging a call.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadline.activity import service as activity
from leadline.auth.lookup import require_user
from leadline.calls import lookup as calls
from leadline.clock import utc_now
from leadline.customers import service as customers
from leadline.db import settings_of
from leadline.errors import Conflict, Invalid, NotFound
from leadline.ids import new_id
from leadline.prospects import service as prospects
from leadline.tasks.models import Task
from leadline.tasks.schemas import SNOOZE_DAYS, TaskCreate, TaskRead, TaskUpdate
from leadline.times import due_moment, iso, local_day_bounds

if TYPE_CHECKING:
    from leadline.prospects.models import Prospect


class TaskNotFound(NotFound):
    pass


class TaskAlreadyDone(Conflict):
    pass


class TaskNotDone(Conflict):
    pass


Action = Literal["proposal_sent", "email_sent", "call_logged"]
#: Which open tasks of a prospect an action completes.
ACTION_KINDS: dict[str, tuple[str, ...]] = {
    "proposal_sent": ("proposal",),
    "email_sent": ("follow_up",),
    "call_logged": ("call_back",),
}
ACTION_LABELS = {"proposal_sent": "a proposal was sent", "email_sent": "an email was sent",
                 "call_logged": "a call was logged"}  # fmt: skip


def _owner_of(actor: str) -> str | None:
    """A signed-in user's own tasks are theirs by default."""
    return actor.removeprefix("user:") if actor.startswith("user:") else None


def get(session: Session, task_id: str, *, for_update: bool = False) -> Task:
    query = select(Task).where(Task.id == task_id)
    if for_update:
        query = query.with_for_update()
    task = session.scalar(query)
    if task is None:
        raise TaskNotFound(f"no task with id {task_id!r}", field="taskId")
    return task


def create(session: Session, data: TaskCreate, *, actor: str) -> Task:
    """A task added by hand (``leadline tasks add``, ``POST /api/tasks``, the pages)."""
    customer_id = None
    prospect_id = data.prospect_id
    if data.customer_id:
        customer = customers.get(session, data.customer_id)
        if prospect_id and prospect_id != customer.prospect_id:
            raise Invalid(f"customer {customer.id} is prospect {customer.prospect_id}, not {prospect_id}",
                          field="prospectId")  # fmt: skip
        customer_id, prospect_id = customer.id, customer.prospect_id
    prospect = prospects.get(session, prospect_id, for_update=True) if prospect_id else None
    due_at = due_moment(data.due, settings_of(session).zone, field="due") if data.due else utc_now()
    owner = data.owner if "owner" in data.model_fields_set else _owner_of(actor)
    if owner and "owner" in data.model_fields_set:
        require_user(session, owner)
    task = add(session, prospect, title=data.title, due_at=due_at, kind=data.kind, notes=data.notes, actor=actor,
               owner=owner, customer_id=customer_id)  # fmt: skip
    if prospect is not None:
        _refresh_follow_up(session, prospect)
    return task


def update(session: Session, task_id: str, changes: TaskUpdate, *, actor: str) -> Task:
    """Change a task's title, due date (or snooze it), kind, owner or notes; the timeline keeps what changed."""
    task = get(session, task_id, for_update=True)
    given = changes.model_fields_set
    for required in ("title", "kind", "due"):
        if required in given and getattr(changes, required) is None:
            raise Invalid("cannot be empty", field=required)
    if "due" in given and changes.snooze is not None:
        raise Invalid("give a due date or a snooze, not both", field="snooze")
    now = utc_now()
    wanted: dict[str, Any] = {
        name: getattr(changes, name) for name in ("title", "kind", "owner", "notes") if name in given
    }
    if wanted.get("owner") and wanted["owner"] != task.owner:
        require_user(session, wanted["owner"])
    if changes.due is not None:
        wanted["due_at"] = due_moment(changes.due, settings_of(session).zone, field="due")
    elif changes.snooze is not None:
        if task.done_at is not None:
            raise TaskAlreadyDone(f"task {task.id} is done; reopen it to snooze it", field="taskId")
        wanted["due_at"] = max(task.due_at, now) + timedelta(days=SNOOZE_DAYS[changes.snooze])
    diff: dict[str, list[Any]] = {}
    for name, value in wanted.items():
        old = getattr(task, name)
        if old != value:
            diff[name] = [
                iso(old) if isinstance(old, datetime) else old,
                iso(value) if isinstance(value, datetime) else value,
            ]
            setattr(task, name, value)
    if not diff:
        return task
    task.updated_at = now
    session.flush()
    if task.prospect_id is not None:
        details = {"taskId": task.id, "title": task.title, "changes": diff}
        if changes.snooze is not None:
            details["snooze"] = changes.snooze
        activity.record(session, task.prospect_id, "task", "snoozed" if changes.snooze else "edited", details,
                        actor=actor)  # fmt: skip
        if "due_at" in diff:
            _refresh_follow_up(session, prospects.get(session, task.prospect_id, for_update=True))
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
    owner: str | None = None,
    customer_id: str | None = None,
) -> Task:
    """Make a task (and its timeline entry). The caller recounts the prospect's follow-up date."""
    now = utc_now()
    task = Task(
        id=new_id("task"),
        prospect_id=prospect.id if prospect else None,
        customer_id=customer_id,
        owner=owner,
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
    """Complete a task (``complete``)."""
    task = get(session, task_id, for_update=True)
    if task.done_at is not None:
        raise TaskAlreadyDone(
            f"task {task.id} was already done on {iso(task.done_at)} by {task.done_by}", field="taskId"
        )
    _finish(session, task, actor=actor, details={})
    session.flush()
    if task.prospect_id is not None:
        _refresh_follow_up(session, prospects.get(session, task.prospect_id, for_update=True))
    return task


complete = done


def _finish(session: Session, task: Task, *, actor: str, details: dict[str, Any]) -> None:
    now = utc_now()
    task.done_at = now
    task.done_by = actor
    task.updated_at = now
    if task.prospect_id is not None:
        activity.record(session, task.prospect_id, "task", "done",
                        {"taskId": task.id, "title": task.title, **details}, actor=actor)  # fmt: skip


def reopen(session: Session, task_id: str, *, actor: str) -> Task:
    """Open a done task again."""
    task = get(session, task_id, for_update=True)
    if task.done_at is None:
        raise TaskNotDone(f"task {task.id} is open already", field="taskId")
    task.done_at = None
    task.done_by = None
    task.updated_at = utc_now()
    session.flush()
    if task.prospect_id is not None:
        activity.record(session, task.prospect_id, "task", "reopened", {"taskId": task.id, "title": task.title},
                        actor=actor)  # fmt: skip
        _refresh_follow_up(session, prospects.get(session, task.prospect_id, for_update=True))
    return task


def action_done(
    session: Session, prospect_id: str, action: Action, *, actor: str, cause: dict[str, Any] | None = None
) -> list[Task]:
    """The one rule: ``action`` happened for the prospect, so its open tasks made for that action are
    done (sending a proposal completes "proposal" tasks, an email "follow_up" tasks, a logged call
    "call_back" tasks). Returns the tasks it completed."""
    kinds = ACTION_KINDS[action]
    found = session.scalars(
        select(Task)
        .where(Task.prospect_id == prospect_id, Task.done_at.is_(None), Task.kind.in_(kinds))
        .order_by(Task.due_at, Task.id)
        .with_for_update()
    ).all()
    for task in found:
        _finish(session, task, actor=actor, details={"because": ACTION_LABELS[action], **(cause or {})})
    if found:
        session.flush()
        _refresh_follow_up(session, prospects.get(session, prospect_id, for_update=True))
    return list(found)


def search(
    session: Session,
    *,
    state: str = "open",
    prospect_id: str | None = None,
    customer_id: str | None = None,
    owner: str | None = None,
    due: str | None = None,
    limit: int = 200,
) -> Sequence[Task]:
    """Tasks, soonest due first (done ones: latest done first). ``due``: today (due before the end of
    today, overdue included) or overdue (due before now). ``owner``: one user's tasks."""
    order = (Task.done_at.desc(), Task.id.desc()) if state == "done" else (Task.due_at, Task.id)
    query = select(Task).order_by(*order).limit(limit)
    if owner is not None:
        query = query.where(Task.owner == owner)
    if customer_id is not None:
        query = query.where(Task.customer_id == customer_id)
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
