"""Helpers for the reliability suite: a Leadline installation in a folder, run as real processes."""

from __future__ import annotations

import os
from pathlib import Path
from subprocess import CompletedProcess

from tests.conftest import run_leadline


def leadline_env(data: Path, database_url: str | None = None, **extra: str) -> dict[str, str]:
    """The environment of an installation whose data folder is ``data``: no LEADLINE_SECRET_KEY,
    so the key is the one Leadline generates into data/secret_key (what a backup must carry)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADLINE_") or k.startswith("LEADLINE_TEST_")}
    env.update(
        LEADLINE_DATA_DIR=str(data),
        LEADLINE_TIMEZONE="America/Chicago",
        LEADLINE_SENDER_ADDRESS="Leadline Ops, 100 Congress Ave, Austin, TX 78701",
        LEADLINE_EMAIL_BACKEND="outbox",
        LEADLINE_EMBEDDED_WORKER="false",
    )
    if database_url:
        env["LEADLINE_DATABASE_URL"] = database_url
    env.update(extra)
    return env


def ok(env: dict[str, str], *args: str, cwd: Path | None = None) -> CompletedProcess[str]:
    done = run_leadline(*args, env=env, cwd=cwd)
    assert done.returncode == 0, f"leadline {' '.join(args)}: {done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr, done.stderr
    return done
