"""Deeply nested JSON files: the CLI (a real process), the API dry run and the import page (a running
server) refuse them naming the item or line, in bounded memory (40 KB of `[` once took the server to
1 GB, 200 KB got it killed), and a .json whose top level is an object is an error, not 0 rows.
Nothing changes in the database."""

from __future__ import annotations

import concurrent.futures
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from leadline.config import Settings
from leadline.jsonin import MAX_DEPTH
from tests.conftest import Cli, settings_env
from tests.factories import snapshot
from tests.hostile.served import Served, nested, serve

pytestmark = pytest.mark.xdist_group("processes")

EXE = str(Path(sys.executable).with_name("leadline"))
# Runs a command and prints its peak memory (KB) as the last line of stderr: the wrapper's only child.
MEASURED = (
    "import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(code)"
)
FILES = {
    "n40k.json": nested(20_000),
    "n200k.json": nested(100_000),
    "lines.jsonl": b'{"name": "One"}\n{"name": "Two"}\n' + b'{"name": "Three", "gaps": ' + nested(100_000) + b"}\n",
    "deep-item.json": b'[{"name": "One"}, {"name": "Two", "notes": ' + nested(MAX_DEPTH) + b"}]",
    "object.json": b'{"name": "Royal Plumbing", "city": "Austin"}',
}
NAMED = {
    "n40k.json": f"item 1 of n40k.json is nested deeper than {MAX_DEPTH} levels",
    "n200k.json": f"item 1 of n200k.json is nested deeper than {MAX_DEPTH} levels",
    "lines.jsonl": f"line 3 of lines.jsonl is nested deeper than {MAX_DEPTH} levels",
    "deep-item.json": f"item 2 of deep-item.json is nested deeper than {MAX_DEPTH} levels",
    "object.json": "object.json: a .json file must hold an array of objects",
}


def measured(settings: Settings, *args: str) -> tuple[int, str, int]:
    """(exit code, stderr without the figure, peak MB) of ``leadline ARGS`` as a process."""
    done = subprocess.run([sys.executable, "-c", MEASURED, EXE, *args], capture_output=True, text=True,
                          env={**os.environ, **settings_env(settings)}, timeout=180, check=False)  # fmt: skip
    *lines, peak = done.stderr.rstrip("\n").split("\n")
    return done.returncode, "\n".join(lines), int(peak) // 1024


def test_the_cli_refuses_nested_files_in_one_line_in_bounded_memory(sqlite_settings, tmp_path):
    for name, data in FILES.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "fine.json").write_text('[{"name": "Fine Plumbing"}]')
    export = tmp_path / "all.jsonl"
    assert Cli(sqlite_settings)("export", "--all", "-o", str(export)).exit_code == 0
    lines = export.read_text().splitlines(keepends=True)
    # import --all: a deep line where a row would be (the database is empty, as import --all wants it).
    deep_all = tmp_path / "deep-all.jsonl"
    deep_all.write_text("".join(lines[:2]) + "[" * 100_000 + "]" * 100_000 + "\n" + "".join(lines[2:]))
    before = snapshot(sqlite_settings)
    # As processes: the files that once exhausted memory (the others are below, in-process).
    runs = {name: ("prospects", "import", str(tmp_path / name)) for name in ("n40k.json", "n200k.json", "lines.jsonl")}
    runs["fine.json"] = ("prospects", "import", "--dry-run", str(tmp_path / "fine.json"))
    runs["import --all"] = ("import", "--all", str(deep_all))
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        results = dict(zip(runs, pool.map(lambda args: measured(sqlite_settings, *args), runs.values()), strict=True))
    baseline = results.pop("fine.json")
    assert baseline[0] == 0, baseline
    for name, (code, stderr, peak) in results.items():
        assert code == 1, (name, code, stderr)
        assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr, (name, stderr)
        expected = NAMED.get(name, "line 3 is nested deeper than a row of an export can be")
        assert expected in stderr, (name, stderr)
        assert peak - baseline[2] < 100, (name, f"{peak} MB against {baseline[2]} MB for a good file")
    assert snapshot(sqlite_settings) == before


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sqlite_template) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("depth"), sqlite_template) as served:
        yield served


@pytest.mark.parametrize("name", list(FILES))
def test_the_api_dry_run_and_the_import_page_refuse_nested_files(server, name):
    with server.browser() as browser:  # signed in first: signing in writes a session
        before = server.rows()
        rss = server.rss()
        server.reset_peak()
        api = httpx.post(f"{server.base}/api/prospects/import?dryRun=true", headers=server.auth(),
                         files={"file": (name, FILES[name])}, timeout=60)  # fmt: skip
        assert api.status_code == 422, api.text
        assert NAMED[name] in api.json()["message"]
        page = browser.post("/prospects/import", data={"csrf_token": browser.headers["X-CSRF-Token"]},
                            files={"file": (name, FILES[name])})  # fmt: skip
        assert page.status_code == 422 and NAMED[name] in page.text.replace("&#39;", "'"), page.text[-2000:]
        grown, peak = server.rss() - rss, server.peak() - rss
        assert grown < 100 and peak < 100, f"RSS +{grown} MB, peak +{peak} MB"
        assert server.rows() == before
    assert not any((server.settings.data_dir / "uploads").glob("*/*.json*"))  # a refused upload is not kept


def test_a_good_json_file_still_imports(server):
    rows = [{"name": "Json Plumbing", "gaps": ["no reviews"], "notes": "nested is fine: " + json.dumps([[["x"]]])}]
    api = httpx.post(f"{server.base}/api/prospects/import?dryRun=true", headers=server.auth(),
                     files={"file": ("good.json", json.dumps(rows).encode())})  # fmt: skip
    assert api.status_code == 200 and api.json()["created"] == 1, api.text


@pytest.mark.parametrize("name", ["deep-item.json", "object.json"])
def test_the_cli_names_the_deep_item_and_refuses_an_object(settings, cli, tmp_path, name):
    (tmp_path / name).write_bytes(FILES[name])
    before = snapshot(settings)
    result = cli("prospects", "import", str(tmp_path / name))
    assert result.exit_code == 1 and NAMED[name] in result.stderr, result.stderr
    assert snapshot(settings) == before


def test_a_csv_cell_of_nested_gaps_is_a_row_error(settings, cli, tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_text("name,gaps\nDeep Gaps Plumbing," + '"' + "[" * 100_000 + "]" * 100_000 + '"\n')
    before = snapshot(settings)
    result = cli("prospects", "import", str(path))
    assert result.exit_code == 1 and "gaps" in result.stderr and "must be a list of text" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert snapshot(settings) == before
