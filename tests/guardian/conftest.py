from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.dns import BROKEN_ZONE, GOOD_ZONE, FakeDns


@pytest.fixture(scope="module")
def fake_dns() -> Iterator[FakeDns]:
    """A DNS server on 127.0.0.1 serving goodmail.test (set up right for SendGrid) and brokenmail.test
    (two SPF records, no DKIM, a malformed DMARC policy, no MX); garbled.test answers with bytes that
    are not DNS, silent.test never answers."""
    fake = FakeDns({"goodmail.test.": GOOD_ZONE, "brokenmail.test.": BROKEN_ZONE}, garbled=("garbled.test.",),
                   silent=("silent.test.",))  # fmt: skip
    yield fake
    fake.close()


from tests.emails.conftest import fake_sendgrid, smtp_server  # noqa: E402, F401  (the sending fixtures)
from tests.web.conftest import live, page  # noqa: E402, F401  (the browser fixtures)
from tests.webhooks.conftest import hook  # noqa: E402, F401  (a signed webhook client over the test's app)
