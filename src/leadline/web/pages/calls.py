"""``/calls``: today, upcoming, overdue and completed calls; log, book, reschedule, cancel, no-show.

Every form goes to the calls service the CLI (``leadline calls ...``) and the API
(``/api/calls``) use, with the same schemas (``CallLog``, ``CallBook``, ``Reschedule``), so the
errors name the same fields (inputs carry the API's names: ``forms``). A refused form is shown
again, as typed, and nothing was written.

"Log a call" and "book a call" are one form each (``templates/app/calls/_log_form.html`` and
``_book_form.html``) and one handler each (``log_from_form``, ``book_from_form``), also used by a
prospect's page, which posts the same forms with the prospect filled in.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from leadline.auth.deps import PageUser, PageWriter, Principal
from leadline.calls import service
from leadline.calls.schemas import OUTCOMES, CallBook, CallLog, Reschedule
from leadline.config import Settings
from leadline.db import unit_of_work
from leadline.errors import Invalid, LeadlineError
from leadline.prospects import service as prospects
from leadline.times import to_utc
from leadline.web.pages.forms import FormErrors, errors_of, read_form
from leadline.web.render import page, settings_of

router = APIRouter(include_in_schema=False)

TABS: tuple[tuple[str, str], ...] = (
    ("today", "Today"), ("upcoming", "Upcoming"), ("overdue", "Overdue"), ("completed", "Completed"),
)  # fmt: skip
PER_PAGE = 50
OUTCOME_LABELS = {
    "interested": "Interested", "not_interested": "Not interested", "follow_up": "Follow up",
    "proposal_sent": "Proposal sent", "closed_won": "Closed won",
}  # fmt: skip
SERVICE_TYPES = (("grid_health_analysis", "Grid health analysis"), ("content_generation", "Content generation"),
                 ("paid_ads", "Paid ads"))  # fmt: skip


def log_form() -> dict[str, Any]:
    """What the one "Log a call" partial (``app/calls/_log_form.html``) is given on every page that shows
    it (the calls page, a call's page, a prospect's page): the same choices, and the one rule that no
    outcome is preselected (the person says how the call went; only their own input, sent back after
    an error, is chosen again)."""
    return {"outcomes": [(o, OUTCOME_LABELS[o]) for o in OUTCOMES], "service_types": SERVICE_TYPES}


DONE = {
    "logged": "Call logged.", "booked": "Call booked.", "rescheduled": "Call rescheduled.",
    "cancelled": "Call cancelled.", "no_show": "Marked as a no-show; a task to reschedule it was added.",
}  # fmt: skip
#: Stages whose prospects are offered in the forms' prospect list (people a call is likely with).
SUGGEST_STAGES = ("replied", "scheduled", "interested", "proposal")


#: A dashboard figure's list: the call list's filters (the API's names), instead of a tab.
FIGURE_FILTERS = {"status": "status", "bookedFrom": "booked_from", "bookedTo": "booked_to", "heldFrom": "held_from",
                  "heldTo": "held_to", "asOf": "as_of"}  # fmt: skip
FIGURE_STATUSES = ("booked", "pending", "overdue", "upcoming", "completed", "cancelled", "no_show")


def _figure(request: Request) -> tuple[dict[str, str], dict[str, Any]]:
    """The figure filters given (as typed) and as the calls service takes them; refused ones raise Invalid."""
    given = {k: v.strip()[:60] for k, v in request.query_params.items() if k in FIGURE_FILTERS and v.strip()}
    chosen: dict[str, Any] = {}
    for name, value in given.items():
        if name == "status":
            if value not in FIGURE_STATUSES:
                raise Invalid(f"must be one of {', '.join(FIGURE_STATUSES)}", field="status")
            chosen["status"] = value
            continue
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise Invalid(f"{value!r} is not a date and time", field=name) from None
        chosen[FIGURE_FILTERS[name]] = to_utc(moment, settings_of(request).zone, field=name)
    return given, chosen


def _query(tab: str) -> dict[str, Any]:
    if tab == "today":
        return {"today": True}
    if tab == "completed":
        return {"status": "completed", "newest_first": True}
    return {"status": tab}


def _suggestions(session: Any) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for stage in SUGGEST_STAGES:
        found += [(p.id, p.name) for p in prospects.in_stage(session, stage, limit=100)[0]]
    return sorted(found, key=lambda item: item[1].lower())


def _calls_page(
    request: Request,
    principal: Principal,
    *,
    tab: str = "today",
    page_number: int = 1,
    flash: str = "",
    form: str = "",
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
) -> Response:
    page_number = max(1, page_number)
    try:
        given, chosen = _figure(request)
    except Invalid as error:
        given, chosen, errors = {}, {}, errors or errors_of(error)
    if not given and tab not in dict(TABS):  # as every other bad filter: said, and today's calls shown
        errors = errors or errors_of(Invalid(f"{tab[:40]!r} is not a tab ({', '.join(dict(TABS))})", field="tab"))
    tab = "figure" if given else tab if tab in dict(TABS) else "today"
    with unit_of_work(settings_of(request), readonly=True) as session:
        counts = {name: service.search(session, limit=0, **_query(name))[1] for name, _ in TABS}
        try:
            calls, total = service.search(
                session, limit=PER_PAGE, offset=(page_number - 1) * PER_PAGE, **(chosen if given else _query(tab))
            )
        except Invalid as error:  # filters that do not fit together: today's calls, below the error
            errors, tab, given = errors or errors_of(error), "today", {}
            calls, total = service.search(session, limit=PER_PAGE, **_query(tab))
        rows = service.read(session, calls)
        suggestions = _suggestions(session) if principal.can_write else []
    context = {
        "tabs": TABS, "tab": tab, "counts": counts, "figure": given, "figure_as_of": chosen.get("as_of"),
        "list_query": urlencode(given or {"tab": tab}), "calls": rows, "total": total, "page_number": page_number,
        "pages": max(1, -(-total // PER_PAGE)), "flash": flash, "form": form, "values": values or {},
        "errors": errors, "suggestions": suggestions, "can_write": principal.can_write, **log_form(),
    }  # fmt: skip
    return page(request, "app/calls/index.html", context, errors.status if errors else 200)


def _call_page(
    request: Request,
    principal: Principal,
    call_id: str,
    *,
    flash: str = "",
    form: str = "",
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
) -> Response:
    with unit_of_work(settings_of(request), readonly=True) as session:
        call = service.read(session, [service.get(session, call_id)])[0]
        timeline = [
            e for e in prospects.timeline(session, call.prospect_id) if (e.details or {}).get("callId") == call.id
        ]
    context = {
        "call": call, "timeline": timeline, "flash": flash, "form": form, "values": values or {}, "errors": errors,
        "can_write": principal.can_write, **log_form(),
    }  # fmt: skip
    return page(request, "app/calls/call.html", context, errors.status if errors else 200)


def _done(where: str, code: str) -> RedirectResponse:
    joiner = "&" if "?" in where else "?"
    return RedirectResponse(f"{where}{joiner}done={code}", status_code=303)


@router.get("/calls")
def calls(request: Request, principal: PageUser, tab: str = "today",
          page_number: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1, done: str = "",
          prospect: str = "") -> Response:  # fmt: skip
    values = {"prospectId": prospect[:80]} if prospect else None
    return _calls_page(request, principal, tab=tab, page_number=page_number, flash=DONE.get(done, ""), values=values,
                       form="book" if prospect else "")  # fmt: skip


@router.get("/calls/{call_id}")
def call_detail(request: Request, principal: PageUser, call_id: str, done: str = "") -> Response:
    try:
        return _call_page(request, principal, call_id, flash=DONE.get(done, ""))
    except LeadlineError as error:
        return page(request, "app/calls/missing.html", {"message": str(error)}, error.status_code)


def _log_data(values: dict[str, str]) -> CallLog:
    return CallLog.model_validate(values)  # objections: text, parsed by the schema (calls.objections.parse)


def log_from_form(settings: Settings, principal: Principal, values: dict[str, str]) -> tuple[str, FormErrors | None]:
    """Log the call a "log a call" form describes: the logged call's id, or the form's errors."""
    try:
        data = _log_data(values)
        with unit_of_work(settings) as session:
            return service.log(session, data, actor=principal.actor).call.id, None
    except (LeadlineError, ValidationError) as error:
        return "", errors_of(error)


def book_from_form(settings: Settings, principal: Principal, values: dict[str, str]) -> FormErrors | None:
    """Book the call a "book a call" form describes; the form's errors when refused."""
    try:
        data = CallBook.model_validate(values)
        with unit_of_work(settings) as session:
            service.book(session, data, actor=principal.actor)
    except (LeadlineError, ValidationError) as error:
        return errors_of(error)
    return None


