"""``/reports``: the weekly report for a chosen week, template performance, objections, forecast.

The same analytics service functions as ``leadline report week`` / ``leadline analytics ...`` and
``/api/reports/week`` / ``/api/analytics/...``; the week's body is the same template as the
downloadable HTML file (``reports/_week_body.html``). The CSV and HTML downloads are the API's
``/api/reports/week?format=...``, which accepts the signed-in browser's cookie.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from leadline.analytics import render
from leadline.analytics.service import common, figures, what_works
from leadline.analytics.service import report as weekly
from leadline.auth.deps import PageUser
from leadline.db import unit_of_work
from leadline.errors import LeadlineError
from leadline.web.pages.forms import errors_of
from leadline.web.render import page, settings_of

router = APIRouter(include_in_schema=False)

VIEWS: tuple[tuple[str, str], ...] = (
    ("week", "Weekly report"), ("templates", "Templates"), ("objections", "Objections"), ("forecast", "Forecast"),
)  # fmt: skip


@router.get("/reports")
def reports(
    request: Request,
    principal: PageUser,
    view: Annotated[str, Query(max_length=20)] = "week",
    week: Annotated[str, Query(max_length=20)] = "",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
) -> Response:
    settings = settings_of(request)
    view = view if view in dict(VIEWS) else "week"
    context: dict[str, Any] = {"views": VIEWS, "view": view, "week_text": week, "since": since, "until": until,
                               "errors": None}  # fmt: skip
    status = 200
    try:
        with unit_of_work(settings, readonly=True) as session:
            if view == "week":
                chosen = common.resolve_week(week or None, settings)
                report = weekly.weekly_report(session, chosen, settings=settings)
                context.update(report=report, charts=render.charts(report), chosen=chosen,
                               links=figures.by_key(report.lists), previous=chosen.previous().label,
                               following=chosen.next().label)  # fmt: skip
            elif view == "templates":
                start = common.parse_day(since, settings, field="since")
                end = common.parse_day(until, settings, field="until")
                context["templates"] = what_works.template_performance(session, since=start, until=end)
            elif view == "objections":
                context["objections"] = what_works.objection_table(session, settings=settings)
            else:
                context["forecast"] = what_works.forecast(session, settings=settings)
    except LeadlineError as error:
        context["errors"] = errors_of(error)
        status = error.status_code
    return page(request, "app/reports/index.html", context, status)
