"""ORM model of a prospect: the Phase 2 research fields plus the sales fields of the seed's Table 4."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from leadline.clock import utc_now
from leadline.db import Base, PartialIndex
from leadline.prospects.dupkeys import INDEXES as DUPLICATE_KEY_INDEXES
from leadline.prospects.stages import STAGES


class Prospect(Base):
    __tablename__ = "prospects"
    __table_args__ = (
        CheckConstraint("tier IN (1, 2, 3)", name="tier_range"),
        CheckConstraint("grid_health IS NULL OR (grid_health >= 0 AND grid_health <= 100)", name="grid_health_range"),
        CheckConstraint(
            "competitor_health IS NULL OR (competitor_health >= 0 AND competitor_health <= 100)",
            name="competitor_health_range",
        ),
        CheckConstraint(
            "sales_status IN (" + ",".join(f"'{stage}'" for stage in STAGES) + ")",
            name="sales_status_known",
        ),
        Index("ix_prospects_sales_status_tier", "sales_status", "tier"),
        # a trade's prospects (and its count beside a stage and a tier), and by name (migration 0037)
        Index("ix_prospects_trade_sales_status_tier", "trade", "sales_status", "tier"),
        Index("ix_prospects_trade_name", "trade", func.lower(text("name")), "id"),
        Index("ix_prospects_created_at_id", "created_at", "id"),
        # the likely-duplicate keys (prospects.dupkeys; migration 0017)
        *(Index(name, text(expression)) for name, expression in DUPLICATE_KEY_INDEXES.items()),
        # An import finds the business a row names by its website or its name (prospects.matching).
        Index("ix_prospects_website", "website"),
        Index("ix_prospects_name_lower", func.lower(text("name"))),
        # The list's other sorts and filters (migration 0031): each first page read from an index.
        Index("ix_prospects_tier_id", "tier", "id"),
        Index("ix_prospects_grid_health_id", text("COALESCE(grid_health, -1)"), "id"),
        Index("ix_prospects_owner", "owner"),
        PartialIndex("ix_prospects_do_not_contact", "created_at", "id", where="do_not_contact"),
    )

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    trade: Mapped[str | None] = mapped_column(String(80))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), unique=True)  # stored lower-case
    phone: Mapped[str | None] = mapped_column(String(50))
    website: Mapped[str | None] = mapped_column(String(500))
    city: Mapped[str | None] = mapped_column(String(120))
    state: Mapped[str | None] = mapped_column(String(120))
    timezone: Mapped[str | None] = mapped_column(String(64))
    tier: Mapped[int] = mapped_column(default=3)
    grid_health: Mapped[float | None]
    critical_gaps: Mapped[int | None]
    gaps: Mapped[list[str]] = mapped_column(default=list)
    top_competitor: Mapped[str | None] = mapped_column(String(200))
    competitor_health: Mapped[float | None]
    status: Mapped[str] = mapped_column(String(20), default="active")
    sales_status: Mapped[str] = mapped_column(String(20), default="new")
    last_contact_at: Mapped[datetime | None]
    next_follow_up_at: Mapped[datetime | None]
    emails_sent_count: Mapped[int] = mapped_column(default=0)
    emails_opened_count: Mapped[int] = mapped_column(default=0)
    calls_scheduled_count: Mapped[int] = mapped_column(default=0)
    calls_completed_count: Mapped[int] = mapped_column(default=0)
    deal_value: Mapped[float | None]
    close_date: Mapped[datetime | None]
    lost_reason: Mapped[str | None] = mapped_column(Text)
    do_not_contact: Mapped[bool] = mapped_column(default=False)
    do_not_contact_reason: Mapped[str | None] = mapped_column(String(200))
    owner: Mapped[str | None] = mapped_column(String(320))
    source: Mapped[str | None] = mapped_column(String(200))
    last_import_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)

    def __repr__(self) -> str:
        return f"<Prospect {self.id} {self.sales_status}>"

    def as_dict(self) -> dict[str, Any]:
        return {column.key: getattr(self, column.key) for column in self.__mapper__.column_attrs}


class ProspectTag(Base):
    """A tag on a prospect (lower-case words: ``roofers-q3``); deleted with its prospect."""

    __tablename__ = "prospect_tags"
    __table_args__ = (Index("ix_prospect_tags_tag", "tag", "prospect_id"),)

    prospect_id: Mapped[str] = mapped_column(
        String(80), ForeignKey("prospects.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(40), primary_key=True)


class BulkOperation(Base):
    """One bulk action on a selection of prospects (``prospects.bulk``): what was asked, by whom,
    and how far it got; its items keep each prospect's values before, so Undo restores them."""

    __tablename__ = "bulk_operations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    actor: Mapped[str] = mapped_column(String(320))
    request: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="queued")  # queued|running|done|undoing|undone|failed
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    changed: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    undone: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
    finished_at: Mapped[datetime | None]
    undone_at: Mapped[datetime | None]


