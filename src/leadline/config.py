"""Configuration: ``LEADLINE_*`` environment variables and an optional ``.env`` file.

Nothing reads settings at import time. Shells call :func:`get_settings` (cached) and pass
the object down; tests build their own :class:`Settings`.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import secrets
import threading
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, PrivateAttr, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from leadline.prospects.stages import DEFAULT_PROBABILITIES

DEFAULT_OBJECTION_CATEGORIES: dict[str, list[str]] = {
    "price": ["cost", "price", "expensive", "afford", "budget", "how much", "fee", "money", "cheap"],
    "timeline": ["timeline", "how long", "when", "time frame", "timeframe", "too soon", "next year", "later"],
    "proof": ["case stud", "proof", "results", "references", "example", "testimonial", "guarantee"],
    "trust": ["trust", "scam", "who are you", "never heard", "legit", "contract", "risk"],
    "has_provider": ["already have", "already use", "agency", "provider", "nephew", "in-house", "someone"],
    "no_time": ["busy", "no time", "don't have time", "swamped", "not now"],
    "needs_to_think": ["think about", "think it over", "talk to", "partner", "wife", "husband", "consider"],
}


def _split_list(value: Any) -> Any:
    """Accept a JSON list, or text separated by commas or new lines."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            import json

            return json.loads(text)
        return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]
    return value


# Settings an admin may change while Leadline runs (``leadline settings``, the Settings page). They are
# kept in the database (``stored_settings``) and laid over the environment's values by every process at
# the start of each unit of work; a variable set in the environment still wins. Secrets are never here.
EDITABLE_GROUPS: dict[str, tuple[str, ...]] = {
    "Targets": (
        "weekly_email_goal", "weekly_call_goal", "weekly_deal_goal", "target_sends_per_day", "target_open_rate",
        "target_reply_rate", "target_call_conversion", "target_deal_conversion",
    ),
    "Sending": ("daily_send_limit", "send_window_start", "send_window_end", "send_window_days"),
    "Sales rules": ("stage_probabilities", "objection_categories", "currency"),
    "Weekly digest": ("weekly_digest", "digest_hour"),
    "Texts": ("daily_text_limit", "text_window_start", "text_window_end", "text_window_days", "text_max_segments",
              "text_help_reply"),
}  # fmt: skip
#: The largest count a setting takes (a day's sends or texts, a week's goal): a value stored in the
#: database must come back as it went in (SQLite keeps integers of 64 bits).
MAX_COUNT = 1_000_000
#: The longest answer to HELP: three GSM-7 text segments.
MAX_HELP_REPLY = 459
EDITABLE: tuple[str, ...] = tuple(name for names in EDITABLE_GROUPS.values() for name in names)
_overlay_lock = threading.Lock()


