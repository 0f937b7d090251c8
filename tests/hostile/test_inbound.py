"""Issue 13, attacks on the mail a stranger sends Leadline: Inbound Parse posts and Event Webhook bodies.

Each attack, reproduced: a reply whose text makes reply extraction take seconds while holding the
GIL (the server stopped answering), posts that used to get a 500 (an idna charset, an envelope of
the wrong shape, deep MIME nesting, a signed body nested 480 levels), and a forged reply from a
prospect's address. Each must now take bounded time, answer 2xx, keep what it cannot read for a
person, log one line, and apply nothing it should not.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import threading
import time
from datetime import timedelta

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from leadline import clock, worker
from leadline.webhooks.inbound import parse_post
from leadline.webhooks.mailtext import extract_reply, html_to_text
from leadline.webhooks.security import inbound_token
from leadline.webhooks.signature import public_key_text
from leadline.webhooks.simulate import signed_headers
from tests.conftest import settings_env
from tests.factories import make_prospect, snapshot
from tests.processes import free_port, start_server, stop_all
from tests.webhooks.conftest import hook, send_to  # noqa: F401  (the signed-webhook client fixture)
from tests.webhooks.test_inbound import form

CPU_SECONDS = 1.0  # issue 13: at most 1 s of CPU for a 200,000-character pathological text

# The reproductions first, then the other shapes that made the old patterns backtrack.
PATHOLOGICAL = {
    "hi + 12,000 newlines": "hi\n" + "\n" * 12_000,
    "hi + 64,000 spaces": "hi" + " " * 64_000 + "x",
    "64,000 spaces": " " * 64_000,
    "200,000 newlines": "hi\n" + "\n" * 200_000,
    "200,000 spaces": "hi" + " " * 200_000 + "x",
    "200,000 of space-newline": "hi\n" + " \n" * 100_000,
    "200,000 of tabs and no-break spaces": "hi\n" + "\t\xa0" * 100_000 + "x",
    "one 200,000-character 'Am ... schrieb' line": "Am" + " schrieb" * 25_000,
    "700 long 'On ...' lines": ("On " + "a " * 140 + "\n") * 700,
    "200 long 'Am ... schrieb ...:' lines": ("Am " + " schrieb" * 120 + ":\n") * 200,
    "50,000 quoted lines": "> x\n" * 50_000,
    "dashes and rules": ("\n-" * 50_000) + ("\n\n" + "_" * 40) * 1_000,
}


@pytest.mark.parametrize("name", list(PATHOLOGICAL))
def test_reply_extraction_takes_bounded_cpu(name):
    text = PATHOLOGICAL[name]
    extract_reply("warm up\n\nOn Mon, Nov 17, 2025 at 8:30 AM Dana <d@x.com> wrote:\n> q")
    started = time.process_time()
    reply = extract_reply(text)
    spent = time.process_time() - started
    assert spent < CPU_SECONDS, f"{name}: {spent:.2f} s of CPU"
    assert len(reply) <= len(text)


def test_the_quoted_history_is_still_cut_after_pathological_padding():
    text = "Yes, Friday works." + " " * 100_000 + "\n" * 50_000 + "\nOn Mon, Nov 17, 2025 Dana <d@x.com> wrote:\n> hi"
    started = time.process_time()
    assert extract_reply(text) == "Yes, Friday works."
    assert time.process_time() - started < CPU_SECONDS


HOSTILE_HTML = {
    "unclosed tags over lines": "<a\n" * 66_000,
    "unclosed comments": "<!--" * 50_000,
    "end-tag openers": "</" * 100_000,
    "200,000 tiny paragraphs": "<p>x" * 50_000,
    "nested 40,000 deep": "<div>" * 40_000 + "deep",
    "unterminated attribute": "<a b='" + "x" * 200_000,
}


@pytest.mark.parametrize("name", list(HOSTILE_HTML))
def test_html_to_text_takes_bounded_cpu(name):
    started = time.process_time()
    html_to_text(HOSTILE_HTML[name])
    assert time.process_time() - started < CPU_SECONDS


def _nested_raw(depth: int) -> str:
    head = "From: someone@else.example\nMessage-ID: <nest@x>\n"
    opening = "".join(f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n' for i in range(depth))
    closing = "".join(f"--b{i}--\n" for i in reversed(range(depth)))
    return head + opening + "Content-Type: text/plain\n\nhi\n" + closing


def _nested_form_field(depth: int) -> bytes:
    text = (
        '--xYzZY\r\nContent-Disposition: form-data; name="text"\r\nContent-Type: multipart/mixed; boundary=c0\r\n\r\n'
        + "".join(f"--c{i}\r\nContent-Type: multipart/mixed; boundary=c{i + 1}\r\n\r\n" for i in range(depth))
        + '\r\n--xYzZY\r\nContent-Disposition: form-data; name="headers"\r\n\r\nMessage-ID: <n2@x>\r\n--xYzZY--\r\n'
    )
    return text.encode()


STRANGER = {"headers": "Message-ID: <s1@else.example>\nFrom: someone@else.example\n", "from": "someone@else.example",
            "to": "sales@example.com", "text": "hello"}  # fmt: skip
# name -> (body, content type, what Leadline makes of it: a reply it keeps unmatched, or a post it keeps raw)
POSTS = {
    "charsets naming idna": (form({**STRANGER, "charsets": '{"text": "idna", "html": "idna"}', "html": "<p>é</p>"}),
                             "unmatched"),
    "charsets naming punycode": (form({**STRANGER, "charsets": '{"text": "punycode"}', "text": "a-" * 50_000}),
                                 "unmatched"),
    "charsets naming a non-text codec": (form({**STRANGER, "charsets": '{"text": "base64"}'}), "unmatched"),
    "charsets nested 100,000 deep": (form({**STRANGER, "charsets": "[" * 100_000 + "]" * 100_000}), "unmatched"),
    "envelope.to a number": (form({**STRANGER, "envelope": '{"to": 5, "from": 7}'}), "unmatched"),
    "envelope.to an object": (form({**STRANGER, "envelope": '{"to": {"a": ["b"]}}'}), "unmatched"),
    "envelope an array": (form({**STRANGER, "envelope": "[1, 2, 3]"}), "unmatched"),
    "envelope nested 480 deep": (form({**STRANGER, "envelope": '{"to": ' + "[" * 480 + "]" * 480 + "}"}),
                                 "unmatched"),
    "a form field declaring 5,000 nested multiparts": ((_nested_form_field(5_000), "multipart/form-data; boundary=xYzZY"),
                                                       "unmatched"),
    "a raw message nested 5,000 deep": (form({"email": _nested_raw(5_000)}), "failed"),
    "a raw message of 20,000 parts": (form({"email": "From: a@b.example\nContent-Type: multipart/mixed; boundary=q\n\n"
                                                      + "--q\nContent-Type: text/plain\n\nx\n" * 20_000 + "--q--\n"}),
                                      "failed"),
    "a form of 1,000 parts": (form({f"f{i}": "x" for i in range(1_000)}), "failed"),
    "a raw message of 1,000,000 header lines": (form({"email": "From: a@b.example\nMessage-ID: <h1@x>\n"
                                                               + "X-H: aaaa\n" * 1_000_000 + "\nhi\n"}), "failed"),
    "a raw message part of 400,000 header lines": (form({"email": "From: a@b.example\nContent-Type: multipart/mixed; "
                                                                  "boundary=q\n\n--q\n" + "X-H: aaaa\n" * 400_000
                                                                  + "Content-Type: text/plain\n\nhi\n--q--\n"}),
                                                   "failed"),
    "an idna filename in a raw message": (form({"email": "From: a@b.example\nContent-Type: multipart/mixed; "
                                                          "boundary=q\n\n--q\nContent-Type: text/plain; charset=idna\n\n"
                                                          "hi\n--q\nContent-Disposition: attachment; "
                                                          "filename*=idna''%ff%fe\n\nx\n--q--\n"}), "unmatched"),
    "nested comments in From and To": (form({**STRANGER, "from": "(" * 100_000, "to": "(" * 100_000}), "unmatched"),
    "not a form at all": ((b"\x00\xff" * 1000, "multipart/form-data; boundary=xYzZY"), "failed"),
    "JSON instead of a form": ((b'{"text": "hi"}', "application/json"), "failed"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(POSTS))
def test_hostile_inbound_posts_get_200_are_kept_and_apply_nothing(hook, cli, caplog, name):  # noqa: F811
    send_to(hook.settings, 1)  # a prospect with a sent email, which none of these may touch
    (body, content_type), outcome = POSTS[name]
    started = time.process_time()
    with contextlib.suppress(ValueError):  # NotAParsePost: the endpoint keeps such a post raw
        parse_post(content_type, body)
    parse_cost = time.process_time() - started
    assert parse_cost < CPU_SECONDS, f"{name}: parsing took {parse_cost:.2f} s of CPU"
    before = snapshot(hook.settings)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="leadline"):
        response = hook.client.post(f"/webhooks/sendgrid/inbound/{inbound_token(hook.settings)}", content=body,
                                    headers={"content-type": content_type})  # fmt: skip
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["emailId"]) == (outcome, None)
    after = snapshot(hook.settings)
    assert {t: r for t, r in after.items() if t != "inbound_messages"} == {
        t: r for t, r in before.items() if t != "inbound_messages"
    }
    assert len(after["inbound_messages"]) == len(before["inbound_messages"]) + 1
    ours = [r for r in caplog.records if r.name.startswith("leadline") and r.levelno >= logging.WARNING]
    if outcome == "failed":
        (line,) = ours
        assert line.exc_info is None and "\n" not in line.getMessage() and "not understood" in line.getMessage()
        assert inbound_token(hook.settings) not in line.getMessage()
        (kept,) = cli("inbound", "list", "--status", "failed", "--json").json
        assert kept["id"] == response.json()["id"] and kept["error"]
        assert cli("webhooks", "stats", "--json").json["unreadable"]["inboundParse"] == 1
    else:
        assert ours == []


def test_a_signed_event_body_nested_480_levels_is_kept_raw_with_one_line(hook, cli, caplog):  # noqa: F811
    (target,) = send_to(hook.settings, 1)
    body = b'[{"event": "open", "email": "' + target.to_email.encode() + b'", "x": ' + b"[" * 480 + b"]" * 480 + b"}]"
    before = snapshot(hook.settings)
    with caplog.at_level(logging.INFO, logger="leadline"):
        response = hook.client.post("/webhooks/sendgrid", content=body, headers=signed_headers(hook.key, body))
    assert response.status_code == 200 and response.json()["unreadable"].startswith("whb_")
    after = snapshot(hook.settings)
    assert {t: r for t, r in after.items() if t != "webhook_batches"} == {
        t: r for t, r in before.items() if t != "webhook_batches"
    }
    (line,) = [r for r in caplog.records if r.name.startswith("leadline") and r.levelno >= logging.WARNING]
    assert line.exc_info is None and "\n" not in line.getMessage() and "nested deeper than 32" in line.getMessage()
    assert cli("webhooks", "stats", "--json").json["unreadable"] == {"eventWebhook": 1, "inboundParse": 0}


# --- trust: a reply is matched by what Leadline sent, or by a sender SendGrid verified --------


@pytest.fixture
def monday(settings):
    from tests.automation.conftest import MONDAY_9AM

    clock.set_frozen(MONDAY_9AM)
    worker.set_immediate(True)
    yield MONDAY_9AM
    worker.set_immediate(False)
    clock.set_frozen(None)


def _in_a_sequence(settings, cli):
    person = make_prospect(settings, name="Shop Forged", email="owner@forged-shop.example", tier=1)
    started = cli("sequences", "start", "--template", "pain_point", "-p", person.id, "--steps", "follow_up_1:3d")
    assert started.exit_code == 0, started.stderr
    return person


def _forged(person, **extra: str) -> tuple[bytes, str]:
    """From the prospect's address, no In-Reply-To/References, no per-email Reply-To."""
    return form({"headers": f"Message-ID: <forged-{len(extra)}@evil.example>\nFrom: {person.email}\n",
                 "from": f"Owner <{person.email}>", "to": "sales@example.com", "text": "Stop emailing me, thanks",
                 "envelope": json.dumps({"to": ["sales@example.com"], "from": "attacker@evil.example"}),
                 **extra})  # fmt: skip


