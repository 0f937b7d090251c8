"""``/prospects``: the table (filters, search, sorting, keyset paging), CSV import with a preview,
and one prospect's page with its history and the actions a salesperson takes.

Every action calls the same service function as the CLI and the API, with the signed-in user
as the actor; a refused input is shown as one line naming the field, and nothing is changed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from leadline.auth.deps import PageUser, PageWriter, Principal
from leadline.config import Settings, private_folder
from leadline.db import rollback_only, unit_of_work
from leadline.errors import LeadlineError
from leadline.prospects import queries
from leadline.prospects import service as prospects
from leadline.prospects.importer import ImportFileError
from leadline.prospects.schemas import ProspectFilter
from leadline.prospects.stages import STAGES
from leadline.web.pages._common import FormError, explain, text_values
from leadline.web.render import page

router = APIRouter()

PAGE_SIZE = 50
#: A filtered total is counted up to here ("10,000+" beyond): counting reads every matching row.
COUNT_LIMIT = 10_000
SORTS = {"name": "Name", "tier": "Tier", "grid_health": "Grid", "created": "Added", "updated": "Updated"}
UPLOAD_KEEP_SECONDS = 24 * 3600
UPLOAD_SUFFIXES = (".csv", ".tsv", ".txt", ".json", ".jsonl", ".ndjson")


# --- the table -------------------------------------------------------------------------------


@dataclass
class ListState:
    """The table's query parameters, checked (they are plain GET parameters: bookmarkable)."""

    params: dict[str, str] = field(default_factory=dict)
    filters: queries.Filters = field(default_factory=queries.Filters)
    sort: str = "created"
    cursor: str | None = None
    error: FormError | None = None


#: The table's filter inputs -> the filter schema's fields (the one rule of the API and the CLI).
FILTER_INPUTS = {"stage": "status", "tier": "tier", "trade": "trade", "search": "search", "grid_min": "grid_health_min",
                 "grid_max": "grid_health_max", "dnc": "do_not_contact"}  # fmt: skip


def _list_state(request: Request) -> ListState:
    given = {k: v.strip() for k, v in request.query_params.items() if k != "cursor" and v.strip()}
    state = ListState(params=given)
    try:
        try:
            chosen = ProspectFilter.model_validate({FILTER_INPUTS[k]: given[k] for k in FILTER_INPUTS if k in given})
        except ValidationError as error:
            found = explain(error)
            name = next((k for k, v in FILTER_INPUTS.items() if v == found.field), found.field)
            _, _, message = found.message.partition(": ")
            raise FormError(name, f"{name}: {message}") from None
        state.filters = chosen.query()
        sort = given.get("sort", "created")
        if sort not in queries.SORT_CHOICES:
            raise FormError("sort", f"sort: must be one of {', '.join(queries.SORT_CHOICES)}")
        state.sort = sort
        state.cursor = (request.query_params.get("cursor") or "").strip()[:500] or None
    except FormError as error:
        state.error = error
        state.filters = queries.Filters()
        state.sort, state.cursor = "created", None
    return state


def _table(settings: Settings, state: ListState) -> dict[str, Any]:
    with unit_of_work(settings, readonly=True) as session:
        try:
            found = prospects.search(session, state.filters, sort=state.sort, limit=PAGE_SIZE, cursor=state.cursor,
                                     count_limit=COUNT_LIMIT)  # fmt: skip
        except LeadlineError as error:  # a cursor this server did not make
            state.error = explain(error)
            state.cursor = None
            found = prospects.search(session, state.filters, sort=state.sort, limit=PAGE_SIZE, count_limit=COUNT_LIMIT)
        trades = prospects.trades(session)
        rows = [p.as_dict() for p in found.items]
    return {"rows": rows, "total": found.total, "next_cursor": found.next_cursor, "trades": trades,
            "count_limit": COUNT_LIMIT if state.filters != queries.Filters() else None}  # fmt: skip


