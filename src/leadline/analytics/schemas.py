"""What the dashboard, the weekly report and the "what works" tables look like on the wire (camelCase).

Rates are fractions (0.32 for 32%), ``None`` when there is nothing to divide by. Every
figure is computed from the records when asked for; nothing here is stored.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import Field

from leadline.schemas import ApiModel


class Rate(ApiModel):
    """``count`` out of ``total``; ``low``/``high``: the 95% Wilson interval of the rate."""

    count: int
    total: int
    rate: float | None
    low: float | None = None
    high: float | None = None


class WeekInfo(ApiModel):
    label: str  # 2025-W47
    number: int | None  # week of the business: week 1 holds the first email ever sent
    start: datetime
    end: datetime
    first_day: date
    last_day: date
    timezone: str
    span: str
    is_current: bool


class ProspectTotals(ApiModel):
    total: int
    tier1: int
    tier2: int
    tier3: int


class Outreach(ApiModel):
    sent: int
    delivered: Rate
    bounced: Rate
    failed: Rate


class Engagement(ApiModel):
    opened: Rate
    human_opened: Rate
    machine_only_opened: int
    machine_opens: int
    clicked: Rate
    replied: Rate


class CallFigures(ApiModel):
    scheduled: int
    completed: int
    pending: int
    no_show: int
    average_duration_seconds: float | None
    average_duration_minutes: float | None


class TextFigures(ApiModel):
    """Texts of the week (texts/): sent (or logged as sent) and received (or logged as received)."""

    sent: int = 0
    received: int = 0


class PipelineStage(ApiModel):
    stage: str
    label: str
    description: str
    #: Prospects who did this stage's real event by the week's end (service.funnel).
    count: int
    #: Prospects moved to this stage (or past it) by hand without doing it: not in ``count``.
    moved_by_hand: int = 0


class ProspectCard(ApiModel):
    id: str
    name: str
    status: str
    emails_sent: int
    emails_opened: int
    last_contact_at: datetime | None
    next_follow_up_at: datetime | None
    objections: list[str]
    value_per_month: float | None
    replies_this_week: int
    calls_booked_this_week: int
    calls_held_this_week: int
    opens_this_week: int


class KeyMetric(ApiModel):
    key: str
    label: str
    value: float | None
    count: float
    total: float
    target: float
    on_target: bool | None
    unit: str  # "per_day" or "rate"


class FigureList(ApiModel):
    """A figure and the list of exactly the records it counts (``service.figures``)."""

    key: str  # where the figure is: "engagement.opened", "pipeline.replied", "this.reply_rate"...
    label: str
    count: int
    kind: str  # emails, prospects, calls or customers
    filters: dict[str, str]  # the list's filters, as the API and the pages name them
    url: str  # the page that lists them
    api: str  # the API's list
    command: str  # the CLI's list


class Dashboard(ApiModel):
    #: The currency its money is in (LEADLINE_CURRENCY or Settings): amounts read "$2,400/month".
    currency: str = "USD"
    week: WeekInfo
    generated_at: datetime
    prospects: ProspectTotals
    outreach: Outreach
    engagement: Engagement
    calls: CallFigures
    texts: TextFigures = Field(default_factory=TextFigures)
    deals_won: int
    new_mrr: float
    pipeline: list[PipelineStage]
    #: What the funnel counts, in a sentence (service.funnel.STATEMENT).
    pipeline_definition: str
    cards: list[ProspectCard]
    key_metrics: list[KeyMetric]
    working_days: int
    #: Every count shown, with the list of exactly the records it counts.
    lists: list[FigureList] = Field(default_factory=list)
    #: Each sender's and sending domain's health as of the week's end (senders.health.report), each
    #: figure with the ids of the emails it counts.
    deliverability: dict[str, Any] = Field(default_factory=dict)


# --- the weekly report ---------------------------------------------------------------------------


class ReportLine(ApiModel):
    key: str
    label: str
    kind: str  # "count" or "rate"
    value: float | None
    previous: float | None
    change: float | None  # count: difference; rate: difference in percentage points / 100
    target: float | None


class DayFigures(ApiModel):
    day: date
    weekday: str
    sent: int
    replies: int


class TemplateWeek(ApiModel):
    template: str
    sent: int
    replied: int
    reply_rate: float | None


class NextWeekTargets(ApiModel):
    emails: int
    calls: int
    deals: int


class WeeklyReport(ApiModel):
    #: The currency its money is in (LEADLINE_CURRENCY or Settings): amounts read "$2,400/month".
    currency: str = "USD"
    week: WeekInfo
    previous_week: str
    generated_at: datetime
    lines: list[ReportLine]
    next_week: NextWeekTargets
    next_week_label: str
    days: list[DayFigures]
    pipeline: list[PipelineStage]
    pipeline_definition: str
    templates: list[TemplateWeek]
    what_works: WhatWorks
    #: Every count of the week against the one before, the funnel and the templates, with its list.
    lists: list[FigureList] = Field(default_factory=list)
    #: Senders' health as of the week's end (the dashboard's deliverability panel).
    deliverability: dict[str, Any] = Field(default_factory=dict)


# --- what works ----------------------------------------------------------------------------------


class LinkRow(ApiModel):
    """One link of a template's emails: clicks by people, how many people, clicks by machines."""

    url: str
    human_clicks: int
    people: int
    machine_clicks: int


