"""POST /webhooks/sendgrid/inbound: replies in SendGrid's default and raw modes."""

from __future__ import annotations

import base64
import json
from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from leadline.webhooks.security import inbound_token
from tests.conftest import changed
from tests.factories import count, snapshot
from tests.webhooks.conftest import email, send_to

BOUNDARY = "xYzZY"


def form(fields: dict[str, bytes | str], files: dict[str, tuple[str, bytes, str]] | None = None) -> tuple[bytes, str]:
    """A multipart/form-data body the way SendGrid builds it."""
    parts = []
    for name, value in fields.items():
        data = value.encode() if isinstance(value, str) else value
        parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + data + b"\r\n")
    for name, (filename, data, kind) in (files or {}).items():
        parts.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {kind}\r\n\r\n".encode()
            + data
            + b"\r\n"
        )
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode(), f"multipart/form-data; boundary={BOUNDARY}"


def default_mode(target, text: str | bytes, *, extra_headers: str = "", charset: str = "UTF-8",
                 html: str | None = None, sender: str | None = None, message_id: str | None = None) -> tuple[bytes, str]:  # fmt: skip
    sender = sender or target.to_email
    headers = (
        f"Message-ID: {message_id or make_msgid()}\nFrom: Daniel <{sender}>\nTo: sales@example.com\n"
        f"Subject: Re: {target.subject}\nIn-Reply-To: {target.message_id}\nReferences: {target.message_id}\n"
        + extra_headers
    )
    fields: dict[str, bytes | str] = {
        "headers": headers, "from": f"Daniel <{sender}>", "to": "sales@example.com",
        "subject": f"Re: {target.subject}", "envelope": json.dumps({"to": ["sales@example.com"], "from": sender}),
        "charsets": json.dumps({"to": "UTF-8", "subject": "UTF-8", "from": "UTF-8", "text": charset, "html": charset}),
        "SPF": "pass", "attachments": "0",
    }  # fmt: skip
    if text is not None:
        fields["text"] = text
    if html is not None:
        fields["html"] = html.encode(charset)
    return form(fields)


def post(hook, body_and_type, *, token: str | None = None):
    body, content_type = body_and_type
    url = f"/webhooks/sendgrid/inbound/{token if token is not None else inbound_token(hook.settings)}"
    return hook.client.post(url, content=body, headers={"content-type": content_type})


QUOTED = "Interested! Can we talk this week?\n\nOn Mon, Nov 17, 2025 at 8:30 AM Dana <dana@x.com> wrote:\n> Hi Daniel,\n> our offer\n"


def test_a_reply_is_matched_through_in_reply_to_and_applied(hook, cli):
    (target,) = send_to(hook.settings, 1)
    response = post(hook, default_mode(target, QUOTED))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "matched" and response.json()["emailId"] == target.id
    row = email(hook.settings, target.id)
    assert (row.status, row.reply_text) == ("replied", "Interested! Can we talk this week?")
    prospect = cli("prospects", "show", target.prospect_id, "--json").json
    assert prospect["salesStatus"] == "replied" and prospect["lastContactAt"] is not None
    assert count(hook.settings, "notifications") == 1


EVIL = "\x1b[2J\x1b]8;;http://evil.example\x1b\\click\x07"


def test_control_characters_in_a_reply_are_not_kept_nor_printed(hook, cli):
    """A reply's text keeps its line breaks and loses other control characters (the free-text rule); its
    subject, sender's name and headers are one line; no CLI command prints an escape sequence."""
    (target,) = send_to(hook.settings, 1)
    sender = target.to_email
    headers = (f"Message-ID: <evil@mail.example>\nFrom: Daniel <{sender}>\nTo: sales@example.com\n"
               f"Subject: Re: hello\nIn-Reply-To: {target.message_id}\n")  # fmt: skip
    body = form({
        "headers": headers, "from": f'"Dan{EVIL}iel" <{sender}>', "to": "sales@example.com",
        "subject": f"Re: {EVIL}\r\n hello", "text": f"Call me {EVIL}\r\nafter\t3\n",
        "envelope": json.dumps({"to": ["sales@example.com"], "from": sender}),
    })  # fmt: skip
    response = post(hook, body)
    assert response.status_code == 200 and response.json()["status"] == "matched", response.text
    clean = "[2J]8;;http://evil.example\\click"
    from leadline.db import unit_of_work
    from leadline.webhooks.models import InboundMessage

    with unit_of_work(hook.settings, readonly=True) as session:
        [row] = session.query(InboundMessage).all()
        assert row.full_text == f"Call me {clean}\nafter\t3\n" and row.reply_text == f"Call me {clean}\nafter 3"
        assert (row.subject, row.from_name) == (
            f"Re: {clean}  hello",
            "Dan" + clean.replace("\\", "") + "iel",
        )  # (quoted)
    assert email(hook.settings, target.id).reply_text == f"Call me {clean}\nafter 3"  # (the reply's spaces made one)
    for command in (("inbound", "list"), ("emails", "show", target.id), ("prospects", "show", target.prospect_id)):
        shown = cli(*command)
        assert shown.exit_code == 0, shown.stderr
        assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout, command


