"""The unit of work: after-commit work runs only after a commit, and a read-only unit refuses it."""

from __future__ import annotations

import pytest

from leadline.config import Settings
from leadline.db import after_commit, rollback_only, unit_of_work


def test_after_commit_runs_only_after_a_commit(settings: Settings) -> None:
    ran: list[str] = []
    with unit_of_work(settings) as session:
        after_commit(session, lambda: ran.append("committed"))
        assert ran == []
    assert ran == ["committed"]
    with pytest.raises(ZeroDivisionError), unit_of_work(settings) as session:
        after_commit(session, lambda: ran.append("rolled back"))
        1 / 0  # noqa: B018
    with unit_of_work(settings) as session:
        after_commit(session, lambda: ran.append("dry run"))
        rollback_only(session)
    assert ran == ["committed"]


def test_a_read_only_unit_refuses_after_commit_work(settings: Settings) -> None:
    ran: list[str] = []
    with unit_of_work(settings, readonly=True) as session:
        with pytest.raises(RuntimeError, match="never commits"):
            after_commit(session, lambda: ran.append("never"))
    assert ran == []
