"""Customers: records made when a deal is won."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadline.customers.models import Customer


def for_prospect(session: Session, prospect_id: str) -> Customer | None:
    return session.scalar(select(Customer).where(Customer.prospect_id == prospect_id))
