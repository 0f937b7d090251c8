"""Browsers get HTML error pages (404, 405, 413, 500, 503) and the API keeps its JSON errors, on a
real server; /docs is Swagger UI from vendored files, under the Content-Security-Policy, with no
request leaving the machine (Chromium, offline)."""

from __future__ import annotations

import http.client
import re
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import text

from leadline.db import unit_of_work
from leadline.web.security import CSP
from tests.conftest import PASSWORD, make_token, make_user
from tests.factories import make_prospect
from tests.web import conftest as web
from tests.web.conftest import LiveServer

live = web.live  # the browser tests' live server (Chromium is the suite's one `browser` fixture)

# What Chromium sends for a page.
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"}


def is_page(response: httpx.Response, status: int, title: str) -> bool:
    return (
        response.status_code == status
        and response.headers["content-type"].startswith("text/html")
        and response.text.lstrip().lower().startswith("<!doctype html>")
        and f"<h1>{title}</h1>" in response.text
        and response.headers.get("content-security-policy") == CSP
    )


def is_json_error(response: httpx.Response, status: int, code: str) -> bool:
    if response.status_code != status or not response.headers["content-type"].startswith("application/json"):
        return False
    body = response.json()
    return body.get("error") == code and isinstance(body.get("message"), str)


@pytest.fixture
def browser_client(live: LiveServer) -> Iterator[httpx.Client]:
    """A browser's requests, signed in as an admin through the sign-in form."""
    email = make_user(live.settings)
    with httpx.Client(base_url=live.url, headers=BROWSER, timeout=30, follow_redirects=True) as client:
        form = client.get("/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert csrf, form.text
        signed = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf.group(1)})
        assert signed.status_code == 200 and "/login" not in str(signed.url), signed.text[:300]
        yield client


def broken_prospect(settings) -> str:
    """A prospect whose stored row no longer reads back (a time that is not a time): an unexpected error."""
    prospect = make_prospect(settings)
    with unit_of_work(settings) as session:
        session.execute(text("UPDATE prospects SET created_at = 'not a time' WHERE id = :id"), {"id": prospect.id})
    return prospect.id


def test_browsers_get_html_error_pages_and_the_api_keeps_json(live, browser_client):
    api = httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {make_token(live.settings)}"})
    anonymous_browser = httpx.Client(base_url=live.url, headers=BROWSER)

    # 404 of a path nobody routes, and 405.
    assert is_page(browser_client.get("/no/such/page"), 404, "Not found")
    assert is_page(anonymous_browser.get("/no/such/page"), 404, "Not found")
    assert is_page(browser_client.delete("/login"), 405, "Not allowed here")
    assert is_json_error(api.get("/api/no/such/thing", headers=BROWSER), 404, "not_found")
    assert is_json_error(anonymous_browser.get("/api/prospects"), 401, "unauthorized")

    # 500: an unexpected error (a row that does not read back), with only a reference on the page.
    broken = broken_prospect(live.settings)
    page = browser_client.get(f"/prospects/{broken}")
    assert is_page(page, 500, "Something went wrong"), (page.status_code, page.text[:300])
    assert re.search(r"unexpected server error \(reference [0-9a-f]{12}\)", page.text)
    assert "Traceback" not in page.text and "not a time" not in page.text
    assert is_json_error(api.get(f"/api/prospects/{broken}", headers=BROWSER), 500, "internal")

    # 503: the database cannot answer (its prospects table is gone).
    with unit_of_work(live.settings) as session:
        session.execute(text("ALTER TABLE prospects RENAME TO prospects_away"))
    try:
        page = browser_client.get("/prospects")
        assert is_page(page, 503, "Try again shortly"), (page.status_code, page.text[:300])
        assert page.headers["retry-after"] == "30"
        answer = api.get("/api/prospects", headers=BROWSER)
        assert is_json_error(answer, 503, "unavailable") and answer.headers["retry-after"] == "30"
    finally:
        with unit_of_work(live.settings) as session:
            session.execute(text("ALTER TABLE prospects_away RENAME TO prospects"))


