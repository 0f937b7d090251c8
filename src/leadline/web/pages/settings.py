"""``/settings``: integration status and the SendGrid URLs (everyone reads), users and API tokens
(admins manage; the same ``auth.service`` functions as ``leadline users ...`` / ``leadline tokens ...``
and ``/api/users`` / ``/api/tokens``).

No secret's value is ever on this page: the SendGrid API key, the Slack webhook URL, the SMTP
password and the secret key are shown as "set" or "not set"; the database and Redis URLs with
their passwords masked (``config.shown``, as ``leadline config`` shows them). The one exception is the Inbound
Parse URL, which *is* its secret and must be pasted into SendGrid: only admins see it. A new API
token and a new user's set-password link are shown once, on the page that answers the POST
(never in a URL, never stored).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from leadline.auth import service
from leadline.auth.deps import PageAdmin, PageUser, Principal
from leadline.auth.models import ROLES, SCOPES
from leadline.config import EDITABLE, Settings, shown
from leadline.db import unit_of_work
from leadline.errors import Invalid, LeadlineError
from leadline.names import camel
from leadline.senders import service as senders
from leadline.senders.schemas import PauseIn, ResumeIn, SenderCreate
from leadline.storedsettings import service as stored_service
from leadline.web.pages.forms import FormErrors, errors_of, read_form
from leadline.web.render import page, settings_of
from leadline.webhooks.security import event_webhook_url, inbound_url, simulator_key_path

router = APIRouter(include_in_schema=False)

DONE = {"role": "Role changed.", "removed": "User removed.", "revoked": "Token revoked.",
        "sender-paused": "Sender paused: its queued sends wait.", "sender-resumed": "Sender resumed."}  # fmt: skip

LABELS = {
    "weekly_email_goal": "Emails per week (goal)", "weekly_call_goal": "Calls per week (goal)",
    "weekly_deal_goal": "Deals per week (goal)", "target_sends_per_day": "Sends per day (target)",
    "target_open_rate": "Open rate (target, 0-1)", "target_reply_rate": "Reply rate (target, 0-1)",
    "target_call_conversion": "Call conversion (target, 0-1)",
    "target_deal_conversion": "Deal conversion (target, 0-1)", "daily_send_limit": "Daily send cap",
    "send_window_start": "Send window starts (HH:MM)", "send_window_end": "Send window ends (HH:MM, or 24:00)",
    "send_window_days": "Send window days", "stage_probabilities": "Stage probabilities (stage: 0-1)",
    "objection_categories": "Objection categories (category: words, ...)", "currency": "Currency",
    "weekly_digest": "Post the weekly digest", "digest_hour": "Digest hour (Monday, 0-23)",
}  # fmt: skip
MULTILINE = ("stage_probabilities", "objection_categories")
KEEP_BLANK = tuple(camel(name) for name in EDITABLE)  # a value cleared is refused, not silently kept


@dataclass
class Status:
    name: str
    state: str  # shown text: never a secret's value
    ok: bool
    note: str = ""


def _secret_set(value: Any) -> bool:
    return value is not None and bool(value.get_secret_value())


def integration_status(settings: Settings) -> list[Status]:
    backend = settings.email_backend
    key_set = _secret_set(settings.sendgrid_api_key)
    keys = len(settings.sendgrid_webhook_public_key)
    verify_note = "LEADLINE_SENDGRID_WEBHOOK_PUBLIC_KEY"
    if not settings.sendgrid_webhook_verify:
        verify_note += "; verification is OFF (LEADLINE_SENDGRID_WEBHOOK_VERIFY)"
    if simulator_key_path(settings).is_file():
        verify_note += "; the local simulator's key is trusted too"
    return [
        Status("Email backend", backend, True,
               {"outbox": f"writes .eml files to {settings.outbox_path}", "smtp": f"SMTP via {settings.smtp_host}",
                "sendgrid": "SendGrid Mail Send API"}[backend]),
        Status("SendGrid API key", "set" if key_set else "not set", key_set or backend != "sendgrid",
               "LEADLINE_SENDGRID_API_KEY" + ("" if key_set or backend != "sendgrid" else ": needed to send")),
        Status("Event Webhook verification key", f"set ({keys} key{'s' if keys != 1 else ''})" if keys else "not set",
               bool(keys) and settings.sendgrid_webhook_verify, verify_note),
        Status("Inbound Parse secret", "set" if _secret_set(settings.inbound_secret) else "derived from the secret key",
               True, "LEADLINE_INBOUND_SECRET"),
        Status("Reply domain", settings.reply_domain or "not set", bool(settings.reply_domain),
               "LEADLINE_REPLY_DOMAIN: per-email Reply-To addresses"),
        Status("Slack webhook", "set" if _secret_set(settings.slack_webhook_url) else "not set",
               _secret_set(settings.slack_webhook_url), "LEADLINE_SLACK_WEBHOOK_URL"),
        Status("Notification email", settings.notify_email or "not set", bool(settings.notify_email),
               "LEADLINE_NOTIFY_EMAIL"),
        Status("Sender", f"{settings.sender_name} <{settings.sender_email}>", bool(settings.sender_address),
               "postal address " + ("set" if settings.sender_address else "not set: LEADLINE_SENDER_ADDRESS")),
        Status("Database", shown("database_url", settings.database_url), True, "LEADLINE_DATABASE_URL"),
        Status("Job queue", shown("redis_url", settings.redis_url) if settings.redis_url else "SQLite (jobs.db)", True,
               "LEADLINE_REDIS_URL"),
        Status("Base URL", settings.base_url, settings.base_url.startswith("https://"),
               "LEADLINE_BASE_URL" + ("" if settings.base_url.startswith("https://") else ": SendGrid needs HTTPS")),
    ]  # fmt: skip


def _settings_page(request: Request, principal: Principal, *, flash: str = "", kind: str = "ok", form: str = "",
                   values: dict[str, str] | None = None, errors: FormErrors | None = None,
                   created_token: str = "", created_link: str = "", created_email: str = "") -> Response:  # fmt: skip
    settings = settings_of(request)
    context: dict[str, Any] = {
        "statuses": integration_status(settings), "event_url": event_webhook_url(settings),
        "inbound_url": inbound_url(settings) if principal.is_admin else "", "is_admin": principal.is_admin,
        "flash": flash, "flash_kind": kind, "form": form, "values": values or {}, "errors": errors,
        "roles": ROLES, "scopes": SCOPES, "created_token": created_token, "created_link": created_link,
        "created_email": created_email, "users": [], "tokens": [], "senders": [],
        "require_domain_auth": settings.require_domain_auth,
    }  # fmt: skip
    with unit_of_work(settings, readonly=True) as session:
        rows = stored_service.list_settings(session)
        context["changes"] = stored_service.history(session, limit=20)
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        typed = values if values is not None and form == f"values-{row.group}" else {}
        groups.setdefault(row.group, []).append({
            "name": row.field, "label": LABELS.get(row.name, row.field), "text": typed.get(row.field, row.text),
            "source": row.source, "env": row.env_name, "multiline": row.name in MULTILINE,
            "boolean": isinstance(row.value, bool), "updated_by": row.updated_by, "updated_at": row.updated_at,
        })  # fmt: skip
    context["setting_groups"] = groups
    if principal.is_admin:
        with unit_of_work(settings, readonly=True) as session:
            context["users"] = [
                {"email": u.email, "role": u.role, "has_password": bool(u.password_hash),
                 "last_login_at": u.last_login_at, "created_at": u.created_at}
                for u in service.list_users(session)
            ]  # fmt: skip
            context["tokens"] = list(service.list_tokens(session))
            context["senders"] = [senders.read(session, settings, s) for s in senders.all_senders(session)]
    response = page(request, "app/settings/index.html", context, errors.status if errors else 200)
    if created_token or created_link:
        response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/settings")
def settings_view(request: Request, principal: PageUser, done: str = "") -> Response:
    return _settings_page(request, principal, flash=DONE.get(done, ""))


def _done(code: str) -> RedirectResponse:
    return RedirectResponse(f"/settings?done={code}", status_code=303)


@router.post("/settings/values")
async def change_values(request: Request, principal: PageAdmin) -> Response:
    return await run_in_threadpool(_change_values, request, principal, await read_form(request, keep_blank=KEEP_BLANK))


def _change_values(request: Request, principal: Principal, values: dict[str, str]) -> Response:
    """One group's form: every value it shows that differs from the current one is stored, all or none."""
    group = values.pop("group", "")
    form = f"values-{group}"
    try:
        with unit_of_work(settings_of(request)) as session:
            changes = stored_service.set_settings(session, values, actor=principal.actor)
    except LeadlineError as error:
        return _settings_page(request, principal, form=form, values=values, errors=errors_of(error))
    said = "; ".join(f"{LABELS.get(name, name)}: {_text(old)} → {_text(new)}" for name, old, new in changes)
    return _settings_page(request, principal, flash=f"Saved. {said}." if changes else "Nothing changed.")


