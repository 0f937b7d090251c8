"""Text templates: kept in the database, with the emails' merge fields, rendered in the emails'
Jinja2 sandbox (``emails.templates``: no file access, StrictUndefined, a missing field named)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadline.clock import utc_now
from leadline.config import Settings
from leadline.emails import templates as sandbox
from leadline.errors import Conflict, NotFound
from leadline.prospects.models import Prospect
from leadline.texts.models import TextTemplate
from leadline.texts.schemas import TemplateWrite


class TextTemplateNotFound(NotFound):
    pass


def _compiled(name: str, body: str) -> sandbox.EmailTemplate:
    """The body as a one-off sandboxed template: syntax and unknown merge fields are refused here."""
    template = sandbox.written("text", "", body)
    template.name = name
    return template


def get(session: Session, name: str) -> TextTemplate:
    found = session.get(TextTemplate, name)
    if found is None:
        known = ", ".join(session.scalars(select(TextTemplate.name).order_by(TextTemplate.name).limit(50))) or "none"
        raise TextTemplateNotFound(f"no text template {name!r} (text templates: {known})", field="template")
    return found


def search(session: Session) -> Sequence[TextTemplate]:
    return session.scalars(select(TextTemplate).order_by(TextTemplate.name)).all()


def save(session: Session, data: TemplateWrite, *, actor: str, replace: bool = False) -> TextTemplate:
    """Add a template (or, with ``replace``, change one); its merge fields are checked first."""
    _compiled(data.name, data.body)
    found = session.get(TextTemplate, data.name, with_for_update=True)
    now = utc_now()
    if found is not None:
        if not replace:
            raise Conflict(f"a text template {data.name!r} exists already (edit it instead)", field="name")
        found.body, found.updated_at = data.body, now
        return found
    if replace:
        raise TextTemplateNotFound(f"no text template {data.name!r}", field="name")
    template = TextTemplate(name=data.name, body=data.body, created_by=actor, created_at=now, updated_at=now)
    session.add(template)
    session.flush()
    return template


def remove(session: Session, name: str) -> None:
    session.delete(get(session, name))
    session.flush()


def render(settings: Settings, name: str, body: str, prospect: Prospect) -> str:
    """The text ``prospect`` would get (MissingMergeField names every field they lack)."""
    rendered = sandbox.render(_compiled(name, body), prospect, settings)
    return rendered.text.strip()
