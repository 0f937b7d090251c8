from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from leadline.clock import utc_now
from leadline.db import Base

PROPOSAL_STATUSES = ("draft", "sent", "accepted", "declined")


class Proposal(Base):
    """A proposal to a prospect: its current terms, where it stands, and the evidence of its acceptance."""

    __tablename__ = "proposals"
    __table_args__ = (
        CheckConstraint("status IN ('draft','sent','accepted','declined')", name="status_known"),
        CheckConstraint("monthly_fee > 0", name="fee_positive"),
        Index("ix_proposals_prospect_id", "prospect_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    prospect_id: Mapped[str] = mapped_column(ForeignKey("prospects.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    service_type: Mapped[str] = mapped_column(String(40))
    monthly_fee: Mapped[float]
    intro: Mapped[str | None] = mapped_column(Text)
    template: Mapped[str] = mapped_column(String(100), default="standard")
    status: Mapped[str] = mapped_column(String(20), default="draft")
    version: Mapped[int] = mapped_column(default=1)  # the current version
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)
    sent_at: Mapped[datetime | None]
    first_viewed_at: Mapped[datetime | None]
    # Acceptance: the evidence (also in the certificate page of the signed PDF).
    accepted_at: Mapped[datetime | None]
    accepted_version: Mapped[int | None]
    signer_name: Mapped[str | None] = mapped_column(String(200))
    signer_ip: Mapped[str | None] = mapped_column(String(64))
    signer_agent: Mapped[str | None] = mapped_column(String(500))
    signed_sha256: Mapped[str | None] = mapped_column(String(64))
    signed_file_id: Mapped[str | None] = mapped_column(String(40))
    customer_id: Mapped[str | None] = mapped_column(String(40))
    declined_at: Mapped[datetime | None]
    decline_reason: Mapped[str | None] = mapped_column(String(500))


class ProposalVersion(Base):
    """One version of a proposal's document, as rendered and shown: its HTML, SHA-256 and private link.

    The link's token is never stored, only its SHA-256 (``token_hash``); the token is derived from the
    secret key and the version's id, so Leadline can print it again and a tampered one finds nothing.
    """

    __tablename__ = "proposal_versions"
    __table_args__ = (UniqueConstraint("proposal_id", "version"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    proposal_id: Mapped[str] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"))
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    service_type: Mapped[str] = mapped_column(String(40))
    monthly_fee: Mapped[float]
    html: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    sent_at: Mapped[datetime | None]
    email_id: Mapped[str | None] = mapped_column(String(40))
    replaced_at: Mapped[datetime | None]


class ProposalView(Base):
    """The prospect opened a version's page: when, and for how long it stayed open (the page's beacon)."""

    __tablename__ = "proposal_views"
    __table_args__ = (Index("ix_proposal_views_proposal_id", "proposal_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    proposal_id: Mapped[str] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"))
    version_id: Mapped[str] = mapped_column(ForeignKey("proposal_versions.id", ondelete="CASCADE"))
    viewed_at: Mapped[datetime] = mapped_column(default=utc_now)
    seconds: Mapped[int] = mapped_column(default=0)
