"""Files kept with a prospect or a customer: added (type sniffed, size capped, SHA-256), listed, read, removed.

The bytes are stored in the database; each file added or removed is a timeline entry (type ``file``) on
the prospect (a customer's file: on its prospect). The size limit is ``LEADLINE_FILE_MAX_BYTES``, read
from the unit of work's settings; shells read a body through :func:`read_capped`, which stops at the
limit, so no more than the limit is ever held. Services never commit.
"""

from __future__ import annotations

import hashlib
import re
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from leadline.activity import service as activity
from leadline.customers.models import Customer
from leadline.db import settings_of
from leadline.errors import Conflict, Invalid, LeadlineError, NotFound
from leadline.files.models import StoredFile
from leadline.files.schemas import FileRead, Target
from leadline.files.sniff import sniff
from leadline.ids import new_id
from leadline.prospects.models import Prospect

CHUNK = 64 * 1024
TYPE = "file"


class FileTooLarge(LeadlineError):
    status_code = 413
    code = "too_large"


class FileNotFound(NotFound):
    pass


def too_large(limit: int) -> FileTooLarge:
    return FileTooLarge(f"is larger than {limit:,} bytes (LEADLINE_FILE_MAX_BYTES)", field="file")


def read_capped(stream: IO[bytes], limit: int) -> bytes:
    """Read ``stream`` to its end, refusing it as soon as it passes ``limit`` bytes (never more is held)."""
    parts: list[bytes] = []
    size = 0
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            return b"".join(parts)
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        parts.append(chunk)


_UNSAFE = re.compile(r'[\x00-\x1f\x7f"\\/]+')


def clean_name(name: str) -> str:
    """The file's own name without any folder, control characters or quotes; at most 255 characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = " ".join(_UNSAFE.sub(" ", base).split()).strip(". ")
    if not base:
        raise Invalid("needs a file name", field="name")
    if len(base) > 255:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: 250 - len(ext)] + dot + ext) if dot and len(ext) <= 10 else base[:255]
    return base


def resolve(session: Session, target: Target) -> tuple[str, str | None]:
    """The prospect id and customer id (if any) of ``target``; an unknown record is a 404 naming it."""
    if target.kind == "customer":
        customer = session.get(Customer, target.id)
        if customer is None:
            raise NotFound(f"no customer with id {target.id!r}", field="target")
        return customer.prospect_id, customer.id
    if session.get(Prospect, target.id) is None:
        raise NotFound(f"no prospect with id {target.id!r}", field="target")
    return target.id, None


def add(session: Session, target: Target, name: str, data: bytes, *, actor: str, source: str = "upload") -> StoredFile:
    """Keep ``data`` as a file on ``target``. Refused (nothing kept): over the limit, empty, a refused type."""
    limit = settings_of(session).file_max_bytes
    if len(data) > limit:
        raise too_large(limit)
    filename = clean_name(name)
    kind = sniff(data, filename)
    prospect_id, customer_id = resolve(session, target)
    stored = StoredFile(
        id=new_id("fil"), prospect_id=prospect_id, customer_id=customer_id, name=filename,
        content_type=kind.content_type, size=len(data), sha256=hashlib.sha256(data).hexdigest(), source=source,
        created_by=actor, data=data,
    )  # fmt: skip
    session.add(stored)
    session.flush()
    activity.record(session, prospect_id, TYPE, "added", _details(stored), actor=actor)
    return stored


def _details(stored: StoredFile) -> dict[str, Any]:
    details: dict[str, Any] = {"fileId": stored.id, "name": stored.name, "contentType": stored.content_type,
                               "size": stored.size, "sha256": stored.sha256}  # fmt: skip
    if stored.customer_id:
        details["customerId"] = stored.customer_id
    if stored.source != "upload":
        details["source"] = stored.source
    return details


def get(session: Session, file_id: str, *, with_data: bool = False) -> StoredFile:
    query = select(StoredFile).where(StoredFile.id == file_id)
    if with_data:
        query = query.options(undefer(StoredFile.data))
    found = session.scalar(query)
    if found is None:
        raise FileNotFound(f"no file with id {file_id!r}", field="fileId")
    return found


def search(session: Session, target: Target | None = None, *, limit: int = 500) -> list[StoredFile]:
    """Files, newest first: of one record (a prospect's own and its customer's), or all."""
    query = select(StoredFile).order_by(StoredFile.created_at.desc(), StoredFile.id.desc()).limit(limit)
    if target is not None:
        prospect_id, customer_id = resolve(session, target)
        if customer_id:
            query = query.where(StoredFile.customer_id == customer_id)
        else:
            query = query.where(StoredFile.prospect_id == prospect_id)
    return list(session.scalars(query))


def for_prospect(session: Session, prospect_id: str) -> list[StoredFile]:
    """Every file of a prospect, its customer's included (the prospect's page)."""
    query = select(StoredFile).where(StoredFile.prospect_id == prospect_id)
    return list(session.scalars(query.order_by(StoredFile.created_at.desc(), StoredFile.id.desc())))


def for_customer(session: Session, customer_id: str) -> list[StoredFile]:
    """A customer's files and its prospect's (the customer's page shows both)."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"no customer with id {customer_id!r}", field="customerId")
    return for_prospect(session, customer.prospect_id)


class FileKept(Conflict):
    pass


def remove(session: Session, file_id: str, *, actor: str) -> StoredFile:
    """Remove a file; its timeline entry says which (name, size, SHA-256) and who removed it. A signed
    proposal's copy is the record of what was agreed (the prospect's link and `proposals pdf` serve
    it): it is never removed."""
    stored = get(session, file_id)
    if stored.source == "proposal":
        raise FileKept(f"{stored.name} is the signed copy of a proposal: it is kept as the record of what was "
                       "agreed", field="fileId")  # fmt: skip
    details = _details(stored)
    session.delete(stored)
    session.flush()
    activity.record(session, stored.prospect_id, TYPE, "removed", details, actor=actor)
    return stored


def read(stored: StoredFile) -> FileRead:
    return FileRead.model_validate(stored)
