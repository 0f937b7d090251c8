"""The README's promises: its two commands exist, and `make run`'s recipe starts a working server."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_readme_names_the_two_commands_and_ci_runs_the_second():
    readme = (ROOT / "README.md").read_text()
    assert re.search(r"^make run$", readme, re.M) and re.search(r"^make test$", readme, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.slow
def test_make_run_recipe_serves_the_demo(tmp_path):
    """`make run` = install + `make serve-demo`; run the latter against a temp data folder."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LEADLINE_")},
        "LEADLINE_DATA_DIR": str(tmp_path / "data"),
        "LEADLINE_PORT": str(port),
    }
    bin_dir = Path(sys.executable).parent
    process = subprocess.Popen(
        ["make", "-s", "-C", str(ROOT), "serve-demo", f"BIN={bin_dir}"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail("the server did not come up")
        body = httpx.get(f"http://127.0.0.1:{port}/api/prospects", params={"limit": 1}, timeout=5).json()
        assert body["total"] == 340
    finally:
        os.killpg(process.pid, 15)
        output = process.communicate(timeout=30)[0]
    assert "Imported 340 researched prospects" in output
