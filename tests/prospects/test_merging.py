"""Duplicates: finding likely duplicate prospects and merging one into another (prospects.merging),
on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from leadline.activity import service as activity
from leadline.auth import service as auth
from leadline.booking.models import Booking, BookingLink
from leadline.calls.models import CallActivity
from leadline.db import Base, import_all_models, unit_of_work
from leadline.emails.flows import send
from leadline.errors import Conflict, Invalid, NotFound
from leadline.files import service as files
from leadline.files.schemas import Target
from leadline.guardian.models import ReplyLabel
from leadline.ids import new_id
from leadline.notify.models import Notification
from leadline.posts.models import GeneratedPost
from leadline.proposals import service as proposals
from leadline.proposals.schemas import ProposalCreate
from leadline.prospects import merging
from leadline.prospects import service as prospects
from leadline.prospects.models import Prospect, ProspectExternalId, ProspectTag
from leadline.sequences.models import Sequence, SequenceEnrollment
from leadline.tasks import service as tasks
from leadline.texts import service as texts
from leadline.texts.schemas import TextLog
from leadline.webhooks.models import InboundMessage
from tests.calls.helpers import book, freeze, log
from tests.factories import make_prospect, snapshot

#: The tables this file's ``pair`` fixture gives a row pointing at the duplicate. ``customers`` is
#: covered by the refusals (a customer is never the merged-away prospect).
COVERED = {"outreach_activities", "email_activities", "call_activities", "tasks", "generated_posts",
           "sequence_enrollments", "notifications", "inbound_messages", "prospect_tags", "prospect_external_ids",
           "files", "proposals", "reply_labels", "booking_links", "bookings", "text_messages"}  # fmt: skip
REFUSED = {"customers"}
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def pointing_at_prospects() -> set[tuple[str, str]]:
    """Every (table, column) holding a prospect's id, read here from the metadata on its own."""
    import_all_models()
    found = set()
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if table.name != "prospects" and (
                column.name == "prospect_id"
                or column.name.endswith("_prospect_id")
                or any(fk.column.table.name == "prospects" for fk in column.foreign_keys)
            ):
                found.add((table.name, column.name))
    return found


def rows_of(settings, prospect_id: str) -> dict[str, int]:
    counts = {}
    with unit_of_work(settings, readonly=True) as session:
        for table, column in sorted(pointing_at_prospects()):
            sql = text(f"SELECT count(*) FROM {table} WHERE {column} = :id")
            counts[table] = int(session.execute(sql, {"id": prospect_id}).scalar_one())
    return counts


def recount(settings, prospect_id: str) -> dict[str, Any]:
    """The counters, counted here from the rows."""
    with unit_of_work(settings, readonly=True) as session:
        sent, opened = session.execute(
            text("SELECT count(sent_at), count(opened_at) FROM email_activities WHERE prospect_id = :id"),
            {"id": prospect_id},
        ).one()
        scheduled, completed = session.execute(
            text("SELECT count(*) FILTER (WHERE status <> 'cancelled'), count(*) FILTER (WHERE status = 'completed') "
                 "FROM call_activities WHERE prospect_id = :id"),
            {"id": prospect_id},
        ).one()  # fmt: skip
    return {"emails_sent_count": sent, "emails_opened_count": opened, "calls_scheduled_count": scheduled,
            "calls_completed_count": completed}  # fmt: skip


def counters(settings, prospect_id: str) -> dict[str, Any]:
    with unit_of_work(settings, readonly=True) as session:
        p = prospects.get(session, prospect_id)
        return {name: getattr(p, name) for name in ("emails_sent_count", "emails_opened_count",
                                                    "calls_scheduled_count", "calls_completed_count")}  # fmt: skip


