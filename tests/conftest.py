"""Test fixtures: a clean real database per test (SQLite and PostgreSQL), the CLI, the API.

PostgreSQL tests skip with a reason when no server answers, except under CI=true where
they fail: CI must run them (.ci/run starts the server).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from leadline import clock
from leadline.config import Settings, get_settings
from leadline.db import Base, dispose_engines, import_all_models

import_all_models()
pytest_plugins = ["tests.collected"]  # counts collected against ran; under CI=true they must match

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get("LEADLINE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("LEADLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
TABLES = [t.name for t in reversed(Base.metadata.sorted_tables)]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` run first (xdist hands tests out in this order as workers ask): a long
    test picked up last keeps one worker busy while the other has nothing left to do."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def _worker() -> str:
    """Names this checkout's pytest worker, so two checkouts on one server never share databases."""
    import hashlib

    checkout = hashlib.sha1(str(ROOT).encode()).hexdigest()[:6]
    return f"{checkout}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"


def _postgres_reason() -> str | None:
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as error:
        return f"PostgreSQL at {PG_ADMIN_URL} is not reachable ({type(error).__name__}); start it to run these tests"
    return None


def redis_reason() -> str | None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as error:
        return f"Redis at {REDIS_URL} is not reachable ({type(error).__name__}); start it to run these tests"
    return None


def redis_url_for_worker() -> str:
    """A Redis database of its own for this pytest worker (gw0 -> 12, gw1 -> 13, ...)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw3")
    number = 12 + int(worker.removeprefix("gw") or 0) % 4
    return REDIS_URL.rsplit("/", 1)[0] + f"/{number}"


def require_service(reason: str | None) -> None:
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"CI must run this test, but {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True, scope="session")
def quick_password_hashes() -> Iterator[None]:
    """Argon2id with its lightest parameters (``argon2.profiles.CHEAPEST``) in the test processes:
    the same algorithm and code path, without 0.1-0.2 s and 64 MB per hash, which about a thousand
    sign-ins would spend. Servers and commands the tests start as processes keep the real
    parameters (and rehash such a password at its first sign-in, as after a parameter change)."""
    from unittest import mock

    from argon2 import PasswordHasher, profiles

    from leadline.auth import service

    with mock.patch.object(service, "_hasher", PasswordHasher.from_parameters(profiles.CHEAPEST)):
        yield


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per worker; each test gets a copy."""
    from leadline.migrate import upgrade

    folder = tmp_path_factory.mktemp("template")
    path = folder / "leadline.db"
    settings = Settings(database_url=f"sqlite:///{path}", data_dir=folder)
    upgrade(settings)
    dispose_engines()
    return path


