"""The prospect's public booking pages (no sign-in, no JavaScript): ``/book/{token}`` shows the
free times in the prospect's zone and books one; ``/book/manage/{token}`` confirms a booked call
and moves or cancels it. Each is rate-limited per client (``web/ratelimit.py``). Every rule is in
``booking/service.py``; a refusal is the same page with the reason and a 4xx status."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from leadline.booking import links, service
from leadline.booking.invites import ics, when_text
from leadline.db import unit_of_work
from leadline.errors import LeadlineError
from leadline.fields import digits
from leadline.web.pages.forms import read_form
from leadline.web.ratelimit import limiter
from leadline.web.render import page, settings_of

router = APIRouter(tags=["booking"], include_in_schema=False, dependencies=[Depends(limiter("booking"))])

MAX_NOTE = 1000


def _days(starts: list[datetime], zone: ZoneInfo) -> list[dict[str, Any]]:
    """Slots grouped by the prospect's local day: [{"label", "slots": [{"value", "time"}]}]."""
    local = [(s, s.astimezone(zone)) for s in starts]
    return [
        {"label": day.strftime("%A %d %B"), "id": day.strftime("%Y-%m-%d"),
         "slots": [{"value": s.strftime("%Y-%m-%dT%H:%M:%SZ"), "time": at.strftime("%H:%M")} for s, at in items]}
        for day, group in groupby(local, key=lambda pair: pair[1].date())
        for items in [list(group)]
    ]  # fmt: skip


