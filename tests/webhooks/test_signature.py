"""SendGrid's signature scheme, checked with its official vectors (../shared/SENDGRID.md §2.5)."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from leadline.webhooks.signature import BadKey, load_key, public_key_text, sign, verify

KEY_A = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="
SIG_A = "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM="
TS_A = "1600112502"
EVENTS_A = [{"email": "hello@world.com", "event": "dropped", "reason": "Bounced Address",
             "sg_event_id": "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA",
             "sg_message_id": "LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0",
             "smtp-id": "<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>", "timestamp": 1600112492}]  # fmt: skip
BODY_A = (json.dumps(EVENTS_A, sort_keys=True, separators=(",", ":")) + "\r\n").encode()

KEY_B = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEQ4LIFtWztlsF7skFqOncjD1lun4H5w8XOhyOArHW9RcIx/FfEzx6cikC/yPfUvwaX/JScE7Fc9CJD2afQ9Ok3Q=="
SIG_B = "MEYCIQC/I4o6vCgqRYrTljjoVWB/GRWNtxeePlLMHr3x9ETeRQIhAIpV+03nREPTTHWSW0wIOA0EoMPdcNgXa70yCaqDJlu5"
TS_B = "1619651159"
EVENTS_B = [
    {"email": "invalid@gmail.com", "event": "processed", "send_at": 0,
     "sg_event_id": "cHJvY2Vzc2VkLTE5OTQyMTEyLXFOd0JMZ1BRUWpXNkRKdktRd1NBYnctMA",
     "sg_message_id": "qNwBLgPQQjW6DJvKQwSAbw.filterdrecv-canary-547b64655b-cw6zx-1-6089EA4A-56.0",
     "smtp-id": "<qNwBLgPQQjW6DJvKQwSAbw@ismtpd0178p1mdw1.sendgrid.net>", "timestamp": 1619651146},
    {"email": "invalid@gmail.com", "event": "bounce", "ip": "167.89.101.76",
     "reason": "552 5.2.2 The email account that you tried to reach is over quota and inactive. Please direct the "
               "recipient to https://support.google.com/mail/?p=OverQuotaPerm c17si1130468pgv.34 - gsmtp",
     "sg_event_id": "Ym91bmNlLTAtMTk5NDIxMTItcU53QkxnUFFRalc2REp2S1F3U0Fidy0w",
     "sg_message_id": "qNwBLgPQQjW6DJvKQwSAbw.filterdrecv-canary-547b64655b-cw6zx-1-6089EA4A-56.0",
     "smtp-id": "<qNwBLgPQQjW6DJvKQwSAbw@ismtpd0178p1mdw1.sendgrid.net>", "status": "5.2.2", "timestamp": 1619651147,
     "tls": 1, "type": "blocked"},
]  # fmt: skip
BODY_B = (json.dumps(EVENTS_B, separators=(",", ":")).replace("},{", "},\r\n{") + "\r\n").encode()
WRONG_KEY = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXSJCWHw8REntlo7aNDthvj+y7GjUuFDb/R1NGe1OPzpA=="
WRONG_SIG = "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH3j/0="

# §2.6: a 10-event body signed with a published test key.
KEY_C = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE6KOVjr5svQAU9DEm9L4YLkM55K7tdCb6umxAJkXXnbCLdTjUwpeOSv+n1/XeUOKGYSWxWTUAYlb6MResYdOwWQ=="
PRIVATE_C = b"""-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgWoX9Zb2P6SaCYpGg
fK2Y+msVPEsZJNLdhmZ+DuK9XlmhRANCAAToo5WOvmy9ABT0MSb0vhguQznkru10
Jvq6bEAmRdedsIt1ONTCl45K/6fX9d5Q4oZhJbFZNQBiVvoxF6xh07BZ
-----END PRIVATE KEY-----
"""


def test_official_vector_a():
    assert verify([KEY_A], SIG_A, TS_A, BODY_A)


def test_official_vector_b_two_events():
    assert verify([KEY_B], SIG_B, TS_B, BODY_B)


@pytest.mark.parametrize(
    ("keys", "signature", "timestamp", "body"),
    [
        ([WRONG_KEY], SIG_A, TS_A, BODY_A),
        ([KEY_A], WRONG_SIG, TS_A, BODY_A),
        ([KEY_A], SIG_A, TS_A, b"payload"),
        ([KEY_A], SIG_A, "timestamp", BODY_A),
        ([KEY_A], SIG_A, TS_A, BODY_A.rstrip(b"\r\n")),  # the CRLF is part of what was signed
        ([KEY_A], SIG_A, "1600112503", BODY_A),  # a tampered timestamp
        ([KEY_A], SIG_A, TS_A, BODY_A.replace(b"Bounced", b"Bouncey")),  # a tampered body
        ([KEY_A], "not base64!!", TS_A, BODY_A),
        ([KEY_A], "", TS_A, BODY_A),
    ],
)
def test_official_negative_vectors_and_tampering(keys, signature, timestamp, body):
    assert not verify(keys, signature, timestamp, body)


def test_key_rotation_accepts_either_key():
    assert verify([WRONG_KEY, KEY_A], SIG_A, TS_A, BODY_A)


def test_a_generated_key_pair_and_the_published_test_key():
    key = ec.generate_private_key(ec.SECP256R1())
    body = b'[{"event":"open"}]\r\n'
    assert verify([public_key_text(key)], sign(key, "1717007260", body), "1717007260", body)
    published = serialization.load_pem_private_key(PRIVATE_C, password=None)
    assert public_key_text(published) == KEY_C


def test_bad_keys_are_refused():
    with pytest.raises(BadKey):
        load_key("not a key")
    rsa_like = "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE="  # an Ed25519 key
    with pytest.raises(BadKey):
        load_key(rsa_like)
    assert not verify(["not a key"], SIG_A, TS_A, BODY_A)
