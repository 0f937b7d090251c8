"""Secrets stay secret: a real `leadline serve` (PostgreSQL with a password in its URL, Redis with a
password, a Slack webhook, an API key, a secret key, an inbound secret) is driven through every
failing path we know — bad Inbound Parse posts at the secret URL and at wrong ones, the calendar
feed under every encoding, failed SQL statements (500 and 503), sign-in failures, bad and
misused tokens and sessions, secrets sent in query strings — and some CLI commands are run. Then
its whole output (stdout and stderr, access log and tracebacks), the CLI output and every error
body are searched for each secret, raw, percent-encoded and in base64: none may appear."""

from __future__ import annotations

import base64
import os
import re
import signal
import subprocess
import uuid
from pathlib import Path
from urllib.parse import quote, quote_plus

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from leadline.auth import service
from leadline.calls import calendar
from leadline.config import Settings
from leadline.db import dispose_engines, unit_of_work
from tests.conftest import PG_ADMIN_URL, _postgres_reason, _worker, make_token, make_user, require_service
from tests.processes import EXE, Proc, free_port, private_redis, redis_server_reason, start_server, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.xdist_group("processes")]

TRIGGER = """
CREATE FUNCTION refuse_test_prospects() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF starts_with(NEW.name, 'Unavailable') THEN
    RAISE EXCEPTION 'the server is resting' USING ERRCODE = '57014';  -- query_canceled: "unavailable"
  ELSIF starts_with(NEW.name, 'Refused') THEN
    RAISE EXCEPTION 'refused by the test trigger';  -- an unexpected error
  END IF;
  RETURN NEW;
END $$;
---
CREATE TRIGGER refuse_test_prospects BEFORE INSERT ON prospects FOR EACH ROW EXECUTE FUNCTION refuse_test_prospects();
"""


def forms(secret: str) -> set[str]:
    """The ways a secret could show up in text: raw, percent-encoded (either case), base64."""
    found = {secret, quote(secret, safe=""), quote(secret, safe="").lower(), quote_plus(secret), quote(secret)}
    for encoded in (base64.b64encode(secret.encode()), base64.urlsafe_b64encode(secret.encode())):
        found |= {encoded.decode(), encoded.decode().rstrip("=")}
    return found


def leaks(corpus: str, secrets: dict[str, str]) -> list[str]:
    return [f"{name} as {form!r}" for name, secret in secrets.items() for form in forms(secret) if form in corpus]


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], env=env, input=stdin, capture_output=True, text=True, timeout=180,
                          check=False)  # fmt: skip


