"""notes as dated entries; tasks with an owner, a customer and an action kind

Revision ID: 0015
Revises: 0017
Create Date: 2026-12-05

Each prospect's single ``notes`` field becomes its first note: a timeline entry of type ``note``
(status ``added``) by the person who last wrote the field (the timeline's last "updated" entry
that changed it; else ``system``), dated then (else the prospect's last change). The field is
then dropped. Downgrade folds every note back into the field, oldest first, separated by a blank
line, and removes the note entries.

Tasks gain an owner (a user's e-mail address), a customer, and the action kinds ``proposal`` and
``call_back`` (a task made for an action completes itself when that action happens).
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

import leadline.db
from leadline.ids import new_id

revision: str = "0015"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK = 500

_activities = sa.table(
    "outreach_activities",
    sa.column("id", sa.String),
    sa.column("prospect_id", sa.String),
    sa.column("type", sa.String),
    sa.column("status", sa.String),
    sa.column("details", leadline.db.JSONType),
    sa.column("actor", sa.String),
    sa.column("created_at", leadline.db.UTCDateTime(timezone=True)),
    sa.column("updated_at", leadline.db.UTCDateTime(timezone=True)),
)
_prospects = sa.table(
    "prospects",
    sa.column("id", sa.String),
    sa.column("notes", sa.Text),
    sa.column("updated_at", leadline.db.UTCDateTime(timezone=True)),
)


def _authors(connection: Any, ids: list[str]) -> dict[str, tuple[str, datetime]]:
    """Who last wrote each prospect's notes field, and when (from its "updated" timeline entries)."""
    found: dict[str, tuple[str, datetime]] = {}
    rows = connection.execute(
        sa.select(_activities.c.prospect_id, _activities.c.details, _activities.c.actor, _activities.c.created_at)
        .where(_activities.c.prospect_id.in_(ids), _activities.c.type == "updated")
        .order_by(_activities.c.created_at, _activities.c.id)
    )
    for prospect_id, details, actor, created_at in rows:
        if isinstance(details, dict) and "notes" in (details.get("changes") or {}):
            found[prospect_id] = (actor, created_at)
    return found


def upgrade() -> None:
    connection = op.get_bind()
    last = ""
    while True:
        rows = connection.execute(
            sa.select(_prospects.c.id, _prospects.c.notes, _prospects.c.updated_at)
            .where(_prospects.c.id > last, _prospects.c.notes.is_not(None))
            .order_by(_prospects.c.id)
            .limit(CHUNK)
        ).all()
        if not rows:
            break
        last = rows[-1][0]
        written = [r for r in rows if (r[1] or "").strip()]
        authors = _authors(connection, [r[0] for r in written]) if written else {}
        entries = []
        for prospect_id, text, updated_at in written:
            actor, at = authors.get(prospect_id, ("system", updated_at or datetime.now(UTC)))
            entries.append({"id": new_id("act"), "prospect_id": prospect_id, "type": "note", "status": "added",
                            "details": {"text": text.strip()}, "actor": actor, "created_at": at,
                            "updated_at": at})  # fmt: skip
        if entries:
            connection.execute(_activities.insert(), entries)
    # Not a batch (a table copy): dropping the old prospects table would cascade to every table that
    # refers to it. SQLite (3.35+) and PostgreSQL drop a plain column in place.
    op.drop_column("prospects", "notes")

    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("customer_id", sa.String(length=40), nullable=True))
        batch_op.drop_constraint(op.f("ck_tasks_kind_known"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_tasks_kind_known"), "kind IN ('next_step','follow_up','manual','proposal','call_back')"
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_tasks_customer_id_customers"), "customers", ["customer_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.create_index("ix_tasks_owner_done_at", ["owner", "done_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_customer_id"), ["customer_id"], unique=False)


def downgrade() -> None:
    connection = op.get_bind()
    connection.execute(
        sa.update(sa.table("tasks", sa.column("kind", sa.String)))
        .where(sa.column("kind").in_(("proposal", "call_back")))
        .values(kind="manual")
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tasks_customer_id"))
        batch_op.drop_index("ix_tasks_owner_done_at")
        batch_op.drop_constraint(batch_op.f("fk_tasks_customer_id_customers"), type_="foreignkey")
        batch_op.drop_constraint(op.f("ck_tasks_kind_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_tasks_kind_known"), "kind IN ('next_step','follow_up','manual')")
        batch_op.drop_column("customer_id")
        batch_op.drop_column("owner")

    op.add_column("prospects", sa.Column("notes", sa.Text(), nullable=True))
    notes = sa.and_(_activities.c.type == "note", _activities.c.status == "added")
    folded: dict[str, list[str]] = {}
    rows = connection.execute(
        sa.select(_activities.c.prospect_id, _activities.c.details)
        .where(notes)
        .order_by(_activities.c.prospect_id, _activities.c.created_at, _activities.c.id)
    )
    for prospect_id, details in rows:
        text = (details or {}).get("text") if isinstance(details, dict) else None
        if text:
            folded.setdefault(prospect_id, []).append(str(text))
    for prospect_id, texts in folded.items():
        connection.execute(sa.update(_prospects).where(_prospects.c.id == prospect_id).values(notes="\n\n".join(texts)))
    connection.execute(sa.delete(_activities).where(notes))
