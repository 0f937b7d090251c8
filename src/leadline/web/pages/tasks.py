"""``/tasks``: every task (mine or all, open or done, overdue in red), completed or reopened in
place; and the prospect page's task actions (add, complete, reopen, snooze).

Each action calls the tasks service, as ``leadline tasks ...`` and ``/api/tasks`` do.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from leadline.auth.deps import PageUser, PageWriter
from leadline.clock import utc_now
from leadline.db import unit_of_work
from leadline.errors import LeadlineError
from leadline.tasks import service as tasks
from leadline.tasks.schemas import TaskCreate, TaskUpdate
from leadline.web.pages.forms import read_form
from leadline.web.pages.prospects import _act
from leadline.web.render import page, settings_of

router = APIRouter()

WHOSE = (("mine", "Mine"), ("all", "Everyone's"))
STATES = (("open", "Open"), ("done", "Done"), ("all", "All"))


@router.get("/tasks")
async def task_list(request: Request, principal: PageUser) -> Response:
    settings = settings_of(request)
    whose = request.query_params.get("whose", "mine")
    state = request.query_params.get("state", "open")
    if whose not in dict(WHOSE) or state not in dict(STATES):
        raise HTTPException(422, "whose: mine or all; state: open, done or all")

    def load() -> list[Any]:
        with unit_of_work(settings, readonly=True) as session:
            owner = principal.name if whose == "mine" else None
            return tasks.read(session, tasks.search(session, state=state, owner=owner, limit=500))

    items = await run_in_threadpool(load)
    here = "/tasks?" + urlencode({"whose": whose, "state": state})
    flash = {"done": "The task is done.", "reopened": "The task is open again."}.get(request.query_params.get("ok", ""))
    return page(request, "app/tasks/list.html", {"tasks": items, "whose": whose, "state": state, "now": utc_now(),
                                                 "choices_whose": WHOSE, "choices_state": STATES, "here": here,
                                                 "flash": flash})  # fmt: skip


def _back(request: Request, fallback: str) -> str:
    wanted = request.query_params.get("next", "")
    return wanted if wanted.startswith(("/tasks", "/today")) and "//" not in wanted else fallback


@router.post("/tasks/{task_id}/complete")
async def complete_task(request: Request, task_id: str, principal: PageWriter) -> Response:
    return await _change(request, task_id, principal.actor, tasks.complete, "done")


@router.post("/tasks/{task_id}/reopen")
async def reopen_task(request: Request, task_id: str, principal: PageWriter) -> Response:
    return await _change(request, task_id, principal.actor, tasks.reopen, "reopened")


@router.post("/tasks/{task_id}/snooze")
async def snooze_task(request: Request, task_id: str, principal: PageWriter) -> Response:
    """Push the due date on (a day, three days, a week), from the tasks or the Today page."""
    return await _update(request, task_id, principal.actor, "snooze", "snoozed")


@router.post("/tasks/{task_id}/owner")
async def reassign_task(request: Request, task_id: str, principal: PageWriter) -> Response:
    """Give the task to someone else (their Today page lists it then)."""
    return await _update(request, task_id, principal.actor, "owner", "reassigned")


async def _update(request: Request, task_id: str, actor: str, name: str, ok: str) -> Response:
    values = await read_form(request)
    change = TaskUpdate.model_validate({name: values.get(name) or None})

    def work(session: Any, tid: str, *, actor: str) -> None:
        tasks.update(session, tid, change, actor=actor)

    return await _change(request, task_id, actor, work, ok)


async def _change(request: Request, task_id: str, actor: str, work: Any, ok: str) -> Response:
    settings = settings_of(request)
    await read_form(request)

    def run() -> None:
        with unit_of_work(settings) as session:
            work(session, task_id, actor=actor)

    try:
        await run_in_threadpool(run)
    except LeadlineError as error:
        raise HTTPException(error.status_code, str(error)) from None
    back = _back(request, "/tasks")
    return RedirectResponse(back + ("&" if "?" in back else "?") + f"ok={ok}", status_code=303)


# --- a prospect's tasks ---------------------------------------------------------------------------

TASK_INPUTS = ("title", "due", "kind", "owner")


@router.post("/prospects/{prospect_id}/tasks")
async def add_task(request: Request, prospect_id: str, principal: PageWriter) -> Response:
    settings = settings_of(request)
    values = await read_form(request)
    given = {k: v for k, v in values.items() if k in TASK_INPUTS}

    def work() -> None:
        data = TaskCreate.model_validate({**given, "prospectId": prospect_id})
        with unit_of_work(settings) as session:
            tasks.create(session, data, actor=principal.actor)

    return await _act(request, prospect_id, "task", work, values, "task-added")


@router.post("/prospects/{prospect_id}/tasks/{task_id}/{action}")
async def task_action(request: Request, prospect_id: str, task_id: str, action: str, principal: PageWriter) -> Response:
    settings = settings_of(request)
    values = await read_form(request)
    if action not in ("complete", "reopen", "snooze"):
        raise HTTPException(404, f"no task action {action!r}")

    def work() -> None:
        with unit_of_work(settings) as session:
            task = tasks.get(session, task_id)
            if task.prospect_id != prospect_id:
                raise tasks.TaskNotFound(f"no task {task_id!r} for {prospect_id}", field="taskId")
            if action == "complete":
                tasks.complete(session, task_id, actor=principal.actor)
            elif action == "reopen":
                tasks.reopen(session, task_id, actor=principal.actor)
            else:
                tasks.update(session, task_id, TaskUpdate.model_validate({"snooze": values.get("snooze", "")}),
                             actor=principal.actor)  # fmt: skip

    done = {"complete": "task-done", "reopen": "task-reopened", "snooze": "task-snoozed"}[action]
    return await _act(request, prospect_id, "task", work, values, done)
