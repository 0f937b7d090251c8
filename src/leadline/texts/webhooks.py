"""``POST /webhooks/twilio/status`` (status callbacks) and ``/webhooks/twilio/sms`` (inbound texts).

Each post is refused before it is parsed when its body is over ``LEADLINE_TWILIO_MAX_BODY_BYTES``
(413), and refused with 403, changing nothing, unless ``X-Twilio-Signature`` is Twilio's for it: the
HMAC-SHA1 (keyed with ``LEADLINE_TWILIO_AUTH_TOKEN``) of the public URL Twilio called, built from
``LEADLINE_BASE_URL`` with the request's path and query, followed by the POST parameters sorted by
name (texts/signature.py). A signed post is stored and applied in one transaction before it is
answered: 200 (the inbound one with TwiML, answering HELP). An unknown number still gets 200: the
text is kept unmatched for an admin.
"""

from __future__ import annotations

from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from leadline.config import Settings
from leadline.texts import flows, service, signature
from leadline.webhooks.api import TooLarge, read_body

router = APIRouter(tags=["webhooks"])
MAX_PARAMS = 200


def _refuse(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


def public_url(settings: Settings, request: Request) -> str:
    """The URL Twilio called, as Twilio saw it: LEADLINE_BASE_URL, the path and the query as sent."""
    query = request.scope.get("query_string", b"").decode("latin-1")
    return settings.base_url + request.url.path + (f"?{query}" if query else "")


async def _signed_params(request: Request) -> dict[str, str] | JSONResponse:
    settings: Settings = request.app.state.settings
    try:
        body = await read_body(request, settings.twilio_max_body_bytes)
    except TooLarge:
        return _refuse(413, "too_large", f"the body is larger than {settings.twilio_max_body_bytes:,} bytes")
    token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else ""
    if not token:
        return _refuse(403, "forbidden", "no LEADLINE_TWILIO_AUTH_TOKEN is configured: every post is refused")
    given = request.headers.get(signature.HEADER)
    if not given:
        return _refuse(403, "forbidden", f"missing {signature.HEADER}")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ("application/x-www-form-urlencoded", ""):
        return _refuse(415, "unsupported", "Twilio posts application/x-www-form-urlencoded")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False,
                          max_num_fields=MAX_PARAMS)  # fmt: skip
    except (UnicodeDecodeError, ValueError):
        return _refuse(403, "forbidden", "the signature does not match the post")
    if not signature.valid(token, public_url(settings, request), pairs, given):
        return _refuse(403, "forbidden", "the signature does not match the post")
    return dict(pairs)


@router.post("/webhooks/twilio/status", summary="Twilio status callback (signed)")
async def twilio_status(request: Request) -> Response:
    params = await _signed_params(request)
    if isinstance(params, JSONResponse):
        return params
    settings: Settings = request.app.state.settings
    outcome = await run_in_threadpool(flows.take_callback, settings, "status", params)
    return JSONResponse({"outcome": str(outcome)})


def twiml(message: str | None) -> Response:
    inner = f"<Message>{escape(message)}</Message>" if message else ""
    xml = f'<?xml version="1.0" encoding="UTF-8"?><Response>{inner}</Response>'
    return Response(xml, media_type="text/xml")


@router.post("/webhooks/twilio/sms", summary="Twilio inbound text (signed); answers TwiML")
async def twilio_sms(request: Request) -> Response:
    params = await _signed_params(request)
    if isinstance(params, JSONResponse):
        return params
    settings: Settings = request.app.state.settings
    outcome = await run_in_threadpool(flows.take_callback, settings, "sms", params)
    assert isinstance(outcome, service.Received)
    return twiml(outcome.reply)
