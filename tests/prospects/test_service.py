"""Prospect rules: ids, edits, stages and the timeline."""

from __future__ import annotations

import pytest

from leadline.db import unit_of_work
from leadline.errors import Conflict, Invalid, NotFound
from leadline.prospects import service
from leadline.prospects.schemas import ProspectCreate, ProspectUpdate
from tests.factories import make_prospect, snapshot


class TestCreate:
    def test_id_is_a_readable_slug_made_unique(self, settings):
        first = make_prospect(settings, name="Royal Plumbing Co", email="a@royal.com")
        second = make_prospect(settings, name="Royal Plumbing Co.", email="b@royal.com")
        third = make_prospect(settings, name="Royal  Plumbing—Co", email="c@royal.com")
        assert (first.id, second.id, third.id) == (
            "royal_plumbing_co",
            "royal_plumbing_co_2",
            "royal_plumbing_co_3",
        )

    def test_accents_are_folded(self, settings):
        assert make_prospect(settings, name="Müller Électrique & Fils").id == "muller_electrique_fils"

    def test_creation_is_on_the_timeline(self, settings):
        p = make_prospect(settings)
        with unit_of_work(settings) as session:
            entries = service.timeline(session, p.id)
        assert [(e.type, e.actor) for e in entries] == [("created", "test")]

    def test_email_is_unique_and_case_insensitive(self, settings):
        make_prospect(settings, email="Daniel@Royal.com")
        before = snapshot(settings)
        with pytest.raises(Conflict, match="already belongs"), unit_of_work(settings) as session:
            service.create(session, ProspectCreate(name="Other", email="daniel@royal.COM"), actor="test")
        assert snapshot(settings) == before

    def test_cannot_start_as_closed_won(self, settings):
        with pytest.raises(Conflict, match="deals won"), unit_of_work(settings) as session:
            service.create(session, ProspectCreate(name="X", sales_status="closed_won"), actor="test")


class TestValidation:
    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("tier", 4, "must be 1, 2 or 3"),
            ("tier", "one", "is not a number"),
            ("grid_health", 101, "must be at most 100"),
            ("grid_health", "abc", "is not a number"),
            ("email", "daniel@", "not a valid email"),
            ("email", "daniel@localhost", "not a valid email"),
            ("phone", "call me", "not a phone number"),
            ("website", "not a site", "not a website"),
            ("critical_gaps", 2.5, "not a whole number"),
            ("timezone", "Mars/Olympus", "not a time zone"),
        ],
    )
    def test_bad_values_are_refused_with_the_field(self, field, value, message):
        from pydantic import ValidationError

        with pytest.raises(ValidationError) as caught:
            ProspectCreate.model_validate({"name": "X", field: value})
        from leadline.schemas import field_errors

        problems = field_errors(caught.value, camel=False)
        assert problems[0]["field"] == field
        assert message in problems[0]["message"]

    def test_values_are_normalised(self):
        p = ProspectCreate.model_validate(
            {"name": " Royal ", "email": " Daniel@Royal.COM ", "website": "royal.com", "trade": " HVAC ",
             "gridHealth": "48%", "tier": "1", "gaps": "No reviews; Slow site"}
        )  # fmt: skip
        assert (p.name, p.email, p.website, p.trade, p.grid_health, p.tier) == (
            "Royal", "daniel@royal.com", "https://royal.com", "hvac", 48.0, 1,
        )  # fmt: skip
        assert p.gaps == ["No reviews", "Slow site"]


class TestUpdate:
    def test_changes_are_applied_and_recorded(self, settings):
        p = make_prospect(settings, tier=2)
        with unit_of_work(settings) as session:
            service.update(session, p.id, ProspectUpdate(tier=1, phone="(512) 555-0100"), actor="cli:ann")
        with unit_of_work(settings) as session:
            got = service.get(session, p.id)
            entries = service.timeline(session, p.id)
        assert (got.tier, got.phone) == (1, "(512) 555-0100")
        assert entries[-1].type == "updated"
        assert entries[-1].details["changes"] == {"tier": [2, 1], "phone": [None, "(512) 555-0100"]}
        assert entries[-1].actor == "cli:ann"

    def test_unknown_prospect(self, settings):
        with pytest.raises(NotFound), unit_of_work(settings) as session:
            service.update(session, "nobody", ProspectUpdate(tier=1), actor="test")

    def test_required_fields_cannot_be_cleared(self, settings):
        p = make_prospect(settings)
        before = snapshot(settings)
        with pytest.raises(Invalid), unit_of_work(settings) as session:
            service.update(session, p.id, ProspectUpdate(name=None), actor="test")
        assert snapshot(settings) == before


class TestStages:
    def test_automatic_moves_only_go_forward(self, settings):
        p = make_prospect(settings)
        with unit_of_work(settings) as session:
            prospect = service.get(session, p.id)
            assert service.advance(session, prospect, "replied", actor="webhook")
            assert not service.advance(session, prospect, "contacted", actor="webhook")
            assert prospect.sales_status == "replied"

    def test_closed_prospects_do_not_move_automatically(self, settings):
        p = make_prospect(settings)
        with unit_of_work(settings) as session:
            service.move_stage(session, p.id, "closed_lost", reason="went with a competitor", actor="cli:ann")
        with unit_of_work(settings) as session:
            prospect = service.get(session, p.id)
            assert not service.advance(session, prospect, "replied", actor="webhook")
            assert prospect.lost_reason == "went with a competitor"

    def test_manual_moves_go_anywhere_and_are_audited(self, settings):
        p = make_prospect(settings)
        with unit_of_work(settings) as session:
            service.move_stage(session, p.id, "proposal", reason="met at the trade show", actor="cli:ann")
            service.move_stage(session, p.id, "contacted", reason="proposal was premature", actor="cli:ann")
        with unit_of_work(settings) as session:
            moves = [e for e in service.timeline(session, p.id) if e.type == "stage_change"]
        assert [(m.details["from"], m.details["to"], m.details["reason"], m.actor) for m in moves] == [
            ("new", "proposal", "met at the trade show", "cli:ann"),
            ("proposal", "contacted", "proposal was premature", "cli:ann"),
        ]

    def test_closed_won_needs_a_customer_record(self, settings):
        p = make_prospect(settings)
        before = snapshot(settings)
        with pytest.raises(Conflict, match="no customer record"), unit_of_work(settings) as session:
            service.move_stage(session, p.id, "closed_won", reason="signed", actor="cli")
        assert snapshot(settings) == before