@router.get("/prospects")
async def prospect_list(request: Request, principal: PageUser) -> Response:
    settings: Settings = request.app.state.settings
    state = _list_state(request)
    context = await run_in_threadpool(_table, settings, state)
    context |= {
        "params": state.params, "sort": state.sort, "cursor": state.cursor, "sorts": SORTS, "stages": STAGES,
        "error": state.error,
    }  # fmt: skip
    if request.headers.get("hx-request") and request.headers.get("hx-target") == "results":
        # 200 even for a refused filter: htmx swaps only successful answers, and the error is in the table.
        return page(request, "app/prospects/_table.html", context | {"partial": True})
    return page(request, "app/prospects/list.html", context, status_code=422 if state.error else 200)


# --- import ------------------------------------------------------------------------------------


def _uploads(settings: Settings) -> Path:
    return private_folder(Path(settings.data_dir) / "uploads")


def _owner(principal: Principal) -> str:
    """Binds an upload to the browser session that made it (a digest of its CSRF token)."""
    return hashlib.sha256((principal.csrf_token or "").encode()).hexdigest()


def _forget_stale_uploads(settings: Settings, now: float | None = None) -> None:
    """Previews nobody confirmed are deleted after a day."""
    import time

    cutoff = (now if now is not None else time.time()) - UPLOAD_KEEP_SECONDS
    for folder in _uploads(settings).iterdir():
        try:
            if folder.is_dir() and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def _keep_upload(settings: Settings, principal: Principal, upload: UploadFile, ignore_unknown: bool) -> str:
    _forget_stale_uploads(settings)
    name = Path(upload.filename or "upload.csv").name
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise FormError("file", f"file: {name!r} is not a .csv, .json or .jsonl file")
    stem = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in Path(name).stem)[:80] or "upload"
    token = secrets.token_urlsafe(18)
    folder = _uploads(settings) / token
    folder.mkdir(mode=0o700)
    target = folder / (stem + suffix)
    size = 0
    with target.open("wb") as handle:
        while chunk := upload.file.read(1024 * 1024):
            size += len(chunk)
            if size > settings.import_max_body_bytes:  # web/limits.py refuses a larger body before this
                handle.close()
                shutil.rmtree(folder, ignore_errors=True)
                raise FormError("file", f"file: larger than {settings.import_max_body_bytes:,} bytes")
            handle.write(chunk)
    if size == 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise FormError("file", "file: is empty")
    meta = {"owner": _owner(principal), "file": target.name, "ignoreUnknown": ignore_unknown}
    (folder / "upload.json").write_text(json.dumps(meta))
    return token


def _find_upload(settings: Settings, principal: Principal, token: str) -> tuple[Path, dict[str, Any]]:
    if not token or not all(ch.isalnum() or ch in "-_" for ch in token):
        raise HTTPException(404, "no such upload")
    folder = _uploads(settings) / token
    try:
        meta = json.loads((folder / "upload.json").read_text())
    except (OSError, ValueError):
        raise HTTPException(
            404, "this upload is gone (already imported, or never made); upload the file again"
        ) from None
    if not hmac.compare_digest(str(meta.get("owner")), _owner(principal)):
        raise HTTPException(404, "no such upload")
    return folder / str(meta["file"]), meta


def _run_import(settings: Settings, path: Path, *, actor: str, dry_run: bool, ignore_unknown: bool) -> Any:
    with unit_of_work(settings) as session:
        if dry_run:
            rollback_only(session)
        return prospects.import_file(session, path, actor=actor, skip_invalid=True, ignore_unknown=ignore_unknown)


@router.get("/prospects/import")
async def import_form(request: Request, principal: PageWriter) -> Response:
    return page(request, "app/prospects/import.html", {})


