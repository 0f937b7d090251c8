"""Booking through a prospect's link: the slots offered, a booking and its invitations, moving and
cancelling it, every refusal (nothing changes), and two people racing for one slot, on SQLite and
PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest

from leadline import clock
from leadline.booking import links, service
from leadline.booking.schemas import AvailabilitySet, parse_weekly
from leadline.db import unit_of_work
from leadline.notify.models import Notification
from tests.booking.helpers import HOST, NOW, at, counts, fresh, invitation, outbox, prospect_with_link, set_up
from tests.conftest import make_user


def slots(settings, token: str, length: int = 30) -> list:
    with unit_of_work(settings, readonly=True) as session:
        return service.slots(session, service.open_link(session, token), length)


def book(settings, token: str, start, length: int = 30, note: str | None = None) -> str:
    with unit_of_work(settings) as session:
        return service.book(session, token, start, length, note=note).id


class TestWeeklyHours:
    def test_text_and_mapping_read_the_same(self):
        assert parse_weekly("mon-fri 09:00-12:00 13:00-17:00; sat 10:00-12:00") == {
            **{d: ["09:00-12:00", "13:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
            "sat": ["10:00-12:00"],
        }
        assert parse_weekly({"Monday": ["9:00-10:00"]}) == {"mon": ["09:00-10:00"]}

    @pytest.mark.parametrize(
        "text", ["mon 12:00-09:00", "mon 09:00-11:00 10:00-12:00", "funday 09:00-10:00", "mon", "mon 9-5"]
    )
    def test_bad_hours_are_refused(self, text):
        with pytest.raises(ValueError):
            AvailabilitySet.model_validate({"weekly": text})


class TestSlots:
    def test_offered_in_the_hosts_hours_shown_for_the_prospects_zone(self, settings):
        set_up(settings)
        _, token = prospect_with_link(settings)
        found = slots(settings, token)
        # Mon 7 to Fri 11 December, 09:00-11:30 Chicago; the horizon (7 days) ends before Monday 14th's hours.
        assert len(found) == 5 * 6
        assert found[0] == at("2026-12-07 09:00") and found[-1] == at("2026-12-11 11:30")
        with unit_of_work(settings, readonly=True) as session:
            opened = service.open_link(session, token)
            assert opened.zone.key == "America/New_York"
            assert found[0].astimezone(opened.zone).hour == 10  # 09:00 in Chicago is 10:00 for the prospect

    def test_a_booked_call_its_buffers_and_the_daily_maximum_take_times_away(self, settings):
        set_up(settings, buffer_before=15, buffer_after=15, daily_max=2)
        other, _ = prospect_with_link(settings)
        _, token = prospect_with_link(settings)
        from tests.calls.helpers import book as book_by_hand

        book_by_hand(settings, other, "2026-12-08 10:00")  # `leadline calls schedule`, 30 minutes
        tuesday = [s for s in slots(settings, token) if s.date() == at("2026-12-08 10:00").date()]
        # 09:30 would end at 10:00 with no buffer after it; 10:30 would start with no buffer before it.
        assert tuesday == [at("2026-12-08 09:00"), at("2026-12-08 11:00"), at("2026-12-08 11:30")]
        book_by_hand(settings, other, "2026-12-09 09:00")
        book_by_hand(settings, other, "2026-12-09 11:30")
        assert not [s for s in slots(settings, token) if s.date() == at("2026-12-09 10:00").date()]

    def test_minimum_notice(self, settings):
        set_up(settings, min_notice_minutes=120)  # now is 08:00: nothing before 10:00 today
        _, token = prospect_with_link(settings)
        assert slots(settings, token)[0] == at("2026-12-07 10:00")


def host(settings, token: str) -> tuple[str | None, bool]:
    """Who hosts the link's call, and whether they offer hours they set (False: the defaults)."""
    with unit_of_work(settings, readonly=True) as session:
        opened = service.open_link(session, token)
        return (opened.host.email if opened.host else None), bool(opened.offer and opened.offer.updated_at)


def set_hours(settings, email: str, hours: str = "mon-fri 13:00-14:00") -> None:
    from leadline.auth import service as users
    from leadline.booking import availability

    with unit_of_work(settings) as session:
        user = users.get_user(session, email)
        availability.set_for(session, user, AvailabilitySet.model_validate({"weekly": hours}), actor="test")


