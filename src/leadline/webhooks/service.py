"""Storing SendGrid's events, then applying them to emails, prospects and the timeline.
(Inbound replies are ``webhooks/replies.py``.)

``ingest`` stores a batch (new events only, by ``(source, sg_event_id)``) and is what
the endpoint commits before it answers. ``apply`` works on stored events: it matches
each to its email, recomputes the email's state from *all* of its events
(``events.email_state``), writes a timeline entry per new event, updates suppressions
and counters, and raises notifications. Applying is idempotent: an event is applied
once (``applied_at``) and a recomputation from the same set gives the same state.
"""

from __future__ import annotations

import functools
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Text, cast, func, select, update
from sqlalchemy.orm import Session

from leadline.activity import service as activity
from leadline.clock import utc_now
from leadline.db import Base, bulk_update, insert_new, is_unavailable, settings_of
from leadline.emails import service as emails
from leadline.ids import new_id
from leadline.notify import service as notify
from leadline.senders import service as senders
from leadline.sequences import stops as sequences
from leadline.tasks import service as tasks
from leadline.webhooks import clicks as click_rule
from leadline.webhooks import events as ev
from leadline.webhooks.models import InboundMessage, WebhookBatch, WebhookEvent

SOURCE = "sendgrid"
log = logging.getLogger("leadline.webhooks")


#: Events applied per transaction by every caller (a webhook post, replay, import, the sweep): each
#: write transaction stays short, so other writers never wait long behind a big batch.
APPLY_BATCH = 500


@dataclass
class IngestResult:
    batch_id: str
    received: int
    new_ids: list[str]
    #: Events of this batch stored by an earlier delivery but never applied (the process that
    #: stored them died, or its database went away, before it applied them): SendGrid's retry
    #: applies them now rather than leaving them to the sweep.
    unapplied_ids: list[str] = field(default_factory=list)
    #: The new events' payloads as stored (by event row id): applying them need not read them back.
    payloads: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def to_apply(self) -> list[str]:
        return self.new_ids + self.unapplied_ids

    @property
    def duplicates(self) -> int:
        return self.received - len(self.new_ids)


@dataclass
class Post:
    """A post's events ready to be stored: one row per event key (the same event twice in one post
    counts once), in key order, all of one batch."""

    batch_id: str
    received: int
    rows: list[dict[str, Any]]


def receive(items: list[dict[str, Any]], *, source: str = SOURCE) -> Post:
    """The rows of ``webhook_events`` that ``items`` make (nothing written yet)."""
    batch_id = new_id("whb")
    now = utc_now()
    rows: dict[str, dict[str, Any]] = {}
    for item in items:
        key = ev.event_key(item)
        if key in rows:
            continue  # the same event twice in one batch
        rows[key] = {
            "id": new_id("evt"),
            "source": source,
            "event_id": key,
            "event_type": ev.event_type(item),
            "email": ev.address(item),
            "occurred_at": ev.occurred_at(item, now),
            "payload": item,
            "email_activity_id": None,
            "status": "received",
            "error": None,
            "batch_id": batch_id,
            "received_at": now,
            "applied_at": None,
        }
    # One order for every writer: two batches sharing events then never wait on each other in a cycle.
    return Post(batch_id=batch_id, received=len(items), rows=[rows[key] for key in sorted(rows)])


def ingest(session: Session, items: list[dict[str, Any]], *, source: str = SOURCE) -> IngestResult:
    """Store a batch of raw events. Duplicates (same ``sg_event_id``) are recognised and skipped."""
    post = receive(items, source=source)
    result = _store(session, post, post.rows)
    result.received = post.received
    _count_batch(session, post, len(result.new_ids), first=True)
    return result