def test_the_same_reply_twice_is_applied_once(hook):
    (target,) = send_to(hook.settings, 1)
    message = default_mode(target, QUOTED, message_id="<same@mail.example>")
    assert post(hook, message).json()["duplicate"] is False
    again = post(hook, message)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert count(hook.settings, "inbound_messages") == 1 and count(hook.settings, "notifications") == 1


def test_raw_mode(hook):
    (target,) = send_to(hook.settings, 1)
    message = EmailMessage()
    message["From"] = f"Daniel <{target.to_email}>"
    message["To"] = "sales@example.com"
    message["Subject"] = f"Re: {target.subject}"
    message["Message-ID"] = make_msgid()
    message["In-Reply-To"] = target.message_id
    message.set_content("Yes, call me tomorrow.\n\n> quoted line\n")
    message.add_attachment(b"%PDF-1.4 ...", maintype="application", subtype="pdf", filename="invoice.pdf")
    body = form({"email": message.as_bytes(), "to": "sales@example.com", "from": target.to_email,
                 "envelope": json.dumps({"to": ["sales@example.com"], "from": target.to_email})})  # fmt: skip
    response = post(hook, body)
    assert response.status_code == 200 and response.json()["status"] == "matched"
    assert email(hook.settings, target.id).reply_text == "Yes, call me tomorrow."


def test_per_email_reply_to_address(hook, settings):
    settings = changed(settings, reply_domain="parse.gridline.example")
    (target,) = send_to(settings, 1)
    assert target.reply_to == f"reply+{target.id}@parse.gridline.example"
    from fastapi.testclient import TestClient

    from leadline.app import create_app

    body = form({"headers": "Message-ID: <r1@x>\nFrom: someone@else.com\n", "text": "Sure.",
                 "from": "someone@else.com", "to": target.reply_to,
                 "envelope": json.dumps({"to": [target.reply_to], "from": "someone@else.com"})})  # fmt: skip
    with TestClient(create_app(settings)) as client:
        response = client.post(f"/webhooks/sendgrid/inbound/{inbound_token(settings)}", content=body[0],
                               headers={"content-type": body[1]})  # fmt: skip
    assert response.json()["emailId"] == target.id and response.json()["status"] == "matched"


def sender_only(target, **fields: str) -> tuple[bytes, str]:
    """A reply from the prospect's address with nothing of what Leadline sent in it."""
    return form({"headers": "Message-ID: <r2@x>\n", "text": "Who is this?", "from": target.to_email,
                 "to": "sales@example.com", **fields})  # fmt: skip


@pytest.mark.parametrize(
    "fields",
    [
        {"dkim": "{@DOMAIN : pass}"},
        {"dkim": "{@other.example : pass, @DOMAIN : pass}", "SPF": "fail"},
        {"dkim": "{@mail.DOMAIN : pass}"},  # signed by a subdomain of the sender's
        {"SPF": "pass", "envelope": '{"to": ["sales@example.com"], "from": "bounces@DOMAIN"}'},
    ],
)
def test_the_sender_address_matches_when_sendgrid_verified_its_domain(hook, fields):
    (target,) = send_to(hook.settings, 1)
    domain = target.to_email.split("@", 1)[1]
    answer = post(hook, sender_only(target, **{k: v.replace("DOMAIN", domain) for k, v in fields.items()})).json()
    assert (answer["status"], answer["emailId"]) == ("matched", target.id)
    assert email(hook.settings, target.id).status == "replied"


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"SPF": "fail"},
        {"SPF": "pass"},  # SPF of which domain? without an envelope sender, nobody's
        {"SPF": "pass", "envelope": '{"to": ["sales@example.com"], "from": "bounces@evil.example"}'},
        {"SPF": "softfail", "dkim": "{@evil.example : pass}"},
        {"dkim": "{@DOMAIN : fail}"},
        {"dkim": "{@com : pass}"},
        {"dkim": "{@DOMAIN.evil.example : pass}"},
    ],
)
def test_the_sender_address_alone_is_not_trusted(hook, cli, fields):
    (target,) = send_to(hook.settings, 1)
    domain = target.to_email.split("@", 1)[1]
    before = snapshot(hook.settings)
    answer = post(hook, sender_only(target, **{k: v.replace("DOMAIN", domain) for k, v in fields.items()})).json()
    assert (answer["status"], answer["emailId"], answer["prospectId"]) == ("unmatched", None, None)
    after = snapshot(hook.settings)
    assert {t: r for t, r in after.items() if t != "inbound_messages"} == {
        t: r for t, r in before.items() if t != "inbound_messages"
    }
    assert cli("inbound", "list", "--status", "unmatched", "--json").json[0]["senderVerified"] is False


