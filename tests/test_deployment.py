"""docs/deployment.md, step by step, with the files it quotes from deploy/.

The command lines come from the systemd units themselves (ExecStart, KillSignal,
TimeoutStopSec) and the settings from the environment file, so the doc, the files and
this test cannot drift apart: a fresh PostgreSQL database made by
deploy/postgres/create-database.sql, `leadline init`, two web servers and two workers,
/healthz through each (and through nginx with deploy/nginx/leadline.conf when nginx is
installed), a signed webhook to the Event Webhook URL `leadline webhooks urls` prints, a
reply to its Inbound Parse URL, the upgrade step, a backup and a restore, and a clean stop.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy.engine import make_url

from leadline.config import Settings
from leadline.webhooks.signature import public_key_text
from leadline.webhooks.simulate import Reply, SentEmail, frame, reply_form, signed_headers
from tests.conftest import IN_CI, PG_ADMIN_URL, ROOT, _postgres_reason, _worker, require_service
from tests.processes import EXE, Proc, free_port, healthy, private_redis, redis_server_reason, wait_for

DEPLOY = ROOT / "deploy"
DOC = ROOT / "docs" / "deployment.md"
UNITS = DEPLOY / "systemd"
ENV_FILE = DEPLOY / "leadline.env.example"
NGINX = DEPLOY / "nginx" / "leadline.conf"
CREATE_SQL = DEPLOY / "postgres" / "create-database.sql"


# --- reading the deploy/ files the way systemd and nginx do ------------------------------------


def read_unit(path: Path) -> dict[str, str]:
    """The [Service] settings of a unit file (comments and other sections left out)."""
    section, found = "", {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "Service":
            key, _, value = line.partition("=")
            found[key.strip()] = value.strip()
    return found


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as systemd's EnvironmentFile reads them (quotes removed)."""
    found = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not KEY=VALUE: {raw!r}"
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        found[key.strip()] = value
    return found


def command_line(unit: dict[str, str], instance: str) -> list[str]:
    """The unit's ExecStart for ``instance``, run with this checkout's `leadline`."""
    args = shlex.split(unit["ExecStart"].replace("%i", instance))
    assert args[0] == "/opt/leadline/venv/bin/leadline", args[0]  # where docs/deployment.md installs it
    return [EXE, *args[1:]]


def stop_signal(unit: dict[str, str]) -> int:
    return int(getattr(signal, unit.get("KillSignal", "SIGTERM")))


def stopped_cleanly(proc: Proc, unit: dict[str, str]) -> bool:
    """Stopped as systemd stops the unit, within its TimeoutStopSec, and with what systemd calls success:
    exit 0, death by the stop signal itself (uvicorn re-raises it after a graceful shutdown), or a
    SuccessExitStatus."""
    sig = stop_signal(unit)
    code = proc.stop(sig, float(unit.get("TimeoutStopSec", "90")))
    return code in (0, -sig) or str(code) in unit.get("SuccessExitStatus", "").split()