def _store(session: Session, post: Post, rows: list[dict[str, Any]]) -> IngestResult:
    """Insert ``rows`` as they are (those whose key is stored already are skipped); the new ones, and
    those of the others that an earlier delivery stored but never applied."""
    new_ids = insert_new(session, Base.metadata.tables["webhook_events"], rows, unique=("source", "event_id"))
    inserted = set(new_ids)
    payloads = {row["id"]: row["payload"] for row in rows if row["id"] in inserted}
    return IngestResult(
        batch_id=post.batch_id, received=len(rows), new_ids=new_ids, payloads=payloads,
        unapplied_ids=_unapplied(session, [row["event_id"] for row in rows if row["id"] not in inserted],
                                 source=rows[0]["source"] if rows else SOURCE),
    )  # fmt: skip


def _unapplied(session: Session, keys: list[str], *, source: str) -> list[str]:
    """Of these event keys (stored by an earlier delivery), the events still waiting to be applied."""
    found: list[str] = []
    for start in range(0, len(keys), 1000):
        found += session.scalars(
            select(WebhookEvent.id).where(
                WebhookEvent.source == source, WebhookEvent.event_id.in_(keys[start : start + 1000]),
                WebhookEvent.status == "received", WebhookEvent.applied_at.is_(None),
            )
        )  # fmt: skip
    return found


def _count_batch(session: Session, post: Post, new: int, *, first: bool) -> None:
    """The post's row in ``webhook_batches``: made with its first events, counted up with each
    further part stored (so it always says what is committed)."""
    if first:
        session.add(
            WebhookBatch(
                id=post.batch_id, source=post.rows[0]["source"] if post.rows else SOURCE, events=post.received,
                new_events=new, duplicates=post.received - new, received_at=utc_now(),
            )
        )  # fmt: skip
    elif new:
        session.execute(
            update(WebhookBatch)
            .where(WebhookBatch.id == post.batch_id)
            .values(new_events=WebhookBatch.new_events + new, duplicates=WebhookBatch.duplicates - new)
            .execution_options(synchronize_session=False)
        )


def ingest_and_apply(
    session: Session, post: Post, rows: list[dict[str, Any]], *, first: bool, actor: str = "webhook:sendgrid"
) -> tuple[IngestResult, ApplyReport | None]:
    """Store ``rows`` (a part of ``post``, at most :data:`APPLY_BATCH`) and apply them in the same
    transaction: each new event is inserted with its outcome (matched and applied, unmatched,
    ignored) under a savepoint, then applied, together with those an earlier delivery stored but
    never applied. If applying fails, the savepoint is rolled back (the applying, its totals' moves
    and the after-commit work it queued) and the events are stored as received instead, for the
    sweep or a replay (the report is then None). A database that cannot be reached is raised."""
    queued = len(session.info.get("after_commit", []))
    try:
        with session.begin_nested():
            result, report = _store_applied(session, post, rows, actor=actor)
    except Exception as error:
        if is_unavailable(error):
            raise
        del session.info.get("after_commit", [])[queued:]
        log.exception("applying webhook batch %s failed; the events are stored for replay", post.batch_id)
        result, report = _store(session, post, rows), None
    _count_batch(session, post, len(result.new_ids), first=first)
    return result, report


def _store_applied(
    session: Session, post: Post, rows: list[dict[str, Any]], *, actor: str
) -> tuple[IngestResult, ApplyReport]:
    pending = [
        _Pending(row["id"], row["event_id"], row["event_type"], row["email"], row["occurred_at"], row["payload"],
                 None, fresh=True)
        for row in rows
    ]  # fmt: skip
    _match(session, pending)
    now = utc_now()
    written = []
    for row, event in zip(rows, pending, strict=True):
        outcome = _outcome(event)
        written.append({**row, "email_activity_id": event.email_activity_id, "status": outcome,
                        "applied_at": now if outcome in ("applied", "ignored") else None})  # fmt: skip
    result = _store(session, post, written)
    inserted = set(result.new_ids)
    found = [event for event in pending if event.id in inserted]
    if result.unapplied_ids:
        earlier = _load_pending(session, result.unapplied_ids, {})
        _match(session, earlier)
        found += earlier
    found.sort(key=lambda r: (r.occurred_at, r.id))
    return result, _apply_rows(session, found, actor=actor)


