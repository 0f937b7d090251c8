"""Sending a text, and taking Twilio's callbacks: work of several units of work (docs/architecture.md,
"Flows"). Shells and jobs call these; services never do.

A send: plan and claim (one transaction: every rule checked, one from today's cap, the text's row
under its idempotency key), hand it to the backend outside any transaction, then record what the
backend said (one transaction). A text is claimed once, so it is never sent twice; a hand-over whose
outcome was lost stays ``unknown`` and is never retried on its own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from leadline.clock import utc_now
from leadline.config import Settings
from leadline.db import unit_of_work
from leadline.ids import new_id
from leadline.texts import service
from leadline.texts.backends import BackendRefused, BackendUnavailable, TextBackend, get_backend
from leadline.texts.models import TwilioCallback
from leadline.texts.schemas import Preview, TextRead

log = logging.getLogger("leadline.texts")


@dataclass
class Sent:
    preview: Preview
    text: TextRead | None  # None for a dry run
    dry_run: bool

    def as_dict(self) -> dict[str, Any]:
        return {"dryRun": self.dry_run, "preview": self.preview.dump(), "text": self.text.dump() if self.text else None}


def status_callback_url(settings: Settings) -> str:
    return f"{settings.base_url}/webhooks/twilio/status"


def send(
    settings: Settings, prospect_id: str, template: str, *, actor: str, dry_run: bool = False,
    backend: TextBackend | None = None, enrollment: tuple[str, int] | None = None,
) -> Sent:  # fmt: skip
    """Send ``template`` to ``prospect_id`` now, if every rule allows it (else the rule's error)."""
    if dry_run:  # what would be sent, and every rule that would stop it now
        with unit_of_work(settings, readonly=True) as session:
            planned = service.plan(session, settings, prospect_id, template, enrollment=enrollment, strict=False)
            return Sent(planned.preview(settings), None, True)
    own = backend is None
    chosen = backend or get_backend(settings)  # a missing setting is refused here, before anything is claimed
    try:
        with unit_of_work(settings) as session:
            planned = service.plan(session, settings, prospect_id, template, enrollment=enrollment)
            preview = planned.preview(settings)
            message = service.claim(session, settings, planned, actor=actor, enrollment=enrollment)
            text_id, to, body = message.id, planned.to, planned.body
        assert to is not None
        try:
            handed = chosen.send(to, body, status_callback=status_callback_url(settings))
        except BackendRefused as error:
            with unit_of_work(settings) as session:
                service.record_failed(session, settings, text_id, error=error.message, code=error.twilio_code,
                                      definite=True)  # fmt: skip
            raise
        except BackendUnavailable as error:
            with unit_of_work(settings) as session:
                service.record_failed(session, settings, text_id, error=error.message, code=None, definite=False)
            raise
    finally:
        if own:
            chosen.close()
    with unit_of_work(settings) as session:
        message = service.record_sent(session, text_id, sid=handed.sid, status=handed.status,
                                      from_number=handed.from_number)  # fmt: skip
        return Sent(preview, service.read(message), False)


# --- Twilio's callbacks: kept, then applied (one transaction: what 200 promises) ---------------------


def _dedup_key(kind: str, params: dict[str, str]) -> str:
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    if kind == "status":
        return f"status:{sid}:{(params.get('MessageStatus') or params.get('SmsStatus') or '').lower()}"[:200]
    return f"sms:{sid}"[:200] if sid else f"sms:none:{new_id('x')}"


def take_callback(settings: Settings, kind: str, params: dict[str, str]) -> service.Received | str:
    """Store Twilio's post and apply it in one transaction; a repeat (same message and status) is
    recognised and changes nothing. Returns the inbound outcome, or the status callback's."""
    # What is stored is text PostgreSQL takes (no NUL), bounded: the signature was checked on the raw post.
    params = {name.replace("\x00", "")[:100]: value.replace("\x00", "")[:5000] for name, value in params.items()}
    try:
        with unit_of_work(settings) as session:
            with session.begin_nested():
                row = TwilioCallback(id=new_id("twl"), kind=kind, dedup_key=_dedup_key(kind, params),
                                     params=params, received_at=utc_now())  # fmt: skip
                session.add(row)
                session.flush()
            if kind == "status":
                outcome: service.Received | str = service.apply_status(session, params)
                row.outcome = str(outcome)[:200]
            else:
                outcome = service.receive(session, settings, params)
                row.outcome = f"{outcome.outcome} {outcome.text_id or outcome.reason or ''}".strip()[:200]
                if outcome.reason:
                    log.warning("Twilio inbound text not understood (%s); kept as %s", outcome.reason, row.id)
            return outcome
    except IntegrityError:
        log.info("Twilio %s callback repeated (%s): already taken", kind, _dedup_key(kind, params))
        return service.Received("duplicate") if kind == "sms" else "duplicate"