class SettingInvalid(ValueError):
    """A value refused for one setting: ``field`` is its snake_case name, ``message`` why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _mapping_text(name: str, text: str) -> Any:
    """``key: value`` per line (or ``;``-separated), or JSON; objection words are comma separated."""
    stripped = text.strip()
    if stripped.startswith("{"):
        return json.loads(stripped)
    result: dict[str, Any] = {}
    for part in stripped.replace(";", "\n").splitlines():
        if not part.strip():
            continue
        key, sep, value = part.partition(":") if ":" in part else part.partition("=")
        if not sep or not key.strip():
            raise SettingInvalid(name, f"write each line as name: value (got {part.strip()!r})")
        if name == "objection_categories":
            result[key.strip()] = [w.strip() for w in value.split(",") if w.strip()]
        else:
            result[key.strip()] = value.strip()
    return result


def setting_text(name: str, value: Any) -> str:
    """A stored setting's value as it is typed (the inverse of the parsing in :meth:`Settings.validated`)."""
    if isinstance(value, dict):
        return "\n".join(f"{k}: {', '.join(v) if isinstance(v, list) else v}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def normalise_database_url(url: str) -> str:
    """``postgres://`` and ``postgresql://`` mean psycopg 3; a bare path means a SQLite file."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if "://" not in url:
        url = f"sqlite:///{url}"
    return url


#: The longest objection category name (``LEADLINE_OBJECTION_CATEGORIES``).
MAX_CATEGORY_NAME = 60


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LEADLINE_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        allow_inf_nan=False,  # no setting is a NaN or an infinity (a rate of nan passed no bound and said so)
    )

    # --- where things live -------------------------------------------------------------
    data_dir: Path = Field(Path("data"), description="Folder for the SQLite file, outbox and job queue.")
    database_url: str = Field("", description="SQLAlchemy URL; default: a SQLite file in data_dir.")
    timezone: str = Field("UTC", description="Time zone for showing times, weeks and business days.")
    base_url: str = Field(
        "http://127.0.0.1:8000",
        description="Public URL of this server, used in links in emails (default: http://HOST:PORT).",
    )
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    secret_key: SecretStr | None = Field(
        None, description="Signs unsubscribe links and sessions; generated into data_dir when unset."
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    fast_cli: bool = Field(True, description="Answer `prospects list` on SQLite without loading the full CLI.")

    # --- email -------------------------------------------------------------------------
    email_backend: Literal["outbox", "smtp", "sendgrid"] = "outbox"
    outbox_dir: Path | None = Field(None, description="Where the outbox backend writes .eml files.")
    templates_dir: Path | None = Field(None, description="Your own email templates; override built-ins.")
    sender_name: str = "Leadline"
    sender_email: str = "sales@example.com"
    sender_address: str = Field("", description="Postal address printed in every email's footer (anti-spam law).")
    daily_send_limit: int = Field(
        50,
        ge=0,
        le=MAX_COUNT,
        description="The ceiling on sends a day across every sender together (each sender also has its own "
        "cap: `leadline senders`; raise this when you add senders); also the first sender's cap.",
    )
    # --- senders' health: auto-pause (senders/health.py; over the last 7 days' sends) -----
    bounce_pause_rate: float = Field(
        0.05, gt=0, le=1, description="A sender pauses at this share of hard bounces (0.05 = 5%)."
    )
    bounce_warn_rate: float = Field(0.02, gt=0, le=1, description="...and is warned about from this share.")
    bounce_pause_min_sends: int = Field(
        40, ge=1, le=1_000_000, description="...once it has at least this many sends in the last 7 days."
    )
    spam_pause_rate: float = Field(
        0.003, gt=0, le=1, description="A sender pauses at this share of spam reports (0.003 = 0.3%)."
    )
    spam_warn_rate: float = Field(0.001, gt=0, le=1, description="...and is warned about from this share.")
    spam_pause_min_sends: int = Field(
        500, ge=1, le=1_000_000,
        description="...once it has at least this many sends in the last 7 days (at 500, two reports pause).",
    )  # fmt: skip
    sendgrid_api_key: SecretStr | None = None
    sendgrid_api_url: str = "https://api.sendgrid.com"
    sendgrid_timeout_seconds: float = Field(10.0, gt=0)
    sendgrid_max_retries: int = Field(3, ge=0, description="Retries on 429, 5xx and failed connections.")
    sendgrid_retry_delay_seconds: float = Field(1.0, ge=0, description="First backoff delay; doubles each retry.")
    smtp_host: str = "localhost"
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "ssl"] = "none"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = Field(30.0, gt=0)
    reply_domain: str | None = Field(None, description="Inbound Parse domain for per-email Reply-To addresses.")
    require_domain_auth: bool = Field(
        False, description="Refuse real sends (smtp, sendgrid) while the From domain lacks SPF, DKIM or DMARC."
    )
    dkim_selector: str | None = Field(
        None, description="The DKIM selector to check (default: SendGrid's s1/s2, else a few common ones)."
    )
    dns_nameservers: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="DNS servers for the domain doctor (host or host:port, comma separated)."
    )
    dns_timeout_seconds: float = Field(2.0, gt=0, le=30, description="How long the domain doctor waits for one answer.")
    dns_lifetime_seconds: float = Field(
        8.0, gt=0, le=120, description="How long the domain doctor spends on all its lookups together."
    )

    # --- replies -----------------------------------------------------------------------
    auto_lose_not_interested: bool = Field(
        False,
        description="A reply labelled not interested moves the prospect to lost at once (else a person confirms).",
    )

    # --- texts (SMS through Twilio; texts/) ---------------------------------------------
    texts_backend: Literal["log", "twilio"] = Field(
        "log", description="log: each text is written to data_dir/texts-outbox; twilio: sent through Twilio."
    )
    twilio_account_sid: str | None = Field(None, description="Twilio Account SID (AC...).")
    twilio_auth_token: SecretStr | None = Field(
        None, description="Twilio Auth Token: the API's password and the webhooks' signing key."
    )
    twilio_from: str | None = Field(
        None, description="The number texts are sent from (E.164), unless a messaging service is set."
    )
    twilio_messaging_service_sid: str | None = Field(
        None, description="A Twilio Messaging Service (MG...) to send from instead."
    )
    twilio_api_url: str = Field("https://api.twilio.com", description="Twilio's API (a local stand-in in tests).")
    twilio_timeout_seconds: float = Field(10.0, gt=0)
    twilio_max_body_bytes: int = Field(64 * 1024, gt=0, description="Largest Twilio webhook post (413 above).")
    phone_region: str = Field("US", description="Region of phone numbers written without a country code (ISO 3166).")
    text_window_start: str = Field("09:00", description="Texts go out from this local time (the prospect's zone).")
    text_window_end: str = Field("20:00", description="...until this local time (24:00: until midnight).")
    text_window_days: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"], description="...on these days."
    )
    daily_text_limit: int = Field(100, ge=0, le=MAX_COUNT, description="Texts sent per day, across every process.")
    text_max_segments: int = Field(3, ge=1, le=10, description="Longest text, in SMS segments (GSM-7 or UCS-2).")
    text_help_reply: str = Field(
        "Reply STOP to stop texts from us, START to get them again.",
        description="The answer to a text saying HELP (or INFO).",
    )

    # --- webhooks ----------------------------------------------------------------------
    sendgrid_webhook_public_key: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="SendGrid's verification key(s), comma separated for rotation."
    )
    sendgrid_webhook_verify: bool = Field(True, description="Refuse unsigned Event Webhook posts.")
    sendgrid_webhook_max_age_seconds: int = Field(
        0, ge=0, description="Reject signatures older than this (0: no age limit; dedup stops replays)."
    )
    inbound_secret: SecretStr | None = Field(
        None, description="Secret in the Inbound Parse URL; default: derived from the secret key."
    )
    webhook_max_body_bytes: int = Field(8 * 1024 * 1024, gt=0, description="Largest Event Webhook post (413 above).")
    inbound_max_body_bytes: int = Field(
        40 * 1024 * 1024, gt=0, description="Largest Inbound Parse post: a whole email with attachments."
    )

    # --- request bodies (web/limits.py; the webhooks' own limits are above) ----------------
    max_body_bytes: int = Field(
        1024 * 1024, gt=0, description="Largest request body of any route without a limit of its own (413 above)."
    )
    import_max_body_bytes: int = Field(
        21 * 1024 * 1024, gt=0, description="Largest prospect file upload (import page and API), form included."
    )
    body_timeout_seconds: float = Field(
        30.0, gt=0, description="A request body that sends nothing for this long is refused (408)."
    )
    file_max_bytes: int = Field(
        20 * 1024 * 1024, gt=0, description="Largest file kept on a prospect or customer (files/); uploads above: 413."
    )

    # --- automation --------------------------------------------------------------------
    redis_url: str | None = Field(None, description="Redis for the job queue; default: a SQLite queue.")
    embedded_worker: bool = Field(True, description="Run the job worker inside `leadline serve`.")
    worker_threads: int = Field(2, ge=1)
    slack_webhook_url: SecretStr | None = None
    notify_email: str | None = Field(None, description="Also email notifications to this address.")
    send_window_start: str = Field("08:00", description="Sequences send from this local time (prospect's zone).")
    send_window_end: str = Field("17:00", description="...until this local time (24:00: until midnight).")
    send_window_days: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"], description="...on these days."
    )
    call_reminder_minutes: int = Field(15, ge=0)
    weekly_digest: bool = Field(True, description="Post last week's numbers every Monday morning.")
    digest_hour: int = Field(8, ge=0, le=23, description="The Monday digest goes out from this local hour.")
    sequence_steps: str = Field("follow_up_1:3d,follow_up_2:4d", description="Default follow-up steps.")

    # --- sales rules -------------------------------------------------------------------
    objection_categories: dict[str, list[str]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_OBJECTION_CATEGORIES.items()}
    )
    stage_probabilities: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_PROBABILITIES),
        description="Each stage's chance of closing, 0-1, for the forecast (a stage left out keeps its default).",
    )
    next_step_business_days: int = Field(2, ge=0)
    weekly_email_goal: int = Field(50, ge=0, le=MAX_COUNT)
    weekly_call_goal: int = Field(3, ge=0, le=MAX_COUNT)
    weekly_deal_goal: int = Field(1, ge=0, le=MAX_COUNT)
    target_open_rate: float = Field(0.20, ge=0, le=1)
    target_reply_rate: float = Field(0.05, ge=0, le=1)
    target_call_conversion: float = Field(0.50, ge=0, le=1)
    target_deal_conversion: float = Field(0.10, ge=0, le=1)
    target_sends_per_day: int = Field(25, ge=0, le=MAX_COUNT)
    currency: str = Field("USD", description="Currency of deal values and fees (ISO 4217 code such as USD, EUR).")

    # --- web ---------------------------------------------------------------------------
    session_max_age_seconds: int = Field(14 * 24 * 3600, gt=0)
    cookie_secure: bool | None = Field(None, description="Secure cookies; default: on when base_url is https.")
    login_max_failures: int = Field(5, ge=1)
    login_lockout_seconds: int = Field(900, ge=1)
    login_account_max_failures: int = Field(
        50, ge=1, description="Failed sign-ins to one account, from all new browsers, that lock it for them."
    )
    public_requests_per_minute: int = Field(
        60,
        ge=1,
        description="Requests a client address may send each public page (booking, unsubscribe, proposals) a minute.",
    )

    # The environment's own values, kept the first time stored settings are laid over them.
    _env_fields: frozenset[str] | None = PrivateAttr(default=None)
    _base_values: dict[str, Any] = PrivateAttr(default_factory=dict)
    _stored: dict[str, Any] = PrivateAttr(default_factory=dict)
    _stored_version: str | None = PrivateAttr(default=None)

    @field_validator(
        "sendgrid_webhook_public_key", "send_window_days", "text_window_days", "dns_nameservers", mode="before"
    )
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _split_list(value)

    @field_validator("send_window_start", "send_window_end", "text_window_start", "text_window_end")
    @classmethod
    def _clock_time(cls, value: str, info: ValidationInfo) -> str:
        from leadline.times import clock_time, opens, window_end

        name = str(info.field_name)
        end = name.endswith("_end")
        try:
            parsed = window_end(value) if end else clock_time(value)
        except ValueError:
            like = "like 17:00, or 24:00 for midnight" if end else "like 08:00"
            raise ValueError(f"{value[:40]!r} is not a time of day {like}") from None
        # The other end of the window: declared after the start, so known here when the end is checked,
        # and both when one is set alone (validate_assignment); a bad other end has its own error.
        kind = name.rpartition("_")[0]
        other = info.data.get(f"{kind}_start" if end else f"{kind}_end")
        try:
            closed = isinstance(other, str) and not (
                opens(clock_time(other), parsed) if end else opens(parsed, window_end(other))  # type: ignore[arg-type]
            )
        except ValueError:
            closed = False
        if closed:
            side = "after the window's start" if end else "before the window's end"
            raise ValueError(f"{value.strip()!r} is not {side} ({other}): the window would never open")
        return value.strip()

    @field_validator("send_window_days", "text_window_days")
    @classmethod
    def _weekdays(cls, value: list[str]) -> list[str]:
        known = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        bad = [d for d in value if d[:3].lower() not in known]
        if bad or not value:
            raise ValueError(f"days must be among {', '.join(known)} (got {', '.join(bad) or 'none'})")
        return [d[:3].lower() for d in value]

    @field_validator("text_help_reply")
    @classmethod
    def _help_reply(cls, value: str) -> str:
        from leadline.fields import text_problem

        value = value.strip()
        problem = "must not be empty" if not value else text_problem(value, "line")  # a text holds no controls
        if problem is None and len(value) > MAX_HELP_REPLY:
            problem = f"must be at most {MAX_HELP_REPLY} characters"
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, value: str) -> str:
        code = value.strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", code):
            raise ValueError(f"{value!r} is not a 3-letter currency code such as USD or EUR")
        return code

    @field_validator("stage_probabilities")
    @classmethod
    def _probabilities(cls, value: dict[str, float]) -> dict[str, float]:
        from leadline.prospects.stages import STAGES

        unknown = [k for k in value if k not in STAGES]
        if unknown:
            raise ValueError(f"unknown stage {unknown[0]!r} (stages: {', '.join(STAGES)})")
        bad = [k for k, v in value.items() if not 0 <= v <= 1]
        if bad:
            raise ValueError(f"the probability of {bad[0]} must be between 0 and 1")
        # A stage left out keeps its default (it fell to 0%: 'proposal: 0.7' emptied every other stage's
        # share of the forecast); in the stages' order.
        return {stage: value.get(stage, DEFAULT_PROBABILITIES[stage]) for stage in STAGES}

    @field_validator("objection_categories")
    @classmethod
    def _categories(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        # A category is a key of the maintained totals (analytics.totals, a column of 100 characters).
        long = [k for k in value if len(k) > MAX_CATEGORY_NAME]
        if long:
            raise ValueError(f"a category's name is at most {MAX_CATEGORY_NAME} characters ({long[0][:20]!r}...)")
        return value

    @field_validator("phone_region")
    @classmethod
    def _region(cls, value: str) -> str:
        code = value.strip().upper()
        if not re.fullmatch(r"[A-Z]{2}", code):
            raise ValueError(f"{value!r} is not a 2-letter region code such as US or GB")
        return code

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/London)") from None
        return value

    @field_validator("bounce_warn_rate", "spam_warn_rate")
    @classmethod
    def _warn_below_pause(cls, value: float, info: ValidationInfo) -> float:
        kind = (info.field_name or "").partition("_")[0]
        pause = info.data.get(f"{kind}_pause_rate")
        if isinstance(pause, float) and value > pause:
            raise ValueError(f"must not be above LEADLINE_{kind.upper()}_PAUSE_RATE ({pause:g})")
        return value

    @model_validator(mode="after")
    def _defaults(self) -> Settings:
        given = set(self.model_fields_set)  # what the environment set; what is worked out here is not
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'leadline.db'}"
        self.database_url = normalise_database_url(self.database_url)
        if self.outbox_dir is None:
            self.outbox_dir = self.data_dir / "outbox"
        if "base_url" not in given:  # links point at this server, on its own port (LEADLINE_PORT=8765)
            host = "127.0.0.1" if self.host in ("", "0.0.0.0", "::") else self.host  # noqa: S104 (not a bind)
            self.base_url = f"http://{f'[{host}]' if ':' in host else host}:{self.port}"
        self.base_url = self.base_url.rstrip("/")
        object.__setattr__(self, "__pydantic_fields_set__", given)  # (leadline config showed them as env)
        return self

    # --- derived values ----------------------------------------------------------------
    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def outbox_path(self) -> Path:
        assert self.outbox_dir is not None
        return self.outbox_dir

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.base_url.startswith("https://")

    def secret(self) -> str:
        """The signing secret: from the environment, else a file in data_dir made on first use."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.data_dir / "secret_key"
        try:
            return path.read_text().strip()
        except FileNotFoundError:
            self.ensure_data_dir()
            value = secrets.token_urlsafe(48)
            # Create exclusively (two processes starting at once agree on one key), readable by us only.
            try:
                write_private(path, value.encode(), exclusive=True)
            except FileExistsError:
                return path.read_text().strip()
            return value

    def ensure_data_dir(self) -> Path:
        """The data folder, created if missing, private to the user Leadline runs as (mode 0700)."""
        return private_folder(self.data_dir, tighten=True)

    # --- settings kept in the database (EDITABLE) -----------------------------------------
    def _env_snapshot(self) -> frozenset[str]:
        if self._env_fields is None:
            self._env_fields = frozenset(self.model_fields_set)
            self._base_values = {name: copy.deepcopy(getattr(self, name)) for name in EDITABLE}
        return self._env_fields

    def set_by_env(self, name: str) -> bool:
        """True when the environment (or the code that built these settings) set ``name``: it wins."""
        return name in self._env_snapshot()

    def source(self, name: str) -> str:
        """Where ``name``'s value comes from: ``env``, ``stored`` (the database) or ``default``."""
        if self.set_by_env(name):
            return "env"
        return "stored" if name in self._stored else "default"

    def base_value(self, name: str) -> Any:
        """``name``'s value from the environment or the default, without the database's."""
        self._env_snapshot()
        return copy.deepcopy(self._base_values[name])

    @property
    def stored_version(self) -> str | None:
        return self._stored_version

    def validated(self, name: str, value: Any, beside: dict[str, Any] | None = None) -> Any:
        """``value`` (typed text or JSON data) for setting ``name``, checked by this model's own field
        rules (with the other settings as they are, or as ``beside`` has them: rules such as a window's
        start before its end read both); :class:`SettingInvalid` naming the field when it is refused."""
        if name not in EDITABLE:
            raise SettingInvalid(name, f"is not a setting kept in the database (these are: {', '.join(EDITABLE)})")
        try:
            if isinstance(value, str) and name in ("objection_categories", "stage_probabilities"):
                value = _mapping_text(name, value)
            probe = self.model_copy(update=beside)
            type(self).__pydantic_validator__.validate_assignment(probe, name, value)
        except SettingInvalid:
            raise
        except json.JSONDecodeError as error:
            raise SettingInvalid(name, f"is not valid JSON ({error.msg})") from None
        except ValidationError as error:
            from leadline.schemas import plain_message  # the wording of every other refusal

            raise SettingInvalid(name, plain_message(error.errors()[0])) from None
        return copy.deepcopy(getattr(probe, name))

    def apply_stored(self, version: str | None, stored: dict[str, Any]) -> None:
        """Lay the database's values over the environment's, in place (every holder of these settings sees
        them): a name set by the environment keeps its value; a name no longer stored goes back to its
        environment or default value. A stored value these rules now refuse is ignored."""
        env = self._env_snapshot()
        with _overlay_lock:
            # Each stored value is checked beside the others as they will be (not as they were), so a
            # pair that is right together (a window moved later: start and end both stored) is kept.
            coming = {name: stored.get(name, self._base_values[name]) for name in EDITABLE if name not in env}
            kept: dict[str, Any] = {}
            for name in EDITABLE:
                if name in stored:
                    with contextlib.suppress(SettingInvalid):
                        kept[name] = self.validated(name, stored[name], coming)
                if name not in env:
                    self.__dict__[name] = copy.deepcopy(kept.get(name, self._base_values[name]))
            self._stored = kept
            self._stored_version = version

    def described(self) -> list[tuple[str, str, str]]:
        """(name, value, source) rows for ``leadline config``; secrets masked (see :func:`shown`)."""
        rows = []
        for name, info in type(self).model_fields.items():
            source = (self.source(name) if name in EDITABLE else "env" if name in self.model_fields_set
                      else "default") if info is not None else ""  # fmt: skip
            rows.append((f"LEADLINE_{name.upper()}", shown(name, getattr(self, name)), source))
        return rows

    def notes(self) -> list[str]:
        """What a setting does where its name alone could mislead, for ``leadline config``."""
        return [
            f"LEADLINE_DAILY_SEND_LIMIT ({self.daily_send_limit}) is the ceiling on sends a day across every "
            "sender together; each sender's own cap and warm-up apply under it (`leadline senders list`). "
            "Raise it when you add senders."
        ]

    def warnings(self) -> list[str]:
        """Set-ups that work but are unsafe or surprising, for ``leadline config``."""
        found = []
        if not self.sendgrid_webhook_verify:
            found.append(
                "SendGrid webhook signature verification is OFF "
                "(LEADLINE_SENDGRID_WEBHOOK_VERIFY=false): anyone can post fake events."
            )
        elif not self.sendgrid_webhook_public_key:
            found.append(
                "No LEADLINE_SENDGRID_WEBHOOK_PUBLIC_KEY: /webhooks/sendgrid refuses every post until it is set."
            )
        if self.email_backend == "sendgrid" and self.sendgrid_api_key is None:
            found.append("LEADLINE_EMAIL_BACKEND=sendgrid but LEADLINE_SENDGRID_API_KEY is not set.")
        if (self.data_dir / "webhook-simulator.pem").is_file():
            found.append(
                f"The webhook simulator's key ({self.data_dir / 'webhook-simulator.pem'}) is trusted for "
                "/webhooks/sendgrid; delete it on a production server."
            )
        if self.texts_backend == "twilio" and (self.twilio_account_sid is None or self.twilio_auth_token is None):
            found.append("LEADLINE_TEXTS_BACKEND=twilio but LEADLINE_TWILIO_ACCOUNT_SID or _AUTH_TOKEN is not set.")
        if not self.sender_address:
            found.append("No LEADLINE_SENDER_ADDRESS: commercial email must carry a postal address.")
        from leadline.guardian.compliance import base_url_problem

        problem = base_url_problem(self.base_url)
        if problem is not None and self.email_backend != "outbox":
            found.append(
                f"LEADLINE_BASE_URL {problem}: unsubscribe links cannot work, so the smtp and sendgrid "
                "backends refuse to send (set it to this server's public https:// address)."
            )
        return found


# scheme://user:PASSWORD@host: the password runs to the last "@" (never shows a part of one with an "@" in it).
_URL_PASSWORD = re.compile(r"^([a-z][a-z0-9+.-]*://[^:/@?#\s]*:)(.*)@", re.IGNORECASE | re.DOTALL)
# ?password=... &sslpassword=... &token=... &api_key=... in a URL's query.
_URL_SECRET_QUERY = re.compile(r"([?&;][^=&;#]*(?:pass|secret|token|key|auth|sig)[^=&;#]*=)[^&;#]*", re.IGNORECASE)
_URL_START = re.compile(r"^[a-z][a-z0-9+.-]*://[^/?#]*", re.IGNORECASE)
MASK = "********"


def mask_url(url: str, *, secret_path: bool = False) -> str:
    """A URL fit to show: its password, and any password, token or key in its query, replaced by
    ``********``. With ``secret_path`` (a Slack incoming-webhook URL is its own secret) only the
    scheme and host are left. Used by ``leadline config``, the Settings page and every CLI message."""
    masked = _URL_PASSWORD.sub(rf"\g<1>{MASK}@", url, count=1)
    if secret_path:
        start = _URL_START.match(masked)
        return f"{start.group(0)}/{MASK}" if start else MASK
    return _URL_SECRET_QUERY.sub(rf"\g<1>{MASK}", masked)


def shown(name: str, value: Any) -> str:
    """A setting's value as ``leadline config`` and the Settings page show it: secrets as ``********``
    (a secret URL as its scheme and host), the password of every URL masked, lists and maps on one line."""
    if isinstance(value, SecretStr):
        secret = value.get_secret_value()
        if not secret:
            return ""
        return mask_url(secret, secret_path=True) if "://" in secret else MASK
    if value is None:
        return ""
    if isinstance(value, list):
        if name == "sendgrid_webhook_public_key":
            return ", ".join(str(v)[:12] + "…" for v in value)
        return ", ".join(shown(name, v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}={v}" for k, v in value.items())
    text = str(value)
    return mask_url(text) if "://" in text else text


PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700


def private_folder(path: Path, *, tighten: bool = False) -> Path:
    """Make ``path`` (and any missing parents) a folder only its owner can enter (0700). With
    ``tighten``, an existing folder of ours that others may enter is changed to 0700 too (the data
    folder: the database, the job queue, the outbox and the secret key live there)."""
    path.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
    if tighten:
        info = path.stat()
        if info.st_mode & 0o077 and info.st_uid == os.geteuid():
            path.chmod(PRIVATE_FOLDER)
    return path


def create_private(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (SQLite then keeps that mode, and gives
    it to the file's -wal and -shm companions). A folder we may not write to is left for the tool
    that writes the file to report."""
    with contextlib.suppress(OSError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))


def write_private(path: Path, data: bytes, *, exclusive: bool = False) -> None:
    """Write ``data`` to a file created 0600 (readable by its owner only), whatever the umask."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    descriptor = os.open(path, flags, PRIVATE_FILE)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    path.chmod(PRIVATE_FILE)  # an existing file keeps its mode through O_TRUNC


@cache
def get_settings() -> Settings:
    return Settings()
