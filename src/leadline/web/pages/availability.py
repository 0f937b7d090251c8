"""``/settings/availability``: the signed-in user's availability for calls prospects book
themselves (the same ``booking.availability`` functions as ``leadline availability set`` and
``PUT /api/availability``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from leadline.auth import service as users
from leadline.auth.deps import PageUser, PageWriter, Principal
from leadline.booking import availability
from leadline.booking.schemas import AvailabilitySet, weekly_text
from leadline.db import unit_of_work
from leadline.errors import LeadlineError
from leadline.web.pages.forms import FormErrors, errors_of, read_form
from leadline.web.render import page, settings_of

router = APIRouter(include_in_schema=False)

FIELDS = ("timezone", "weekly", "lengths", "bufferBefore", "bufferAfter", "horizonDays", "minNoticeMinutes", "dailyMax")


def _values(principal: Principal, request: Request) -> dict[str, str]:
    settings = settings_of(request)
    with unit_of_work(settings, readonly=True) as session:
        user = users.get_user(session, principal.name)
        read = availability.read(availability.get(session, user.id), user, settings.timezone)
    return {
        "timezone": read.timezone, "weekly": weekly_text(read.weekly), "lengths": ", ".join(map(str, read.lengths)),
        "bufferBefore": str(read.buffer_before), "bufferAfter": str(read.buffer_after),
        "horizonDays": str(read.horizon_days), "minNoticeMinutes": str(read.min_notice_minutes),
        "dailyMax": str(read.daily_max), "updated": "yes" if read.updated_at else "",
    }  # fmt: skip


def _page(request: Request, principal: Principal, values: dict[str, str], *, errors: FormErrors | None = None,
          flash: str = "") -> Response:  # fmt: skip
    context: dict[str, Any] = {"values": values, "errors": errors, "flash": flash, "who": principal.name}
    return page(request, "app/settings/availability.html", context, errors.status if errors else 200)


@router.get("/settings/availability")
def availability_view(request: Request, principal: PageUser, done: str = "") -> Response:
    if principal.kind != "session":
        return RedirectResponse("/settings", status_code=303)
    return _page(request, principal, _values(principal, request), flash="Saved." if done == "saved" else "")


@router.post("/settings/availability")
async def availability_save(request: Request, principal: PageWriter) -> Response:
    return await run_in_threadpool(_save, request, principal, await read_form(request))


def _save(request: Request, principal: Principal, values: dict[str, str]) -> Response:
    given = {name: values[name] for name in FIELDS if values.get(name)}
    try:
        data = AvailabilitySet.model_validate(given)
        with unit_of_work(settings_of(request)) as session:
            user = users.get_user(session, principal.name)
            availability.set_for(session, user, data, actor=principal.actor)
    except (LeadlineError, ValueError) as error:
        return _page(request, principal, values, errors=errors_of(error))
    return RedirectResponse("/settings/availability?done=saved", status_code=303)
