"""The stored-text rule (docs/architecture.md, "Stored text"), tried as an attacker would.

A NUL, a line break and an out-of-range number go into every field of every request body and every
path and query parameter of the API, derived from the app's OpenAPI document (a new route is covered
without editing this file), into every page route with the field names its templates use, and into
the CLI and the prospect import. On SQLite and on PostgreSQL: never a 500; a refusal is a 4xx naming the
field; and nothing changed where the request was refused.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from pydantic import BaseModel
from pydantic.alias_generators import to_camel

from leadline.fields import INT32_MAX, INT32_MIN
from leadline.schemas import InputModel
from tests.conftest import make_user, run_leadline, settings_env, sign_in
from tests.factories import make_prospect, snapshot
from tests.routes import route_table

NUL = "a\x00b"
BREAK = "a\nb"
HUGE = 99999999999999999999  # more than 64 bits
POISONS = {"nul": NUL, "break": BREAK, "huge": HUGE}
TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "leadline" / "web" / "templates"
SKIPPED = ("/webhooks/",)  # SendGrid's posts: their own rules (docs/sendgrid.md), tested in tests/webhooks


def input_models() -> dict[str, type[InputModel]]:
    """Every input schema (every module that may define one imported first)."""
    import importlib
    import pkgutil

    import leadline

    for module in pkgutil.walk_packages(leadline.__path__, "leadline."):
        if module.name.rsplit(".", 1)[-1] in ("schemas", "api", "admin_api"):
            importlib.import_module(module.name)
    found: dict[str, type[InputModel]] = {}
    stack: list[type[InputModel]] = [InputModel]
    while stack:
        cls = stack.pop()
        found[cls.__name__] = cls
        stack.extend(cls.__subclasses__())
    return found


MODELS = input_models()


def kind_of_text(model: str | None, field: str) -> str:
    cls = MODELS.get(model or "")
    return cls._text_kinds.get(field, "line") if cls is not None else "line"


def _deref(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def type_of(doc: dict[str, Any], schema: dict[str, Any]) -> str:
    """string, integer, number, boolean, array or object (null left out of anyOf)."""
    schema = _deref(doc, schema)
    if "type" in schema and schema["type"] != "null":
        return str(schema["type"])
    for option in schema.get("anyOf", []) + schema.get("oneOf", []):
        found = type_of(doc, option)
        if found != "null":
            return found
    return "string" if "enum" in schema else "null"


def body_objects(doc: dict[str, Any], schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    schema = _deref(doc, schema)
    if "properties" in schema:
        yield schema
    for option in schema.get("oneOf", []) + schema.get("anyOf", []) + schema.get("allOf", []):
        yield from body_objects(doc, option)


def openapi_inputs(app: Any) -> list[dict[str, Any]]:
    """Every input of every operation: path and query parameters, JSON and form body fields."""
    doc = app.openapi()
    found = []
    for path, operations in doc["paths"].items():
        if path.startswith(SKIPPED):
            continue
        for method, operation in operations.items():
            base = {"method": method.upper(), "path": path}
            for param in operation.get("parameters", []):
                found.append({**base, "where": param["in"], "name": param["name"],
                              "type": type_of(doc, param["schema"]), "text": "line"})  # fmt: skip
            content = operation.get("requestBody", {}).get("content", {})
            for media, spec in content.items():
                where = "json" if media == "application/json" else "form"
                for obj in body_objects(doc, spec["schema"]):
                    for name, prop in obj["properties"].items():
                        found.append({**base, "where": where, "name": name, "type": type_of(doc, prop),
                                      "format": _deref(doc, prop).get("format"),
                                      "text": kind_of_text(obj.get("title"), name)})  # fmt: skip
    return found


def concrete(path: str, poisoned: str | None = None, value: str = "") -> str:
    """The path with each parameter ``x``, the poisoned one ``value`` (percent-encoded)."""
    return re.sub(r"\{([^}]+)\}", lambda m: quote(value, safe="") if m.group(1) == poisoned else "x", path)


def named(response: Any) -> set[str]:
    try:
        body = response.json()
    except ValueError:
        return set()
    fields = {body.get("field") or ""} | {e.get("field", "") for e in body.get("errors", [])}
    return {f.split(".")[0] for f in fields if f}


def stable_snapshot(settings) -> dict[str, Any]:
    """Every table; a browser session's last-seen time is bookkeeping of the request, not a change."""
    found = snapshot(settings)
    found.pop("web_sessions", None)
    return found