@router.post("/prospects/import")
async def import_upload(request: Request, principal: PageWriter) -> Response:
    """Keep the file server-side and show what importing it would do (a dry run of the same import)."""
    settings: Settings = request.app.state.settings
    form = await request.form()
    upload = form.get("file")
    ignore_unknown = form.get("ignore_unknown") == "on"
    token: str | None = None
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise FormError("file", "file: choose a CSV file to import")
        token = await run_in_threadpool(_keep_upload, settings, principal, upload, ignore_unknown)
        path, _ = _find_upload(settings, principal, token)
        report = await run_in_threadpool(
            _run_import, settings, path, actor=principal.actor, dry_run=True, ignore_unknown=ignore_unknown
        )
    except (FormError, ImportFileError, LeadlineError) as error:
        problem = explain(error)
        if token is not None:  # a file that cannot be imported is not kept
            shutil.rmtree(_uploads(settings) / token, ignore_errors=True)
        return page(request, "app/prospects/import.html", {"error": problem, "ignore_unknown": ignore_unknown}, 422)
    return page(request, "app/prospects/import_preview.html", {"report": report, "token": token})


@router.post("/prospects/import/confirm")
async def import_confirm(request: Request, principal: PageWriter) -> Response:
    settings: Settings = request.app.state.settings
    form = await request.form()
    token = str(form.get("token") or "")
    path, meta = _find_upload(settings, principal, token)
    try:
        report = await run_in_threadpool(
            _run_import,
            settings,
            path,
            actor=principal.actor,
            dry_run=False,
            ignore_unknown=bool(meta["ignoreUnknown"]),
        )
    except LeadlineError as error:
        return page(request, "app/prospects/import.html", {"error": explain(error)}, 422)
    shutil.rmtree(path.parent, ignore_errors=True)
    return page(request, "app/prospects/import_done.html", {"report": report})


# --- one prospect ------------------------------------------------------------------------------

EDIT_FIELDS = (
    "name", "trade", "contact_name", "email", "phone", "website", "city", "state", "timezone", "tier",
    "grid_health", "critical_gaps", "gaps", "top_competitor", "competitor_health", "status", "deal_value",
    "do_not_contact_reason", "owner", "notes",
)  # fmt: skip

DONE = {
    "saved": "Saved.",
    "sent": "The email was sent.",
    "booked": "The call is booked.",
    "logged": "The call is logged.",
    "proposal": "The proposal was sent.",
    "stage": "The stage was changed.",
    "won": "The deal is won: the customer record is made.",
    "lost": "The deal is marked lost.",
}


def _detail(settings: Settings, prospect_id: str) -> dict[str, Any]:
    from leadline.calls import service as calls
    from leadline.customers import service as customers
    from leadline.emails import service as emails
    from leadline.emails import templates
    from leadline.posts import service as posts

    with unit_of_work(settings, readonly=True) as session:
        prospect = prospects.get(session, prospect_id)
        timeline = list(reversed(prospects.timeline(session, prospect_id)))
        sent = emails.search(session, prospect_id=prospect_id, limit=100).items
        booked, _ = calls.search(session, prospect_id=prospect_id, limit=100)
        made = posts.for_prospect(session, prospect_id)
        customer = customers.for_prospect(session, prospect_id)
        record = {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in prospect.as_dict().items()}
    names = templates.names(settings)
    from leadline.activity.render import describe

    return {
        "p": record,
        "timeline": [
            {"entry": e, "text": describe(e.type, e.status, e.details or {}, zone=settings.zone)} for e in timeline
        ],
        "emails": sent,
        "calls": list(booked),
        "posts": list(made),
        "customer": customer,
        "templates": names,
        "stages": STAGES,
    }


async def _show(request: Request, prospect_id: str, *, status: int = 200, **extra: Any) -> Response:
    settings: Settings = request.app.state.settings
    try:
        context = await run_in_threadpool(_detail, settings, prospect_id)
    except LeadlineError as error:
        raise HTTPException(error.status_code, str(error)) from None
    done = request.query_params.get("done", "")
    if done in DONE and "error" not in extra:
        context |= {"flash": DONE[done]}
    if "error" in extra:
        context |= {"flash": extra["error"].message, "flash_kind": "bad"}
    context |= extra
    return page(request, "app/prospects/detail.html", context, status_code=status)


