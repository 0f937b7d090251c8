"""Issue 20's whole walk, as a user runs it: `leadline serve` and every `leadline` command in their own
processes (real time, no frozen clock), the prospect's pages in Chromium at phone size.

A sequence email carries {{ booking_url }}; the prospect opens it (JavaScript off), picks the first time
offered and books the call (scheduled, sequence stopped, the owner notified, both sides invited); the call
is held and logged; a proposal is made and sent (proposal, the deal's value); the prospect opens it
(JavaScript on: the view's duration is reported), types their name, ticks the box and accepts: the deal is
won, the customer exists with the proposal's service and fee (MRR), the evidence is kept and the signed
PDF (document and certificate) is filed on the customer. The customer's page, signed in, shows it.

Screenshots: test-artifacts/screenshots/walk-<database>-NN-*.png. The figures are printed (run with -s).
SQLite and PostgreSQL."""

from __future__ import annotations

import email
import email.policy
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import configure, make_user, run_leadline, settings_env
from tests.factories import make_prospect
from tests.processes import free_port, start_server, stop_all, wait_for
from tests.proposals.test_proposals import pages_of
from tests.web.conftest import shoot, sign_in
from tests.web.test_browser_axe import SIZES

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("processes")]

HOST = "ann@example.com"
TEMPLATE = """Subject: A quick call, {{ name }}?
Type: pain_point

Hi {{ firstName }},

Your Google profile is missing online booking. Pick a time that suits you: {{ booking_url }}

{{ senderName }}
"""


def _outbox(folder: Path) -> list[email.message.EmailMessage]:
    found = sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns) if folder.exists() else []
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in found]  # type: ignore[misc]


def _calendar(message: Any) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            return str(part.get_payload(decode=True).decode())
    raise AssertionError("no text/calendar part")


