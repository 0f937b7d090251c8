"""Importing prospects: a file's valid rows written in chunks, create or update, with a report.

Reading the file (formats, loose headers, each row checked) is ``prospects.files``; this module
decides what each valid row does to the database, through the prospects service's own writers
(ids, changes, stage moves), and records one timeline entry per prospect with
``activity.record_many``. Like a service it never commits: the caller's unit of work holds
every chunk, so an import is all-or-nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from leadline.activity import service as activity
from leadline.clock import utc_now
from leadline.db import Base, bulk_insert
from leadline.errors import Invalid
from leadline.ids import new_id, slugify
from leadline.notes import service as notes
from leadline.prospects import service
from leadline.prospects.files import ImportFileError, ProspectFile, RowResult, validate
from leadline.prospects.models import Prospect
from leadline.prospects.schemas import ProspectCreate

MAX_KEPT_ERRORS = 1000
PREVIEW_SIZE = 20
_WRITABLE = tuple(name for name in ProspectCreate.model_fields if name not in ("id", "name"))


@dataclass
class ImportReport:
    import_id: str
    file: str
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    columns: list[tuple[str, str]] = field(default_factory=list)
    preview: list[dict[str, Any]] = field(default_factory=list)
    label: str = "line"

    def add_error(self, line: int, problems: list[dict[str, str]]) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_KEPT_ERRORS:
            for problem in problems:
                self.errors.append({"line": line, **problem})

    def note(self, change: dict[str, Any]) -> None:
        if len(self.preview) < PREVIEW_SIZE:
            self.preview.append(change)


class ImportRejected(Invalid):
    """Some rows are bad and --skip-invalid was not given: nothing was written."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__(
            f"{report.rejected} bad row{'s' if report.rejected != 1 else ''} in {report.file}; nothing was imported",
            errors=[
                {"field": e.get("column") or e.get("field", ""), "line": str(e["line"]), "message": e["message"]}
                for e in report.errors
            ],
        )
        self.report = report


