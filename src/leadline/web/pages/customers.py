"""``/customers``: the list with MRR, one customer's record, its edit form and status changes.

The edit form goes to ``customers.service.update`` with a ``CustomerUpdate`` (the schema of
``PATCH /api/customers/{id}`` and ``leadline customers update``); pause, churn and reactivate go
to ``customers.service.change_status``. Each change is on the prospect's timeline with the
signed-in user as the actor.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from leadline.auth.deps import PageUser, PageWriter, Principal
from leadline.clock import utc_now
from leadline.customers import service
from leadline.customers.schemas import CustomerRead, CustomerUpdate
from leadline.db import unit_of_work
from leadline.errors import Invalid, LeadlineError
from leadline.files import service as files
from leadline.notes import service as notes
from leadline.prospects import service as prospects
from leadline.tasks import service as tasks
from leadline.times import to_utc
from leadline.web.pages.forms import FormErrors, errors_of, read_form
from leadline.web.render import page, settings_of

router = APIRouter(include_in_schema=False)

STATUSES = ("active", "paused", "churned")
SERVICE_TYPES = (("grid_health_analysis", "Grid health analysis"), ("content_generation", "Content generation"),
                 ("paid_ads", "Paid ads"))  # fmt: skip
#: The edit form's inputs: (name as in the API, label, input type).
EDIT_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("companyName", "Company", "text"),
    ("contactName", "Contact", "text"),
    ("email", "E-mail", "email"),
    ("phone", "Phone", "tel"),
    ("website", "Website", "text"),
    ("monthlyFee", "Monthly fee", "text"),
    ("startDate", "Start date", "date"),
    ("contractUrl", "Contract URL", "text"),
    ("primaryContact", "Primary contact", "text"),
    ("slackChannel", "Slack channel", "text"),
    ("googleDriveFolder", "Google Drive folder", "text"),
    ("currentGridHealth", "Current grid health", "text"),
    ("impressionsGenerated", "Impressions generated", "text"),
    ("leadsGenerated", "Leads generated", "text"),
)
EDITABLE = (*(name for name, _, _ in EDIT_FIELDS), "serviceType", "notes")
FILE_DONE = {"file-added": "The file is kept.", "file-removed": "The file is removed."}
ACTIONS = {"pause": "Paused.", "churn": "Churned.", "reactivate": "Reactivated."}


@router.get("/customers")
def customers(request: Request, principal: PageUser,
              status: Annotated[str, Query(max_length=20)] = "",
              signed_from: Annotated[datetime | None, Query(alias="signedFrom")] = None,
              signed_to: Annotated[datetime | None, Query(alias="signedTo")] = None) -> Response:  # fmt: skip
    chosen = status if status in STATUSES else None
    zone = settings_of(request).zone
    start = to_utc(signed_from, zone, field="signedFrom") if signed_from else None
    end = to_utc(signed_to, zone, field="signedTo") if signed_to else None
    with unit_of_work(settings_of(request), readonly=True) as session:
        found = service.search(session, status=chosen, signed_from=start, signed_to=end)
        rows = [CustomerRead.model_validate(c) for c in found]
        mrr = service.mrr(session)
        counts = {s: len(service.search(session, status=s)) for s in STATUSES} if chosen else None
    if counts is None:
        counts = {s: sum(1 for c in rows if c.status == s) for s in STATUSES}
    context = {"customers": rows, "mrr": mrr, "status": chosen or "", "statuses": STATUSES, "counts": counts}
    return page(request, "app/customers/index.html", context)


def _form_of(customer: CustomerRead, request: Request) -> dict[str, Any]:
    zone = settings_of(request).zone
    values: dict[str, Any] = {}
    for name in EDITABLE:
        snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in name)
        value = getattr(customer, snake)
        if name == "startDate":
            value = value.astimezone(zone).date().isoformat()
        elif isinstance(value, float) and value.is_integer():
            value = int(value)
        values[name] = "" if value is None else str(value)
    return values


def _customer_page(request: Request, principal: Principal, ref: str, *, flash: str = "", form: str = "",
                   values: dict[str, Any] | None = None, errors: FormErrors | None = None) -> Response:  # fmt: skip
    with unit_of_work(settings_of(request), readonly=True) as session:
        customer = CustomerRead.model_validate(service.get(session, ref))
        prospect = prospects.get(session, customer.prospect_id)
        history = [e for e in prospects.timeline(session, customer.prospect_id) if e.type == "customer"]
        sales_status = prospect.sales_status
        written = notes.for_prospect(session, customer.prospect_id, check=False)
        to_do = tasks.read(session, tasks.search(session, state="open", prospect_id=customer.prospect_id))
        kept = [files.read(f) for f in files.for_prospect(session, customer.prospect_id)]
    context = {
        "customer": customer, "history": history, "notes": written, "tasks": to_do, "files": kept,
        "file_max_mb": settings_of(request).file_max_bytes // (1024 * 1024), "now": utc_now(),
        "sales_status": sales_status, "flash": flash, "form": form,
        "values": values if values is not None else _form_of(customer, request), "errors": errors,
        "fields": EDIT_FIELDS, "service_types": SERVICE_TYPES, "can_write": principal.can_write,
    }  # fmt: skip
    return page(request, "app/customers/customer.html", context, errors.status if errors else 200)


@router.get("/customers/{ref}")
def customer_detail(request: Request, principal: PageUser, ref: str, done: str = "") -> Response:
    try:
        flash = (
            {"saved": "Saved.", "unchanged": "Nothing was changed."}.get(done)
            or ACTIONS.get(done, "")
            or FILE_DONE.get(done, "")
        )
        return _customer_page(request, principal, ref, flash=flash)
    except LeadlineError as error:
        return page(request, "app/customers/missing.html", {"message": str(error)}, error.status_code)


@router.post("/customers/{ref}")
async def edit_customer(request: Request, principal: PageWriter, ref: str) -> Response:
    values = await read_form(request, keep_blank=EDITABLE)
    return await run_in_threadpool(_edit, request, principal, ref, values)


def _edit(request: Request, principal: Principal, ref: str, values: dict[str, str]) -> Response:
    try:
        unknown = sorted(set(values) - set(EDITABLE))
        if unknown:
            raise Invalid("unknown field", field=unknown[0])
        with unit_of_work(settings_of(request)) as session:
            customer = service.get(session, ref)
            # Only what was changed on the form: a value shown and sent back as it was (a start date
            # shown as its local day, a fee shown without decimals) is not a change.
            shown = _form_of(CustomerRead.model_validate(customer), request)
            changed = {name: value or None for name, value in values.items() if value != shown.get(name)}
            if not changed:
                return RedirectResponse(f"/customers/{customer.id}?done=unchanged", status_code=303)
            customer_id = service.update(session, ref, CustomerUpdate.model_validate(changed), actor=principal.actor).id
    except (LeadlineError, ValidationError) as error:
        return _refused(request, principal, ref, "edit", values, errors_of(error))
    return RedirectResponse(f"/customers/{customer_id}?done=saved", status_code=303)


@router.post("/customers/{ref}/{action}")
async def change_status(request: Request, principal: PageWriter, ref: str, action: str) -> Response:
    values = await read_form(request)
    return await run_in_threadpool(_status, request, principal, ref, action, values)


def _status(request: Request, principal: Principal, ref: str, action: str, values: dict[str, str]) -> Response:
    reason = values.get("reason")
    try:
        if action not in ACTIONS:
            raise Invalid(f"unknown action {action!r}: pause, churn or reactivate", field="action")
        if reason is not None and len(reason) > 500:
            raise Invalid("must be at most 500 characters", field="reason")
        with unit_of_work(settings_of(request)) as session:
            customer_id = service.change_status(session, ref, action, reason=reason, actor=principal.actor).id
    except LeadlineError as error:
        return _refused(request, principal, ref, "status", {"reason": reason or ""}, errors_of(error))
    return RedirectResponse(f"/customers/{customer_id}?done={action}", status_code=303)


def _refused(request: Request, principal: Principal, ref: str, form: str, values: dict[str, str],
             errors: FormErrors) -> Response:  # fmt: skip
    try:
        return _customer_page(request, principal, ref, form=form, values=values if form == "edit" else None,
                              errors=errors)  # fmt: skip
    except LeadlineError as missing:
        return page(request, "app/customers/missing.html", {"message": str(missing)}, missing.status_code)
