"""Issue 14: each business rule has one implementation, and every shell that offers it gives the same
outcome: the CLI (in-process and as a real process), the HTTP API and the pages. A refused input
changes nothing (every table compared before and after). SQLite and PostgreSQL (the ``settings``
fixture)."""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from leadline import clock
from leadline.db import unit_of_work
from tests.conftest import run_leadline, settings_env
from tests.factories import make_prospect, snapshot

FRAGMENT = {"X-Leadline-Fragment": "1"}
MONDAY_9AM = datetime(2025, 11, 17, 15, 0, tzinfo=UTC)  # 09:00 in Chicago: inside the sending window
#: A real process has the real clock: open its sending window every day, all day.
ALWAYS_OPEN = {"LEADLINE_SEND_WINDOW_START": "00:00", "LEADLINE_SEND_WINDOW_END": "24:00",
               "LEADLINE_SEND_WINDOW_DAYS": "mon,tue,wed,thu,fri,sat,sun"}  # fmt: skip


class Shells:
    """Each shell, reached lazily (signing a page client in costs a few queries)."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self.request = request

    def __getattr__(self, name: str) -> Any:
        return self.request.getfixturevalue(name)

    def leadline(self, *args: str, **env: str) -> Any:
        """``leadline ARGS`` as a process, under the test's settings (``env`` adds variables)."""
        return run_leadline(*args, env=settings_env(self.settings, **env))

    def ready(self, shell: str) -> None:
        """Make the shell's client before the "before" snapshot (a token, a session: rows of their own)."""
        if shell == "api":
            self.client  # noqa: B018
        elif shell not in ("cli", "process"):
            self.page_client  # noqa: B018


@pytest.fixture
def shells(request: pytest.FixtureRequest, settings: Any) -> Shells:
    return Shells(request)


def refused_field(line: str) -> str:
    """The field a one-line CLI error names: ``error: reason: must ...`` -> ``reason``."""
    assert line.startswith("error: ") and "\n" not in line.strip(), line
    return line[len("error: ") :].split(":", 1)[0].strip().lstrip("-")


def page_error(text: str) -> str:
    return html.unescape(text)


# --- 1. a stage move: reason required, stripped, one line, 1..500 characters --------------------


def stored_move(settings, prospect_id: str) -> tuple[str, str | None]:
    """The prospect's stage and the reason of its last stage change."""
    from leadline.prospects import service

    with unit_of_work(settings, readonly=True) as session:
        stage = service.get(session, prospect_id).sales_status
        moves = [e for e in service.timeline(session, prospect_id) if e.type == "stage_change"]
        return stage, (moves[-1].details.get("reason") if moves else None)


def move_by(shell: str, shells: Shells, prospect_id: str, stage: str, reason: str) -> tuple[str, str | None]:
    """("moved", None) or ("refused", the field named)."""
    if shell in ("cli", "process"):
        args = ("prospects", "stage", prospect_id, stage, "--reason", reason)
        if shell == "cli":
            result = shells.cli(*args)
            code, err = result.exit_code, result.stderr
        else:
            done = shells.leadline(*args)
            code, err = done.returncode, done.stderr
        return ("moved", None) if code == 0 else ("refused", refused_field(err))
    if shell == "api":
        response = shells.client.post(f"/api/prospects/{prospect_id}/stage", json={"stage": stage, "reason": reason})
        return ("moved", None) if response.status_code == 200 else ("refused", response.json()["field"])
    browser = shells.page_client
    if shell == "page":
        response = browser.post(f"/prospects/{prospect_id}/stage", follow_redirects=False,
                                data={"csrf_token": browser.csrf, "stage": stage, "reason": reason})  # fmt: skip
        if response.status_code == 303:
            return "moved", None
        assert response.status_code == 422, response.text[:300]
        text = page_error(response.text)
        return "refused", "reason" if "Reason: must" in text else "?"  # named by its label
    assert shell == "board"
    response = browser.post("/board/move", data={"prospectId": prospect_id, "stage": stage, "reason": reason},
                            headers={**FRAGMENT, "X-CSRF-Token": browser.csrf})  # fmt: skip
    return ("moved", None) if response.status_code == 200 else ("refused", response.json()["field"])


MOVE_SHELLS = ["cli", "process", "api", "page", "board"]
BAD_REASONS = {"empty": "", "blank": "   ", "two lines": "called\nthem", "2,000 characters": "x" * 2000}