class TestHost:
    """Who hosts a link's call; until a user sets anything the defaults apply (docs/booking.md)."""

    def test_a_fresh_install_offers_its_one_users_default_hours(self, settings):
        fresh(settings)  # the tests' zone is Chicago; now is Monday 08:00 there
        _, token = prospect_with_link(settings)
        assert host(settings, token) == (HOST, False)
        found = slots(settings, token)
        # Mon-Fri 09:00-17:00 Chicago, 30 minutes, 4 hours' notice (Monday from 12:00), 14 days ahead:
        # Monday 10 slots, Tuesday to Friday 16 each, the next week 80; Monday 21st's hours are past the horizon.
        assert len(found) == 10 + 4 * 16 + 5 * 16
        assert found[0] == at("2026-12-07 12:00") and found[-1] == at("2026-12-18 16:30")
        assert counts(settings)["offers"] == 0  # reading the defaults stores nothing

    def test_a_fresh_install_books_on_the_default_hours(self, settings, immediate):
        fresh(settings)
        prospect_id, token = prospect_with_link(settings)
        booking_id = book(settings, token, at("2026-12-08 15:30"))
        with unit_of_work(settings, readonly=True) as session:
            booking = session.get(service.Booking, booking_id)
            assert booking is not None and booking.length_minutes == 30
            assert service.prospects.get(session, prospect_id).sales_status == "scheduled"
        assert HOST in [str(m["To"]) for m in outbox(settings)]
        # the default 10 minutes after a call: 15:00 (its call and buffer would reach 15:40) is taken away, and
        # 16:00 too (it would start as the booked call ends, with no 10 minutes after that one)
        after = slots(settings, prospect_with_link(settings)[1])
        assert at("2026-12-08 14:30") in after and at("2026-12-08 16:30") in after
        for taken in ("15:00", "15:30", "16:00"):
            assert at(f"2026-12-08 {taken}") not in after, taken

    def test_the_owner_hosts_on_the_defaults_even_when_someone_else_set_hours(self, settings):
        set_up(settings)
        make_user(settings, "owner@example.com", "member")
        _, token = prospect_with_link(settings, owner="owner@example.com")
        assert host(settings, token) == ("owner@example.com", False)
        assert at("2026-12-08 15:00") in slots(settings, token)  # 15:00 is outside HOST's 09:00-12:00

    def test_the_senders_user_hosts_before_the_first_who_set_hours(self, settings):
        set_up(settings)
        make_user(settings, settings.sender_email, "member")
        _, token = prospect_with_link(settings)
        assert host(settings, token) == (settings.sender_email, False)

    def test_the_first_active_user_who_set_hours_then_the_first_admin_then_a_member(self, settings):
        from leadline.auth import service as users

        fresh(settings, "member@example.com", "member")
        _, token = prospect_with_link(settings)
        assert host(settings, token) == ("member@example.com", False)
        make_user(settings, "viewer@example.com", "viewer")
        make_user(settings, HOST, "admin")
        assert host(settings, token) == (HOST, False)
        set_hours(settings, "member@example.com")
        assert host(settings, token) == ("member@example.com", True)
        with unit_of_work(settings) as session:
            users.get_user(session, "member@example.com").disabled_at = NOW
        assert host(settings, token) == (HOST, False)

    def test_nobody_to_host_offers_nothing(self, settings):
        clock.set_frozen(NOW)
        _, token = prospect_with_link(settings)
        assert host(settings, token) == (None, False)
        assert slots(settings, token) == []
        before = counts(settings)
        with pytest.raises(service.SlotNotOffered):
            book(settings, token, at("2026-12-08 15:00"))
        assert counts(settings) == before