def add_children(settings, prospect_id: str) -> None:
    """A row in every table that points at a prospect, through the services where there is one."""
    report = send(settings, "pain_point", actor="test", prospect_ids=[prospect_id])
    assert report.count("sent") == 1
    book(settings, prospect_id, "2025-11-25 10:00")
    log(settings, prospect_id, "interested")
    now = datetime(2025, 11, 18, 15, 0, tzinfo=UTC)
    with unit_of_work(settings) as session:
        prospect = prospects.get(session, prospect_id, for_update=True)
        tasks.add(session, prospect, title="Send the case studies", due_at=now + timedelta(days=3), kind="manual",
                  actor="test")  # fmt: skip
        session.add(GeneratedPost(id=new_id("post"), prospect_id=prospect_id, caption="Book online today"))
        sequence = Sequence(id=new_id("seq"), name="follow-ups", steps=[], created_by="test")
        session.add(sequence)
        session.flush()
        session.add(SequenceEnrollment(id=new_id("enr"), sequence_id=sequence.id, prospect_id=prospect_id,
                                       status="active", next_send_at=now + timedelta(days=2)))  # fmt: skip
        session.add(Notification(id=new_id("ntf"), kind="reply", dedup_key=new_id("k"), title="A reply",
                                 prospect_id=prospect_id))  # fmt: skip
        session.add(InboundMessage(id=new_id("in"), message_key=new_id("m"), prospect_id=prospect_id,
                                   status="matched"))  # fmt: skip
        session.add(ProspectTag(prospect_id=prospect_id, tag="roofers"))  # both carry it: kept once
        session.add(ProspectTag(prospect_id=prospect_id, tag=f"only {prospect_id}"[:40]))
        session.add(ProspectExternalId(source="hubspot contact", external_id=new_id("x"), prospect_id=prospect_id))
        files.add(session, Target("prospect", prospect_id), "quote.pdf", b"%PDF-1.4 quote", actor="test")
        proposals.create(session, ProposalCreate.model_validate({"prospectId": prospect_id, "serviceType": "paid_ads",
                                                                 "monthlyFee": 900}), actor="test")  # fmt: skip
        session.add(ReplyLabel(id=new_id("rpl"), prospect_id=prospect_id, source="manual", excerpt="Call me",
                               label="meeting_request", reason="asks to talk", set_by="rule", set_by_actor="test",
                               rule_label="meeting_request", action="none", action_detail={}, received_at=now))  # fmt: skip
        texts.log(session, settings, prospect_id, TextLog(direction="out", body="Texted about the quote"), actor="test")
        session.add(BookingLink(id=new_id("bkl"), prospect_id=prospect_id, sender_email="ann@example.com"))
        if session.execute(text("SELECT count(*) FROM users")).scalar_one() == 0:
            auth.add_user(session, "host@example.com", "member", "a long enough password")
        host = session.execute(text("SELECT id FROM users ORDER BY id LIMIT 1")).scalar_one()
        call_id = session.execute(text("SELECT id FROM call_activities WHERE prospect_id = :p LIMIT 1"),
                                  {"p": prospect_id}).scalar_one()  # fmt: skip
        session.add(Booking(id=new_id("bkg"), call_id=call_id, prospect_id=prospect_id, host_user_id=host,
                            sender_email="ann@example.com", length_minutes=30))  # fmt: skip


@pytest.fixture
def pair(settings):
    """Two records of one business: ``keep`` with little, ``other`` with a history in every table."""
    freeze("2025-11-18 09:00")
    keep = make_prospect(settings, name="Royal Plumbing", phone="(512) 555-0101", email="daniel@royalplumbing.com",
                         contact_name=None, state=None, top_competitor=None, website=None)  # fmt: skip
    other = make_prospect(settings, name="Royal Plumbing Co.", phone="+1 512.555.0101", email="office@royal.com",
                          website="https://www.royalplumbing.com/about", contact_name="Daniel Reyes", state="TX",
                          top_competitor="Summit Plumbing")  # fmt: skip
    add_children(settings, other.id)
    send(settings, "pain_point", actor="test", prospect_ids=[keep.id])
    return keep, other


class TestReferences:
    def test_every_table_pointing_at_prospects_is_moved_or_refused(self):
        """A table added later with a prospect's id fails here until this file gives it a row (and the
        merge then moves it, as :func:`merging.references` reads the same metadata)."""
        tables = {table for table, _ in pointing_at_prospects()}
        assert tables == COVERED | REFUSED, (
            f"tables pointing at prospects not covered by the merge tests: {sorted(tables - COVERED - REFUSED)}"
        )
        assert {(c.table.name, c.name) for c in merging.references()} == pointing_at_prospects()

    def test_every_prospect_field_is_filled_or_said_why_not(self):
        columns = {c.key for c in Prospect.__mapper__.column_attrs}
        assert columns == set(merging.FILLED) | set(merging.NOT_FILLED)
        assert not set(merging.FILLED) & set(merging.NOT_FILLED)


