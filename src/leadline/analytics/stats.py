"""Rates with honest error bars, and whether two rates really differ. Standard library only.

* Wilson score interval at 95% (z = 1.96) for every rate: unlike ``p ± 1.96·SE`` it stays
  inside [0, 1] and is sensible for 0 or n successes and for small n.
* Two-proportion z-test (pooled, two-sided) for the difference between two rates;
  ``p < 0.05`` is called significant.
* "Too small to tell" when either side has fewer than :data:`MIN_SAMPLE` trials, or when
  an expected count of the 2×2 table (successes and failures on each side under the
  pooled rate) is below :data:`MIN_EXPECTED`: the normal approximation behind the
  z-test is not trustworthy there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Z95 = 1.96
ALPHA = 0.05
MIN_SAMPLE = 30
MIN_EXPECTED = 5.0


def rate(successes: int, trials: int) -> float | None:
    return successes / trials if trials else None


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval (low, high) for ``successes`` out of ``trials``; None for no trials."""
    if trials <= 0:
        return None
    if successes < 0 or successes > trials:
        raise ValueError(f"{successes} successes out of {trials} trials")
    p = successes / trials
    z2 = z * z
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / (1 + z2 / trials)
    low, high = max(0.0, centre - half), min(1.0, centre + half)
    # Exact ends: 0 successes has a lower bound of 0, n successes an upper bound of 1.
    if successes == 0:
        low = 0.0
    if successes == trials:
        high = 1.0
    return low, high


def normal_two_sided_p(z: float) -> float:
    """P(|Z| >= |z|) for a standard normal Z."""
    return math.erfc(abs(z) / math.sqrt(2))


Verdict = Literal["significant", "not_significant", "too_small"]


@dataclass(frozen=True)
class Comparison:
    verdict: Verdict
    difference: float | None  # rate a - rate b
    z: float | None
    p_value: float | None
    reason: str


def compare(successes_a: int, trials_a: int, successes_b: int, trials_b: int) -> Comparison:
    """Is rate a different from rate b? (pooled two-proportion z-test, two-sided)."""
    if trials_a < MIN_SAMPLE or trials_b < MIN_SAMPLE:
        smaller = min(trials_a, trials_b)
        return Comparison(
            "too_small", _diff(successes_a, trials_a, successes_b, trials_b), None, None,
            f"too small to tell: {smaller} sends (at least {MIN_SAMPLE} on each side are needed)",
        )  # fmt: skip
    pooled = (successes_a + successes_b) / (trials_a + trials_b)
    expected = min(trials_a * pooled, trials_a * (1 - pooled), trials_b * pooled, trials_b * (1 - pooled))
    difference = successes_a / trials_a - successes_b / trials_b
    if expected < MIN_EXPECTED:
        return Comparison(
            "too_small", difference, None, None,
            f"too small to tell: an expected count is {expected:.1f} (at least {MIN_EXPECTED:g} is needed)",
        )  # fmt: skip
    se = math.sqrt(pooled * (1 - pooled) * (1 / trials_a + 1 / trials_b))
    z = difference / se if se > 0 else 0.0
    p_value = normal_two_sided_p(z)
    if p_value < ALPHA:
        return Comparison("significant", difference, z, p_value, f"significant (p = {p_text(p_value)})")
    return Comparison("not_significant", difference, z, p_value, f"not significant (p = {p_text(p_value)})")


def _diff(sa: int, na: int, sb: int, nb: int) -> float | None:
    if not na or not nb:
        return None
    return sa / na - sb / nb


def p_text(p_value: float) -> str:
    return "< 0.001" if p_value < 0.001 else f"{p_value:.3f}"