def forbidden_text(settings) -> list[tuple[str, str]]:
    """Stored text holding a NUL, a lone surrogate or another control (line breaks and tabs allowed)."""
    bad = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
    return [(table, row) for table, rows in snapshot(settings).items() for row in map(str, rows)
            if bad.search(row.encode().decode("unicode_escape", "ignore"))]  # fmt: skip


@pytest.fixture
def admin(page_client: Any) -> Any:
    """A signed-in admin with the session's CSRF token on every request (the API accepts both)."""
    page_client.headers["X-CSRF-Token"] = page_client.csrf
    return page_client


def expectation(item: dict[str, Any], poison: str) -> bool:
    """Whether the request must be a 422 naming the field (else: any answer below 500 that changes nothing)."""
    if poison == "huge":
        return item["type"] in ("integer", "number")
    if item["where"] in ("path", "query"):
        return True
    if item["where"] == "form":
        return poison == "nul" or item.get("format") == "binary"
    return item["text"] == "line" or (item["text"] == "lines" and poison == "nul")


def test_every_api_input_refuses_nul_line_breaks_and_huge_numbers(settings, admin: Any) -> None:
    """Path ids are ``x`` (nothing has that id), so whatever is not refused by the rule is a 404: every
    write is refused, and the database is compared once per route."""
    inputs = openapi_inputs(admin.app)
    counts = {"routes": len({(i["method"], i["path"]) for i in inputs}), "body": 0, "query": 0, "path": 0}
    failures: list[str] = []
    by_route: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for item in inputs:
        by_route.setdefault((item["method"], item["path"]), []).append(item)
        counts["body" if item["where"] in ("json", "form") else item["where"]] += 1
    for (method, path), items in by_route.items():
        before = stable_snapshot(settings)
        for item in items:
            for label, poison in POISONS.items():
                url, kwargs = concrete(path), {}
                if item["where"] == "path":
                    url = concrete(path, item["name"], str(poison))
                elif item["where"] == "query":
                    kwargs["params"] = {item["name"]: str(poison)}
                elif item["where"] == "json":
                    kwargs["json"] = {item["name"]: [poison] if item["type"] == "array" else poison}
                elif item.get("format") == "binary":
                    if label == "huge":
                        continue
                    kwargs["files"] = {item["name"]: (f"{poison}.csv", b"name\nA Plumbing\n", "text/csv")}
                else:
                    kwargs["data"] = {item["name"]: str(poison)}
                response = admin.request(method, url, **kwargs)
                field = to_camel(item["name"]) if item["where"] == "path" else item["name"]
                where = f"{method} {path} {item['where']} {item['name']} {label}: {response.status_code}"
                if response.status_code >= 500:
                    failures.append(f"{where} {response.text[:200]}")
                elif expectation(item, label) and (response.status_code != 422 or field not in named(response)):
                    failures.append(f"{where} (expected 422 naming {field}) {response.text[:200]}")
        if stable_snapshot(settings) != before:
            failures.append(f"{method} {path}: the database changed")
    assert not failures, "\n".join(failures)
    assert forbidden_text(settings) == []
    # The walk covered what the app has (a route without inputs has nothing to poison).
    assert counts["routes"] >= 55 and counts["body"] >= 150 and counts["query"] >= 50 and counts["path"] >= 25, counts
    print("covered", counts)


def page_field_names() -> list[str]:
    """Every form and query field name the pages' templates use, and every input schema's field."""
    names: set[str] = set()
    pattern = re.compile(r"""name="([A-Za-z_]+)"|f\.(?:input|textarea|select)\("([A-Za-z_]+)"|val\("([a-z_]+)"|"""
                         r"""fval\('[a-z]+', '([a-z_]+)'\)""")  # fmt: skip
    for template in TEMPLATES.rglob("*.html"):
        for match in pattern.finditer(template.read_text()):
            names.update(group for group in match.groups() if group)
    for cls in MODELS.values():
        for name, info in cls.model_fields.items():
            names.update({name, info.alias or name})
    return sorted(names - {"viewport", "robots", "csrf_token"})


