"""What the page modules share: template filters, form values, and errors as one line naming the field.

Importing this module registers the filters on the pages' Jinja environment (``web.render.pages``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from jinja2 import pass_context
from jinja2.runtime import Context
from pydantic import ValidationError
from pydantic.alias_generators import to_camel, to_snake
from starlette.datastructures import FormData

from leadline.analytics import render as numbers
from leadline.errors import LeadlineError
from leadline.prospects.stages import STAGE_LABELS
from leadline.schemas import field_errors
from leadline.web.render import pages


@pass_context
def local(context: Context, moment: datetime | None, fmt: str = "%a %d %b %Y %H:%M") -> str:
    """A stored UTC time in the configured zone (blank for none)."""
    if moment is None:
        return ""
    from datetime import UTC

    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    zone = context["request"].app.state.settings.zone
    return moment.astimezone(zone).strftime(fmt)


def stage_label(stage: str | None) -> str:
    return STAGE_LABELS.get(stage or "", stage or "")


def query(params: dict[str, Any], **changes: Any) -> str:
    """``?a=1&b=2`` from ``params`` with ``changes`` applied (None or "" drops a key)."""
    merged = {**params, **changes}
    kept = {key: value for key, value in merged.items() if value not in (None, "")}
    return "?" + urlencode(kept) if kept else "?"


pages.env.filters.update(
    number=numbers.number, pct=numbers.pct, money=numbers.money, signed=numbers.signed, points=numbers.points,
    minutes=numbers.minutes, interval=numbers.interval, line_value=numbers.line_value,
    line_change=numbers.line_change, line_target=numbers.line_target, local=local, stage_label=stage_label,
)  # fmt: skip
pages.env.globals.update(query=query, STAGE_LABELS=STAGE_LABELS)


class FormError(Exception):
    """A form's input was refused: ``field`` (the form's input name) and a one-line message."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def form_field(name: str | None) -> str | None:
    """The service's field name (camelCase, as in the API) as the form's input name (snake_case)."""
    if not name:
        return None
    return to_snake(name.split(".")[0])


def explain(error: Exception) -> FormError:
    """A service or validation error as one line naming the field: ``gridHealth: must be at most 100``."""
    if isinstance(error, FormError):
        return error
    if isinstance(error, ValidationError):
        problems = field_errors(error)
        first = problems[0] if problems else {"field": "", "message": "invalid input"}
        name = first["field"] or None
        return FormError(form_field(name), f"{name}: {first['message']}" if name else first["message"])
    if isinstance(error, LeadlineError):
        name = getattr(error, "field", None)
        message = str(error)
        errors = getattr(error, "errors", None) or []
        if not name and errors:
            name = errors[0].get("field")
        return FormError(form_field(name), f"{name}: {message}" if name and not message.startswith(name) else message)
    raise error


def text_values(form: FormData, *names: str) -> dict[str, str]:
    """The named text inputs of a form (missing ones left out), for a service's input model."""
    found: dict[str, str] = {}
    for name in names:
        value = form.get(name)
        if isinstance(value, str):
            found[name] = value
    return found


def camel_keys(values: dict[str, Any]) -> dict[str, Any]:
    return {to_camel(key): value for key, value in values.items()}
