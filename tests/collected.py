"""Every test collected must run: a pytest plugin (registered by tests/conftest.py) that counts
the tests a run collected and the tests that ran, and prints both at the end. Under CI=true a
run where they differ, or where any test skipped, fails with one line saying so.

It counts in the process that reports: pytest itself, or xdist's controller, which collects
nothing itself (each worker sends it the node ids it collected) and receives every test's
reports. A test ran when it was set up; it was skipped when its setup or its call skipped (an
expected failure is not a skip).
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


class Tally:
    def __init__(self) -> None:
        self.collected: int | None = None
        self.shared_ids = 0  # tests whose node id another test has too (xdist runs one of them)
        self.set_up = 0
        self.skipped: list[str] = []
        self.outcomes: Counter[str] = Counter()
        self.problem: str | None = None

    def collected_ids(self, ids: list[str]) -> None:
        if self.collected is None:  # xdist's workers all collect the same tests (xdist checks that)
            self.collected = len(ids)
            self.shared_ids = sum(n for n in Counter(ids).values() if n > 1)

    @pytest.hookimpl
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Without xdist: what this process collected (after -k/-m deselection)."""
        self.collected_ids([item.nodeid for item in session.items])

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        """On xdist's controller: what a worker collected."""
        self.collected_ids(ids)

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if type(report).__name__ == "SubtestReport":
            return
        xfail = hasattr(report, "wasxfail")
        if report.when == "setup":
            self.set_up += 1
        if report.skipped and not xfail and report.when in ("setup", "call"):
            self.skipped.append(report.nodeid)
        elif report.when == "call":
            self.outcomes[("xfailed" if report.skipped else "xpassed") if xfail else report.outcome] += 1
        elif report.failed:
            self.outcomes["error"] += 1

    @property
    def ran(self) -> int:
        return self.set_up - len(self.skipped)

    def summary(self) -> str:
        outcomes = ", ".join(f"{n} {name}" for name, n in sorted(self.outcomes.items()))
        return f"collected {self.collected}, ran {self.ran} ({outcomes or 'none'}), skipped {len(self.skipped)}"

    def check(self) -> str | None:
        """Why this run must fail under CI, or None."""
        reasons = []
        if self.collected is not None and self.set_up != self.collected:
            reasons.append(f"{self.collected - self.set_up} of the {self.collected} collected tests never ran")
            if self.shared_ids:
                reasons.append(f"{self.shared_ids} collected tests share a node id (xdist runs one of each)")
        if self.skipped:
            reasons.append(f"{len(self.skipped)} skipped (nothing may skip under CI)")
        return "; ".join(reasons) or None

    @pytest.hookimpl
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if IN_CI and exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            self.problem = self.check()
            if self.problem and session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.collected is None:
            return
        terminalreporter.write_line(f"tests: {self.summary()}")
        if self.problem:
            terminalreporter.write_line(
                f"error: CI runs every test it collects, but {self.problem}", red=True, bold=True
            )


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput") and not config.option.collectonly:  # not on xdist's workers
        config.pluginmanager.register(Tally(), "leadline-collected")