@router.post("/calls/log")
async def log_call(request: Request, principal: PageWriter) -> Response:
    return await run_in_threadpool(_log, request, principal, await read_form(request))


def _log(request: Request, principal: Principal, values: dict[str, str]) -> Response:
    call_id = values.get("callId")
    done_id, problems = log_from_form(settings_of(request), principal, values)
    if problems:
        if call_id and "callId" not in problems.fields:
            try:
                return _call_page(request, principal, call_id, form="log", values=values, errors=problems)
            except LeadlineError:
                pass
        return _calls_page(request, principal, tab="today", form="log", values=values, errors=problems)
    if call_id:
        return _done(f"/calls/{done_id}", "logged")
    return _done("/calls?tab=completed", "logged")


@router.post("/calls/book")
async def book_call(request: Request, principal: PageWriter) -> Response:
    return await run_in_threadpool(_book, request, principal, await read_form(request))


def _book(request: Request, principal: Principal, values: dict[str, str]) -> Response:
    problems = book_from_form(settings_of(request), principal, values)
    if problems:
        return _calls_page(request, principal, tab="upcoming", form="book", values=values, errors=problems)
    return _done("/calls?tab=upcoming", "booked")


async def _call_action(request: Request, principal: Principal, call_id: str, form: str) -> Response:
    return await run_in_threadpool(_act, request, principal, call_id, form, await read_form(request))


