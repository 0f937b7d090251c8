"""Importing prospects, the steps that touch the database: stage a chunk, publish a batch.

Reading the file (formats, loose headers, each row checked) is ``prospects.files``; the order of
the steps, each in its own short transaction, and the run's journal are ``prospects.flows``. Here:

* :func:`decide` -- one valid row matched to an existing prospect (id, else email) and what it
  changes. The one place for matching rules: staging and publishing both call it.
* :func:`stage_chunk` -- a chunk of valid rows decided against the database and the rows staged
  before it (duplicates inside the file), ready to be written to ``import_staging``.
* :func:`next_staged` -- the next batch of staged rows, read (and decoded) before the write transaction.
* :func:`publish_batch` -- staged rows made real: prospects created or updated through the prospects
  service's own writers, one timeline entry each (``activity.record_many``), the staged rows removed
  and the run's journal moved on in the same transaction, so a batch is published exactly once.

Like services, these never commit: the flow's unit of work does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Table, delete, select, text
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from leadline.activity import service as activity
from leadline.analytics import totals
from leadline.db import Base, bulk_insert
from leadline.errors import Conflict, Invalid
from leadline.ids import slugify
from leadline.names import camel
from leadline.notes import service as notes
from leadline.prospects import bulk, matching, service
from leadline.prospects.files import ColumnMap, ImportFileError, RowResult
from leadline.prospects.models import ImportRun, Prospect, ProspectExternalId, StagedRow
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
    tagged: dict[str, int] = field(default_factory=dict)  # the tags column: tag -> prospects it was added to

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
    external: list[list[Any]] = field(default_factory=list)  # [source, id, owner]: kept when published

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
    """Decides chunks of valid rows before anything is published; keeps the report's plan figures.

    Each row finds its prospect through ``prospects.matching`` (other systems' ids, id, email, the
    related record, website, name) and ``matching.decide`` says which of its values change it (no
    blank or shorter value over a longer one unless ``overwrite``); :func:`decide` then checks the
    result as for any row. Rows of one business in a chunk (a person and its company) are merged
    into the new prospect the first of them makes. The external ids to keep travel with the staged
    rows (``external_ids``) and are written when those rows are published."""

    def __init__(
        self,
        run_id: str,
        report: ImportReport,
        on_reject: Callable[[RowResult], None] | None,
        *,
        overwrite: bool = False,
        columns: ColumnMap | None = None,
        readiness: Readiness | None = None,
    ) -> None:
        self.run_id = run_id
        self.report = report
        self.on_reject = on_reject
        self.seq = 0
        self.overwrite = overwrite
        self.columns = columns
        self.readiness = readiness if readiness is not None else Readiness([])
        self._unwritten: dict[tuple[str, str], int] = {}  # rows staged, not written yet: (kind, key) -> line

    def written(self) -> None:
        """The rows staged so far are in ``import_staging`` now (``_claimed`` finds them there)."""
        self._unwritten.clear()

    def reject(self, result: RowResult, message: str | None = None, column: str = "") -> None:
        if message is not None:
            result.errors = [{"field": column, "column": column, "message": message}]
        self.report.add_error(result.line, result.errors)
        if self.on_reject:
            self.on_reject(result)

    def _label(self, name: str) -> str:
        return self.columns.source_of(name) if self.columns is not None else name

    def stage_chunk(self, session: Session, chunk: list[RowResult]) -> list[dict[str, Any]]:
        """The staged rows for a chunk (read-only work: the caller writes them in its own short transaction)."""
        results = [r for r in chunk if r.data is not None]
        matcher = matching.Matcher(session)
        matcher.prefetch(results)
        found = matcher.found()
        known = notes.texts_of(session, [p.id for p in found]) if found else {}
        views = {p.id: _view(p, known.get(p.id, set())) for p in found}
        by_email = matcher.by_email()
        earlier = self._claimed(
            session,
            {r.data.id for r in results if r.data is not None and r.data.id} | set(views),
            {r.data.email for r in results if r.data is not None and r.data.email},
        )
        seen_ids: dict[str, int] = {}
        seen_emails: dict[str, int] = {}
        seen_targets: dict[str, int] = {}
        staged: list[dict[str, Any]] = []
        by_target: dict[str, dict[str, Any]] = {}
        creates: list[dict[str, Any]] = []
        touched: dict[str, Any] = {}
        label = self.report.label
        for result in results:
            assert result.data is not None
            data = dict(result.data.__dict__)
            key_id, key_email = result.data.id, result.data.email
            match = matcher.find(result)
            identity = match is None or match.by_identity
            duplicate_of = (seen_ids.get(key_id) or earlier.get(("target", key_id)) if key_id else None) or (
                seen_emails.get(key_email) or earlier.get(("email", key_email)) if key_email else None
            )
            if duplicate_of is not None and identity:
                self.reject(result, f"duplicate of {label} {duplicate_of} (same id or email)", "email")
                continue
            if match is not None and match.by_identity and match.pending:
                self.reject(result, f"duplicate: an earlier {label} of this file has the same id or email", "email")
                continue
            if match is not None and match.pending:  # merged into the new prospect an earlier row makes
                target_row = match.target
                incoming = {name: data[name] for name in result.provided if name in _WRITABLE or name == "name"}
                incoming.pop("sales_status", None)
                wanted = matching.decide(
                    target_row, incoming, related=match.related, overwrite=self.overwrite,
                    defaulted=result.raw.defaulted, label=self._label, through_business=match.through_business,
                )  # fmt: skip
                if "email" in wanted and matcher.email_owner(wanted["email"]) is not None:
                    wanted.pop("email")
                target_row.update(wanted)
                self._remember(matcher, target_row, result, owner=not match.related, by_target=by_target)
                self.report.merged += 1
                self._seen(key_id, key_email, result.line, seen_ids, seen_emails)
                continue
            if match is None:
                row = Row(result.line, data, result.provided)
                decision = decide(row, by_id={}, by_email=by_email)
            else:
                prospect = match.target
                view = views[prospect.id]
                row = self._update_row(result, data, match, view)
                decision = decide(row, by_id={prospect.id: view}, by_email=by_email, known_notes=known)
            if decision.action == "reject":
                self.reject(result, decision.message, decision.column)
                continue
            target = decision.target
            if target is not None and identity:
                same = seen_targets.get(target) or earlier.get(("target", target))
                if same is not None:
                    self.reject(result, f"duplicate of {label} {same} (the same prospect)", "email")
                    continue
                seen_targets[target] = row.line
            self._seen(key_id, key_email, result.line, seen_ids, seen_emails)
            self.seq += 1
            email = row.data.get("email") if identity or "email" in row.provided else None
            item = {"run_id": self.run_id, "seq": self.seq, "line": row.line, "action": decision.action,
                    "target": target, "email": email, "data": row.data, "provided": sorted(row.provided)}  # fmt: skip
            staged.append(item)
            if target is not None:
                self._unwritten.setdefault(("target", target), row.line)
            if email is not None:
                self._unwritten.setdefault(("email", email), row.line)
            self.report.count(decision.action)
            if match is None:
                matcher.add_new(row.data, result)
                self._remember(matcher, row.data, result, owner=True, by_target=by_target)
                creates.append(row.data)
                name = row.data["name"]
                self.report.note({"action": "create", "id": target or slugify(name), "name": name})
                continue
            view = views[str(target)]
            by_target[str(target)] = item
            for name in row.provided:
                if name == "notes":
                    if decision.note:
                        known.setdefault(view.id, set()).add(decision.note)
                        view.notes = "\n".join(sorted(known[view.id]))
                elif name in _WRITABLE or name == "name":
                    setattr(view, name, row.data[name])
            touched[view.id] = view
            self._remember(matcher, match.target, result, owner=not match.related, by_target=by_target)
            if decision.action == "update":
                self.report.note({"action": "update", "id": target, "name": view.name, "changes": decision.diff})
        for values in creates:
            self.readiness.add(values)
        for view in touched.values():
            self.readiness.add(view)
        return staged

    def _update_row(self, result: RowResult, data: dict[str, Any], match: matching.Match, view: Any) -> Row:
        """The row as what it changes on the prospect it found: ``matching.decide``'s values (a note only
        with the lines the prospect's notes lack); the prospect's id as the row's key."""
        incoming = {name: data[name] for name in result.provided if name in _WRITABLE or name == "name"}
        stage = incoming.pop("sales_status", None)
        if match.related or "sales_status" in result.raw.defaulted:
            stage = None  # a related record never moves the prospect's stage; nor does --set
        wanted = matching.decide(
            view, incoming, related=match.related, overwrite=self.overwrite, defaulted=result.raw.defaulted,
            label=self._label, through_business=match.through_business,
        )  # fmt: skip
        note = wanted.pop("notes", None)
        if note:
            have = {line.strip() for line in str(view.notes or "").splitlines() if line.strip()}
            lines = [line for line in str(note).splitlines() if line.strip() and line.strip() not in have]
            if lines:
                wanted["notes"] = "\n".join(lines)
        if stage is not None:
            wanted["sales_status"] = stage
        values = {**data, **wanted, "id": view.id, "email": wanted.get("email", view.email)}
        return Row(result.line, values, frozenset(wanted))

    @staticmethod
    def _seen(key_id: str | None, key_email: str | None, line: int, ids: dict[str, int], mails: dict[str, int]) -> None:
        if key_id:
            ids[key_id] = line
        if key_email:
            mails[key_email] = line

    @staticmethod
    def _remember(
        matcher: matching.Matcher, target: Any, result: RowResult, *, owner: bool, by_target: dict[str, dict[str, Any]]
    ) -> None:
        """The row's external ids, kept with the staged row that makes or changes ``target``."""
        matcher.remember(target, result, owner=owner)
        for _, source, value, is_owner in matcher.take_remembered():
            if isinstance(target, dict):
                target.setdefault("external_ids", []).append([source, value, is_owner])
            else:
                by_target[target.id]["data"].setdefault("external_ids", []).append([source, value, is_owner])

    def _claimed(self, session: Session, targets: set[str], emails: set[str]) -> dict[tuple[str, str], int]:
        """Rows staged by earlier chunks with the same target (id) or email: (kind, key) -> line."""
        if self.seq == 0:
            return {}
        claimed: dict[tuple[str, str], int] = {}
        for kind, column, keys in (("target", StagedRow.target, targets), ("email", StagedRow.email, emails)):
            if keys:
                query = select(column, StagedRow.line).where(StagedRow.run_id == self.run_id, column.in_(keys))
                for key, line in session.execute(query):
                    if key is not None:
                        claimed.setdefault((kind, key), line)
                for key in keys:  # staged by an earlier chunk whose rows are not written yet
                    if (earlier := self._unwritten.get((kind, key))) is not None:
                        claimed.setdefault((kind, key), earlier)
        return claimed