class TemplateRow(ApiModel):
    template: str
    sent: int
    delivered: Rate
    human_opened: Rate
    clicked: Rate
    replied: Rate
    calls_booked: Rate
    note: str
    links: list[LinkRow] = Field(default_factory=list)  # most clicked by people first


class TemplateComparison(ApiModel):
    template: str
    against: str
    metric: str  # "reply" or "human_open"
    verdict: str  # significant | not_significant | too_small
    difference: float | None
    p_value: float | None
    note: str


class TemplatePerformance(ApiModel):
    since: datetime | None
    until: datetime | None
    rows: list[TemplateRow]
    comparisons: list[TemplateComparison]
    notes: list[str]


class ObjectionRow(ApiModel):
    category: str
    label: str
    calls: int
    mentions: int
    share: float | None  # of logged calls with any objection
    prospects: int
    won: int
    lost: int
    open: int
    win_rate: Rate  # won out of won + lost (deals decided)


class ObjectionTable(ApiModel):
    calls_with_objections: int
    rows: list[ObjectionRow]


class ConversionRow(ApiModel):
    group: str
    prospects: int
    contacted: int
    replied: int
    scheduled: int
    called: int
    proposal: int
    won: int
    reply_rate: Rate  # replied / contacted
    call_rate: Rate  # scheduled / contacted
    win_rate: Rate  # won / contacted


class Conversion(ApiModel):
    by_trade: list[ConversionRow]
    by_tier: list[ConversionRow]
    by_grid_health: list[ConversionRow]


class DelayBucket(ApiModel):
    label: str
    count: int
    share: float | None


class SlotRate(ApiModel):
    key: int  # ISO weekday 1-7, or hour 0-23
    label: str
    sent: int
    replied: Rate


class Timing(ApiModel):
    since: datetime | None
    until: datetime | None
    replies: int
    mean_hours: float | None
    median_hours: float | None
    p25_hours: float | None
    p75_hours: float | None
    p90_hours: float | None
    buckets: list[DelayBucket]
    by_weekday: list[SlotRate]
    by_hour: list[SlotRate]
    timezone: str


class ForecastStage(ApiModel):
    stage: str
    label: str
    prospects: int
    with_value: int
    value: float
    probability: float
    weighted: float


class Forecast(ApiModel):
    #: The currency its money is in (LEADLINE_CURRENCY or Settings): amounts read "$2,400/month".
    currency: str = "USD"
    stages: list[ForecastStage]
    open_pipeline_value: float
    expected_new_mrr: float
    open_without_value: int
    current_mrr: float
    paused_mrr: float
    active_customers: int
    projected_mrr: float


class WhatWorks(ApiModel):
    templates: TemplatePerformance
    objections: ObjectionTable
    conversion: Conversion
    timing: Timing
    forecast: Forecast


WeeklyReport.model_rebuild()
