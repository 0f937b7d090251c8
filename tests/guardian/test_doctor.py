"""The domain doctor against a real DNS server on 127.0.0.1 (tests/fakes/dns.py), and the compliance rule."""

from __future__ import annotations

import json
import time

import pytest

from leadline.config import Settings
from leadline.errors import Invalid
from leadline.guardian import doctor
from leadline.guardian.compliance import base_url_problem
from tests.conftest import PUBLIC_BASE_URL, run_leadline


def dns_settings(fake, **values) -> Settings:
    base = {"dns_nameservers": [fake.nameserver], "email_backend": "sendgrid", "base_url": PUBLIC_BASE_URL,
            "dns_timeout_seconds": 0.4, "dns_lifetime_seconds": 3, "sender_email": "dana@goodmail.test"}  # fmt: skip
    return Settings(**(base | values), _env_file=None)


def statuses(report) -> dict[str, str]:
    return {name: c.status for name, c in report.checks.items()}


class TestGoodZone:
    def test_every_check_passes(self, fake_dns):
        report = doctor.check(dns_settings(fake_dns))  # the domain of LEADLINE_SENDER_EMAIL
        assert report.domain == "goodmail.test"
        assert statuses(report) == dict.fromkeys(doctor.CHECKS, "pass")
        assert "authorises SendGrid" in report.checks["spf"].detail
        assert "mx1.goodmail.test, mx2.goodmail.test" in report.checks["mx"].detail
        assert "quarantine" in report.checks["dmarc"].detail
        assert all(c.record is None for c in report.checks.values())
        assert report.authenticated and doctor.warnings(report) == []

    def test_an_address_names_its_domain_and_a_selector_is_looked_up(self, fake_dns):
        report = doctor.check(dns_settings(fake_dns), "Sales@GoodMail.test", selector="mail")
        assert report.domain == "goodmail.test"
        assert (
            report.checks["dkim"].status == "pass" and "mail._domainkey.goodmail.test" in report.checks["dkim"].detail
        )
        missing = doctor.check(dns_settings(fake_dns), "goodmail.test", selector="nope")
        assert missing.checks["dkim"].status == "fail"
        assert missing.checks["dkim"].record.startswith("nope._domainkey.goodmail.test TXT")

    def test_smtp_backend_needs_no_sendgrid_include(self, fake_dns):
        report = doctor.check(dns_settings(fake_dns, email_backend="smtp"), "goodmail.test")
        assert report.checks["spf"].status == "pass" and "SendGrid" not in report.checks["spf"].detail


class TestBrokenZone:
    def test_each_problem_is_said_with_the_record_to_add(self, fake_dns):
        report = doctor.check(dns_settings(fake_dns, base_url="http://127.0.0.1:8000"), "brokenmail.test")
        assert statuses(report) == {"spf": "fail", "dkim": "fail", "dmarc": "fail", "mx": "warn", "base_url": "fail"}
        spf, dkim, dmarc = report.checks["spf"], report.checks["dkim"], report.checks["dmarc"]
        assert "2 SPF records" in spf.detail and spf.record == 'brokenmail.test TXT "v=spf1 include:sendgrid.net ~all"'
        assert "none of SendGrid's DKIM records" in dkim.detail
        assert dkim.record.startswith("s1._domainkey.brokenmail.test CNAME s1.domainkey.")
        assert "malformed" in dmarc.detail and "p=bogus" in dmarc.detail
        assert dmarc.record == '_dmarc.brokenmail.test TXT "v=DMARC1; p=none; rua=mailto:dmarc@brokenmail.test"'
        assert "not HTTPS" in report.checks["base_url"].detail
        assert report.missing_auth() == ["SPF", "DKIM", "DMARC"] and not report.authenticated

    def test_an_unknown_domain_fails_spf_dkim_and_dmarc(self, fake_dns):
        report = doctor.check(dns_settings(fake_dns), "nothing.goodmail.test")
        assert [report.checks[n].status for n in ("spf", "dkim", "dmarc", "mx")] == ["fail", "fail", "warn", "warn"]
        assert "inherited from goodmail.test" in report.checks["dmarc"].detail


class TestBadAnswers:
    def test_a_malformed_answer_is_a_clear_fail(self, fake_dns):
        report = doctor.check(dns_settings(fake_dns), "garbled.test")
        for name in ("spf", "dkim", "dmarc", "mx"):
            assert report.checks[name].status == "fail"
            assert "malformed" in report.checks[name].detail, report.checks[name].detail
        assert report.checks["base_url"].status == "pass"

    def test_a_server_that_never_answers_fails_in_bounded_time(self, fake_dns):
        started = time.monotonic()
        report = doctor.check(dns_settings(fake_dns, dns_timeout_seconds=0.3, dns_lifetime_seconds=2), "silent.test")
        assert time.monotonic() - started < 2.5
        assert all(report.checks[n].status == "fail" and "in time" in report.checks[n].detail
                   for n in ("spf", "dkim", "dmarc", "mx"))  # fmt: skip

    def test_a_bad_nameserver_setting_is_a_fail_naming_it(self, fake_dns):
        report = doctor.check(dns_settings(fake_dns, dns_nameservers=["127.0.0.1:99999"]), "goodmail.test")
        assert report.checks["spf"].status == "fail" and "LEADLINE_DNS_NAMESERVERS" in report.checks["spf"].detail

    @pytest.mark.parametrize("target", ["", "not a domain", "a@b", "x" * 300 + ".com", "-bad.com", "bad..com"])
    def test_not_a_domain_is_refused(self, fake_dns, target):
        queries = len(fake_dns.queries)
        with pytest.raises(Invalid, match="not a domain"):
            doctor.check(dns_settings(fake_dns), target)
        assert len(fake_dns.queries) == queries  # nothing was looked up

    def test_a_bad_selector_is_refused(self, fake_dns):
        with pytest.raises(Invalid, match="not a DKIM selector"):
            doctor.check(dns_settings(fake_dns), "goodmail.test", selector="../etc")