def _view(prospect: Prospect, known_notes: set[str]) -> SimpleNamespace:
    """A prospect's values as a staging chunk sees them (a copy: earlier rows of the chunk change it)."""
    values = {column.key: getattr(prospect, column.key) for column in Prospect.__table__.columns}
    return SimpleNamespace(**values, notes="\n".join(sorted(known_notes)) or None)


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
    tagged: dict[str, int] = field(default_factory=dict)  # tag -> prospects it was added to


@dataclass
class StagedBatch:
    """The next staged rows of a run, read before the write transaction that publishes them."""

    after: int  # the run's published_seq when they were read
    last_seq: int
    rows: list[Row]


def next_staged(session: Session, run_id: str, *, after: int, limit: int) -> StagedBatch | None:
    """The next ``limit`` staged rows of a run (after seq ``after``); None when none are left.

    Read-only: only the run's owner writes its staged rows, so they can be read (and their JSON
    decoded) before the write transaction, which then holds the lock for the writing alone."""
    staged = session.execute(
        select(StagedRow.seq, StagedRow.line, StagedRow.data, StagedRow.provided)
        .where(StagedRow.run_id == run_id, StagedRow.seq > after)
        .order_by(StagedRow.seq)
        .limit(limit)
    ).all()
    if not staged:
        return None
    rows = [
        Row(line, data, frozenset(provided), data.pop("external_ids", None) or []) for _, line, data, provided in staged
    ]
    return StagedBatch(after, staged[-1][0], rows)