def self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "crm.example.com")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2)).sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = folder / "fullchain.pem", folder / "privkey.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def nginx_setup(folder: Path, *, upstreams: list[int], http_port: int, https_port: int) -> Path:
    """deploy/nginx/leadline.conf with this machine's ports and a throw-away certificate, inside a
    minimal nginx.conf (what /etc/nginx/nginx.conf provides); returns that file."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = self_signed(folder)
    text = NGINX.read_text()

    def replace(old: str, new: str) -> None:
        nonlocal text
        assert old in text, f"{NGINX.name} no longer has {old!r}: update this test with it"
        text = text.replace(old, new)

    servers = re.findall(r"^\s*server 127\.0\.0\.1:\d+[^;]*;\n", text, flags=re.M)
    assert len(servers) == 2, "the sample upstream lists the two leadline-web@ ports"
    text = text.replace(servers[1], "")
    replace(servers[0], "".join(f"    server 127.0.0.1:{p} max_fails=3 fail_timeout=10s;\n" for p in upstreams))
    replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    replace("listen [::]:80;\n", "")
    replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;")
    replace("listen [::]:443 ssl http2;\n", "")
    replace("/etc/letsencrypt/live/crm.example.com/fullchain.pem", str(cert))
    replace("/etc/letsencrypt/live/crm.example.com/privkey.pem", str(key))
    (folder / "leadline.conf").write_text(text)
    main = folder / "nginx.conf"
    temp = " ".join(
        f"{kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main.write_text(
        f"pid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'} warn;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  {temp}\n  include {folder / 'leadline.conf'};\n}}\n"
    )
    return main


NGINX_EXE = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")  # Debian's is in /usr/sbin


def nginx_reason() -> str | None:
    return None if NGINX_EXE else "nginx is not installed (scripts/test-services installs it)"


# --- the files themselves ----------------------------------------------------------------------


def test_the_doc_quotes_the_deploy_files_as_they_are():
    doc = DOC.read_text()
    quoted = re.findall(r"<!-- file: (\S+) -->\n```\w*\n(.*?)```", doc, flags=re.S)
    names = {name for name, _ in quoted}
    assert names == {
        "deploy/leadline.env.example", "deploy/systemd/leadline-web@.service", "deploy/systemd/leadline-worker@.service",
        "deploy/systemd/leadline.target", "deploy/nginx/leadline.conf", "deploy/postgres/create-database.sql",
    }  # fmt: skip
    for name, body in quoted:
        assert body == (ROOT / name).read_text(), f"docs/deployment.md quotes an old {name}"


def test_the_environment_file_names_real_settings_only():
    values = read_env_file(ENV_FILE)
    known = {f"LEADLINE_{name.upper()}" for name in Settings.model_fields}
    assert set(values) - known == set()
    assert values["LEADLINE_EMBEDDED_WORKER"] == "false"  # the workers are their own units
    assert values["LEADLINE_BASE_URL"].startswith("https://")
    assert Settings(
        _env_file=None, **{k.removeprefix("LEADLINE_").lower(): v for k, v in values.items()}
    ).secure_cookies


def test_a_shell_reads_the_environment_file_as_systemd_does():
    """docs/deployment.md runs `leadline` by hand with `set -a; . /etc/leadline/leadline.env`."""
    script = f"set -a; . '{ENV_FILE}'; set +a; env -0"
    shown = subprocess.run(["sh", "-c", script], capture_output=True, check=True, env={"PATH": os.environ["PATH"]})
    values = dict(item.split("=", 1) for item in shown.stdout.decode().split("\0") if item.startswith("LEADLINE_"))
    assert values == read_env_file(ENV_FILE)


def test_the_units_use_the_environment_file_and_stop_gently():
    web, worker = read_unit(UNITS / "leadline-web@.service"), read_unit(UNITS / "leadline-worker@.service")
    for unit in (web, worker):
        assert unit["EnvironmentFile"] == "/etc/leadline/leadline.env"
        assert unit["WorkingDirectory"] == read_env_file(ENV_FILE)["LEADLINE_DATA_DIR"]
    assert command_line(web, "8001")[1:] == ["serve", "--host", "127.0.0.1", "--port", "8001"]
    assert command_line(worker, "1")[1] == "worker"
    assert worker["KillSignal"] == "SIGINT"  # Huey's graceful stop: a send in hand finishes


def test_the_units_keep_what_leadline_writes_private():
    """UMask=0077: the database, the queue, the outbox and backups are the leadline user's alone."""
    for name in ("leadline-web@.service", "leadline-worker@.service"):
        assert read_unit(UNITS / name)["UMask"] == "0077", name


def test_systemd_accepts_the_units(tmp_path):
    require_service(None if shutil.which("systemd-analyze") else "systemd-analyze is not installed")
    for path in UNITS.iterdir():  # Leadline is not in /opt here: point at this checkout's, as installed
        (tmp_path / path.name).write_text(path.read_text().replace("/opt/leadline/venv/bin/leadline", EXE))
    names = ["leadline-web@8001.service", "leadline-worker@1.service", "leadline.target"]
    result = subprocess.run(["systemd-analyze", "verify", *names], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), result.stdout + result.stderr