def test_no_secret_reaches_a_log_line_a_cli_message_or_an_error_page(tmp_path):
    require_service(_postgres_reason())
    require_service(redis_server_reason())
    tag = uuid.uuid4().hex[:12]
    secrets = {
        "secret key": f"sk+{tag}/Key=!",
        "inbound secret": f"inbound-{tag}",
        "Redis password": f"r3d!s+{tag}@pw",
        "database password": f"pg/{tag}:@pw",
        "Slack webhook path": f"SLACK{tag}",
        "SendGrid API key": f"SG.{tag}.apikey",
        "SMTP password": f"smtp-{tag}-pw",
        "a password tried at sign-in": f"wrong-{tag}-pw",
        "the admin's password": f"right-{tag}-pw",
        "a value in a failed statement": f"SQLPARAM{tag}",
    }
    admin = make_url(PG_ADMIN_URL)
    name = f"leadline_secrets_{_worker()}"
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    # Trust authentication: the password is accepted whatever it is, and sent on every connection.
    database_url = (f"postgresql://{admin.username}:{quote(secrets['database password'], safe='')}"
                    f"@{admin.host}:{admin.port or 5432}/{name}")  # fmt: skip
    procs: list[Proc] = []
    outputs: list[str] = []
    bodies: list[str] = []
    try:
        with private_redis() as redis_server:
            import redis

            redis.Redis(port=redis_server.port).config_set("requirepass", secrets["Redis password"])
            redis_url = f"redis://:{quote(secrets['Redis password'], safe='')}@127.0.0.1:{redis_server.port}/0"
            slack = f"http://127.0.0.1:{free_port()}/services/T0/B0/{secrets['Slack webhook path']}"  # nobody there
            env = {
                k: v for k, v in os.environ.items() if not k.startswith("LEADLINE_") or k.startswith("LEADLINE_TEST")
            }
            env |= {
                "LEADLINE_DATA_DIR": str(tmp_path / "data"), "LEADLINE_DATABASE_URL": database_url,
                "LEADLINE_REDIS_URL": redis_url, "LEADLINE_SECRET_KEY": secrets["secret key"],
                "LEADLINE_INBOUND_SECRET": secrets["inbound secret"], "LEADLINE_SLACK_WEBHOOK_URL": slack,
                "LEADLINE_SENDGRID_API_KEY": secrets["SendGrid API key"], "LEADLINE_SMTP_PASSWORD": secrets["SMTP password"],
                "LEADLINE_SENDER_ADDRESS": "Leadline, 1 Main St, Austin, TX", "LEADLINE_LOG_LEVEL": "info",
            }  # fmt: skip
            done = run(env, "init")
            assert done.returncode == 0, done.stderr
            outputs.append(f"$ leadline init\n{done.stdout}{done.stderr}")
            here = Settings(_env_file=None, database_url=database_url, secret_key=SecretStr(secrets["secret key"]),
                            data_dir=tmp_path / "data")  # fmt: skip
            make_user(here, "admin@example.com", "admin", secrets["the admin's password"])
            api_token = make_token(here)
            with unit_of_work(here) as session:
                newcomer = service.add_user(session, "new@example.com", "member", None)
                link_token = service.set_password_link(session, here, newcomer).split("token=", 1)[1]
            dispose_engines()
            engine = create_engine(make_url(database_url).set(drivername="postgresql+psycopg"))
            with engine.begin() as connection:
                for statement in TRIGGER.split("---"):
                    connection.execute(text(statement))
            engine.dispose()
            feed_token = calendar.token(Settings(_env_file=None, secret_key=SecretStr(secrets["secret key"])))
            secrets |= {"API token": api_token, "set-password token": link_token, "calendar token": feed_token}

            port = free_port()
            server = start_server(env, port, tmp_path)
            procs.append(server)
            base = f"http://127.0.0.1:{port}"
            fresh = httpx.Limits(max_keepalive_connections=0)  # uvicorn drops a connection after a 500
            web = httpx.Client(base_url=base, timeout=60, limits=fresh)
            api = httpx.Client(
                base_url=base, timeout=60, limits=fresh, headers={"Authorization": f"Bearer {api_token}"}
            )

            def keep(response: httpx.Response) -> httpx.Response:
                if response.status_code >= 400 and "/set-password" not in str(response.url):
                    bodies.append(f"{response.status_code} {response.text}")
                return response

            # --- Inbound Parse: at the secret URL (in several spellings) and at wrong ones -------------
            inbound = "/webhooks/sendgrid/inbound"
            secret = secrets["inbound secret"]
            for path in (f"{inbound}/{secret}", f"{inbound}/{quote(secret, safe='').replace('-', '%2D')}",
                         f"{inbound}/{''.join(f'%{b:02x}' for b in secret.encode())}", f"{inbound}/{secret}x",
                         f"{inbound}/{secret.upper()}", f"//webhooks//sendgrid/inbound/{secret}"):  # fmt: skip
                keep(web.post(path, content=b"not a form", headers={"Content-Type": "text/plain"}))
                keep(web.post(path, files={"charsets": (None, '{"text": "idna"}'), "text": (None, "hi")}))
                keep(web.post(path, files={"envelope": (None, "[[[[1]]]]"), "from": (None, "x")}))
            for auth in ((f"leadline:{secret}",), (f"leadline:{secret}x",)):
                header = "Basic " + base64.b64encode(auth[0].encode()).decode()
                keep(web.post(inbound, content=b"x", headers={"Authorization": header, "Content-Type": "text/plain"}))
            keep(web.post(f"{inbound}?secret={secret}&token={secret}", content=b"x"))
            keep(web.post("/webhooks/sendgrid", content=b"[{}]"))  # unsigned

            # --- the calendar feed under every encoding ------------------------------------------------
            encoded = "".join(f"%{b:02X}" for b in feed_token.encode())
            for path in (f"/calendar/{feed_token}.ics", f"/calendar/{feed_token}%2eics", f"/calendar/{feed_token}%2Eics",
                         f"/calendar/{feed_token}.ICS", f"/CALENDAR/{feed_token}.ics", f"/calendar/{feed_token}%252eics",
                         f"/calendar/{encoded}.ics", f"//calendar//{feed_token}.ics", f"/calendar%2f{feed_token}.ics",
                         f"/%63alendar/{feed_token}.ics", f"/calendar/{feed_token}.ics/more", f"/calendar/{feed_token}"):  # fmt: skip
                keep(web.get(path))
            keep(web.post(f"/calendar/{feed_token}.ics"))  # 405

            # --- failed SQL statements: an unexpected error (500) and an unavailable database (503) -----
            marker = secrets["a value in a failed statement"]
            refused = api.post("/api/prospects", json={"name": f"Refused {marker}", "email": f"{marker}@example.com"})
            unavailable = api.post("/api/prospects", json={"name": f"Unavailable {marker}", "contactName": marker})
            assert (refused.status_code, unavailable.status_code) == (500, 503), (refused.text, unavailable.text)
            keep(refused), keep(unavailable)

            # --- tokens: wrong, misused, sent where they do not belong ---------------------------------
            keep(api.get("/api/no/such/thing"))
            keep(api.get(f"/api/prospects?token={api_token}&search={secrets['secret key']}"))
            keep(web.get("/api/prospects", headers={"Authorization": f"Bearer {api_token}x"}))
            keep(
                web.get(
                    "/api/prospects",
                    headers={"Authorization": f"Basic {base64.b64encode(api_token.encode()).decode()}"},
                )
            )
            keep(web.get(f"/no/such/page?api_key={api_token}&password={secrets['Redis password']}"))
            keep(api.post("/api/prospects", json={"name": "x" * 300, "tier": "high"}))  # 422

            # --- signing in (first, before the mistakes slow that address down), then wrong passwords --------
            login = web.get("/login")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', login.text).group(1)  # type: ignore[union-attr]
            signed = web.post("/login", data={"email": "admin@example.com", "password": secrets["the admin's password"],
                                              "csrf_token": csrf})  # fmt: skip
            assert signed.status_code == 303, signed.text
            session_cookie = web.cookies.get("leadline_session")
            assert session_cookie
            secrets["session cookie"] = session_cookie
            stranger = httpx.Client(base_url=base, timeout=60, limits=fresh)
            login = stranger.get("/login")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', login.text).group(1)  # type: ignore[union-attr]
            for email, password in (("admin@example.com", secrets["a password tried at sign-in"]),
                                    ("nobody@example.com", secrets["a password tried at sign-in"]),
                                    ("admin@example.com", "")):  # fmt: skip
                keep(stranger.post("/login", data={"email": email, "password": password, "csrf_token": csrf}))
            keep(
                stranger.post(
                    "/login", data={"email": "admin@example.com", "password": secrets["the admin's password"]}
                )
            )
            # ... and a session used where it should not be
            keep(web.get("/no/such/page", headers={"Accept": "text/html"}))
            shown = web.get("/settings")  # the admin's Settings page: the URLs masked, the secrets "set"
            assert "postgresql+psycopg://postgres:********@" in shown.text and "redis://:********@" in shown.text
            assert leaks(shown.text, {k: v for k, v in secrets.items() if k != "inbound secret"}) == []
            keep(web.post("/api/prospects", json={"name": "No CSRF"}))  # 403
            keep(web.get(f"/prospects?session={session_cookie}", headers={"Accept": "text/html"}))
            keep(web.post("/logout", headers={"X-CSRF-Token": "wrong"}))
            web.cookies.clear()
            keep(web.get("/api/prospects", headers={"Cookie": f"leadline_session={session_cookie}x"}))

            # --- the set-password link, misspelt and misused -------------------------------------------
            for query in (f"token={link_token}x", f"TOKEN={link_token}", f"token={quote(link_token, safe='')}",
                          f"%74oken={link_token}"):  # fmt: skip
                keep(web.get(f"/set-password?{query}"))
            keep(web.post("/set-password", data={"token": link_token, "password": "a", "confirm": "b"}))

            server.stop(signal.SIGINT)
            outputs.append(f"$ leadline serve\n{server.output()}")

            # --- CLI commands that show settings or meet failures ----------------------------------------
            for args in (("config",), ("config", "--json"), ("notify", "test")):  # Slack is not there
                done = run(env, *args)
                outputs.append(f"$ leadline {' '.join(args)}\n{done.stdout}{done.stderr}")
            bad_url = database_url.replace(f":{admin.port or 5432}/", f":{free_port()}/")
            done = run(env | {"LEADLINE_DATABASE_URL": bad_url}, "db", "current")
            assert done.returncode != 0
            outputs.append(f"$ leadline db current (no server there)\n{done.stdout}{done.stderr}")
            # A worker whose Redis refuses it (a user with the right password but no such user).
            wrong_user = redis_url.replace("redis://:", "redis://someone:")
            worker = Proc([EXE, "worker", "--threads", "1"], env | {"LEADLINE_REDIS_URL": wrong_user},
                          tmp_path / "worker.log")  # fmt: skip
            procs.append(worker)
            wait_for(lambda: "Leadline worker on" in worker.output() or worker.popen.poll() is not None, 60)
            wait_for(lambda: worker.popen.poll() is not None, 8)
            worker.stop(signal.SIGINT)
            outputs.append(f"$ leadline worker (Redis refuses it)\n{worker.output()}")
    finally:
        for proc in procs:
            proc.stop(signal.SIGKILL, timeout=5)
        engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()

    logs = "\n".join(outputs)
    # The failing paths were taken, and logged.
    assert "unexpected error" in logs and "refused by the test trigger" in logs, logs[-3000:]
    assert "database unavailable" in logs and "SQL parameters hidden" in logs, logs[-3000:]
    assert "/calendar/[redacted]" in logs and "/webhooks/sendgrid/inbound/[redacted]" in logs
    assert "LEADLINE_REDIS_URL" in logs and "LEADLINE_SLACK_WEBHOOK_URL" in logs
    assert "cannot reach Slack" in logs and "AuthenticationError" in logs
    # ... and no secret is in them, nor in what the server answered.
    assert leaks(logs, secrets) == [], logs
    assert leaks("\n".join(bodies), secrets) == [], bodies
    Path(tmp_path / "all-output.txt").write_text(logs)