def publish_batch(session: Session, run: ImportRun, batch: StagedBatch, *, now: datetime) -> Published:
    """Publish a batch of ``run``'s staged rows (read by :func:`next_staged` after ``run.published_seq``).

    Each row is decided again against the prospects as they are now (locked on PostgreSQL): a row
    that another change has made impossible since it was staged is skipped and reported as a conflict."""
    if batch.after != run.published_seq:
        raise ImportTakenOver(f"import {run.id} moved on while this process was publishing it")
    rows = batch.rows
    by_id, by_email = _existing(session, rows, lock=session.get_bind().dialect.name == "postgresql")
    known = _known_notes(session, rows, by_id)
    done = Published(last_seq=batch.last_seq)
    label, source_name = run.label, run.file
    entries: list[dict[str, Any]] = []
    new_rows: list[tuple[Row, dict[str, Any]]] = []
    untouched: list[str] = []
    external: list[dict[str, Any]] = []
    tagging: list[tuple[str, str]] = []  # (prospect id, tag): the rows' tags columns, added after the inserts
    for row in rows:
        decision = decide(row, by_id=by_id, by_email=by_email, known_notes=known)
        if decision.action in ("update", "unchanged"):
            external += _external_rows(row, str(decision.target), now)
            tagging += [(str(decision.target), tag) for tag in row.data.get("tags") or ()]
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
                done.preview.append({"action": "update", "id": prospect.id, "name": prospect.name, "changes": shown})
    _give_ids(session, run.id, new_rows)
    inserts = []
    for row, values in new_rows:
        note = fresh_note(values.pop("notes", None))
        tagging += [(values["id"], tag) for tag in values.pop("tags", None) or ()]
        external += _external_rows(row, values["id"], now)
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
    totals.add_new_prospects(session, inserts)
    if external:  # other systems' ids of the records published: the next import finds them
        bulk_insert(session, Base.metadata.tables[ProspectExternalId.__tablename__], _new_external(session, external))
    activity.record_many(session, entries)
    # Published rows are staged no longer (no separate clean-up transactions for them).
    session.execute(
        delete(StagedRow)
        .where(StagedRow.run_id == run.id, StagedRow.seq <= batch.last_seq)
        .execution_options(synchronize_session=False)
    )
    done.tagged = bulk.add_tags(session, tagging)
    return done


def _new_external(session: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The external ids not kept yet (the first of a batch for each; one kept before stays as it is)."""
    fresh: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        fresh.setdefault((row["source"], row["external_id"]), row)
    by_source: dict[str, list[str]] = {}
    for source, value in fresh:
        by_source.setdefault(source, []).append(value)
    for source, values in by_source.items():
        for start in range(0, len(values), 500):
            kept = session.scalars(
                select(ProspectExternalId.external_id).where(
                    ProspectExternalId.source == source, ProspectExternalId.external_id.in_(values[start : start + 500])
                )
            )
            for value in kept:
                fresh.pop((source, value), None)
    return list(fresh.values())


def _external_rows(row: Row, prospect_id: str, now: datetime) -> list[dict[str, Any]]:
    return [
        {"source": source, "external_id": value, "prospect_id": prospect_id, "owner": bool(owner), "created_at": now}
        for source, value, owner in row.external
    ]


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
    "Decision", "ImportFileError", "ImportRejected", "ImportReport", "ImportTakenOver", "Row", "StagedBatch", "Stager",
    "decide", "next_staged", "publish_batch", "write_staged",
]  # fmt: skip
