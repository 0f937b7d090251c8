"""Notes: each note is its own timeline entry (type ``note``, status ``added``) by its author.

Adding one never touches another. Its author may edit or remove it (an admin may edit or remove
any); the note shows when it was edited, and the timeline gains an entry for each edit
(``note edited``) and removal (``note removed``), so nothing said is lost. Services never commit.

This sits just above the timeline writer (``activity.service``), below ``prospects.service``:
a prospect made or imported with a ``notes`` value gets it as a note through :func:`add` or :func:`row`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadline.activity import service as activity
from leadline.activity.models import OutreachActivity
from leadline.clock import utc_now
from leadline.errors import Forbidden, NotFound
from leadline.notes.schemas import NoteRead, NoteWrite
from leadline.prospects.models import Prospect
from leadline.times import iso

TYPE, ADDED = "note", "added"


class NoteNotFound(NotFound):
    pass


class NoteProspectNotFound(NotFound):
    pass


def _check_prospect(session: Session, prospect_id: str) -> None:
    if session.get(Prospect, prospect_id) is None:
        raise NoteProspectNotFound(f"no prospect with id {prospect_id!r}", field="prospectId")


def add(session: Session, prospect_id: str, text: str, *, actor: str, at: datetime | None = None) -> OutreachActivity:
    """Add a note by ``actor`` (its author) to the prospect's timeline."""
    data = NoteWrite(text=text)
    _check_prospect(session, prospect_id)
    entry = activity.record(session, prospect_id, TYPE, ADDED, {"text": data.text}, actor=actor, at=at)
    session.flush()
    return entry


def row(prospect_id: str, text: str, *, actor: str, at: datetime) -> dict[str, Any]:
    """The same note as a plain timeline row (an import's ``notes`` column, written with the import's
    other entries by ``activity.record_many``). ``text`` was checked by the caller's schema."""
    return activity.row(prospect_id, TYPE, ADDED, {"text": text}, actor=actor, at=at)


def get(session: Session, note_id: str, *, for_update: bool = False, of: str | None = None) -> OutreachActivity:
    """A note by id (``of``: it must be a note on that prospect, as a page's address says)."""
    entry = activity.get(session, note_id, for_update=for_update)
    if entry is None or entry.type != TYPE or entry.status != ADDED:
        raise NoteNotFound(f"no note with id {note_id!r}", field="noteId")
    if of is not None and entry.prospect_id != of:
        raise NoteNotFound(f"no note with id {note_id!r} on {of}", field="noteId")
    return entry


def _check_may_change(entry: OutreachActivity, *, actor: str, admin: bool, verb: str) -> None:
    if not admin and entry.actor != actor:
        raise Forbidden(f"only its author ({entry.actor}) or an admin may {verb} this note", field="noteId")


def edit(
    session: Session, note_id: str, text: str, *, actor: str, admin: bool = False, of: str | None = None
) -> OutreachActivity:
    """Change a note's text (its author, or an admin); the timeline records the edit. ``of``: the
    prospect the note must be on."""
    data = NoteWrite(text=text)
    entry = get(session, note_id, for_update=True, of=of)
    _check_may_change(entry, actor=actor, admin=admin, verb="edit")
    before = str(entry.details.get("text") or "")
    if before == data.text:
        return entry
    now = utc_now()
    activity.revise(entry, {**entry.details, "text": data.text, "editedAt": iso(now), "editedBy": actor}, at=now)
    activity.record(session, entry.prospect_id, TYPE, "edited",
                    {"noteId": entry.id, "noteAt": iso(entry.created_at), "before": before, "text": data.text},
                    actor=actor, at=now)  # fmt: skip
    session.flush()
    return entry


def remove(session: Session, note_id: str, *, actor: str, admin: bool = False, of: str | None = None) -> str:
    """Remove a note (its author, or an admin); the timeline records the removal. Returns its prospect's
    id. ``of``: the prospect the note must be on."""
    entry = get(session, note_id, for_update=True, of=of)
    _check_may_change(entry, actor=actor, admin=admin, verb="remove")
    prospect_id, written, text, author = entry.prospect_id, entry.created_at, entry.details.get("text"), entry.actor
    activity.remove(session, entry)
    details = {"noteId": note_id, "noteAt": iso(written), "author": author, "before": text}
    activity.record(session, prospect_id, TYPE, "removed", details, actor=actor)
    session.flush()
    return prospect_id


def for_prospect(session: Session, prospect_id: str, *, check: bool = True) -> list[NoteRead]:
    """The prospect's notes, oldest first."""
    if check:
        _check_prospect(session, prospect_id)
    entries = session.scalars(
        select(OutreachActivity)
        .where(OutreachActivity.prospect_id == prospect_id, OutreachActivity.type == TYPE,
               OutreachActivity.status == ADDED)
        .order_by(OutreachActivity.created_at, OutreachActivity.id)
    )  # fmt: skip
    return [read(e) for e in entries]


def texts_of(session: Session, prospect_ids: Iterable[str]) -> dict[str, set[str]]:
    """The texts of each prospect's notes (an import adds a note only when its text is new)."""
    ids = sorted(set(prospect_ids))
    found: dict[str, set[str]] = {}
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(OutreachActivity.prospect_id, OutreachActivity.details)
            .where(OutreachActivity.prospect_id.in_(ids[start : start + 500]), OutreachActivity.type == TYPE,
                   OutreachActivity.status == ADDED)
        )  # fmt: skip
        for prospect_id, details in rows:
            found.setdefault(prospect_id, set()).add(str((details or {}).get("text") or ""))
    return found


def latest_texts(session: Session, prospect_ids: Iterable[str]) -> dict[str, str]:
    """Each prospect's latest note's text (the API's ``notes`` field of a prospect)."""
    ids = sorted(set(prospect_ids))
    found: dict[str, str] = {}
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(OutreachActivity.prospect_id, OutreachActivity.details)
            .where(OutreachActivity.prospect_id.in_(ids[start : start + 500]), OutreachActivity.type == TYPE,
                   OutreachActivity.status == ADDED)
            .order_by(OutreachActivity.created_at, OutreachActivity.id)
        )  # fmt: skip
        for prospect_id, details in rows:
            found[prospect_id] = str((details or {}).get("text") or "")
    return found


def read(entry: OutreachActivity) -> NoteRead:
    details = entry.details or {}
    edited = details.get("editedAt")
    return NoteRead(
        id=entry.id,
        prospect_id=entry.prospect_id,
        text=str(details.get("text") or ""),
        author=entry.actor,
        created_at=entry.created_at,
        edited_at=datetime.fromisoformat(edited.replace("Z", "+00:00")) if edited else None,
        edited_by=details.get("editedBy"),
    )
