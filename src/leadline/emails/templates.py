"""Email templates: built-ins, the user's own folder, sandboxed rendering, merge fields.

A template file looks like an email: header lines (``Subject:``, ``Type:``), a blank
line, then the plain-text body. ``NAME.html`` beside ``NAME.txt`` adds an HTML part.
Files in ``LEADLINE_TEMPLATES_DIR`` override the built-ins of the same name.

Templates run in Jinja2's sandbox: no attribute access to Python internals, no
file access (there is no loader, so no include/import/extends). A merge field the
prospect does not have is an error that names the template, the field and the
prospect, found before anything is sent.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from leadline.booking import links as booking_links
from leadline.config import Settings
from leadline.errors import Invalid, NotFound

BUILTIN_DIR = Path(__file__).parent / "builtin"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")

#: Merge fields a template may use. Descriptions are shown by `leadline templates show`.
MERGE_FIELDS: dict[str, str] = {
    "name": "the business name",
    "contact": "the contact's full name",
    "firstName": "the contact's first name (or 'there' when unknown)",
    "trade": "the trade, e.g. plumbing",
    "city": "the city",
    "state": "the state or region",
    "website": "the website",
    "phone": "the phone number",
    "email": "the prospect's email address",
    "gridHealth": "grid health score, 0-100",
    "criticalGaps": "number of critical gaps",
    "gaps": "the list of gaps (use a for loop)",
    "topCompetitor": "the strongest local competitor",
    "competitorHealth": "the competitor's grid health",
    "weeklyOpportunity": "computed: estimated weekly revenue behind the visibility gap, e.g. 1,200",
    "dealValue": "estimated monthly deal value",
    "proposalValue": "the proposal's monthly value (proposal emails)",
    "proposalUrl": "the private link to the proposal document (proposal emails sent by `leadline proposals send ID`)",
    "senderName": "your name (LEADLINE_SENDER_NAME)",
    "senderEmail": "your address (LEADLINE_SENDER_EMAIL)",
    "booking_url": "the prospect's own booking page (for this sender): they pick a time for a call",
    "bookingUrl": "the same as booking_url",
}

#: Weekly revenue (USD) behind one point of grid health, by trade. A ten-point gap for a
#: plumber is about $230 a week of calls that go to better-listed competitors.
WEEKLY_VALUE_PER_POINT: dict[str, float] = {
    "plumbing": 23, "hvac": 25, "electrical": 20, "roofing": 30, "landscaping": 12, "pest control": 14,
    "garage doors": 16, "painting": 14, "tree service": 15, "water damage": 28,
}  # fmt: skip
DEFAULT_VALUE_PER_POINT = 18.0


class TemplateNotFound(NotFound):
    pass


class TemplateError(Invalid):
    """A template that cannot be used: bad syntax, a forbidden operation, an unknown field."""


class TemplateForbidden(TemplateError):
    """The template tried something the sandbox forbids: refused for every prospect alike."""


class MissingMergeField(Invalid):
    """A prospect lacks fields the template needs (every one of them, in the order they appear)."""

    def __init__(self, template: str, field_names: list[str], prospect_id: str) -> None:
        named = field_names[0] if len(field_names) == 1 else f"{', '.join(field_names[:-1])} and {field_names[-1]}"
        super().__init__(
            f"template {template!r} needs {named}, which prospect {prospect_id!r} does not have",
            field=field_names[0],
        )
        self.template = template
        self.field_name = field_names[0]
        self.field_names = field_names
        self.prospect_id = prospect_id


class _Missing:
    """Stands in for a field the prospect lacks: falsy in ``{% if %}``, an error when printed."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __bool__(self) -> bool:
        return False

    def __iter__(self) -> Any:
        return iter(())

    def __str__(self) -> str:
        return _printed(self.name)


class _MissingPrinted(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


#: The missing fields one render printed (render sets it): every one is collected, so one error names
#: them all; outside a render, printing a missing field raises at once.
_PRINTED_MISSING: ContextVar[list[str] | None] = ContextVar("printed_missing", default=None)


def _printed(name: str) -> str:
    found = _PRINTED_MISSING.get()
    if found is None:
        raise _MissingPrinted(name)
    if name not in found:
        found.append(name)
    return ""


def _finalize(value: Any) -> Any:
    if isinstance(value, _Missing):
        return _printed(value.name)
    return value


def _environment(*, html: bool) -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        undefined=StrictUndefined,
        autoescape=html,
        finalize=_finalize,
        keep_trailing_newline=True,
        trim_blocks=True,
    )
    return env