# --- applying --------------------------------------------------------------------------------


@dataclass
class ApplyReport:
    applied: int = 0
    unmatched: int = 0
    ignored: int = 0
    failed: int = 0
    emails: set[str] = field(default_factory=set)


@dataclass
class _Pending:
    """A stored event on its way to being applied (a plain row: this path handles thousands a second)."""

    id: str
    event_id: str
    event_type: str
    email: str | None
    occurred_at: datetime
    payload: dict[str, Any]
    email_activity_id: str | None
    newly_matched: bool = False
    #: Inserted in this transaction with its outcome (status, email, applied time): not marked again.
    fresh: bool = False


def apply(
    session: Session,
    event_ids: Sequence[str],
    *,
    actor: str = "webhook:sendgrid",
    payloads: Mapping[str, dict[str, Any]] | None = None,
) -> ApplyReport:
    """Apply stored events that are not applied yet (others in ``event_ids`` are left alone).
    ``payloads``: those of the events already in hand (``IngestResult.payloads``), not decoded again."""
    if not event_ids:
        return ApplyReport()
    rows = _load_pending(session, event_ids, payloads or {})
    _match(session, rows)
    return _apply_rows(session, rows, actor=actor)


def _outcome(row: _Pending) -> str:
    """What applying makes of an event: applied to its email, ignored (account events and the like:
    kept, nothing to apply them to), or unmatched (kept for a replay)."""
    if row.email_activity_id is not None:
        return "applied"
    if row.email is None and row.event_type not in ev.KNOWN_TYPES - {"account_status_change"}:
        return "ignored"
    return "unmatched"


def _apply_rows(session: Session, rows: list[_Pending], *, actor: str) -> ApplyReport:
    """Apply matched events (in time order). Those inserted with their outcome (``fresh``) are
    marked already; the others are marked here."""
    report = ApplyReport()
    by_email: dict[str, list[_Pending]] = defaultdict(list)
    unmatched, ignored = [], []
    for row in rows:
        outcome = _outcome(row)
        if outcome == "applied":
            assert row.email_activity_id is not None
            by_email[row.email_activity_id].append(row)
        elif outcome == "ignored":
            ignored.append(row)
        else:
            unmatched.append(row)
    _set_status(session, [r.id for r in ignored if not r.fresh], "ignored", applied=True)
    _set_status(session, [r.id for r in unmatched if not r.fresh], "unmatched", applied=False)
    report.ignored, report.unmatched = len(ignored), len(unmatched)
    prospects: set[str] = set()
    if by_email:
        try:
            with session.begin_nested():
                prospects = _apply_emails(session, by_email, actor=actor)
            report.applied += sum(len(rows) for rows in by_email.values())
            report.emails |= set(by_email)
        except Exception:
            # Something in this batch cannot be applied: go email by email, keep the rest.
            for email_id in sorted(by_email):
                new_rows = by_email[email_id]
                try:
                    with session.begin_nested():
                        prospects |= _apply_emails(session, {email_id: new_rows}, actor=actor)
                except Exception as error:  # kept for replay (`leadline webhooks replay --failed`)
                    _set_status(session, [r.id for r in new_rows], "failed", applied=False,
                                error=f"{type(error).__name__}: {error}"[:2000])  # fmt: skip
                    report.failed += len(new_rows)
                    continue
                report.applied += len(new_rows)
                report.emails.add(email_id)
    emails.recount_many(session, prospects)
    judged = [e for e in report.emails if any(r.event_type in ("bounce", "spamreport") for r in by_email[e])]
    if judged:  # in this very transaction: a sender over its thresholds stops at once, in every process
        senders.judge(session, sorted(senders.senders_of(session, judged)), actor=actor)
    return report


