"""Files on the prospect's and the customer's pages: upload (a plain multipart form, no JavaScript needed),
download (signed-in users; always an attachment, never sniffed) and remove (members and admins).

The upload's body is capped by ``web/limits.py`` (``LEADLINE_FILE_MAX_BYTES`` and room for the form) before
it is read; the file is read with the same cap and kept through ``files.service.add`` like the CLI's and
the API's. A refusal shows the record's page again with the reason beside the form; nothing is kept.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from leadline.auth.deps import PageUser, PageWriter
from leadline.db import unit_of_work
from leadline.errors import Invalid, LeadlineError
from leadline.files import service
from leadline.files.download import attachment
from leadline.files.schemas import Target
from leadline.web.pages import customers as customer_pages
from leadline.web.pages import prospects as prospect_pages
from leadline.web.pages.forms import errors_of
from leadline.web.render import settings_of

router = APIRouter()


async def _upload(request: Request, target: Target, actor: str) -> None:
    settings = settings_of(request)
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not (upload.filename or "").strip():
        raise Invalid("choose a file to upload", field="file")
    chosen: Any = upload

    def work() -> None:
        data = service.read_capped(chosen.file, settings.file_max_bytes)
        with unit_of_work(settings) as session:
            service.add(session, target, chosen.filename or "", data, actor=actor)

    await run_in_threadpool(work)


@router.post("/prospects/{prospect_id}/files")
async def upload_on_prospect(request: Request, prospect_id: str, principal: PageWriter) -> Response:
    try:
        await _upload(request, Target("prospect", prospect_id), principal.actor)
    except LeadlineError as error:
        return await prospect_pages._refused(request, prospect_id, "files", {}, errors_of(error))
    return RedirectResponse(f"/prospects/{quote(prospect_id)}?done=file-added#files", status_code=303)


@router.post("/customers/{ref}/files")
async def upload_on_customer(request: Request, ref: str, principal: PageWriter) -> Response:
    try:
        await _upload(request, Target("customer", ref), principal.actor)
    except LeadlineError as error:
        errors = errors_of(error)
        return await run_in_threadpool(customer_pages._refused, request, principal, ref, "files", {}, errors)
    return RedirectResponse(f"/customers/{quote(ref)}?done=file-added#files", status_code=303)


@router.get("/files/{file_id}")
def download(request: Request, file_id: str, principal: PageUser) -> Response:
    with unit_of_work(settings_of(request), readonly=True) as session:
        try:
            stored = service.get(session, file_id, with_data=True)
        except LeadlineError as error:
            from fastapi import HTTPException

            raise HTTPException(error.status_code, str(error)) from None
        return attachment(stored.data, stored.name, stored.content_type)


@router.post("/files/{file_id}/remove")
async def remove(request: Request, file_id: str, principal: PageWriter) -> Response:
    settings = settings_of(request)
    form = await request.form()
    back = str(form.get("back") or "")

    def work() -> tuple[str, str | None]:
        with unit_of_work(settings) as session:
            stored = service.remove(session, file_id, actor=principal.actor)
            return stored.prospect_id, stored.customer_id

    try:
        prospect_id, customer_id = await run_in_threadpool(work)
    except LeadlineError as error:
        from fastapi import HTTPException

        raise HTTPException(error.status_code, str(error)) from None
    if back == "customer" and customer_id:
        return RedirectResponse(f"/customers/{quote(customer_id)}?done=file-removed#files", status_code=303)
    return RedirectResponse(f"/prospects/{quote(prospect_id)}?done=file-removed#files", status_code=303)