_TEXT_ENV = _environment(html=False)
_HTML_ENV = _environment(html=True)


@dataclass
class EmailTemplate:
    name: str
    email_type: str
    subject: str
    body: str
    html: str | None
    source: str  # "built-in" or the file path
    body_line: int = 1  # where the body starts in the file, for error messages
    fields: set[str] = field(default_factory=set)

    def compiled(self) -> tuple[Any, Any, Any]:
        return _compile(self.name, self.subject, self.body, self.html or "")


@lru_cache(maxsize=256)
def _compile(name: str, subject: str, body: str, html: str) -> tuple[Any, Any, Any]:
    try:
        return (
            _TEXT_ENV.from_string(subject),
            _TEXT_ENV.from_string(body),
            _HTML_ENV.from_string(html) if html else None,
        )
    except TemplateSyntaxError as error:
        raise TemplateError(f"{name!r} line {error.lineno}: {error.message}", field="template") from None


def _parse(name: str, text: str, source: str, html: str | None) -> EmailTemplate:
    headers: dict[str, str] = {}
    lines = text.replace("\r\n", "\n").split("\n")
    index = 0
    while index < len(lines) and lines[index].strip():
        key, sep, value = lines[index].partition(":")
        if not sep:
            raise TemplateError(
                f"{name!r} ({source}) line {index + 1}: expected 'Header: value' "
                "lines (Subject:, Type:), then a blank line, then the body",
                field="template",
            )
        headers[key.strip().lower()] = value.strip()
        index += 1
    body = "\n".join(lines[index + 1 :]).strip("\n") + "\n"
    subject = headers.get("subject", "")
    if not subject:
        raise TemplateError(f"{name!r} ({source}) has no Subject: line", field="template")
    template = EmailTemplate(
        name=name,
        email_type=headers.get("type", name),
        subject=subject,
        body=body,
        html=html,
        source=source,
        body_line=index + 2,
    )
    template.fields = _check(template)
    return template


def written(kind: str, subject: str, body: str) -> EmailTemplate:
    """A message a person wrote (``kind``: composed or reply), as a one-off template: its merge
    fields work, and are checked, as in any template."""
    template = EmailTemplate(
        name=kind, email_type=kind, subject=subject, body=body.strip("\n") + "\n", html=None, source="written"
    )
    template.fields = _check(template)
    return template


def _check(template: EmailTemplate) -> set[str]:
    """Parse once: syntax errors and unknown merge fields are found before any send."""
    used: set[str] = set()
    parts = (
        (template.subject, template.source, 1 - 1),
        (template.body, template.source, template.body_line - 1),
        (template.html or "", template.source.removesuffix(".txt") + ".html", 0),
    )
    for part, where, offset in parts:
        if not part:
            continue
        try:
            ast = _TEXT_ENV.parse(part)
        except TemplateSyntaxError as error:
            raise TemplateError(
                f"{template.name!r} ({where}) line {(error.lineno or 1) + offset}: {error.message}", field="template"
            ) from None
        for node in ast.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)):
            raise TemplateError(
                f"{template.name!r} ({where}) line {node.lineno + offset}: templates cannot include or import "
                "other files",
                field="template",
            )
        used |= meta.find_undeclared_variables(ast)
    unknown = sorted(used - set(MERGE_FIELDS))
    if unknown:
        raise TemplateError(
            f"{template.name!r} ({template.source}) uses unknown merge field "
            f"{', '.join(unknown)}; known fields: {', '.join(MERGE_FIELDS)}",
            field="template",
        )
    template.compiled()
    return used


def _files(settings: Settings) -> dict[str, Path]:
    found = {path.stem: path for path in BUILTIN_DIR.glob("*.txt")}
    if settings.templates_dir:
        folder = Path(settings.templates_dir)
        if not folder.is_dir():
            raise TemplateError(f"LEADLINE_TEMPLATES_DIR {folder} is not a folder", field="templatesDir")
        for path in folder.glob("*.txt"):
            if NAME_RE.match(path.stem):
                found[path.stem] = path
    return found


def names(settings: Settings) -> list[str]:
    return sorted(_files(settings))


def load(settings: Settings, name: str) -> EmailTemplate:
    """The template called ``name`` (the user's folder first, then the built-ins)."""
    files = _files(settings)
    path = files.get(name)
    if path is None:
        raise TemplateNotFound(f"no template {name!r}; templates: {', '.join(sorted(files))}", field="template")
    html_path = path.with_suffix(".html")
    try:
        text = path.read_text(encoding="utf-8")
        html = html_path.read_text(encoding="utf-8") if html_path.is_file() else None
    except (OSError, UnicodeDecodeError) as error:
        raise TemplateError(f"cannot read template {name!r} ({path}): {error}", field="template") from None
    source = "built-in" if path.parent == BUILTIN_DIR else str(path)
    return _parse(name, text, source, html)


