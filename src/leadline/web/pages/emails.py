"""``/emails``: every email by what it did (sent, delivered, opened, clicked, replied, bounced...:
"ever did", whatever happened next) or the state it is in (scheduled, failed, cancelled, and the
technical ones gathered under "needs attention"), newest first, filtered and paged with the email
service's keyset cursor. The dashboard's figures link here with the week's ``sentFrom`` /
``sentTo`` and ``asOf`` (a past week: what the emails had done by its end)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from leadline.auth.deps import PageUser
from leadline.config import Settings
from leadline.db import unit_of_work
from leadline.emails import service as emails
from leadline.emails.schemas import EmailFilterStatus
from leadline.errors import Invalid, LeadlineError
from leadline.prospects import service as prospects
from leadline.senders import health
from leadline.senders import service as senders
from leadline.times import list_moments
from leadline.web.pages.forms import FormError, FormErrors, errors_of
from leadline.web.render import page, settings_of

router = APIRouter()

PAGE_SIZE = 50
#: Every value the ``status`` parameter takes (the email list's filter).
STATUSES: tuple[str, ...] = EmailFilterStatus.__args__  # type: ignore[attr-defined]
#: The chips: what a person asks about; the technical states (pending, sending, unknown) are one.
CHIPS: tuple[tuple[str, str], ...] = (
    ("scheduled", "scheduled"), ("sent", "sent"), ("delivered", "delivered"), ("opened", "opened"),
    ("clicked", "clicked"), ("replied", "replied"), ("bounced", "bounced"), ("failed", "failed"),
    ("cancelled", "cancelled"), ("attention", "needs attention"),
)  # fmt: skip
#: How the page names a status that has no chip of its own (reached from a dashboard figure).
DESCRIPTIONS = {
    "human_opened": "opened by a person", "machine_only_opened": "opened only by machines",
    "call_booked": "replied, then a call was booked", "pending": "pending", "sending": "sending",
    "unknown": "unknown (the provider's answer was lost)",
}  # fmt: skip
TIMES = ("sentFrom", "sentTo", "asOf")
KEPT = ("status", "template", "prospect", *TIMES)


def _params(request: Request, settings: Settings) -> tuple[dict[str, str], dict[str, datetime], FormErrors | None]:
    given = {k: v.strip()[:200] for k, v in request.query_params.items() if k != "cursor" and v.strip()}
    params = {k: v for k, v in given.items() if k in KEPT}
    if "status" in params and params["status"] not in STATUSES:
        return {}, {}, errors_of(FormError("status", f"{params['status']!r} is not an email status"))
    try:
        return params, list_moments(params, TIMES, settings.zone), None
    except Invalid as refused:
        return {}, {}, errors_of(FormError(refused.field or "", refused.message))


def _rows(
    settings: Settings, params: dict[str, str], moments: dict[str, datetime], cursor: str | None
) -> dict[str, Any]:
    with unit_of_work(settings, readonly=True) as session:
        search = {"status": params.get("status"), "template": params.get("template"),
                  "prospect_id": params.get("prospect"), "sent_from": moments.get("sentFrom"),
                  "sent_to": moments.get("sentTo"), "as_of": moments.get("asOf"), "limit": PAGE_SIZE}  # fmt: skip
        error = None
        try:
            found = emails.search(session, cursor=cursor, **search)  # type: ignore[arg-type]
        except LeadlineError as problem:  # a cursor this server did not make, filters that do not fit
            error, cursor = errors_of(problem), None
            if problem.field != "cursor":
                search = {"limit": PAGE_SIZE}  # every email, below the error
            found = emails.search(session, **search)  # type: ignore[arg-type]
        names = {pid: p.name for pid, p in prospects.get_many(session, {e.prospect_id for e in found.items}).items()}
        from leadline.guardian import service as guardian

        answered = [e.id for e in found.items if e.replied_at is not None or e.status == "sent"]
        labels = {r.email_id: r for r in reversed(guardian.search(session, email_ids=answered, limit=500))}
        return {"emails": found.items, "next_cursor": found.next_cursor, "names": names, "errors": error,
                "cursor": cursor, "reply_labels": labels}  # fmt: skip


@router.get("/emails")
async def email_list(request: Request, principal: PageUser) -> Response:
    settings = settings_of(request)
    params, moments, error = _params(request, settings)
    cursor = (request.query_params.get("cursor") or "").strip()[:500] or None
    context = await run_in_threadpool(_rows, settings, params, moments, None if error else cursor)
    status = params.get("status")
    context |= {
        "params": params, "chips": CHIPS, "moments": moments,
        "described": DESCRIPTIONS.get(status) if status and status not in dict(CHIPS) else None,
    }  # fmt: skip
    if error:
        context["errors"] = error
    if request.headers.get("hx-request") and request.headers.get("hx-target") == "results":
        return page(request, "app/emails/_table.html", context)
    return page(request, "app/emails/list.html", context, status_code=422 if error else 200)


@router.get("/senders/health/emails")
async def health_list(request: Request, principal: PageUser) -> Response:
    """The emails one sender-health figure counts (the dashboard's and the report's deliverability
    figures link here): ``health.emails``, as ``GET /api/senders/health/emails`` gives their ids."""
    settings = settings_of(request)
    given = {k: request.query_params.get(k, "").strip()[:200] for k in ("window", "kind", "until", "sender", "domain")}

    def work() -> dict[str, Any]:
        with unit_of_work(settings, readonly=True) as session:
            try:
                until = datetime.fromisoformat(given["until"])
            except ValueError:
                raise Invalid(f"{given['until'][:40]!r} is not a time (a report's asOf)", field="until") from None
            ids = health.emails(session, window=given["window"], kind=given["kind"], until=until,
                                sender=given["sender"] or None, domain=given["domain"] or None)  # fmt: skip
            found = emails.by_ids(session, ids)
            names = {pid: p.name for pid, p in prospects.get_many(session, {e.prospect_id for e in found}).items()}
            who = given["domain"] or senders.find(session, given["sender"]).email
            return {"emails": found, "names": names, "until": until, "who": who}

    try:
        context = await run_in_threadpool(work)
    except LeadlineError as error:
        return page(request, "app/emails/health.html", {"errors": errors_of(error), "given": given},
                    status_code=error.status_code)  # fmt: skip
    context |= {"given": given, "label": health.LABELS[given["kind"]], "reply_labels": {}, "params": {}, "errors": None,
                "cursor": None, "next_cursor": None}  # fmt: skip
    return page(request, "app/emails/health.html", context)
