"""``/api/calls`` (book, log, complete, reschedule, cancel, no-show, list), ``/api/objections``,
``/api/calendar`` (the feed's secret URL, for admins) and the calendar feed ``/calendar/{token}.ics``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response

from leadline.auth.deps import ApiAdmin
from leadline.calls import calendar, service
from leadline.calls.schemas import (
    CallBook,
    CallEdit,
    CallListStatus,
    CallLog,
    CallLogged,
    CallRead,
    Cancel,
    NoShow,
    ObjectionCategory,
    Reschedule,
)
from leadline.deps import Actor, CurrentSettings, DbSession, ReadSession
from leadline.names import camel
from leadline.prospects import service as prospects
from leadline.schemas import ApiModel, Page
from leadline.times import to_utc

calls_router = APIRouter(prefix="/api/calls", tags=["calls"])
objections_router = APIRouter(prefix="/api/objections", tags=["calls"])
calendar_router = APIRouter(tags=["calls"])
calendar_url_router = APIRouter(prefix="/api/calendar", tags=["calls"])

_BODY_SCHEMA = {
    "oneOf": [
        CallBook.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}"),
        CallLog.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}"),
    ]
}


#: Fields only a logged call has: a body with one of them (and no scheduledAt) is a log, so a
#: missing outcome is reported as such.
_LOG_ONLY = {f.alias or name for name, f in CallLog.model_fields.items()} - {
    "prospectId",
    "scheduledAt",
    "notes",
}


@calls_router.get("", response_model=Page[CallRead], summary="List calls")
def list_calls(
    session: ReadSession,
    settings: CurrentSettings,
    status: Annotated[
        CallListStatus | None,
        Query(
            description="booked (not cancelled), pending (booked, not logged), overdue, completed, cancelled, "
            "no_show; with asOf: the state then."
        ),
    ] = None,
    today: Annotated[bool, Query(description="Only calls booked for today (local).")] = False,
    prospect_id: Annotated[str | None, Query(alias="prospectId", max_length=80)] = None,
    booked_from: Annotated[datetime | None, Query(alias="bookedFrom", description="Booked at or after.")] = None,
    booked_to: Annotated[datetime | None, Query(alias="bookedTo", description="Booked before.")] = None,
    held_from: Annotated[datetime | None, Query(alias="heldFrom", description="Completed at or after.")] = None,
    held_to: Annotated[datetime | None, Query(alias="heldTo", description="Completed before.")] = None,
    as_of: Annotated[datetime | None, Query(alias="asOf", description="The calls' state at this instant.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Any:
    zone = settings.zone
    given = {"booked_from": booked_from, "booked_to": booked_to, "held_from": held_from, "held_to": held_to,
             "as_of": as_of}  # fmt: skip
    bounds = {k: v if v is None or v.tzinfo else to_utc(v, zone, field=camel(k)) for k, v in given.items()}
    calls, total = service.search(
        session, status=status, today=today, prospect_id=prospect_id, limit=limit, offset=(page - 1) * limit,
        booked_from=bounds["booked_from"], booked_to=bounds["booked_to"], held_from=bounds["held_from"],
        held_to=bounds["held_to"], as_of=bounds["as_of"],
    )  # fmt: skip
    return Page[CallRead](items=service.read(session, calls), total=total, limit=limit, page=page)


@calls_router.post(
    "",
    response_model=CallLogged,
    status_code=201,
    summary="Book a call (with scheduledAt) or log one (with outcome)",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": _BODY_SCHEMA}}}},
)
def create_call(
    body: Annotated[dict[str, Any], Body(description="A CallBook or a CallLog (the seed's body).")],
    session: DbSession,
    actor: Actor,
) -> Any:
    if "outcome" in body or ("scheduledAt" not in body and _LOG_ONLY & set(body)):
        logged = service.log(session, CallLog.model_validate(body), actor=actor)
        return service.logged_read(session, logged)
    call = service.book(session, CallBook.model_validate(body), actor=actor)
    return _as_logged(session, call)


def _as_logged(session: Any, call: Any) -> CallLogged:
    prospect = prospects.get(session, call.prospect_id)
    return service.logged_read(session, service.Logged(call=call, prospect=prospect, task=None, customer=None))


@calls_router.get("/{call_id}", response_model=CallRead, summary="Read a call")
def get_call(call_id: str, session: ReadSession) -> Any:
    return service.read(session, [service.get(session, call_id)])[0]


@calls_router.patch("/{call_id}", response_model=CallLogged, summary="Log a booked call, or fix a logged one")
def edit_call(call_id: str, body: CallEdit, session: DbSession, actor: Actor) -> Any:
    return service.logged_read(session, service.edit(session, call_id, body, actor=actor))


@calls_router.post("/{call_id}/reschedule", response_model=CallLogged, summary="Move a call to a new time")
def reschedule_call(call_id: str, body: Reschedule, session: DbSession, actor: Actor) -> Any:
    return _as_logged(session, service.reschedule(session, call_id, body, actor=actor))


@calls_router.post("/{call_id}/cancel", response_model=CallLogged, summary="Cancel a booked call")
def cancel_call(call_id: str, session: DbSession, actor: Actor, body: Annotated[Cancel | None, Body()] = None) -> Any:
    reason = body.reason if body else None
    return _as_logged(session, service.cancel(session, call_id, reason=reason, actor=actor))


@calls_router.post("/{call_id}/no-show", response_model=CallLogged, summary="The prospect missed the call")
def no_show_call(call_id: str, session: DbSession, actor: Actor, body: Annotated[NoShow | None, Body()] = None) -> Any:
    call, task = service.no_show(session, call_id, notes=body.notes if body else None, actor=actor)

    prospect = prospects.get(session, call.prospect_id)
    return service.logged_read(session, service.Logged(call=call, prospect=prospect, task=task, customer=None))


@objections_router.get("", response_model=list[ObjectionCategory], summary="Objections by category")
def list_objections(session: ReadSession) -> Any:
    return service.objection_summary(session)[0]


@calendar_router.get(
    "/calendar/{token}.ics",
    summary="iCalendar feed of booked calls (subscribe from Google Calendar or Outlook)",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}, 404: {"description": "Wrong token"}},
)
def calendar_feed(token: str, session: ReadSession, settings: CurrentSettings) -> Response:
    calendar.check(settings, token)
    return Response(
        calendar.feed(session, settings),
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'inline; filename="leadline-calls.ics"', "Cache-Control": "no-store"},
    )


class CalendarUrl(ApiModel):
    url: str


@calendar_url_router.get(
    "", response_model=CalendarUrl, summary="The secret URL of the booked calls' calendar feed (admins)"
)
def calendar_url(settings: CurrentSettings, _: ApiAdmin) -> Any:
    return {"url": calendar.url(settings)}


router = APIRouter()
router.include_router(calls_router)
router.include_router(objections_router)
router.include_router(calendar_url_router)
# The calendar feed is not under /api/: calendar apps cannot send a token header, so the
# secret in its URL is its protection (included without the API's sign-in requirement).
