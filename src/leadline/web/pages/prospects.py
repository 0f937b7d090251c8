"""``/prospects``: the table (filters, search, sorting, keyset paging), CSV import with a preview,
and one prospect's page with its history and the actions a salesperson takes.

Every action calls the same service function as the CLI and the API, with the signed-in user
as the actor; a refused form is shown again as typed, with every problem beside its input and
in one line at its top (``forms``), and nothing is changed. "Book a call" and "log a call" are the
calls page's forms and handlers (``calls.book_from_form``, ``calls.log_from_form``).
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
from starlette.datastructures import UploadFile

from leadline.activity.render import describe, shown_status
from leadline.auth import service as auth_service
from leadline.auth.deps import PageUser, PageWriter, Principal
from leadline.calls import service as calls
from leadline.clock import utc_now
from leadline.config import Settings, private_folder
from leadline.customers import service as customers
from leadline.db import unit_of_work
from leadline.deals import service as deals
from leadline.deals.flows import send_proposal as propose
from leadline.deals.schemas import DealWon
from leadline.emails import service as emails
from leadline.emails import templates
from leadline.emails.flows import send
from leadline.errors import LeadlineError
from leadline.files import service as files
from leadline.names import camel
from leadline.notes import service as notes
from leadline.posts import service as posts
from leadline.proposals import service as proposal_docs
from leadline.prospects import bulk, merging, queries
from leadline.prospects import flows as import_flow
from leadline.prospects import service as prospects
from leadline.prospects.files import ImportFileError
from leadline.prospects.schemas import MergeRequest, ProspectFilter, ProspectUpdate
from leadline.prospects.stages import STAGE_LABELS, STAGES
from leadline.senders import service as senders_service
from leadline.tasks import service as tasks
from leadline.tasks.schemas import SNOOZES, TASK_KIND_CHOICES
from leadline.texts.pages import panel as texts_panel
from leadline.web.pages import duplicates
from leadline.web.pages.calls import book_from_form, log_form, log_from_form
from leadline.web.pages.forms import FormError, FormErrors, errors_of, not_sent, read_form
from leadline.web.render import page, settings_of

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
    error: FormErrors | None = None


#: The table's filter inputs -> the filter schema's fields (the one rule of the API and the CLI).
FILTER_INPUTS = {"stage": "status", "tier": "tier", "trade": "trade", "search": "search", "grid_min": "grid_health_min",
                 "grid_max": "grid_health_max", "dnc": "do_not_contact", "reached": "reached",
                 "asOf": "as_of", "tag": "tag", "owner": "owner"}  # fmt: skip


def _list_state(request: Request) -> ListState:
    given = {k: v.strip() for k, v in request.query_params.items() if k != "cursor" and v.strip()}
    state = ListState(params=given)
    try:
        try:
            wanted = {FILTER_INPUTS[k]: given[k] for k in FILTER_INPUTS if k in given}
            if wanted.get("owner") == "me":  # "My prospects"
                wanted["owner"] = getattr(getattr(request.state, "principal", None), "name", "") or "-"
            chosen = ProspectFilter.model_validate(wanted)
        except ValidationError as error:
            found = errors_of(error)
            field_name, message = next(iter(found.fields.items()), ("", found.line))
            inputs = {camel(v): k for k, v in FILTER_INPUTS.items()} | {v: k for k, v in FILTER_INPUTS.items()}
            name = inputs.get(field_name, field_name or "search")
            raise FormError(name, message) from None
        state.filters = chosen.query()
        sort = given.get("sort", "created")
        if sort not in queries.SORT_CHOICES:
            raise FormError("sort", f"sort: must be one of {', '.join(queries.SORT_CHOICES)}")
        state.sort = sort
        state.cursor = (request.query_params.get("cursor") or "").strip()[:500] or None
    except FormError as error:
        state.error = errors_of(error)
        state.filters = queries.Filters()
        state.sort, state.cursor = "created", None
    return state


def _table(settings: Settings, state: ListState) -> dict[str, Any]:
    with unit_of_work(settings, readonly=True) as session:
        try:
            found = prospects.search(session, state.filters, sort=state.sort, limit=PAGE_SIZE, cursor=state.cursor,
                                     count_limit=COUNT_LIMIT)  # fmt: skip
        except LeadlineError as error:  # a cursor this server did not make
            state.error = errors_of(error)
            state.cursor = None
            found = prospects.search(session, state.filters, sort=state.sort, limit=PAGE_SIZE, count_limit=COUNT_LIMIT)
        trades = prospects.trades(session)
        rows = [p.as_dict() for p in found.items]
        row_tags = prospects.tags_of(session, [row["id"] for row in rows])
        tags = bulk.all_tags(session)
        users = [user.email for user in auth_service.list_users(session)]
        sender_choices = senders_service.choices(session)
    return {"rows": rows, "total": found.total, "next_cursor": found.next_cursor, "trades": trades,
            "sender_choices": sender_choices, "row_tags": row_tags, "tags": tags, "users": users,
            "export_href": _export_href(state), "template_names": templates.names(settings),
            "count_limit": COUNT_LIMIT if state.filters != queries.Filters() else None}  # fmt: skip


def _export_href(state: ListState) -> str:
    """The API's export of what the list shows (the API takes the signed-in session too)."""
    from urllib.parse import urlencode

    chosen = {camel(k): v for k, v in vars(state.filters).items() if v is not None}
    return "/api/prospects/export?" + urlencode({"format": "csv", **chosen})


