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
from leadline.prospects import matching, service
from leadline.prospects.files import ColumnMap, ImportFileError, ProspectFile, RowResult, validate
from leadline.prospects.models import Prospect
from leadline.prospects.readiness import Readiness
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
    merged: int = 0  # rows merged into a prospect an earlier row of the file created
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    columns: list[tuple[str, str]] = field(default_factory=list)
    preview: list[dict[str, Any]] = field(default_factory=list)
    label: str = "line"
    profile: str | None = None  # "HubSpot contacts", ... when the file is a known export
    mapping: dict[str, str] = field(default_factory=dict)  # column -> what it feeds (the menus' value)
    lacking: list[dict[str, Any]] = field(default_factory=list)  # readiness.Readiness.summary()

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
    overwrite: bool = False,
    encoding: str | None = None,
    mapping: dict[str, str] | None = None,
    defaults: dict[str, Any] | None = None,
) -> ImportReport:
    """Create or update prospects from a CSV/JSON file; rows find their prospects by
    ``prospects.matching`` (other systems' ids, id, email, website, name).

    ``overwrite``: blank cells clear fields and shorter values replace longer ones; ``encoding``
    of a CSV file (UTF-8 unless told); ``mapping``: {column: field} chosen by hand; ``defaults``:
    {field: value} for rows that lack one (``--set``).

    The file is streamed in chunks (memory stays flat). Bad rows are collected; unless
    ``skip_invalid``, any bad row raises :class:`ImportRejected` at the end, and the
    caller's transaction (which holds every chunk written so far) rolls back.
    """
    import_id = new_id("imp")
    opened = ProspectFile(
        Path(path), ignore_unknown=ignore_unknown, encoding=encoding, mapping=mapping, defaults=defaults,
        keep_blanks=overwrite,
    )  # fmt: skip
    with opened as source:
        report = ImportReport(import_id=import_id, file=Path(path).name, kind=source.kind, label=source.label)
        writer = _ChunkWriter(session, report, actor=actor, source_name=Path(path).name, on_reject=on_reject)
        writer.overwrite = overwrite
        writer.readiness = Readiness.for_session(session)
        chunk: list[RowResult] = []
        for raw in source.rows():
            report.rows += 1
            result = validate(raw, source.columns)
            writer.columns = source.columns
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
        if source.columns:
            report.profile = source.columns.profile
            report.mapping = {h: source.columns.target_of(h) for h in source.columns.headers}
        report.lacking = writer.readiness.summary()
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
        self.matcher = matching.Matcher(session)
        self.overwrite = False
        self.readiness = Readiness([])
        self.columns: ColumnMap | None = None

    def reject(self, result: RowResult, message: str | None = None, column: str = "") -> None:
        if message is not None:
            result.errors = [{"field": column, "column": column, "message": message}]
        self.report.add_error(result.line, result.errors)
        if self.on_reject:
            self.on_reject(result)

    def write(self, chunk: list[RowResult]) -> None:
        session = self.session
        matcher = self.matcher
        matcher.prefetch(chunk)
        seen_ids: dict[str, int] = {}
        seen_emails: dict[str, int] = {}
        inserts: list[dict[str, Any]] = []
        entries: list[dict[str, Any]] = []
        new_names: list[tuple[RowResult, dict[str, Any]]] = []
        touched: dict[str, Any] = {}
        now = utc_now()
        label = self.report.label
        for result in chunk:
            data = result.data
            assert data is not None
            key_id, key_email = data.id, data.email
            match = matcher.find(result)
            duplicate_of = (seen_ids.get(key_id) if key_id else None) or (
                seen_emails.get(key_email) if key_email else None
            )
            if duplicate_of is not None and (match is None or match.by_identity):
                self.reject(result, f"duplicate of {label} {duplicate_of} (same id or email)", "email")
                continue
            if key_id and match is None and key_email and matcher.email_owner(key_email) is not None:
                other = matcher.email_owner(key_email).id  # type: ignore[union-attr]
                self.reject(result, f"{key_email} already belongs to prospect {other!r}, not {key_id!r}", "email")
                continue
            if match is not None and match.by_identity and match.pending:
                self.reject(result, f"duplicate: an earlier {label} of this file has the same id or email", "email")
                continue
            existing: Any = match.target if match is not None else None
            if match is not None and match.by_identity and existing.last_import_id == self.report.import_id:
                self.reject(result, f"duplicate: an earlier {label} of this file has the same id or email", "email")
                continue
            if key_id:
                seen_ids[key_id] = result.line
            if key_email:
                seen_emails[key_email] = result.line
            if match is None:
                if "name" not in result.provided:
                    self.reject(result, "required for a new prospect", "name")
                    continue
                if data.sales_status == "closed_won":
                    self.reject(result, "closed_won comes from winning the deal (leadline deals won)", "sales_status")
                    continue
                row = self._new_row(data, result.provided, now)
                new_names.append((result, row))
                matcher.add_new(row, result)
                matcher.remember(row, result, owner=True)
            elif match.pending:
                self._merge_new(match, result)
                matcher.remember(match.target, result, owner=not match.related)
            elif self._update(match, result, entries, now):
                matcher.remember(existing, result, owner=not match.related)
                touched[existing.id] = existing
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
            self.report.created += 1
            self.report.note({"action": "create", "id": row["id"], "name": row["name"]})
        for row in inserts:
            self.readiness.add(row)
        for prospect in touched.values():
            self.readiness.add(prospect)
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
        matcher.flush()
        activity.record_many(session, entries)
        session.flush()

    def _label(self, name: str) -> str:
        return self.columns.source_of(name) if self.columns is not None else name

    def _merge_new(self, match: matching.Match, result: RowResult) -> None:
        """A later row of the chunk that belongs to a prospect an earlier row makes (another person
        of the business, its company record): merged into the new row before it is written."""
        data = result.data
        assert data is not None
        row = match.target
        incoming = {name: getattr(data, name) for name in result.provided if name in _WRITABLE or name == "name"}
        incoming.pop("sales_status", None)
        wanted = matching.decide(
            row, incoming, related=match.related, overwrite=self.overwrite, defaulted=result.raw.defaulted,
            label=self._label, through_business=match.through_business,
        )  # fmt: skip
        if "email" in wanted and self.matcher.email_owner(wanted["email"]) is not None:
            wanted.pop("email")
        row.update(wanted)
        self.report.merged += 1

    def _new_row(self, data: ProspectCreate, provided: frozenset[str], now: datetime) -> dict[str, Any]:
        row = dict(data.__dict__)
        row.update(
            last_contact_at=None, next_follow_up_at=None, emails_sent_count=0, emails_opened_count=0,
            calls_scheduled_count=0, calls_completed_count=0, close_date=None, lost_reason=None,
            source=f"import:{self.source_name}"[:200], last_import_id=self.report.import_id,
            created_at=now, updated_at=now,
        )  # fmt: skip
        return row

    def _update(self, match: matching.Match, result: RowResult, entries: list[dict[str, Any]], now: datetime) -> bool:
        data = result.data
        assert data is not None
        prospect: Prospect = match.target
        incoming = {name: getattr(data, name) for name in result.provided if name in _WRITABLE or name == "name"}
        stage = incoming.pop("sales_status", None)
        if match.related or "sales_status" in result.raw.defaulted:
            stage = None  # a related record never moves the prospect's stage; nor does --set
        wanted = matching.decide(
            prospect, incoming, related=match.related, overwrite=self.overwrite, defaulted=result.raw.defaulted,
            label=self._label, through_business=match.through_business,
        )  # fmt: skip
        if "email" in wanted and wanted["email"] != prospect.email:
            other = service.find_by_email(self.session, wanted["email"])
            if other is not None and other.id != prospect.id:
                self.reject(result, f"{wanted['email']} already belongs to prospect {other.id!r}", "email")
                return False
        if stage is not None and stage != prospect.sales_status and stage == "closed_won":
            self.reject(result, "closed_won comes from winning the deal (leadline deals won)", "sales_status")
            return False
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
        if diff or moved:
            if match.by_identity:
                prospect.last_import_id = self.report.import_id
            self.report.updated += 1
            self.report.note({"action": "update", "id": prospect.id, "name": prospect.name, "changes": diff})
        else:
            if match.by_identity:
                self.untouched.append(prospect.id)
            self.report.unchanged += 1
        return True


__all__ = ["ImportFileError", "ImportRejected", "ImportReport", "import_file"]
