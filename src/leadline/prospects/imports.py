"""Importing prospects, the steps that touch the database: stage a chunk, publish a batch.

Reading the file (formats, loose headers, each row checked) is ``prospects.files``; the order of
the steps, each in its own short transaction, and the run's journal are ``prospects.flows``. Here:

* :func:`decide` -- one valid row matched to an existing prospect (id, else email) and what it
  changes. The one place for matching rules: staging and publishing both call it.
* :func:`stage_chunk` -- a chunk of valid rows decided against the database and the rows staged
  before it (duplicates inside the file), ready to be written to ``import_staging``.
* :func:`publish_batch` -- staged rows made real: prospects created or updated through the prospects
  service's own writers, one timeline entry each (``activity.record_many``), and the run's journal
  moved on in the same transaction, so a batch is published exactly once.

Like services, these never commit: the flow's unit of work does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Table, select, text
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from leadline.activity import service as activity
from leadline.db import Base, bulk_insert
from leadline.errors import Conflict, Invalid
from leadline.ids import slugify
from leadline.names import camel
from leadline.notes import service as notes
from leadline.prospects import service
from leadline.prospects.files import ImportFileError, RowResult
from leadline.prospects.models import ImportRun, Prospect, StagedRow
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

    def count(self, action: str) -> None:
        name = _COUNTER[action]
        setattr(self, name, getattr(self, name) + 1)


_COUNTER = {"create": "created", "created": "created", "update": "updated", "unchanged": "unchanged"}


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


class ImportTakenOver(Conflict):
    """Another process took this import's run over (it looked dead): this one stops."""


# --- one row: match it, decide what it changes -------------------------------------------------


@dataclass
class Row:
    """One valid row: ``data`` is ProspectCreate's fields (JSON values), ``provided`` those the row gave."""

    line: int
    data: dict[str, Any]
    provided: frozenset[str]

    @property
    def key_id(self) -> str | None:
        return self.data.get("id")

    @property
    def key_email(self) -> str | None:
        return self.data.get("email")


@dataclass
class Decision:
    action: str  # create | update | unchanged | reject
    target: str | None = None  # the prospect's id (a new one without an id gets it when published)
    wanted: dict[str, Any] = field(default_factory=dict)
    stage: str | None = None  # a stage move, when the row moves it
    diff: dict[str, list[Any]] = field(default_factory=dict)
    message: str = ""
    column: str = ""
    note: str = ""  # a note the row adds (notes are entries: added once, never overwritten)


def _refuse(message: str, column: str) -> Decision:
    return Decision("reject", message=message, column=column)


def fresh_note(text: Any, known: Iterable[str] = ()) -> str:
    """The note a row's ``notes`` value adds: "" when blank, or when the prospect has a note of that
    text already, or every line of it (an import adds a note once, so importing again adds none)."""
    text = str(text or "").strip()
    if not text:
        return ""
    known = set(known)
    if text in known:
        return ""
    lines = {line.strip() for note in known for line in note.splitlines() if line.strip()}
    return "" if all(line.strip() in lines for line in text.splitlines() if line.strip()) else text


