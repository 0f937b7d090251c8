"""Two processes sending at once: the cap and the guardrails hold, nobody gets a template twice."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from leadline.db import unit_of_work
from leadline.emails.models import EmailActivity
from tests.conftest import changed, settings_env
from tests.emails.conftest import outbox_messages
from tests.factories import make_prospect


@pytest.mark.slow
def test_two_processes_share_the_cap_and_never_double_send(cli, settings):
    capped = changed(settings, daily_send_limit=12)
    ids = [make_prospect(settings, name=f"Shop {i}", email=f"o{i}@shop{i}.com", tier=1).id for i in range(30)]
    cli("suppressions", "add", "o0@shop0.com")
    exe = str(Path(sys.executable).with_name("leadline"))
    command = [exe, "emails", "send", "--template", "pain_point", "--status", "new", "--limit", "20"]
    env = {**os.environ, **settings_env(capped)}
    runs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)
    ]
    outputs = [run.communicate(timeout=240) for run in runs]
    for _out, err in outputs:
        assert "Traceback" not in err, err
    with unit_of_work(settings, readonly=True) as session:
        rows = list(session.scalars(select(EmailActivity)))
        per_prospect = session.execute(
            select(EmailActivity.prospect_id, func.count()).group_by(EmailActivity.prospect_id)
        ).all()
    sent = [r for r in rows if r.status == "sent"]
    assert len(sent) == 12
    assert all(n == 1 for _, n in per_prospect), per_prospect
    assert ids[0] not in {r.prospect_id for r in rows}
    assert len(outbox_messages(settings)) == 12
    total_sent = sum(int(out.split(" sent,")[0].split()[-1]) for out, _ in outputs)
    assert total_sent == 12