def test_a_forged_reply_from_a_prospects_address_moves_nothing(hook, cli, monday):  # noqa: F811
    person = _in_a_sequence(hook.settings, cli)
    before = snapshot(hook.settings)
    body, content_type = _forged(person, SPF="fail")
    response = hook.client.post(f"/webhooks/sendgrid/inbound/{inbound_token(hook.settings)}", content=body,
                                headers={"content-type": content_type})  # fmt: skip
    assert response.status_code == 200 and response.json()["status"] == "unmatched"
    after = snapshot(hook.settings)
    assert {t: r for t, r in after.items() if t != "inbound_messages"} == {
        t: r for t, r in before.items() if t != "inbound_messages"
    }  # no stage, no notification, no timeline entry, the sequence untouched
    shown = cli("prospects", "show", person.id, "--json").json
    assert shown["salesStatus"] == "contacted"
    (enrollment,) = cli("sequences", "status", "--all", "--json").json
    assert enrollment["status"] == "active"
    (waiting,) = cli("inbound", "list", "--status", "unmatched", "--json").json
    assert waiting["fromAddress"] == person.email and waiting["senderVerified"] is False
    clock.set_frozen(monday + timedelta(days=3, minutes=1))
    worker.run(hook.settings, "sequences.run_due")
    assert len(cli("emails", "list", "--prospect", person.id, "--json").json) == 2  # the follow-up went out


