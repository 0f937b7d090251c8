"""``/today``: the day's work in one page, what ``leadline today`` and ``GET /api/today`` give
(tasks.today.build): calls today and in the coming week (our time and theirs), overdue calls,
follow-ups and tasks in red, tasks due (complete, snooze, give to someone), and replies waiting
for an answer with their text. Every item acts in one click; each action comes back here."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from leadline.auth import service as users
from leadline.auth.deps import PageUser
from leadline.clock import utc_now
from leadline.config import Settings
from leadline.db import unit_of_work
from leadline.notify import service as notify
from leadline.prospects import service as prospects
from leadline.tasks.schemas import SNOOZES
from leadline.tasks.today import build
from leadline.web.pages import replies
from leadline.web.render import page, settings_of

router = APIRouter()

OK = {"done": "The task is done.", "snoozed": "The task is snoozed.", "reassigned": "The task has a new owner.",
      "reopened": "The task is open again.", **replies.FLASHES}  # fmt: skip


def _load(settings: Settings, user: str, who: str) -> dict[str, Any]:
    """The day: the user's own ("mine": the prospects they own, their tasks) or everyone's. Without a
    choice, "mine" for a user who owns prospects, else everyone's."""
    with unit_of_work(settings, readonly=True) as session:
        if who not in ("mine", "all"):
            who = "mine" if prospects.owns_any(session, user) else "all"
        today = build(session, owner=user if who == "mine" else None)
        people = [u.email for u in users.list_users(session) if u.disabled_at is None]
        from leadline.guardian import service as guardian

        waiting = [r.email_id for r in today.replies]
        labels = {r.email_id: r for r in reversed(guardian.search(session, email_ids=waiting, limit=500))}
        to_act = [r for r in guardian.search(session, limit=100)
                  if r.action in ("awaiting_confirmation", "referral_proposed")][:20]  # fmt: skip
        notices = notify.search(session, recipient=user, limit=10)
    return {"today": today, "people": people, "who": who, "notices": notices, "reply_labels": labels, "to_act": to_act}


@router.get("/today")
async def today_page(request: Request, principal: PageUser) -> Response:
    who = request.query_params.get("who", "")
    context = await run_in_threadpool(_load, settings_of(request), principal.name, who)
    mine = [t for t in context["today"].tasks if t.owner in (None, principal.name)]
    others = [t for t in context["today"].tasks if t not in mine]
    return page(request, "app/today.html", context | {
        "mine": mine, "others": others, "now": utc_now(), "snoozes": SNOOZES,
        "flash": OK.get(request.query_params.get("ok", "")), "writer": principal.can_write,
    })  # fmt: skip
