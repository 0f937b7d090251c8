"""Prospect jobs: imports whose process died are settled (finished, or abandoned) within a minute."""

from __future__ import annotations

from leadline.config import Settings
from leadline.jobs import Periodic, job
from leadline.prospects import flows


@job("prospects.settle_imports", periodic=Periodic("prospects.settle_imports", every_minutes=1))
def settle_imports(settings: Settings) -> None:
    flows.recover(settings)