def _parse_slot(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise service.SlotNotOffered("pick one of the times shown", field="slot") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # (the service checks it is one offered)


def _parse_length(value: str, default: int | None) -> int:
    if not value:
        if default is None:
            raise service.SlotNotOffered("pick a call length", field="length")
        return default
    if len(value) > 4 or not digits(value.strip()):
        raise service.SlotNotOffered("pick one of the call lengths shown", field="length")
    return int(value)


def _gone(request: Request, error: LeadlineError) -> HTMLResponse:
    return page(request, "public/booking.html", {"state": "gone", "message": error.message},
                status_code=error.status_code)  # fmt: skip


@contextmanager
def _unit(request: Request, *, readonly: bool = False) -> Iterator[Session]:
    with unit_of_work(settings_of(request), readonly=readonly) as session:
        yield session


def _booking_context(session: Session, opened: service.Opened, length: int) -> dict[str, Any]:
    starts = service.slots(session, opened, length)
    return {
        "business": opened.prospect.name, "person": opened.prospect.contact_name, "lengths": opened.lengths,
        "length": length, "days": _days(starts, opened.zone), "zone": opened.zone.key,
        "offered": opened.offer is not None,
    }  # fmt: skip


@router.get("/book/{token}", response_class=HTMLResponse)
def show(request: Request, token: str, length: str = "") -> HTMLResponse:
    with _unit(request, readonly=True) as session:
        try:
            opened = service.open_link(session, token)
            existing = service.current(session, opened.prospect.id)
            if existing is not None:
                manage = links.manage_path(settings_of(request), existing.id)
                return page(request, "public/booking.html", {"state": "booked-already", "manage": manage})
            default = opened.lengths[0] if opened.lengths else 30
            chosen = _parse_length(length, default)
            if opened.lengths and chosen not in opened.lengths:
                chosen = default
            context = _booking_context(session, opened, chosen)
        except LeadlineError as error:
            return _gone(request, error)
    return page(request, "public/booking.html", {"state": "choose", "token": token, **context})


@router.post("/book/{token}", response_model=None)
async def book(request: Request, token: str) -> Response:
    form = await read_form(request, keep_blank=("note",))  # text fields only: a file sent as one is not read
    slot, length, note = (form.get(k, "") for k in ("slot", "length", "note"))
    settings = settings_of(request)
    try:
        with _unit(request) as session:
            chosen_length = _parse_length(length, None)
            if not slot:
                raise service.SlotNotOffered("pick a time first", field="slot")
            if len(note) > MAX_NOTE:
                raise service.SlotNotOffered(f"the note is longer than {MAX_NOTE} characters", field="note")
            booking = service.book(session, token, _parse_slot(slot), chosen_length, note=note or None)
            booking_id = booking.id
    except service.AlreadyBooked as error:
        return page(request, "public/booking.html", {"state": "booked-already",
                    "manage": links.manage_path(settings, error.booking_id)}, status_code=409)  # fmt: skip
    except (service.LinkInvalid, service.LinkGone) as error:
        return _gone(request, error)
    except LeadlineError as error:
        return _choose_again(request, token, length, error)
    return RedirectResponse(f"{links.manage_path(settings, booking_id)}?done=booked", status_code=303)


def _choose_again(request: Request, token: str, length: str, error: LeadlineError) -> HTMLResponse:
    with _unit(request, readonly=True) as session:
        try:
            opened = service.open_link(session, token)
            default = opened.lengths[0] if opened.lengths else 30
            chosen = (len(length) <= 4 and digits(length) and int(length) in opened.lengths and int(length)) or default
            context = _booking_context(session, opened, chosen)
        except LeadlineError as again:
            return _gone(request, again)
    context.update({"state": "choose", "token": token, "error": error.message, "field": error.field})
    return page(request, "public/booking.html", context, status_code=error.status_code)


def _manage_page(
    request: Request, token: str, state: str, *, extra: dict[str, Any] | None = None, status: int = 200,
    with_slots: bool = False,
) -> HTMLResponse:  # fmt: skip
    settings = settings_of(request)
    with _unit(request, readonly=True) as session:
        try:
            managed = service.manage(session, token)
        except LeadlineError as error:
            return _gone(request, error)
        call = managed.call
        context: dict[str, Any] = {
            "state": state, "token": token, "business": managed.prospect.name, "status": call.status,
            "when": when_text(call.scheduled_at, managed.zone) if call.scheduled_at else "",
            "length": managed.booking.length_minutes, "zone": managed.zone.key,
            "manage": links.manage_path(settings, managed.booking.id),
            "again": links.path(settings, managed.prospect.id, managed.booking.sender_email),
            "done": request.query_params.get("done", ""),
        }  # fmt: skip
        if with_slots and call.status == "scheduled":
            context["days"] = _days(service.manage_slots(session, managed), managed.zone)
    context.update(extra or {})
    return page(request, "public/booking.html", context, status_code=status)


@router.get("/book/manage/{token}", response_class=HTMLResponse)
def confirmation(request: Request, token: str) -> HTMLResponse:
    return _manage_page(request, token, "confirmed")


@router.get("/book/manage/{token}/reschedule", response_class=HTMLResponse)
def reschedule_form(request: Request, token: str) -> HTMLResponse:
    return _manage_page(request, token, "reschedule", with_slots=True)


@router.post("/book/manage/{token}/reschedule", response_model=None)
async def reschedule(request: Request, token: str) -> Response:
    slot = (await read_form(request)).get("slot", "")
    return _managed_change(request, token, "reschedule", lambda session: service.reschedule(
        session, token, _parse_slot(slot) if slot else _missing_slot()))  # fmt: skip


def _missing_slot() -> datetime:
    raise service.SlotNotOffered("pick a time first", field="slot")


@router.get("/book/manage/{token}/cancel", response_class=HTMLResponse)
def cancel_form(request: Request, token: str) -> HTMLResponse:
    return _manage_page(request, token, "cancel")


@router.post("/book/manage/{token}/cancel", response_model=None)
async def cancel(request: Request, token: str) -> Response:
    reason = (await read_form(request)).get("reason", "")[:500]
    return _managed_change(request, token, "cancel", lambda session: service.cancel(session, token, reason=reason))


def _managed_change(request: Request, token: str, state: str, change: Callable[[Session], Any]) -> Response:
    try:
        with _unit(request) as session:
            change(session)
    except (service.LinkInvalid, service.LinkGone) as error:
        return _gone(request, error)
    except LeadlineError as error:
        return _manage_page(request, token, state, extra={"error": error.message}, status=error.status_code,
                            with_slots=state == "reschedule")  # fmt: skip
    done = "rescheduled" if state == "reschedule" else "cancelled"
    return RedirectResponse(f"/book/manage/{token}?done={done}", status_code=303)


@router.get("/book/manage/{token}/invite.ics", response_model=None)
def invite(request: Request, token: str) -> Response:
    settings = settings_of(request)
    with _unit(request, readonly=True) as session:
        try:
            managed = service.manage(session, token)
        except LeadlineError as error:
            return _gone(request, error)
        call, prospect = managed.call, managed.prospect
        assert call.scheduled_at is not None
        data = ics(
            method="CANCEL" if call.status == "cancelled" else "REQUEST", call_id=call.id,
            sequence=call.ics_sequence, start=call.scheduled_at, minutes=managed.booking.length_minutes,
            summary=f"Call: {settings.sender_name} and {managed.prospect.name}", description="",
            organizer=(managed.host.email, settings.sender_name),
            attendee=(prospect.email or managed.host.email, prospect.contact_name or prospect.name),
            stamp=call.updated_at, url=links.manage_url(settings, managed.booking.id),
        )  # fmt: skip
    return Response(
        data, media_type="text/calendar", headers={"Content-Disposition": 'attachment; filename="call.ics"'}
    )