class BulkOperationItem(Base):
    """One prospect of a bulk operation, in selection order; ``before`` (JSON text) holds the values
    the operation replaced, ``outcome`` is null until its batch ran, then ``changed``,
    ``unchanged``, ``skipped: why`` or ``undone``. ``target_id`` is the prospect's id as it was (no
    foreign key, and not named ``prospect_id``: a merge or a deletion leaves this history as it was)."""

    __tablename__ = "bulk_operation_items"

    operation_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("bulk_operations.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    target_id: Mapped[str] = mapped_column(String(80))
    before: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(200))


IMPORT_STATES = ("staging", "publishing", "done", "abandoned")


class ImportRun(Base):
    """The journal of one ``prospects import``: staged in short transactions, then published in short
    batch transactions; ``published_seq`` says how far publishing got (see ``prospects.flows``)."""

    __tablename__ = "import_runs"
    __table_args__ = (
        CheckConstraint("state IN (" + ",".join(f"'{s}'" for s in IMPORT_STATES) + ")", name="state_known"),
        Index("ix_import_runs_state", "state"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    file: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))
    label: Mapped[str] = mapped_column(String(10))
    actor: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20))
    skip_invalid: Mapped[bool] = mapped_column(default=False)
    rows: Mapped[int] = mapped_column(default=0)
    staged: Mapped[int] = mapped_column(default=0)  # rows kept to publish (seq 1..staged)
    published_seq: Mapped[int] = mapped_column(default=0)  # every staged row up to this one is published
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    report: Mapped[dict[str, Any]] = mapped_column(default=dict)  # columns, preview, errors (bounded)
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int]
    owner: Mapped[str] = mapped_column(String(40))  # the process working on it now (taken over on recovery)
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)


class StagedRow(Base):
    """A valid row of an import waiting to be published: what was read and what it was decided to do.

    Invisible to users; removed when its run is done or abandoned."""

    __tablename__ = "import_staging"
    __table_args__ = (
        Index("ix_import_staging_run_id_target", "run_id", "target"),
        Index("ix_import_staging_run_id_email", "run_id", "email"),
    )

    run_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True)
    line: Mapped[int]
    action: Mapped[str] = mapped_column(String(10))  # create | update | unchanged
    target: Mapped[str | None] = mapped_column(String(80))  # the prospect's id (None: made at publish)
    email: Mapped[str | None] = mapped_column(String(320))
    data: Mapped[dict[str, Any]]  # the validated values (ProspectCreate's fields)
    provided: Mapped[list[str]]  # the fields the row gave


class ProspectExternalId(Base):
    """A record of another system (a HubSpot contact or company, a Pipedrive person or organization,
    any id column an import was told to use) that an import merged into a prospect: the next import
    of the same record finds the same prospect.

    ``owner`` says how the record was merged: as the prospect itself (it created the prospect, or
    matched it by its own id or e-mail address), or as a related record (another person of the
    business, the business's company record) whose differing values were kept in the notes rather
    than written over the prospect's own (``prospects.matching``)."""

    __tablename__ = "prospect_external_ids"
    __table_args__ = (Index("ix_prospect_external_ids_prospect_id", "prospect_id"),)

    source: Mapped[str] = mapped_column(String(120), primary_key=True)  # "hubspot contact", "column Customer No"
    external_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    prospect_id: Mapped[str] = mapped_column(ForeignKey("prospects.id", ondelete="CASCADE"))
    owner: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