def page_routes(app: Any) -> list[tuple[str, str, Any]]:
    """(method, path, endpoint) of every page (``/logout`` left out: signing out is its whole point)."""
    skip = ("/api/", "/webhooks/", "/docs", "/openapi.json", "/healthz", "/static")
    endpoints = {(m, r.path): r.endpoint for r in _routes(app.routes) for m in getattr(r, "methods", ())}
    return [(m, p, endpoints.get((m, p))) for m, p in route_table(app)
            if m != "MOUNT" and not p.startswith(skip) and p != "/logout"]  # fmt: skip


def _routes(routes: Any) -> Iterator[Any]:
    for route in routes:
        if hasattr(route, "effective_route_contexts"):
            yield from _routes(route.effective_route_contexts())
        elif hasattr(route, "original_router") and hasattr(route, "effective_candidates"):
            yield from _routes(route.effective_candidates())
        elif hasattr(route, "endpoint"):
            yield route


def read_by(endpoint: Any, names: list[str]) -> list[str]:
    """The field names a page reads by name: in its function or the module's functions it calls (the
    fields of the schemas it validates against are walked through the API)."""
    import inspect

    if endpoint is None:
        return names
    source = inspect.getsource(endpoint)
    module = inspect.getmodule(endpoint)
    helpers = {name: f for name, f in inspect.getmembers(module, inspect.isfunction) if f.__module__ == module.__name__}
    seen = {endpoint.__name__}
    while found := [n for n in helpers if n not in seen and re.search(rf"\b{n}\b", source)]:
        seen.update(found)
        source += "".join(inspect.getsource(helpers[n]) for n in found)
    return [n for n in names if f'"{n}"' in source or f"'{n}'" in source]


def test_every_page_refuses_nul_line_breaks_and_huge_numbers(settings, admin: Any) -> None:
    names = page_field_names()
    routes = page_routes(admin.app)
    failures: list[str] = []
    requests = 0
    for method, path, endpoint in routes:
        before = stable_snapshot(settings)
        tries: list[tuple[str, str, dict[str, Any], str | None]] = []
        for param in re.findall(r"\{([^}]+)\}", path):
            tries += [(label, concrete(path, param, poison), {}, param) for label, poison in
                      (("nul", NUL), ("break", BREAK))]  # fmt: skip
        if method == "GET":
            tries += [(label, concrete(path), {"params": {n: str(p) for n in names}}, None)
                      for label, p in POISONS.items()]  # fmt: skip
        else:
            tries += [("nul", concrete(path), {"data": {n: NUL for n in names}}, None)]
            if path != "/login":  # a number is a wrong e-mail address: that attempt is counted, by design
                tries += [("huge", concrete(path), {"data": {n: str(HUGE) for n in names}}, None)]
            # One line break at a time, the other fields left out (each form's own checks come first).
            tries += [("break", concrete(path), {"data": {n: BREAK}}, None) for n in read_by(endpoint, names)]
        for label, url, kwargs, param in tries:
            response = admin.request(method, url, follow_redirects=False, **kwargs)
            requests += 1
            where = f"{method} {path} {label} {param or ''}: {response.status_code}"
            if response.status_code >= 500:
                failures.append(f"{where} {response.text[:300]}")
            elif (param or label == "nul" or (method == "GET" and label == "break")) and response.status_code != 422:
                failures.append(f"{where} (expected 422)")
        if stable_snapshot(settings) != before:
            failures.append(f"{method} {path}: the database changed")
    assert not failures, "\n".join(failures)
    assert forbidden_text(settings) == []
    assert len(routes) >= 40 and len(names) >= 80, (len(routes), len(names))
    print("pages", len(routes), "routes", len(names), "field names", requests, "requests")


def test_the_sign_in_email_is_one_line(settings: Any, anon_client: Any) -> None:
    make_user(settings)
    before = snapshot(settings)
    for email in (NUL, "admin@example.com\nx", "admin@example.com\x00"):
        form = anon_client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token
        response = anon_client.post("/login", data={"email": email, "password": "x", "csrf_token": token.group(1)})
        assert response.status_code == 422, response.text[:300]
        assert response.json()["field"] == "email"
    assert snapshot(settings) == before  # no attempt was counted
    sign_in(anon_client, "admin@example.com")


