"""Bulk actions on prospects: tags, owner (one, or several in turn), tier, stage (with a reason),
do-not-contact, for a list of ids or every prospect a list filter matches; a preview of what
would change and who would be skipped and why; Undo.

The rules (the one place for the CLI, the API, the prospects page and the worker):

* a selection is frozen when the operation is made: its prospects' ids are written, in order, as
  the operation's items (one ``INSERT ... SELECT``), so a prospect added later is not touched and
  a run that stops half-way resumes where it stopped;
* the items are applied in batches of :data:`BATCH`, each batch in its own short transaction
  (other writers wait at most one batch), and each item keeps the values it replaced (``before``)
  in the same transaction as the change, so Undo restores exactly what this operation changed;
* a stage move goes through :func:`leadline.prospects.service.move_stage` (the reason required,
  recorded in the timeline; impossible moves skipped with the service's words), do-not-contact
  through :func:`~leadline.prospects.service.set_do_not_contact` (which stops sequences);
* an owner must be a user; a selection larger than :data:`BACKGROUND_OVER` runs in the worker
  (job ``prospects.bulk_run``) and shows its progress; Undo of a large one runs there too;
* do-not-contact cannot be undone (its mark stopped sequences), so an operation that set it has
  no Undo.

This module holds the rules (functions taking a session) and the two runners (:func:`run`,
:func:`run_undo`), which open one unit of work per batch, as a flow does.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any, NamedTuple

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from leadline import jobs
from leadline.analytics import totals
from leadline.auth.lookup import require_user
from leadline.clock import utc_now
from leadline.config import Settings
from leadline.db import bulk_insert, unit_of_work
from leadline.errors import Conflict, Invalid, NotFound
from leadline.ids import new_id
from leadline.prospects import queries
from leadline.prospects import service as prospects_service
from leadline.prospects.models import BulkOperation, BulkOperationItem, Prospect, ProspectTag
from leadline.prospects.schemas import BulkOperationRead, BulkPreview, BulkRequest, BulkSkip

#: Rows per write transaction.
BATCH = 500
#: Selections larger than this run in the background (the worker).
BACKGROUND_OVER = 500
#: An operation still "running" this long after its last batch was left by a stopped process.
STALE_AFTER = timedelta(minutes=5)
FINISHED = ("done", "undone", "failed")


class BulkOperationNotFound(NotFound):
    pass


class BulkNotUndoable(Conflict):
    pass


# --- tags ---------------------------------------------------------------------------------------


def add_tags(session: Session, pairs: Iterable[tuple[str, str]]) -> dict[str, int]:
    """Add (prospect id, tag) pairs that are not there yet (an import's ``tags`` column): how many
    prospects each tag was added to. Tags are only ever added here, never removed."""
    wanted = list(dict.fromkeys(pairs))
    if not wanted:
        return {}
    have: set[tuple[str, str]] = set()
    ids = list(dict.fromkeys(pid for pid, _ in wanted))
    for start in range(0, len(ids), BATCH):
        query = select(ProspectTag.prospect_id, ProspectTag.tag).where(
            ProspectTag.prospect_id.in_(ids[start : start + BATCH])
        )
        have.update((pid, tag) for pid, tag in session.execute(query))
    fresh = [{"prospect_id": pid, "tag": tag} for pid, tag in wanted if (pid, tag) not in have]
    bulk_insert(session, ProspectTag.__table__, fresh)  # type: ignore[arg-type]
    added: dict[str, int] = defaultdict(int)
    for row in fresh:
        added[row["tag"]] += 1
    return dict(added)


def all_tags(session: Session, *, limit: int = 200) -> list[tuple[str, int]]:
    """Tags in use, most used first, with how many prospects carry each."""
    count = func.count().label("n")
    query = select(ProspectTag.tag, count).group_by(ProspectTag.tag).order_by(count.desc(), ProspectTag.tag)
    return [(tag, n) for tag, n in session.execute(query.limit(limit))]


# --- the selection ------------------------------------------------------------------------------


def _selection(request: BulkRequest) -> tuple[str, dict[str, Any]]:
    """WHERE clause (over ``prospects``) and parameters of the selection."""
    if request.ids:
        names = {f"id{index}": value for index, value in enumerate(request.ids)}
        return " WHERE id IN (" + ", ".join(f":{name}" for name in names) + ")", names
    return queries.where_clause(request.filters.query())


def _and(where: str, condition: str) -> str:
    return f"{where} AND ({condition})" if where else f" WHERE ({condition})"


def _count(session: Session, where: str, params: dict[str, Any]) -> int:
    return int(session.execute(text(f"SELECT count(*) FROM prospects{where}"), params).scalar_one())


def _sample(session: Session, where: str, params: dict[str, Any], limit: int = 5) -> list[str]:
    rows = session.execute(text(f"SELECT id FROM prospects{where} ORDER BY id LIMIT {int(limit)}"), params)
    return [row[0] for row in rows]


def _tagged(tag_param: str) -> str:
    return f"EXISTS (SELECT 1 FROM prospect_tags WHERE prospect_tags.prospect_id = prospects.id AND tag = :{tag_param})"


def _owner_value(request: BulkRequest) -> str | None:
    return (request.owner or "").strip().lower() or None


def check_owners(session: Session, request: BulkRequest) -> None:
    """Every owner named must be a user (an owner is a user's email)."""
    field = "owners" if request.owners else "owner"
    single = _owner_value(request)
    for email in request.owners or ([single] if single else []):
        require_user(session, email, field=field)


def _changes(request: BulkRequest, params: dict[str, Any]) -> list[tuple[str, str]]:
    """(condition meaning "this one would not change", skip reason) for each change asked."""
    unchanged: list[tuple[str, str]] = []
    for index, tag in enumerate(request.add_tags):
        params[f"add{index}"] = tag
        unchanged.append((_tagged(f"add{index}"), f"already tagged {tag!r}"))
    for index, tag in enumerate(request.remove_tags):
        params[f"rm{index}"] = tag
        unchanged.append((f"NOT {_tagged(f'rm{index}')}", f"not tagged {tag!r}"))
    if request.owner is not None:
        params["new_owner"] = _owner_value(request) or ""
        owner = params["new_owner"]
        unchanged.append(("COALESCE(owner, '') = :new_owner", f"already owned by {owner}" if owner else "no owner"))
    if request.tier is not None:
        params["new_tier"] = request.tier
        unchanged.append(("tier = :new_tier", f"already tier {request.tier}"))
    if request.stage is not None:
        params["new_stage"] = request.stage
        unchanged.append(("sales_status = :new_stage", f"already in stage {request.stage}"))
    if request.do_not_contact:
        unchanged.append(("do_not_contact = :dnc_true", "already do-not-contact"))
        params["dnc_true"] = True
    return unchanged


def preview(session: Session, request: BulkRequest) -> BulkPreview:
    """What ``request`` would do, changing nothing: how many are selected, how many would change,
    and who would be skipped (counted, with a few ids) and why."""
    check_owners(session, request)
    where, params = _selection(request)
    total = _count(session, where, params)
    skipped: list[BulkSkip] = []
    if request.ids and total < len(request.ids):
        found = {row[0] for row in session.execute(text(f"SELECT id FROM prospects{where}"), params)}
        missing = [value for value in request.ids if value not in found]
        skipped.append(BulkSkip(reason="no such prospect", count=len(missing), sample=missing[:5]))
    unchanged = _changes(request, params)
    for condition, reason in unchanged:
        count = _count(session, _and(where, condition), params)
        if count:
            skipped.append(
                BulkSkip(reason=reason, count=count, sample=_sample(session, _and(where, condition), params))
            )
    if request.owners:
        will_change = total
    else:
        everything = " AND ".join(f"({condition})" for condition, _ in unchanged)
        will_change = total - (_count(session, _and(where, everything), params) if unchanged else 0)
    return BulkPreview(
        total=len(request.ids) if request.ids else total,
        will_change=will_change,
        skipped=skipped,
        sample=_sample(session, where, params, limit=10),
        background=total > BACKGROUND_OVER,
    )


# --- making and reading operations --------------------------------------------------------------


def create(session: Session, request: BulkRequest, *, actor: str) -> BulkOperation:
    """Record the operation and freeze its selection (the items, in order). Nothing changes yet."""
    if request.dry_run:
        raise Invalid("a dry run changes nothing: use preview()", field="dryRun")
    check_owners(session, request)
    operation = BulkOperation(
        id=new_id("bulk"),
        actor=actor,
        request={**request.changes(), **_selection_record(request)},
        status="queued",
    )
    session.add(operation)
    session.flush()
    if request.ids:
        rows = [
            {"operation_id": operation.id, "position": index, "target_id": value, "before": None, "outcome": None}
            for index, value in enumerate(request.ids, start=1)
        ]
        bulk_insert(session, BulkOperationItem.__table__, rows)  # type: ignore[arg-type]
        operation.total = len(rows)
    else:
        where, params = _selection(request)
        session.execute(
            text(
                "INSERT INTO bulk_operation_items (operation_id, position, target_id) "
                f"SELECT :operation, row_number() OVER (ORDER BY id), id FROM prospects{where}"
            ),
            {**params, "operation": operation.id},
        )
        operation.total = int(
            session.execute(
                select(func.count())
                .select_from(BulkOperationItem)
                .where(BulkOperationItem.operation_id == operation.id)
            ).scalar_one()
        )
    return operation


def _selection_record(request: BulkRequest) -> dict[str, Any]:
    if request.ids:
        return {"ids": len(request.ids)}
    return {"filters": request.filters.model_dump(mode="json", by_alias=True, exclude_none=True)}


def get(session: Session, operation_id: str) -> BulkOperation:
    operation = session.get(BulkOperation, operation_id)
    if operation is None:
        raise BulkOperationNotFound(f"no bulk operation {operation_id!r}", field="id")
    return operation


def undoable(operation: BulkOperation) -> bool:
    return operation.status == "done" and not operation.request.get("doNotContact") and operation.changed > 0


def read(session: Session, operation_id: str) -> BulkOperationRead:
    """The operation, its progress and its skips (counted by reason, with a few ids)."""
    operation = get(session, operation_id)
    result = BulkOperationRead.model_validate(operation)
    result.undoable = undoable(operation)
    query = (
        select(BulkOperationItem.outcome, func.count(), func.min(BulkOperationItem.target_id))
        .where(BulkOperationItem.operation_id == operation.id, BulkOperationItem.outcome.like("skipped:%"))
        .group_by(BulkOperationItem.outcome)
        .order_by(func.count().desc())
        .limit(20)
    )
    result.skips = [
        BulkSkip(reason=(outcome or "").removeprefix("skipped: "), count=count, sample=[first])
        for outcome, count, first in session.execute(query)
    ]
    return result


def recent(session: Session, *, limit: int = 10) -> list[BulkOperation]:
    return list(session.scalars(select(BulkOperation).order_by(BulkOperation.created_at.desc()).limit(limit)))


# --- applying a batch ---------------------------------------------------------------------------


def _next_items(session: Session, operation_id: str, outcome: str | None, after: int) -> list[Any]:
    """The next batch of items (rows with ``position``, ``target_id``, ``before``) after position
    ``after`` not yet applied (``outcome`` None) or, for Undo, applied and changed. (``after`` keeps
    each batch's read on the primary key from where the last one stopped.)"""
    condition = BulkOperationItem.outcome.is_(None) if outcome is None else BulkOperationItem.outcome == outcome
    query = (
        select(BulkOperationItem.position, BulkOperationItem.target_id, BulkOperationItem.before)
        .where(BulkOperationItem.operation_id == operation_id, BulkOperationItem.position > after, condition)
        .order_by(BulkOperationItem.position)
        .limit(BATCH)
    )
    return list(session.execute(query))


def _save_items(session: Session, operation_id: str, results: list[tuple[int, str | None, str]]) -> None:
    """Each item's values before and outcome: one driver-level executemany (this runs for every row)."""
    connection = session.connection()
    mark = "?" if connection.dialect.name == "sqlite" else "%s"
    connection.exec_driver_sql(
        f"UPDATE bulk_operation_items SET before = {mark}, outcome = {mark} "
        f"WHERE operation_id = {mark} AND position = {mark}",
        [(before, outcome, operation_id, position) for position, before, outcome in results],
    )


def _set_column(session: Session, column: str, groups: dict[Any, list[str]]) -> None:
    now = utc_now()
    for value, ids in groups.items():
        # the funnel counts by tier, the conversion table by tier, trade and grid-health band
        with totals.changing(session, prospects=ids if column in totals.PROSPECT_DIMENSIONS else ()):
            session.execute(
                update(Prospect)
                .where(Prospect.id.in_(ids))
                .values({column: value, "updated_at": now})
                .execution_options(synchronize_session=False)
            )


class _Current(NamedTuple):
    id: str
    owner: str | None
    tier: int
    sales_status: str
    do_not_contact: bool


def apply_batch(session: Session, operation: BulkOperation, items: list[Any]) -> int:
    """Apply the operation to ``items`` (one batch), keeping each one's values before. Returns how
    many changed."""
    request = operation.request
    add_tags: list[str] = request.get("addTags", [])
    remove_tags: list[str] = request.get("removeTags", [])
    owners: list[str] = request.get("owners", [])
    ids = [item.target_id for item in items]
    # bare driver reads: these run for every row of a selection of any size
    connection = session.connection()
    mark = "?" if connection.dialect.name == "sqlite" else "%s"
    marks = ", ".join([mark] * len(ids))
    current = {
        row[0]: _Current(*row)
        for row in connection.exec_driver_sql(
            f"SELECT id, owner, tier, sales_status, do_not_contact FROM prospects WHERE id IN ({marks})", tuple(ids)
        )
    }
    tagged: set[tuple[str, str]] = set()
    if add_tags or remove_tags:
        names = add_tags + remove_tags
        query = (
            f"SELECT prospect_id, tag FROM prospect_tags WHERE prospect_id IN ({marks}) "
            f"AND tag IN ({', '.join([mark] * len(names))})"
        )
        tagged = {(row[0], row[1]) for row in connection.exec_driver_sql(query, (*ids, *names))}
    befores: dict[int, dict[str, Any]] = {}
    skips: dict[int, list[str]] = defaultdict(list)
    new_tags: list[dict[str, Any]] = []
    gone_tags: list[tuple[str, str]] = []
    owner_groups: dict[str | None, list[str]] = defaultdict(list)
    tier_groups: dict[int, list[str]] = defaultdict(list)
    for item in items:
        row = current.get(item.target_id)
        if row is None:
            skips[item.position].append("no such prospect")
            continue
        before: dict[str, Any] = {}
        for tag in add_tags:
            if (row.id, tag) not in tagged:
                new_tags.append({"prospect_id": row.id, "tag": tag})
                before.setdefault("addedTags", []).append(tag)
        for tag in remove_tags:
            if (row.id, tag) in tagged:
                gone_tags.append((row.id, tag))
                before.setdefault("removedTags", []).append(tag)
        if owners or "owner" in request:
            target = owners[(item.position - 1) % len(owners)] if owners else (request["owner"] or "").lower() or None
            if row.owner != target:
                before["owner"] = row.owner
                owner_groups[target].append(row.id)
        if "tier" in request and row.tier != request["tier"]:
            before["tier"] = row.tier
            tier_groups[request["tier"]].append(row.id)
        befores[item.position] = before
    if new_tags:
        bulk_insert(session, ProspectTag.__table__, new_tags)  # type: ignore[arg-type]
    for tag in set(tag for _, tag in gone_tags):
        session.execute(
            delete(ProspectTag).where(
                ProspectTag.tag == tag, ProspectTag.prospect_id.in_([pid for pid, t in gone_tags if t == tag])
            )
        )
    _set_column(session, "owner", owner_groups)
    _set_column(session, "tier", tier_groups)
    if "stage" in request or request.get("doNotContact"):
        _one_by_one(session, operation, items, current, befores, skips)
    results: list[tuple[int, str | None, str]] = []
    changed = 0
    texts: dict[tuple[Any, ...], str] = {}  # most rows of a batch had the same values before
    for item in items:
        before = befores.get(item.position) or {}
        if before:
            changed += 1
            key = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in before.items())
            if key not in texts:
                texts[key] = json.dumps(before)
            results.append((item.position, texts[key], "changed"))
        elif skips.get(item.position):
            results.append((item.position, None, "skipped: " + "; ".join(skips[item.position])[:190]))
        else:
            results.append((item.position, None, "unchanged"))
    _save_items(session, operation.id, results)
    operation.done += len(items)
    operation.changed += changed
    operation.skipped += sum(1 for _, _, outcome in results if outcome.startswith("skipped"))
    return changed


def _one_by_one(
    session: Session,
    operation: BulkOperation,
    items: list[Any],
    current: dict[str, Any],
    befores: dict[int, dict[str, Any]],
    skips: dict[int, list[str]],
) -> None:
    """Stage moves and do-not-contact marks, through the prospects service (its rules, its timeline)."""
    request = operation.request
    stage, reason = request.get("stage"), request.get("reason") or ""
    for item in items:
        row = current.get(item.target_id)
        if row is None:
            continue
        before = befores[item.position]
        if stage is not None:
            if row.sales_status == stage:
                skips[item.position].append(f"already in stage {stage}")
            else:
                try:
                    prospects_service.move_stage(session, row.id, stage, reason=reason, actor=operation.actor)
                    before["stage"] = row.sales_status
                except prospects_service.StageMoveNotAllowed as refused:
                    skips[item.position].append(refused.message)
        if request.get("doNotContact"):
            prospect = prospects_service.get(session, row.id)
            why = request.get("reason") or "marked in bulk"
            if prospects_service.set_do_not_contact(session, prospect, why, actor=operation.actor):
                before["doNotContact"] = False
            else:
                skips[item.position].append("already do-not-contact")


# --- undo ---------------------------------------------------------------------------------------


def undo_batch(session: Session, operation: BulkOperation, items: list[Any]) -> None:
    """Put back the values ``items`` had before the operation."""
    added: dict[str, list[str]] = defaultdict(list)
    removed: list[dict[str, Any]] = []
    owner_groups: dict[str | None, list[str]] = defaultdict(list)
    tier_groups: dict[int, list[str]] = defaultdict(list)
    stages: dict[str, str] = {}
    for item in items:
        before = json.loads(item.before or "{}")
        for tag in before.get("addedTags", []):
            added[tag].append(item.target_id)
        removed.extend({"prospect_id": item.target_id, "tag": tag} for tag in before.get("removedTags", []))
        if "owner" in before:
            owner_groups[before["owner"]].append(item.target_id)
        if "tier" in before:
            tier_groups[before["tier"]].append(item.target_id)
        if "stage" in before:
            stages[item.target_id] = before["stage"]
    for tag, ids in added.items():
        session.execute(delete(ProspectTag).where(ProspectTag.tag == tag, ProspectTag.prospect_id.in_(ids)))
    if removed:
        present = {
            (row[0], row[1])
            for row in session.execute(
                select(ProspectTag.prospect_id, ProspectTag.tag).where(
                    ProspectTag.prospect_id.in_({r["prospect_id"] for r in removed})
                )
            )
        }
        existing = set(prospects_service.get_many(session, {r["prospect_id"] for r in removed}))
        rows = [r for r in removed if (r["prospect_id"], r["tag"]) not in present and r["prospect_id"] in existing]
        bulk_insert(session, ProspectTag.__table__, rows)  # type: ignore[arg-type]
    _set_column(session, "owner", owner_groups)
    _set_column(session, "tier", tier_groups)
    if stages:
        found = prospects_service.get_many(session, set(stages))
        for prospect_id, stage in stages.items():
            prospect = found.get(prospect_id)
            if prospect is not None and prospect.sales_status != stage:
                prospects_service.set_stage(
                    session,
                    prospect,
                    stage,
                    actor=operation.actor,
                    manual=True,
                    reason=f"undo of bulk operation {operation.id}",
                )
    table = BulkOperationItem.__table__
    session.execute(
        update(table)  # type: ignore[arg-type]
        .where(table.c.operation_id == operation.id, table.c.position.in_([item.position for item in items]))
        .values(outcome="undone")
    )
    operation.undone += len(items)


def begin_undo(session: Session, operation_id: str, *, actor: str) -> BulkOperation:
    """Mark the operation as being undone (refused when it cannot be: still running, already undone,
    nothing changed, or it marked do-not-contact)."""
    operation = session.get(BulkOperation, operation_id, with_for_update=True)
    if operation is None:
        raise BulkOperationNotFound(f"no bulk operation {operation_id!r}", field="id")
    if operation.status in ("undoing", "undone"):
        raise BulkNotUndoable(f"bulk operation {operation_id} is already {operation.status}", field="id")
    if operation.status != "done":
        raise BulkNotUndoable(f"bulk operation {operation_id} is {operation.status}; wait until it is done", field="id")
    if operation.request.get("doNotContact"):
        raise BulkNotUndoable("a do-not-contact mark cannot be undone in bulk (it stopped sequences)", field="id")
    if operation.changed == 0:
        raise BulkNotUndoable(f"bulk operation {operation_id} changed nothing", field="id")
    operation.status = "undoing"
    return operation


# --- the runners (one unit of work per batch) ---------------------------------------------------

Progress = Callable[[BulkOperation], None]


def start(settings: Settings, request: BulkRequest, *, actor: str, background: bool | None = None,
          progress: Progress | None = None) -> str:  # fmt: skip
    """Make the operation and run it: here when small (or ``background`` is False), else in the
    worker. Returns its id."""
    with unit_of_work(settings) as session:
        operation = create(session, request, actor=actor)
        operation_id = operation.id
        in_background = operation.total > BACKGROUND_OVER if background is None else background
        if in_background:
            jobs.defer(session, "prospects.bulk_run", operation_id)
    if not in_background:
        run(settings, operation_id, progress=progress)
    return operation_id


def undo(settings: Settings, operation_id: str, *, actor: str, background: bool | None = None,
         progress: Progress | None = None) -> None:  # fmt: skip
    with unit_of_work(settings) as session:
        operation = begin_undo(session, operation_id, actor=actor)
        in_background = operation.changed > BACKGROUND_OVER if background is None else background
        if in_background:
            jobs.defer(session, "prospects.bulk_undo", operation_id)
    if not in_background:
        run_undo(settings, operation_id, progress=progress)


def run(settings: Settings, operation_id: str, *, progress: Progress | None = None) -> None:
    """Apply the operation batch by batch; resumable (items already applied are left alone)."""
    after = 0
    while True:
        try:
            with unit_of_work(settings) as session:
                operation = session.get(BulkOperation, operation_id, with_for_update=True)
                if operation is None or operation.status not in ("queued", "running"):
                    return
                items = _next_items(session, operation_id, None, after)
                if items:
                    operation.status = "running"
                    apply_batch(session, operation, items)
                    after = items[-1].position
                else:
                    operation.status = "done"
                    operation.finished_at = utc_now()
        except Exception as error:  # the batch rolled back: the operation stops there, saying why
            with unit_of_work(settings) as session:
                failed = get(session, operation_id)
                failed.status, failed.error, failed.finished_at = "failed", str(error)[:500], utc_now()
            raise
        if progress is not None:
            progress(operation)
        if not items:
            return


def run_undo(settings: Settings, operation_id: str, *, progress: Progress | None = None) -> None:
    after = 0
    while True:
        with unit_of_work(settings) as session:
            operation = session.get(BulkOperation, operation_id, with_for_update=True)
            if operation is None or operation.status != "undoing":
                return
            items = _next_items(session, operation_id, "changed", after)
            if items:
                undo_batch(session, operation, items)
                after = items[-1].position
            else:
                operation.status = "undone"
                operation.undone_at = utc_now()
        if progress is not None:
            progress(operation)
        if not items:
            return


def resume_stale(settings: Settings) -> list[str]:
    """Operations left half-way by a stopped process (no batch for :data:`STALE_AFTER`): run on."""
    with unit_of_work(settings, readonly=True) as session:
        query = select(BulkOperation.id, BulkOperation.status).where(
            BulkOperation.status.in_(("queued", "running", "undoing")),
            BulkOperation.updated_at < utc_now() - STALE_AFTER,
        )
        stale = [(row[0], row[1]) for row in session.execute(query)]
    for operation_id, status in stale:
        (run_undo if status == "undoing" else run)(settings, operation_id)
    return [operation_id for operation_id, _ in stale]