def declared_too_large(base_url: str, path: str, headers: dict[str, str]) -> tuple[int, str, str] | None:
    """POST declaring a 100 MB body and sending 64 KB of it: (status, content type, body) of the answer,
    or None when the server keeps waiting for the rest (no body limit)."""
    where = urlsplit(base_url)
    connection = socket.create_connection((where.hostname, where.port), timeout=10)
    lines = [f"POST {path} HTTP/1.1", f"Host: {where.netloc}", "Content-Type: application/x-www-form-urlencoded",
             f"Content-Length: {100 * 1024 * 1024}", *[f"{k}: {v}" for k, v in headers.items()], "", ""]  # fmt: skip
    try:
        connection.sendall("\r\n".join(lines).encode() + b"x" * 65536)
        response = http.client.HTTPResponse(connection)
        response.begin()
        return response.status, response.getheader("content-type") or "", response.read().decode(errors="replace")
    except (TimeoutError, OSError):
        return None
    finally:
        connection.close()


def test_a_body_too_large_for_a_page_is_an_html_page(live):
    answer = declared_too_large(live.url, "/login", BROWSER)
    assert answer is not None, "the server waited for the 100 MB body"
    status, kind, body = answer
    assert status == 413, answer
    assert kind.startswith("text/html") and "<h1>Too large</h1>" in body, (status, kind, body[:300])
    api = declared_too_large(live.url, "/api/prospects", {"Accept": "application/json"})
    assert api is not None and api[0] == 413 and api[1].startswith("application/json"), api


@pytest.mark.browser
def test_docs_is_swagger_ui_from_this_server_under_the_csp(browser: Any, live: LiveServer):
    origin = live.url
    context = browser.new_context(base_url=origin)
    elsewhere: list[str] = []
    violations: list[str] = []
    errors: list[str] = []

    def only_this_server(route: Any) -> None:
        url = route.request.url
        if url.startswith(origin + "/"):
            route.continue_()
        else:  # the machine is "offline": nothing may be fetched from anywhere else
            elsewhere.append(url)
            route.abort()

    context.route("**/*", only_this_server)
    context.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => "
        "(window.__violations = window.__violations || []).push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    tab = context.new_page()
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    try:
        response = tab.goto("/docs")
        assert response is not None and response.status == 200
        assert response.headers["content-security-policy"] == CSP
        tab.wait_for_selector(".swagger-ui .info .title", timeout=90_000)
        assert "Leadline" in tab.inner_text(".swagger-ui .info .title")
        # Every tag is listed closed (docExpansion "none": the whole API open at once is more than Swagger UI
        # draws); a click opens one
        tab.wait_for_selector('.opblock-tag[data-tag="prospects"]', timeout=90_000)
        tags = tab.eval_on_selector_all(".opblock-tag", "nodes => nodes.map(n => n.getAttribute('data-tag'))")
        assert {"prospects", "emails", "senders", "texts", "replies", "booking", "files"} <= set(tags), tags
        tab.click('.opblock-tag[data-tag="prospects"]')
        tab.wait_for_selector(".opblock-summary-path", timeout=90_000)
        paths = tab.eval_on_selector_all(".opblock-summary-path", "nodes => nodes.map(n => n.textContent)")
        assert any(p.startswith("/api/prospects") for p in paths), paths[:10]
        tab.locator(".opblock-summary-path", has_text="/api/prospects").first.click()  # an operation opens
        tab.wait_for_selector(".opblock.is-open", timeout=30_000)
        violations += tab.evaluate("window.__violations || []")
        scripts = tab.eval_on_selector_all("script", "nodes => nodes.map(n => n.src || n.textContent)")
    finally:
        context.close()
    assert elsewhere == [], f"/docs asked another site for {elsewhere}"
    assert violations == [], violations
    assert errors == [], errors
    assert all(src.startswith(origin + "/static/") for src in scripts), scripts  # no inline script
