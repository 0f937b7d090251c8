"""The emails service, as other modules call it: one name for the email rules, which live
in one module per section.

* ``suppressions``: who must never be emailed again (added, lifted, from SendGrid's events);
* ``quota``: the daily cap;
* ``planning``: who would get what, every message built first, the guardrails;
* ``recording``: claiming a send, scheduling, recording what happened (sent, failed,
  unknown, a reply) and recounting the prospect's email counters;
* ``eventstate``: writing what SendGrid's events add up to (the webhooks service decides);
* ``reading``: one email, a page of them, and the facts sequences and webhooks ask about.

Services never commit. Sending spans several transactions on purpose (claim, talk to
the backend, record the outcome); that choreography lives in ``emails/flows.py``.
"""

from __future__ import annotations

from leadline.emails.eventstate import (
    EVENT_FIELDS,
    EventTarget,
    event_targets,
    sync_timeline_statuses,
    write_event_states,
    write_link_clicks,
)
from leadline.emails.message import is_leadline_link
from leadline.emails.planning import Plan, Planned, Skipped, Unbuilt, outgoing, plan, unsendable, why_not
from leadline.emails.quota import release_quota, reserve_quota, sent_today
from leadline.emails.reading import (
    RETRYABLE_STATES,
    SENT_STATES,
    STALE_AFTER,
    EmailNotFound,
    EmailPage,
    KnownEmails,
    SentEmail,
    SinceFacts,
    by_ids,
    due_scheduled,
    find_by_message_ids,
    find_for_events,
    first_sent,
    for_sequence_step,
    get,
    latest_sent_to,
    search,
    sent_for_simulation,
    since,
    stale_sends,
    thread_references,
)
from leadline.emails.recording import (
    cancel,
    claim,
    claim_scheduled,
    postpone,
    record_failed,
    record_reply,
    record_sent,
    record_unknown,
    recount,
    recount_many,
    resolve,
    schedule,
)
from leadline.emails.suppressions import (
    EVENT_SOURCE,
    lift_event_suppression,
    lift_suppression,
    normalise_address,
    suppress,
    suppress_from_events,
    suppression_for,
    suppressions,
)

__all__ = [
    "EVENT_FIELDS", "EVENT_SOURCE", "RETRYABLE_STATES", "SENT_STATES", "STALE_AFTER",
    "EmailNotFound", "EmailPage", "EventTarget", "KnownEmails", "Plan", "Planned", "SentEmail", "SinceFacts",
    "Skipped", "Unbuilt",
    "by_ids", "cancel", "claim", "claim_scheduled", "due_scheduled", "event_targets", "find_by_message_ids",
    "find_for_events", "first_sent", "for_sequence_step", "get", "is_leadline_link", "latest_sent_to",
    "lift_event_suppression",
    "lift_suppression", "normalise_address", "outgoing", "plan", "postpone", "record_failed", "record_reply",
    "record_sent", "record_unknown", "recount", "recount_many", "release_quota", "reserve_quota", "resolve",
    "schedule", "search", "sent_for_simulation", "sent_today", "since", "stale_sends", "suppress",
    "suppress_from_events", "suppression_for", "suppressions", "sync_timeline_statuses", "thread_references",
    "unsendable",
    "why_not", "write_event_states", "write_link_clicks",
]  # fmt: skip
