"""How the dashboard and the weekly report look: the seed's text blocks, CSV, and a self-contained
HTML report (inline CSS and inline SVG charts: it opens offline, nothing is fetched).

Presentation only: the figures come from :mod:`leadline.analytics.service`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from leadline.analytics.schemas import (
    Dashboard,
    DayFigures,
    FigureList,
    KeyMetric,
    PipelineStage,
    ProspectCard,
    Rate,
    ReportLine,
    TemplateWeek,
    WeeklyReport,
)
from leadline.money import amount
from leadline.words import counted

if TYPE_CHECKING:
    from jinja2 import Environment


# --- numbers -------------------------------------------------------------------------------------


def pct(value: float | None) -> str:
    """0.32 -> ``32%``; 0.2333 -> ``23.3%``; None -> ``n/a``."""
    if value is None:
        return "n/a"
    shown = f"{value * 100:.1f}".rstrip("0").rstrip(".")
    return f"{shown}%"


def rate_pct(rate: Rate) -> str:
    return pct(rate.rate)


def interval(rate: Rate) -> str:
    """``12% (7–19%)``: the rate and its 95% Wilson interval."""
    if rate.rate is None:
        return "n/a"
    if rate.low is None or rate.high is None:
        return pct(rate.rate)
    return f"{pct(rate.rate)} ({pct(rate.low).rstrip('%')}–{pct(rate.high)})"


def points(change: float | None) -> str:
    """A change of a rate, in percentage points: ``+4 pts``."""
    if change is None:
        return "n/a"
    shown = f"{change * 100:+.1f}".rstrip("0").rstrip(".")
    return "±0 pts" if shown in ("+0", "-0") else f"{shown} pts"


def number(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def signed(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value == 0:
        return "±0"
    return ("+" if value > 0 else "-") + number(abs(value))


def minutes(value: float | None) -> str:
    if value is None:
        return "n/a"
    whole = round(value)
    return f"{whole} min" if whole == 1 else f"{whole} mins"


def clock_text(moment: datetime) -> str:
    return f"{moment.strftime('%I').lstrip('0')}:{moment:%M} {moment:%p}"


def when(moment: datetime | None, now: datetime, zone: ZoneInfo) -> str:
    """``Today at 2:00 PM``, ``Yesterday at ...``, ``Friday at 3:00 PM`` (the coming week),
    otherwise ``Fri 21 Nov at 3:00 PM`` (with the year when it is not this year's)."""
    if moment is None:
        return "none"
    local, today = moment.astimezone(zone), now.astimezone(zone).date()
    day = local.date()
    at = clock_text(local)
    if day == today:
        return f"Today at {at}"
    if day == today - timedelta(days=1):
        return f"Yesterday at {at}"
    if day == today + timedelta(days=1):
        return f"Tomorrow at {at}"
    if today < day <= today + timedelta(days=6):
        return f"{local:%A} at {at}"
    year = f" {local.year}" if local.year != today.year else ""
    return f"{local:%a} {local.day} {local:%b}{year} at {at}"


# --- the dashboard -------------------------------------------------------------------------------


def title(kind: str, week_number: int | None, label: str) -> str:
    return f"WEEK {week_number} {kind}" if week_number else f"{label} {kind}"


def _with_pct(count: int, rate: Rate, words: str = "") -> str:
    suffix = f" {words}" if words else ""
    return f"{count} ({rate_pct(rate)}{suffix})" if rate.total else f"{count}"


def dashboard_text(data: Dashboard) -> str:
    week, out, eng, calls = data.week, data.outreach, data.engagement, data.calls
    zone = ZoneInfo(week.timezone)
    lines = [
        title("SALES METRICS", week.number, week.label),
        f"{week.label} · {week.span} · {week.timezone}",
        "",
        f"Total Prospects: {data.prospects.total:,}",
        f"├─ Tier-1 (analyzed first): {data.prospects.tier1:,}",
        f"├─ Tier-2: {data.prospects.tier2:,}",
        f"└─ Tier-3: {data.prospects.tier3:,}",
        "",
        "OUTREACH STATUS:",
        f"├─ Emails Sent: {out.sent:,} (this week)",
        f"│  ├─ Delivered: {_with_pct(out.delivered.count, out.delivered)}",
        f"│  ├─ Bounced: {_with_pct(out.bounced.count, out.bounced)}",
        f"│  └─ Failed: {out.failed.count if not out.failed.count else _with_pct(out.failed.count, out.failed)}",
        "│",
        "├─ Email Engagement:",
        f"│  ├─ Opened: {_with_pct(eng.opened.count, eng.opened, 'open rate')}",
        f"│  │  └─ Human opens: {_with_pct(eng.human_opened.count, eng.human_opened, 'human open rate')}"
        f"; {eng.machine_only_opened} opened only by machines (Apple Mail Privacy Protection),"
        f" {counted(eng.machine_opens, 'machine open')} left out",
        f"│  ├─ Clicked: {_with_pct(eng.clicked.count, eng.clicked, 'click rate')}",
        f"│  └─ Replied: {_with_pct(eng.replied.count, eng.replied, 'reply rate')}",
        "│",
        f"├─ Texts Sent: {data.texts.sent:,} · Received: {data.texts.received:,}",
        f"├─ Calls Scheduled: {calls.scheduled}",
        f"├─ Calls Completed: {calls.completed}"
        + (f" (avg duration: {minutes(calls.average_duration_minutes)})" if calls.completed else ""),
        f"└─ Calls Pending: {calls.pending}",
        "",
        "SALES PIPELINE:",
    ]
    lines += pipeline_lines(data.pipeline, data.pipeline_definition)
    lines += ["", "ENGAGEMENT BY PROSPECT:"]
    if not data.cards:
        lines.append("(no prospect activity this week)")
    bodies = [(card.name, _card_body(card, data.generated_at, zone, data.currency)) for card in data.cards]
    width = max([40] + [len(text) + 2 for name, body in bodies for text in [name, *body]])
    for name, body in bodies:
        lines += _card(name, body, width)
    lines += ["", "KEY METRICS:"]
    for index, metric in enumerate(data.key_metrics):
        branch = "└─" if index == len(data.key_metrics) - 1 else "├─"
        lines.append(f"{branch} {_metric(metric, data)}")
    return "\n".join(lines) + "\n"


def pipeline_lines(pipeline: Sequence[PipelineStage], definition: str) -> list[str]:
    """The funnel's lines (with those moved by hand shown apart), then what it counts."""
    lines = []
    for index, stage in enumerate(pipeline):
        branch = "└─" if index == len(pipeline) - 1 else "├─"
        lines.append(f"{branch} {stage.label} ({stage.description}): {stage.count:,}{_by_hand(stage)}")
    return [*lines, f"({definition})"]


def _by_hand(stage: PipelineStage) -> str:
    return f" (+{stage.moved_by_hand:,} moved by hand, not counted)" if stage.moved_by_hand else ""


def _card_body(card: ProspectCard, now: datetime, zone: ZoneInfo, currency: str = "USD") -> list[str]:
    status = {"closed_won": "customer", "closed_lost": "lost"}.get(card.status, "if closed")
    fee = card.value_per_month
    value = f"{amount(fee, currency, 'month')} ({status})" if fee is not None else "not set"
    return [
        f"Status: {card.status}",
        f"Emails sent: {card.emails_sent}",
        f"Emails opened: {card.emails_opened}",
        f"Last contact: {when(card.last_contact_at, now, zone)}",
        f"Next follow-up: {when(card.next_follow_up_at, now, zone)}",
        f"Objections: {', '.join(card.objections) if card.objections else 'none'}",
        f"Value: {value}",
    ]


def _card(name: str, body: list[str], width: int) -> list[str]:
    """A box like the seed's, ``width`` characters inside."""
    rule = "─" * (width + 1)
    return [
        f"┌{rule}┐",
        f"│ {name.ljust(width)}│",
        f"├{rule}┤",
        *(f"│ {text.ljust(width)}│" for text in body),
        f"└{rule}┘",
    ]


def _metric(metric: KeyMetric, data: Dashboard) -> str:
    verdict = "" if metric.on_target is None else ("on track" if metric.on_target else "below target")
    if metric.key == "send_rate":
        shown = "n/a (no working day yet)" if metric.value is None else f"{number(metric.value)}/day"
        target = f"target {number(metric.target)}/day"
        return f"{metric.label}: {shown} ({target}{': ' + verdict if verdict else ''})"
    target = f"target {pct(metric.target)}"
    tail = f" ({target}{': ' + verdict if verdict else ''})"
    if metric.key == "call_conversion":
        return (
            f"{metric.label}: {pct(metric.value)} of replies → calls ({number(metric.count)}/{number(metric.total)})"
            + tail
        )
    if metric.key == "deal_conversion":
        return (
            f"{metric.label}: {pct(metric.value)} of contacted prospects won "
            f"({number(metric.count)}/{number(metric.total)})" + tail
        )
    if metric.key == "open_rate":
        human = data.engagement.human_opened
        return f"{metric.label}: {pct(metric.value)} (human {rate_pct(human)})" + tail
    return f"{metric.label}: {pct(metric.value)}" + tail


# --- the weekly report ---------------------------------------------------------------------------


def line_value(line: ReportLine, currency: str = "USD") -> str:
    """A report line's figure: a rate as a percentage, money in the one format (``$2,400/month``)."""
    if line.kind == "rate":
        return pct(line.value)
    if line.kind == "money":
        return amount(line.value, currency, "month")
    return number(line.value)


def line_previous(line: ReportLine, currency: str = "USD") -> str:
    """The week before's figure, written as :func:`line_value` writes this week's."""
    if line.previous is None:
        return "n/a"
    return line_value(line.model_copy(update={"value": line.previous}), currency)


def line_change(line: ReportLine, currency: str = "USD") -> str:
    if line.change is None:
        return "n/a"
    if line.kind == "money" and line.change:
        return ("+" if line.change > 0 else "-") + amount(abs(line.change), currency, "month")
    return points(line.change) if line.kind == "rate" else signed(line.change)


def line_target(line: ReportLine) -> str:
    if line.target is None:
        return ""
    return pct(line.target) if line.kind == "rate" else number(line.target)


def lists_text(lists: Sequence[FigureList]) -> str:
    """Each figure, its count and the command that lists exactly the records it counts."""
    width = max((len(item.key) for item in lists), default=0)
    lines = [f"{item.key:<{width}}  {item.count:>6}  {item.command}" for item in lists]
    return "\n".join(lines) + "\n"


def report_text(data: WeeklyReport) -> str:
    week = data.week
    lines = [
        title("SALES REPORT", week.number, week.label),
        f"{week.label} · {week.span} · {week.timezone} · compared with {data.previous_week}",
    ]
    for line in data.lines:
        notes = [f"{line_change(line, data.currency)} vs last week"]
        if line.target is not None:
            notes.append(("target " if line.kind == "rate" else "goal ") + line_target(line))
        lines.append(f"{line.label}: {line_value(line, data.currency)} ({'; '.join(notes)})")
    goals = data.next_week
    lines.append(
        f"Next Week Target ({data.next_week_label}): {counted(goals.emails, 'email')}, "
        f"{counted(goals.calls, 'call')}, {counted(goals.deals, 'deal')}"
    )
    lines += ["", "SALES PIPELINE:", *pipeline_lines(data.pipeline, data.pipeline_definition)]
    lines += ["", "DELIVERABILITY (last 7 days):", *deliverability_lines(data.deliverability)]
    return "\n".join(lines) + "\n"


def deliverability_lines(health: dict[str, Any]) -> list[str]:
    """Each sender's and sending domain's last 7 days (senders.health.report), one line each."""
    found = []
    for item in [*health.get("senders", []), *health.get("domains", [])]:
        w = item["windows"]["7d"]
        name = item.get("email") or f"{item['domain']} (domain)"
        state = f" [paused: {item.get('pausedReason')}]" if item.get("status") == "paused" else ""
        found.append(
            f"{name}{state}: {w['sends']} sends, hard bounces {w['bounces']} ({pct(w['bounceRate'])}), spam reports "
            f"{w['spamReports']} ({pct(w['spamRate'])}), unsubscribes {w['unsubscribes']} ({pct(w['unsubscribeRate'])})"
        )
    return found or ["No sender has sent yet."]


def report_csv(data: WeeklyReport) -> str:
    """The report's lines as CSV (one row per figure)."""
    from leadline.exports import neutralise

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["week", "metric", "label", "value", "previous", "change", "target"])
    for line in data.lines:
        writer.writerow(
            [data.week.label, line.key, neutralise(line.label), _raw(line.value), _raw(line.previous),
             _raw(line.change), _raw(line.target)]
        )  # fmt: skip
    goals = data.next_week
    for key, value in (("next_week_emails", goals.emails), ("next_week_calls", goals.calls),
                       ("next_week_deals", goals.deals)):  # fmt: skip
        writer.writerow([data.next_week_label, key, key.replace("_", " ").capitalize(), value, "", "", ""])
    return buffer.getvalue()


