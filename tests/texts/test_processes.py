"""The whole story through real processes: `leadline serve` and the CLI on one SQLite database, the
local Twilio stand-in over HTTP. A text is sent (`leadline texts send`), Twilio's signed status
callbacks mark it delivered, the prospect answers, texts STOP, and the next send is refused."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import run_leadline, settings_env
from tests.factories import make_prospect
from tests.fakes.twilio import FakeTwilio
from tests.processes import free_port, start_server, wait_for

OUR_NUMBER = "+15125550100"
ROOT = Path(__file__).resolve().parents[2]


def test_sent_delivered_answered_and_stop_honoured(sqlite_settings, tmp_path):
    settings = sqlite_settings
    royal = make_prospect(settings, name="Royal Plumbing Co", phone="(512) 555-0142", contact_name="Daniel Reyes")
    fake = FakeTwilio(auto_callbacks=True).start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = settings_env(settings, LEADLINE_TEXTS_BACKEND="twilio", LEADLINE_TWILIO_ACCOUNT_SID=fake.account_sid,
                       LEADLINE_TWILIO_AUTH_TOKEN=fake.auth_token, LEADLINE_TWILIO_FROM=OUR_NUMBER,
                       LEADLINE_TWILIO_API_URL=fake.url, LEADLINE_BASE_URL=base,
                       LEADLINE_TEXT_WINDOW_START="00:00", LEADLINE_TEXT_WINDOW_END="24:00",
                       LEADLINE_TEXT_WINDOW_DAYS="mon,tue,wed,thu,fri,sat,sun")  # fmt: skip
    server = start_server(env, port, tmp_path)
    try:

        def cli(*args: str) -> tuple[int, str]:
            done = run_leadline(*args, env=env, cwd=tmp_path)
            return done.returncode, done.stdout + done.stderr

        assert (
            cli("texts", "templates", "add", "checkin", "--body", "Hi {{ firstName }}, did my note reach you?")[0] == 0
        )
        code, out = cli("texts", "send", "--prospect", royal.id, "--template", "checkin")
        assert code == 0, out
        assert fake.sent[0]["StatusCallback"] == f"{base}/webhooks/twilio/status"
        assert wait_for(lambda: len(fake.delivered) == 2, 20), fake.delivered
        assert [status for _, status in fake.delivered] == [200, 200]
        assert "delivered" in cli("texts", "list", "--prospect", royal.id)[1]

        assert (
            fake.inbound(f"{base}/webhooks/twilio/sms", "+15125550142", OUR_NUMBER, "Call me Tuesday").status_code
            == 200
        )

        # STOP as a user plays Twilio by hand (docs/texts.md): the stand-in's `inbound` command, signing
        # with LEADLINE_TWILIO_AUTH_TOKEN; a START signed with another token is refused.
        def by_hand(body: str, **more: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "tests.fakes.twilio", "inbound", f"{base}/webhooks/twilio/sms",
                 "--from", "+15125550142", "--to", OUR_NUMBER, "--body", body],
                capture_output=True, text=True, env={**os.environ, **env, **more}, cwd=ROOT, timeout=60, check=False,
            )  # fmt: skip

        stop = by_hand("STOP")
        assert stop.returncode == 0 and stop.stdout.startswith("200 "), stop.stdout + stop.stderr
        forged = by_hand("START", LEADLINE_TWILIO_AUTH_TOKEN="not-the-token")
        assert forged.returncode == 1 and forged.stdout.startswith("403 "), forged.stdout + forged.stderr
        refused = httpx.post(f"{base}/webhooks/twilio/sms", data={"From": "+15125550142", "Body": "START"},
                             headers={"X-Twilio-Signature": "AAAAAAAAAAAAAAAAAAAAAAAAAAA="})  # fmt: skip
        assert refused.status_code == 403

        code, out = cli("texts", "templates", "add", "again", "--body", "One more thing")
        code, out = cli("texts", "send", "--prospect", royal.id, "--template", "again")
        assert code == 1 and "opted out of texts" in out
        shown = cli("prospects", "show", royal.id)[1]
        for line in ("sms: delivered", "Call me Tuesday", "sms: opted_out"):
            assert line in shown, shown
        assert len(fake.sent) == 1
    finally:
        server.stop(signal.SIGINT)
        fake.stop()
