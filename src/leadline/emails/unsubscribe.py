"""``/unsubscribe/{token}``: the page behind every email's unsubscribe link and header.

GET shows a confirmation button (link scanners fetch GET links; they must not
unsubscribe anyone). POST unsubscribes at once: the button, and the one-click POST
mail providers send for ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from leadline.clock import utc_now
from leadline.db import unit_of_work
from leadline.emails import service
from leadline.emails.message import read_unsubscribe_token
from leadline.errors import NotFound
from leadline.web.render import page

router = APIRouter(tags=["unsubscribe"], include_in_schema=False)


def _address(request: Request, token: str) -> tuple[str, str] | None:
    settings = request.app.state.settings
    email_id = read_unsubscribe_token(settings, token)
    if email_id is None:
        return None
    with unit_of_work(settings, readonly=True) as session:
        try:
            email = service.get(session, email_id)
        except NotFound:
            return None
        return email.id, email.to_email


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
def confirm(request: Request, token: str) -> HTMLResponse:
    found = _address(request, token)
    sender = request.app.state.settings.sender_name
    if found is None:
        return page(request, "public/unsubscribe.html", {"state": "invalid"}, status_code=404)
    return page(request, "public/unsubscribe.html", {"state": "ask", "address": found[1], "sender": sender})


@router.post("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe(request: Request, token: str) -> HTMLResponse:
    settings = request.app.state.settings
    found = _address(request, token)
    if found is None:
        return page(request, "public/unsubscribe.html", {"state": "invalid"}, status_code=404)
    email_id, address = found
    with unit_of_work(settings) as session:
        service.suppress(
            session, address, "unsubscribe", source="unsubscribe link", actor="recipient", email_id=email_id
        )
        email = service.get(session, email_id, for_update=True)
        if email.unsubscribed_at is None:
            email.unsubscribed_at = utc_now()
    return page(
        request,
        "public/unsubscribe.html",
        {"state": "done", "address": address, "sender": settings.sender_name},
    )
