"""The objection keyword map (no database)."""

from __future__ import annotations

import pytest

from leadline.calls.objections import categorize, categorize_all, label
from leadline.config import DEFAULT_OBJECTION_CATEGORIES


@pytest.mark.parametrize(
    ("said", "category"),
    [
        ("How much will this cost?", "price"),
        ("Do you have case studies?", "proof"),
        ("What's the timeline?", "timeline"),
        ("cost", "price"),
        ("timeline", "timeline"),
        ("Costs seem high", "price"),
        ("We already have an agency", "has_provider"),
        ("My nephew does our website", "has_provider"),
        ("I'm swamped right now", "no_time"),
        ("I need to talk to my wife", "needs_to_think"),
        ("Never heard of you guys", "trust"),
        ("I don’t have time", "no_time"),  # a typographic apostrophe
        ("I feel like I should think about it", "needs_to_think"),  # "fee" is not "feel"
        ("The weather is nice", "other"),
    ],
)
def test_default_map(said, category):
    assert categorize(said, DEFAULT_OBJECTION_CATEGORIES) == category


def test_the_first_category_in_the_map_wins_and_other_is_the_fallback():
    custom = {"money": ["price"], "speed": ["slow", "price"]}
    assert categorize_all(["Your price is slow", "Too slow", "Hmm"], custom) == ["money", "speed", "other"]


def test_labels():
    assert label("price") == "Price / cost"
    assert label("has_provider") == "Already has a provider"
    assert label("my_own") == "My own"
