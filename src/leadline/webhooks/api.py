"""``POST /webhooks/sendgrid`` (Event Webhook) and ``/webhooks/sendgrid/inbound`` (Inbound Parse).

Both answer 2xx only after what they received is committed to the database, and 5xx
when it could not be (SendGrid then retries; for Inbound Parse only a 5xx is retried,
a 4xx silently drops the mail, so 4xx is kept for posts that are not SendGrid's: a wrong
signature or secret, a body over the limit). A post that passed those checks but cannot be
read (not JSON events, not a readable reply) is stored as it came, answered 2xx, logged in
one line and counted by ``leadline webhooks stats``: a 5xx for its content would only make
SendGrid send it again for days. Parsing runs in a worker thread, never on the event loop.
"""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from leadline.config import Settings
from leadline.db import is_unavailable, unit_of_work
from leadline.fields import digits
from leadline.webhooks import flows, mailtext, replies, service
from leadline.webhooks.events import BadEvent, parse_batch
from leadline.webhooks.inbound import parse_post
from leadline.webhooks.security import inbound_token_ok, trusted_keys
from leadline.webhooks.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, too_old, verify

router = APIRouter(tags=["webhooks"])
log = logging.getLogger("leadline.webhooks")
mailtext.prepare()  # with the app, not during its first reply


def _refuse(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


class TooLarge(Exception):
    pass


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing more than ``limit`` bytes before reading it all."""
    declared = request.headers.get("content-length")
    if declared and digits(declared) and int(declared) > limit:
        raise TooLarge()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/webhooks/sendgrid", summary="SendGrid Event Webhook (signed)")
async def sendgrid_events(request: Request) -> JSONResponse:
    settings: Settings = request.app.state.settings
    verifying = settings.sendgrid_webhook_verify
    keys = trusted_keys(settings) if verifying else []
    signature = request.headers.get(SIGNATURE_HEADER)
    timestamp = request.headers.get(TIMESTAMP_HEADER)
    # What the headers alone can refuse is refused before a byte of the body is read.
    if verifying:
        if not keys:
            return _refuse(
                401, "unauthorized", "no verification key is configured (LEADLINE_SENDGRID_WEBHOOK_PUBLIC_KEY)"
            )
        if not signature or not timestamp:
            return _refuse(401, "unauthorized", f"missing {SIGNATURE_HEADER} or {TIMESTAMP_HEADER}")
        if too_old(timestamp, settings.sendgrid_webhook_max_age_seconds):
            return _refuse(403, "forbidden", "the signature timestamp is too old")
    try:
        body = await read_body(request, settings.webhook_max_body_bytes)
    except TooLarge:
        return _refuse(413, "too_large", f"the body is larger than {settings.webhook_max_body_bytes:,} bytes")
    if verifying and not verify(keys, signature or "", timestamp or "", body):
        return _refuse(403, "forbidden", "the signature does not match the body")
    try:
        items = await run_in_threadpool(parse_batch, body)
    except BadEvent as error:
        return JSONResponse(await run_in_threadpool(_keep_unreadable_events, settings, body, str(error)))
    try:
        counts = await run_in_threadpool(flows.store_and_apply, settings, items)
    except Exception as error:
        if is_unavailable(error):
            raise  # the database is away: 503, SendGrid retries
        return JSONResponse(await run_in_threadpool(_keep_unreadable_events, settings, body, _line(error)))
    return JSONResponse(counts)


def _line(error: BaseException) -> str:
    """An error in one short line: its first line only (a database error's next lines carry
    the statement and its parameters, which stay out of the log)."""
    first = (str(error).strip().splitlines() or [""])[0]
    return f"{type(error).__name__}: {' '.join(first.split())}"[:300]


def _keep_unreadable_events(settings: Settings, body: bytes, reason: str) -> dict[str, Any]:
    with unit_of_work(settings) as session:
        batch_id = service.store_unreadable_events(session, body, reason)
    log.warning("Event Webhook post of %d bytes not understood (%s); stored raw as %s", len(body), reason, batch_id)
    return {"received": 0, "new": 0, "duplicates": 0, "applied": 0, "unmatched": 0, "failed": 0,
            "unreadable": batch_id}  # fmt: skip


def _inbound_authorised(request: Request, token: str | None) -> bool:
    settings: Settings = request.app.state.settings
    if token is not None:
        return inbound_token_ok(settings, token)
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return False
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    _, _, password = decoded.partition(":")
    return inbound_token_ok(settings, password)


async def _inbound(request: Request, token: str | None) -> JSONResponse:
    settings: Settings = request.app.state.settings
    if not _inbound_authorised(request, token):
        headers = {"WWW-Authenticate": 'Basic realm="leadline inbound"'} if token is None else None
        response = _refuse(401 if token is None else 403, "unauthorized", "wrong or missing inbound secret")
        if headers:
            response.headers.update(headers)
        return response
    try:
        body = await read_body(request, settings.inbound_max_body_bytes)
    except TooLarge:
        return _refuse(413, "too_large", f"the message is larger than {settings.inbound_max_body_bytes:,} bytes")

    content_type = request.headers.get("content-type", "")
    try:
        parsed = await run_in_threadpool(parse_post, content_type, body)
    except Exception as error:  # whatever the post holds, it is kept for a person, never a 5xx
        return await run_in_threadpool(_keep_unreadable_reply, settings, content_type, body, _line(error))

    def store() -> replies.InboundResult:
        with unit_of_work(settings) as session:
            return replies.receive_reply(session, settings, parsed)

    try:
        result = await run_in_threadpool(store)
    except Exception as error:
        if is_unavailable(error):
            raise  # the database is away: 503, SendGrid retries
        return await run_in_threadpool(_keep_unreadable_reply, settings, content_type, body, _line(error))
    return _inbound_answer(result)


def _inbound_answer(result: replies.InboundResult) -> JSONResponse:
    return JSONResponse(
        {
            "id": result.id,
            "status": result.status,
            "emailId": result.email_id,
            "prospectId": result.prospect_id,
            "duplicate": result.duplicate,
        }
    )


def _keep_unreadable_reply(settings: Settings, content_type: str, body: bytes, reason: str) -> JSONResponse:
    with unit_of_work(settings) as session:
        result = replies.store_unreadable_reply(session, content_type, body, reason)
    log.warning("Inbound Parse post of %d bytes not understood (%s); stored raw as %s", len(body), reason, result.id)
    return _inbound_answer(result)


@router.post("/webhooks/sendgrid/inbound/{token}", summary="SendGrid Inbound Parse (secret in the path)")
async def inbound_with_token(request: Request, token: str) -> JSONResponse:
    return await _inbound(request, token)


@router.post("/webhooks/sendgrid/inbound", summary="SendGrid Inbound Parse (secret as basic-auth password)")
async def inbound_with_basic_auth(request: Request) -> JSONResponse:
    return await _inbound(request, None)