def _load_pending(session: Session, event_ids: Sequence[str], known: Mapping[str, dict[str, Any]]) -> list[_Pending]:
    table = Base.metadata.tables["webhook_events"]
    found: list[_Pending] = []
    ordered = sorted(set(event_ids))
    for start in range(0, len(ordered), 1000):
        query = (
            select(table.c.id, table.c.event_id, table.c.event_type, table.c.email, table.c.occurred_at,
                   cast(table.c.payload, Text), table.c.email_activity_id)
            .where(table.c.id.in_(ordered[start : start + 1000]), table.c.applied_at.is_(None))
            .order_by(table.c.id)
        )  # fmt: skip
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)  # another process is applying these
        for row_id, key, kind, address, at, payload, email_id in session.execute(query):
            held = known.get(row_id)
            found.append(_Pending(row_id, key, kind, address, at, held if held is not None else json.loads(payload),
                                  email_id))  # fmt: skip
    found.sort(key=lambda r: (r.occurred_at, r.id))
    return found


def _set_status(session: Session, ids: Sequence[str], status: str, *, applied: bool, error: str | None = None) -> None:
    if not ids:
        return
    table = Base.metadata.tables["webhook_events"]
    for start in range(0, len(ids), 1000):
        session.execute(
            update(table)
            .where(table.c.id.in_(list(ids[start : start + 1000])))
            .values(status=status, error=error, applied_at=utc_now() if applied else None)
        )


def _match(session: Session, rows: Iterable[_Pending]) -> None:
    """Find each event's email: our id in custom_args first, else the X-Message-Id prefix and address."""
    pending = [row for row in rows if row.email_activity_id is None]
    if not pending:
        return
    ids = {ev.our_email_id(row.payload) for row in pending} - {None}
    prefixes = {ev.message_prefix(row.payload) for row in pending if not ev.our_email_id(row.payload)} - {None}
    known = emails.find_for_events(session, ids=ids, sendgrid_ids=prefixes)  # type: ignore[arg-type]
    for row in pending:
        our = ev.our_email_id(row.payload)
        if our and our in known.by_id:
            row.email_activity_id, row.newly_matched = our, True
            continue
        prefix = ev.message_prefix(row.payload)
        if prefix:
            candidates = known.by_sendgrid_id.get(prefix, [])
            match = [c for c in candidates if row.email is None or c[1] == row.email]
            if len(match) == 1:
                row.email_activity_id, row.newly_matched = match[0][0], True


def _apply_emails(session: Session, by_email: dict[str, list[_Pending]], *, actor: str) -> set[str]:
    """Recompute each email from all its events; timeline, suppressions, notifications for the new ones.

    Batch-shaped: one query locks the emails, one marks the events, one loads the emails'
    events, one writes the new states, one the timeline, whatever the number of emails.
    Returns the prospects touched.
    """
    ids = sorted(by_email)
    now = utc_now()
    table = Base.metadata.tables["webhook_events"]
    targets = emails.event_targets(session, ids)  # locked in id order: no deadlocks
    for email_id in ids:
        target, new_rows = targets[email_id], by_email[email_id]
        if target.status in ("sending", "unknown") and any(
            r.event_type in ev.DELIVERY_TYPES | ev.ENGAGEMENT_TYPES for r in new_rows
        ):
            # SendGrid has it, so it was sent: settle an unknown outcome.
            first = min(r.occurred_at for r in new_rows)
            emails.record_sent(
                session, email_id, backend=target.backend or "sendgrid",
                provider_id=ev.message_prefix(new_rows[0].payload), actor=actor,
                at=min(first, target.send_attempted_at or first),
            )  # fmt: skip
            tasks.action_done(session, target.prospect_id, "email_sent", actor=actor, cause={"emailId": email_id})
            targets.update(emails.event_targets(session, [email_id]))
    marks = [{"id": r.id, "email_activity_id": email_id} for email_id in ids for r in by_email[email_id] if not r.fresh]
    bulk_update(session, table, marks, also={"status": "applied", "applied_at": now, "error": None})
    changed = {"click", "open", "delivered"}  # what can change a click's kind or the clicks per link
    moved, own_link = _recompute(
        session, targets, ids, links=lambda email_id: any(r.event_type in changed for r in by_email[email_id]),
        known={r.id: r.payload for rows in by_email.values() for r in rows},
    )  # fmt: skip
    entries: list[dict[str, Any]] = []
    for email_id in ids:
        target, new_rows = targets[email_id], by_email[email_id]
        entries += _timeline(target, new_rows, actor=actor, own_link=own_link)
        _address_effects(session, target, new_rows, actor=actor)
        _notifications(session, target, new_rows)
    activity.record_many(session, entries)
    emails.sync_timeline_statuses(session, moved)
    return {target.prospect_id for target in targets.values()}


