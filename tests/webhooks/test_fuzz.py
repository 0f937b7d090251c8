"""Fuzzing, bounded in time: the Event Webhook's body parser and the Inbound Parse handler take
whatever hypothesis makes of their input: never a 500, and a body that is not events writes
nothing but its raw copy. The mail parsers underneath (reply extraction, HTML to text,
auto-reply detection, the form and MIME readers) are fuzzed on their own with inputs built
from the pieces their patterns look for, and must stay within a CPU budget on each one."""

from __future__ import annotations

import json
import time
from email.message import Message
from typing import Any

from hypothesis import HealthCheck, example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import select, text

from leadline.db import unit_of_work
from leadline.emails.models import EmailActivity
from leadline.webhooks.inbound import NotAParsePost, parse_post
from leadline.webhooks.mailtext import extract_reply, html_to_text, is_auto_reply, normalised_lines
from leadline.webhooks.security import inbound_token
from leadline.webhooks.simulate import signed_headers
from tests.factories import count, make_prospect

FUZZ = hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
EVENT_TYPES = ["processed", "delivered", "open", "click", "bounce", "dropped", "deferred", "spamreport",
               "unsubscribe", "group_unsubscribe", "group_resubscribe", "nonsense", ""]  # fmt: skip
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63), st.floats(allow_nan=False),
    st.text(max_size=40),
)  # fmt: skip
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                           max_size=3), max_leaves=6)  # fmt: skip


def events(email_id: str) -> st.SearchStrategy[Any]:
    event = st.fixed_dictionaries(
        {},
        optional={
            "event": st.sampled_from(EVENT_TYPES) | values,
            "email": st.sampled_from(["o1@shop1.com", "x@y.z", ""]) | values,
            "timestamp": st.integers(min_value=-(2**40), max_value=2**40) | values,
            "sg_event_id": st.text(min_size=1, max_size=30) | values,
            "sg_message_id": st.text(max_size=40) | values,
            "leadline_email_id": st.sampled_from([email_id, "email_nope"]) | values,
            "url": st.text(max_size=60) | values,
            "reason": values,
            "type": values,
            "useragent": values,
            "sg_machine_open": values,
        },
    )
    return st.lists(event, max_size=5) | values


EVENT_TABLES = ("webhook_events", "webhook_batches", "email_activities", "outreach_activities", "prospects")


