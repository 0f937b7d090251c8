"""Which customer record a prospect has: the one read of the customers domain that the
prospects service needs (a stage move to or from closed_won depends on it). It knows only
the customers table, so it sits below every service and ``prospects`` calls it without
climbing to ``customers.service``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadline.customers.models import Customer


def for_prospect(session: Session, prospect_id: str) -> Customer | None:
    return session.scalar(select(Customer).where(Customer.prospect_id == prospect_id))


def prospects_with_customer(session: Session, prospect_ids: list[str]) -> set[str]:
    """Which of these prospects have a customer record (one statement)."""
    if not prospect_ids:
        return set()
    return set(session.scalars(select(Customer.prospect_id).where(Customer.prospect_id.in_(prospect_ids))))
