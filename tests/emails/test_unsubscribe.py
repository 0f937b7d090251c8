"""Every email's unsubscribe link and one-click header work, and suppress at once."""

from __future__ import annotations

import re

from tests.emails.conftest import outbox_messages
from tests.factories import make_prospect, snapshot


def _sent_link(cli, settings) -> tuple[str, str]:
    p = make_prospect(settings, email="daniel@royal.com")
    cli("emails", "send", "--template", "pain_point", "-p", p.id)
    (message,) = outbox_messages(settings)
    url = re.fullmatch(r"<(.+)>", message["List-Unsubscribe"]).group(1)
    return p.id, url.replace("http://127.0.0.1:8000", "")


def test_get_asks_post_unsubscribes(cli, client, settings):
    prospect_id, path = _sent_link(cli, settings)
    page = client.get(path)
    assert page.status_code == 200 and "Unsubscribe daniel@royal.com?" in page.text
    assert cli("suppressions", "list", "--json").json == []  # a link scanner's GET changes nothing
    done = client.post(path)
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    (row,) = cli("suppressions", "list", "--json").json
    assert (row["email"], row["reason"], row["source"]) == ("daniel@royal.com", "unsubscribe", "unsubscribe link")
    prospect = cli("prospects", "show", prospect_id, "--json").json
    assert prospect["doNotContact"] is True and prospect["doNotContactReason"] == "unsubscribed"
    again = cli("emails", "send", "--template", "solution", "-p", prospect_id)
    assert again.exit_code == 1 and "is marked do-not-contact (unsubscribed)" in again.stdout


def test_one_click_post_from_a_mail_provider(cli, client, settings):
    _, path = _sent_link(cli, settings)
    response = client.post(path, content=b"List-Unsubscribe=One-Click",
                            headers={"content-type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert response.status_code == 200
    assert [s["email"] for s in cli("suppressions", "list", "--json").json] == ["daniel@royal.com"]
    assert client.post(path).status_code == 200  # twice is fine


def test_a_forged_token_changes_nothing(cli, client, settings):
    _, path = _sent_link(cli, settings)
    before = snapshot(settings)
    forged = path[:-3] + ("aaa" if not path.endswith("aaa") else "bbb")
    assert client.get(forged).status_code == 404
    assert client.post(forged).status_code == 404
    assert client.post("/unsubscribe/not-even-close").status_code == 404
    assert snapshot(settings) == before


def test_suppressions_can_be_lifted(cli):
    assert cli("suppressions", "add", "x@y.com").exit_code == 0
    assert "already suppressed" in cli("suppressions", "add", "X@Y.com").stdout
    assert cli("suppressions", "remove", "x@y.com").exit_code == 0
    assert cli("suppressions", "list", "--json").json == []
    missing = cli("suppressions", "remove", "x@y.com")
    assert missing.exit_code == 1 and "is not suppressed" in missing.stderr
    assert cli("suppressions", "add", "not-an-address").exit_code == 1