def test_free_text_keeps_line_breaks_and_loses_the_rest(settings, admin: Any) -> None:
    make_prospect(settings, id="royal", name="Royal Plumbing")
    body = json.dumps({"notes": "first\r\nsecond\x00\x1b[31m\tthird\ud800"})  # ASCII: the surrogate escaped
    response = admin.patch("/api/prospects/royal", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json()["notes"] == "first\nsecond[31m\tthird"
    refused = admin.patch("/api/prospects/royal", json={"contactName": "Pat\nBcc: all@example.com"})
    assert refused.status_code == 422 and refused.json()["field"] == "contactName"
    assert refused.json()["message"] == "contactName: must be one line (no line breaks)"
    assert admin.patch("/api/prospects/royal", json={"gaps": "No booking\nFew reviews"}).json()["gaps"] == [
        "No booking",
        "Few reviews",
    ]
    assert admin.patch("/api/prospects/royal", json={"gaps": ["one\ntwo"]}).status_code == 422
    huge = admin.patch("/api/prospects/royal", json={"criticalGaps": HUGE})
    assert huge.status_code == 422 and huge.json()["message"] == "criticalGaps: must be at most 2147483647"


def _int_bounds(info: Any) -> tuple[Any, Any]:
    ge = le = None
    for item in info.metadata:
        ge = getattr(item, "ge", ge)
        le = getattr(item, "le", le)
    return ge, le


def _is_int(annotation: Any) -> bool:
    import typing

    args = typing.get_args(annotation)
    return annotation is int or any(_is_int(a) for a in args if a is not type(None))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_whole_number_of_an_input_fits_an_integer_column(name: str) -> None:
    """PostgreSQL INTEGER is 32 bits: every int a person sends is bounded inside it (a bound a schema
    forgets is a 500 on PostgreSQL)."""
    cls: type[BaseModel] = MODELS[name]
    for field, info in cls.model_fields.items():
        if not _is_int(info.annotation) or info.annotation is bool:
            continue
        ge, le = _int_bounds(info)
        if ge is None and le is None:  # bounds inside an Annotated union member, or on a list's items
            import typing

            todo = list(typing.get_args(info.annotation))
            while todo:
                arg = todo.pop()
                todo.extend(typing.get_args(arg))
                for meta in getattr(arg, "__metadata__", ()):
                    for inner in getattr(meta, "metadata", [meta]):
                        ge = getattr(inner, "ge", ge)
                        le = getattr(inner, "le", le)
        assert ge is not None and ge >= INT32_MIN, (name, field)
        assert le is not None and le <= INT32_MAX, (name, field)


# --- the CLI and the import, as a user runs them ------------------------------------------------


def test_the_cli_refuses_in_one_line(settings: Any, tmp_path: Path) -> None:
    make_prospect(settings, id="royal", name="Royal Plumbing")
    before = snapshot(settings)
    result = run_leadline("prospects", "update", "royal", "--contact-name", "a\nb", env=settings_env(settings))
    assert result.returncode == 1 and result.stderr.strip().count("\n") == 0, result.stderr
    assert "contact-name: must be one line (no line breaks)" in result.stderr
    result = run_leadline("prospects", "add", "--name", "Bad\x01Name", env=settings_env(settings))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "name: must not contain control characters (U+0001)" in result.stderr
    result = run_leadline(
        "prospects", "stage", "royal", "contacted", "--reason", "called\nagain", env=settings_env(settings)
    )
    assert result.returncode == 1 and "reason: must be one line" in result.stderr, result.stderr
    result = run_leadline(
        "prospects", "list", "--limit", str(HUGE), env=settings_env(settings)
    )  # the fast path on SQLite
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    assert snapshot(settings) == before
    # A NUL cannot be an argument (the kernel refuses it); through a file it is refused per row, and an
    # out-of-range number too (below).


def _import_file(tmp_path: Path) -> Path:
    path = tmp_path / "prospects.csv"
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["Business Name", "Contact Name", "Critical Gaps", "Notes"])
        writer.writerow(["Good Plumbing", "Pat Doe", "3", "line one\nline two"])
        writer.writerow(["Nul\x00 Roofing", "Sam", "1", ""])
        writer.writerow(["Break Roofing", "Sam\nBcc: all@example.com", "1", ""])
        writer.writerow(["Huge Roofing", "Sam", str(HUGE), ""])
        writer.writerow(["Clean Notes", "Jo", "2", "ok\x00 then\x07 fine"])
    return path