def test_from_a_sequence_emails_booking_link_to_a_customer_with_mrr(settings, browser, tmp_path, monkeypatch):
    database = "sqlite" if settings.database_url.startswith("sqlite") else "postgresql"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "book_a_call.txt").write_text(TEMPLATE)
    every_day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    configure(monkeypatch, settings, base_url=base, templates_dir=templates, send_window_days=every_day,
              send_window_start="00:00", send_window_end="24:00")  # fmt: skip
    env = settings_env(settings)
    outbox = Path(settings.outbox_dir or settings.data_dir / "outbox")
    make_user(settings, HOST, "admin")
    shop = make_prospect(settings, name="Reyes Plumbing", contact_name="Dan Reyes", email="dan@reyesplumbing.example",
                         timezone="America/Denver", owner=HOST, grid_health=41)  # fmt: skip
    figures: dict[str, Any] = {"database": database, "prospect": shop.id, "stages": [("added", shop.sales_status)]}

    def leadline(*args: str) -> Any:
        done = run_leadline(*args, env=env, cwd=tmp_path)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return json.loads(done.stdout) if "--json" in args else done.stdout

    def stage(step: str) -> str:
        now = leadline("prospects", "show", shop.id, "--json")["salesStatus"]
        figures["stages"].append((step, now))
        return str(now)

    leadline("availability", "set", "--user", HOST, "--timezone", "America/Chicago", "--hours", "mon-sun 08:00-18:00",
             "--lengths", "30", "--buffer-after", "10", "--days-ahead", "7", "--notice", "60", "--daily-max", "6")  # fmt: skip
    server = start_server({**env}, port, tmp_path)
    try:
        # 1. The sequence's first email, with the prospect's booking link.
        leadline("sequences", "start", "--template", "book_a_call", "-p", shop.id, "--steps", "follow_up_1:3d")
        assert stage("sequence email sent") == "contacted"
        [sent] = [m for m in _outbox(outbox) if "dan@reyesplumbing.example" in str(m["To"])]
        url = re.search(r"(http\S+/book/\S+)", sent.get_body(("plain",)).get_content()).group(1)  # type: ignore[union-attr]
        assert url.startswith(f"{base}/book/")
        figures["email"] = {"subject": str(sent["Subject"]), "bookingUrl": url[:60] + "..."}

        # 2. The prospect books on their phone, JavaScript off.
        phone = browser.new_context(viewport=SIZES["phone"], java_script_enabled=False,
                                    user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 18_0) walk")  # fmt: skip
        phone.set_default_timeout(15_000)
        tab = phone.new_page()
        tab.goto(url)
        assert tab.get_by_text("America/Denver").count() >= 1
        first_day = tab.locator("fieldset legend").first.inner_text()
        first = tab.get_by_role("radio").first
        slot_value, slot_time = first.get_attribute("value"), tab.locator("label.slot span").first.inner_text()
        shoot(tab, f"walk-{database}-01-booking-page")
        first.check()
        tab.get_by_label("Anything we should know?").fill("Ask for Dan at the front desk")
        tab.get_by_role("button", name="Book this time").click()
        tab.get_by_role("heading", name="Your call is booked").wait_for()
        shoot(tab, f"walk-{database}-02-call-booked")
        phone.close()
        assert stage("call booked on the page") == "scheduled"
        [call] = leadline("calls", "list", "--json")
        assert call["prospectId"] == shop.id
        assert datetime.fromisoformat(str(call["scheduledAt"]).replace("Z", "+00:00")) == datetime.fromisoformat(
            str(slot_value).replace("Z", "+00:00"))  # fmt: skip
        figures["call"] = {"offered": f"{first_day} {slot_time} (America/Denver)", "scheduledAt": call["scheduledAt"]}
        [status] = [r for r in leadline("sequences", "status", "--all", "--json") if r["prospectId"] == shop.id]
        assert status["status"] == "stopped"
        # the server's worker sends both invitations after the booking commits
        assert wait_for(lambda: len([m for m in _outbox(outbox)
                                     if str(m["Subject"]).startswith(("Invitation:", "Booked:"))]) == 2, 30)  # fmt: skip
        invites = [m for m in _outbox(outbox) if str(m["Subject"]).startswith(("Invitation:", "Booked:"))]
        assert sorted(str(m["To"]).split("<")[-1].rstrip(">") for m in invites) == sorted([shop.email, HOST])
        ics = [_calendar(m) for m in invites]
        assert all("METHOD:REQUEST" in c and f"UID:{call['id']}@leadline" in c and "SEQUENCE:0" in c for c in ics)
        notified = [n for n in leadline("notifications", "list", "--json") if n["prospectId"] == shop.id]
        assert [n["kind"] for n in notified].count("call_booked") == 1
        figures["invitations"] = sorted(str(m["Subject"]) for m in invites)

        # 3. The call is held and logged.
        leadline("calls", "log", "--prospect", shop.id, "--outcome", "interested", "--duration", "25m",
                 "--notes", "Wants more booked jobs from Google; send a proposal")  # fmt: skip
        assert stage("call held and logged") == "interested"

        # 4. A proposal, sent: the value recorded, the prospect at proposal.
        made = leadline("proposals", "create", "--prospect", shop.id, "--service", "grid_health_analysis", "--fee",
                        "2400", "--intro", "Thanks for your time on the call.", "--json")  # fmt: skip
        sent_proposal = leadline("proposals", "send", made["id"], "--json")
        assert stage("proposal sent") == "proposal"
        value = leadline("prospects", "show", shop.id, "--json")["dealValue"]
        assert value == 2400.0
        proposal_url = str(sent_proposal["url"])
        assert proposal_url.startswith(f"{base}/p/")
        figures["proposal"] = {"id": made["id"], "dealValue": value, "url": proposal_url[:40] + "..."}

        # 5. The prospect reads it on their phone (JavaScript on: the page reports how long it stayed open)
        # and accepts with their typed name and the box.
        phone = browser.new_context(viewport=SIZES["phone"], user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 18_0) walk")
        phone.set_default_timeout(15_000)
        tab = phone.new_page()
        asked: list[str] = []
        tab.on("request", lambda request: asked.append(request.url))
        tab.goto(proposal_url)
        tab.get_by_role("heading", name="Proposal for Reyes Plumbing").wait_for()
        assert tab.get_by_text("Return on investment").count() >= 1
        assert tab.evaluate("() => document.documentElement.scrollWidth") <= SIZES["phone"]["width"]
        shoot(tab, f"walk-{database}-03-proposal")
        tab.wait_for_timeout(2500)  # reading
        tab.get_by_label("Your full name").fill("Dan Reyes")
        tab.get_by_label("I accept this proposal").check()
        tab.get_by_role("button", name="Accept the proposal").click()
        tab.wait_for_url("**done=accepted")
        assert "Accepted by Dan Reyes" in tab.locator("[data-accepted]").inner_text()
        shoot(tab, f"walk-{database}-04-accepted")
        phone.close()
        assert asked and all(u.startswith(base) for u in asked), asked  # nothing leaves for anywhere else
        assert stage("proposal accepted") == "closed_won"

        record = leadline("proposals", "show", made["id"], "--json")
        assert record["status"] == "accepted" and record["signerName"] == "Dan Reyes"
        assert record["signerAgent"].endswith(" walk") and record["signerIp"] == "127.0.0.1"
        assert record["signedSha256"] == record["versions"][0]["sha256"]
        assert wait_for(lambda: leadline("proposals", "show", made["id"], "--json")["views"][0]["seconds"] >= 2, 15)
        record = leadline("proposals", "show", made["id"], "--json")
        viewed = [n for n in leadline("notifications", "list", "--json")
                  if n["prospectId"] == shop.id and n["kind"] == "proposal_viewed"]  # fmt: skip
        assert len(viewed) == 1
        figures["views"] = [(v["viewedAt"], v["seconds"]) for v in record["views"]]
        figures["acceptance"] = {k: record[k] for k in ("acceptedAt", "signerName", "signerIp", "signerAgent",
                                                         "signedSha256", "acceptedVersion")}  # fmt: skip

        # 6. The customer, with the proposal's service and fee; MRR; the signed PDF on its record.
        customer = leadline("customers", "show", record["customerId"], "--json")
        assert (customer["serviceType"], customer["monthlyFee"], customer["status"]) == (
            "grid_health_analysis", 2400.0, "active")  # fmt: skip
        listed = leadline("customers", "list", "--json")
        assert listed["mrr"] == 2400.0
        [signed] = leadline("files", "list", f"customer:{customer['id']}", "--json")
        assert signed["id"] == record["signedFileId"] and signed["contentType"] == "application/pdf"
        pdf = tmp_path / "signed.pdf"
        leadline("files", "get", signed["id"], "-o", str(pdf))
        assert pdf.read_bytes().startswith(b"%PDF") and pages_of(pdf.read_bytes()) == 2
        figures["customer"] = {"id": customer["id"], "serviceType": customer["serviceType"],
                               "monthlyFee": customer["monthlyFee"], "mrr": listed["mrr"]}  # fmt: skip
        figures["signedPdf"] = {"name": signed["name"], "bytes": signed["size"], "pages": pages_of(pdf.read_bytes()),
                                "sha256": signed["sha256"]}  # fmt: skip

        # 7. The owner signs in: the customer's page shows the fee and the signed PDF; the timeline, each step.
        desk = browser.new_context(base_url=base, viewport={"width": 1280, "height": 900})
        desk.set_default_timeout(15_000)
        tab = desk.new_page()
        sign_in(tab, HOST)
        tab.goto(f"/customers/{customer['id']}")
        assert tab.get_by_role("link", name=signed["name"]).count() >= 1
        shoot(tab, f"walk-{database}-05-customer")
        tab.goto(f"/prospects/{shop.id}")
        shoot(tab, f"walk-{database}-06-prospect-timeline")
        desk.close()
        timeline = [(e["type"], e["status"]) for e in leadline("prospects", "show", shop.id, "--json")["timeline"]]
        for step in [("call", "scheduled"), ("proposal", "sent"), ("proposal", "viewed"), ("deal", "won"),
                     ("file", "added"), ("proposal", "accepted")]:  # fmt: skip
            assert step in timeline, (step, timeline)
    finally:
        log = stop_all([server])
    print(f"\nTHE WALK ({database})\n" + "\n".join(f"{k}: {json.dumps(v, default=str)}" for k, v in figures.items()))
    assert "Traceback" not in log.split("Shutting down")[0], log  # (uvicorn may print one as it stops on SIGINT)