def _recompute(
    session: Session,
    targets: dict[str, Any],
    ids: list[str],
    *,
    links: Callable[[str], bool],
    known: Mapping[str, dict[str, Any]] | None = None,
) -> tuple[list[Any], Callable[[str], bool]]:
    """Each email's state from all of its stored events, written (one statement for all), and
    its clicks per link for those ``links`` names that have clicks. Returns the emails whose
    status moved, and the rule saying which links are Leadline's own. ``known``: the payloads
    already read (by event row id), not decoded again."""
    table = Base.metadata.tables["webhook_events"]
    known = known or {}
    seen: dict[str, list[ev.Seen]] = defaultdict(list)
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(table.c.email_activity_id, table.c.id, table.c.event_id, table.c.event_type,
                   table.c.occurred_at, cast(table.c.payload, Text))
            .where(table.c.email_activity_id.in_(ids[start : start + 500]), table.c.status != "failed")
        )  # fmt: skip
        for email_id, row_id, key, kind, at, payload in rows:
            found = known.get(row_id)
            seen[email_id].append(ev.Seen(key, kind, at, found if found is not None else json.loads(payload)))
    settings = settings_of(session)

    @functools.cache
    def own_link(url: str) -> bool:  # asked for each click of each email: once per URL here
        return emails.is_leadline_link(settings, url)

    states = {
        email_id: ev.email_state(
            seen[email_id],
            replied=targets[email_id].replied_at is not None,
            base_status=_base(targets[email_id].status),
            own_link=own_link,
        )
        for email_id in ids
    }
    moved = emails.write_event_states(session, targets, states)
    per_link = {
        email_id: click_rule.links(seen[email_id], click_rule.classify(seen[email_id], own_link))
        for email_id in ids
        if links(email_id) and any(s.kind == "click" for s in seen[email_id])
    }
    emails.write_link_clicks(session, per_link)
    return moved, own_link


def recount_clicks(session: Session, email_ids: Sequence[str]) -> set[str]:
    """Emails' states and clicks per link recomputed from their stored events, with the click
    rule of today (``leadline webhooks recount-clicks``, after an upgrade). Returns the
    prospects touched; their counters are recounted."""
    ids = sorted(set(email_ids))
    if not ids:
        return set()
    targets = emails.event_targets(session, ids)
    moved, _ = _recompute(session, targets, ids, links=lambda _: True)
    emails.sync_timeline_statuses(session, moved)
    prospects = {target.prospect_id for target in targets.values()}
    emails.recount_many(session, prospects)
    return prospects


def clicked_email_ids(session: Session, *, after: str | None = None, limit: int = 500) -> list[str]:
    """Emails with stored click events, in id order after ``after`` (a page of at most ``limit``)."""
    query = select(WebhookEvent.email_activity_id).where(
        WebhookEvent.event_type == "click", WebhookEvent.email_activity_id.is_not(None)
    )
    if after is not None:
        query = query.where(WebhookEvent.email_activity_id > after)
    query = query.group_by(WebhookEvent.email_activity_id).order_by(WebhookEvent.email_activity_id).limit(limit)
    return [str(value) for value in session.scalars(query)]


