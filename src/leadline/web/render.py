"""One Jinja2 environment for every page (autoescape on: text from outside is always escaped),
its filters and globals (registered here, once), and the one way a page reaches the app's settings.

Times: a stored UTC moment is shown in the configured zone, named, with ``local_dt`` (``full``:
``Tue 2 Dec 2026 15:00 CST``; ``short``: ``2 Dec 15:00 CST``; ``time``: ``15:00:03 CST``; ``input``: the value of an
``<input type="datetime-local">``), a day with ``local_date`` (``full``: ``2 Dec 2026``; ``input``:
``2026-12-02``); none is shown as "—". ``local_day`` is the weekly report's own (that template is
also rendered outside a request, by ``analytics.render``).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context

from leadline import money
from leadline.analytics import render as numbers
from leadline.config import Settings
from leadline.prospects.stages import STAGE_LABELS
from leadline.senders import health
from leadline.times import moment_text
from leadline.words import counted

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
pages = Jinja2Templates(directory=str(TEMPLATES))
NONE = "—"
Answer = TypeVar("Answer", bound=Response)


def settings_of(request: Request) -> Settings:
    """The settings of the app serving ``request`` (``create_app(settings)``): the one way pages read them."""
    found: Settings = request.app.state.settings
    return found


def page(request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    """Render a template; every page also gets ``principal`` (who is signed in, or None) and
    ``csrf_token`` (to put in forms as ``csrf_token`` and in HTMX requests as ``X-CSRF-Token``)."""
    principal = getattr(request.state, "principal", None)
    values = {"principal": principal, "csrf_token": getattr(principal, "csrf_token", None) or ""}
    values.update(context or {})
    response = pages.TemplateResponse(request, name, values, status_code=status_code)
    return cache_rules(request, response)


def cache_rules(request: Request, response: Answer) -> Answer:
    """A URL may answer a whole page or, to htmx, a fragment of it: caches must keep them apart
    (``Vary``), and a fragment is never kept at all, so Back and Forward always get whole pages."""
    response.headers["Vary"] = ", ".join(
        v for v in (response.headers.get("Vary"), "HX-Request, HX-Target, HX-History-Restore-Request") if v
    )
    if request.headers.get("hx-request"):
        response.headers["Cache-Control"] = "no-store"
    return response


# --- filters -----------------------------------------------------------------------------------


def _local(context: Context, moment: datetime) -> datetime:
    if moment.tzinfo is None:  # stored naive (SQLite): UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(settings_of(context["request"]).zone)


@pass_context
def local_dt(context: Context, moment: datetime | None, style: str = "full") -> str:
    """A UTC moment in the configured zone: ``Tue 2 Dec 2026 15:00 CST`` (see the module's docstring)."""
    if moment is None:
        return NONE
    if style == "input":
        return _local(context, moment).strftime("%Y-%m-%dT%H:%M")
    return moment_text(moment, settings_of(context["request"]).zone, style)


@pass_context
def their_time(context: Context, moment: datetime | None, zone_name: str | None) -> str:
    """The same moment on the prospect's clock, ``16:00 EST their time``, when their zone is known
    and its clock differs from ours then (else empty)."""
    if moment is None or not zone_name:
        return ""
    try:
        theirs = _local(context, moment).astimezone(ZoneInfo(zone_name))
    except (ZoneInfoNotFoundError, ValueError):
        return ""
    if theirs.utcoffset() == _local(context, moment).utcoffset():
        return ""
    day = "" if theirs.date() == _local(context, moment).date() else f"{theirs:%a} "
    return f"{day}{theirs:%H:%M %Z} their time"


@pass_context
def local_date(context: Context, moment: datetime | date | None, style: str = "full") -> str:
    """A day (a moment's day in the configured zone): ``2 Dec 2026``, or ``2026-12-02`` for an input."""
    if moment is None:
        return NONE
    if isinstance(moment, datetime):
        moment = _local(context, moment).date()
    if style == "input":
        return moment.isoformat()
    return f"{moment.day} {moment:%b %Y}"


def duration(seconds: int | None) -> str:
    """A call's length (seconds) as ``25 min`` or ``1 h 05 min``."""
    if seconds is None:
        return NONE
    whole = round(seconds / 60)
    return f"{whole} min" if whole < 60 else f"{whole // 60} h {whole % 60:02d} min"


def stage_label(stage: str | None) -> str:
    return STAGE_LABELS.get(stage or "", stage or "")


def query(params: dict[str, Any], **changes: Any) -> str:
    """``?a=1&b=2`` from ``params`` with ``changes`` applied (None or "" drops a key)."""
    merged = {**params, **changes}
    kept = {key: value for key, value in merged.items() if value not in (None, "")}
    return "?" + urlencode(kept) if kept else "?"


pages.env.filters.update(
    number=numbers.number, pct=numbers.pct, signed=numbers.signed, points=numbers.points,
    minutes=numbers.minutes, interval=numbers.interval, line_value=numbers.line_value,
    line_previous=numbers.line_previous, line_change=numbers.line_change, line_target=numbers.line_target,
    local_day=numbers.local_day, moment_in=numbers.moment_in, local_dt=local_dt, their_time=their_time,
    local_date=local_date, duration=duration, stage_label=stage_label, counted=counted,
)  # fmt: skip
pages.env.filters["health_page"] = health.page_link  # a sender-health figure's list, as a page


@pass_context
def price(context: Context, value: float | None, per: str = "") -> str:
    """Money in the configured currency: ``$2,400``, ``$2,400/month`` (``per="month"``)."""
    return money.amount(value, settings_of(context["request"]).currency, per)


@pass_context
def our_zone(context: Context) -> str:
    """The zone times are shown and typed in (``LEADLINE_TIMEZONE``), for labels: ``America/Chicago``."""
    return settings_of(context["request"]).timezone


def static_version(path: str) -> str:
    """A digest of the static file at ``path`` (under /static/), worked out again only when the file
    changes (its size or modification time): a file edited while the server runs gets a new one."""
    found = (STATIC / path).stat()
    return _digest(path, found.st_mtime_ns, found.st_size)


@cache
def _digest(path: str, _mtime_ns: int, _size: int) -> str:
    return hashlib.sha256((STATIC / path).read_bytes()).hexdigest()[:12]


def static(path: str) -> str:
    """A static file's address naming its content, ``/static/app.js?v=1f2e...``: a browser may keep
    it for good (:class:`leadline.app.StaticFiles`), and a release that changes the file names a
    new address, so no page runs with last release's script or styles."""
    return f"/static/{path}?v={static_version(path)}"


pages.env.globals.update(query=query, STAGE_LABELS=STAGE_LABELS, our_zone=our_zone, static=static)
pages.env.filters["price"] = price
