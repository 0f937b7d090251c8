"""A proposal's document: a sandboxed Jinja template (like the email templates) filled with the prospect's
research fields, the service, the monthly fee and an ROI section, rendered once per version and kept.

Templates: the built-in ``standard`` (``proposals/builtin/standard.html``), overridden by a file of the same
name in ``LEADLINE_TEMPLATES_DIR/proposals/`` (``NAME.html``). They run in Jinja2's sandbox with autoescape
and no loader (no include, import or extends); an unknown name is an error naming it, found before anything
is kept. What a template may use is :data:`FIELDS`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from leadline.config import Settings
from leadline.emails.templates import weekly_opportunity
from leadline.errors import Invalid, NotFound

BUILTIN = Path(__file__).parent / "builtin"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
SERVICE_NAMES = {
    "grid_health_analysis": "Local visibility and grid-health programme",
    "content_generation": "Content generation: weekly posts, job photos and reviews",
    "paid_ads": "Paid local ads, managed",
}

#: What a proposal template may use.
FIELDS: dict[str, str] = {
    "prospect": "the prospect's research fields: name, contact, firstName, trade, city, state, website, phone, "
    "email, gridHealth, criticalGaps, gaps (a list), topCompetitor, competitorHealth",
    "proposal": "title, serviceType, serviceName, monthlyFee (formatted), currency, intro, version, date",
    "roi": "weeklyOpportunity, monthlyOpportunity, annualOpportunity, annualFee, multiple (or none when the grid "
    "health is unknown)",
    "sender": "name, email",
}


class ProposalTemplateError(Invalid):
    pass


def _env() -> SandboxedEnvironment:
    return SandboxedEnvironment(
        undefined=StrictUndefined, autoescape=True, finalize=lambda v: "" if v is None else v, trim_blocks=True
    )


_ENV = _env()


def names(settings: Settings) -> list[str]:
    return sorted(_files(settings))


def _files(settings: Settings) -> dict[str, Path]:
    found = {p.stem: p for p in BUILTIN.glob("*.html")}
    if settings.templates_dir:
        folder = Path(settings.templates_dir) / "proposals"
        if folder.is_dir():
            found.update({p.stem: p for p in folder.glob("*.html") if NAME_RE.match(p.stem)})
    return found


def load(settings: Settings, name: str) -> str:
    path = _files(settings).get(name)
    if path is None:
        raise NotFound(f"no proposal template {name!r}; templates: {', '.join(names(settings))}", field="template")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ProposalTemplateError(f"cannot read proposal template {name!r}: {error}", field="template") from None


def check(name: str, source: str) -> None:
    """Syntax, no include/import/extends, only the known names."""
    try:
        ast = _ENV.parse(source)
    except TemplateSyntaxError as error:
        raise ProposalTemplateError(f"{name!r} line {error.lineno}: {error.message}", field="template") from None
    for node in ast.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)):
        raise ProposalTemplateError(
            f"{name!r} line {node.lineno}: templates cannot include or import other files", field="template"
        )
    unknown = sorted(meta.find_undeclared_variables(ast) - set(FIELDS))
    if unknown:
        raise ProposalTemplateError(
            f"{name!r} uses unknown field {', '.join(unknown)}; known: {', '.join(FIELDS)}", field="template"
        )


def _number(value: float | int | None) -> str | None:
    if value is None:
        return None
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def context(prospect: Any, *, title: str, service_type: str, monthly_fee: float, intro: str | None, version: int,
            date: str, settings: Settings) -> dict[str, Any]:  # fmt: skip
    contact = (prospect.contact_name or "").strip()
    weekly = weekly_opportunity(prospect.trade, prospect.grid_health)
    roi = None
    if weekly is not None:
        monthly = weekly * 52 / 12
        roi = {
            "weeklyOpportunity": _number(weekly),
            "monthlyOpportunity": _number(round(monthly, -1)),
            "annualOpportunity": _number(weekly * 52),
            "annualFee": _number(monthly_fee * 12),
            "multiple": f"{monthly / monthly_fee:.1f}" if monthly_fee else None,
        }
    return {
        "prospect": {
            "name": prospect.name, "contact": contact or None, "firstName": contact.split()[0] if contact else "there",
            "trade": prospect.trade, "city": prospect.city, "state": prospect.state, "website": prospect.website,
            "phone": prospect.phone, "email": prospect.email, "gridHealth": _number(prospect.grid_health),
            "criticalGaps": prospect.critical_gaps, "gaps": list(prospect.gaps or []),
            "topCompetitor": prospect.top_competitor, "competitorHealth": _number(prospect.competitor_health),
        },
        "proposal": {
            "title": title, "serviceType": service_type, "serviceName": SERVICE_NAMES.get(service_type, service_type),
            "monthlyFee": _number(monthly_fee), "currency": settings.currency, "intro": intro, "version": version,
            "date": date,
        },
        "roi": roi,
        "sender": {"name": settings.sender_name, "email": settings.sender_email},
    }  # fmt: skip


def render(name: str, source: str, values: dict[str, Any]) -> str:
    """The document's HTML (a fragment: one ``<article>``), exactly as it will be shown and hashed."""
    check(name, source)
    try:
        html = _ENV.from_string(source).render(values)
    except SecurityError as error:
        raise ProposalTemplateError(
            f"{name!r} tried something the sandbox forbids: {error}", field="template"
        ) from None
    except UndefinedError as error:
        raise ProposalTemplateError(f"{name!r}: {error.message}", field="template") from None
    except Exception as error:  # a template's own arithmetic or filter misuse
        raise ProposalTemplateError(f"{name!r} failed: {error}", field="template") from None
    return html.strip() + "\n"