def _base(status: str) -> str:
    """The status an email has before any event counts (what sending left)."""
    if status in ("sending", "unknown", "failed", "cancelled", "scheduled", "pending"):
        return status
    return "sent"


def _timeline(
    email: Any, rows: list[_Pending], *, actor: str, own_link: Callable[[str], bool] | None = None
) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for row in rows:
        if row.event_type == "processed":
            continue  # "sent" is already on the timeline
        payload = row.payload
        details: dict[str, Any] = {"emailId": email.id, "event": row.event_type, "eventId": row.event_id}
        for key, name in (("reason", "reason"), ("url", "url"), ("type", "bounceType"), ("response", "response"),
                          ("attempt", "attempt"), ("asm_group_id", "groupId")):  # fmt: skip
            if payload.get(key) not in (None, ""):
                details[name] = payload[key] if not isinstance(payload[key], str) else payload[key][:500]
        if row.event_type == "open":
            details["machine"] = ev.is_machine_open(payload)
        elif row.event_type == "click":
            url = click_rule.url_of(payload)
            if url and own_link is not None and own_link(url):
                details["counted"] = False  # Leadline's own link (unsubscribe): never engagement
            elif click_rule.scanner_agent(payload):
                details["machine"] = True
        entries.append(
            activity.row(email.prospect_id, "email", row.event_type, details, actor=actor, at=row.occurred_at)
        )
    return entries


def _address_effects(session: Session, email: Any, rows: list[_Pending], *, actor: str) -> None:
    kinds = {"bounce", "dropped", "spamreport", "unsubscribe", "group_unsubscribe", "group_resubscribe"}
    if not any(row.event_type in kinds for row in rows):
        return
    address = email.to_email
    stored = session.execute(
        select(WebhookEvent.event_id, WebhookEvent.event_type, WebhookEvent.occurred_at, WebhookEvent.payload).where(
            WebhookEvent.email == address, WebhookEvent.event_type.in_(kinds), WebhookEvent.status != "failed"
        )
    )
    verdict = ev.address_verdict([ev.Seen(k, t, at, p) for k, t, at, p in stored])
    if verdict is None:
        return
    if verdict.suppressed and verdict.reason and verdict.event:
        emails.suppress_from_events(
            session, address, verdict.reason, at=verdict.event.at, email_id=email.id, actor=actor
        )
    elif not verdict.suppressed:
        emails.lift_event_suppression(session, address, "group_unsubscribe", actor=actor)


def _notifications(session: Session, email: Any, rows: list[_Pending]) -> None:
    for row in rows:
        if row.event_type == "bounce":
            sequences.stop_for_prospect(session, email.prospect_id, "bounced", actor="webhook:sendgrid")
            kind = ev.bounce_kind(row.payload)
            reason = ev.text(row.payload, "reason", 300) or "no reason given"
            notify.raise_event(
                session, "bounce", f"bounce:{email.id}",
                f"{'Bounced' if kind == 'bounce' else 'Blocked'}: {email.to_email}",
                body=f"{email.subject}\n{reason}", prospect_id=email.prospect_id,
                payload={"emailId": email.id, "bounceType": kind, "reason": reason},
            )  # fmt: skip
        elif row.event_type == "spamreport":
            notify.raise_event(
                session, "spam_report", f"spam:{email.id}", f"Spam report from {email.to_email}",
                body=email.subject, prospect_id=email.prospect_id, payload={"emailId": email.id},
            )  # fmt: skip


# --- replay, stats ---------------------------------------------------------------------------