def import_file(
    session: Session,
    path: Path,
    *,
    actor: str,
    skip_invalid: bool = False,
    ignore_unknown: bool = False,
    on_reject: Callable[[RowResult], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    chunk_size: int = 1000,
) -> ImportReport:
    """Create or update prospects from a CSV/JSON file; match on id, else email.

    The file is streamed in chunks (memory stays flat). Bad rows are collected; unless
    ``skip_invalid``, any bad row raises :class:`ImportRejected` at the end, and the
    caller's transaction (which holds every chunk written so far) rolls back.
    """
    import_id = new_id("imp")
    with ProspectFile(Path(path), ignore_unknown=ignore_unknown) as source:
        report = ImportReport(import_id=import_id, file=Path(path).name, kind=source.kind, label=source.label)
        writer = _ChunkWriter(session, report, actor=actor, source_name=Path(path).name, on_reject=on_reject)
        chunk: list[RowResult] = []
        for raw in source.rows():
            report.rows += 1
            result = validate(raw, source.columns)
            if result.data is None:
                writer.reject(result)
            else:
                chunk.append(result)
            if len(chunk) >= chunk_size:
                writer.write(chunk)
                chunk = []
                if on_progress:
                    on_progress(source.position, source.size)
        if chunk:
            writer.write(chunk)
        if on_progress:
            on_progress(source.size, source.size)
        report.columns = source.columns.describe() if source.columns else []
    if report.rejected and not skip_invalid:
        raise ImportRejected(report)
    return report


class _ChunkWriter:
    def __init__(
        self,
        session: Session,
        report: ImportReport,
        *,
        actor: str,
        source_name: str,
        on_reject: Callable[[RowResult], None] | None,
    ) -> None:
        self.session = session
        self.report = report
        self.actor = actor
        self.source_name = source_name
        self.on_reject = on_reject
        self.table = Table("prospects", Base.metadata)
        self.untouched: list[str] = []
        self.known_notes: dict[str, set[str]] = {}

    def reject(self, result: RowResult, message: str | None = None, column: str = "") -> None:
        if message is not None:
            result.errors = [{"field": column, "column": column, "message": message}]
        self.report.add_error(result.line, result.errors)
        if self.on_reject:
            self.on_reject(result)

    def write(self, chunk: list[RowResult]) -> None:
        session = self.session
        ids = {r.data.id for r in chunk if r.data and r.data.id}
        emails = {r.data.email for r in chunk if r.data and r.data.email}
        by_id = {p.id: p for p in session.scalars(select(Prospect).where(Prospect.id.in_(ids)))} if ids else {}
        by_email = (
            {p.email: p for p in session.scalars(select(Prospect).where(Prospect.email.in_(emails)))} if emails else {}
        )
        seen_ids: dict[str, int] = {}
        seen_emails: dict[str, int] = {}
        inserts: list[dict[str, Any]] = []
        entries: list[dict[str, Any]] = []
        new_names: list[tuple[RowResult, dict[str, Any]]] = []
        now = utc_now()
        noted = [r.data.notes for r in chunk if r.data and r.data.notes and r.data.notes.strip()]
        self.known_notes = (
            notes.texts_of(session, [p.id for p in (*by_id.values(), *by_email.values())]) if noted else {}
        )
        label = self.report.label
        for result in chunk:
            data = result.data
            assert data is not None
            key_id, key_email = data.id, data.email
            duplicate_of = (seen_ids.get(key_id) if key_id else None) or (
                seen_emails.get(key_email) if key_email else None
            )
            if duplicate_of is not None:
                self.reject(result, f"duplicate of {label} {duplicate_of} (same id or email)", "email")
                continue
            existing = by_id.get(key_id) if key_id else None
            if existing is None and key_id is None and key_email:
                existing = by_email.get(key_email)
            if key_id and existing is None and key_email and key_email in by_email:
                other = by_email[key_email].id
                self.reject(result, f"{key_email} already belongs to prospect {other!r}, not {key_id!r}", "email")
                continue
            if existing is not None and existing.last_import_id == self.report.import_id:
                self.reject(result, f"duplicate: an earlier {label} of this file has the same id or email", "email")
                continue
            if key_id:
                seen_ids[key_id] = result.line
            if key_email:
                seen_emails[key_email] = result.line
            if existing is None:
                if "name" not in result.provided:
                    self.reject(result, "required for a new prospect", "name")
                    continue
                if data.sales_status == "closed_won":
                    self.reject(result, "closed_won comes from winning the deal (leadline deals won)", "sales_status")
                    continue
                new_names.append((result, self._new_row(data, result.provided, now)))
            else:
                self._update(existing, result, entries, now)
        taken: set[str] = {row["id"] for _, row in new_names if row["id"]}
        slugs = [None if row["id"] else slugify(row["name"]) for _, row in new_names]
        bases = {slug for slug in slugs if slug}
        used = set(session.scalars(select(Prospect.id).where(Prospect.id.in_(bases)))) if bases else set()
        for (result, row), base in zip(new_names, slugs, strict=True):
            if base is not None:
                fresh = base not in used and base not in taken
                row["id"] = base if fresh else service.unique_id(session, row["name"], taken=taken)
            taken.add(row["id"])
            inserts.append(row)
            entries.append(
                activity.row(
                    row["id"], "imported", "created",
                    {"file": self.source_name, label: result.line, "importId": self.report.import_id},
                    actor=self.actor, at=now,
                )
            )  # fmt: skip
            if row.pop("notes", None) is not None and result.data and (text := (result.data.notes or "").strip()):
                entries.append(notes.row(row["id"], text, actor=self.actor, at=now))
            self.report.created += 1
            self.report.note({"action": "create", "id": row["id"], "name": row["name"]})
        if self.untouched:
            # Mark unchanged rows as seen by this import (duplicate detection) without
            # moving their updated_at: nothing about them changed.
            session.execute(
                sql_update(Prospect)
                .where(Prospect.id.in_(self.untouched))
                .values(last_import_id=self.report.import_id, updated_at=Prospect.updated_at)
                .execution_options(synchronize_session=False)
            )
            self.untouched = []
        inserts.sort(key=itemgetter("id"))  # neighbouring keys: fewer index pages touched
        entries.sort(key=itemgetter("prospect_id"))
        bulk_insert(session, self.table, inserts)
        activity.record_many(session, entries)
        session.flush()

    def _new_row(self, data: ProspectCreate, provided: frozenset[str], now: datetime) -> dict[str, Any]:
        row = dict(data.__dict__)
        row.update(
            last_contact_at=None, next_follow_up_at=None, emails_sent_count=0, emails_opened_count=0,
            calls_scheduled_count=0, calls_completed_count=0, close_date=None, lost_reason=None,
            source=f"import:{self.source_name}"[:200], last_import_id=self.report.import_id,
            created_at=now, updated_at=now,
        )  # fmt: skip
        return row

    def _update(self, prospect: Prospect, result: RowResult, entries: list[dict[str, Any]], now: datetime) -> None:
        data = result.data
        assert data is not None
        wanted = {name: getattr(data, name) for name in result.provided if name in _WRITABLE or name == "name"}
        stage = wanted.pop("sales_status", None)
        note = (wanted.pop("notes", None) or "").strip()  # a note is added (once), never overwritten
        if note in self.known_notes.get(prospect.id, set()):
            note = ""
        if "email" in wanted and wanted["email"] != prospect.email:
            other = service.find_by_email(self.session, wanted["email"])
            if other is not None and other.id != prospect.id:
                self.reject(result, f"{wanted['email']} already belongs to prospect {other.id!r}", "email")
                return
        if stage is not None and stage != prospect.sales_status and stage == "closed_won":
            self.reject(result, "closed_won comes from winning the deal (leadline deals won)", "sales_status")
            return
        diff = service.apply_changes(prospect, wanted)
        label = self.report.label
        if diff:
            entries.append(
                activity.row(
                    prospect.id, "updated", "imported",
                    {"changes": diff, "file": self.source_name, label: result.line},
                    actor=self.actor, at=now,
                )
            )  # fmt: skip
        moved = False
        if stage is not None and stage != prospect.sales_status:
            service.set_stage(self.session, prospect, stage, actor=self.actor, manual=True, reason="import", at=now)
            moved = True
        if note:
            entries.append(notes.row(prospect.id, note, actor=self.actor, at=now))
            self.known_notes.setdefault(prospect.id, set()).add(note)
        if diff or moved or note:
            prospect.last_import_id = self.report.import_id
            self.report.updated += 1
            shown = {**diff, "note": [None, note]} if note else diff  # the note's timeline entry is the note itself
            self.report.note({"action": "update", "id": prospect.id, "changes": shown})
        else:
            self.untouched.append(prospect.id)
            self.report.unchanged += 1


__all__ = ["ImportFileError", "ImportRejected", "ImportReport", "import_file"]