# --- the rules themselves, quickly --------------------------------------------------------------

TOKEN = "c7cbfc4199017204308662938c5f3b05"


@pytest.mark.parametrize(
    "path",
    [f"/calendar/{TOKEN}.ics", f"/calendar/{TOKEN}%2eics", f"/calendar/{TOKEN}%2Eics", f"/CALENDAR/{TOKEN}.ICS",
     f"/calendar/{TOKEN}%252eics", f"/calendar/%63{TOKEN[1:]}.ics", f"//calendar//{TOKEN}.ics",
     f"/%63alendar/{TOKEN}.ics", f"/calendar%2f{TOKEN}.ics", f"/calendar%2F{TOKEN}", f"/webhooks/sendgrid/inbound/{TOKEN}",
     f"/Webhooks/SendGrid/Inbound/{TOKEN}?x=1", f"/unsubscribe/{TOKEN}", f"/set-password?token={TOKEN}",
     f"/set-password?TOKEN={TOKEN}", f"/set-password?%74oken={TOKEN}", f"/x?next=/&api_key={TOKEN}",
     f"/book/{TOKEN}", f"/book/manage/{TOKEN}/cancel", f"/Book/{TOKEN}?length=30"],
)  # fmt: skip
def test_the_access_log_path_loses_its_secret_however_it_is_spelt(path):
    from leadline.redaction import Redactor, redact_path

    shown = redact_path(path)
    assert "[redacted]" in shown and TOKEN not in shown.lower() and TOKEN[1:] not in shown.lower(), shown
    assert TOKEN not in Redactor()(f'"GET {path} HTTP/1.1" 404').lower()


