"""The pure rules of texts: SMS segments (GSM-7 / UCS-2), E.164 numbers, Twilio's signature (checked
against Twilio's own published examples, not against itself)."""

from __future__ import annotations

import pytest

from leadline.errors import Invalid
from leadline.texts import phones, segments, signature
from tests.fakes.twilio import twilio_signature

DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOC_TOKEN = "12345"


class TestSignature:
    def test_twilios_published_example(self):
        """twilio.com/docs/usage/webhooks/webhooks-security: this URL, these parameters, token 12345."""
        params = [("CallSid", "CA1234567890ABCDE"), ("Caller", "+12349013030"), ("Digits", "1234"),
                  ("From", "+12349013030"), ("To", "+18005551212")]  # fmt: skip
        assert signature.compute(DOC_TOKEN, DOC_URL, params) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        assert signature.valid(DOC_TOKEN, DOC_URL, list(reversed(params)), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")

    def test_the_sdk_test_vector(self):
        """Twilio's C# and Node SDKs' RequestValidator tests (the older docs' numbers)."""
        params = [("CallSid", "CA1234567890ABCDE"), ("Caller", "+14158675309"), ("Digits", "1234"),
                  ("From", "+14158675309"), ("To", "+18005551212")]  # fmt: skip
        assert signature.compute(DOC_TOKEN, DOC_URL, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="

    def test_a_repeated_name_the_sdks_vector(self):
        """twilio-python's and twilio-php's RequestValidator tests: a name posted more than once is
        signed with its distinct values in sorted order (not in the order posted, not twice)."""
        params = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234"),
                  ("Digits", "1234")]  # fmt: skip
        assert signature.compute(DOC_TOKEN, DOC_URL, params) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="
        assert twilio_signature(DOC_TOKEN, DOC_URL, params) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="

    def test_the_default_port_written_out_or_not(self):
        """As Twilio's validators: the URL with :443 checks a signature over it without, and back."""
        params = [("CallSid", "CA1234567890ABCDE"), ("Caller", "+14158675309"), ("Digits", "1234"),
                  ("From", "+14158675309"), ("To", "+18005551212")]  # fmt: skip
        with_port = DOC_URL.replace(".com", ".com:443")
        assert signature.valid(DOC_TOKEN, with_port, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
        assert signature.valid(DOC_TOKEN, DOC_URL, params, signature.compute(DOC_TOKEN, with_port, params))
        assert not signature.valid(DOC_TOKEN, DOC_URL.replace(".com", ".com:8443"), params,
                                   "RSOYDt4T1cUTdK1PDd93/VVr8B8=")  # fmt: skip
        assert not signature.valid(DOC_TOKEN, DOC_URL.replace("https", "http"), params, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
        assert signature.url_forms("http://127.0.0.1:8000/webhooks/twilio/sms") == [
            "http://127.0.0.1:8000/webhooks/twilio/sms"
        ]

    @pytest.mark.parametrize(
        "url, change",
        [
            (DOC_URL.replace("https", "http"), None),
            (DOC_URL.replace("foo=1", "foo=2"), None),
            (DOC_URL, ("Digits", "9999")),
            (DOC_URL, ("Extra", "1")),
        ],
    )
    def test_any_change_breaks_it(self, url, change):
        params = dict([("CallSid", "CA1234567890ABCDE"), ("Caller", "+12349013030"), ("Digits", "1234"),
                       ("From", "+12349013030"), ("To", "+18005551212")])  # fmt: skip
        if change:
            params[change[0]] = change[1]
        assert not signature.valid(DOC_TOKEN, url, list(params.items()), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")

    def test_missing_or_empty_is_refused(self):
        assert not signature.valid(DOC_TOKEN, DOC_URL, [], None)
        assert not signature.valid("", DOC_URL, [], signature.compute("", DOC_URL, []))
        assert not signature.valid(DOC_TOKEN, DOC_URL, [], "ünicode")

    def test_the_stand_in_signs_as_we_verify(self):
        params = [("Body", "hi"), ("From", "+15125550142")]
        assert signature.compute("t", "https://x.test/a?b=1", params) == twilio_signature("t", "https://x.test/a?b=1",
                                                                                         params)  # fmt: skip


class TestSegments:
    @pytest.mark.parametrize(
        "text, encoding, count",
        [
            ("", "GSM-7", 0),
            ("a" * 160, "GSM-7", 1),
            ("a" * 161, "GSM-7", 2),
            ("a" * 306, "GSM-7", 2),
            ("a" * 307, "GSM-7", 3),
            ("€" * 80, "GSM-7", 1),  # an extended character counts twice
            ("€" * 81, "GSM-7", 2),
            ("é" * 160, "GSM-7", 1),  # é is in GSM-7's basic set
            ("ó" * 70, "UCS-2", 1),  # ó is not
            ("ó" * 71, "UCS-2", 2),
            ("😀" * 35, "UCS-2", 1),  # an emoji is two UTF-16 units
            ("😀" * 36, "UCS-2", 2),
        ],
    )
    def test_count(self, text, encoding, count):
        found = segments.count(text)
        assert (found.encoding, found.segments) == (encoding, count)


class TestPhones:
    @pytest.mark.parametrize(
        "raw, region, e164",
        [
            ("(512) 555-0142", "US", "+15125550142"),
            ("+1 512.555.0142", "US", "+15125550142"),
            ("512-555-0142", "US", "+15125550142"),
            ("020 7946 0958", "GB", "+442079460958"),
            ("+44 20 7946 0958", "US", "+442079460958"),
        ],
    )
    def test_normalised_to_e164(self, raw, region, e164):
        assert phones.to_e164(raw, region) == e164

    @pytest.mark.parametrize("raw", ["not a phone", "123", "", "+1 555", "9" * 60])
    def test_not_a_phone_number(self, raw):
        with pytest.raises(Invalid) as error:
            phones.to_e164(raw, "US")
        assert error.value.field == "phone"
