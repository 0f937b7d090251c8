"""``/api/dashboard``, ``/api/reports/week``, ``/api/analytics/...`` and ``/api/export/{kind}``."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse

from leadline.analytics.schemas import (
    Conversion,
    Dashboard,
    Forecast,
    ObjectionTable,
    TemplatePerformance,
    Timing,
    WeeklyReport,
)
from leadline.analytics.service import common, exports, what_works
from leadline.analytics.service import dashboard as figures
from leadline.analytics.service import report as weekly
from leadline.deps import CurrentSettings, ReadSession
from leadline.prospects.stages import Stage

router = APIRouter(tags=["analytics"])

WeekQ = Annotated[
    str | None,
    Query(max_length=20, description="ISO week like 2025-W47, or 'this' (default) or 'last'; in LEADLINE_TIMEZONE."),
]
SinceQ = Annotated[str | None, Query(max_length=10, description="Emails sent on or after this local date.")]
UntilQ = Annotated[str | None, Query(max_length=10, description="Emails sent before this local date.")]


@router.get("/api/dashboard", response_model=Dashboard, summary="The week's sales metrics (the seed's dashboard)")
def get_dashboard(
    session: ReadSession,
    settings: CurrentSettings,
    week: WeekQ = None,
    cards: Annotated[int, Query(ge=0, le=figures.MAX_CARDS, description="How many prospect cards.")] = 3,
) -> Any:
    chosen = common.resolve_week(week, settings)
    return figures.dashboard(session, chosen, settings=settings, cards=cards)


@router.get(
    "/api/reports/week",
    response_model=WeeklyReport,
    summary="The weekly sales report as JSON, CSV or a self-contained HTML file",
    responses={200: {"content": {"text/csv": {}, "text/html": {}}}},
)
def get_weekly_report(
    session: ReadSession,
    settings: CurrentSettings,
    week: WeekQ = None,
    format: Literal["json", "csv", "html"] = "json",
) -> Any:
    from leadline.analytics import render

    chosen = common.resolve_week(week, settings)
    report = weekly.weekly_report(session, chosen, settings=settings)
    name = f"leadline-report-{report.week.label}"
    if format == "csv":
        return Response(
            render.report_csv(report), media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )  # fmt: skip
    if format == "html":
        return HTMLResponse(render.report_html(report))
    return JSONResponse(report.dump())


def _period(since: str | None, until: str | None, settings: Any) -> tuple[datetime | None, datetime | None]:
    return common.parse_day(since, settings, field="since"), common.parse_day(until, settings, field="until")


@router.get("/api/analytics/templates", response_model=TemplatePerformance, summary="Template performance")
def get_templates(session: ReadSession, settings: CurrentSettings, since: SinceQ = None, until: UntilQ = None) -> Any:
    start, end = _period(since, until, settings)
    return what_works.template_performance(session, since=start, until=end)


@router.get("/api/analytics/objections", response_model=ObjectionTable, summary="Objections and their win rates")
def get_objections(session: ReadSession, settings: CurrentSettings) -> Any:
    return what_works.objection_table(session, settings=settings)


@router.get("/api/analytics/conversion", response_model=Conversion, summary="Conversion by trade, tier, grid health")
def get_conversion(session: ReadSession) -> Any:
    return what_works.conversion(session)


@router.get("/api/analytics/timing", response_model=Timing, summary="Reply timing and reply rate by send time")
def get_timing(session: ReadSession, settings: CurrentSettings, since: SinceQ = None, until: UntilQ = None) -> Any:
    start, end = _period(since, until, settings)
    return what_works.timing(session, settings=settings, since=start, until=end)


@router.get("/api/analytics/forecast", response_model=Forecast, summary="Weighted pipeline and MRR")
def get_forecast(session: ReadSession, settings: CurrentSettings) -> Any:
    return what_works.forecast(session, settings=settings)


@router.get(
    "/api/export/{kind}",
    summary="Export prospects, emails, calls or customers as CSV or JSON",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
)
def export(
    kind: Literal["prospects", "emails", "calls", "customers"],
    settings: CurrentSettings,
    format: Literal["csv", "json"] = "csv",
    status: Annotated[str | None, Query(max_length=20, description="Status (stage, for prospects).")] = None,
    tier: Annotated[int | None, Query(ge=1, le=3)] = None,
    trade: Annotated[str | None, Query(max_length=80)] = None,
    search: Annotated[str | None, Query(max_length=200)] = None,
    prospect_id: Annotated[str | None, Query(alias="prospectId", max_length=80)] = None,
    template: Annotated[str | None, Query(max_length=100)] = None,
    outcome: Annotated[str | None, Query(max_length=20)] = None,
    since: Annotated[
        str | None, Query(max_length=10, description="Local date (sentAt, scheduledAt, signedAt).")
    ] = None,
    until: Annotated[str | None, Query(max_length=10, description="Local date, exclusive.")] = None,
) -> StreamingResponse:
    from leadline.db import unit_of_work
    from leadline.errors import Invalid
    from leadline.exports import iter_csv, iter_json

    if kind == "prospects" and status is not None and status not in Stage.__args__:  # type: ignore[attr-defined]
        raise Invalid(f"{status!r} is not a stage", field="status")
    start, end = _period(since, until, settings)
    filters = exports.ExportFilters(
        status=status, tier=tier, trade=trade, search=search, prospect_id=prospect_id, template=template,
        outcome=outcome, since=start, until=end,
    )  # fmt: skip
    # Refuse bad filters before the response starts: build the query and read the first row now;
    # the same read transaction then streams the rest while the response is being sent.
    stack = ExitStack()
    session = stack.enter_context(unit_of_work(settings, readonly=True))
    try:
        columns, records = exports.export(session, kind, filters)
        first = next(records, None)
    except BaseException:
        stack.close()
        raise

    def chunks() -> Iterator[str]:
        with stack:
            rows = itertools.chain([first] if first is not None else [], records)
            yield from iter_csv(rows, columns) if format == "csv" else iter_json(rows)

    media = "text/csv; charset=utf-8" if format == "csv" else "application/json"
    return StreamingResponse(
        chunks(), media_type=media, headers={"Content-Disposition": f'attachment; filename="{kind}.{format}"'}
    )
