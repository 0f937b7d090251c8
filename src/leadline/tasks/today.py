"""`leadline today` / ``GET /api/today``: what to do today, in the configured time zone.

* calls booked for today (and earlier ones not logged yet, marked overdue), with the
  prospect's phone, grid health and the objections raised on earlier calls;
* overdue follow-ups: open prospects whose next follow-up date has passed, no call booked;
* tasks due today or overdue;
* replies not answered yet: a reply arrived from a prospect not yet won, and since it no
  email was sent to them and no call booked or logged with them, and no call is still to be held
  (a reply from a prospect further along, a question about a proposal, needs a person as much);
* an overdue follow-up is listed unless it is the due time of a task listed already.

``owner`` (a user's email) makes it that user's day: the calls, follow-ups and replies of the
prospects they own, and the tasks given to them or, given to nobody, about a prospect they own.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from leadline.auth.lookup import require_user
from leadline.calls import reading as calls
from leadline.clock import utc_now
from leadline.db import UTCDateTime, settings_of
from leadline.prospects import service as prospects
from leadline.prospects.stages import WON
from leadline.tasks import service as tasks
from leadline.tasks.schemas import TodayCall, TodayFollowUp, TodayRead, TodayReply, TodayText
from leadline.texts import service as texts
from leadline.times import local_day_bounds

# The one cross-domain read of this module (like analytics/): a read-only query over the
# emails domain's table, joined with prospects (stage) and call_activities (a call booked),
# because no service can answer "which replies are still waiting" on its own. It writes
# nothing.
UNANSWERED_REPLIES = (
    text(
        """
    SELECT e.id, e.prospect_id, e.subject, e.replied_at, e.reply_text,
           p.name, p.contact_name, p.phone, p.owner
    FROM email_activities e
    JOIN prospects p ON p.id = e.prospect_id
    WHERE e.replied_at IS NOT NULL
      AND p.sales_status <> :won
      AND NOT EXISTS (
          SELECT 1 FROM call_activities c
          WHERE c.prospect_id = e.prospect_id AND c.status <> 'cancelled'
            AND (c.status = 'scheduled' OR c.created_at > e.replied_at)
      )
      AND NOT EXISTS (
          SELECT 1 FROM email_activities later
          WHERE later.prospect_id = e.prospect_id AND later.sent_at > e.replied_at
      )
    ORDER BY e.replied_at DESC, e.id DESC
    LIMIT 500
    """
    )
    .bindparams(won=WON)
    .columns(replied_at=UTCDateTime())
)


def build(session: Session, *, owner: str | None = None) -> TodayRead:
    settings = settings_of(session)
    owner = owner.strip().lower() or None if owner is not None else None
    if owner is not None:
        require_user(session, owner)  # a mistyped address is said, not shown as an empty day
    zone = settings.zone
    now = utc_now()
    start, _ = local_day_bounds(now, zone)

    due_calls = calls.due_today(session)
    later_calls = calls.coming_up(session)
    booked = calls.pending_prospect_ids(session)
    overdue = [p for p in prospects.follow_ups_due(session, before=now, owner=owner) if p.id not in booked]
    people = prospects.get_many(session, {c.prospect_id for c in (*due_calls, *later_calls)})
    if owner is not None:
        due_calls = [c for c in due_calls if people[c.prospect_id].owner == owner]
        later_calls = [c for c in later_calls if people[c.prospect_id].owner == owner]
    objections = calls.past_objections(session, set(people))

    def item(call: Any) -> TodayCall:
        prospect = people[call.prospect_id]
        assert call.scheduled_at is not None
        return TodayCall(
            call_id=call.id,
            prospect_id=prospect.id,
            prospect_name=prospect.name,
            contact_name=prospect.contact_name,
            phone=prospect.phone,
            grid_health=prospect.grid_health,
            sales_status=prospect.sales_status,
            scheduled_at=call.scheduled_at,
            overdue=call.scheduled_at < start,
            notes=call.notes,
            past_objections=objections.get(prospect.id, []),
            prospect_timezone=prospect.timezone,
        )

    call_items = [item(call) for call in due_calls]
    replies: list[TodayReply] = []
    seen: set[str] = set()
    for row in session.execute(UNANSWERED_REPLIES).mappings():
        if row["prospect_id"] in seen or (owner is not None and row["owner"] != owner):
            continue  # the latest reply of each prospect (of the owner's)
        seen.add(row["prospect_id"])
        replies.append(
            TodayReply(
                prospect_id=row["prospect_id"],
                prospect_name=row["name"],
                contact_name=row["contact_name"],
                phone=row["phone"],
                email_id=row["id"],
                subject=row["subject"],
                replied_at=row["replied_at"],
                reply_text=row["reply_text"],
            )
        )
    replies.reverse()  # oldest waiting first
    due_tasks = tasks.read(session, tasks.search(session, state="open", due="today"))
    if owner is not None:
        about = prospects.get_many(session, {t.prospect_id for t in due_tasks if t.prospect_id and t.owner is None})
        due_tasks = [
            t for t in due_tasks
            if t.owner == owner or (t.owner is None and t.prospect_id in about and about[t.prospect_id].owner == owner)
        ]  # fmt: skip
    # A follow-up date is the earliest open task or booked call (tasks.next_follow_up): one that is a
    # task listed here is that task, not a second thing to do (as tasks.reminders._covered says).
    listed = {(t.prospect_id, t.due_at) for t in due_tasks if t.prospect_id}
    overdue = [p for p in overdue if (p.id, p.next_follow_up_at) not in listed]
    return TodayRead(
        date=now.astimezone(zone).date().isoformat(),
        timezone=settings.timezone,
        calls=call_items,
        upcoming_calls=[item(call) for call in later_calls],
        overdue_follow_ups=[
            TodayFollowUp(
                prospect_id=p.id,
                prospect_name=p.name,
                phone=p.phone,
                sales_status=p.sales_status,
                next_follow_up_at=p.next_follow_up_at,
                last_contact_at=p.last_contact_at,
            )
            for p in overdue
            if p.next_follow_up_at is not None
        ],
        tasks=due_tasks,
        owner=owner,
        replies=replies,
        texts=[TodayText.model_validate(item) for item in texts.waiting_replies(session)],
    )