def test_replies_from_strangers_wait_in_the_unmatched_inbox(hook, cli):
    body = form({"headers": "Message-ID: <r3@x>\n", "text": "Please remove me", "from": "nobody@nowhere.com",
                 "to": "sales@example.com"})  # fmt: skip
    response = post(hook, body)
    assert response.status_code == 200 and response.json()["status"] == "unmatched"
    listed = cli("inbound", "list", "--status", "unmatched", "--json").json
    assert listed[0]["fromAddress"] == "nobody@nowhere.com"
    (target,) = send_to(hook.settings, 1)
    assigned = cli("inbound", "assign", listed[0]["id"], "--email", target.id)
    assert assigned.exit_code == 0 and email(hook.settings, target.id).status == "replied"


def test_an_auto_reply_is_recorded_but_not_a_reply(hook, cli):
    (target,) = send_to(hook.settings, 1)
    body = default_mode(target, "I am out of the office until Monday.", extra_headers="Auto-Submitted: auto-replied\n")
    response = post(hook, body)
    assert response.json()["status"] == "auto_reply"
    assert email(hook.settings, target.id).status == "sent"
    prospect = cli("prospects", "show", target.prospect_id, "--json").json
    assert prospect["salesStatus"] == "contacted"
    # the automatic answer, then its label (issue 19: an out-of-office with a return date)
    assert [e["type"] for e in prospect["timeline"][-2:]] == ["auto_reply", "reply_label"]
    assert prospect["timeline"][-1]["status"] == "labelled"
    assert prospect["timeline"][-1]["details"]["label"] == "out_of_office"


def test_non_utf8_charsets(hook):
    (target,) = send_to(hook.settings, 1)
    text = "Très intéressé, appelez-moi jeudi. Grüße".encode("iso-8859-1")
    assert post(hook, default_mode(target, text, charset="iso-8859-1")).status_code == 200
    assert email(hook.settings, target.id).reply_text == "Très intéressé, appelez-moi jeudi. Grüße"


def test_html_only_reply_is_stored_as_text(hook):
    (target,) = send_to(hook.settings, 1)
    html = "<div>Sounds good <b>Friday</b><script>alert('x')</script></div><div><br></div><p>&lt;Daniel&gt;</p>"
    assert post(hook, default_mode(target, None, html=html)).status_code == 200
    reply = email(hook.settings, target.id).reply_text
    assert "Sounds good Friday" in reply and "<Daniel>" in reply and "alert" not in reply


def test_attachments_and_a_huge_reply(hook):
    (target,) = send_to(hook.settings, 1)
    huge = "All good. " + "x" * 400_000
    body = form({"headers": f"Message-ID: <big@x>\nIn-Reply-To: {target.message_id}\n", "text": huge,
                 "from": target.to_email, "to": "sales@example.com", "attachments": "1",
                 "attachment-info": json.dumps({"attachment1": {"filename": "photo.jpg", "type": "image/jpeg"}})},
                files={"attachment1": ("photo.jpg", b"\xff\xd8\xff" + b"\0" * 2000, "image/jpeg")})  # fmt: skip
    response = post(hook, body)
    assert response.status_code == 200 and response.json()["status"] == "matched"
    assert email(hook.settings, target.id).reply_text.startswith("All good.")
    assert len(email(hook.settings, target.id).reply_text) < 250_000


