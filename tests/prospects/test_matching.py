"""The value rules of ``prospects.matching``: forms of one value, and what a row changes."""

from __future__ import annotations

import pytest

from leadline.prospects.matching import decide, domain_of, merge_notes, relation


@pytest.mark.parametrize(
    ("name", "old", "new", "expected"),
    [
        ("contact_name", "Daniel Reyes", "Daniel", "shorter"),
        ("contact_name", "Daniel", "Daniel Reyes", "longer"),
        ("contact_name", "Daniel Reyes", "daniel  reyes", "same"),
        ("contact_name", "Daniel Reyes", "Maria Lopez", "different"),
        ("phone", "(512) 555-0142", "555-0142", "shorter"),
        ("phone", "(512) 555-0142", "+1 512 555 0142", "longer"),
        ("phone", "(512) 555-0142", "512.555.0142", "same"),
        ("phone", "(512) 555-0142", "(512) 555-0199", "different"),
        ("website", "https://royal.com", "https://www.royal.com", "same"),
        ("name", "Summit HVAC Inc.", "Summit HVAC", "shorter"),
        ("email", "a@x.com", "A@X.com", "same"),
        ("gaps", ["Slow site", "Few reviews"], ["Few reviews"], "shorter"),
        ("grid_health", 48.0, 55.0, "different"),
        ("city", None, "Austin", "fill"),
        ("city", "Austin", None, "blank"),
    ],
)
def test_forms_of_one_value(name, old, new, expected):
    assert relation(name, old, new) == expected


def test_a_row_found_by_its_identity_updates_but_never_shortens_or_blanks():
    current = {"contact_name": "Daniel Reyes", "phone": "(512) 555-0142", "city": "Austin", "notes": None,
               "email": "d@royal.com", "grid_health": 48.0}  # fmt: skip
    incoming = {"contact_name": "Daniel", "phone": "555-0142", "city": None, "grid_health": 55.0}
    assert decide(current, incoming, related=False) == {"grid_health": 55.0}
    assert decide(current, incoming, related=False, overwrite=True) == {
        "contact_name": "Daniel", "phone": "555-0142", "city": None, "grid_health": 55.0,
    }  # fmt: skip
    current |= {"trade": "gutters", "tier": 1}
    assert decide(current, {"trade": "roofing", "tier": 2}, related=False, defaulted={"trade", "tier"}) == {}
    assert decide({**current, "trade": None}, {"trade": "roofing"}, related=False, defaulted={"trade"}) == {
        "trade": "roofing"
    }


def test_a_related_row_fills_and_keeps_the_rest_in_the_notes():
    current = {"name": "Royal Plumbing", "contact_name": "Daniel Reyes", "email": "d@royal.com",
               "phone": "+1 512-555-0142", "city": None, "notes": "Job Title: Owner"}  # fmt: skip
    other = {"contact_name": "Luis Reyes", "email": "l@royal.com", "phone": "+1 512-555-0143", "city": "Austin",
             "name": "Royal Plumbing Co"}  # fmt: skip
    wanted = decide(current, other, related=True, label=lambda field: field)
    assert wanted == {
        "city": "Austin", "name": "Royal Plumbing Co",
        "notes": "Job Title: Owner\nContact: Luis Reyes <l@royal.com>, +1 512-555-0143",
    }  # fmt: skip
    company = {"phone": "+1 512-555-0100", "notes": "Job Title: Owner"}
    assert decide(current, company, related=True, label=lambda field: "Phone Number") == {
        "notes": "Job Title: Owner\nPhone Number: +1 512-555-0100"
    }
    again = {**current, **wanted}
    assert decide(again, other, related=True, label=lambda field: field) == {}  # the second time: nothing


def test_notes_gain_only_the_lines_they_lack():
    assert merge_notes("a\nb", "b") is None
    assert merge_notes("a", "b\na") == "a\nb"
    assert merge_notes(None, "x") == "x"


def test_the_business_domain_of_a_website():
    assert domain_of("https://www.Royal.com/contact?x=1") == "royal.com"
    assert domain_of("royal.com") == "royal.com"
    assert domain_of("https://m.facebook.com/royal") is None  # a shared host says nothing
    assert domain_of("not a site") is None