@router.get("/prospects")
async def prospect_list(request: Request, principal: PageUser) -> Response:
    settings = settings_of(request)
    state = _list_state(request)
    context = await run_in_threadpool(_table, settings, state)
    context |= {
        "params": state.params, "sort": state.sort, "cursor": state.cursor, "sorts": SORTS, "stages": STAGES,
        "errors": state.error, "as_of": state.filters.as_of,
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


def _keep_upload(settings: Settings, principal: Principal, upload: UploadFile, options: dict[str, Any]) -> str:
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
    _save_meta(folder, {"owner": _owner(principal), "file": target.name, **options})
    return token


def _save_meta(folder: Path, meta: dict[str, Any]) -> None:
    (folder / "upload.json").write_text(json.dumps(meta))


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


def _run_import(settings: Settings, path: Path, *, actor: str, dry_run: bool, meta: dict[str, Any]) -> Any:
    return import_flow.import_file(
        settings, path, actor=actor, skip_invalid=True, dry_run=dry_run, ignore_unknown=bool(meta.get("ignoreUnknown")),
        overwrite=bool(meta.get("overwrite")), encoding=meta.get("encoding") or None,
        mapping=meta.get("mapping") or {}, defaults=meta.get("defaults") or {},
    )  # fmt: skip


#: The encodings the upload form offers (a CSV saved by Excel on Windows is cp1252).
ENCODINGS = (("", "UTF-8"), ("cp1252", "Windows (cp1252, Excel)"), ("latin-1", "Latin-1 (ISO-8859-1)"))


def _upload_options(values: dict[str, str]) -> dict[str, Any]:
    """The upload form's choices, checked: the encoding, --overwrite, and --set's tier and trade."""
    from leadline.prospects.files import parse_defaults

    encoding = values.get("encoding", "")
    if encoding not in dict(ENCODINGS):
        raise FormError("encoding", "encoding: choose one of the encodings offered")
    inputs = (("defaultTier", "tier"), ("defaultTrade", "trade"))
    given = [f"{name}={values[key]}" for key, name in inputs if values.get(key)]
    try:
        defaults = parse_defaults(given)
    except LeadlineError as error:
        field = "defaultTier" if "tier" in error.message else "defaultTrade"
        raise FormError(field, error.message.split(": ", 1)[-1]) from None
    return {
        "ignoreUnknown": values.get("ignoreUnknown") == "on", "overwrite": values.get("overwrite") == "on",
        "encoding": encoding, "defaults": defaults, "mapping": {},
    }  # fmt: skip


def _import_preview(request: Request, report: Any, token: str, meta: dict[str, Any]) -> Response:
    from leadline.prospects.files import MAPPABLE, SPECIAL_TARGETS
    from leadline.prospects.readiness import describe as describe_lacking

    choices = [(name, camel(name)) for name in (*MAPPABLE, *SPECIAL_TARGETS) if name != "ignore"]
    choices.append(("ignore", "(not imported)"))
    context = {
        "report": report, "token": token, "choices": choices, "headers": list(report.mapping),
        "lacking": [describe_lacking(item) for item in report.lacking], "meta": meta,
    }  # fmt: skip
    return page(request, "app/prospects/import_preview.html", context)


@router.get("/prospects/import")
async def import_form(request: Request, principal: PageWriter) -> Response:
    return page(request, "app/prospects/import.html", {"encodings": ENCODINGS})


@router.post("/prospects/import")
async def import_upload(request: Request, principal: PageWriter) -> Response:
    """Keep the file server-side and show what importing it would do (a dry run of the same import)."""
    settings = settings_of(request)
    values = await read_form(request)
    upload = (await request.form()).get("file")
    token: str | None = None
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise FormError("file", "file: choose a CSV file to import")
        options = _upload_options(values)
        token = await run_in_threadpool(_keep_upload, settings, principal, upload, options)
        path, meta = _find_upload(settings, principal, token)
        report = await run_in_threadpool(_run_import, settings, path, actor=principal.actor, dry_run=True, meta=meta)
    except (ImportFileError, LeadlineError) as error:
        problems = errors_of(error)
        if token is not None:  # a file that cannot be imported is not kept
            shutil.rmtree(_uploads(settings) / token, ignore_errors=True)
        context = {"errors": problems, "values": values, "encodings": ENCODINGS}
        return page(request, "app/prospects/import.html", context, 422)
    meta["automatic"] = dict(report.mapping)  # what each column feeds when nobody chooses
    _save_meta(path.parent, meta)
    return _import_preview(request, report, token, meta)


@router.post("/prospects/import/mapping")
async def import_remap(request: Request, principal: PageWriter) -> Response:
    """The preview again, with the fields chosen in its menus (``map.N`` for the file's Nth column)."""
    settings = settings_of(request)
    values = await read_form(request)
    path, meta = _find_upload(settings, principal, values.get("token", ""))
    automatic: dict[str, str] = meta.get("automatic") or {}
    headers = list(automatic)
    mapping: dict[str, str] = {}
    try:
        from leadline.prospects.files import mapping_target

        for index, header in enumerate(headers):
            chosen = values.get(f"map.{index}")
            if chosen is None:
                continue
            target = mapping_target(chosen, option=f"map.{index}")
            if target != automatic[header]:
                mapping[header] = target
        report = await run_in_threadpool(
            _run_import, settings, path, actor=principal.actor, dry_run=True, meta={**meta, "mapping": mapping}
        )
    except (ImportFileError, LeadlineError) as error:
        context = {"errors": errors_of(error), "values": {}, "encodings": ENCODINGS}
        return page(request, "app/prospects/import.html", context, 422)
    meta["mapping"] = mapping
    _save_meta(path.parent, meta)
    return _import_preview(request, report, values.get("token", ""), meta)


@router.post("/prospects/import/confirm")
async def import_confirm(request: Request, principal: PageWriter) -> Response:
    settings = settings_of(request)
    token = (await read_form(request)).get("token", "")
    path, meta = _find_upload(settings, principal, token)
    try:
        report = await run_in_threadpool(_run_import, settings, path, actor=principal.actor, dry_run=False, meta=meta)
    except LeadlineError as error:
        return page(request, "app/prospects/import.html", {"errors": errors_of(error), "encodings": ENCODINGS}, 422)
    shutil.rmtree(path.parent, ignore_errors=True)
    from leadline.prospects.readiness import describe as describe_lacking

    lacking = [describe_lacking(item) for item in report.lacking]
    return page(request, "app/prospects/import_done.html", {"report": report, "lacking": lacking})


# --- one prospect ------------------------------------------------------------------------------

#: The edit form's inputs (ProspectUpdate's fields, as the API names them); a blank one clears the field.
EDIT_FIELDS = (
    "name", "trade", "contactName", "email", "phone", "website", "city", "state", "timezone", "tier",
    "gridHealth", "criticalGaps", "gaps", "topCompetitor", "competitorHealth", "status", "dealValue",
    "doNotContactReason", "owner",
)  # fmt: skip

DONE = {
    "saved": "Saved.",
    "sent": "The email was sent.",
    "scheduled": "The email is scheduled.",
    "booked": "The call is booked.",
    "logged": "The call is logged.",
    "proposal": "The proposal was sent.",
    "stage": "The stage was changed.",
    "won": "The deal is won: the customer record is made.",
    "lost": "The deal is marked lost.",
    "merged": "Merged: everything of the duplicate is now here, and the duplicate is deleted.",
    "noted": "The note is added.",
    "note-edited": "The note is changed.",
    "note-removed": "The note is removed.",
    "task-added": "The task is added.",
    "task-done": "The task is done.",
    "task-reopened": "The task is open again.",
    "task-snoozed": "The task is snoozed.",
    "file-added": "The file is kept.",
    "file-removed": "The file is removed.",
    "texted": "The text is logged.",
    "text-sent": "The text was sent.",
}


def _detail(settings: Settings, prospect_id: str) -> dict[str, Any]:
    with unit_of_work(settings, readonly=True) as session:
        prospect = prospects.get(session, prospect_id)
        timeline = list(reversed(prospects.timeline(session, prospect_id)))
        sent = emails.search(session, prospect_id=prospect_id, limit=100).items
        booked, _ = calls.search(session, prospect_id=prospect_id, limit=100)
        made = posts.for_prospect(session, prospect_id)
        customer = customers.for_prospect(session, prospect_id)
        alike = merging.candidates(session, prospect_id)
        written = notes.for_prospect(session, prospect_id, check=False)
        to_do = tasks.read(session, tasks.search(session, state="all", prospect_id=prospect_id, limit=200))
        kept = [files.read(f) for f in files.for_prospect(session, prospect_id)]
        offered = [proposal_docs.read(session, d, full=True) for d in proposal_docs.search(session, prospect_id)]
        record = {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in prospect.as_dict().items()}
        text_panel = texts_panel(session, settings, prospect)
        own = senders_service.thread_sender(session, prospect_id)  # the thread keeps it: nothing to choose
        thread_sender = senders_service.find(session, own) if own else None
        sender_choices = [] if own else [(s.email, f"{s.name} <{s.email}>" + (" (paused)" if s.status != "active"
                                          else "")) for s in senders_service.choices(session)]  # fmt: skip
    names = templates.names(settings)

    return {
        "p": record,
        "shown": _shown(record),
        "timeline": [
            {
                "entry": e,
                "status": shown_status(e.type, e.status, e.details or {}),
                "text": describe(e.type, e.status, e.details or {}, zone=settings.zone, currency=settings.currency),
            }
            for e in timeline
        ],
        "emails": sent,
        "calls": list(booked),
        "posts": list(made),
        "customer": customer,
        "duplicates": alike,
        "reason_labels": merging.REASON_LABELS,
        "notes": written,
        "files": kept,
        "proposal_docs": offered,
        "file_max_mb": settings.file_max_bytes // (1024 * 1024),
        "tasks": sorted(to_do, key=lambda t: (t.done_at is not None, t.due_at)),
        "task_kinds": TASK_KIND_CHOICES,
        "snoozes": SNOOZES,
        "now": utc_now(),
        "template_choices": [(name, name) for name in names],
        "sender_choices": sender_choices,
        "thread_sender": f"{thread_sender.name} <{thread_sender.email}>" if thread_sender else None,
        "stage_choices": [(stage, STAGE_LABELS[stage]) for stage in STAGES],
        **log_form(),
        "text_panel": text_panel,
    }


def _shown(record: dict[str, Any]) -> dict[str, str]:
    """The edit form's inputs filled in from the stored record."""
    from pydantic.alias_generators import to_snake

    shown = {}
    for name in (*EDIT_FIELDS, "doNotContact"):
        value = record.get(to_snake(name))
        if name == "gaps":
            value = "\n".join(value or [])
        elif name == "doNotContact":
            value = "on" if value else ""
        shown[name] = "" if value is None else str(value)
    return shown


async def _show(request: Request, prospect_id: str, *, status: int = 200, **extra: Any) -> Response:
    settings = settings_of(request)
    try:
        context = await run_in_threadpool(_detail, settings, prospect_id)
    except LeadlineError as error:
        raise HTTPException(error.status_code, str(error)) from None
    done = request.query_params.get("done", "")
    if done in DONE and "errors" not in extra:
        context |= {"flash": DONE[done]}
    context |= extra
    return page(request, "app/prospects/detail.html", context, status_code=status)


@router.get("/prospects/{prospect_id}")
async def prospect_page(request: Request, prospect_id: str, principal: PageUser) -> Response:
    return await _show(request, prospect_id)


def _done(prospect_id: str, what: str) -> Response:
    from urllib.parse import quote

    return RedirectResponse(f"/prospects/{quote(prospect_id)}?done={what}", status_code=303)


async def _act(request: Request, prospect_id: str, form_name: str, work: Any, values: dict[str, str],
               done: str) -> Response:  # fmt: skip
    """Run ``work()`` (a service call in its own unit of work); on a refusal show the page again
    with the form as typed and its errors (the unit of work rolled back: nothing changed)."""
    try:
        await run_in_threadpool(work)
    except (LeadlineError, ValidationError) as error:
        return await _refused(request, prospect_id, form_name, values, errors_of(error))
    return _done(prospect_id, done)


async def _refused(request: Request, prospect_id: str, form_name: str, values: dict[str, str],
                   errors: FormErrors, **extra: Any) -> Response:  # fmt: skip
    return await _show(request, prospect_id, status=errors.status, errors=errors, form=form_name, values=values,
                       **extra)  # fmt: skip


@router.post("/prospects/{prospect_id}/edit")
async def edit(request: Request, prospect_id: str, principal: PageWriter) -> Response:
    settings = settings_of(request)
    values = await read_form(request, keep_blank=EDIT_FIELDS)
    given: dict[str, Any] = {name: values[name] for name in EDIT_FIELDS if name in values}
    given["doNotContact"] = values.get("doNotContact") == "on"
    values.setdefault("doNotContact", "")  # an unticked box is not sent: shown unticked again if refused
    version = values.get("version", "")

    def work() -> None:
        changes = ProspectUpdate.model_validate(given)
        with unit_of_work(settings) as session:
            prospects.update(session, prospect_id, changes, actor=principal.actor, seen_version=version)

    return await _act(request, prospect_id, "edit", work, values, "saved")


@router.get("/prospects/{prospect_id}/email-preview")
async def email_preview(
    request: Request, prospect_id: str, principal: PageUser, template: Annotated[str, Query(max_length=100)] = ""
) -> Response:
    """A template filled in for this prospect (what the send button would send)."""

    settings = settings_of(request)

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
        return page(request, "app/prospects/_email_preview.html", {"preview": None, "errors": errors_of(error)})
    return page(request, "app/prospects/_email_preview.html", {"preview": preview})


@router.post("/prospects/{prospect_id}/email")
async def send_email(request: Request, prospect_id: str, principal: PageWriter) -> Response:
    settings = settings_of(request)
    values = await read_form(request)
    template = values.get("template", "")

    force = values.pop("force", "") == "1"
    refused: dict[str, Any] = {}

    chosen_sender = values.get("sender", "")

    def work() -> None:
        if not template:
            raise FormError("template", "choose a template")
        report = send(settings, template, actor=principal.actor, prospect_ids=[prospect_id], force=force,
                      sender_keys=[chosen_sender] if chosen_sender else None)  # fmt: skip
        outcome = report.outcomes[0] if report.outcomes else None
        if outcome is None or outcome.status != "sent":
            code, detail = (outcome.code, outcome.detail or outcome.status) if outcome else (None, "nothing to send")
            refused["offer_force"] = code == "already_sent"
            raise FormError("template", not_sent(code, detail, what=f"template ({template})"))

    try:
        await run_in_threadpool(work)
    except (LeadlineError, ValidationError) as error:
        preview = await run_in_threadpool(_preview, settings, prospect_id, template) if template else None
        found = errors_of(error)
        found.fields = {"sender" if k == "senders" else k: m for k, m in found.fields.items()}  # the form's input
        return await _refused(request, prospect_id, "email", values, found, preview=preview, **refused)
    return _done(prospect_id, "sent")


def _preview(settings: Settings, prospect_id: str, template: str) -> dict[str, Any] | None:
    """What the send button would send (kept on the page after a refusal); None if it cannot be built."""
    try:
        with unit_of_work(settings, readonly=True) as session:
            rendered = templates.render(
                templates.load(settings, template), prospects.get(session, prospect_id), settings
            )
            return {"subject": rendered.subject, "text": rendered.text, "to": prospects.get(session, prospect_id).email,
                    "template": template}  # fmt: skip
    except LeadlineError:
        return None


@router.post("/prospects/{prospect_id}/calls/book")
async def book_call(request: Request, prospect_id: str, principal: PageWriter) -> Response:
    """The calls page's "book a call" (``calls.book_from_form``) with this prospect."""
    values = await read_form(request)
    given = {**values, "prospectId": prospect_id}
    problems = await run_in_threadpool(book_from_form, settings_of(request), principal, given)
    if problems:
        return await _refused(request, prospect_id, "book", values, problems)
    return _done(prospect_id, "booked")


@router.post("/prospects/{prospect_id}/calls/log")
async def log_call(request: Request, prospect_id: str, principal: PageWriter) -> Response:
    """The calls page's "log a call" (``calls.log_from_form``) with this prospect."""
    values = await read_form(request)
    values.pop("callId", None)
    _, problems = await run_in_threadpool(log_from_form, settings_of(request), principal,
                                          {**values, "prospectId": prospect_id})  # fmt: skip
    if problems:
        return await _refused(request, prospect_id, "log", values, problems)
    return _done(prospect_id, "logged")


@router.post("/prospects/{prospect_id}/proposal")
async def send_proposal(request: Request, prospect_id: str, principal: PageWriter) -> Response:
    settings = settings_of(request)
    values = await read_form(request)
    raw = values.get("value", "")

    def work() -> None:
        try:
            value = float(raw.replace(",", ""))
        except ValueError:
            raise FormError("value", f"value: {raw!r} is not a number" if raw else "value: is required") from None
        propose(settings, prospect_id, value, actor=principal.actor)

    return await _act(request, prospect_id, "proposal", work, values, "proposal")


@router.post("/prospects/{prospect_id}/stage")
async def move_stage(request: Request, prospect_id: str, principal: PageWriter) -> Response:
    settings = settings_of(request)
    values = await read_form(request)
    stage = values.get("stage", "")
    reason = values.get("reason", "")

    def work() -> None:  # the service checks the move (prospects.schemas.StageMove)
        with unit_of_work(settings) as session:
            prospects.move_stage(session, prospect_id, stage, reason=reason, actor=principal.actor)

    return await _act(request, prospect_id, "stage", work, values, "stage")


@router.post("/prospects/{prospect_id}/won")
async def deal_won(request: Request, prospect_id: str, principal: PageWriter) -> Response:
    settings = settings_of(request)
    values = await read_form(request)
    given = {k: v for k, v in values.items() if k in ("serviceType", "monthlyFee", "startDate", "contractUrl", "notes")}

    def work() -> None:
        data = DealWon.model_validate({"prospectId": prospect_id, **given})
        with unit_of_work(settings) as session:
            deals.won(session, data, actor=principal.actor)

    return await _act(request, prospect_id, "won", work, values, "won")


@router.post("/prospects/{prospect_id}/lost")
async def deal_lost(request: Request, prospect_id: str, principal: PageWriter) -> Response:
    settings = settings_of(request)
    values = await read_form(request)
    reason = values.get("reason", "")

    def work() -> None:
        if len(reason) > 500:
            raise FormError("reason", "reason: must be at most 500 characters")
        with unit_of_work(settings) as session:
            deals.lost(session, prospect_id, reason=reason, actor=principal.actor)

    return await _act(request, prospect_id, "lost", work, values, "lost")


@router.post("/prospects/{prospect_id}/merge")
async def merge(request: Request, prospect_id: str, principal: PageWriter) -> Response:
    """Merge the form's ``other`` into this prospect. From the duplicates page (``back=duplicates``),
    back there; from a prospect's page, to the prospect kept."""
    settings = settings_of(request)
    values = await read_form(request)
    from_list = values.get("back") == "duplicates"

    def work() -> None:
        data = MergeRequest.model_validate({"other": values.get("other", "")})
        with unit_of_work(settings) as session:
            merging.merge(session, prospect_id, data.other, actor=principal.actor)

    if not from_list:
        return await _act(request, prospect_id, "merge", work, values, "merged")
    try:
        await run_in_threadpool(work)
    except (LeadlineError, ValidationError) as error:
        errors = errors_of(error)
        return await duplicates.show(request, status=errors.status, errors=errors, given=values)
    from urllib.parse import urlencode

    back = {k: v for k, v in (("reason", values.get("reason", "")), ("page", values.get("page", ""))) if v}
    return RedirectResponse(f"/prospects/duplicates?{urlencode(back | {'done': 'merged'})}", status_code=303)


# --- notes -------------------------------------------------------------------------------------


@router.post("/prospects/{prospect_id}/notes")
async def add_note(request: Request, prospect_id: str, principal: PageWriter) -> Response:
    settings = settings_of(request)
    values = await read_form(request, keep_blank=("text",))

    def work() -> None:
        with unit_of_work(settings) as session:
            notes.add(session, prospect_id, values.get("text", ""), actor=principal.actor)

    return await _act(request, prospect_id, "note", work, values, "noted")


@router.post("/prospects/{prospect_id}/notes/{note_id}/edit")
async def edit_note(request: Request, prospect_id: str, note_id: str, principal: PageWriter) -> Response:
    settings = settings_of(request)
    values = await read_form(request, keep_blank=("text",))

    await run_in_threadpool(_note_on, settings, note_id, prospect_id)

    def work() -> None:
        with unit_of_work(settings) as session:
            notes.edit(session, note_id, values.get("text", ""), actor=principal.actor, admin=principal.is_admin,
                       of=prospect_id)  # fmt: skip

    return await _act(request, prospect_id, f"note-{note_id}", work, values, "note-edited")


def _note_on(settings: Settings, note_id: str, prospect_id: str) -> None:
    """A note's form posted under another prospect's address is not one of this page's: refused as not
    found (the error page; nothing changed), not shown as this page's form."""
    with unit_of_work(settings, readonly=True) as session:
        notes.get(session, note_id, of=prospect_id)


@router.post("/prospects/{prospect_id}/notes/{note_id}/remove")
async def remove_note(request: Request, prospect_id: str, note_id: str, principal: PageWriter) -> Response:
    settings = settings_of(request)
    values = await read_form(request)
    await run_in_threadpool(_note_on, settings, note_id, prospect_id)

    def work() -> None:
        with unit_of_work(settings) as session:
            notes.remove(session, note_id, actor=principal.actor, admin=principal.is_admin, of=prospect_id)

    return await _act(request, prospect_id, f"note-{note_id}", work, values, "note-removed")


from leadline.web.pages import prospects_bulk  # noqa: E402  (its routes come before /prospects/{prospect_id})

router.routes[:0] = prospects_bulk.router.routes
