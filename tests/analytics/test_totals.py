"""The maintained totals equal a recount from the raw rows, whatever happened: sends, webhook events
in any order, duplicated and batched, replies, calls booked, cancelled, missed and logged (with and
without objections), stage moves by hand, deals won and lost, merges, a prospect's trade, tier, grid
health and deal value edited (one by one, in bulk, by an import that also adds prospects); on both
databases, and with two processes at once."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from leadline import clock
from leadline.analytics import totals
from leadline.analytics.models import AnalyticsTotal
from leadline.calls import booking
from leadline.calls import service as calls
from leadline.calls.models import CallActivity
from leadline.calls.schemas import CallBook, CallLog
from leadline.db import unit_of_work
from leadline.deals import service as deals
from leadline.deals.schemas import DealWon
from leadline.emails.recording import record_reply
from leadline.errors import LeadlineError
from leadline.prospects import bulk, merging
from leadline.prospects import flows as prospect_flows
from leadline.prospects import service as prospects
from leadline.prospects.schemas import BulkRequest, ProspectUpdate
from leadline.senders import health
from leadline.senders import service as senders
from leadline.senders.schemas import SenderCreate
from tests.conftest import ROOT, changed, settings_env
from tests.webhooks.conftest import send_to
from tests.webhooks.test_order_and_duplicates import KINDS, feed, make_event

POOL = 4
_examples = itertools.count()
STAGES = ["contacted", "replied", "scheduled", "interested", "proposal", "closed_lost", "new"]
OUTCOMES = ["interested", "not_interested", "follow_up", "proposal_sent"]
#: What a prospect says on a call (none, one category, two, the same twice, one the keyword map misses).
SAID = st.sampled_from([[], ["too expensive"], ["no time right now", "too expensive"], ["pricey", "price is high"],
                        ["we already have an agency"], ["something else entirely"]])  # fmt: skip
DEAL = st.sampled_from([None, 250.0, 1200.5])
TRADES = st.sampled_from([None, "plumbing", "roofing"])
GRID = st.sampled_from([None, 0.0, 19.5, 20.0, 64.0, 100.0])

actions = st.lists(
    st.one_of(
        st.tuples(st.just("events"), st.lists(st.tuples(st.integers(0, POOL - 1), st.sampled_from(KINDS),
                                                        st.integers(0, 4 * 86400)), min_size=1, max_size=8)),
        st.tuples(st.just("reply"), st.integers(0, POOL - 1)),
        st.tuples(st.just("book"), st.integers(0, POOL - 1)),
        st.tuples(st.just("cancel"), st.integers(0, POOL - 1)),
        st.tuples(st.just("no_show"), st.integers(0, POOL - 1)),
        st.tuples(st.just("log"), st.integers(0, POOL - 1), st.sampled_from(OUTCOMES), SAID),
        st.tuples(st.just("move"), st.integers(0, POOL - 1), st.sampled_from(STAGES)),
        st.tuples(st.just("won"), st.integers(0, POOL - 1), st.integers(100, 900)),
        st.tuples(st.just("lost"), st.integers(0, POOL - 1)),
        st.tuples(st.just("merge"), st.integers(0, POOL - 1), st.integers(0, POOL - 1)),
        st.tuples(st.just("later"), st.integers(1, 3 * 86400)),
        st.tuples(st.just("edit"), st.integers(0, POOL - 1), TRADES, st.integers(1, 3), GRID, DEAL),
        st.tuples(st.just("bulk_tier"), st.lists(st.integers(0, POOL - 1), min_size=1, max_size=POOL),
                  st.integers(1, 3)),
        st.tuples(st.just("import"), st.integers(0, POOL - 1), TRADES, st.integers(1, 3), GRID),
    ),
    min_size=1,
    max_size=12,
)  # fmt: skip


def with_senders(settings) -> None:
    """Two senders on two domains (the emails go out from them in turn: the senders' health totals)."""
    with unit_of_work(settings) as session:
        if not senders.all_senders(session):
            for address in ("ann@alpha-mail.com", "bob@beta-mail.com"):
                senders.add(session, SenderCreate(email=address, name=address, daily_cap=10000), actor="test")


def health_from_totals_equals_the_lists(settings, moments: list[datetime]) -> int:
    """At each moment, every sender's and domain's health figure from the totals equals the length
    of its list read from the rows (the same definition); returns the sends seen."""
    kinds = ("sends", "bounces", "blocked", "spamReports", "unsubscribes")
    seen = 0
    with unit_of_work(settings, readonly=True) as session:
        for moment in moments:
            kept, listed = health.report(session, now=moment), health.report(session, now=moment, lists=True)
            assert kept["asOf"] == listed["asOf"]
            for a, b in zip([*kept["senders"], *kept["domains"]], [*listed["senders"], *listed["domains"]],
                            strict=True):  # fmt: skip
                for window, figures in a["windows"].items():
                    lists = b["windows"][window]["lists"]
                    assert {k: figures[k] for k in kinds} == {k: len(lists[k]) for k in kinds}, (moment, a, b)
                    seen += figures["sends"]
    return seen


def differences(settings) -> list[dict[str, Any]]:
    """What differs between the kept totals and a recount (nothing is written)."""
    with unit_of_work(settings, readonly=True) as session:
        connection = session.connection()
        return totals.compare(totals.count_all(connection, settings.zone), totals.stored(connection))


def _scheduled_call(session, prospect_id: str) -> str | None:
    query = select(CallActivity.id).where(CallActivity.prospect_id == prospect_id, CallActivity.status == "scheduled")
    return session.scalar(query.order_by(CallActivity.created_at))


def play(settings, targets: list[Any], action: tuple[Any, ...], run: str, data: Any) -> None:
    kind, *args = action
    if kind == "later":
        clock.set_frozen(clock.utc_now() + timedelta(seconds=args[0]))
        return
    if kind == "events":
        made = [make_event(targets[i], what, offset, f"{run}-{n}-{data.draw(st.integers(0, 10**9))}", settings)
                for n, (i, what, offset) in enumerate(args[0])]  # fmt: skip
        noisy = data.draw(st.permutations(made + data.draw(st.lists(st.sampled_from(made), max_size=4))))
        half = data.draw(st.integers(0, len(noisy)))
        feed(settings, [b for b in (noisy[:half], noisy[half:], noisy[: half // 2]) if b])
        return
    if kind == "bulk_tier":
        ids = sorted({targets[i].prospect_id for i in args[0]})
        with contextlib.suppress(LeadlineError):  # a merged prospect is gone
            bulk.start(settings, BulkRequest(ids=ids, tier=args[1]), actor="test", background=False)
        return
    target = targets[args[0]]
    if kind == "import":  # updates the prospect and adds one
        trade, tier, grid = args[1:]
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "prospects.csv"
            new = f"Imported {run}"
            path.write_text(
                "id,name,trade,tier,grid_health,deal_value\n"
                f"{target.prospect_id},,{trade or ''},{tier},{'' if grid is None else grid},\n"
                f",{new},{trade or ''},{tier},{'' if grid is None else grid},{tier * 300}\n"
            )
            # a prospect merged away is no longer there to update: that row is refused
            report = prospect_flows.import_file(settings, path, actor="test", skip_invalid=True)
            assert report.created == 1 and report.updated + report.unchanged + report.rejected == 1, report
        return
    try:
        with unit_of_work(settings) as session:
            if kind == "reply":
                record_reply(session, target.id, "Sounds good, call me", actor="test")
            elif kind == "book":
                moment = clock.utc_now() + timedelta(hours=2)
                booking.book(session, CallBook(prospect_id=target.prospect_id, scheduled_at=moment), actor="test")
            elif kind in ("cancel", "no_show"):
                call_id = _scheduled_call(session, target.prospect_id)
                if call_id is not None and kind == "cancel":
                    booking.cancel(session, call_id, reason=None, actor="test")
                elif call_id is not None:
                    booking.no_show(session, call_id, notes=None, actor="test")
            elif kind == "log":
                logged = CallLog(prospect_id=target.prospect_id, outcome=args[1], duration=600, objections=args[2])
                calls.log(session, logged, actor="test")
            elif kind == "move":
                prospects.move_stage(session, target.prospect_id, args[1], reason="by hand", actor="test")
            elif kind == "won":
                won = DealWon(prospect_id=target.prospect_id, service_type="paid_ads", monthly_fee=args[1])
                deals.won(session, won, actor="test")
            elif kind == "lost":
                deals.lost(session, target.prospect_id, reason="went elsewhere", actor="test")
            elif kind == "edit":
                trade, tier, grid, deal = args[1:]
                changes = ProspectUpdate(trade=trade, tier=tier, grid_health=grid, deal_value=deal)
                prospects.update(session, target.prospect_id, changes, actor="test")
            elif kind == "merge":
                merging.merge(session, target.prospect_id, targets[args[1]].prospect_id, actor="test")
    except LeadlineError:
        pass  # refused (a merged prospect, a call not due yet...): the unit of work rolled back


@hyp_settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=actions, data=st.data())
def test_the_totals_equal_a_recount_whatever_happens(settings, steps, data):
    settings = changed(settings, daily_send_limit=100000)
    # each example starts on a Monday after everything the ones before did (a sender paces its sends)
    clock.set_frozen(datetime(2025, 11, 17, 14, 30, tzinfo=UTC) + timedelta(weeks=8 * next(_examples)))
    try:
        with_senders(settings)
        targets = send_to(settings, POOL)
        for index, action in enumerate(steps):
            play(settings, targets, action, f"{targets[0].id}-{index}", data)
        assert differences(settings) == []
        now = clock.utc_now()
        moments = [now, now - timedelta(days=1, minutes=30), now + timedelta(days=3), now - timedelta(days=8)]
        assert health_from_totals_equals_the_lists(settings, moments) > 0
    finally:
        clock.set_frozen(None)


def test_recount_says_what_differed_and_check_changes_nothing(settings, cli):
    targets = send_to(changed(settings, daily_send_limit=100000), 2)
    assert targets and cli("analytics", "recount", "--check").exit_code == 0
    with unit_of_work(settings) as session:
        session.execute(update(AnalyticsTotal).where(AnalyticsTotal.figure == "sent").values(n=AnalyticsTotal.n + 5))
    checked = cli("analytics", "recount", "--check", "--json")
    found = json.loads(checked.stdout)
    assert checked.exit_code == 1 and found["differing"] >= 1 and not found["written"]
    assert {(d["figure"], d["stored"] - d["counted"]) for d in found["differences"]} == {("sent", 5)}
    again = cli("analytics", "recount", "--check")
    assert again.exit_code == 1 and f"{found['differing']} differed" in again.stdout  # --check changed nothing
    rebuilt = cli("analytics", "recount", "--json")
    assert rebuilt.exit_code == 0 and json.loads(rebuilt.stdout)["written"]
    assert cli("analytics", "recount", "--check").exit_code == 0
    assert differences(settings) == []


WORKER = """
import sys, random
from datetime import timedelta
from leadline.config import get_settings
from leadline.db import unit_of_work
from leadline.emails.recording import record_reply
from leadline.webhooks import service
from tests.webhooks.conftest import email
from tests.webhooks.test_order_and_duplicates import make_event

settings = get_settings()
ids, seed = sys.argv[1].split(","), int(sys.argv[2])
rng = random.Random(seed)
targets = [email(settings, i) for i in ids]
for round in range(15):
    batch = [make_event(rng.choice(targets), rng.choice(["delivered", "open", "open_machine", "click", "bounce",
                                                        "blocked", "spamreport", "unsubscribe"]),
                        rng.randint(0, 3 * 86400), f"mp{rng.randint(0, 60)}", settings) for _ in range(6)]
    with unit_of_work(settings) as session:
        result = service.ingest(session, batch)
    with unit_of_work(settings) as session:
        service.apply(session, result.new_ids)
    if rng.random() < 0.3:
        with unit_of_work(settings) as session:
            record_reply(session, rng.choice(ids), "yes please", actor="test")
"""


def test_two_processes_at_once_end_equal_to_the_recount(settings):
    settings = changed(settings, daily_send_limit=1000)
    with_senders(settings)
    targets = send_to(settings, 6)
    env = {**os.environ, **settings_env(settings), "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    ids = ",".join(t.id for t in targets)
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, ids, str(seed)], env=env, cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for seed in (1, 2)]  # fmt: skip
    for worker in workers:
        output = worker.communicate(timeout=600)[0]
        assert worker.returncode == 0, output[-3000:]
    assert differences(settings) == []
    assert health_from_totals_equals_the_lists(settings, [datetime.now(UTC), datetime.now(UTC) + timedelta(days=4)]) > 0


def test_several_reads_of_the_totals_in_one_statement_give_each_reads_own_sums(settings):
    """``totals.read`` asks several reads in one statement (one round trip): each part's sums are what
    it reads alone, whatever the other parts group by (a tier, a template, nothing)."""
    from sqlalchemy import text

    columns = "figure, start_day, event_day, template, sender, tier, trade, band, n, amount"
    rows = [
        ("prospects", 0, 740001, "", "", 1, "", "", 2, 0.0), ("prospects", 0, 740003, "", "", 2, "", "", 1, 0.0),
        ("prospects", 0, 740009, "", "", 2, "", "", 5, 0.0), ("sent", 740000, 740001, "intro", "", 0, "", "", 3, 0.0),
        ("sent", 740002, 740002, "follow_up", "", 0, "", "", 4, 0.0), ("deals.won", 740001, 740001, "", "", 0, "", "", 1, 2400.0),
    ]  # fmt: skip
    with unit_of_work(settings) as session:
        for row in rows:
            values = dict(zip(columns.split(", "), row, strict=True))
            session.execute(text(f"INSERT INTO analytics_totals ({columns}) VALUES"
                                 f" ({', '.join(':' + c for c in values)})"), values)  # fmt: skip
    by_tier = totals.Sums(("prospects",), before=740005, by=("tier",))
    by_template = totals.Sums(("sent",), before=740005, started=(740000, 740002), by=("template",))
    plain = totals.Sums(("sent", "deals.won"), before=740005, happened_from=740001)
    with unit_of_work(settings, readonly=True) as session:
        together = totals.read(session, by_tier, by_template, plain)
        alone = [totals.read(session, one)[0] for one in (by_tier, by_template, plain)]
    assert (
        together
        == alone
        == [
            {("prospects", 1): (2, 0.0), ("prospects", 2): (1, 0.0)},
            {("sent", "intro"): (3, 0.0)},
            {("sent",): (7, 0.0), ("deals.won",): (1, 2400.0)},
        ]
    )