class TestMerge:
    def test_everything_moves_and_counters_equal_a_recount(self, settings, pair):
        keep, other = pair
        had = rows_of(settings, other.id)
        assert all(had[t] > 0 for t in COVERED), had  # the fixture covers every table
        kept_before = rows_of(settings, keep.id)
        with unit_of_work(settings) as session:
            result = merging.merge(session, keep.id, other.id, actor="test")
            assert result.merged_from == other.id
        after = rows_of(settings, keep.id)
        for table in COVERED:
            assert after[table] >= kept_before[table] + had[table], table
        with unit_of_work(settings, readonly=True) as session:
            assert session.get(Prospect, other.id) is None
            leftovers = session.execute(text("SELECT count(*) FROM outreach_activities WHERE prospect_id = :id"),
                                        {"id": other.id}).scalar_one()  # fmt: skip
            assert leftovers == 0
            p = prospects.get(session, keep.id)
            # empty fields filled, the others kept
            assert (p.contact_name, p.state, p.top_competitor) == ("Daniel Reyes", "TX", "Summit Plumbing")
            assert p.website == "https://www.royalplumbing.com/about"
            assert (p.email, p.phone, p.name) == ("daniel@royalplumbing.com", "(512) 555-0101", "Royal Plumbing")
            # moved forward to the other's stage (a completed call: interested)
            assert p.sales_status == "interested"
            last_call = session.execute(
                text("SELECT max(completed_at) FROM call_activities WHERE prospect_id = :id"), {"id": keep.id}
            ).scalar_one()
            assert p.last_contact_at is not None and last_call is not None
            assert p.next_follow_up_at is not None
            entries = [e for e in activity.for_prospect(session, keep.id) if e.type == "merged"]
        assert counters(settings, keep.id) == recount(settings, keep.id)
        assert counters(settings, keep.id)["emails_sent_count"] == 2
        assert counters(settings, keep.id)["calls_completed_count"] == 1
        assert len(entries) == 1
        details = entries[0].details
        assert details["from"] == other.id and details["fromName"] == "Royal Plumbing Co."
        assert details["other"]["email"] == "office@royal.com"
        assert set(details["filled"]) == {"contactName", "state", "topCompetitor", "website"}
        assert details["moved"]["email_activities"] == 1

    def test_the_email_of_the_other_fills_an_empty_one(self, settings):
        keep = make_prospect(settings, name="Acme HVAC", email=None)
        other = make_prospect(settings, name="Acme HVAC", email="info@acme.com")
        with unit_of_work(settings) as session:
            merging.merge(session, keep.id, other.id, actor="test")
        with unit_of_work(settings, readonly=True) as session:
            assert prospects.get(session, keep.id).email == "info@acme.com"

    def test_do_not_contact_carries_over(self, settings):
        keep = make_prospect(settings)
        other = make_prospect(settings)
        with unit_of_work(settings) as session:
            prospects.set_do_not_contact(session, prospects.get(session, other.id), "unsubscribed", actor="test")
        with unit_of_work(settings) as session:
            merging.merge(session, keep.id, other.id, actor="test")
        with unit_of_work(settings, readonly=True) as session:
            p = prospects.get(session, keep.id)
            assert p.do_not_contact and "unsubscribed" in (p.do_not_contact_reason or "")

    def test_a_customer_can_be_kept(self, settings):
        keep = make_prospect(settings)
        other = make_prospect(settings)
        customer(settings, keep.id, "cust_1")
        with unit_of_work(settings) as session:
            merging.merge(session, keep.id, other.id, actor="test")
        with unit_of_work(settings, readonly=True) as session:
            assert session.get(Prospect, other.id) is None


def customer(settings, prospect_id: str, customer_id: str) -> None:
    from leadline.customers.models import Customer

    with unit_of_work(settings) as session:
        session.add(Customer(id=customer_id, prospect_id=prospect_id, company_name=prospect_id, monthly_fee=500,
                             service_type="grid_health_analysis", start_date=T0, signed_at=T0))  # fmt: skip