def decide(
    row: Row,
    *,
    by_id: Mapping[str, Any],
    by_email: Mapping[str, Any],
    known_notes: Mapping[str, Iterable[str]] | None = None,
) -> Decision:
    """Match one valid row to an existing prospect and decide what it changes.

    ``by_id`` and ``by_email`` hold the existing prospects (anything with Prospect's attributes) for
    the keys of the row's batch, ``known_notes`` the texts of their notes (when the rows have notes).
    Matching: the row's id, else its email. Nothing is written here."""
    key_id, key_email = row.key_id, row.key_email
    existing = by_id.get(key_id) if key_id else None
    if existing is None and key_id is None and key_email:
        existing = by_email.get(key_email)
    if key_id and existing is None and key_email and key_email in by_email:
        other = by_email[key_email].id
        return _refuse(f"{key_email} already belongs to prospect {other!r}, not {key_id!r}", "email")
    if existing is None:
        if "name" not in row.provided:
            return _refuse("required for a new prospect", "name")
        if row.data.get("sales_status") == "closed_won":
            return _refuse("closed_won comes from winning the deal (leadline deals won)", "sales_status")
        return Decision("create", target=key_id)
    wanted = {name: row.data[name] for name in row.provided if name in _WRITABLE or name == "name"}
    stage = wanted.pop("sales_status", None)
    note = fresh_note(wanted.pop("notes", None), (known_notes or {}).get(existing.id, ()))
    if "email" in wanted and wanted["email"] != existing.email:
        other = by_email.get(wanted["email"])
        if other is not None and other.id != existing.id:
            return _refuse(f"{wanted['email']} already belongs to prospect {other.id!r}", "email")
    moved = stage is not None and stage != existing.sales_status
    if moved and stage == "closed_won":
        return _refuse("closed_won comes from winning the deal (leadline deals won)", "sales_status")
    diff = {
        camel(name): [_plain(old), _plain(value)]
        for name, value in wanted.items()
        if (old := getattr(existing, name)) != value
    }
    if note:
        diff["note"] = [None, note]  # the note's timeline entry is the note itself
    action = "update" if diff or moved else "unchanged"
    return Decision(action, existing.id, wanted, stage if moved else None, diff, note=note)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _existing(session: Session, rows: Iterable[Row], *, lock: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """The existing prospects a batch's rows name (by id, by email), through the two unique indexes."""
    rows = list(rows)
    ids = {r.key_id for r in rows if r.key_id}
    emails = {r.key_email for r in rows if r.key_email}
    found: dict[str, Prospect] = {}
    for column, keys in ((Prospect.id, ids), (Prospect.email, emails)):
        if keys:
            query = select(Prospect).where(column.in_(keys))
            if lock:
                query = query.with_for_update()
            found.update((p.id, p) for p in session.scalars(query))
    return found, {p.email: p for p in found.values() if p.email}


def _known_notes(session: Session, rows: list[Row], by_id: Mapping[str, Any]) -> dict[str, set[str]]:
    """The texts of the notes of a batch's prospects, when a row of it has a note (else nothing read)."""
    if not by_id or not any(str(row.data.get("notes") or "").strip() for row in rows):
        return {}
    return notes.texts_of(session, by_id.keys())


# --- staging ------------------------------------------------------------------------------------


class Stager:
    """Decides chunks of valid rows before anything is published; keeps the report's plan figures."""

    def __init__(self, run_id: str, report: ImportReport, on_reject: Callable[[RowResult], None] | None) -> None:
        self.run_id = run_id
        self.report = report
        self.on_reject = on_reject
        self.seq = 0

    def reject(self, result: RowResult, message: str | None = None, column: str = "") -> None:
        if message is not None:
            result.errors = [{"field": column, "column": column, "message": message}]
        self.report.add_error(result.line, result.errors)
        if self.on_reject:
            self.on_reject(result)

    def stage_chunk(self, session: Session, chunk: list[RowResult]) -> list[dict[str, Any]]:
        """The staged rows for a chunk (read-only work: the caller writes them in its own short transaction)."""
        rows = [Row(r.line, dict(r.data.__dict__), r.provided) for r in chunk if r.data is not None]
        by_id, by_email = _existing(session, rows)
        known = _known_notes(session, rows, by_id)
        decisions = [decide(row, by_id=by_id, by_email=by_email, known_notes=known) for row in rows]
        earlier = self._claimed(session, rows, decisions)
        seen_ids: dict[str, int] = {}
        seen_emails: dict[str, int] = {}
        seen_targets: dict[str, int] = {}
        staged: list[dict[str, Any]] = []
        label = self.report.label
        for result, row, decision in zip(chunk, rows, decisions, strict=True):
            key_id, key_email = row.key_id, row.key_email
            duplicate_of = (seen_ids.get(key_id) or earlier.get(("target", key_id)) if key_id else None) or (
                seen_emails.get(key_email) or earlier.get(("email", key_email)) if key_email else None
            )
            if duplicate_of is not None:
                self.reject(result, f"duplicate of {label} {duplicate_of} (same id or email)", "email")
                continue
            if decision.action == "reject":
                self.reject(result, decision.message, decision.column)
                continue
            target = decision.target
            if target is not None:
                same = seen_targets.get(target) or earlier.get(("target", target))
                if same is not None:
                    self.reject(result, f"duplicate of {label} {same} (the same prospect)", "email")
                    continue
                seen_targets[target] = row.line
            if key_id:
                seen_ids[key_id] = row.line
            if key_email:
                seen_emails[key_email] = row.line
            self.seq += 1
            staged.append(
                {"run_id": self.run_id, "seq": self.seq, "line": row.line, "action": decision.action,
                 "target": target, "email": key_email, "data": row.data, "provided": sorted(row.provided)}
            )  # fmt: skip
            self.report.count(decision.action)
            if decision.action == "create":
                name = row.data["name"]
                self.report.note({"action": "create", "id": target or slugify(name), "name": name})
            elif decision.action == "update":
                self.report.note({"action": "update", "id": target, "changes": decision.diff})
        return staged

    def _claimed(self, session: Session, rows: list[Row], decisions: list[Decision]) -> dict[tuple[str, str], int]:
        """Rows staged by earlier chunks with the same target (id) or email: (kind, key) -> line."""
        if self.seq == 0:
            return {}
        targets = {r.key_id for r in rows if r.key_id} | {d.target for d in decisions if d.target}
        emails = {r.key_email for r in rows if r.key_email}
        claimed: dict[tuple[str, str], int] = {}
        for kind, column, keys in (("target", StagedRow.target, targets), ("email", StagedRow.email, emails)):
            if keys:
                query = select(column, StagedRow.line).where(StagedRow.run_id == self.run_id, column.in_(keys))
                for key, line in session.execute(query):
                    if key is not None:
                        claimed.setdefault((kind, key), line)
        return claimed


def write_staged(session: Session, rows: list[dict[str, Any]]) -> None:
    rows.sort(key=itemgetter("seq"))
    bulk_insert(session, Base.metadata.tables[StagedRow.__tablename__], rows)


# --- publishing -----------------------------------------------------------------------------------


@dataclass
class Published:
    last_seq: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    preview: list[dict[str, Any]] = field(default_factory=list)


def publish_batch(session: Session, run: ImportRun, *, limit: int, now: datetime) -> Published | None:
    """Publish the next ``limit`` staged rows of ``run`` (after ``run.published_seq``); None when none are left.

    Each row is decided again against the prospects as they are now (locked on PostgreSQL): a row
    that another change has made impossible since it was staged is skipped and reported as a conflict."""
    staged = session.execute(
        select(StagedRow.seq, StagedRow.line, StagedRow.data, StagedRow.provided)
        .where(StagedRow.run_id == run.id, StagedRow.seq > run.published_seq)
        .order_by(StagedRow.seq)
        .limit(limit)
    ).all()
    if not staged:
        return None
    rows = [Row(line, data, frozenset(provided)) for _, line, data, provided in staged]
    by_id, by_email = _existing(session, rows, lock=session.get_bind().dialect.name == "postgresql")
    known = _known_notes(session, rows, by_id)
    done = Published(last_seq=staged[-1][0])
    label, source_name = run.label, run.file
    entries: list[dict[str, Any]] = []
    new_rows: list[tuple[Row, dict[str, Any]]] = []
    untouched: list[str] = []
    for row in rows:
        decision = decide(row, by_id=by_id, by_email=by_email, known_notes=known)
        if decision.action == "reject":
            done.conflicts.append(
                {"line": row.line, "field": decision.column, "column": decision.column,
                 "message": f"changed while importing: {decision.message}"}
            )  # fmt: skip
        elif decision.action == "create":
            new_rows.append((row, _new_row(row.data, run, now)))
        elif decision.action == "unchanged":
            untouched.append(str(decision.target))
            done.unchanged += 1
        else:
            prospect = by_id[str(decision.target)]
            diff = service.apply_changes(prospect, decision.wanted)
            if diff:
                entries.append(
                    activity.row(prospect.id, "updated", "imported",
                                 {"changes": diff, "file": source_name, label: row.line}, actor=run.actor, at=now)
                )  # fmt: skip
            if decision.stage is not None:
                service.set_stage(session, prospect, decision.stage, actor=run.actor, manual=True, reason="import",
                                  at=now)  # fmt: skip
            if decision.note:
                entries.append(notes.row(prospect.id, decision.note, actor=run.actor, at=now))
                known.setdefault(prospect.id, set()).add(decision.note)
            prospect.last_import_id = run.id
            done.updated += 1
            if len(done.preview) < PREVIEW_SIZE:
                shown = {**diff, "note": [None, decision.note]} if decision.note else diff
                done.preview.append({"action": "update", "id": prospect.id, "changes": shown})
    _give_ids(session, run.id, new_rows)
    inserts = []
    for row, values in new_rows:
        note = fresh_note(values.pop("notes", None))
        inserts.append(values)
        entries.append(
            activity.row(values["id"], "imported", "created",
                         {"file": source_name, label: row.line, "importId": run.id}, actor=run.actor, at=now)
        )  # fmt: skip
        if note:
            entries.append(notes.row(values["id"], note, actor=run.actor, at=now))
        done.created += 1
        if len(done.preview) < PREVIEW_SIZE:
            done.preview.append({"action": "create", "id": values["id"], "name": values["name"]})
    if untouched:
        # Marked as seen by this import without moving updated_at: nothing about them changed.
        session.execute(
            sql_update(Prospect)
            .where(Prospect.id.in_(untouched))
            .values(last_import_id=run.id, updated_at=Prospect.updated_at)
            .execution_options(synchronize_session=False)
        )
    inserts.sort(key=itemgetter("id"))  # neighbouring keys: fewer index pages touched
    entries.sort(key=itemgetter("prospect_id"))
    session.flush()
    bulk_insert(session, Table("prospects", Base.metadata), inserts)
    activity.record_many(session, entries)
    return done


def _new_row(data: dict[str, Any], run: ImportRun, now: datetime) -> dict[str, Any]:
    row = dict(data)
    row.update(
        last_contact_at=None, next_follow_up_at=None, emails_sent_count=0, emails_opened_count=0,
        calls_scheduled_count=0, calls_completed_count=0, close_date=None, lost_reason=None,
        source=f"import:{run.file}"[:200], last_import_id=run.id, created_at=now, updated_at=now,
    )  # fmt: skip
    return row


def _give_ids(session: Session, run_id: str, new_rows: list[tuple[Row, dict[str, Any]]]) -> None:
    """Ids for the new prospects that have none: the name's slug, unless a prospect or a row staged by this
    import (which keeps its own id) has it; then slug_2, slug_3..."""
    taken: set[str] = {values["id"] for _, values in new_rows if values["id"]}
    bases = {slugify(values["name"]) for _, values in new_rows if not values["id"]}
    if not bases:
        return
    used = set(session.scalars(select(Prospect.id).where(Prospect.id.in_(bases))))
    staged = select(StagedRow.target).where(StagedRow.run_id == run_id, StagedRow.target.in_(bases))
    used |= {target for target in session.scalars(staged) if target}
    for _, values in new_rows:
        if values["id"]:
            continue
        base = slugify(values["name"])
        if base in used or base in taken:
            values["id"] = _numbered(session, run_id, base, taken)
        else:
            values["id"] = base
        taken.add(values["id"])


def _numbered(session: Session, run_id: str, base: str, taken: set[str]) -> str:
    pattern = base.replace("_", "\\_") + "\\_%"
    used = set(taken)
    for table, column in (("prospects", "id"), ("import_staging", "target")):
        extra = " AND run_id = :run" if table == "import_staging" else ""
        where = f"({column} = :base OR {column} LIKE :pattern ESCAPE '\\'){extra}"
        used.update(
            session.execute(
                text(f"SELECT {column} FROM {table} WHERE {where}"),
                {"base": base, "pattern": pattern, "run": run_id},
            ).scalars()
        )
    number = 2
    while f"{base}_{number}" in used:
        number += 1
    return f"{base}_{number}"


__all__ = [
    "Decision", "ImportFileError", "ImportRejected", "ImportReport", "ImportTakenOver", "Row", "Stager", "decide",
    "publish_batch", "write_staged",
]  # fmt: skip
