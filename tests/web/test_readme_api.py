"""The README's curl examples, run as written (with the token the tour creates) against a
live server holding the demo."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

from leadline.demo import load_demo
from tests.conftest import ROOT, make_token, require_service


def curl_lines() -> list[str]:
    readme = (ROOT / "README.md").read_text().replace("\\\n", " ")
    return [line.split("  #")[0] for line in readme.splitlines() if line.startswith("curl ")]


def test_the_readme_curl_examples_work(live):
    require_service(None if shutil.which("curl") else "curl is not installed")
    load_demo(live.settings)
    lines = curl_lines()
    assert len(lines) >= 2 and all("$TOKEN" in line for line in lines)
    env = {**os.environ, "TOKEN": make_token(live.settings, name="tour")}
    for line in lines:
        command = line.replace("http://127.0.0.1:8000", live.url)
        done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env, timeout=30)
        assert done.returncode == 0, (line, done.stderr)
        body = json.loads(done.stdout)
        assert "error" not in body, (line, body)
    anonymous = subprocess.run(["bash", "-c", re.sub(r'-H "Authorization[^"]*"', "", lines[0]).replace(
        "http://127.0.0.1:8000", live.url)], capture_output=True, text=True, timeout=30)  # fmt: skip
    assert json.loads(anonymous.stdout)["error"] == "unauthorized"