class TestBook:
    def test_books_the_call_like_calls_schedule_and_invites_both_sides(self, settings, immediate):
        set_up(settings)
        prospect_id, token = prospect_with_link(settings)
        booking_id = book(settings, token, at("2026-12-08 10:00"), note="Ask for Pat")
        with unit_of_work(settings, readonly=True) as session:
            booking = session.get(service.Booking, booking_id)
            assert booking is not None
            call = service.calls.get(session, booking.call_id)
            assert call.status == "scheduled" and call.scheduled_at == at("2026-12-08 10:00")
            assert "Ask for Pat" in (call.notes or "")
            prospect = service.prospects.get(session, prospect_id)
            assert prospect.sales_status == "scheduled"
            assert session.query(Notification).filter_by(kind="call_booked", prospect_id=prospect_id).count() == 1
        assert at("2026-12-08 10:00") not in slots(settings, prospect_with_link(settings)[1])
        sent = outbox(settings)
        assert sorted(str(m["To"]).split("<")[-1].rstrip(">") for m in sent) == sorted([prospect.email, HOST])
        for message in sent:
            ics = invitation(message)
            assert "METHOD:REQUEST" in ics and f"UID:{call.id}@leadline" in ics and "SEQUENCE:0" in ics
            assert "DTSTART:20261208T160000Z" in ics
        to_prospect = next(m for m in sent if str(prospect.email) in str(m["To"]))
        body = to_prospect.get_body(("plain",)).get_content()  # type: ignore[attr-defined]
        assert "11:00" in body and "America/New_York" in body  # in the prospect's zone
        assert "/reschedule" in body and "/cancel" in body

    def test_a_suppressed_address_gets_no_email_the_host_still_does(self, settings, immediate):
        """An address blocked by hand (the prospect not marked do-not-contact, so the link works)."""
        from leadline.emails import service as emails

        set_up(settings)
        prospect_id, token = prospect_with_link(settings)
        with unit_of_work(settings) as session:
            address = service.prospects.get(session, prospect_id).email
            assert address is not None
            emails.suppress(session, address, "manual", source="test", actor="test")
        book(settings, token, at("2026-12-08 10:00"))
        assert [str(m["To"]) for m in outbox(settings)] == [HOST]

    def test_reschedule_keeps_the_uid_and_bumps_sequence_cancel_sends_cancel(self, settings, immediate):
        set_up(settings)
        _, token = prospect_with_link(settings)
        booking_id = book(settings, token, at("2026-12-08 10:00"))
        manage = links.manage_token(settings, booking_id)
        with unit_of_work(settings) as session:
            call_id = service.reschedule(session, manage, at("2026-12-09 09:30")).call.id
        moved = outbox(settings)[-2:]
        for message in moved:
            ics = invitation(message)
            assert f"UID:{call_id}@leadline" in ics and "SEQUENCE:1" in ics and "METHOD:REQUEST" in ics
            assert "DTSTART:20261209T153000Z" in ics
        assert at("2026-12-08 10:00") in slots(settings, prospect_with_link(settings)[1])  # the old time is free
        with unit_of_work(settings) as session:
            service.cancel(session, manage, reason="found someone else")
        for message in outbox(settings)[-2:]:
            ics = invitation(message)
            assert "METHOD:CANCEL" in ics and "STATUS:CANCELLED" in ics and "SEQUENCE:2" in ics
            assert f"UID:{call_id}@leadline" in ics
        before = counts(settings)
        with unit_of_work(settings) as session, pytest.raises(service.Conflict):
            service.cancel(session, manage)
        assert counts(settings) == before


class TestRefused:
    """Each refusal names the problem and changes nothing."""

    def _refused(self, settings, error: type[Exception], call: Any) -> Exception:
        before = counts(settings)
        with pytest.raises(error) as raised:
            call()
        assert counts(settings) == before
        return raised.value

    def test_a_time_not_offered(self, settings):
        set_up(settings)
        _, token = prospect_with_link(settings)
        for start in (at("2026-12-08 12:00"), at("2026-12-08 09:10"), at("2026-12-12 10:00"), at("2026-12-07 07:00")):
            error = self._refused(settings, service.SlotNotOffered, lambda s=start: book(settings, token, s))
            assert "not offered" in str(error)
        error = self._refused(
            settings, service.SlotNotOffered, lambda: book(settings, token, at("2026-12-08 10:00"), 45)
        )
        assert error.field == "length"  # type: ignore[attr-defined]

    def test_a_tampered_token(self, settings):
        set_up(settings)
        _, token = prospect_with_link(settings)
        bad = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
        other, _ = prospect_with_link(settings)
        forged = token.replace(token.split(".")[0], links.token(settings, other, "x@y.z").split(".")[0])
        for given in (bad, forged, "x" * 500, "nonsense"):
            self._refused(settings, service.LinkInvalid, lambda g=given: book(settings, g, at("2026-12-08 10:00")))

    def test_an_expired_link(self, settings):
        set_up(settings)
        _, token = prospect_with_link(settings)
        clock.set_frozen(NOW + links.MAX_AGE + timedelta(minutes=1))
        error = self._refused(settings, service.LinkGone, lambda: book(settings, token, at("2027-03-08 10:00")))
        assert "expired" in str(error)

    def test_a_revoked_link_and_a_new_one_after(self, settings):
        set_up(settings)
        prospect_id, token = prospect_with_link(settings)
        with unit_of_work(settings) as session:
            service.revoke(session, prospect_id, sender=None, reason="asked us to stop", actor="test")
        error = self._refused(settings, service.LinkGone, lambda: book(settings, token, at("2026-12-08 10:00")))
        assert "withdrawn" in str(error)
        clock.set_frozen(NOW + timedelta(seconds=2))
        fresh = links.token(settings, prospect_id, settings.sender_email)
        assert book(settings, fresh, at("2026-12-08 10:00"))

    def test_each_sender_writes_its_own_link_and_revoking_one_keeps_the_others(self, settings):
        from leadline.emails import templates

        set_up(settings)
        prospect_id, _ = prospect_with_link(settings)
        template = templates.written("composed", "A call?", "Pick a time: {{ booking_url }}")
        senders = ("ann@agency.example", "bob@agency.example")
        with unit_of_work(settings, readonly=True) as session:
            prospect = service.prospects.get(session, prospect_id)
            texts = [templates.render(template, prospect, settings, {"senderEmail": who}).text for who in senders]
        ann, bob = (text.split("/book/", 1)[1].split()[0] for text in texts)
        assert ann != bob
        with unit_of_work(settings, readonly=True) as session:
            opened = [service.open_link(session, token) for token in (ann, bob)]
        assert [o.prospect.id for o in opened] == [prospect_id] * 2 and [o.sender for o in opened] == list(senders)
        with unit_of_work(settings) as session:
            service.revoke(session, prospect_id, sender=senders[0], reason=None, actor="test")
        error = self._refused(settings, service.LinkGone, lambda: book(settings, ann, at("2026-12-08 10:00")))
        assert "withdrawn" in str(error)
        assert book(settings, bob, at("2026-12-08 10:00"))

    @pytest.mark.parametrize("change", [{"sales_status": "closed_lost"}, {"do_not_contact": True}])
    def test_a_lost_or_do_not_contact_prospect(self, settings, change):
        set_up(settings)
        prospect_id, token = prospect_with_link(settings)
        with unit_of_work(settings) as session:
            prospect = service.prospects.get(session, prospect_id)
            for key, value in change.items():
                setattr(prospect, key, value)
        self._refused(settings, service.LinkGone, lambda: book(settings, token, at("2026-12-08 10:00")))
        with unit_of_work(settings, readonly=True) as session:
            assert service.link_for(session, prospect_id).url is None

    def test_a_second_booking_by_the_same_prospect(self, settings):
        set_up(settings)
        _, token = prospect_with_link(settings)
        book(settings, token, at("2026-12-08 10:00"))
        self._refused(settings, service.AlreadyBooked, lambda: book(settings, token, at("2026-12-09 10:00")))


