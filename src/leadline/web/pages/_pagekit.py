"""Helpers shared by the board, calls, customers, reports and settings pages.

* ``form_values``: a submitted form as a dict, blanks dropped (blank = "not given");
* ``errors_of``: a domain error or a Pydantic error as ``{field: message}`` plus one line;
* Jinja filters for dates and durations (``local_dt``, ``local_date``, ``duration``), registered on the
  pages' environment beside ``_common``'s number formats.

Every page calls the same service functions as the CLI and the API; a refused change is caught
*outside* its unit of work, so the transaction has rolled back and nothing changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from fastapi import Request
from jinja2 import pass_context
from jinja2.runtime import Context
from pydantic import ValidationError

from leadline.config import Settings
from leadline.errors import LeadlineError
from leadline.schemas import field_errors
from leadline.web.render import pages


def settings_of(request: Request) -> Settings:
    found: Settings = request.app.state.settings
    return found


async def form_values(request: Request, *, keep_blank: tuple[str, ...] = ()) -> dict[str, str]:
    """The form's fields (the CSRF token left out); blank fields are dropped unless named in ``keep_blank``."""
    form = await request.form()
    values: dict[str, str] = {}
    for name, value in form.multi_items():
        if name == "csrf_token" or not isinstance(value, str):
            continue
        text = value.strip()
        if text or name in keep_blank:
            values[name] = text
    return values


@dataclass
class FormErrors:
    """What was wrong with a form: per field, and as the one line shown at the top."""

    fields: dict[str, str] = field(default_factory=dict)
    line: str = ""
    status: int = 422

    def __bool__(self) -> bool:
        return bool(self.line)


def errors_of(error: Exception) -> FormErrors:
    if isinstance(error, ValidationError):
        items = field_errors(error)
        found = FormErrors(status=422)
        for item in items:
            found.fields.setdefault(item["field"], item["message"])
        found.line = "; ".join(f"{i['field']}: {i['message']}" for i in items)
        return found
    if isinstance(error, LeadlineError):
        found = FormErrors(status=error.status_code)
        items = getattr(error, "errors", None) or []
        for item in items:
            if item.get("field"):
                found.fields.setdefault(item["field"], item["message"])
        if error.field:
            found.fields.setdefault(error.field, error.message)
        found.line = str(error)
        return found
    raise error


# --- filters -----------------------------------------------------------------------------------


@pass_context
def local_dt(context: Context, moment: datetime | None, style: str = "full") -> str:
    """A UTC moment in the configured zone: ``Tue 2 Dec 2026 15:00``."""
    if moment is None:
        return "—"
    zone = context["request"].app.state.settings.zone
    local = moment.astimezone(zone)
    if style == "input":  # the value of an <input type="datetime-local">
        return local.strftime("%Y-%m-%dT%H:%M")
    if style == "time":
        return local.strftime("%H:%M")
    return f"{local:%a} {local.day} {local:%b %Y %H:%M}"


@pass_context
def local_date(context: Context, moment: datetime | date | None, style: str = "full") -> str:
    if moment is None:
        return "—"
    if isinstance(moment, datetime):
        moment = moment.astimezone(context["request"].app.state.settings.zone).date()
    if style == "input":
        return moment.isoformat()
    return f"{moment.day} {moment:%b %Y}"


def duration(seconds: int | None) -> str:
    """A call's length (seconds) as ``25 min`` or ``1 h 05 min``."""
    if seconds is None:
        return "—"
    whole = round(seconds / 60)
    return f"{whole} min" if whole < 60 else f"{whole // 60} h {whole % 60:02d} min"


def _register() -> None:
    """This module's own filters; the report's number formats (``money``, ``pct``...) are registered
    once by ``_common``, imported here so that they are there whichever page module loads first."""
    from leadline.analytics import render
    from leadline.web.pages import _common  # noqa: F401  (registers the shared filters)

    pages.env.filters.update(local_dt=local_dt, local_date=local_date, duration=duration, local_day=render.local_day)


_register()
