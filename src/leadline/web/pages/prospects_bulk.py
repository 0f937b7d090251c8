"""Bulk actions from the prospects list: the rows ticked, or every prospect the list's filters
match; a preview (who changes, who is skipped and why), then the operation's own page with its
progress (a large selection runs in the worker) and Undo. Every rule is ``prospects.bulk``'s."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from leadline.auth.deps import PageUser, PageWriter
from leadline.db import unit_of_work
from leadline.errors import LeadlineError
from leadline.prospects import bulk
from leadline.prospects.schemas import BulkRequest, ProspectFilter
from leadline.prospects.selection import SELECTION_MAX
from leadline.prospects.stages import STAGES
from leadline.web.pages.forms import FormError, errors_of
from leadline.web.render import page, settings_of

router = APIRouter()

#: The bulk form's inputs -> BulkRequest's fields (a refusal names the input).
INPUTS = {"add_tag": "addTags", "remove_tag": "removeTags", "owner": "owner", "owners": "owners", "tier": "tier",
          "stage": "stage", "reason": "reason", "dnc": "doNotContact"}  # fmt: skip


async def _read(request: Request) -> tuple[dict[str, str], list[str], list[str], list[str]]:
    form = await request.form()
    lists = ("ids", "owners", "senders")
    values = {k: v.strip() for k, v in form.multi_items() if isinstance(v, str) and k not in lists}
    ids, owners, chosen_senders = ([v for v in form.getlist(name) if isinstance(v, str) and v.strip()]
                                   for name in lists)  # fmt: skip
    return values, ids, owners, chosen_senders


def _listed_filters(values: dict[str, str], principal_name: str) -> dict[str, Any]:
    """The filters of the list the form came from (its query string), as the filter schema names them."""
    from leadline.web.pages.prospects import FILTER_INPUTS

    listed = dict(parse_qsl(values.get("list_query", "").lstrip("?")))
    if listed.get("owner") == "me":
        listed["owner"] = principal_name
    return {FILTER_INPUTS[k]: v for k, v in listed.items() if k in FILTER_INPUTS and v.strip()}


def _request(values: dict[str, str], ids: list[str], owners: list[str], principal_name: str) -> BulkRequest:
    """The form as a BulkRequest: the ticked ids, or (scope "all") the filters of the list it came from."""
    scope = values.get("scope", "selected")
    filters: dict[str, Any] = {}
    if scope == "all":
        filters = _listed_filters(values, principal_name)
    elif not ids:
        raise FormError("ids", "tick the prospects to change, or choose every prospect matching the filter")
    owner = values.get("owner")
    data: dict[str, Any] = {
        "ids": ids if scope != "all" else [],
        "allMatching": scope == "all",
        "filters": filters,
        "addTags": [values["add_tag"]] if values.get("add_tag") else [],
        "removeTags": [values["remove_tag"]] if values.get("remove_tag") else [],
        "owners": owners if values.get("owner_mode") == "turns" else [],
        "tier": values.get("tier") or None,
        "stage": values.get("stage") or None,
        "reason": values.get("reason") or None,
        "doNotContact": values.get("dnc") == "on",
        "dryRun": values.get("go") != "apply",
    }
    if values.get("owner_mode") == "one" and owner is not None:
        data["owner"] = "" if owner == "-" else owner
    return BulkRequest.model_validate(data)


def _form_context(settings: Any) -> dict[str, Any]:
    from leadline.auth import service as auth_service
    from leadline.emails import templates
    from leadline.senders import service as senders_service

    with unit_of_work(settings, readonly=True) as session:
        users = [user.email for user in auth_service.list_users(session)]
        sender_choices = senders_service.choices(session)
    return {"users": users, "stages": STAGES, "template_names": templates.names(settings),
            "sender_choices": sender_choices}  # fmt: skip


#: The most prospects one bulk send from the page may go to (the emails service's own selection limit).
SEND_MAX = SELECTION_MAX


def _send(settings: Any, values: dict[str, str], ids: list[str], chosen_senders: list[str], principal: Any) -> Any:
    """Send a template to the ticked rows or to every prospect matching the list's filters, through
    ``emails.flows.send`` (its guardrails: suppressions, do-not-contact, the daily cap, windows); a
    preview is its dry run, which says who would be skipped and why."""
    from leadline.emails.flows import send

    if values.get("scope") == "all":
        filters = ProspectFilter.model_validate(_listed_filters(values, principal.name)).query()
        return send(settings, values["template"], actor=principal.actor, filters=filters, limit=SEND_MAX,
                    dry_run=values.get("go") != "apply", sender_keys=chosen_senders)  # fmt: skip
    if not ids:
        raise FormError("ids", "tick the prospects to email, or choose every prospect matching the filter")
    return send(settings, values["template"], actor=principal.actor, prospect_ids=ids,
                dry_run=values.get("go") != "apply", sender_keys=chosen_senders)  # fmt: skip


@router.post("/prospects/bulk")
async def bulk_action(request: Request, principal: PageWriter) -> Response:
    settings = settings_of(request)
    values, ids, owners, chosen_senders = await _read(request)
    context: dict[str, Any] = {"values": values, "ids": ids, "owners": owners, "chosen_senders": chosen_senders}
    try:
        if values.get("template") and values.get("sequence") == "on":
            started = await run_in_threadpool(_start_sequence, settings, values, ids, chosen_senders, principal)
            context["started"] = started
            context["skips"] = _grouped((s.reason, s.prospect_id) for s in started.plan.skipped)
            return await _answer(request, settings, context, applied=not started.dry_run)
        if values.get("template"):
            report = await run_in_threadpool(_send, settings, values, ids, chosen_senders, principal)
            context["report"] = report
            context["skips"] = _skips(report)
            return await _answer(request, settings, context, applied=not report.dry_run)
        wanted = _request(values, ids, owners, principal.name)
        if wanted.dry_run:

            def look() -> Any:
                with unit_of_work(settings, readonly=True) as session:
                    return bulk.preview(session, wanted)

            context["preview"] = await run_in_threadpool(look)
        else:
            operation_id = await run_in_threadpool(bulk.start, settings, wanted, actor=principal.actor)
            return RedirectResponse(f"/prospects/bulk/{quote(operation_id)}", status_code=303)
    except (LeadlineError, ValidationError) as error:
        found = errors_of(error)
        names = {v: k for k, v in INPUTS.items()} | {"allMatching": "scope", "ids": "ids", "dryRun": "add_tag",
                                                     "prospectIds": "ids", "limit": "scope"}  # fmt: skip
        found.fields = {names.get(k, k): m for k, m in found.fields.items()}
        context["errors"] = found
        context |= await run_in_threadpool(_form_context, settings)
        return page(request, "app/prospects/bulk_preview.html", context, status_code=found.status)
    context |= await run_in_threadpool(_form_context, settings)
    return page(request, "app/prospects/bulk_preview.html", context)


async def _answer(request: Request, settings: Any, context: dict[str, Any], *, applied: bool) -> Response:
    """A preview (with the form, to change it or Apply), or what was done (the result, no form: it is done)."""
    if not applied:
        context |= await run_in_threadpool(_form_context, settings)
    return page(request, "app/prospects/bulk_preview.html", context | {"applied": applied})


def _start_sequence(
    settings: Any, values: dict[str, str], ids: list[str], chosen_senders: list[str], principal: Any
) -> Any:
    """Start a sequence (the template first, then the follow-up steps of the settings) for the ticked
    rows or every prospect matching the list's filters (at most SELECTION_MAX_IDS), through
    ``sequences.flows.start``; a preview is its dry run (who would be enrolled, who skipped and why)."""
    from leadline.prospects import service as prospects_service
    from leadline.prospects.selection import SELECTION_MAX_IDS, Selection
    from leadline.sequences.flows import start

    if values.get("scope") == "all":
        filters = ProspectFilter.model_validate(_listed_filters(values, principal.name)).query()
        with unit_of_work(settings, readonly=True) as session:
            found = prospects_service.search(session, filters, limit=SELECTION_MAX_IDS)
        if found.total > SELECTION_MAX_IDS:
            raise FormError("scope", f"a sequence starts for at most {SELECTION_MAX_IDS} prospects at once; "
                            f"{found.total} match: narrow the filter")  # fmt: skip
        ids = [p.id for p in found.items]
    if not ids:
        raise FormError("ids", "tick the prospects to start the sequence for, or choose every prospect matching")
    chosen = Selection.model_validate({"prospectIds": ids})
    return start(settings, values["template"], chosen=chosen, steps=None, at=None,
                 dry_run=values.get("go") != "apply", actor=principal.actor, sender_keys=chosen_senders)  # fmt: skip


def _skips(report: Any) -> list[tuple[str, int, list[str]]]:
    """The report's skipped prospects, by reason: (reason, how many, a few ids)."""
    return _grouped(
        (outcome.detail or outcome.status, outcome.prospect_id)
        for outcome in report.outcomes
        if outcome.status in ("skipped", "failed")
    )


