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
    return pages.TemplateResponse(request, name, context or {}, status_code=status_code)