@router.get("/prospects/{prospect_id}")
async def prospect_page(request: Request, prospect_id: str, principal: PageUser) -> Response:
    return await _show(request, prospect_id)


def _done(prospect_id: str, what: str) -> Response:
    from urllib.parse import quote

    return RedirectResponse(f"/prospects/{quote(prospect_id)}?done={what}", status_code=303)


async def _act(request: Request, prospect_id: str, form_name: str, work: Any, form: FormData, done: str) -> Response:
    """Run ``work()`` (a service call in its own unit of work); on a refusal show the page again
    with the one-line error beside the form's field (the unit of work rolled back: nothing changed)."""
    try:
        await run_in_threadpool(work)
    except HTTPException:
        raise
    except Exception as error:
        problem = explain(error)
        values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
        return await _show(request, prospect_id, status=_status(error), error=problem, form=form_name, values=values)
    return _done(prospect_id, done)


def _status(error: Exception) -> int:
    return int(getattr(error, "status_code", 422)) if isinstance(error, LeadlineError) else 422


@router.post("/prospects/{prospect_id}/edit")
async def edit(request: Request, prospect_id: str, principal: PageWriter) -> Response:
    from leadline.prospects.schemas import ProspectUpdate

    settings: Settings = request.app.state.settings
    form = await request.form()
    values: dict[str, Any] = text_values(form, *EDIT_FIELDS)
    values["do_not_contact"] = form.get("do_not_contact") == "on"
    version = str(form.get("version") or "")

    def work() -> None:
        changes = ProspectUpdate.model_validate(values)
        with unit_of_work(settings) as session:
            prospects.update(session, prospect_id, changes, actor=principal.actor, seen_version=version)

    return await _act(request, prospect_id, "edit", work, form, "saved")


@router.get("/prospects/{prospect_id}/email-preview")
async def email_preview(
    request: Request, prospect_id: str, principal: PageUser, template: Annotated[str, Query(max_length=100)] = ""
) -> Response:
    """A template filled in for this prospect (what the send button would send)."""
    from leadline.emails import templates

    settings: Settings = request.app.state.settings

    def render() -> dict[str, Any]:
        with unit_of_work(settings, readonly=True) as session:
            prospect = prospects.get(session, prospect_id)
            chosen = templates.load(settings, template)
            rendered = templates.render(chosen, prospect, settings)
            return {"subject": rendered.subject, "text": rendered.text, "to": prospect.email, "template": template}

    if not template:
        return page(request, "app/prospects/_email_preview.html", {"preview": None})
    try:
        preview = await run_in_threadpool(render)
    except LeadlineError as error:
        return page(request, "app/prospects/_email_preview.html", {"preview": None, "error": explain(error)})
    return page(request, "app/prospects/_email_preview.html", {"preview": preview})


@router.post("/prospects/{prospect_id}/email")
async def send_email(request: Request, prospect_id: str, principal: PageWriter) -> Response:
    from leadline.emails.sending import send

    settings: Settings = request.app.state.settings
    form = await request.form()
    template = str(form.get("template") or "")

    def work() -> None:
        if not template:
            raise FormError("template", "template: choose a template")
        report = send(settings, template, actor=principal.actor, prospect_ids=[prospect_id])
        outcome = report.outcomes[0] if report.outcomes else None
        if outcome is None or outcome.status != "sent":
            detail = (outcome.detail or outcome.status) if outcome else "nothing to send"
            raise FormError("template", f"template: not sent: {detail}")

    return await _act(request, prospect_id, "email", work, form, "sent")


