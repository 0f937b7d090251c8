"""Email shapes on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from leadline.fields import FreeText
from leadline.prospects.selection import Selection
from leadline.schemas import ApiModel, InputModel
from leadline.senders.schemas import SenderKeys

EmailStatus = Literal[
    "scheduled", "pending", "sending", "unknown", "sent", "delivered", "opened", "clicked", "replied",
    "bounced", "failed", "cancelled",
]  # fmt: skip

#: The email list's ``status`` filter (``emails.reading.EMAIL_FILTERS``): sent, delivered, opened,
#: human_opened, machine_only_opened, clicked, replied, call_booked, bounced and failed mean "ever
#: did" (as of ``asOf``, default now), whatever happened next; scheduled, cancelled, pending,
#: sending and unknown are the state an email is in; attention is pending, sending or unknown.
EmailFilterStatus = Literal[
    "scheduled", "sent", "delivered", "opened", "human_opened", "machine_only_opened", "clicked", "replied",
    "call_booked", "bounced", "failed", "cancelled", "attention", "pending", "sending", "unknown",
]  # fmt: skip


class EmailRead(ApiModel):
    id: str
    prospect_id: str
    outreach_activity_id: str | None
    sendgrid_id: str | None
    message_id: str | None
    email_type: str
    template: str
    subject: str
    to_email: str
    from_email: str
    reply_to: str | None
    status: EmailStatus
    error: str | None
    backend: str | None
    in_reply_to: str | None
    thread_root_id: str | None
    scheduled_at: datetime | None
    sent_at: datetime | None
    delivered_at: datetime | None
    opened_at: datetime | None
    open_count: int
    machine_open_count: int
    clicked_at: datetime | None
    click_count: int  # clicks by people, not scanners, not on the unsubscribe link (webhooks/clicks.py)
    machine_click_count: int = 0  # clicks that look automated (link scanners)
    replied_at: datetime | None
    reply_text: str | None
    bounced_at: datetime | None
    bounce_reason: str | None
    bounce_type: str | None
    created_at: datetime


class EmailDetail(EmailRead):
    body_text: str
    body_html: str | None


class SendRequest(Selection):
    """Either ``prospectIds`` or a selection (``status``/``tier``/``trade`` with ``limit``): the one
    rule of :class:`~leadline.prospects.selection.Selection`."""

    template: Annotated[str, Field(min_length=1, max_length=100)]
    dry_run: bool = False
    force: bool = False
    at: datetime | None = Field(None, description="Send later, at this time (local time if no offset).")
    senders: SenderKeys = None


class ComposeRequest(InputModel):
    """An email a person writes: to a prospect (``prospectId``, ``subject``, ``body``), or an
    answer to the reply a prospect sent to one of our emails (``replyTo``: that email's id; the
    subject is "Re: ..." and their reply is quoted below the body). Merge fields such as
    ``{{ firstName }}`` work as in templates."""

    prospect_id: Annotated[str | None, Field(max_length=80)] = None
    reply_to: Annotated[str | None, Field(max_length=40, description="Our email whose reply this answers.")] = None
    subject: Annotated[str | None, Field(min_length=1, max_length=200)] = None
    body: Annotated[FreeText, Field(min_length=1, max_length=20_000)]
    at: datetime | None = Field(None, description="Send later, at this time (local time if no offset).")
    force: bool = Field(False, description="Send even if this prospect already got this very message.")
    dry_run: bool = Field(False, description="Build the message and check the guardrails; send nothing.")


class ReplyRequest(InputModel):
    text: Annotated[FreeText, Field(min_length=1, max_length=100_000)]


class ResolveRequest(InputModel):
    outcome: Literal["sent", "not_sent"]


class SuppressionRead(ApiModel):
    email: str
    reason: str
    source: str
    note: str | None
    email_activity_id: str | None
    created_at: datetime


class SuppressionCreate(InputModel):
    email: Annotated[str, Field(min_length=3, max_length=320)]
    note: Annotated[FreeText | None, Field(max_length=1000)] = None


class TemplateRead(ApiModel):
    name: str
    email_type: str
    subject: str
    body: str
    html: str | None
    source: str
    fields: list[str]


class PreviewRead(ApiModel):
    template: str
    prospect_id: str
    to_email: str | None
    subject: str
    text: str
    html: str | None
