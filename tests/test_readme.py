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
        # Signed in with the demo's printed credentials, the browser sees the demo's prospects.
        password = (tmp_path / "data" / "demo-password").read_text().strip()
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as browser:
            assert browser.get("/api/prospects").status_code == 401
            form = browser.get("/login").text
            login_csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
            signed_in = browser.post("/login", data={"email": "demo@leadline.local", "password": password,
                                                     "csrf_token": login_csrf})  # fmt: skip
            assert signed_in.status_code in (200, 303), signed_in.text
            body = browser.get("/api/prospects", params={"limit": 1}).json()
        assert body["total"] == 340
    finally:
        os.killpg(process.pid, 15)
        output = process.communicate(timeout=30)[0]
    assert "Imported 340 researched prospects" in output
    assert f"as demo@leadline.local with the password {password}" in output


def tour_commands() -> list[list[str]]:
    """Every `leadline ...` line of the README's tour, continuation lines joined, comments and
    redirections dropped, lines with a placeholder (EMAIL_ID) left out."""
    import shlex

    readme = (ROOT / "README.md").read_text()
    tour = readme[readme.index("## A tour") : readme.index("## Documentation")]
    commands = []
    for block in re.findall(r"```\n(.*?)```", tour, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            if not line.startswith("leadline "):
                continue
            words = shlex.split(line, comments=True)
            if ">" in words:
                words = words[: words.index(">")]
            if any(re.fullmatch(r"[A-Z][A-Z_]+", w) for w in words):
                continue
            commands.append(words[1:])
    return commands


def test_every_command_of_the_tour_works_on_the_demo(cli, tmp_path, monkeypatch):
    """The tour is run as written, in order, on the demo `make run` loads, today (the demo is built
    around today: a tour whose dates had passed failed for every reader after them)."""
    commands = tour_commands()
    assert len(commands) >= 25 and ["sequences", "status", "--all"] in commands
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my-research.csv").write_text(
        "Company,Email,Trade,City\nNorth Star HVAC,jo@northstarhvac.com,hvac,Waco\n"
    )
    assert cli("demo").exit_code == 0
    for words in commands:
        result = cli(*words)
        assert result.exit_code == 0, f"leadline {' '.join(words)}\n{result.stdout}\n{result.stderr}"
        assert "Traceback" not in result.stdout + result.stderr
    assert (tmp_path / "prospects.csv").stat().st_size > 10_000