def pending_ids(
    session: Session, *, statuses: Sequence[str], older_than: timedelta | None = None, limit: int = 1000
) -> list[str]:
    query = select(WebhookEvent.id).where(WebhookEvent.status.in_(list(statuses)), WebhookEvent.applied_at.is_(None))
    if older_than is not None:
        query = query.where(WebhookEvent.received_at < utc_now() - older_than)
    return list(session.scalars(query.order_by(WebhookEvent.received_at, WebhookEvent.id).limit(limit)))


def reset_for_replay(session: Session, ids: Sequence[str]) -> None:
    """Failed and unmatched events get another go: forget the failed match, keep the event."""
    session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.id.in_(list(ids)), WebhookEvent.applied_at.is_(None))
        .values(status="received", error=None)
        .execution_options(synchronize_session=False)
    )


@dataclass
class Stats:
    batches: int
    received: int
    stored: int
    duplicates: int
    applied: int
    unmatched: int
    ignored: int
    failed: int
    waiting: int
    last_received_at: datetime | None
    by_type: dict[str, int]


def stats_summary(session: Session, found: Stats | None = None) -> dict[str, Any]:
    """The figures of ``leadline webhooks stats --json`` and ``GET /api/webhooks/stats``."""
    found = found or stats(session)
    replies = dict(session.execute(select(InboundMessage.status, func.count()).group_by(InboundMessage.status)).all())
    unreadable_events = session.scalar(select(func.count()).where(WebhookBatch.error.is_not(None))) or 0
    unreadable_replies = session.scalar(
        select(func.count()).where(InboundMessage.status == "failed", InboundMessage.raw.is_not(None))
    )
    return {
        "batches": found.batches, "received": found.received, "stored": found.stored, "duplicates": found.duplicates,
        "applied": found.applied, "unmatched": found.unmatched, "ignored": found.ignored, "failed": found.failed,
        "waiting": found.waiting, "lastReceivedAt": found.last_received_at, "byType": found.by_type,
        "replies": {str(k): int(v) for k, v in replies.items()},
        "unreadable": {"eventWebhook": int(unreadable_events), "inboundParse": int(unreadable_replies or 0)},
    }  # fmt: skip


def stats(session: Session) -> Stats:
    batches, received, duplicates, last = session.execute(
        select(
            func.count(), func.coalesce(func.sum(WebhookBatch.events), 0),
            func.coalesce(func.sum(WebhookBatch.duplicates), 0), func.max(WebhookBatch.received_at),
        )
    ).one()  # fmt: skip
    by_status = dict(session.execute(select(WebhookEvent.status, func.count()).group_by(WebhookEvent.status)).all())
    by_type = dict(
        session.execute(
            select(WebhookEvent.event_type, func.count())
            .group_by(WebhookEvent.event_type)
            .order_by(WebhookEvent.event_type)
        ).all()
    )
    return Stats(
        batches=batches, received=int(received), stored=sum(by_status.values()), duplicates=int(duplicates),
        applied=by_status.get("applied", 0), unmatched=by_status.get("unmatched", 0),
        ignored=by_status.get("ignored", 0), failed=by_status.get("failed", 0),
        waiting=by_status.get("received", 0), last_received_at=last, by_type=by_type,
    )  # fmt: skip


def events_for_email(session: Session, email_id: str) -> list[WebhookEvent]:
    return list(
        session.scalars(
            select(WebhookEvent)
            .where(WebhookEvent.email_activity_id == email_id)
            .order_by(WebhookEvent.occurred_at, WebhookEvent.id)
        )
    )


# --- posts that could not be read ------------------------------------------------------------


def store_unreadable_events(session: Session, body: bytes, error: str, *, source: str = SOURCE) -> str:
    """An Event Webhook post that is not a batch of events, kept as it came (nothing applied)."""
    batch_id = new_id("whb")
    session.add(
        WebhookBatch(id=batch_id, source=source, events=0, new_events=0, duplicates=0, received_at=utc_now(),
                     error=ev.storable(error[:2000]), raw=body)
    )  # fmt: skip
    return batch_id
