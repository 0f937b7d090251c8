"""One Jinja2 environment for every page (autoescape on: text from outside is always escaped)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

TEMPLATES = Path(__file__).parent / "templates"
pages = Jinja2Templates(directory=str(TEMPLATES))


def page(request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    """Render a template; every page also gets ``principal`` (who is signed in, or None) and
    ``csrf_token`` (to put in forms as ``csrf_token`` and in HTMX requests as ``X-CSRF-Token``)."""
    principal = getattr(request.state, "principal", None)
    values = {"principal": principal, "csrf_token": getattr(principal, "csrf_token", None) or ""}
    values.update(context or {})
    return pages.TemplateResponse(request, name, values, status_code=status_code)
