"""Every figure of the dashboard and the weekly report opens the list of exactly the records it
counts: which list (emails, prospects, calls, customers), with which filters, as the pages' URL,
the API's URL and the CLI command.

A figure and its list share one predicate: the email list's ``status`` (``emails.reading.EVER_SQL``),
the call list's ``status`` with ``asOf`` (``calls.reading.AS_OF_SQL``) and the prospect list's
``reached`` (``prospects.queries.REACHED_SQL``) are what the dashboard's queries count. A past
week reads as of its end, and so does its lists' ``asOf``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time
from functools import lru_cache
from typing import Any
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo

from leadline.analytics.schemas import Dashboard, FigureList, PipelineStage, ReportLine, TemplateWeek
from leadline.analytics.weeks import Week

#: Each list: (the page's path, the API's path, the CLI command, the CLI's --limit, if it has one).
KINDS: dict[str, tuple[str, str, str, bool]] = {
    "emails": ("/emails", "/api/emails", "leadline emails list", True),
    "prospects": ("/prospects", "/api/prospects", "leadline prospects list", True),
    "calls": ("/calls", "/api/calls", "leadline calls list", True),
    "customers": ("/customers", "/api/customers", "leadline customers list", False),
    "texts": ("/texts", "/api/texts", "leadline texts list", True),
}
#: The CLI's --limit on a figure's command: every record, not the first page.
ALL = 1_000_000


@lru_cache(maxsize=256)
def _option(name: str) -> str:
    return "--" + "".join(f"-{c.lower()}" if c.isupper() else c for c in name)


def _web_value(value: Any, zone: ZoneInfo) -> str:
    if isinstance(value, datetime):
        return _web_time(value, zone)
    return str(value)


def _cli_value(value: Any, zone: ZoneInfo) -> str:
    if isinstance(value, datetime):
        return _cli_time(value, zone)
    return str(value)


# A dashboard's thirty figures name the same two or three instants and values again and again:
# each is written (and quoted) once.
@lru_cache(maxsize=256)
def _web_time(value: datetime, zone: ZoneInfo) -> str:
    return value.astimezone(zone).isoformat()


@lru_cache(maxsize=256)
def _cli_time(value: datetime, zone: ZoneInfo) -> str:
    local = value.astimezone(zone)
    if local.time() == time(0):
        return local.date().isoformat()
    return local.replace(tzinfo=None).isoformat(timespec="seconds")


@lru_cache(maxsize=1024)
def _quoted(text: str) -> str:
    return quote_plus(text)


def figure(key: str, label: str, count: int, kind: str, zone: ZoneInfo, **filters: Any) -> FigureList:
    """A figure and its list: ``filters`` in the API's names (camelCase); None leaves one out."""
    given = {name: value for name, value in filters.items() if value is not None}
    page, api, command, has_limit = KINDS[kind]
    web = {name: _web_value(value, zone) for name, value in given.items()}
    query = "&".join(f"{_quoted(name)}={_quoted(value)}" for name, value in web.items())  # urlencode's form
    words = [command, *(f"{_option(name)} {_cli_value(value, zone)}" for name, value in given.items())]
    if has_limit:
        words.append(f"--limit {ALL}")
    return FigureList(
        key=key,
        label=label,
        count=count,
        kind=kind,
        filters=web,
        url=f"{page}?{query}" if query else page,
        api=f"{api}?{query}" if query else api,
        command=" ".join(words),
    )


def _emails(key: str, label: str, count: int, week: Week, status: str, **more: Any) -> FigureList:
    """Emails sent in ``week`` that did ``status`` by its end."""
    return figure(key, label, count, "emails", week.zone, status=status, sentFrom=week.start, sentTo=week.end,
                  asOf=week.end, **more)  # fmt: skip


def _calls_booked(key: str, label: str, count: int, week: Week, status: str) -> FigureList:
    return figure(key, label, count, "calls", week.zone, status=status, bookedFrom=week.start, bookedTo=week.end,
                  asOf=week.end)  # fmt: skip


def _calls_held(key: str, label: str, count: int, week: Week) -> FigureList:
    return figure(key, label, count, "calls", week.zone, status="completed", heldFrom=week.start, heldTo=week.end,
                  asOf=week.end)  # fmt: skip


def _texts(key: str, label: str, count: int, week: Week, direction: str) -> FigureList:
    """Texts sent or received in ``week`` (texts.service.counted: the figure's predicate is the list's)."""
    return figure(key, label, count, "texts", week.zone, direction=direction, status="counted",
                  sentFrom=week.start, sentTo=week.end)  # fmt: skip


def _deals(key: str, label: str, count: int, week: Week) -> FigureList:
    return figure(key, label, count, "customers", week.zone, signedFrom=week.start, signedTo=week.end)


def pipeline_lists(pipeline: Iterable[PipelineStage], week: Week, prefix: str = "pipeline") -> list[FigureList]:
    """Each funnel line: the prospects who did its stage's real event by the week's end."""
    return [
        figure(f"{prefix}.{line.stage}", line.label, line.count, "prospects", week.zone, reached=line.stage,
               asOf=week.end)
        for line in pipeline
    ]  # fmt: skip