def _text(value: Any) -> str:
    from leadline.config import setting_text

    return setting_text("", value).replace("\n", "; ")


@router.post("/settings/users")
async def add_user(request: Request, principal: PageAdmin) -> Response:
    return await run_in_threadpool(_add_user, request, principal, await read_form(request))


def _add_user(request: Request, principal: Principal, values: dict[str, str]) -> Response:
    settings = settings_of(request)
    try:
        with unit_of_work(settings) as session:
            user = service.add_user(session, values.get("email", ""), values.get("role", "member"))
            link = service.set_password_link(session, settings, user)
            email = user.email
    except LeadlineError as error:
        return _settings_page(request, principal, form="user", values=values, errors=errors_of(error))
    return _settings_page(request, principal, flash=f"Added {email}.", created_link=link, created_email=email)


@router.post("/settings/users/role")
async def change_role(request: Request, principal: PageAdmin) -> Response:
    return await run_in_threadpool(_change_role, request, principal, await read_form(request))


def _change_role(request: Request, principal: Principal, values: dict[str, str]) -> Response:
    try:
        with unit_of_work(settings_of(request)) as session:
            service.change_role(session, values.get("email", ""), values.get("role", ""))
    except LeadlineError as error:
        problems = errors_of(error)
        return _settings_page(request, principal, flash=problems.line, kind="bad", errors=problems, form="users")
    return _done("role")