class TestRefusals:
    def test_itself(self, settings):
        p = make_prospect(settings)
        before = snapshot(settings)
        with pytest.raises(Invalid, match="itself") as refused, unit_of_work(settings) as session:
            merging.merge(session, p.id, p.id, actor="test")
        assert refused.value.field == "other"
        assert snapshot(settings) == before

    def test_two_customers(self, settings, pair):
        keep, other = pair
        customer(settings, keep.id, "cust_a")
        customer(settings, other.id, "cust_b")
        before = snapshot(settings)
        with pytest.raises(Conflict, match="both are customers"), unit_of_work(settings) as session:
            merging.merge(session, keep.id, other.id, actor="test")
        assert snapshot(settings) == before

    def test_a_customer_merged_away(self, settings, pair):
        keep, other = pair
        customer(settings, other.id, "cust_b")
        before = snapshot(settings)
        with pytest.raises(Conflict, match="keep the customer instead"), unit_of_work(settings) as session:
            merging.merge(session, keep.id, other.id, actor="test")
        assert snapshot(settings) == before

    def test_unknown_prospect(self, settings):
        p = make_prospect(settings)
        before = snapshot(settings)
        with pytest.raises(NotFound), unit_of_work(settings) as session:
            merging.merge(session, p.id, "nobody", actor="test")
        assert snapshot(settings) == before
        with pytest.raises(NotFound) as missing, unit_of_work(settings) as session:
            merging.merge(session, "nobody", p.id, actor="test")
        assert missing.value.field == "prospectId"
        assert snapshot(settings) == before

    def test_a_failure_midway_changes_nothing(self, settings, pair, monkeypatch):
        """All or nothing: an error after the rows moved rolls the whole merge back."""
        keep, other = pair
        before = snapshot(settings)

        def broken(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError("the disk is full")

        monkeypatch.setattr(merging.activity, "record", broken)
        with pytest.raises(RuntimeError), unit_of_work(settings) as session:
            merging.merge(session, keep.id, other.id, actor="test")
        assert snapshot(settings) == before


class TestFinding:
    def test_each_reason_groups_its_prospects(self, settings):
        a = make_prospect(settings, name="Royal Plumbing", phone="(512) 555-0101", website="royal.com", city="Austin")
        b = make_prospect(settings, name="ROYAL PLUMBING.", phone="1-512-555-0101", city=" austin ",
                          website="https://WWW.Royal.com/contact")  # fmt: skip
        make_prospect(settings, name="Other Co", phone="512 555 0199", website="https://facebook.com/other",
                      city="Dallas")  # fmt: skip
        make_prospect(settings, name="Another Co", website="http://facebook.com/another", city="Dallas")
        with unit_of_work(settings, readonly=True) as session:
            found = merging.duplicates(session)
        groups = {(g.reason, g.key): [m.id for m in g.prospects] for g in found.items}
        assert groups == {
            ("name_city", "royalplumbing|austin"): [a.id, b.id],
            ("phone", "5125550101"): [a.id, b.id],
            ("website", "royal.com"): [a.id, b.id],
        }
        assert found.next_page is None

    def test_pages_are_bounded(self, settings):
        for n in range(3):
            make_prospect(settings, name=f"Twin {n}", phone=f"512555010{n}")
            make_prospect(settings, name=f"Twin {n} copy", phone=f"(512) 555-010{n}")
        with unit_of_work(settings, readonly=True) as session:
            first = merging.duplicates(session, reason="phone", limit=2)
            second = merging.duplicates(session, reason="phone", limit=2, page=2)
        assert [g.key for g in first.items] == ["5125550100", "5125550101"] and first.next_page == 2
        assert [g.key for g in second.items] == ["5125550102"] and second.next_page is None

    def test_bad_reason_is_refused(self, settings):
        with pytest.raises(Invalid) as refused, unit_of_work(settings, readonly=True) as session:
            merging.duplicates(session, reason="colour")
        assert refused.value.field == "reason"

    def test_candidates_of_one_prospect(self, settings):
        a = make_prospect(settings, name="Royal Plumbing", phone="(512) 555-0101", city="Austin")
        b = make_prospect(settings, name="Royal Plumbing", phone="512 555 0101", city="Austin")
        make_prospect(settings, name="Royal Plumbing", city="Dallas")
        with unit_of_work(settings, readonly=True) as session:
            found = merging.candidates(session, a.id)
        assert [(c.prospect.id, c.reasons) for c in found] == [(b.id, ["phone", "name_city"])]


class TestCallRows:
    def test_call_rows_keep_their_ids(self, settings, pair):
        keep, other = pair
        with unit_of_work(settings, readonly=True) as session:
            ids = set(session.scalars(text("SELECT id FROM call_activities WHERE prospect_id = :id"),
                                      {"id": other.id}))  # fmt: skip
        with unit_of_work(settings) as session:
            merging.merge(session, keep.id, other.id, actor="test")
        with unit_of_work(settings, readonly=True) as session:
            assert {c.prospect_id for c in session.query(CallActivity).filter(CallActivity.id.in_(ids))} == {keep.id}


class TestShells:
    def test_cli_as_a_process(self, settings, pair):
        from tests.conftest import run_leadline, settings_env

        keep, other = pair
        env = settings_env(settings)
        listed = run_leadline("prospects", "duplicates", "--json", env=env)
        assert listed.returncode == 0, listed.stderr
        groups = {
            (g["reason"], g["key"]): [p["id"] for p in g["prospects"]] for g in json.loads(listed.stdout)["items"]
        }
        assert groups[("phone", "5125550101")] == [keep.id, other.id]
        shown = run_leadline("prospects", "duplicates", env=env)
        assert "same phone: 5125550101" in shown.stdout and other.id in shown.stdout

        before = snapshot(settings)
        refused = run_leadline("prospects", "merge", keep.id, keep.id, env=env)
        assert refused.returncode == 1 and refused.stderr.strip() == (
            f"error: other: cannot merge {keep.id} with itself; give two different prospects"
        )
        assert snapshot(settings) == before

        merged = run_leadline("prospects", "merge", keep.id, other.id, env=env)
        assert merged.returncode == 0, merged.stderr
        assert f"Merged {other.id} into {keep.id}" in merged.stdout
        assert counters(settings, keep.id) == recount(settings, keep.id)
        gone = run_leadline("prospects", "show", other.id, env=env)
        assert gone.returncode == 1 and "no prospect" in gone.stderr

    def test_api(self, settings, client, pair):
        keep, other = pair
        body = client.get("/api/prospects/duplicates", params={"reason": "phone"}).json()
        assert [[p["id"] for p in g["prospects"]] for g in body["items"]] == [[keep.id, other.id]]
        assert body["nextPage"] is None and body["items"][0]["label"] == "same phone"
        near = client.get(f"/api/prospects/{keep.id}/duplicates").json()
        assert near[0]["prospect"]["id"] == other.id and near[0]["reasons"] == ["phone"]

        before = snapshot(settings)
        for payload, status, field in (
            ({"other": keep.id}, 422, "other"),
            ({"other": ""}, 422, "other"),
            ({"other": "nobody"}, 404, "other"),
            ({"merge": other.id}, 422, None),
        ):
            response = client.post(f"/api/prospects/{keep.id}/merge", json=payload)
            assert response.status_code == status, response.text
            if field:
                assert response.json()["field"] == field
        bad = client.get("/api/prospects/duplicates", params={"reason": "colour"})
        assert bad.status_code == 422 and bad.json()["field"] == "reason"
        assert snapshot(settings) == before

        merged = client.post(f"/api/prospects/{keep.id}/merge", json={"other": other.id})
        assert merged.status_code == 200, merged.text
        result = merged.json()
        assert result["mergedFrom"] == other.id and result["prospect"]["id"] == keep.id
        assert result["prospect"]["emailsSentCount"] == 2 and "contactName" in result["filled"]
        assert client.get(f"/api/prospects/{other.id}").status_code == 404
        timeline = client.get(f"/api/prospects/{keep.id}/timeline").json()
        assert [e["details"]["from"] for e in timeline if e["type"] == "merged"] == [other.id]

    def test_a_read_only_token_may_not_merge(self, settings, anon_client, pair):
        from tests.conftest import make_token

        keep, other = pair
        token = make_token(settings, scope="read")
        before = snapshot(settings)
        response = anon_client.post(f"/api/prospects/{keep.id}/merge", json={"other": other.id},
                                    headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert response.status_code == 403
        assert snapshot(settings) == before


class TestIndexes:
    def test_the_keys_are_read_from_their_indexes(self, settings):
        """Every key query spells its index's expression: the database reads the index, never
        computes a key for every prospect (a drift between dupkeys and the migration fails here)."""
        from leadline.prospects import dupkeys

        with unit_of_work(settings, readonly=True) as session:
            sqlite = session.get_bind().dialect.name == "sqlite"
            if not sqlite:
                session.execute(text("SET LOCAL enable_seqscan = off"))
            for name, expression in dupkeys.INDEXES.items():
                reason = name.removeprefix("ix_prospects_dup_")
                assert dupkeys.KEYS[reason] == expression
                query = f"SELECT id FROM prospects WHERE {dupkeys.KEYS[reason]} = 'royal.com'"
                explain = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
                plan = " ".join(str(row) for row in session.execute(text(explain + query)))
                assert name in plan, plan

    def test_the_migration_made_the_indexes_of_the_keys(self):
        import importlib.util

        from leadline.prospects import dupkeys
        from tests.conftest import ROOT

        path = next((ROOT / "src/leadline/migrations/versions").glob("*_0017_duplicate_keys.py"))
        spec = importlib.util.spec_from_file_location("migration_0017", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert module.INDEXES == dupkeys.INDEXES and module.POSTGRES_INSTR == dupkeys.POSTGRES_INSTR


class TestConcurrency:
    def test_two_merges_of_one_pair_at_once(self, settings, pair):
        """A into B and B into A at the same moment: the locks are taken in one order, so one merge
        wins, the other finds its prospect gone (no deadlock, no half merge)."""
        import threading

        keep, other = pair
        outcomes: list[str] = []
        start = threading.Barrier(2)

        def run(a: str, b: str) -> None:
            start.wait()
            try:
                with unit_of_work(settings) as session:
                    merging.merge(session, a, b, actor="test")
                outcomes.append("merged")
            except NotFound:
                outcomes.append("gone")

        threads = [threading.Thread(target=run, args=ids) for ids in ((keep.id, other.id), (other.id, keep.id))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(outcomes) == ["gone", "merged"]
        with unit_of_work(settings, readonly=True) as session:
            left = session.execute(text("SELECT id FROM prospects WHERE id IN (:a, :b)"),
                                   {"a": keep.id, "b": other.id}).scalars().all()  # fmt: skip
        assert len(left) == 1
        assert counters(settings, left[0]) == recount(settings, left[0])


class TestOneRowPerProspect:
    def test_a_table_allowing_one_row_per_prospect_refuses_clearly(self, settings, monkeypatch):
        """A table (none today) that allows one row per prospect, where both have one: a one-line
        refusal naming it, and nothing changed (not a server error)."""
        from sqlalchemy import Column, MetaData, String, Table

        from leadline.db import get_engine

        probe = Table("merge_probe", MetaData(), Column("id", String(10), primary_key=True),
                      Column("prospect_id", String(80), unique=True))  # fmt: skip
        engine = get_engine(settings)
        probe.create(engine)
        try:
            keep, other = make_prospect(settings), make_prospect(settings)
            with engine.begin() as connection:
                connection.execute(probe.insert(), [{"id": "a", "prospect_id": keep.id},
                                                    {"id": "b", "prospect_id": other.id}])  # fmt: skip
            real = merging.references()
            monkeypatch.setattr(merging, "references", lambda: [*real, probe.c.prospect_id])
            before = snapshot(settings)
            with pytest.raises(merging.MergeRefused, match="both have a merge_probe row"):
                with unit_of_work(settings) as session:
                    merging.merge(session, keep.id, other.id, actor="test")
            assert snapshot(settings) == before
            with engine.connect() as connection:
                assert sorted(connection.execute(probe.select()).all()) == [("a", keep.id), ("b", other.id)]
        finally:
            probe.drop(engine)


class TestSequences:
    def test_one_active_sequence_after_a_merge(self, settings, pair):
        """Both in a sequence: the kept one's goes on, the other's stops (one sequence at a time)."""
        keep, other = pair
        with unit_of_work(settings) as session:
            sequence = Sequence(id=new_id("seq"), name="kept", steps=[], created_by="test")
            session.add(sequence)
            session.flush()
            session.add(SequenceEnrollment(id="enr_kept", sequence_id=sequence.id, prospect_id=keep.id,
                                           status="active"))  # fmt: skip
        with unit_of_work(settings) as session:
            merging.merge(session, keep.id, other.id, actor="test")
        with unit_of_work(settings, readonly=True) as session:
            rows = session.execute(text("SELECT id, status, stop_reason FROM sequence_enrollments "
                                        "WHERE prospect_id = :id ORDER BY id"), {"id": keep.id}).all()  # fmt: skip
        active = [row.id for row in rows if row.status == "active"]
        assert active == ["enr_kept"]
        assert [row.stop_reason for row in rows if row.id != "enr_kept"] == [f"merged into {keep.id}"]
