"""The compliance gate: smtp and sendgrid refuse to send, before anything is claimed, without a public
HTTPS base URL or a postal address (and, when asked, without SPF, DKIM and DMARC); the outbox sends."""

from __future__ import annotations

from leadline.db import unit_of_work
from leadline.emails.quota import cap_left
from tests.conftest import Cli, changed
from tests.emails.conftest import outbox_messages
from tests.factories import count, make_prospect, snapshot


def prospects(settings, n: int = 2) -> list[str]:
    return [make_prospect(settings, name=f"Roofer {i}", email=f"owner{i}@roofer{i}.com", tier=1).id for i in range(n)]


def left(settings) -> int:
    with unit_of_work(settings, readonly=True) as session:
        return cap_left(session, settings)


class TestRefused:
    def test_sendgrid_without_a_public_https_base_url(self, settings, fake_sendgrid):
        prospects(settings)
        for url in ("http://127.0.0.1:8000", "https://localhost", "https://10.1.2.3", "http://crm.gridline.com"):
            before, cap = snapshot(settings), left(settings)
            result = Cli(changed(settings, base_url=url))(
                "emails", "send", "--template", "pain_point", "--tier", "1", "--limit", "5"
            )
            assert result.exit_code == 1
            line = result.stderr.strip()
            assert line.startswith("error: LEADLINE_BASE_URL") and "nothing was sent" in line
            assert len(line.splitlines()) == 1
            assert fake_sendgrid.requests == []
            assert snapshot(settings) == before and left(settings) == cap  # no row, no cap spent

    def test_smtp_without_a_postal_address(self, settings, smtp_server):
        (p,) = prospects(settings, 1)
        before = snapshot(settings)
        result = Cli(changed(settings, sender_address=""))(
            "emails", "send", "--template", "pain_point", "--prospect", p
        )
        assert result.exit_code == 1 and "LEADLINE_SENDER_ADDRESS" in result.stderr
        assert smtp_server.inbox.messages == [] and snapshot(settings) == before

    def test_the_backend_itself_refuses(self, settings, fake_sendgrid):
        """A caller that builds the backend (the scheduled-send job, sequences) meets the same rule."""
        import pytest

        from leadline.emails.backends import NotCompliant, get_backend

        with pytest.raises(NotCompliant, match="LEADLINE_BASE_URL"):
            get_backend(changed(settings, base_url="https://192.168.0.9"))
        with pytest.raises(NotCompliant, match="LEADLINE_SENDER_ADDRESS"):
            get_backend(changed(settings, sender_address=" "))

    def test_domain_auth_refuses_only_when_asked(self, settings, fake_sendgrid, fake_dns):
        ids = prospects(settings, 1)
        dns = {"dns_nameservers": [fake_dns.nameserver], "dns_timeout_seconds": 0.5}
        broken = changed(settings, sender_email="dana@brokenmail.test", require_domain_auth=True, **dns)
        before = snapshot(settings)
        refused = Cli(broken)("emails", "send", "--template", "pain_point", "--prospect", ids[0])
        assert refused.exit_code == 1
        assert "LEADLINE_REQUIRE_DOMAIN_AUTH is on and brokenmail.test lacks SPF, DKIM, DMARC" in refused.stderr
        assert fake_sendgrid.requests == [] and snapshot(settings) == before
        good = changed(settings, sender_email="dana@goodmail.test", require_domain_auth=True, **dns)
        sent = Cli(good)("emails", "send", "--template", "pain_point", "--prospect", ids[0])
        assert sent.exit_code == 0, sent.stderr
        assert len(fake_sendgrid.requests) == 1 and count(settings, "email_activities") == 1


class TestAllowed:
    def test_the_outbox_sends_anyway(self, settings, cli):
        (p,) = prospects(settings, 1)
        assert settings.base_url == "http://127.0.0.1:8000"
        result = cli("emails", "send", "--template", "pain_point", "--prospect", p)
        assert result.exit_code == 0, result.stderr
        assert len(outbox_messages(settings)) == 1

    def test_a_public_https_base_url_sends(self, settings, fake_sendgrid):
        (p,) = prospects(settings, 1)
        result = Cli(settings)("emails", "send", "--template", "pain_point", "--prospect", p)
        assert result.exit_code == 0, result.stderr
        unsubscribe = fake_sendgrid.requests[0].json["headers"]["List-Unsubscribe"]
        assert unsubscribe.startswith(f"<{settings.base_url}/unsubscribe/") and settings.base_url.startswith("https://")