def test_nginx_accepts_the_sample_config(tmp_path):
    require_service(nginx_reason())
    main = nginx_setup(tmp_path, upstreams=[8001, 8002], http_port=8080, https_port=8443)
    result = subprocess.run(
        [str(NGINX_EXE), "-t", "-c", str(main), "-p", str(tmp_path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


# --- the walk-through --------------------------------------------------------------------------


def run(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([EXE, *args], env=env, capture_output=True, text=True, timeout=180, check=False,
                            stdin=subprocess.DEVNULL)  # fmt: skip
    if check:
        assert result.returncode == 0, f"leadline {' '.join(args)}: {result.stderr}{result.stdout}"
    return result


def psql(admin: Any, *args: str) -> None:
    target = f"host={admin.host} port={admin.port or 5432} user={admin.username} dbname={admin.database}"
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", target, *args], check=True, capture_output=True)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.xdist_group("processes")
def test_the_deployment_doc_step_by_step(tmp_path):
    require_service(_postgres_reason())
    require_service(redis_server_reason())
    require_service(None if shutil.which("psql") and shutil.which("pg_dump") else "psql/pg_dump are not installed")
    if IN_CI:  # elsewhere step 6 (nginx) is left out where nginx is not installed
        require_service(nginx_reason())
    admin = make_url(PG_ADMIN_URL)
    name = f"leadline_deploy_{_worker()}"
    psql(admin, "-c", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', "-c", f'DROP ROLE IF EXISTS "{name}"')
    # Step 1: the database and its owner (not a superuser: the migrations must work as the owner).
    psql(admin, "-v", f"user={name}", "-v", "password=s3cret-pw", "-v", f"db={name}", "-f", str(CREATE_SQL))
    key = ec.generate_private_key(ec.SECP256R1())
    procs: list[Proc] = []
    web, worker = read_unit(UNITS / "leadline-web@.service"), read_unit(UNITS / "leadline-worker@.service")
    try:
        with private_redis() as redis:
            # Step 2: the environment file, with this machine's values where the sample says CHANGE-ME.
            settings = read_env_file(ENV_FILE)
            local = {
                "LEADLINE_DATABASE_URL": f"postgresql://{name}:s3cret-pw@{admin.host}:{admin.port or 5432}/{name}",
                "LEADLINE_REDIS_URL": redis.url,
                "LEADLINE_DATA_DIR": str(tmp_path / "var-lib-leadline"),
                "LEADLINE_SECRET_KEY": "deploy-test-" + "k" * 40,
                "LEADLINE_EMAIL_BACKEND": "outbox",  # no SendGrid account here; sends become .eml files
                "LEADLINE_SENDGRID_WEBHOOK_PUBLIC_KEY": public_key_text(key),
            }
            assert set(local) <= set(settings)
            base = {
                k: v for k, v in os.environ.items() if not k.startswith("LEADLINE_") or k.startswith("LEADLINE_TEST")
            }
            env = {**base, **settings, **local}
            Path(env["LEADLINE_DATA_DIR"]).mkdir()

            # Step 3: install (this checkout's venv stands in for /opt/leadline/venv), `leadline init`.
            first = run(env, "init").stdout
            assert "schema empty ->" in first and "s3cret-pw" not in first
            config = run(env, "config")
            assert "no LEADLINE_SENDER_ADDRESS" not in config.stderr

            # Step 4: the first admin (no terminal here: a set-password link) and an API token.
            added = run(env, "users", "add", "you@example.com", "--role", "admin").stdout
            link = re.search(r"(/set-password\?token=\S+)", added)
            assert link and "Added you@example.com (admin)" in added
            token = re.search(
                r"(ll_\S+)", run(env, "tokens", "create", "--name", "reporting", "--scope", "write").stdout
            )
            assert token
            api = {"Authorization": f"Bearer {token.group(1)}"}

            # Step 5: two web servers and two workers, as their units start them.
            ports = [free_port(), free_port()]
            for port in ports:
                procs.append(Proc(command_line(web, str(port)), env, tmp_path / f"web-{port}.log"))
            for n in ("1", "2"):
                procs.append(Proc(command_line(worker, n), env, tmp_path / f"worker-{n}.log"))
            urls = [f"http://127.0.0.1:{port}" for port in ports]
            assert wait_for(lambda: all(healthy(u) for u in urls), 60), [p.tail() for p in procs]
            for url in urls:
                health = httpx.get(f"{url}/healthz").json()
                assert (health["status"], health["database"], health["writes"], health["version"]) == (
                    "ok",
                    "ok",
                    "ok",
                    ANY,
                )
            assert wait_for(lambda: all("Leadline worker on" in p.output() for p in procs[2:]), 60)
            assert not any("Traceback" in p.output() for p in procs), [p.tail() for p in procs]

            # Step 7: the URLs for SendGrid; an email goes out and SendGrid's events come back.
            shown = run(env, "webhooks", "urls").stdout
            events_url = re.search(r"Event Webhook\s+(\S+)", shown)
            inbound = re.search(r"Inbound Parse\s+(\S+/inbound/\S+)", shown)
            assert events_url and inbound and events_url.group(1).startswith(env["LEADLINE_BASE_URL"])
            events_path = events_url.group(1).removeprefix(env["LEADLINE_BASE_URL"])
            inbound_path = inbound.group(1).removeprefix(env["LEADLINE_BASE_URL"])
            created = httpx.post(f"{urls[0]}/api/prospects", json={
                "name": "Royal Plumbing", "email": "owner@royalplumbing.example", "trade": "plumbing", "tier": 1,
                "contactName": "Pat Doe", "city": "Austin", "gridHealth": 48, "criticalGaps": 3,
                "gaps": ["No online booking"], "topCompetitor": "Summit Plumbing", "competitorHealth": 80,
            }, headers=api)  # fmt: skip
            assert created.status_code == 201, created.text
            prospect = created.json()["id"]
            run(env, "emails", "send", "--template", "pain_point", "--prospect", prospect)
            (sent,) = httpx.get(f"{urls[1]}/api/emails", params={"prospectId": prospect}, headers=api).json()["items"]
            when = int(dt.datetime.now(dt.UTC).timestamp())
            batch = [
                {"email": sent["toEmail"], "event": kind, "timestamp": when + n, "sg_event_id": f"deploy-{kind}",
                 "sg_message_id": "DeployTestMsg0000000001.recvd-1-2-3.0", "leadline_email_id": sent["id"]}
                for n, kind in enumerate(["processed", "delivered", "open"])
            ]  # fmt: skip
            body = frame(batch)
            for url in urls:  # SendGrid's retry of the same batch, to the other server: applied once
                answer = httpx.post(f"{url}{events_path}", content=body, headers=signed_headers(key, body))
                assert answer.status_code == 200, answer.text
            email = httpx.get(f"{urls[0]}/api/emails/{sent['id']}", headers=api).json()
            assert (email["status"], email["openCount"]) == ("opened", 1)
            mail = SentEmail(sent["id"], sent["toEmail"], None, sent["subject"], "pain_point", sent.get("messageId"),
                             None, dt.datetime.now(dt.UTC), prospect)  # fmt: skip
            form, content_type = reply_form(
                Reply(mail, "Sounds good, call me.", dt.datetime.now(dt.UTC)), sender_email=settings["LEADLINE_SENDER_EMAIL"]
            )  # fmt: skip
            replied = httpx.post(f"{urls[1]}{inbound_path}", content=form, headers={"content-type": content_type})
            assert replied.status_code == 200 and replied.json()["status"] == "matched", replied.text

            # Step 6: the same through nginx and TLS, when nginx is here to try it.
            if nginx_reason() is None:
                https_port = free_port()
                main = nginx_setup(tmp_path / "nginx", upstreams=ports, http_port=free_port(), https_port=https_port)
                nginx = Proc([str(NGINX_EXE), "-c", str(main), "-p", str(tmp_path / "nginx"), "-g", "daemon off; master_process off;"],
                             env, tmp_path / "nginx.log")  # fmt: skip
                procs.append(nginx)
                front = f"https://127.0.0.1:{https_port}"
                with httpx.Client(verify=False, timeout=10) as client:
                    assert wait_for(lambda: _answers(client, f"{front}/healthz"), 20), nginx.tail()
                    for _ in range(4):  # both upstreams
                        assert client.get(f"{front}/healthz").json()["status"] == "ok"
                    again = client.post(f"{front}{events_path}", content=body, headers=signed_headers(key, body))
                    assert again.status_code == 200 and again.json()["duplicates"] == 3, again.text

            # Step 8: an upgrade, here with nothing new to apply.
            for proc in procs[2:4]:
                assert stopped_cleanly(proc, worker), proc.tail()
            assert "is ready (schema" in run(env, "init").stdout
            assert "up to date" in run(env, "db", "current").stdout
            procs[2:4] = [Proc(command_line(worker, n), env, tmp_path / f"worker-{n}.log") for n in ("3", "4")]
            assert wait_for(lambda: all("Leadline worker on" in p.output() for p in procs[2:4]), 60)
            time.sleep(1)  # their consumers are running

            # Step 9: a backup, then a restore that takes back what came after it.
            backup = tmp_path / "backups" / "leadline.dump"
            backup.parent.mkdir()
            assert "Backed up to" in run(env, "backup", str(backup)).stdout
            later = httpx.post(f"{urls[0]}/api/prospects", json={"name": "Late Roofing", "email": "a@lateroof.example"},
                               headers=api)  # fmt: skip
            assert later.status_code == 201
            for proc in procs[2:4]:
                assert stopped_cleanly(proc, worker), proc.tail()
            assert "Restored" in run(env, "restore", str(backup), "--yes").stdout
            ids = {p["id"] for p in httpx.get(f"{urls[1]}/api/prospects", headers=api).json()["items"]}
            assert ids == {prospect}
            assert httpx.get(f"{urls[0]}/api/emails/{sent['id']}", headers=api).json()["status"] == "replied"

            # Stop, as systemd does.
            for proc in procs[:2]:
                assert stopped_cleanly(proc, web), proc.tail()
                assert "Application shutdown complete" in proc.output()
    finally:
        for proc in procs:
            proc.stop(signal.SIGKILL, 5)
        psql(admin, "-c", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', "-c", f'DROP ROLE IF EXISTS "{name}"')


def _answers(client: httpx.Client, url: str) -> bool:
    try:
        return client.get(url).status_code == 200
    except httpx.HTTPError:
        return False


class _Any:
    def __eq__(self, other: object) -> bool:
        return True


ANY = _Any()
