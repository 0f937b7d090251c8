"""``/api/files``: keep (multipart upload), list, read, download and remove files on prospects and customers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Response, UploadFile

from leadline.deps import Actor, CurrentSettings, DbSession, ReadSession
from leadline.errors import Invalid
from leadline.files import service
from leadline.files.download import attachment
from leadline.files.schemas import FileRead, Target, parse_target

router = APIRouter(prefix="/api/files", tags=["files"])


def _target(target: str | None, prospect_id: str | None, customer_id: str | None) -> Target | None:
    given = [v for v in (target, prospect_id, customer_id) if v]
    if len(given) > 1:
        raise Invalid("give one of target, prospectId or customerId", field="target")
    if target:
        return parse_target(target)
    if prospect_id:
        return Target("prospect", prospect_id)
    if customer_id:
        return Target("customer", customer_id)
    return None


@router.get("", response_model=list[FileRead], summary="Files kept, newest first (of one record, or all)")
def list_files(
    session: ReadSession,
    target: Annotated[str | None, Query(description="prospect:ID or customer:ID")] = None,
    prospect_id: Annotated[str | None, Query(alias="prospectId")] = None,
    customer_id: Annotated[str | None, Query(alias="customerId")] = None,
) -> Any:
    return [service.read(f) for f in service.search(session, _target(target, prospect_id, customer_id))]


@router.post("", response_model=FileRead, status_code=201, summary="Keep a file with a prospect or customer")
def upload(
    session: DbSession,
    actor: Actor,
    settings: CurrentSettings,
    file: Annotated[UploadFile, File(description="The file (type told by its content; LEADLINE_FILE_MAX_BYTES)")],
    target: Annotated[str | None, Form(description="prospect:ID or customer:ID")] = None,
    prospect_id: Annotated[str | None, Form(alias="prospectId")] = None,
    customer_id: Annotated[str | None, Form(alias="customerId")] = None,
    name: Annotated[str | None, Form(description="Keep it under this name; default: the upload's")] = None,
) -> Any:
    where = _target(target, prospect_id, customer_id)
    if where is None:
        raise Invalid("is required: prospect:ID or customer:ID (or prospectId / customerId)", field="target")
    data = service.read_capped(file.file, settings.file_max_bytes)
    return service.read(service.add(session, where, name or file.filename or "", data, actor=actor))


@router.get("/{file_id}", response_model=FileRead, summary="One file's name, type, size and SHA-256")
def show(file_id: str, session: ReadSession) -> Any:
    return service.read(service.get(session, file_id))


@router.get(
    "/{file_id}/content",
    summary="Download a file (an attachment, never shown inline)",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download(file_id: str, session: ReadSession) -> Response:
    stored = service.get(session, file_id, with_data=True)
    return attachment(stored.data, stored.name, stored.content_type)


@router.delete("/{file_id}", status_code=204, summary="Remove a file (the timeline says which)")
def remove(file_id: str, session: DbSession, actor: Actor) -> Response:
    service.remove(session, file_id, actor=actor)
    return Response(status_code=204)
