"""How an imported row finds its prospect, and which of its values change the prospect.

Finding (:class:`Matcher`, one per import, asked chunk by chunk):

1. an id another system gave the record (HubSpot's Record ID, Pipedrive's ID, a column mapped
   to ``externalId``), kept per source in ``prospect_external_ids`` by the imports before;
2. the prospect's own id (a Leadline export's ``id`` column), else its e-mail address;
3. the related record a row names (the company id of a HubSpot contact), the business's website
   domain, else its name (the same city, or no city on one side): how a persons export and an
   organizations export of the same businesses meet on one prospect per business.

A row found by 1 (when the record was merged as the prospect itself) or by 2 speaks *for* the
prospect; a row found by 3, or by the id of a record merged that way, is *related*: another
person of the business, or the business's company record.

Deciding (:func:`decide`): a value never replaces one with a blank or with a shorter form of
itself ("Daniel" over "Daniel Reyes", "555-0142" over "(512) 555-0142") unless ``overwrite``;
a related row only fills blanks and lengthens values, and keeps what differs in the notes (a
second person of the business: "Contact: Maria Lopez <maria@...>"), so importing several
exports of the same businesses, twice, in the same order, changes nothing the second time.
Notes gain the lines they lack; nothing in them is lost.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadline.clock import utc_now
from leadline.db import Base, bulk_insert, read_by_keys
from leadline.prospects.models import Prospect, ProspectExternalId

if TYPE_CHECKING:
    from leadline.prospects.files import RowResult

#: Fields that describe the person, not the business: a related row naming another person keeps
#: them in the notes.
PERSON_FIELDS = ("contact_name", "email", "phone")
#: Hosts that are not a business's own website: never used to match.
SHARED_HOSTS = frozenset({
    "facebook.com", "instagram.com", "linkedin.com", "google.com", "sites.google.com", "business.site",
    "yelp.com", "twitter.com", "x.com", "wixsite.com", "godaddysites.com", "youtube.com", "tiktok.com",
    "nextdoor.com", "angi.com", "homeadvisor.com", "thumbtack.com", "bbb.org",
})  # fmt: skip
_WORD = re.compile(r"\w+")


# --- value forms ---------------------------------------------------------------------------------


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == []


def _words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text.casefold())
    return _WORD.findall("".join(ch for ch in folded if not unicodedata.combining(ch)))


_HOST = re.compile(r"^(?:[a-z][a-z0-9+.-]*://)?(?:[^@/?#]*@)?([^/?#:]+)", re.IGNORECASE)


def domain_of(website: Any) -> str | None:
    """``https://www.RoyalPlumbing.com/contact`` -> ``royalplumbing.com`` (None for shared hosts)."""
    if not isinstance(website, str):
        return None
    found = _HOST.match(website.strip())
    if found is None:
        return None
    host = found[1].lower().rstrip(".").removeprefix("www.")
    if not host or "." not in host:
        return None
    labels = host.split(".")
    if any(".".join(labels[i:]) in SHARED_HOSTS for i in range(len(labels) - 1)):
        return None
    return host


def _is_subsequence(short: list[str], long: list[str]) -> bool:
    it = iter(long)
    return all(word in it for word in short)


def relation(name: str, old: Any, new: Any) -> str:
    """How ``new`` stands to ``old`` for field ``name``: ``blank`` (new is empty), ``fill`` (old is),
    ``equal``, ``same`` (the same value written differently), ``shorter`` / ``longer`` (a form with
    fewer / more of the same parts), or ``different``."""
    if _blank(new):
        return "blank"
    if _blank(old):
        return "fill"
    if old == new:
        return "equal"
    if name == "phone":
        a, b = re.sub(r"\D", "", str(old)), re.sub(r"\D", "", str(new))
        if a == b:
            return "same"
        return "shorter" if b and a.endswith(b) else "longer" if a and b.endswith(a) else "different"
    if isinstance(old, list) and isinstance(new, list):
        a_set, b_set = {tuple(_words(str(x))) for x in old}, {tuple(_words(str(x))) for x in new}
        if a_set == b_set:
            return "same"
        return "shorter" if b_set < a_set else "longer" if a_set < b_set else "different"
    if not isinstance(old, str) or not isinstance(new, str):
        return "different"
    if name == "email":
        return "same" if old.casefold() == new.casefold() else "different"
    if name == "website":
        old, new = re.sub(r"^https?://(www\.)?", "", old.lower()), re.sub(r"^https?://(www\.)?", "", new.lower())
    a_words, b_words = _words(old), _words(new)
    if a_words == b_words:
        return "same"
    if len(b_words) < len(a_words) and _is_subsequence(b_words, a_words):
        return "shorter"
    if len(a_words) < len(b_words) and _is_subsequence(a_words, b_words):
        return "longer"
    return "different"


