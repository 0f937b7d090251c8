"""The web pages over 100,000 prospects: the prospects table (filters, sorts, keyset pages), a
prospect's page, the dashboard and its every-3-seconds poll, against /api/dashboard.

The prospects come from the import benchmark's generator, imported with ``leadline prospects
import`` into a fresh SQLite file; each page is fetched in-process through Starlette's test
client as a signed-in admin (full request: session lookup, query, template). Median of 7 warm runs.

    .venv/bin/python benchmarks/pages.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import LEADLINE, WORK, fresh_sqlite, machine
from import_prospects import generate

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    options = parser.parse_args()
    _, env = fresh_sqlite("pages")
    csv_path = WORK / "pages" / "prospects.csv"
    generate(csv_path, options.rows)
    started = time.perf_counter()
    subprocess.run([LEADLINE, "prospects", "import", str(csv_path)], env=env, check=True, capture_output=True)
    print(f"{options.rows:,} prospects imported in {time.perf_counter() - started:.1f} s")
    os.environ.update({k: v for k, v in env.items() if k.startswith("LEADLINE_")})

    from fastapi.testclient import TestClient
    from tests.conftest import make_user, sign_in

    from leadline.app import create_app
    from leadline.config import get_settings

    get_settings.cache_clear()
    settings = get_settings()
    client = TestClient(create_app(settings))
    sign_in(client, make_user(settings, "bench@example.com", "admin"))
    token = None

    def median_ms(url: str, headers: dict[str, str] | None = None, expect: int = 200) -> float:
        times = []
        for _ in range(options.repeat + 1):
            start = time.perf_counter()
            response = client.get(url, headers=headers or {})
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == expect, (url, response.status_code, response.text[:300])
        return statistics.median(times[1:])

    first = client.get("/prospects?sort=name").text
    next_url = re.search(r'rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    # Walk 20 pages deep by cursor, to time a page far into the table.
    deep = "/prospects?sort=-grid_health"
    for _ in range(20):
        html = client.get(deep).text
        deep = re.search(r'rel="next" href="([^"]+)"', html).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    pid = re.search(r'<td><a href="/prospects/([^"]+)">', first).group(1)  # type: ignore[union-attr]
    version = re.search(r'data-version="([0-9a-f]+)"', client.get("/").text).group(1)  # type: ignore[union-attr]
    from tests.conftest import make_token

    token = make_token(settings)
    cases = [
        ("/prospects (newest first, 50 rows + total)", "/prospects", None, 200),
        ("/prospects?sort=name", "/prospects?sort=name", None, 200),
        ("/prospects?sort=name, next page (cursor)", next_url, None, 200),
        ("/prospects?sort=-grid_health, page 21 (cursor)", deep, None, 200),
        ("/prospects?tier=1&trade=roofing", "/prospects?tier=1&trade=roofing", None, 200),
        ("/prospects?stage=new&dnc=no&sort=-tier", "/prospects?stage=new&dnc=no&sort=-tier", None, 200),
        ("/prospects?search=denver (text search)", "/prospects?search=denver", None, 200),
        ("/prospects?search=... (htmx fragment)", "/prospects?search=owner77", {"HX-Request": "true",
                                                                               "HX-Target": "results"}, 200),
        ("/prospects/{id}", f"/prospects/{pid}", None, 200),
        ("/emails", "/emails", None, 200),
        ("/ (dashboard page)", "/", None, 200),
        ("/dashboard/live, nothing changed (the 3 s poll)", f"/dashboard/live?v={version}", None, 204),
        ("/api/dashboard (token)", "/api/dashboard", {"Authorization": f"Bearer {token}"}, 200),
    ]  # fmt: skip
    print(f"Machine: {machine()}")
    print(f"| page | median ms ({options.repeat} runs) |")
    print("|---|---|")
    for label, url, headers, status in cases:
        print(f"| {label} | {median_ms(url, headers, status):.1f} |")


if __name__ == "__main__":
    main()