def counts(settings) -> dict[str, int]:
    with unit_of_work(settings, readonly=True) as session:
        return {t: int(session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in EVENT_TABLES}


@given(data=st.data())
@FUZZ
def test_the_event_webhook_takes_anything_signed(hook, cli, data):
    with unit_of_work(hook.settings, readonly=True) as session:
        email_id = session.scalar(select(EmailActivity.id))
    if email_id is None:
        make_prospect(hook.settings, name="Shop 1", email="o1@shop1.com")
        assert cli("emails", "send", "--template", "pain_point", "--status", "new", "--limit", "1").exit_code == 0
        email_id = cli("emails", "list", "--json").json[0]["id"]
    if data.draw(st.booleans()):
        body = json.dumps(data.draw(events(email_id))).encode()
    else:
        body = data.draw(st.binary(max_size=300))
    before = counts(hook.settings)
    response = hook.client.post("/webhooks/sendgrid", content=body, headers=signed_headers(hook.key, body))
    assert response.status_code == 200, response.text
    if "unreadable" in response.json():  # kept raw, nothing else written
        assert counts(hook.settings) == {**before, "webhook_batches": before["webhook_batches"] + 1}


FIELDS = ["headers", "from", "to", "subject", "text", "html", "envelope", "charsets", "SPF", "attachments",
          "attachment-info", "email"]  # fmt: skip


@given(fields=st.dictionaries(st.sampled_from(FIELDS), st.text(max_size=200) | st.just('{"to": ["a@b.c"]}'),
                              max_size=len(FIELDS)))  # fmt: skip
@example(fields={"to": '{"to": ["a@b.c"]}', "email": "\x00"})  # found in CI: a NUL in the raw MIME's body
@FUZZ
def test_inbound_parse_takes_any_form(hook, fields):
    response = hook.client.post(
        f"/webhooks/sendgrid/inbound/{inbound_token(hook.settings)}",
        files={name: (None, value.encode("utf-8", "surrogatepass")) for name, value in fields.items()},
    )
    assert response.status_code == 200, response.text


def test_nul_and_lone_surrogates_are_stored_not_crashed_on(hook):
    """What the fuzzer found first: PostgreSQL refuses NUL in text and JSON, and a lone surrogate
    cannot be encoded at all; both arrive fine in JSON escapes."""
    body = b'[{"event": "processed", "email": "a\\u0000b@x.com", "sg_event_id": "nul-1", "timestamp": 1700000000,' \
           b' "useragent": "\\ud800 \\u0000", "\\u0000key": "v"}]'  # fmt: skip
    response = hook.client.post("/webhooks/sendgrid", content=body, headers=signed_headers(hook.key, body))
    assert response.status_code == 200, response.text
    assert count(hook.settings, "webhook_events") == 1


def test_infinity_and_nan_are_not_json(hook):
    for body in (b'[{"event": Infinity}]', b'[{"timestamp": NaN}]'):
        response = hook.client.post("/webhooks/sendgrid", content=body, headers=signed_headers(hook.key, body))
        assert response.status_code == 200 and response.json()["received"] == 0
    assert count(hook.settings, "webhook_events") == 0 and count(hook.settings, "webhook_batches") == 2


# --- the mail parsers on their own -----------------------------------------------------------

CPU = 1.0  # seconds for one call, whatever the input (issue 13)
PURE = hsettings(max_examples=50, deadline=None)
# The pieces the quote-header, signature and disclaimer patterns of mail-parser-reply look for,
# so that hypothesis builds the texts that make them backtrack.
REPLY_PIECES = ["On ", " wrote:", "Am ", " schrieb ", ":", "Le ", " a écrit :", "El ", " escribió:", "Op ",
                " schreef:", "From:", "Sent:", "To:", "Subject:", "Von:", "Gesendet:", "De :", "Van:", "> ", ">", "-",
                "--", "_" * 32, "-----Original Message-----", "Warning:", "mail", " ", "  ", "\n", "\n\n", "\r\n",
                "\t", "\xa0", "\u2028", "\x00", "a", "Best regards", "Thanks,", "Sent from my", "Mit freundlichen Grüßen",
                "*", "(", ")", ",", ".", "<", "@", "é", "\u200b"]  # fmt: skip
HTML_PIECES = ["<", ">", "</", "<a", "<p>", "</p>", "<div>", "<br>", "<!--", "-->", "<!", "<?", "<![CDATA[", "]]>",
               "<script>", "</script>", "<style>", "&", "&#", "&amp;", "&#x", ";", "=", "'", '"', " ", "\n", "x", "é",
               "\x00", "<head>", "<title>", "<table><tr><td>", "<template>"]  # fmt: skip


def built_from(pieces: list[str], max_pieces: int = 60) -> st.SearchStrategy[str]:
    """A text of pieces, with one short run of them repeated many times (what makes a pattern
    backtrack is a long run of something it almost matches)."""
    run = st.lists(st.sampled_from(pieces), min_size=1, max_size=6).map("".join)
    return st.tuples(
        st.lists(st.sampled_from(pieces) | st.text(max_size=20), max_size=max_pieces).map("".join),
        run,
        st.integers(min_value=0, max_value=5_000),
        st.lists(st.sampled_from(pieces), max_size=max_pieces).map("".join),
    ).map(lambda t: (t[0] + t[1] * t[2] + t[3])[:200_000])


def within_budget(call: Any, *args: Any) -> Any:
    started = time.process_time()
    result = call(*args)
    spent = time.process_time() - started
    assert spent < CPU, f"{spent:.2f} s of CPU on {len(str(args[0]))} characters"
    return result


@given(text=built_from(REPLY_PIECES))
@PURE
def test_reply_extraction_on_anything(text):
    reply = within_budget(extract_reply, text)
    assert "\n".join(normalised_lines(text)).startswith(reply)  # a cut of the text, never more
    assert "\n\n\n" not in reply and "\r" not in reply


@given(html=built_from(HTML_PIECES))
@PURE
def test_html_to_text_on_anything(html):
    text = within_budget(html_to_text, html)
    assert "\n\n\n" not in text and "\r" not in text and text == text.strip()


@given(
    headers=st.dictionaries(
        st.sampled_from(["Auto-Submitted", "X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress", "Precedence",
                         "Subject", "X-Other"]),
        st.text(max_size=50) | st.sampled_from(["auto-replied", "no", "bulk", "auto_reply", "", "  No "]),
    ),
    subject=st.none() | built_from(["Auto", "matic", " ", "reply", "Out of ", "office", "\t", "\n", "Re: ", "x", "é"]),
)  # fmt: skip
@PURE
def test_auto_reply_detection_on_anything(headers, subject):
    message = Message()
    for name, value in headers.items():
        message[name] = value
    assert within_budget(is_auto_reply, message, subject) in (True, False)


def multipart_body(draw: Any) -> tuple[str, bytes]:
    """A form as SendGrid might send it, mangled: nested declarations, stray boundaries, odd headers."""
    boundary = draw(st.sampled_from(["xYzZY", "b", "--", "x" * 70]))
    pieces = [f"--{boundary}\r\n", f"--{boundary}--\r\n", "\r\n", "\n", "\r", "Content-Disposition: form-data; ",
              'name="text"', 'name="headers"', 'name="email"', 'name="charsets"', 'name="envelope"', 'name="from"',
              '; filename="a.pdf"', "Content-Type: multipart/mixed; boundary=q\r\n", "--q\r\n", "--q--\r\n",
              "Content-Type: text/plain; charset=idna\r\n", "Message-ID: <a@b>\r\n", "In-Reply-To: <x@y>\r\n",
              '{"to": 5}', '{"text": "punycode"}', "From: a@b.c\r\n", "hello", "\x00", "\xff", "é", ":", ";", '"',
              "(", "=?utf-8?q?x?="]  # fmt: skip
    body = draw(built_from(pieces, max_pieces=80))
    kind = draw(st.sampled_from([f"multipart/form-data; boundary={boundary}", "multipart/form-data", "text/plain",
                                 f'multipart/form-data; boundary="{boundary}"; charset=idna']))  # fmt: skip
    return kind, body.encode("utf-8", "surrogateescape")


@given(data=st.data())
@PURE
def test_the_multipart_and_mime_readers_on_anything(data):
    kind, body = multipart_body(data.draw)
    started = time.process_time()
    try:
        reply = parse_post(kind, body)
    except NotAParsePost:  # the endpoint keeps such a post raw
        reply = None
    assert time.process_time() - started < CPU
    if reply is not None:
        assert len(reply.text) <= 200_100 and len(reply.to_addresses) <= 50