def same_value(name: str, old: Any, new: Any) -> bool:
    """``new`` says nothing ``old`` does not (equal, written differently, or a shorter form)."""
    return relation(name, old, new) in ("equal", "same", "shorter", "blank")


def merge_notes(old: str | None, new: str | None) -> str | None:
    """``old`` with the lines of ``new`` it lacks added at the end; None when it lacks none."""
    if not new or not new.strip():
        return None
    if not old or not old.strip():
        return new
    have = {line.strip() for line in old.splitlines()}
    if new.strip() in old:
        return None
    missing = [line for line in new.splitlines() if line.strip() and line.strip() not in have]
    return f"{old.rstrip()}\n{chr(10).join(missing)}" if missing else None


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(map(str, value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _get(target: Any, name: str) -> Any:
    return target.get(name) if isinstance(target, dict) else getattr(target, name)


def other_person(current: Any, incoming: dict[str, Any]) -> bool:
    """The row names a different person from the one the prospect has."""
    old_email, new_email = _get(current, "email"), incoming.get("email")
    if old_email and new_email:
        return str(old_email).casefold() != str(new_email).casefold()
    old_name, new_name = _get(current, "contact_name"), incoming.get("contact_name")
    if old_name and new_name:
        return relation("contact_name", old_name, new_name) == "different"
    return False


def decide(
    current: Any,
    incoming: dict[str, Any],
    *,
    related: bool,
    overwrite: bool = False,
    defaulted: Iterable[str] = (),
    label: Any = None,
    through_business: bool | None = None,
) -> dict[str, Any]:
    """The fields a row changes on ``current`` (a prospect or a new prospect's row): {field: new}.

    ``incoming`` holds the row's values (only the fields it gave). ``label(field)`` names the
    column a value came from, for the notes lines that keep what a related row could not write.
    ``through_business``: the row was found through the business (its website, its name, its
    company record), so the person it names may be another one (kept in the notes)."""
    if through_business is None:
        through_business = related
    defaulted = set(defaulted)
    wanted: dict[str, Any] = {}
    lines: list[str] = []
    values = dict(incoming)
    notes = values.pop("notes", None)
    if through_business and any(values.get(name) for name in PERSON_FIELDS) and other_person(current, values):
        person = [values.pop(name, None) for name in PERSON_FIELDS]
        who = person[0] or ""
        if person[1]:
            who = f"{who} <{person[1]}>" if who else str(person[1])
        line = "Contact: " + ", ".join(part for part in (who, person[2]) if part)
        if notes:  # what the row says besides is about that person: on the same line
            line += "; " + "; ".join(part.strip() for part in str(notes).splitlines() if part.strip())
            notes = None
        lines.append(line)
    for name, new in values.items():
        old = _get(current, name)
        kind = relation(name, old, new)
        if kind == "equal":
            continue
        if name in defaulted:  # --set only fills what is missing
            if kind == "fill":
                wanted[name] = new
            continue
        if kind == "fill" or kind == "longer":
            wanted[name] = new
        elif related:
            if kind == "different" and label is not None:
                lines.append(f"{label(name)}: {_shown(new)}")
        elif overwrite or kind in ("different", "same"):
            wanted[name] = new
    if overwrite and not related and "notes" in incoming:
        if notes != _get(current, "notes"):
            wanted["notes"] = notes
        notes = None
    added = "\n".join(part for part in (notes, *lines) if part)
    merged = merge_notes(_get(current, "notes"), added)
    if merged is not None:
        wanted["notes"] = merged
    return wanted


# --- finding -------------------------------------------------------------------------------------


@dataclass
class Match:
    """Where a row goes: an existing prospect, or a new one an earlier row of this chunk makes."""

    target: Any  # Prospect, or the new prospect's row (a dict)
    related: bool
    by: str  # "external id", "id", "email", "related record", "website", "name"

    @property
    def pending(self) -> bool:
        return isinstance(self.target, dict)

    @property
    def through_business(self) -> bool:
        return self.related or self.by in ("related record", "website", "name")

    @property
    def by_identity(self) -> bool:
        """Found by the row's own identity: a second row found so in one file is a duplicate."""
        return not self.related and self.by in ("external id", "id", "email")


@dataclass
class _Keys:
    own: list[tuple[str, str]]
    related: list[tuple[str, str]]
    id: str | None
    email: str | None
    domain: str | None
    name: str | None
    city: str | None


def row_keys(result: RowResult) -> _Keys:
    data = result.data
    assert data is not None
    own = [(source, value) for source, value, is_own in result.raw.external if is_own]
    related = [(source, value) for source, value, is_own in result.raw.external if not is_own]
    # lower(), as the SQL that finds the names (and its index) folds them
    name = " ".join(data.name.split()).lower() if "name" in result.provided else None
    return _Keys(own, related, data.id, data.email, domain_of(data.website), name, _city(data.city))


def _ascii_lower(text: str) -> str:
    return "".join(ch.lower() if ch.isascii() else ch for ch in text)


def _city(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return " ".join(_WORD.findall(value.casefold()) if value.isascii() else _words(value))


def _website_variants(domains: Iterable[str]) -> list[str]:
    return [
        f"{scheme}{www}{domain}{tail}"
        for domain in domains for scheme in ("https://", "http://") for www in ("", "www.") for tail in ("", "/")
        if scheme == "https://" or tail == ""
    ]  # fmt: skip


def _batches(items: list[Any], size: int = 500) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class Matcher:
    """Finds each row's prospect, chunk by chunk (:meth:`prefetch` reads what a chunk may need in a
    few queries), and keeps the external ids of the records merged (:meth:`remember`, written by
    :meth:`flush`)."""

    session: Session
    _external: dict[tuple[str, str], tuple[str, bool]] = field(default_factory=dict)
    _by_id: dict[str, Prospect] = field(default_factory=dict)
    _by_email: dict[str, Prospect] = field(default_factory=dict)
    _by_domain: dict[str, list[Any]] = field(default_factory=dict)
    _by_name: dict[str, list[Any]] = field(default_factory=dict)
    _pending: dict[tuple[str, ...], dict[str, Any]] = field(default_factory=dict)
    _remembered: list[tuple[Any, str, str, bool]] = field(default_factory=list)
    _keys: dict[int, _Keys] = field(default_factory=dict)

    def _keys_of(self, result: RowResult) -> _Keys:
        found = self._keys.get(id(result))
        if found is None:
            found = self._keys[id(result)] = row_keys(result)
        return found

    def prefetch(self, chunk: list[RowResult]) -> None:
        session = self.session
        self._external, self._by_id, self._by_email, self._by_domain, self._by_name = {}, {}, {}, {}, {}
        self._pending = {}
        self._keys = {id(r): row_keys(r) for r in chunk if r.data is not None}
        keys = list(self._keys.values())
        by_source: dict[str, set[str]] = {}
        for k in keys:
            for source, value in (*k.own, *k.related):
                by_source.setdefault(source, set()).add(value)
        for source, values in by_source.items():
            for batch in _batches(sorted(values)):
                for row in session.execute(
                    select(ProspectExternalId.external_id, ProspectExternalId.prospect_id, ProspectExternalId.owner)
                    .where(ProspectExternalId.source == source, ProspectExternalId.external_id.in_(batch))
                ):  # fmt: skip
                    self._external[(source, row.external_id)] = (row.prospect_id, row.owner)
        ids = {k.id for k in keys if k.id} | {pid for pid, _ in self._external.values()}
        emails = sorted({k.email for k in keys if k.email})
        domains = sorted({k.domain for k in keys if k.domain})
        # SQLite's lower() folds ASCII letters only, PostgreSQL's every letter: ask for both spellings.
        given = [" ".join(r.data.name.split()) for r in chunk if r.data is not None and "name" in r.provided]
        names = sorted({k.name for k in keys if k.name} | {_ascii_lower(name) for name in given})
        # Which prospects, by driver-level reads of one index each (an import's chunk asks for thousands
        # of values, mostly found nowhere: compiling ORM selects of 500-value IN lists cost more than
        # the lookups); then those prospects, whole.
        table = Base.metadata.tables["prospects"]
        candidates: set[str] = {row[0] for row in read_by_keys(session, table, ("id",), sorted(ids))}
        asked: list[tuple[str, list[str]]] = [("email", emails), ("website", _website_variants(domains)),
                                              ("lower(name)", names)]  # fmt: skip
        for key, wanted in asked:
            candidates.update(row[0] for row in read_by_keys(session, table, ("id",), wanted, key=key))
        found: dict[str, Prospect] = {}
        for batch in _batches(sorted(candidates)):
            for prospect in session.scalars(select(Prospect).where(Prospect.id.in_(batch))):
                found[prospect.id] = prospect
        for prospect in found.values():
            self._by_id[prospect.id] = prospect
            if prospect.email:
                self._by_email[prospect.email] = prospect
            domain = domain_of(prospect.website)
            if domain:
                self._by_domain.setdefault(domain, []).append(prospect)
            self._by_name.setdefault(" ".join(prospect.name.split()).lower(), []).append(prospect)

    def found(self) -> list[Prospect]:
        """The existing prospects the chunk's rows may find (read by :meth:`prefetch`)."""
        return list(self._by_id.values())

    def by_email(self) -> dict[str, Prospect]:
        return dict(self._by_email)

    def take_remembered(self) -> list[tuple[Any, str, str, bool]]:
        """The external ids :meth:`remember` kept since the last call (target, source, id, owner), for a
        caller that writes them itself (a staged import writes them when it publishes)."""
        taken, self._remembered = self._remembered, []
        return taken

    def email_owner(self, email: str) -> Prospect | None:
        return self._by_email.get(email)

    def find(self, result: RowResult) -> Match | None:
        k = self._keys_of(result)
        for source, value in k.own:
            known = self._external.get((source, value))
            if known is not None and known[0] in self._by_id:
                return Match(self._by_id[known[0]], related=not known[1], by="external id")
            row = self._pending.get(("ext", source, value))
            if row is not None:
                return Match(row, related=False, by="external id")
        if k.id and k.id in self._by_id:
            return Match(self._by_id[k.id], related=False, by="id")
        if k.id:
            return None  # a new prospect with this id
        if k.email:
            if k.email in self._by_email:
                return Match(self._by_email[k.email], related=False, by="email")
            row = self._pending.get(("email", k.email))
            if row is not None:
                return Match(row, related=False, by="email")
        for source, value in k.related:
            known = self._external.get((source, value))
            if known is not None and known[0] in self._by_id:
                return Match(self._by_id[known[0]], related=True, by="related record")
            row = self._pending.get(("ext", source, value))
            if row is not None:
                return Match(row, related=True, by="related record")
        # A record of another system found through its business is related to the prospect; a row of
        # a plain file (no ids of its own) found so is the business itself.
        related = bool(k.own)
        if k.domain:
            found = self._one(self._by_domain.get(k.domain, []), self._pending.get(("domain", k.domain)), None)
            if found is not None:
                return Match(found, related=related, by="website")
        if k.name:
            found = self._one(self._by_name.get(k.name, []), self._pending.get(("name", k.name)), k.city, k.domain)
            if found is not None:
                return Match(found, related=related, by="name")
        return None

    @staticmethod
    def _one(candidates: list[Any], pending: dict[str, Any] | None, city: str | None, domain: str | None = None) -> Any:
        """The one business among ``candidates`` (and a new one of this chunk) in the same city, and
        not at another website: two businesses of one name in two cities, or with two websites,
        stay two."""
        pool = [*candidates, *([pending] if pending is not None else [])]
        if city is not None:
            pool = [c for c in pool if _city(_get(c, "city")) in (None, city)]
        if domain is not None:
            pool = [c for c in pool if domain_of(_get(c, "website")) in (None, domain)]
        return pool[0] if len(pool) == 1 else None

    def add_new(self, row: dict[str, Any], result: RowResult) -> None:
        """A new prospect of this chunk (``row``): later rows of the chunk find it too."""
        k = self._keys_of(result)
        for source, value in (*k.own, *k.related):
            self._pending.setdefault(("ext", source, value), row)
        if k.email:
            self._pending.setdefault(("email", k.email), row)
        if k.domain:
            self._pending.setdefault(("domain", k.domain), row)
        if k.name:
            self._pending.setdefault(("name", k.name), row)

    def remember(self, target: Any, result: RowResult, *, owner: bool) -> None:
        """Keep the row's external ids for ``target`` (its id read at :meth:`flush`, once a new
        prospect has one). A related record's id is kept as related, whatever merged it."""
        for source, value, is_own in result.raw.external:
            if (source, value) in self._external:
                continue
            self._remembered.append((target, source, value, owner and is_own))
            if isinstance(target, dict):
                self._pending.setdefault(("ext", source, value), target)
            else:
                self._external[(source, value)] = (target.id, owner and is_own)

    def flush(self) -> None:
        """Write the external ids remembered (after the chunk's new prospects are inserted)."""
        now = utc_now()
        rows = {
            (source, value): {
                "source": source, "external_id": value, "prospect_id": _get(target, "id"), "owner": owner,
                "created_at": now,
            }
            for target, source, value, owner in self._remembered
        }  # fmt: skip
        bulk_insert(self.session, ProspectExternalId.__table__, list(rows.values()), or_ignore=True)  # type: ignore[arg-type]
        self._remembered = []