def _grouped(pairs: Any) -> list[tuple[str, int, list[str]]]:
    found: dict[str, list[str]] = {}
    for reason, prospect_id in pairs:
        found.setdefault(reason, []).append(prospect_id)
    return [(reason, len(ids), ids[:5]) for reason, ids in sorted(found.items(), key=lambda kv: -len(kv[1]))]


@router.get("/prospects/bulk/{operation_id}")
async def bulk_page(request: Request, operation_id: str, principal: PageUser) -> Response:
    settings = settings_of(request)

    def look() -> Any:
        with unit_of_work(settings, readonly=True) as session:
            return bulk.read(session, operation_id)

    try:
        operation = await run_in_threadpool(look)
    except LeadlineError as error:
        return page(request, "app/prospects/bulk.html", {"errors": errors_of(error), "operation": None}, 404)
    done = request.query_params.get("done", "")
    return page(request, "app/prospects/bulk.html", {"operation": operation, "done": done, "errors": None})


@router.post("/prospects/bulk/{operation_id}/undo")
async def bulk_undo(request: Request, operation_id: str, principal: PageWriter) -> Response:
    settings = settings_of(request)
    try:
        await run_in_threadpool(bulk.undo, settings, operation_id, actor=principal.actor)
    except LeadlineError as error:

        def look() -> Any:
            with unit_of_work(settings, readonly=True) as session:
                return bulk.read(session, operation_id)

        try:
            operation = await run_in_threadpool(look)
        except LeadlineError:
            operation = None
        context = {"operation": operation, "errors": errors_of(error), "done": ""}
        return page(request, "app/prospects/bulk.html", context, status_code=error.status_code)
    return RedirectResponse(f"/prospects/bulk/{quote(operation_id)}?done=undo", status_code=303)
