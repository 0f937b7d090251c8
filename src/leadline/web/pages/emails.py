"""``/emails``: every email by status (scheduled, sent, delivered, opened, replied, bounced...),
newest first, filtered and paged with the email service's keyset cursor."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from leadline.auth.deps import PageUser
from leadline.config import Settings
from leadline.db import unit_of_work
from leadline.emails import service as emails
from leadline.emails.schemas import EmailStatus
from leadline.errors import LeadlineError
from leadline.prospects import service as prospects
from leadline.web.pages.forms import FormError, FormErrors, errors_of
from leadline.web.render import page, settings_of

router = APIRouter()

PAGE_SIZE = 50
STATUSES: tuple[str, ...] = EmailStatus.__args__  # type: ignore[attr-defined]


def _params(request: Request) -> tuple[dict[str, str], FormErrors | None]:
    given = {k: v.strip()[:200] for k, v in request.query_params.items() if k != "cursor" and v.strip()}
    if "status" in given and given["status"] not in STATUSES:
        return {}, errors_of(FormError("status", f"{given['status']!r} is not an email status"))
    return {k: v for k, v in given.items() if k in ("status", "template", "prospect")}, None


def _rows(settings: Settings, params: dict[str, str], cursor: str | None) -> dict[str, Any]:
    with unit_of_work(settings, readonly=True) as session:
        search = {"status": params.get("status"), "template": params.get("template"),
                  "prospect_id": params.get("prospect"), "limit": PAGE_SIZE}  # fmt: skip
        error = None
        try:
            found = emails.search(session, cursor=cursor, **search)  # type: ignore[arg-type]
        except LeadlineError as problem:  # a cursor this server did not make
            error, cursor = errors_of(problem), None
            found = emails.search(session, **search)  # type: ignore[arg-type]
        names = {pid: p.name for pid, p in prospects.get_many(session, {e.prospect_id for e in found.items}).items()}
        return {"emails": found.items, "next_cursor": found.next_cursor, "names": names, "errors": error,
                "cursor": cursor}  # fmt: skip


@router.get("/emails")
async def email_list(request: Request, principal: PageUser) -> Response:
    settings = settings_of(request)
    params, error = _params(request)
    cursor = (request.query_params.get("cursor") or "").strip()[:500] or None
    context = await run_in_threadpool(_rows, settings, params, None if error else cursor)
    context |= {"params": params, "statuses": STATUSES}
    if error:
        context["errors"] = error
    if request.headers.get("hx-request") and request.headers.get("hx-target") == "results":
        return page(request, "app/emails/_table.html", context)
    return page(request, "app/emails/list.html", context, status_code=422 if error else 200)
