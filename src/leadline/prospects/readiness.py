"""Which email templates an import's prospects could not be sent, and for lack of what.

Derived from the templates themselves, not from a list kept here: each template (the built-ins,
and the user's own folder) is rendered for a stand-in of the prospect, and the merge fields it
reports missing (``emails.templates.MissingMergeField``) are what that prospect lacks. Prospects
that lack the same fields render alike, so each combination is rendered once per template.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sqlalchemy.orm import Session

from leadline.config import Settings
from leadline.db import settings_of
from leadline.emails import templates as email_templates

#: The prospect's fields a template may read (``emails.templates.merge_fields``).
READ = (
    "name", "contact_name", "trade", "city", "state", "website", "phone", "email", "grid_health", "critical_gaps",
    "gaps", "top_competitor", "competitor_health", "deal_value",
)  # fmt: skip
#: Merge fields that do not come from the prospect: given, so only the prospect's gaps count.
_NOT_THE_PROSPECTS = {"proposalValue": "1,000", "senderName": "Sender", "senderEmail": "sender@example.com"}


def _value(target: Any, name: str) -> Any:
    return target.get(name) if isinstance(target, dict) else getattr(target, name, None)


class Readiness:
    """Counts, over the prospects an import wrote, the merge fields templates need and they lack."""

    def __init__(self, templates: list[Any], settings: Settings | None = None) -> None:
        self.templates = templates
        self.settings = settings
        self._cache: dict[tuple[bool, ...], dict[str, list[str]]] = {}
        self._counts: dict[str, int] = {}
        self._needed_by: dict[str, set[str]] = {}

    @classmethod
    def for_session(cls, session: Session) -> Readiness:
        try:
            settings = settings_of(session)
        except Exception:  # a session made without a unit of work: nothing to check against
            return cls([])
        loaded = []
        try:
            names = email_templates.names(settings)
        except email_templates.TemplateError:
            return cls([], settings)
        for name in names:
            try:
                loaded.append(email_templates.load(settings, name))
            except email_templates.TemplateError:
                continue  # a broken template of the user's is reported where it is used
        return cls(loaded, settings)

    def add(self, prospect: Any) -> None:
        """One prospect as written (an ORM object or a new row)."""
        if not self.templates:
            return
        values = {name: _value(prospect, name) for name in READ}
        signature = tuple(value is None or value == "" or value == [] for value in values.values())
        lacking = self._cache.get(signature)
        if lacking is None:
            lacking = self._cache[signature] = self._render(values)
        for field, names in lacking.items():
            self._counts[field] = self._counts.get(field, 0) + 1
            self._needed_by.setdefault(field, set()).update(names)

    def _render(self, values: dict[str, Any]) -> dict[str, list[str]]:
        stand_in = SimpleNamespace(id="import-preview", **values)
        lacking: dict[str, list[str]] = {}
        assert self.settings is not None
        for template in self.templates:
            try:
                email_templates.render(template, stand_in, self.settings, dict(_NOT_THE_PROSPECTS))
            except email_templates.MissingMergeField as missing:
                for field in missing.field_names:
                    lacking.setdefault(field, []).append(template.name)
            except Exception:  # noqa: S112 - a template failing for other reasons is no gap of the data
                continue
        return lacking

    def summary(self) -> list[dict[str, Any]]:
        """[{"field": "gridHealth", "count": 12, "templates": ["pain_point", ...]}], most first."""
        return [
            {"field": field, "count": count, "templates": sorted(self._needed_by[field])}
            for field, count in sorted(self._counts.items(), key=lambda item: (-item[1], item[0]))
        ]


def describe(item: dict[str, Any]) -> str:
    """``12 prospects lack gridHealth: pain_point, solution cannot be sent to them``."""
    count = item["count"]
    names = item["templates"]
    joined = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return (
        f"{count:,} prospect{'s' if count != 1 else ''} lack{'s' if count == 1 else ''} {item['field']}: "
        f"{joined} cannot be sent to {'them' if count != 1 else 'it'}"
    )