def test_paths_without_secrets_are_left_as_they_are():
    from leadline.redaction import redact_path

    for path in ("/api/prospects?search=acme&tier=1", "/login?next=%2Fprospects", "/prospects/acme-plumbing"):
        assert redact_path(path) == path


def test_known_secrets_are_replaced_in_any_text_raw_encoded_or_in_base64():
    from leadline.redaction import Redactor

    secret = "r3d!s+P@ss/word"
    redactor = Redactor([secret])
    for form in forms(secret) | {"".join(f"%{b:02x}" for b in secret.encode())}:
        assert secret not in redactor(f"connecting with {form} failed"), form
        assert form not in redactor(f"connecting with {form} failed"), form
    assert redactor("redis://someone:hunter2@host:6379/0 refused") == "redis://someone:[redacted]@host:6379/0 refused"


def test_every_url_setting_is_shown_with_its_password_masked():
    from leadline.config import mask_url, shown

    assert mask_url("redis://:p@ss/w0rd@cache:6379/0") == "redis://:********@cache:6379/0"
    assert mask_url("postgresql://u:pw@db/x?sslpassword=pw2&application_name=a") == (
        "postgresql://u:********@db/x?sslpassword=********&application_name=a"
    )
    assert shown("slack_webhook_url", SecretStr("https://hooks.slack.com/services/T0/B0/XYZ")) == (
        "https://hooks.slack.com/********"
    )
    assert shown("sendgrid_api_key", SecretStr("SG.x")) == "********"
    assert shown("sendgrid_api_url", "https://user:pw@api.example.com") == "https://user:********@api.example.com"
