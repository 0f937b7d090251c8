"""Migration 0015: a prospect's notes field becomes its first note; downgrade folds the notes back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from leadline.config import Settings
from leadline.db import JSONType, UTCDateTime, dispose_engines
from leadline.migrate import downgrade, head_revision, upgrade
from tests.test_migrations import _fresh_url

T0 = datetime(2025, 11, 18, 15, 0, tzinfo=UTC)
T1 = datetime(2025, 11, 19, 9, 30, tzinfo=UTC)

prospects = sa.table(
    "prospects", *(sa.column(c) for c in ("id", "name", "tier", "status", "sales_status", "emails_sent_count",
                                          "emails_opened_count", "calls_scheduled_count", "calls_completed_count",
                                          "do_not_contact", "notes")),
    sa.column("gaps", JSONType), sa.column("created_at", UTCDateTime()), sa.column("updated_at", UTCDateTime()),
)  # fmt: skip
activities = sa.table(
    "outreach_activities", *(sa.column(c) for c in ("id", "prospect_id", "type", "status", "actor")),
    sa.column("details", JSONType), sa.column("created_at", UTCDateTime()), sa.column("updated_at", UTCDateTime()),
)  # fmt: skip


def _prospect(pid: str, notes: str | None) -> dict[str, object]:
    return {"id": pid, "name": pid, "tier": 3, "status": "active", "sales_status": "new", "emails_sent_count": 0,
            "emails_opened_count": 0, "calls_scheduled_count": 0, "calls_completed_count": 0,
            "do_not_contact": False, "notes": notes, "gaps": [], "created_at": T0, "updated_at": T1}  # fmt: skip


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_the_notes_field_becomes_the_first_note_and_comes_back(kind, tmp_path):
    url = _fresh_url(kind, tmp_path)
    settings = Settings(database_url=url)
    upgrade(settings, "0011")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                prospects.insert(),
                [
                    _prospect("baker_roofing", "Daniel prefers text messages"),
                    _prospect("royal_plumbing", None),
                    _prospect("blank_co", "  "),
                ],
            )
            connection.execute(activities.insert(), [
                {"id": "act_1", "prospect_id": "baker_roofing", "type": "updated", "status": "updated",
                 "actor": "user:ann@example.com", "created_at": T0, "updated_at": T0,
                 "details": {"changes": {"notes": [None, "Daniel prefers text messages"]}}},
            ])  # fmt: skip
        assert upgrade(settings)[1] == head_revision()
        with engine.connect() as connection:
            assert "notes" not in {c["name"] for c in sa.inspect(connection).get_columns("prospects")}
            notes = connection.execute(
                sa.select(
                    activities.c.prospect_id, activities.c.details, activities.c.actor, activities.c.created_at
                ).where(activities.c.type == "note")
            ).all()
        assert [(n[0], n[1], n[2]) for n in notes] == [
            ("baker_roofing", {"text": "Daniel prefers text messages"}, "user:ann@example.com")
        ]
        assert notes[0][3] == T0  # dated when it was written
        with engine.begin() as connection:  # a second note, written after the upgrade
            connection.execute(activities.insert(), [
                {"id": "act_9", "prospect_id": "baker_roofing", "type": "note", "status": "added",
                 "actor": "user:bob@example.com", "created_at": T1, "updated_at": T1,
                 "details": {"text": "Send ROI proposal"}},
            ])  # fmt: skip
        downgrade(settings, "0011")
        with engine.connect() as connection:
            back = dict(connection.execute(sa.select(prospects.c.id, prospects.c.notes)).all())
            left = connection.execute(sa.select(sa.func.count()).select_from(activities)
                                      .where(activities.c.type == "note")).scalar_one()  # fmt: skip
        assert back == {
            "baker_roofing": "Daniel prefers text messages\n\nSend ROI proposal",
            "royal_plumbing": None,
            "blank_co": None,
        }  # fmt: skip  (blank: nothing to keep)
        assert left == 0
        assert upgrade(settings)[1] == head_revision()  # and up again
    finally:
        engine.dispose()
        dispose_engines()