def template_lists(templates: Iterable[TemplateWeek], week: Week, prefix: str = "templates") -> list[FigureList]:
    """Each template's sends in the week, and the replies they got by its end."""
    found = []
    for row in templates:
        found.append(_emails(f"{prefix}.{row.template}.sent", f"{row.template} sent", row.sent, week, "sent",
                             template=row.template))  # fmt: skip
        found.append(_emails(f"{prefix}.{row.template}.replied", f"{row.template} replies", row.replied, week,
                             "replied", template=row.template))  # fmt: skip
    return found


def dashboard_lists(data: Dashboard, week: Week) -> list[FigureList]:
    """Every count the dashboard shows, with its list."""
    zone, end = week.zone, week.end
    out, eng, calls = data.outreach, data.engagement, data.calls
    found = [
        figure("prospects.total", "Prospects", data.prospects.total, "prospects", zone, asOf=end),
        *(
            figure(f"prospects.tier{tier}", f"Tier {tier}", count, "prospects", zone, tier=tier, asOf=end)
            for tier, count in ((1, data.prospects.tier1), (2, data.prospects.tier2), (3, data.prospects.tier3))
        ),
        _emails("outreach.sent", "Emails sent", out.sent, week, "sent"),
        _emails("outreach.delivered", "Delivered", out.delivered.count, week, "delivered"),
        _emails("outreach.bounced", "Bounced", out.bounced.count, week, "bounced"),
        _emails("outreach.failed", "Failed", out.failed.count, week, "failed"),
        _emails("engagement.opened", "Opened", eng.opened.count, week, "opened"),
        _emails("engagement.humanOpened", "Opened by a person", eng.human_opened.count, week, "human_opened"),
        _emails(
            "engagement.machineOnlyOpened",
            "Opened only by machines",
            eng.machine_only_opened,
            week,
            "machine_only_opened",
        ),
        _emails("engagement.clicked", "Clicked", eng.clicked.count, week, "clicked"),
        _emails("engagement.replied", "Replied", eng.replied.count, week, "replied"),
        _calls_booked("calls.scheduled", "Calls booked", calls.scheduled, week, "booked"),
        _calls_booked("calls.pending", "Calls pending", calls.pending, week, "pending"),
        _calls_booked("calls.noShow", "No-shows", calls.no_show, week, "no_show"),
        _calls_held("calls.completed", "Calls completed", calls.completed, week),
        _texts("texts.sent", "Texts sent", data.texts.sent, week, "out"),
        _texts("texts.received", "Texts received", data.texts.received, week, "in"),
        _deals("dealsWon", "Deals won", data.deals_won, week),
        *pipeline_lists(data.pipeline, week),
    ]
    converted = next((m for m in data.key_metrics if m.key == "call_conversion"), None)
    if converted is not None:
        found.append(_emails("keyMetrics.callConversion", "Replies followed by a call booked", int(converted.count),
                             week, "call_booked"))  # fmt: skip
    return found


#: The weekly report's count lines and their lists; a rate line's list is its count's (the
#: emails that were opened, replied...), beside the week's sends.
_REPORT_EMAILS = {"emails_sent": "sent", "open_rate": "opened", "human_open_rate": "human_opened",
                  "reply_rate": "replied"}  # fmt: skip


def report_lists(
    lines: Iterable[ReportLine],
    counts: dict[str, dict[str, int]],
    week: Week,
    pipeline: Iterable[PipelineStage],
    templates: Iterable[TemplateWeek],
) -> list[FigureList]:
    """Each count of the weekly report (this week's and the week before's), with its list.
    ``counts``: {"this": {...}, "previous": {...}}, the emails' and calls' counts of each week."""
    found: list[FigureList] = []
    for which, shown in (("this", week), ("previous", week.previous())):
        figures = counts[which]
        for line in lines:
            key = f"{which}.{line.key}"
            if line.key in _REPORT_EMAILS:
                status = _REPORT_EMAILS[line.key]
                found.append(_emails(key, line.label, figures[status], shown, status))
            elif line.key == "calls_scheduled":
                found.append(_calls_booked(key, line.label, figures["calls_scheduled"], shown, "booked"))
            elif line.key == "calls_completed":
                found.append(_calls_held(key, line.label, figures["calls_completed"], shown))
            elif line.key in ("texts_sent", "texts_received"):
                direction = "out" if line.key == "texts_sent" else "in"
                found.append(_texts(key, line.label, figures[line.key], shown, direction))
            elif line.key == "deals_closed":
                found.append(_deals(key, line.label, figures["deals"], shown))
    return [*found, *pipeline_lists(pipeline, week), *template_lists(templates, week)]


#: Each rate's key metric: (its count's figure, its total's figure).
METRIC_LISTS = {
    "open_rate": ("engagement.opened", "outreach.sent"),
    "reply_rate": ("engagement.replied", "outreach.sent"),
    "call_conversion": ("keyMetrics.callConversion", "engagement.replied"),
    "deal_conversion": ("pipeline.closed_won", "pipeline.contacted"),
}


def by_key(lists: Iterable[FigureList]) -> dict[str, str]:
    """{figure key: its page's URL}, for the pages."""
    return {item.key: item.url for item in lists}
