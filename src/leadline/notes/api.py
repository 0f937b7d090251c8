"""``/api/prospects/{id}/notes`` (list, add) and ``/api/notes/{id}`` (edit, remove)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from leadline.auth.deps import ApiPrincipal
from leadline.deps import DbSession, ReadSession
from leadline.notes import service
from leadline.notes.schemas import NoteRead, NoteWrite

router = APIRouter(tags=["notes"])


@router.get(
    "/api/prospects/{prospect_id}/notes", response_model=list[NoteRead], summary="A prospect's notes, oldest first"
)
def list_notes(prospect_id: str, session: ReadSession) -> Any:
    return service.for_prospect(session, prospect_id)


@router.post("/api/prospects/{prospect_id}/notes", response_model=NoteRead, status_code=201, summary="Add a note")
def add_note(prospect_id: str, body: NoteWrite, session: DbSession, principal: ApiPrincipal) -> Any:
    return service.read(service.add(session, prospect_id, body.text, actor=principal.actor))


@router.patch("/api/notes/{note_id}", response_model=NoteRead, summary="Edit a note (its author, or an admin)")
def edit_note(note_id: str, body: NoteWrite, session: DbSession, principal: ApiPrincipal) -> Any:
    return service.read(service.edit(session, note_id, body.text, actor=principal.actor, admin=principal.is_admin))


@router.delete("/api/notes/{note_id}", status_code=204, summary="Remove a note (its author, or an admin)")
def remove_note(note_id: str, session: DbSession, principal: ApiPrincipal) -> Response:
    service.remove(session, note_id, actor=principal.actor, admin=principal.is_admin)
    return Response(status_code=204)
