"""Find prospects (name, contact, email, phone, city, id), customers (company, contact, email),
emails (subject) and calls (notes, next steps) from a few typed characters.

Each kind asks the database's text index (:mod:`leadline.search.index`) for its first
:data:`~leadline.search.index.CANDIDATES` matches, ranks them here (a name that starts with the
text first, then one with a word that does, then the rest) and keeps the first
:data:`~leadline.search.index.LIMIT`; every matching prospect is the prospect list's to show
(``/prospects?search=``). A phone is matched on its digits, so ``5125550142`` finds
``(512) 555-0142``. A search takes at least three characters: the index is of three-letter
pieces, so every search is answered by it, never by reading every row.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadline.calls.models import CallActivity
from leadline.customers.models import Customer
from leadline.emails.models import EmailActivity
from leadline.errors import Invalid
from leadline.prospects.models import Prospect
from leadline.prospects.queries import search_term
from leadline.search import index
from leadline.search.schemas import SearchHit

MIN_CHARS = 3
MAX_CHARS = 100


def _rank(query: str, label: str) -> tuple[int, str]:
    low = label.lower()
    if low.startswith(query):
        return (0, low)
    if any(word.startswith(query) for word in re.split(r"[\s\-_.,@]+", low)):
        return (1, low)
    return (2, low)


def search(session: Session, text: str, *, kinds: Iterable[str] | None = None) -> list[SearchHit]:
    """What matches ``text`` (at least three characters), best first within each kind."""
    query = " ".join(text.split())
    if len(query) < MIN_CHARS:
        raise Invalid(f"type at least {MIN_CHARS} characters", field="q")
    if len(query) > MAX_CHARS:
        raise Invalid(f"must be at most {MAX_CHARS} characters", field="q")
    wanted = set(kinds or ("prospect", "customer", "email", "call"))
    low = query.lower()
    hits: list[SearchHit] = []

    if "prospect" in wanted:
        # A phone is indexed by its digits: "(312) 555-0142" is found by "3125550142" or "555-0142".
        ids = index.matching_ids(session, "prospect", search_term(query))
        p = Prospect
        rows = session.execute(select(p.id, p.name, p.contact_name, p.city, p.sales_status).where(p.id.in_(ids)))
        found = [
            SearchHit(kind="prospect", id=pid, label=name, url=f"/prospects/{pid}",
                      detail=" · ".join(x for x in (contact, city, stage) if x))
            for pid, name, contact, city, stage in rows
        ]  # fmt: skip
        hits += sorted(found, key=lambda hit: _rank(low, hit.label))[: index.LIMIT]

    if "customer" in wanted:
        c = Customer
        ids = index.matching_ids(session, "customer", low)
        customers = session.execute(select(c.id, c.company_name, c.contact_name, c.status).where(c.id.in_(ids)))
        found = [
            SearchHit(kind="customer", id=cid, label=name, url=f"/customers/{cid}",
                      detail=" · ".join(x for x in ("customer", contact, status) if x))
            for cid, name, contact, status in customers
        ]  # fmt: skip
        hits += sorted(found, key=lambda hit: _rank(low, hit.label))[: index.LIMIT]

    if "email" in wanted:
        e = EmailActivity
        ids = index.matching_ids(session, "email", low)
        emails = session.execute(select(e.id, e.subject, e.prospect_id, e.to_email, e.status).where(e.id.in_(ids)))
        found = [
            SearchHit(kind="email", id=eid, label=subject, url=f"/prospects/{pid}#email-{eid}",
                      detail=f"email to {to} · {status}")
            for eid, subject, pid, to, status in emails
        ]  # fmt: skip
        hits += sorted(found, key=lambda hit: _rank(low, hit.label))[: index.LIMIT]

    if "call" in wanted:
        k = CallActivity
        ids = index.matching_ids(session, "call", low)
        calls = session.execute(
            select(k.id, Prospect.name, k.notes, k.status, k.scheduled_at)
            .join(Prospect, Prospect.id == k.prospect_id)
            .where(k.id.in_(ids))
            .order_by(k.scheduled_at.desc())
        )
        hits += [
            SearchHit(kind="call", id=kid, label=f"Call with {name}", url=f"/calls/{kid}",
                      detail=_excerpt(notes or "", low) or status)
            for kid, name, notes, status, _ in calls
        ][: index.LIMIT]  # fmt: skip
    return hits


def _excerpt(text: str, query: str, width: int = 80) -> str:
    """The words around the first match, on one line."""
    flat = " ".join(text.split())
    at = flat.lower().find(query)
    if at < 0:
        return flat[:width]
    start = max(0, at - width // 3)
    return ("…" if start else "") + flat[start : start + width] + ("…" if start + width < len(flat) else "")