def _act(request: Request, principal: Principal, call_id: str, form: str, values: dict[str, str]) -> Response:
    try:
        with unit_of_work(settings_of(request)) as session:
            if form == "reschedule":
                service.reschedule(session, call_id, Reschedule.model_validate(values), actor=principal.actor)
            elif form == "cancel":
                reason = values.get("reason")
                if reason is not None and len(reason) > 500:
                    raise Invalid("must be at most 500 characters", field="reason")
                service.cancel(session, call_id, reason=reason, actor=principal.actor)
            else:
                notes = values.get("notes")
                if notes is not None and len(notes) > 500:
                    raise Invalid("must be at most 500 characters", field="notes")
                service.no_show(session, call_id, notes=notes, actor=principal.actor)
    except (LeadlineError, ValidationError) as error:
        problems = errors_of(error)
        try:
            return _call_page(request, principal, call_id, form=form, values=values, errors=problems)
        except LeadlineError as missing:
            return page(request, "app/calls/missing.html", {"message": str(missing)}, missing.status_code)
    return _done(f"/calls/{call_id}", {"reschedule": "rescheduled", "cancel": "cancelled"}.get(form, "no_show"))


@router.post("/calls/{call_id}/reschedule")
async def reschedule_call(request: Request, principal: PageWriter, call_id: str) -> Response:
    return await _call_action(request, principal, call_id, "reschedule")


@router.post("/calls/{call_id}/cancel")
async def cancel_call(request: Request, principal: PageWriter, call_id: str) -> Response:
    return await _call_action(request, principal, call_id, "cancel")


@router.post("/calls/{call_id}/no-show")
async def no_show_call(request: Request, principal: PageWriter, call_id: str) -> Response:
    return await _call_action(request, principal, call_id, "no_show")
