"""``/api/tasks`` (list, add, done) and ``/api/today``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from leadline.deps import Actor, DbSession, ReadSession
from leadline.tasks import service
from leadline.tasks.schemas import TaskCreate, TaskDue, TaskRead, TaskState, TodayRead
from leadline.tasks.today import build

tasks_router = APIRouter(prefix="/api/tasks", tags=["tasks"])
today_router = APIRouter(prefix="/api/today", tags=["tasks"])


@tasks_router.get("", response_model=list[TaskRead], summary="List tasks, soonest due first")
def list_tasks(
    session: ReadSession,
    state: Annotated[TaskState, Query(description="open, done or all.")] = "open",
    due: Annotated[TaskDue | None, Query(description="today (overdue included) or overdue.")] = None,
    prospect_id: Annotated[str | None, Query(alias="prospectId", max_length=80)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Any:
    found = service.search(session, state=state, due=due, prospect_id=prospect_id, limit=limit)
    return service.read(session, found)


@tasks_router.post("", response_model=TaskRead, status_code=201, summary="Add a task")
def add_task(body: TaskCreate, session: DbSession, actor: Actor) -> Any:
    return service.read(session, [service.create(session, body, actor=actor)])[0]


@tasks_router.post("/{task_id}/done", response_model=TaskRead, summary="Mark a task done")
def task_done(task_id: str, session: DbSession, actor: Actor) -> Any:
    return service.read(session, [service.done(session, task_id, actor=actor)])[0]


@today_router.get("", response_model=TodayRead, summary="What to do today")
def today(session: ReadSession) -> Any:
    return build(session)


router = APIRouter()
router.include_router(tasks_router)
router.include_router(today_router)