class TestBaseUrl:
    @pytest.mark.parametrize(
        ("url", "problem"),
        [("", "not set"), ("http://crm.gridline.com", "not HTTPS"), ("https://localhost:8000", "local host"),
         ("https://127.0.0.1", "loopback"), ("https://[::1]/", "loopback"), ("https://10.0.0.5", "private"),
         ("https://192.168.1.20:8443", "private"), ("https://crm.internal", "local host"),
         ("https://leadline", "without a domain"), ("https://printer.local", "local host"), ("ftp://x.com", "not HTTPS")],
    )  # fmt: skip
    def test_not_public_https(self, url, problem):
        assert problem in (base_url_problem(url) or "")

    @pytest.mark.parametrize(
        "url", ["https://crm.gridline.com", "https://crm.example.com:8443/leadline", "https://8.8.8.8"]
    )
    def test_public_https(self, url):
        assert base_url_problem(url) is None


class TestCli:
    """`leadline senders check` as a user runs it: a fresh process, the nameserver from the environment."""

    def env(self, fake, tmp_path, **extra: str) -> dict[str, str]:
        return {"LEADLINE_DATA_DIR": str(tmp_path), "LEADLINE_DNS_NAMESERVERS": fake.nameserver,
                "LEADLINE_EMAIL_BACKEND": "sendgrid", "LEADLINE_BASE_URL": PUBLIC_BASE_URL,
                "LEADLINE_SENDER_EMAIL": "dana@goodmail.test", "LEADLINE_DNS_TIMEOUT_SECONDS": "0.5", **extra}  # fmt: skip

    def test_json_for_the_good_and_the_broken_zone(self, fake_dns, tmp_path):
        good = run_leadline("senders", "check", "--json", env=self.env(fake_dns, tmp_path))
        assert good.returncode == 0, good.stderr
        data = json.loads(good.stdout)
        assert set(data) == {"spf", "dkim", "dmarc", "mx", "base_url"}
        assert {k: v["status"] for k, v in data.items()} == dict.fromkeys(data, "pass")
        assert set(data["spf"]) == {"status", "detail", "record"}
        broken = run_leadline("senders", "check", "brokenmail.test", env=self.env(fake_dns, tmp_path))
        assert broken.returncode == 0, broken.stderr
        assert "Domain brokenmail.test" in broken.stdout
        assert "FAIL" in broken.stdout and "_dmarc.brokenmail.test" in broken.stdout

    def test_bad_input_is_one_line_and_exit_1(self, fake_dns, tmp_path):
        result = run_leadline("senders", "check", "not a domain", env=self.env(fake_dns, tmp_path))
        assert result.returncode == 1
        assert result.stderr.strip().startswith("error:") and len(result.stderr.strip().splitlines()) == 1

    def test_config_warns_about_a_domain_without_auth(self, fake_dns, tmp_path):
        env = self.env(fake_dns, tmp_path, LEADLINE_SENDER_EMAIL="dana@brokenmail.test",
                       LEADLINE_BASE_URL="http://127.0.0.1:8000")  # fmt: skip
        result = run_leadline("config", "--json", env=env)
        assert result.returncode == 0, result.stderr
        warnings = json.loads(result.stdout)["warnings"]
        assert any(w.startswith("SPF (brokenmail.test)") for w in warnings)
        assert any(w.startswith("DKIM (brokenmail.test)") for w in warnings)
        assert any(w.startswith("DMARC (brokenmail.test)") for w in warnings)
        assert any(w.startswith("LEADLINE_BASE_URL (http://127.0.0.1:8000) is not HTTPS") for w in warnings)
        good = run_leadline("config", "--json", env=self.env(fake_dns, tmp_path))
        assert not [w for w in json.loads(good.stdout)["warnings"] if "goodmail.test" in w]


class TestApi:
    def test_the_checklist_and_a_bad_domain(self, settings, client, fake_dns, monkeypatch):
        from tests.conftest import configure

        configure(monkeypatch, settings, dns_nameservers=[fake_dns.nameserver], dns_timeout_seconds=0.5,
                  email_backend="sendgrid", base_url=PUBLIC_BASE_URL)  # fmt: skip
        good = client.get("/api/senders/check", params={"domain": "goodmail.test"})
        assert good.status_code == 200, good.text
        assert good.json()["domain"] == "goodmail.test"
        assert {good.json()[k]["status"] for k in ("spf", "dkim", "dmarc", "mx", "baseUrl")} == {
            "pass"
        }  # camelCase JSON
        broken = client.get("/api/senders/check", params={"domain": "brokenmail.test"}).json()
        assert broken["dmarc"]["status"] == "fail" and broken["dmarc"]["record"].startswith("_dmarc.brokenmail.test")
        bad = client.get("/api/senders/check", params={"domain": "not a domain"})
        assert bad.status_code == 422 and bad.json()["field"] == "domain"