def weekly_opportunity(trade: str | None, grid_health: float | None) -> int | None:
    """Estimated weekly revenue behind the visibility gap, rounded to $50."""
    if grid_health is None:
        return None
    rate = WEEKLY_VALUE_PER_POINT.get((trade or "").lower(), DEFAULT_VALUE_PER_POINT)
    return int(round(max(0.0, 100 - grid_health) * rate / 50) * 50)


def _number(value: float | int | None) -> str | None:
    if value is None:
        return None
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def merge_fields(
    prospect: Any, settings: Settings, extra: dict[str, Any] | None = None, *, wanted: set[str] | None = None
) -> dict[str, Any]:
    """The values a template sees for ``prospect``; missing ones are stand-ins that refuse to print.
    ``wanted``: the fields the template uses (the booking link is signed only when it is one)."""
    contact = (prospect.contact_name or "").strip()
    values: dict[str, Any] = {
        "name": prospect.name,
        "contact": contact or None,
        "firstName": contact.split()[0] if contact else "there",
        "trade": prospect.trade,
        "city": prospect.city,
        "state": prospect.state,
        "website": prospect.website,
        "phone": prospect.phone,
        "email": prospect.email,
        "gridHealth": _number(prospect.grid_health),
        "criticalGaps": prospect.critical_gaps,
        "gaps": list(prospect.gaps or []) or None,
        "topCompetitor": prospect.top_competitor,
        "competitorHealth": _number(prospect.competitor_health),
        "weeklyOpportunity": _number(weekly_opportunity(prospect.trade, prospect.grid_health)),
        "dealValue": _number(prospect.deal_value),
        "proposalValue": None,
        "proposalUrl": None,
        "senderName": settings.sender_name,
        "senderEmail": settings.sender_email,
    }
    values.update(extra or {})
    if "booking_url" not in values and (wanted is None or wanted & {"booking_url", "bookingUrl"}):
        # per prospect and sender (``extra`` may name another sender)
        sender = str(values.get("senderEmail") or settings.sender_email)
        values["booking_url"] = booking_links.url(settings, str(prospect.id), sender)
    values.setdefault("bookingUrl", values.get("booking_url"))
    # A computed field is missing because of the field it is computed from: name that one.
    because = {"weeklyOpportunity": "gridHealth"}
    return {
        key: (_Missing(because.get(key, key)) if value is None or value == "" else value)
        for key, value in values.items()
    }


@dataclass
class Rendered:
    subject: str
    text: str
    html: str | None


def render(template: EmailTemplate, prospect: Any, settings: Settings, extra: dict[str, Any] | None = None) -> Rendered:
    """Fill ``template`` for ``prospect``. Raises MissingMergeField or TemplateError."""
    subject_t, body_t, html_t = template.compiled()
    missing: list[str] = []
    collecting = _PRINTED_MISSING.set(missing)
    try:
        context = merge_fields(
            prospect, settings, extra, wanted=template.fields
        )  # a stored value of an unexpected kind fails here
        subject = " ".join(subject_t.render(context).split())
        text = body_t.render(context)
        html = html_t.render(context) if html_t is not None else None
    except _MissingPrinted as printed:  # not collected (cannot happen while rendering): still named
        raise MissingMergeField(template.name, [*missing, printed.name], prospect.id) from None
    except SecurityError as error:
        raise TemplateForbidden(
            f"{template.name!r} tried something the sandbox forbids: {error}", field="template"
        ) from None
    except UndefinedError as error:
        raise TemplateError(f"{template.name!r}: {error.message}", field="template") from None
    except Exception as error:  # a template's own arithmetic or filter misuse
        if missing:  # on a value the prospect lacks, most likely: name the missing fields
            raise MissingMergeField(template.name, missing, prospect.id) from None
        raise TemplateError(
            f"{template.name!r} failed for prospect {prospect.id!r}: {error}", field="template"
        ) from None
    finally:
        _PRINTED_MISSING.reset(collecting)
    if missing:  # every field the prospect lacks, in one error
        raise MissingMergeField(template.name, missing, prospect.id)
    return Rendered(subject=subject, text=re.sub(r"\n{3,}", "\n\n", text).strip() + "\n", html=html)
