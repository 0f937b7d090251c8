"""``/api/prospects``: list, read, create, edit, move stage, import, export."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Query, Response, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import Field

from leadline.db import unit_of_work
from leadline.deps import Actor, CurrentSettings, DbSession, ReadSession
from leadline.exports import iter_csv, iter_json
from leadline.prospects import bulk, flows, merging, service
from leadline.prospects.columns import EXPORT_COLUMNS, row_to_json
from leadline.prospects.queries import SORT_CHOICES
from leadline.prospects.schemas import (
    ActivityRead,
    BulkOperationRead,
    BulkPreview,
    BulkRequest,
    CandidateRead,
    DuplicatePageRead,
    DuplicateReason,
    MergeRead,
    MergeRequest,
    ProspectCreate,
    ProspectFilter,
    ProspectRead,
    ProspectUpdate,
    StageMove,
)
from leadline.schemas import ApiModel, Page

router = APIRouter(prefix="/api/prospects", tags=["prospects"])

SortParam = Literal[
    "created",
    "-created",
    "name",
    "-name",
    "grid_health",
    "-grid_health",
    "tier",
    "-tier",
    "updated",
    "-updated",
]
assert set(SortParam.__args__) == set(SORT_CHOICES)  # type: ignore[attr-defined]


class ImportResult(ApiModel):
    import_id: str
    file: str
    kind: str
    rows: int
    created: int
    updated: int
    unchanged: int
    merged: int = 0
    rejected: int
    errors: list[dict[str, Any]]
    columns: list[tuple[str, str]]
    preview: list[dict[str, Any]]
    profile: str | None = None
    lacking: list[dict[str, Any]] = Field(default_factory=list)
    tagged: dict[str, int] = Field(
        default_factory=dict, description="The tags column: tag -> how many prospects it was added to."
    )
    dry_run: bool


#: The filters, read from the query string by the one filter schema (the CLI and the pages use it too).
FilterQ = Annotated[ProspectFilter, Query()]


@router.get("", response_model=Page[ProspectRead], summary="List prospects")
def list_prospects(
    session: ReadSession,
    filters: FilterQ,
    sort: SortParam = "created",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=500, description="nextCursor of the previous page.")] = None,
    page: Annotated[int | None, Query(ge=1, le=1_000_000, description="Page number, instead of a cursor.")] = None,
) -> Any:
    result = service.search(session, filters.query(), sort=sort, limit=limit, cursor=cursor, page=page)
    return Page[ProspectRead](
        items=service.read(session, result.items),
        total=result.total,
        limit=result.limit,
        next_cursor=result.next_cursor,
        page=result.page,
    )


@router.get(
    "/export",
    summary="Export prospects as CSV or JSON",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
)
def export_prospects(
    settings: CurrentSettings,
    filters: FilterQ,
    format: Literal["csv", "json"] = "csv",
    sort: SortParam = "created",
) -> StreamingResponse:
    def chunks() -> Iterator[str]:
        # Its own read transaction: the rows stream while the response is being sent.
        with unit_of_work(settings, readonly=True) as session:
            records = (row_to_json(row) for row in service.export_rows(session, filters.query(), sort=sort))
            yield from iter_csv(records, list(EXPORT_COLUMNS)) if format == "csv" else iter_json(records)

    media = "text/csv; charset=utf-8" if format == "csv" else "application/json"
    return StreamingResponse(
        chunks(), media_type=media,
        headers={"Content-Disposition": f'attachment; filename="prospects.{format}"'},
    )  # fmt: skip


@router.post("/import", response_model=ImportResult, summary="Import a CSV or JSON file of prospects")
def import_prospects(
    settings: CurrentSettings,
    actor: Actor,
    file: Annotated[UploadFile, File(description="A .csv, .json or .jsonl file.")],
    dry_run: Annotated[bool, Query(alias="dryRun")] = False,
    skip_invalid: Annotated[bool, Query(alias="skipInvalid")] = False,
    ignore_unknown_columns: Annotated[bool, Query(alias="ignoreUnknownColumns")] = False,
    overwrite: Annotated[
        bool, Query(description="Blank cells clear fields; shorter values replace longer ones.")
    ] = False,
    encoding: Annotated[str | None, Query(description="The CSV file's encoding: utf-8 (default), cp1252...")] = None,
    mapping: Annotated[
        list[str], Query(alias="map", description='"Column=field", repeatable (field: camelCase, or externalId).')
    ] = [],  # noqa: B006 - FastAPI copies a query default
    defaults: Annotated[
        list[str], Query(alias="set", description='"field=value" for rows without one, repeatable.')
    ] = [],  # noqa: B006
) -> Any:
    from leadline.prospects.files import parse_defaults, parse_mapping

    columns, given = parse_mapping(mapping), parse_defaults(defaults)
    suffix = Path(file.filename or "upload.csv").suffix.lower() or ".csv"
    if suffix not in (".csv", ".tsv", ".txt", ".json", ".jsonl", ".ndjson"):
        suffix = ".csv"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / (Path(file.filename or "upload").stem[:80] + suffix)
        with path.open("wb") as handle:
            while chunk := file.file.read(1024 * 1024):
                handle.write(chunk)
        report = flows.import_file(
            settings, path, actor=actor, skip_invalid=skip_invalid, dry_run=dry_run,
            ignore_unknown=ignore_unknown_columns, overwrite=overwrite, encoding=encoding, mapping=columns,
            defaults=given,
        )  # fmt: skip
    return ImportResult(**report.__dict__ | {"dry_run": dry_run})


@router.post(
    "/bulk",
    response_model=BulkOperationRead | BulkPreview,
    summary="A bulk action on prospects (ids, or all matching the list filters); dryRun previews it",
    responses={202: {"description": "A large selection: running in the background; follow GET /bulk/{id}."}},
)
def bulk_action(body: BulkRequest, settings: CurrentSettings, actor: Actor, response: Response) -> Any:
    if body.dry_run:
        with unit_of_work(settings, readonly=True) as session:
            return bulk.preview(session, body)
    operation_id = bulk.start(settings, body, actor=actor)
    with unit_of_work(settings, readonly=True) as session:
        result = bulk.read(session, operation_id)
    if result.status not in bulk.FINISHED:
        response.status_code = 202
    return result


@router.get("/bulk/{operation_id}", response_model=BulkOperationRead, summary="A bulk action's progress")
def bulk_progress(operation_id: str, session: ReadSession) -> Any:
    return bulk.read(session, operation_id)


@router.post("/bulk/{operation_id}/undo", response_model=BulkOperationRead, summary="Undo a bulk action")
def bulk_undo(operation_id: str, settings: CurrentSettings, actor: Actor, response: Response) -> Any:
    bulk.undo(settings, operation_id, actor=actor)
    with unit_of_work(settings, readonly=True) as session:
        result = bulk.read(session, operation_id)
    if result.status == "undoing":
        response.status_code = 202
    return result


@router.get("/duplicates", response_model=DuplicatePageRead, summary="Likely duplicate prospects")
def list_duplicates(
    session: ReadSession,
    reason: DuplicateReason | None = None,
    limit: Annotated[int, Query(ge=1, le=merging.MAX_GROUPS)] = 50,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Any:
    """Groups of prospects sharing an email, a phone number (its digits), a website's host, or a name and
    a city; one page of groups (``nextPage`` when there are more)."""
    return merging.duplicates(session, reason=reason, limit=limit, page=page)


@router.get("/{prospect_id}/duplicates", response_model=list[CandidateRead], summary="A prospect's likely duplicates")
def prospect_duplicates(prospect_id: str, session: ReadSession) -> Any:
    return merging.candidates(session, prospect_id)


@router.post("/{prospect_id}/merge", response_model=MergeRead, summary="Merge another prospect into this one")
def merge_prospect(prospect_id: str, body: MergeRequest, session: DbSession, actor: Actor) -> Any:
    """Everything of ``other`` (emails, calls, tasks, timeline...) moves to this prospect, its empty
    fields are filled from ``other``, and ``other`` is deleted. Two customers are never merged."""
    return merging.merge(session, prospect_id, body.other, actor=actor)


@router.get("/{prospect_id}", response_model=ProspectRead, summary="Read a prospect")
def get_prospect(prospect_id: str, session: ReadSession) -> Any:
    return service.read(session, [service.get(session, prospect_id)])[0]


@router.get("/{prospect_id}/timeline", response_model=list[ActivityRead], summary="A prospect's timeline")
def get_timeline(prospect_id: str, session: ReadSession) -> Any:
    return service.timeline(session, prospect_id)


@router.post("", response_model=ProspectRead, status_code=201, summary="Add a prospect")
def create_prospect(body: ProspectCreate, session: DbSession, actor: Actor) -> Any:
    return service.read(session, [service.create(session, body, actor=actor, source="api")])[0]


@router.patch("/{prospect_id}", response_model=ProspectRead, summary="Edit a prospect")
def update_prospect(prospect_id: str, body: ProspectUpdate, session: DbSession, actor: Actor) -> Any:
    return service.read(session, [service.update(session, prospect_id, body, actor=actor)])[0]


@router.post("/{prospect_id}/stage", response_model=ProspectRead, summary="Move a prospect to a stage by hand")
def move_stage(prospect_id: str, body: StageMove, session: DbSession, actor: Actor) -> Any:
    return service.read(
        session, [service.move_stage(session, prospect_id, body.stage, reason=body.reason, actor=actor)]
    )[0]