@pytest.mark.parametrize("shell", MOVE_SHELLS)
def test_a_stage_move_needs_a_reason_of_one_line_up_to_500_characters(settings, shells, shell):
    prospect = make_prospect(settings, name="Royal Plumbing Co")
    cases = dict(BAD_REASONS) if shell != "process" else {"empty": "", "2,000 characters": "x" * 2000}
    shells.ready(shell)
    before = snapshot(settings)
    for label, reason in cases.items():
        assert move_by(shell, shells, prospect.id, "contacted", reason) == ("refused", "reason"), label
        assert snapshot(settings) == before, label
    assert move_by(shell, shells, prospect.id, "contacted", "  called their office  ") == ("moved", None)
    assert stored_move(settings, prospect.id) == ("contacted", "called their office")  # stripped, the same everywhere
    assert move_by(shell, shells, prospect.id, "replied", "y" * 500) == ("moved", None)
    assert stored_move(settings, prospect.id) == ("replied", "y" * 500)


def test_every_service_that_moves_a_prospect_obeys_the_same_rule(settings):
    """Deals and customers move prospects through the same service: its rule holds for them too."""
    from pydantic import ValidationError

    from leadline.prospects import service

    prospect = make_prospect(settings)
    before = snapshot(settings)
    for reason in BAD_REASONS.values():
        with pytest.raises(ValidationError) as caught, unit_of_work(settings) as session:
            service.move_stage(session, prospect.id, "contacted", reason=reason, actor="test")
        assert caught.value.errors()[0]["loc"] == ("reason",)
        with pytest.raises(ValidationError), unit_of_work(settings) as session:
            service.close_lost(session, service.get(session, prospect.id), reason=reason, actor="test")
    assert snapshot(settings) == before


# --- 2. objections: one parser ------------------------------------------------------------------


def log_objections(settings, shell: str, shells: Shells, prospect_id: str, typed: str) -> tuple[str, Any]:
    """("logged", the call's objections) or ("refused", the field named)."""
    if shell in ("cli", "process"):
        args = ("calls", "log", "--prospect", prospect_id, "--outcome", "interested", "--objections", typed, "--json")
        if shell == "cli":
            result = shells.cli(*args)
            code, out, err = result.exit_code, result.stdout, result.stderr
        else:
            done = shells.leadline(*args)
            code, out, err = done.returncode, done.stdout, done.stderr
        if code != 0:
            return "refused", refused_field(err).split(".")[0]  # objections.1: the item, as the API says
        return "logged", json.loads(out)["objections"]
    if shell == "api":
        response = shells.client.post("/api/calls", json={"prospectId": prospect_id, "outcome": "interested",
                                                          "objections": typed})  # fmt: skip
        if response.status_code == 201:
            return "logged", response.json()["objections"]
        return "refused", response.json()["field"].split(".")[0]
    browser = shells.page_client
    if shell == "prospect page":
        response = browser.post(f"/prospects/{prospect_id}/calls/log", follow_redirects=False,
                                data={"csrf_token": browser.csrf, "outcome": "interested", "objections": typed})  # fmt: skip
    else:
        response = browser.post("/calls/log", follow_redirects=False, data={
            "csrf_token": browser.csrf, "prospectId": prospect_id, "outcome": "interested", "objections": typed,
        })  # fmt: skip
    if response.status_code == 303:
        return "logged", last_call_objections(settings, prospect_id)
    assert response.status_code == 422, response.text[:300]
    return "refused", "objections" if "objections" in page_error(response.text) else "?"


def last_call_objections(settings, prospect_id: str) -> list[str]:
    from sqlalchemy import select

    from leadline.calls.models import CallActivity

    with unit_of_work(settings, readonly=True) as session:
        calls = session.scalars(select(CallActivity).where(CallActivity.prospect_id == prospect_id)).all()
        return list(max(calls, key=lambda c: (c.created_at, c.id)).objections)


OBJECTION_SHELLS = ["cli", "process", "api", "prospect page", "calls page"]


@pytest.mark.parametrize("shell", OBJECTION_SHELLS)
def test_objections_typed_with_commas_or_line_breaks_are_stored_alike(settings, shells, shell):
    prospect = make_prospect(settings)
    shells.ready(shell)
    typed = ["price, timing", "price\ntiming", " price ,, timing\n\nPrice "]
    if shell == "process":
        typed = typed[:1]
    for text in typed:
        assert log_objections(settings, shell, shells, prospect.id, text) == ("logged", ["price", "timing"]), text
    before = snapshot(settings)
    assert log_objections(settings, shell, shells, prospect.id, "price, " + "x" * 501) == ("refused", "objections")
    assert snapshot(settings) == before