def test_the_import_names_each_bad_row(settings: Any, tmp_path: Path) -> None:
    path = _import_file(tmp_path)
    before = snapshot(settings)
    result = run_leadline("prospects", "import", str(path), env=settings_env(settings))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "3 bad rows in prospects.csv; nothing was imported" in result.stderr
    assert "line 4, column 'Business Name': must not contain a NUL character" in result.stderr
    assert "line 5, column 'Contact Name': must be one line (no line breaks)" in result.stderr
    assert "line 7, column 'Critical Gaps': must be at most 2147483647" in result.stderr
    assert snapshot(settings) == before

    result = run_leadline("prospects", "import", "--skip-invalid", str(path), env=settings_env(settings))
    assert result.returncode == 0, result.stderr
    assert "2 created, 0 updated, 0 unchanged, 3 rejected" in result.stdout
    rejects = list(csv.DictReader((tmp_path / "prospects.rejected.csv").open()))
    assert [r["line"] for r in rejects] == ["4", "5", "7"]
    notes = {p["name"]: p["notes"] for p in _prospects(settings)}
    assert notes == {"Good Plumbing": "line one\nline two", "Clean Notes": "ok then fine"}
    assert forbidden_text(settings) == []


def _prospects(settings) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from leadline.db import unit_of_work
    from leadline.notes import service as notes
    from leadline.prospects.models import Prospect

    with unit_of_work(settings, readonly=True) as session:
        found = list(session.scalars(select(Prospect)))
        latest = notes.latest_texts(session, [p.id for p in found])
        return [{"name": p.name, "notes": latest.get(p.id)} for p in found]


def test_the_import_upload_refuses_the_same_rows(settings, admin: Any, tmp_path: Path) -> None:
    path = _import_file(tmp_path)
    before = snapshot(settings)
    response = admin.post("/api/prospects/import", files={"file": ("p.csv", path.read_bytes(), "text/csv")})
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert {e["line"] for e in errors} == {"4", "5", "7"}, errors
    assert snapshot(settings) == before


def test_the_cli_prints_control_characters_as_escapes(settings, cli):
    """A second layer under the stored-text rule: text stored before the rule held (or written to the
    database by hand) still cannot act on the terminal; every table the CLI prints shows it escaped."""
    from sqlalchemy import text

    from leadline.db import unit_of_work

    p = make_prospect(settings, name="Plain Co")
    with unit_of_work(settings) as session:
        session.execute(text("UPDATE prospects SET name = :name, trade = :notes WHERE id = :id"),
                        {"name": "Evil \x1b[2J Co [red]", "notes": "a\x1b]8;;http://x.example\x07b\rover\nnext",
                         "id": p.id})  # fmt: skip
    for command in (("prospects", "show", p.id), ("prospects", "list")):
        shown = cli(*command)
        assert shown.exit_code == 0, shown.stderr
        assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout
        assert "Evil \\x1b[2J Co [red]" in shown.stdout, shown.stdout
        assert "\r" not in shown.stdout  # a carriage return would write over what is shown before it
    # A stored reply printed whole (not in a table): a carriage return that ends no line is written \r,
    # a line break (\r\n too) stays one.
    from tests.webhooks.conftest import send_to

    (email,) = send_to(settings, 1)
    with unit_of_work(settings) as session:
        session.execute(text("UPDATE email_activities SET reply_text = :reply WHERE id = :id"),
                        {"reply": "Yes, call me\rNo thanks\r\nBye", "id": email.id})  # fmt: skip
    printed = cli("emails", "show", email.id).stdout
    assert "Yes, call me\\rNo thanks\nBye" in printed.replace("\r\n", "\n") and "me\rNo" not in printed