def test_the_secret_protects_it(hook):
    (target,) = send_to(hook.settings, 1)
    before = snapshot(hook.settings)
    assert post(hook, default_mode(target, QUOTED), token="wrong").status_code == 403
    body, content_type = default_mode(target, QUOTED)
    plain = hook.client.post("/webhooks/sendgrid/inbound", content=body, headers={"content-type": content_type})
    assert plain.status_code == 401
    bad = base64.b64encode(b"leadline:nope").decode()
    assert hook.client.post("/webhooks/sendgrid/inbound", content=body,
                            headers={"content-type": content_type, "authorization": f"Basic {bad}"}).status_code == 401  # fmt: skip
    assert snapshot(hook.settings) == before
    good = base64.b64encode(f"leadline:{inbound_token(hook.settings)}".encode()).decode()
    ok = hook.client.post("/webhooks/sendgrid/inbound", content=body,
                          headers={"content-type": content_type, "authorization": f"Basic {good}"})  # fmt: skip
    assert ok.status_code == 200


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "multipart/form-data"])
def test_a_post_that_is_not_a_reply_is_kept_raw_for_a_person(hook, cli, content_type):
    """Behind the right secret, it is SendGrid's: a 4xx would lose it for good, a 5xx bring it
    back for three days. It is kept as it came (once), answered 200, and applies nothing."""
    before = snapshot(hook.settings)
    url = f"/webhooks/sendgrid/inbound/{inbound_token(hook.settings)}"
    response = hook.client.post(url, content=b"{}", headers={"content-type": content_type})
    assert response.status_code == 200 and response.json()["status"] == "failed"
    again = hook.client.post(url, content=b"{}", headers={"content-type": content_type})
    assert again.json() == {**response.json(), "duplicate": True}
    after = snapshot(hook.settings)
    assert {t: r for t, r in after.items() if t != "inbound_messages"} == {
        t: r for t, r in before.items() if t != "inbound_messages"
    }
    (listed,) = cli("inbound", "list", "--status", "failed", "--json").json
    assert listed["id"] == response.json()["id"] and listed["error"]
    assert cli("inbound", "list").stdout.count("failed") == 1
    assert cli("webhooks", "stats", "--json").json["unreadable"] == {"eventWebhook": 0, "inboundParse": 1}
    assigned = cli("inbound", "assign", listed["id"], "--email", "email_X")
    assert assigned.exit_code != 0


def test_a_reply_that_cannot_be_stored_as_one_is_kept_raw(hook, monkeypatch, caplog):
    """Only a failure to store at all is a 5xx: when storing the parsed reply fails for its
    content, the post is kept as it came, with the reason's first line (no SQL, no traceback)."""
    from leadline.webhooks import replies

    def refuse(*args, **kwargs):
        raise ValueError("this reply cannot be stored\n[SQL: INSERT ...]\n[parameters: ('secret',)]")

    monkeypatch.setattr(replies, "receive_reply", refuse)
    (target,) = send_to(hook.settings, 1)
    before = snapshot(hook.settings)
    with caplog.at_level("WARNING", logger="leadline"):
        response = post(hook, default_mode(target, QUOTED))
    assert response.status_code == 200 and response.json()["status"] == "failed"
    (line,) = [r for r in caplog.records if r.name.startswith("leadline")]
    assert line.exc_info is None and "cannot be stored" in line.getMessage() and "SQL" not in line.getMessage()
    after = snapshot(hook.settings)
    assert {t: r for t, r in after.items() if t != "inbound_messages"} == {
        t: r for t, r in before.items() if t != "inbound_messages"
    }
    assert email(hook.settings, target.id).status == "sent"


@pytest.mark.parametrize("body", [None, b"not a form"])
def test_database_down_is_503_whatever_the_post(hook, tmp_path, body):
    from fastapi.testclient import TestClient

    from leadline.app import create_app
    from leadline.config import Settings

    down = Settings(database_url="postgresql+psycopg://postgres@127.0.0.1:1/none", data_dir=tmp_path,
                    inbound_secret="s" * 32)  # fmt: skip
    (target,) = send_to(hook.settings, 1)
    content, content_type = default_mode(target, QUOTED) if body is None else (body, "multipart/form-data; boundary=x")
    with TestClient(create_app(down), raise_server_exceptions=False) as client:
        response = client.post(f"/webhooks/sendgrid/inbound/{inbound_token(down)}", content=content,
                               headers={"content-type": content_type})  # fmt: skip
    assert response.status_code == 503, response.text
