from __future__ import annotations

from collections.abc import Iterator

import pytest

from leadline import worker


@pytest.fixture
def immediate(settings) -> Iterator[None]:
    """Jobs (the invitations) run as soon as their unit of work commits, as the worker would run them."""
    worker.set_immediate(True)
    yield
    worker.set_immediate(False)