def test_the_one_parser():
    from leadline.calls.objections import parse

    assert parse("price, timing") == parse("price\ntiming") == parse("price\r\ntiming,") == ["price", "timing"]
    assert parse(["Price, honestly", "price, honestly", " timing "]) == ["Price, honestly", "timing"]
    assert parse(None) == parse("") == parse(" , \n ") == []


# --- 3. the prospect-list filters -----------------------------------------------------------------


def list_by(settings, shell: str, shells: Shells, **given: str) -> tuple[str, Any]:
    """("listed", ids) or ("refused", the field named), ``given`` in the API's names."""
    if shell in ("cli", "process"):
        options = {"status": "--status", "tier": "--tier", "trade": "--trade", "search": "--search"}
        args = ["prospects", "list", "--json", "--limit", "100"]
        for name, value in given.items():
            args += [options[name], value]
        if shell == "cli":
            result = shells.cli(*args)
            code, out, err = result.exit_code, result.stdout, result.stderr
        else:
            done = shells.leadline(*args)
            code, out, err = done.returncode, done.stdout, done.stderr
        return ("listed", sorted(p["id"] for p in json.loads(out))) if code == 0 else ("refused", refused_field(err))
    if shell == "api":
        response = shells.client.get("/api/prospects", params={**given, "limit": 100})
        if response.status_code == 200:
            return "listed", sorted(p["id"] for p in response.json()["items"])
        assert response.status_code == 422
        return "refused", response.json()["field"]
    inputs = {"status": "stage", "tier": "tier", "trade": "trade", "search": "search"}
    response = shells.page_client.get("/prospects", params={inputs[k]: v for k, v in given.items()})
    text = page_error(response.text)
    if response.status_code == 200:
        from tests.web.test_pages_prospects import names

        return "listed", sorted(ids_named(settings, names(response.text)))
    assert response.status_code == 422, text[:300]
    for name, page_name in inputs.items():
        if f"{page_name.capitalize()}: " in text:  # named by its label on a page
            return "refused", name
    return "refused", "?"


def ids_named(settings, found: list[str]) -> list[str]:
    from leadline.prospects.models import Prospect

    with unit_of_work(settings, readonly=True) as session:
        return [p.id for p in session.query(Prospect).filter(Prospect.name.in_(found))]


@pytest.mark.parametrize("shell", ["cli", "process", "api", "page"])
def test_the_prospect_filters_are_one_schema(settings, shells, shell):
    royal = make_prospect(settings, name="Royal Plumbing Co", tier=1)
    make_prospect(settings, name="Summit HVAC", trade="hvac", tier=2)
    shells.ready(shell)
    before = snapshot(settings)
    assert list_by(settings, shell, shells, search="royal") == ("listed", [royal.id])
    assert list_by(settings, shell, shells, search="Royal", trade="plumbing", tier="1") == ("listed", [royal.id])
    refusals = {"search": {"search": "r" * 201}, "trade": {"trade": "t" * 81}}
    if shell == "process":
        refusals = {"search": refusals["search"]}
    for field, given in refusals.items():
        assert list_by(settings, shell, shells, **given) == ("refused", field), given  # not cut to 200 characters
    if shell != "cli" and shell != "process":  # Typer refuses a stage it does not know itself (its choices)
        assert list_by(settings, shell, shells, status="won") == ("refused", "status")
    assert snapshot(settings) == before


# --- 4. starting a sequence: one flow ------------------------------------------------------------


def start_by(shell: str, shells: Shells, **body: Any) -> tuple[str, Any]:
    """("started", {"sentNow", "waiting", "enrolled"}) or ("refused", the field named)."""
    if shell in ("cli", "process"):
        args = ["sequences", "start", "--template", body["template"], "--json"]
        for pid in body.get("prospectIds", []):
            args += ["--prospect", pid]
        if "steps" in body:
            args += ["--steps", body["steps"]]
        if shell == "cli":
            result = shells.cli(*args)
            code, out, err = result.exit_code, result.stdout, result.stderr
        else:
            done = shells.leadline(*args, **ALWAYS_OPEN)
            code, out, err = done.returncode, done.stdout, done.stderr
        if code != 0:
            return "refused", refused_field(err)
        data = json.loads(out)
    else:
        response = shells.client.post("/api/sequences", json=body)
        if response.status_code != 201:
            return "refused", response.json()["field"]
        data = response.json()
    return "started", {"sentNow": data["sentNow"], "waiting": data["waiting"],
                       "enrolled": [e["prospectId"] for e in data["enrolled"]]}  # fmt: skip


