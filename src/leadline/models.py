"""Every ORM model, imported in one place for Alembic and for ``Base.metadata``."""

from leadline.activity.models import OutreachActivity
from leadline.analytics.models import AnalyticsTotal
from leadline.auth.models import ApiToken, LoginThrottle, User, WebSession
from leadline.booking.models import Availability, Booking, BookingLink
from leadline.calls.models import CallActivity
from leadline.customers.models import Customer
from leadline.emails.models import DailySendCount, EmailActivity, Suppression
from leadline.files.models import StoredFile
from leadline.guardian.models import ReplyLabel, ReplyLabelChange
from leadline.notify.models import Notification
from leadline.posts.models import GeneratedPost
from leadline.proposals.models import Proposal, ProposalVersion, ProposalView
from leadline.prospects.models import ImportRun, Prospect, ProspectExternalId, StagedRow
from leadline.senders.models import Sender, SenderDailyCount, SenderEvent
from leadline.sequences.models import Sequence, SequenceEnrollment
from leadline.storedsettings.models import SettingChange, StoredSetting
from leadline.tasks.models import Task
from leadline.texts.models import DailyTextCount, TextMessage, TextOptOut, TextTemplate, TwilioCallback
from leadline.views.models import SavedView
from leadline.webhooks.models import InboundMessage, WebhookBatch, WebhookEvent

__all__ = [
    "AnalyticsTotal",
    "ApiToken",
    "Availability",
    "Booking",
    "BookingLink",
    "CallActivity",
    "Customer",
    "DailySendCount",
    "DailyTextCount",
    "EmailActivity",
    "GeneratedPost",
    "ImportRun",
    "InboundMessage",
    "LoginThrottle",
    "Notification",
    "OutreachActivity",
    "Proposal",
    "ProposalVersion",
    "ProposalView",
    "Prospect",
    "ProspectExternalId",
    "ReplyLabel",
    "ReplyLabelChange",
    "SavedView",
    "Sender",
    "SenderDailyCount",
    "SenderEvent",
    "Sequence",
    "SequenceEnrollment",
    "SettingChange",
    "StagedRow",
    "StoredFile",
    "StoredSetting",
    "Suppression",
    "Task",
    "TextMessage",
    "TextOptOut",
    "TextTemplate",
    "TwilioCallback",
    "User",
    "WebSession",
    "WebhookBatch",
    "WebhookEvent",
]

import leadline.analytics.totals  # noqa: F401  (its session hook keeps the totals)