def _race(settings, start) -> list[str]:
    """Two prospects' links book ``start`` at once, each in its own thread, connection and transaction:
    what each got (``booked`` or ``taken: <the message>``)."""
    tokens = [prospect_with_link(settings)[1] for _ in range(2)]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(token: str) -> None:
        barrier.wait()
        try:
            book(settings, token, start)
            outcomes.append("booked")
        except service.SlotTaken as error:
            outcomes.append(f"taken: {error.message}")

    threads = [threading.Thread(target=attempt, args=(t,)) for t in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return sorted(outcomes)


class TestRace:
    def test_two_people_one_slot_one_booking_and_one_taken(self, settings):
        set_up(settings)
        assert _race(settings, at("2026-12-08 10:00")) == [
            "booked",
            "taken: that time has just been taken; pick another",
        ]
        assert counts(settings)["calls"] == 1 and counts(settings)["bookings"] == 1

    def test_two_people_one_slot_of_a_host_who_set_nothing(self, settings):
        """No availability row to lock: the host's user row is the lock."""
        fresh(settings)
        assert _race(settings, at("2026-12-08 15:00")) == [
            "booked",
            "taken: that time has just been taken; pick another",
        ]
        assert counts(settings)["calls"] == 1 and counts(settings)["offers"] == 0


class TestInvitationsNeverLost:
    def test_the_sweep_sends_what_a_lost_job_left_once_and_follows_a_change_made_elsewhere(self, settings):
        from leadline.booking import flows
        from tests.calls.helpers import timeline

        set_up(settings)  # no worker: the job queued after the commit never runs here
        _, token = prospect_with_link(settings)
        booking_id = book(settings, token, at("2026-12-08 10:00"))
        assert outbox(settings) == []
        assert flows.sweep(settings) == 1
        assert len(outbox(settings)) == 2 and "SEQUENCE:0" in invitation(outbox(settings)[0])
        assert flows.sweep(settings) == 0 and flows.send_invitations(settings, booking_id) == []  # once
        with unit_of_work(settings, readonly=True) as session:
            call_id = session.get(service.Booking, booking_id).call_id  # type: ignore[union-attr]
            prospect_id = session.get(service.Booking, booking_id).prospect_id  # type: ignore[union-attr]
        with unit_of_work(settings) as session:  # `leadline calls cancel`, not the prospect's page
            service.calls.cancel(session, call_id, reason="host is ill", actor="test")
        assert flows.sweep(settings) == 1
        assert "METHOD:CANCEL" in invitation(outbox(settings)[-1]) and len(outbox(settings)) == 4
        assert ("call", "cancelled") in timeline(settings, prospect_id)
