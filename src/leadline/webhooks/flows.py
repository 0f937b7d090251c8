"""A post of SendGrid events stored and applied (``POST /webhooks/sendgrid``), and stored events
applied again (``leadline webhooks replay`` and ``POST /api/webhooks/replay``), in batches of their
own transactions.

A flow (docs/architecture.md, "Flows"): it opens its own units of work, one per step, and
composes services; shells and jobs call it, services never do.
"""

from __future__ import annotations

from typing import Any

from leadline.config import Settings
from leadline.db import unit_of_work
from leadline.webhooks import replies, service

BATCH = service.APPLY_BATCH


def store_and_apply(settings: Settings, items: list[dict[str, Any]]) -> dict[str, int]:
    """Store a post's events and apply the new ones (and those an earlier delivery of them stored but
    did not get to apply), :data:`service.APPLY_BATCH` events per transaction, each part stored and
    applied in one (``service.ingest_and_apply``: an error while applying stores the part's events
    as received instead, for the sweep or a replay). Every part is committed before this returns, so
    before the endpoint's 2xx; a part that cannot be committed raises (the endpoint answers 503 when
    the database is away, and SendGrid's retry finds the parts stored already as duplicates; any
    other error keeps the post whole as an unreadable one)."""
    post = service.receive(items)
    counts = {"received": post.received, "new": 0, "duplicates": 0, "applied": 0, "unmatched": 0, "failed": 0}
    for start in range(0, max(len(post.rows), 1), BATCH):
        with unit_of_work(settings) as session:
            result, report = service.ingest_and_apply(session, post, post.rows[start : start + BATCH],
                                                      first=start == 0)  # fmt: skip
        counts["new"] += len(result.new_ids)
        if report is not None:
            for key in ("applied", "unmatched", "failed"):
                counts[key] += getattr(report, key)
    counts["duplicates"] = post.received - counts["new"]
    return counts


def replay(settings: Settings, *, failed: bool, unmatched: bool, actor: str) -> dict[str, int]:
    """Events still waiting, and (by choice) failed and unmatched ones, applied again; with
    ``unmatched`` (or no choice) waiting replies are matched again too."""
    statuses = ["received"] + (["failed"] if failed else []) + (["unmatched"] if unmatched else [])
    if not failed and not unmatched:
        statuses = ["received", "failed", "unmatched"]
    totals = {"applied": 0, "unmatched": 0, "failed": 0, "matchedReplies": 0}
    with unit_of_work(settings, readonly=True) as session:
        ids = service.pending_ids(session, statuses=statuses, limit=10_000_000)
    for start in range(0, len(ids), BATCH):
        with unit_of_work(settings) as session:
            service.reset_for_replay(session, ids[start : start + BATCH])
            report = service.apply(session, ids[start : start + BATCH], actor=f"replay:{actor}")
        totals["applied"] += report.applied
        totals["unmatched"] += report.unmatched
        totals["failed"] += report.failed
    if unmatched or not failed:
        with unit_of_work(settings) as session:
            totals["matchedReplies"] = replies.retry_unmatched_replies(session, settings, actor=f"replay:{actor}")
    return totals


def recount_clicks(settings: Settings) -> dict[str, int]:
    """Every email with stored clicks recomputed from its events by today's click rule
    (``leadline webhooks recount-clicks``: once after upgrading, for emails clicked before the
    rule), a page of emails per transaction."""
    totals = {"emails": 0, "prospects": 0}
    after: str | None = None
    while True:
        with unit_of_work(settings) as session:
            ids = service.clicked_email_ids(session, after=after, limit=500)
            if not ids:
                break
            totals["prospects"] += len(service.recount_clicks(session, ids))
        totals["emails"] += len(ids)
        after = ids[-1]
    return totals