@router.post("/prospects/{prospect_id}/calls/book")
async def book_call(request: Request, prospect_id: str, principal: PageWriter) -> Response:
    from leadline.calls import service as calls
    from leadline.calls.schemas import CallBook

    settings: Settings = request.app.state.settings
    form = await request.form()
    values = text_values(form, "scheduled_at", "notes")

    def work() -> None:
        data = CallBook.model_validate({"prospect_id": prospect_id, **values})
        with unit_of_work(settings) as session:
            calls.book(session, data, actor=principal.actor)

    return await _act(request, prospect_id, "book", work, form, "booked")


@router.post("/prospects/{prospect_id}/calls/log")
async def log_call(request: Request, prospect_id: str, principal: PageWriter) -> Response:
    from leadline.calls import service as calls
    from leadline.calls.schemas import CallLog

    settings: Settings = request.app.state.settings
    form = await request.form()
    values: dict[str, Any] = text_values(form, "outcome", "duration", "objections", "next_steps", "notes",
                                         "lost_reason", "follow_up_at", "service_type", "monthly_fee")  # fmt: skip
    values = {k: v for k, v in values.items() if v.strip()}  # objections: parsed by the schema (CallLog)

    def work() -> None:
        data = CallLog.model_validate({"prospect_id": prospect_id, **values})
        with unit_of_work(settings) as session:
            calls.log(session, data, actor=principal.actor)

    return await _act(request, prospect_id, "log", work, form, "logged")


@router.post("/prospects/{prospect_id}/proposal")
async def send_proposal(request: Request, prospect_id: str, principal: PageWriter) -> Response:
    from leadline.deals.proposals import send_proposal as propose

    settings: Settings = request.app.state.settings
    form = await request.form()
    raw = str(form.get("value") or "").strip()

    def work() -> None:
        try:
            value = float(raw.replace(",", ""))
        except ValueError:
            raise FormError("value", f"value: {raw!r} is not a number" if raw else "value: is required") from None
        propose(settings, prospect_id, value, actor=principal.actor)

    return await _act(request, prospect_id, "proposal", work, form, "proposal")


@router.post("/prospects/{prospect_id}/stage")
async def move_stage(request: Request, prospect_id: str, principal: PageWriter) -> Response:
    settings: Settings = request.app.state.settings
    form = await request.form()
    stage = str(form.get("stage") or "")
    reason = str(form.get("reason") or "")

    def work() -> None:  # the service checks the move (prospects.schemas.StageMove)
        with unit_of_work(settings) as session:
            prospects.move_stage(session, prospect_id, stage, reason=reason, actor=principal.actor)

    return await _act(request, prospect_id, "stage", work, form, "stage")


@router.post("/prospects/{prospect_id}/won")
async def deal_won(request: Request, prospect_id: str, principal: PageWriter) -> Response:
    from leadline.deals import service as deals
    from leadline.deals.schemas import DealWon

    settings: Settings = request.app.state.settings
    form = await request.form()
    values = {k: v for k, v in text_values(form, "service_type", "monthly_fee", "start_date", "contract_url",
                                            "notes").items() if v.strip()}  # fmt: skip

    def work() -> None:
        data = DealWon.model_validate({"prospect_id": prospect_id, **values})
        with unit_of_work(settings) as session:
            deals.won(session, data, actor=principal.actor)

    return await _act(request, prospect_id, "won", work, form, "won")


@router.post("/prospects/{prospect_id}/lost")
async def deal_lost(request: Request, prospect_id: str, principal: PageWriter) -> Response:
    from leadline.deals import service as deals

    settings: Settings = request.app.state.settings
    form = await request.form()
    reason = str(form.get("reason") or "")

    def work() -> None:
        if len(reason) > 500:
            raise FormError("reason", "reason: must be at most 500 characters")
        with unit_of_work(settings) as session:
            deals.lost(session, prospect_id, reason=reason, actor=principal.actor)

    return await _act(request, prospect_id, "lost", work, form, "lost")