@contextmanager
def postgres_database(prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for this worker (dropped afterwards): its URL."""
    require_service(_postgres_reason())
    name = f"{prefix}_{_worker()}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        dispose_engines()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database for this worker, migrated once; tests truncate it."""
    from leadline.migrate import upgrade

    with postgres_database("leadline_test") as url:
        upgrade(Settings(database_url=url))
        dispose_engines()
        yield url


def truncate_postgres(url: str) -> None:
    """Empty every table and restart the sequences, in one round trip. DELETE, children first, rather
    than TRUNCATE: TRUNCATE gives each of the ~50 tables and their indexes new files, fsynced at commit
    (0.3-1.3 s a test under the suite's load), where deleting the few rows a test wrote takes a few ms."""
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as connection:
        sequences = connection.exec_driver_sql(
            "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) FROM pg_sequences"
            " WHERE schemaname = current_schema()"
        ).scalars()
        statements = [f'DELETE FROM "{table}"' for table in TABLES]
        statements += [f"SELECT setval('{sequence}', 1, false)" for sequence in sequences]
        connection.exec_driver_sql("; ".join(statements))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test runs once on SQLite and once on PostgreSQL, on a clean database."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "data" / "leadline.db"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("postgres_url")
    truncate_postgres(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """For tests about SQLite itself (the fast CLI path, backups)."""
    target = tmp_path / "data" / "leadline.db"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(sqlite_template, target)
    return f"sqlite:///{target}"


TEST_SECRET_KEY = "test-secret-key-" + "x" * 32
TEST_ZONE = "America/Chicago"
TEST_SENDER_ADDRESS = "Leadline Demo, 100 Congress Ave, Austin, TX 78701"
#: A public https base URL: the smtp and sendgrid backends refuse to send without one (guardian.compliance).
PUBLIC_BASE_URL = "https://crm.gridline-demo.com"


def make_settings(url: str, data: Path, **changes: Any) -> Settings:
    """The tests' settings, built directly (no environment, no .env file)."""
    values: dict[str, Any] = {
        "database_url": url, "data_dir": data, "secret_key": TEST_SECRET_KEY, "timezone": TEST_ZONE,
        "sender_address": TEST_SENDER_ADDRESS,
        # The Monday digest is its own tests' subject (tests/automation/test_digest.py turns it on): a worker
        # or server of another test whose run crossed a quarter hour on a Monday or Tuesday (local time)
        # posted it, and that test found a notification or a Slack post it did not make.
        "weekly_digest": False,
    }  # fmt: skip
    return Settings(**(values | changes), _env_file=None)


def changed(settings: Settings, **values: Any) -> Settings:
    """A copy of ``settings`` with ``values`` changed, each read as the environment's text would be."""
    return Settings(**(dict(settings) | values), _env_file=None)


def configure(monkeypatch: pytest.MonkeyPatch, settings: Settings, **values: Any) -> Settings:
    """Change ``values`` on the test's own settings object until the test ends: for the fixtures that
    set up an outside service (a fake SendGrid, an SMTP server, Slack, Redis), so that every shell
    the test builds from ``settings`` (``cli``, ``client``, ``create_app(settings)``) talks to it."""
    read = changed(settings, **values)
    for name in values:
        monkeypatch.setattr(settings, name, getattr(read, name))
    return settings


def settings_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment under which a shell (the CLI, a server or worker process) reads ``settings``:
    the settings :func:`make_settings` chooses and every other one that is not its default, as
    ``LEADLINE_*`` variables (``extra`` adds variables)."""
    import json

    from pydantic import SecretStr

    always = {"database_url", "data_dir", "secret_key", "timezone", "sender_address"}
    env: dict[str, str] = {}
    for name, field in Settings.model_fields.items():
        value = getattr(settings, name)
        default = field.get_default(call_default_factory=True)
        if name == "outbox_dir":
            default = settings.data_dir / "outbox"
        if value is None or (name not in always and value == default):
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (list, dict)):
            value = json.dumps(value)
        env[f"LEADLINE_{name.upper()}"] = str(value)
    return env | extra


def _settings_for(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The test's settings, built directly. Nothing is exported: every shell the test drives is given
    them (``create_app(settings)``, ``Cli(settings)``, ``settings_env(settings)`` for a process). The
    developer's own ``LEADLINE_*`` variables and ``.env`` file are kept out of the way, so that what a
    shell reads for itself (the CLI fills in what its environment leaves out) is the defaults."""
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    for key in list(os.environ):
        if key.upper().startswith("LEADLINE_") and not key.upper().startswith("LEADLINE_TEST_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    get_settings.cache_clear()
    return make_settings(url, data)


@pytest.fixture
def settings(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    yield _settings_for(db_url, tmp_path, monkeypatch)
    get_settings.cache_clear()
    dispose_engines()
    clock.set_frozen(None)


@pytest.fixture
def sqlite_settings(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    yield _settings_for(sqlite_url, tmp_path, monkeypatch)
    get_settings.cache_clear()
    dispose_engines()
    clock.set_frozen(None)


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> object:
        import json

        return json.loads(self.stdout)


class Cli:
    """Runs ``leadline`` in-process through Typer's runner (output captured).

    ``Cli(settings)`` runs each command under the environment that says ``settings``
    (:func:`settings_env`), plus ``env`` for the tests whose subject is the environment itself."""

    def __init__(self, settings: Settings, env: dict[str, str] | None = None) -> None:
        self.settings = settings
        self.env = env or {}

    def __call__(self, *args: str, input: str | None = None) -> CliResult:
        from typer.testing import CliRunner

        from leadline.cli.main import app

        get_settings.cache_clear()
        try:
            runner = CliRunner()
            env = settings_env(self.settings) | self.env
            result = runner.invoke(app, list(args), input=input, env=env, catch_exceptions=False)
        finally:
            get_settings.cache_clear()  # the CLI's settings stay the CLI's
        return CliResult(result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def cli(settings: Settings) -> Cli:
    return Cli(settings)


def run_leadline(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The installed entry point in a subprocess (what a user types)."""
    exe = Path(sys.executable).with_name("leadline")
    return subprocess.run(
        [str(exe), *args], capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=cwd,
        timeout=timeout, check=False,
    )  # fmt: skip


PASSWORD = "correct horse battery staple"


def make_token(settings: Settings, *, scope: str = "write", name: str | None = None) -> str:
    """A new API token (what ``leadline tokens create`` prints)."""
    from leadline.auth import service
    from leadline.db import unit_of_work

    with unit_of_work(settings) as session:
        _, raw = service.create_token(session, name or f"test-{uuid.uuid4().hex[:8]}", scope, "tests")
    return raw


def make_user(settings: Settings, email: str = "admin@example.com", role: str = "admin",
              password: str = PASSWORD) -> str:  # fmt: skip
    from leadline.auth import service
    from leadline.db import unit_of_work

    with unit_of_work(settings) as session:
        service.add_user(session, email, role, password)
    return email


def sign_in(test_client: Any, email: str, password: str = PASSWORD) -> str:
    """Sign in through the sign-in form like a browser; returns the session's CSRF token."""
    import re

    form = test_client.get("/login")
    login_csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert login_csrf, form.text
    response = test_client.post("/login", data={"email": email, "password": password,
                                                "csrf_token": login_csrf.group(1)}, follow_redirects=False)  # fmt: skip
    assert response.status_code == 303, response.text
    return session_csrf(test_client)


def session_csrf(test_client: Any) -> str:
    from leadline.auth import service
    from leadline.auth.deps import SESSION_COOKIE
    from leadline.auth.models import WebSession
    from leadline.db import unit_of_work

    with unit_of_work(test_client.app.state.settings, readonly=True) as session:
        web = session.get(WebSession, service.digest(test_client.cookies.get(SESSION_COOKIE)))
        assert web is not None
        return web.csrf_token


@pytest.fixture
def anon_client(settings: Settings) -> Iterator[Any]:
    """No credentials at all."""
    from fastapi.testclient import TestClient

    from leadline.app import create_app

    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def client(settings: Settings) -> Iterator[Any]:
    """The API as a script with a write token sees it."""
    from fastapi.testclient import TestClient

    from leadline.app import create_app

    headers = {"Authorization": f"Bearer {make_token(settings)}"}
    with TestClient(create_app(settings), raise_server_exceptions=False, headers=headers) as test_client:
        yield test_client


@pytest.fixture
def signed_in(settings: Settings) -> Iterator[Callable[..., Any]]:
    """The one way a test gets a browser signed in: ``signed_in("viewer")`` is a client signed in as a
    new user with that role (``viewer@example.com``; ``email=`` to choose), through the sign-in form;
    its ``.csrf`` is its session's CSRF token. Each call makes a new client (its own cookies), of an
    app over the test's settings or over ``app_settings`` (the same database, other configuration)."""
    from fastapi.testclient import TestClient

    from leadline.app import create_app

    with ExitStack() as clients:

        def sign_in_as(role: str = "admin", email: str | None = None, *, app_settings: Settings | None = None) -> Any:
            app = create_app(app_settings or settings)
            test_client = clients.enter_context(TestClient(app, raise_server_exceptions=False))
            test_client.csrf = sign_in(test_client, make_user(settings, email or f"{role}@example.com", role))
            return test_client

        yield sign_in_as


@pytest.fixture
def page_client(signed_in: Callable[..., Any]) -> Any:
    """``signed_in("admin")``: the admin most page tests act as (admin@example.com)."""
    return signed_in("admin")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Chromium, once per worker, for every browser test (one Playwright per process: a second
    one started beside it refuses to run)."""
    from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS

    require_service(None if Path(CHROMIUM).exists() else f"Chromium is not installed at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
