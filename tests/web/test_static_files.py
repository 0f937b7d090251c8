"""Static files are named by their content in the pages (``/static/app.js?v=...``): a browser keeps
such an address for good, and a release that changes a file names a new one, so no page runs with
an old copy of the script or the styles."""

from __future__ import annotations

import hashlib
import re

import httpx
import pytest

from leadline.web import render

IMMUTABLE = "public, max-age=31536000, immutable"


def _assets(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/static/[^"]+)"', html)


def test_pages_name_each_script_and_stylesheet_by_its_content(page_client):
    html = page_client.get("/prospects").text
    named = {address.partition("?")[0]: address for address in _assets(html) if "?v=" in address}
    assert {"/static/app.css", "/static/app.js", "/static/vendor/htmx-2.0.11.min.js"} <= set(named)
    for path, address in named.items():
        digest = hashlib.sha256((render.STATIC / path.removeprefix("/static/")).read_bytes()).hexdigest()[:12]
        assert address == f"{path}?v={digest}"


def test_a_running_server_lets_browsers_keep_only_the_current_address(live, page_client):
    address = next(a for a in _assets(page_client.get("/prospects").text) if a.startswith("/static/app.js?v="))
    with httpx.Client(base_url=live.url) as client:
        current = client.get(address)
        assert current.status_code == 200
        assert current.headers["cache-control"] == IMMUTABLE
        assert current.content == (render.STATIC / "app.js").read_bytes()
        for other in ("/static/app.js", "/static/app.js?v=000000000000", "/static/app.js?v=" + "f" * 5000):
            answer = client.get(other)
            assert answer.status_code == 200 and "immutable" not in answer.headers.get("cache-control", ""), other
        assert client.get("/static/nothing-here.js?v=abc").status_code == 404
        assert client.get("/static/../pyproject.toml?v=abc").status_code == 404


def test_a_changed_file_gets_a_new_address(tmp_path, monkeypatch):
    monkeypatch.setattr(render, "STATIC", tmp_path)
    (tmp_path / "site.js").write_text("one")
    first = render.static("site.js")
    assert first == render.static("site.js")
    (tmp_path / "site.js").write_text("two, longer")
    second = render.static("site.js")
    assert first != second and second.startswith("/static/site.js?v=")
    with pytest.raises(FileNotFoundError):
        render.static("gone.js")
