"""Fuzzing, bounded in time: the Event Webhook's body parser and the Inbound Parse handler take
whatever hypothesis makes of their input: never a 500, and a refused body writes nothing."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

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


@given(data=st.data())
@FUZZ
def test_the_event_webhook_takes_anything_signed(hook, cli, data):
    if count("prospects") == 0:
        make_prospect(name="Shop 1", email="o1@shop1.com")
        assert cli("emails", "send", "--template", "pain_point", "--status", "new", "--limit", "1").exit_code == 0
    email_id = cli("emails", "list", "--json").json[0]["id"]
    if data.draw(st.booleans()):
        body = json.dumps(data.draw(events(email_id))).encode()
    else:
        body = data.draw(st.binary(max_size=300))
    before = {t: count(t) for t in EVENT_TABLES}
    response = hook.client.post("/webhooks/sendgrid", content=body, headers=signed_headers(hook.key, body))
    assert response.status_code < 500, response.text
    assert "error" in response.json() if response.status_code >= 400 else True
    if response.status_code >= 400:
        assert {t: count(t) for t in EVENT_TABLES} == before


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
    assert response.status_code < 500, response.text


def test_nul_and_lone_surrogates_are_stored_not_crashed_on(hook):
    """What the fuzzer found first: PostgreSQL refuses NUL in text and JSON, and a lone surrogate
    cannot be encoded at all; both arrive fine in JSON escapes."""
    body = b'[{"event": "processed", "email": "a\\u0000b@x.com", "sg_event_id": "nul-1", "timestamp": 1700000000,' \
           b' "useragent": "\\ud800 \\u0000", "\\u0000key": "v"}]'  # fmt: skip
    response = hook.client.post("/webhooks/sendgrid", content=body, headers=signed_headers(hook.key, body))
    assert response.status_code == 200, response.text
    assert count("webhook_events") == 1


def test_infinity_and_nan_are_not_json(hook):
    for body in (b'[{"event": Infinity}]', b'[{"timestamp": NaN}]'):
        response = hook.client.post("/webhooks/sendgrid", content=body, headers=signed_headers(hook.key, body))
        assert response.status_code == 200 and response.json()["received"] == 0
    assert count("webhook_events") == 0 and count("webhook_batches") == 2
