"""``/api/tasks`` (list, add, edit, complete, reopen) and ``/api/today``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from leadline.auth.deps import ApiPrincipal
from leadline.deps import Actor, DbSession, ReadSession
from leadline.tasks import service
from leadline.tasks.schemas import TaskCreate, TaskDue, TaskRead, TaskState, TaskUpdate, TodayRead
from leadline.tasks.today import build

tasks_router = APIRouter(prefix="/api/tasks", tags=["tasks"])
today_router = APIRouter(prefix="/api/today", tags=["tasks"])


@tasks_router.get("", response_model=list[TaskRead], summary="List tasks, soonest due first")
def list_tasks(
    session: ReadSession,
    principal: ApiPrincipal,
    state: Annotated[TaskState, Query(description="open, done or all.")] = "open",
    due: Annotated[TaskDue | None, Query(description="today (overdue included) or overdue.")] = None,
    prospect_id: Annotated[str | None, Query(alias="prospectId", max_length=80)] = None,
    customer_id: Annotated[str | None, Query(alias="customerId", max_length=40)] = None,
    owner: Annotated[str | None, Query(max_length=320, description="A user's e-mail, or me.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Any:
    whose = principal.name if owner == "me" else owner
    found = service.search(session, state=state, due=due, prospect_id=prospect_id, customer_id=customer_id,
                           owner=whose, limit=limit)  # fmt: skip
    return service.read(session, found)


@tasks_router.post("", response_model=TaskRead, status_code=201, summary="Add a task")
def add_task(body: TaskCreate, session: DbSession, actor: Actor) -> Any:
    return service.read(session, [service.create(session, body, actor=actor)])[0]


@tasks_router.patch("/{task_id}", response_model=TaskRead, summary="Edit a task (title, due or snooze, kind, owner)")
def edit_task(task_id: str, body: TaskUpdate, session: DbSession, actor: Actor) -> Any:
    return service.read(session, [service.update(session, task_id, body, actor=actor)])[0]


@tasks_router.post("/{task_id}/complete", response_model=TaskRead, summary="Complete a task")
def complete_task(task_id: str, session: DbSession, actor: Actor) -> Any:
    return service.read(session, [service.complete(session, task_id, actor=actor)])[0]


@tasks_router.post("/{task_id}/done", response_model=TaskRead, summary="Complete a task (the older name)")
def task_done(task_id: str, session: DbSession, actor: Actor) -> Any:
    return service.read(session, [service.done(session, task_id, actor=actor)])[0]


@tasks_router.post("/{task_id}/reopen", response_model=TaskRead, summary="Open a done task again")
def reopen_task(task_id: str, session: DbSession, actor: Actor) -> Any:
    return service.read(session, [service.reopen(session, task_id, actor=actor)])[0]


@today_router.get("", response_model=TodayRead, summary="What to do today")
def today(
    session: ReadSession,
    principal: ApiPrincipal,
    owner: Annotated[
        str | None, Query(max_length=320, description="One user's day (their prospects and tasks): an e-mail, or me.")
    ] = None,
) -> Any:
    return build(session, owner=principal.name if owner == "me" else owner)


router = APIRouter()
router.include_router(tasks_router)
router.include_router(today_router)