@router.post("/settings/users/remove")
async def remove_user(request: Request, principal: PageAdmin) -> Response:
    return await run_in_threadpool(_remove_user, request, principal, await read_form(request))


def _remove_user(request: Request, principal: Principal, values: dict[str, str]) -> Response:
    try:
        with unit_of_work(settings_of(request)) as session:
            service.remove_user(session, values.get("email", ""))
    except LeadlineError as error:
        problems = errors_of(error)
        return _settings_page(request, principal, flash=problems.line, kind="bad", errors=problems, form="users")
    return _done("removed")


@router.post("/settings/tokens")
async def create_token(request: Request, principal: PageAdmin) -> Response:
    return await run_in_threadpool(_create_token, request, principal, await read_form(request))


def _create_token(request: Request, principal: Principal, values: dict[str, str]) -> Response:
    try:
        with unit_of_work(settings_of(request)) as session:
            token, raw = service.create_token(session, values.get("name", ""), values.get("scope", "read"),
                                              principal.actor)  # fmt: skip
            name = token.name
    except LeadlineError as error:
        return _settings_page(request, principal, form="token", values=values, errors=errors_of(error))
    return _settings_page(request, principal, flash=f"Token {name!r} created.", created_token=raw)


@router.post("/settings/tokens/revoke")
async def revoke_token(request: Request, principal: PageAdmin) -> Response:
    return await run_in_threadpool(_revoke_token, request, principal, await read_form(request))


def _revoke_token(request: Request, principal: Principal, values: dict[str, str]) -> Response:
    try:
        token_id = values.get("id", "")
        if not token_id:
            raise Invalid("is required", field="token")
        with unit_of_work(settings_of(request)) as session:
            service.revoke_token(session, token_id)
    except LeadlineError as error:
        problems = errors_of(error)
        return _settings_page(request, principal, flash=problems.line, kind="bad", errors=problems, form="tokens")
    return _done("revoked")


# --- senders (admins; the same senders.service functions as ``leadline senders`` and /api/senders) ----------


@router.post("/settings/senders")
async def add_sender(request: Request, principal: PageAdmin) -> Response:
    return await run_in_threadpool(_add_sender, request, principal, await read_form(request))


def _add_sender(request: Request, principal: Principal, values: dict[str, str]) -> Response:
    given = {k: v for k, v in values.items() if k != "csrf_token" and v.strip()}
    try:
        data = SenderCreate.model_validate(given | {"name": given.get("name") or given.get("email", "")})
        with unit_of_work(settings_of(request)) as session:
            email = senders.add(session, data, actor=principal.actor).email
    except (LeadlineError, ValidationError) as error:
        return _settings_page(request, principal, form="sender", values=values, errors=errors_of(error))
    return _settings_page(request, principal, flash=f"Added sender {email}.")


@router.post("/settings/senders/pause")
async def pause_sender(request: Request, principal: PageAdmin) -> Response:
    return await run_in_threadpool(_sender_state, request, principal, await read_form(request), "pause")


@router.post("/settings/senders/resume")
async def resume_sender(request: Request, principal: PageAdmin) -> Response:
    return await run_in_threadpool(_sender_state, request, principal, await read_form(request), "resume")


def _sender_state(request: Request, principal: Principal, values: dict[str, str], action: str) -> Response:
    key = values.get("sender", "")
    try:
        with unit_of_work(settings_of(request)) as session:
            if action == "pause":
                senders.pause(session, key, PauseIn(reason=values.get("reason") or "paused by a person").reason,
                              actor=principal.actor)  # fmt: skip
            else:
                senders.resume(session, key, ResumeIn(note=values.get("note", "")).note, actor=principal.actor)
    except (LeadlineError, ValidationError) as error:
        problems = errors_of(error)
        return _settings_page(request, principal, flash=problems.line, kind="bad", errors=problems, form="senders")
    return _done("sender-paused" if action == "pause" else "sender-resumed")