def _raw(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"


@cache
def environment() -> Environment:
    """Jinja2 over web/templates with autoescape on (text from outside is always escaped)."""
    from pathlib import Path

    from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
    from jinja2.runtime import Context

    import leadline.web

    templates = Path(leadline.web.__file__).parent / "templates"  # the pages' folder (web/render.py)
    env = Environment(loader=FileSystemLoader(str(templates)), autoescape=True, undefined=StrictUndefined)

    @pass_context
    def price(context: Context, value: float | None, per: str = "") -> str:
        """The report file's ``price``: :func:`amount` in the report's currency (``currency`` in the
        context), as the pages' ``price`` filter writes it in the configured one."""
        return amount(value, context.get("currency") or "USD", per)

    env.filters.update(
        pct=pct, interval=interval, points=points, number=number, signed=signed, price=price,
        line_value=line_value, line_previous=line_previous, line_change=line_change, line_target=line_target,
        local_day=local_day, moment_in=moment_in, counted=counted,
    )  # fmt: skip
    from leadline.senders import health

    env.filters["health_page"] = health.page_link
    return env


def moment_in(moment: datetime | None, zone: str = "UTC") -> str:
    """A moment in the one format (``times.moment_text``) in the named zone: ``Tue 2 Dec 2026 15:00 CST``."""
    from leadline.times import moment_text

    return "—" if moment is None else moment_text(moment, ZoneInfo(zone))


def local_day(moment: datetime | None, zone: str = "UTC") -> str:
    if moment is None:
        return "ever"
    day = moment.astimezone(ZoneInfo(zone)).date()
    return f"{day.day} {day:%b %Y}"


def report_html(data: WeeklyReport) -> str:
    """The weekly report as one self-contained HTML file (inline CSS and SVG; no network)."""
    return (
        environment().get_template("reports/week.html").render(report=data, charts=charts(data), currency=data.currency)
    )


def charts(data: WeeklyReport) -> dict[str, Any]:
    """Geometry for the report's three SVG charts (bars as numbers; the template draws them)."""
    return chart_geometry(data.pipeline, data.days, data.templates)


def chart_geometry(
    pipeline: Sequence[PipelineStage], days: Sequence[DayFigures], by_template: Sequence[TemplateWeek]
) -> dict[str, Any]:
    """The funnel, the days and the templates as bars (the report's and the dashboard page's charts)."""
    widest = max((s.count for s in pipeline), default=0) or 1
    funnel_bars = [
        {"label": f"{s.label} ({s.description})", "count": s.count, "width": round(s.count / widest * 360, 1),
         "moved_by_hand": s.moved_by_hand, "stage": s.stage}
        for s in pipeline
    ]  # fmt: skip
    tallest = max([d.sent for d in days] + [d.replies for d in days] + [1])
    day_bars = [
        {
            "label": f"{d.weekday[:3]} {d.day.day}",
            "sent": d.sent,
            "replies": d.replies,
            "sent_height": round(d.sent / tallest * 160, 1),
            "reply_height": round(d.replies / tallest * 160, 1),
        }
        for d in days
    ]
    most = max([t.replied for t in by_template] + [1])
    templates = [
        {"label": t.template, "replied": t.replied, "sent": t.sent, "rate": t.reply_rate,
         "width": round(t.replied / most * 300, 1)}
        for t in by_template
    ]  # fmt: skip
    return {"funnel": funnel_bars, "days": day_bars, "day_scale": tallest, "templates": templates}
