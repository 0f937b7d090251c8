"""``/``: the week's sales dashboard, which keeps itself up to date.

The figures are the analytics service's (the same as ``leadline dashboard`` and ``/api/dashboard``).
The page polls ``/dashboard/live`` every few seconds with the data version it shows; the
answer is ``204 No Content`` (a handful of index lookups) until something changed, and then the
new figures. Figures are cached per (week, data version, minute), so many open dashboards cost
one computation per change.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from leadline.analytics import render
from leadline.analytics.service import common, report
from leadline.analytics.service import dashboard as service
from leadline.analytics.service import figures as lists
from leadline.analytics.weeks import Week
from leadline.auth.deps import PageUser
from leadline.clock import utc_now
from leadline.config import Settings
from leadline.db import unit_of_work
from leadline.errors import LeadlineError
from leadline.web.pages.forms import errors_of
from leadline.web.render import page, settings_of

router = APIRouter()

#: How often the page asks whether anything changed (the fragment's hx-trigger).
POLL_SECONDS = 3
CARDS = 6
_CACHE_SIZE = 32
_cache: OrderedDict[tuple[str, str, str, str], dict[str, Any]] = OrderedDict()
_cache_lock = threading.Lock()

WeekQ = Annotated[str | None, Query(max_length=20)]


def version(settings: Settings) -> str:
    with unit_of_work(settings, readonly=True) as session:
        return service.data_version(session)


def figures(settings: Settings, week: Week) -> dict[str, Any]:
    """Everything the dashboard shows for ``week``, read in one snapshot, with its data version."""
    minute = utc_now().strftime("%Y-%m-%dT%H:%M")
    with unit_of_work(settings, readonly=True) as session:
        current = service.data_version(session)
        key = (settings.database_url, week.label, current, minute)
        with _cache_lock:
            cached = _cache.get(key)
        if cached is not None:
            return cached
        data = service.dashboard(session, week, settings=settings, cards=CARDS)
        days = report.week_days(session, week)
        templates = report.week_templates(session, week)
        mrr, customers = service.current_mrr(session)
    proposals = sum(t.sent for t in templates if t.template == "proposal")
    links = lists.by_key([*data.lists, *lists.template_lists(templates, week)])
    result = {
        "links": links,
        "metric_lists": lists.METRIC_LISTS,
        "data": data,
        "charts": render.chart_geometry(data.pipeline, days, templates),
        "templates": templates,
        "proposals": proposals,
        "current_mrr": mrr,
        "active_customers": customers,
        "version": current,
        "poll_seconds": POLL_SECONDS,
    }
    with _cache_lock:
        _cache[key] = result
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return result


def _week(settings: Settings, text: str | None) -> tuple[Week, str]:
    """The chosen week, or this week and a one-line error when the text is not a week."""
    try:
        return common.resolve_week(text, settings), ""
    except LeadlineError as error:
        return common.resolve_week(None, settings), errors_of(error).line


@router.get("/")
async def dashboard(request: Request, principal: PageUser, week: WeekQ = None) -> Response:
    settings = settings_of(request)
    chosen, error = _week(settings, week)
    context = await run_in_threadpool(figures, settings, chosen)
    context |= {
        "week_label": chosen.label,
        "previous_week": chosen.previous().label,
        "next_week": chosen.next().label,
        "flash": error,
        "flash_kind": "bad",
    }
    return page(request, "app/dashboard.html", context, status_code=422 if error else 200)


@router.get("/dashboard/live")
async def live(
    request: Request, principal: PageUser, week: WeekQ = None, v: Annotated[str, Query(max_length=40)] = ""
) -> Response:
    """The dashboard's figures when they changed since version ``v``; otherwise 204 (nothing to swap)."""
    settings = settings_of(request)
    chosen, error = _week(settings, week)
    if error:
        return Response(status_code=204)
    if v and await run_in_threadpool(version, settings) == v:
        return Response(status_code=204, headers={"Cache-Control": "no-store"})
    context = await run_in_threadpool(figures, settings, chosen)
    response = page(request, "app/dashboard_live.html", context | {"week_label": chosen.label})
    response.headers["Cache-Control"] = "no-store"
    return response