def test_the_same_reply_with_dkim_pass_for_the_domain_is_matched(hook, cli, monday):  # noqa: F811
    person = _in_a_sequence(hook.settings, cli)
    body, content_type = _forged(person, SPF="fail", dkim="{@forged-shop.example : pass}")
    response = hook.client.post(f"/webhooks/sendgrid/inbound/{inbound_token(hook.settings)}", content=body,
                                headers={"content-type": content_type})  # fmt: skip
    assert response.status_code == 200 and response.json()["status"] == "matched"
    assert cli("prospects", "show", person.id, "--json").json["salesStatus"] == "replied"
    (enrollment,) = cli("sequences", "status", "--all", "--json").json
    assert (enrollment["status"], enrollment["stopReason"]) == ("stopped", "replied")


# --- against a running server: /healthz keeps answering, one log line, no traceback ------------


@pytest.mark.xdist_group("processes")
def test_the_server_keeps_answering_while_it_reads_pathological_posts(sqlite_settings, tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    env = {**os.environ, **settings_env(sqlite_settings, LEADLINE_SENDGRID_WEBHOOK_PUBLIC_KEY=public_key_text(key))}
    port = free_port()
    proc = start_server(env, port, tmp_path)
    base = f"http://127.0.0.1:{port}"
    inbound = f"{base}/webhooks/sendgrid/inbound/{inbound_token(sqlite_settings)}"
    posts = [
        form({**STRANGER, "headers": f"Message-ID: <p{n}@x>\n", "text": text, "html": HOSTILE_HTML[html]})
        for n, (text, html) in enumerate(
            [(PATHOLOGICAL["hi + 12,000 newlines"], "unclosed tags over lines"),
             (PATHOLOGICAL["hi + 64,000 spaces"], "unclosed comments"),
             (PATHOLOGICAL["one 200,000-character 'Am ... schrieb' line"], "200,000 tiny paragraphs"),
             (PATHOLOGICAL["700 long 'On ...' lines"], "end-tag openers")] * 2
        )
    ]  # fmt: skip
    posts.append(form({"email": _nested_raw(5_000)}))
    answers: list[tuple[int, float]] = []
    latencies: list[float] = []
    done = threading.Event()

    def send_all() -> None:
        with httpx.Client(timeout=60) as client:
            for body, content_type in posts:
                started = time.perf_counter()
                response = client.post(inbound, content=body, headers={"content-type": content_type})
                answers.append((response.status_code, time.perf_counter() - started))
        done.set()

    try:
        with httpx.Client(timeout=10) as client:
            for _ in range(5):  # warm: connections, the database
                client.get(f"{base}/healthz")
            ordinary, kind = form({**STRANGER, "headers": "Message-ID: <warm@x>\n", "text": "Fine, thanks."})
            assert client.post(inbound, content=ordinary, headers={"content-type": kind}).status_code == 200
            sender = threading.Thread(target=send_all)
            gc.disable()  # this process's own collections would show up as the server's latency
            try:
                sender.start()
                while not done.is_set():
                    started = time.perf_counter()
                    assert client.get(f"{base}/healthz").status_code == 200
                    latencies.append(time.perf_counter() - started)
                    time.sleep(0.02)
                sender.join()
            finally:
                gc.enable()
            nested = b"[" * 480 + b"]" * 480
            deep = httpx.post(f"{base}/webhooks/sendgrid", content=nested, headers=signed_headers(key, nested))
    finally:
        output = stop_all([proc])
    assert [status for status, _ in answers] == [200] * len(posts), answers
    assert deep.status_code == 200, deep.text
    assert len(latencies) >= 5, (answers, latencies)
    latencies.sort()
    median, p90, worst = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.9)], latencies[-1]
    print(f"\n/healthz during {len(posts)} pathological posts: {len(latencies)} probes, median {median * 1000:.0f} ms, "
          f"p90 {p90 * 1000:.0f} ms, worst {worst * 1000:.0f} ms; the posts took "
          f"{', '.join(f'{s:.2f}' for _, s in answers)} s")  # fmt: skip
    # Parsing that held the GIL stalled /healthz for the whole parse (16 s and more before). What
    # can be left is the machine's scheduling (2 cores shared with other test runs): one probe
    # over 100 ms is tolerated, none over half a second.
    assert len([t for t in latencies if t >= 0.1]) <= 1, f"/healthz p90 {p90 * 1000:.0f} ms, worst {worst * 1000:.0f}"
    assert worst < 0.5, f"/healthz took {worst * 1000:.0f} ms while the posts were read"
    serving = output.split("Shutting down")[0]
    assert "Traceback" not in serving, serving[-3000:]
    assert output.count("not understood") == 2, output[-3000:]  # the nested raw message and the deep body
    assert inbound_token(sqlite_settings) not in output.replace("[redacted]", "")