@pytest.mark.parametrize("shell", ["cli", "process", "api"])
def test_a_sequence_start_sends_the_first_emails_now_from_every_shell(shells, shell, settings):
    from tests.emails.conftest import outbox_messages

    if shell != "process":
        clock.set_frozen(MONDAY_9AM)
    people = [make_prospect(settings, name=f"Shop {n}", email=f"o{n}@shop{n}.com") for n in range(2)]
    ids = [p.id for p in people]
    shells.ready(shell)
    before = snapshot(settings)
    assert start_by(shell, shells, template="nope", prospectIds=ids) == ("refused", "template")
    assert start_by(shell, shells, template="pain_point", prospectIds=ids, steps="nudge:soon") == ("refused", "steps")
    assert snapshot(settings) == before and outbox_messages(settings) == []
    started = start_by(shell, shells, template="pain_point", prospectIds=ids, steps="follow_up_1:3d")
    # No worker runs here: the start itself sent what was due (the API used to only enrol).
    assert started == ("started", {"sentNow": 2, "waiting": 0, "enrolled": ids})
    assert sorted(m["To"].addresses[0].addr_spec for m in outbox_messages(settings)) == sorted(p.email for p in people)


# --- 5. "is this a selection": one rule --------------------------------------------------------


def choose_by(shell: str, shells: Shells, command: str, **given: Any) -> tuple[str, Any]:
    """A dry run of ``emails send`` or ``sequences start``: ("planned", ids) or ("refused", the field)."""
    if shell in ("cli", "process"):
        args = [command.split()[0], command.split()[1], "--template", "pain_point", "--dry-run", "--json"]
        for pid in given.get("prospectIds", []):
            args += ["--prospect", pid]
        for name in ("status", "tier", "limit"):
            if name in given:
                args += [f"--{name}", str(given[name])]
        if shell == "cli":
            result = shells.cli(*args)
            code, out, err = result.exit_code, result.stdout, result.stderr
        else:
            done = shells.leadline(*args)
            code, out, err = done.returncode, done.stdout, done.stderr
        if code != 0:
            field = refused_field(err)
            return "refused", {"prospect": "prospectIds"}.get(field, field)
        data = json.loads(out)
    else:
        url = "/api/emails/send" if command == "emails send" else "/api/sequences"
        response = shells.client.post(url, json={"template": "pain_point", "dryRun": True, **given})
        if response.status_code not in (200, 201):
            assert response.status_code == 422, response.text
            return "refused", response.json()["field"]
        data = response.json()
    if command == "emails send":
        return "planned", sorted(o["prospectId"] for o in data["results"] if o["status"] == "planned")
    return "planned", sorted(e["prospectId"] for e in data["enrolled"])


@pytest.mark.parametrize("command", ["emails send", "sequences start"])
@pytest.mark.parametrize("shell", ["cli", "process", "api"])
def test_prospects_are_chosen_by_id_or_by_a_selection_with_a_limit(settings, shells, shell, command):
    clock.set_frozen(MONDAY_9AM)
    people = sorted(make_prospect(settings, tier=1).id for _ in range(2))
    shells.ready(shell)
    before = snapshot(settings)
    cases: list[tuple[dict[str, Any], tuple[str, Any]]] = [
        ({}, ("refused", "prospectIds")),
        ({"prospectIds": people[:1], "tier": 1, "limit": 5}, ("refused", "prospectIds")),
        ({"tier": 1}, ("refused", "limit")),
        ({"prospectIds": people[:1]}, ("planned", people[:1])),
        ({"tier": 1, "limit": 5}, ("planned", people)),
    ]
    if shell == "process":
        cases = cases[:1] + cases[2:3]
    for given, expected in cases:
        assert choose_by(shell, shells, command, **given) == expected, given
        assert snapshot(settings) == before, given


def test_the_selection_rule_is_one_schema():
    """The API bodies are the selection; the CLI builds it (cli._out.check_selection)."""
    from leadline.emails.schemas import SendRequest
    from leadline.prospects.selection import Selection
    from leadline.sequences.api import SequenceStart

    assert issubclass(SendRequest, Selection) and issubclass(SequenceStart, Selection)
    chosen: Callable[..., Selection] = Selection.model_validate
    assert chosen({"status": "new", "limit": 3}).filters() is not None
    assert chosen({"prospectIds": ["a", "a"]}).prospect_ids == ["a"]
    assert chosen({"prospectIds": ["a"]}).filters() is None
