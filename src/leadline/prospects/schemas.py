"""Prospect shapes on the wire. One set of rules for the API, the CLI and the importer."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator

from leadline import jsonin
from leadline.fields import INT32_MAX, Email, LongText, Phone, TextLines, Website, ZoneName, blank_to_none
from leadline.money import MAX_MONTHLY
from leadline.notes.schemas import NoteRead
from leadline.prospects.queries import Filters
from leadline.prospects.selection import StageName, Tier, without_blanks
from leadline.prospects.stages import STAGE_LABELS, Stage
from leadline.schemas import ApiModel, InputModel
from leadline.words import counted, listed, plural

ResearchStatus = Literal["active", "inactive", "archived"]

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_]{0,79}$")


def _gaps(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        if text.startswith("["):
            try:
                value = jsonin.loads(text, max_depth=1)  # a list of text: one level
            except jsonin.TooDeep:
                raise ValueError("must be a list of text") from None
            except jsonin.NotJson:
                raise ValueError("is not a JSON list") from None
        else:
            parts = text.split(";") if "\n" not in text and "|" not in text else re.split(r"[;\n|]", text)
            return [part for part in map(str.strip, parts) if part]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError("must be a list of text")
    items = [item.strip() for item in value if item.strip()]
    if any("\n" in item or "\r" in item for item in items):
        raise ValueError("each gap must be one line")
    return items


def _slug(value: Any) -> Any:
    value = blank_to_none(value)
    if value is None:
        return None
    if not isinstance(value, str) or not SLUG_RE.match(value):
        raise ValueError("must be lower-case letters, digits and underscores (like royal_plumbing)")
    return value


Gaps = Annotated[list[str], TextLines, BeforeValidator(_gaps)]
Slug = Annotated[str | None, BeforeValidator(_slug)]
# Checked by Pydantic itself (fast); text arrives stripped, blanks as None, "48%" as "48"
# (see _ProspectFields._normalise), and errors are put in plain words by schemas.field_errors.
Trade = Annotated[str | None, Field(max_length=80)]
Health = Annotated[float | None, Field(ge=0, le=100, allow_inf_nan=False)]
Count = Annotated[int | None, Field(ge=0, le=INT32_MAX)]
Money = Annotated[float | None, Field(ge=0, le=MAX_MONTHLY, allow_inf_nan=False)]  # as a customer's monthly fee
ShortText = Annotated[str | None, Field(max_length=200)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


#: Why a stage was changed by hand: required, one line, at most 500 characters (kept in the timeline).
StageReason = Annotated[str, Field(min_length=1, max_length=500)]

_PERCENT_KEYS = frozenset({"grid_health", "competitor_health", "gridHealth", "competitorHealth"})


class _ProspectFields(InputModel):
    """Fields a person may set, on create and on update."""

    @classmethod
    def _prepare(cls, data: dict[Any, Any]) -> Any:
        """One pass over the input: strip text, blanks mean "not given", "48%" means 48."""
        clean: dict[str, Any] = {}
        for key, value in data.items():
            if isinstance(value, str):
                value = value.strip()
                if not value:
                    value = None
                elif key == "trade":
                    value = " ".join(value.lower().split())
                elif key in _PERCENT_KEYS and value.endswith("%"):
                    value = value[:-1].rstrip()
            clean[key] = value
        return clean

    trade: Trade = None
    contact_name: ShortText = None
    email: Email = None
    phone: Phone = None
    website: Website = None
    city: Annotated[str | None, Field(max_length=120)] = None
    state: Annotated[str | None, Field(max_length=120)] = None
    timezone: ZoneName = None
    grid_health: Health = None
    critical_gaps: Count = None
    gaps: Gaps = Field(default_factory=list)
    top_competitor: ShortText = None
    competitor_health: Health = None
    status: ResearchStatus = "active"
    deal_value: Money = None
    do_not_contact: bool = False
    do_not_contact_reason: ShortText = None
    owner: Email = None
    notes: LongText = Field(
        None,
        description="Adds a note by whoever makes the change (earlier notes are kept): see /api/prospects/{id}/notes.",
    )


class ProspectCreate(_ProspectFields):
    """A new prospect. ``id`` is made from the name when not given."""

    id: Slug = None
    name: Name
    tier: Tier = 3
    sales_status: Stage = "new"


class ProspectUpdate(_ProspectFields):
    """A partial change: only the fields present are applied; null clears a field."""

    name: Name | None = None
    tier: Tier | None = None
    gaps: Gaps | None = None  # type: ignore[assignment]
    status: ResearchStatus | None = None  # type: ignore[assignment]
    do_not_contact: bool | None = None  # type: ignore[assignment]
    sales_status: Stage | None = None
    stage_reason: StageReason | None = Field(
        None, description="Why the stage was changed by hand (kept in the timeline)."
    )

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set if name != "stage_reason"}


class ProspectRead(ApiModel):
    id: str
    name: str
    trade: str | None
    contact_name: str | None
    email: str | None
    phone: str | None
    website: str | None
    city: str | None
    state: str | None
    timezone: str | None
    tier: int
    grid_health: float | None
    critical_gaps: int | None
    gaps: list[str]
    top_competitor: str | None
    competitor_health: float | None
    status: str
    sales_status: Stage
    last_contact_at: datetime | None
    next_follow_up_at: datetime | None
    emails_sent_count: int
    emails_opened_count: int
    calls_scheduled_count: int
    calls_completed_count: int
    deal_value: float | None
    close_date: datetime | None
    lost_reason: str | None
    do_not_contact: bool
    do_not_contact_reason: str | None
    owner: str | None
    notes: str | None = Field(None, description="The latest note's text (every note: GET /api/prospects/{id}/notes).")
    tags: list[str] = Field(default_factory=list, description="The prospect's tags, sorted.")
    source: str | None
    created_at: datetime
    updated_at: datetime


class ActivityRead(ApiModel):
    id: str
    prospect_id: str
    type: str
    status: str
    details: dict[str, Any]
    actor: str
    created_at: datetime


class ProspectDetail(ProspectRead):
    notes_list: list[NoteRead] = Field(default_factory=list, description="Every note, oldest first.")
    timeline: list[ActivityRead] = Field(default_factory=list)


class StageMove(InputModel):
    """A move made by a person: the stage and why. ``prospects.service.move_stage`` checks every move
    with it, whoever asks (the API, the CLI, the prospect page, the board, deals, customers, calls)."""

    stage: StageName
    reason: StageReason


#: The funnel's lines (``queries.REACHED``): a stage whose real event a prospect did by an instant.
ReachedStage = Literal["new", "contacted", "replied", "scheduled", "interested", "proposal", "closed_won"]


class ProspectFilter(InputModel):
    """The prospect-list filters: the one rule for ``GET /api/prospects`` and its export, ``prospects
    list`` and ``prospects export``, and the prospects page (which names its inputs differently)."""

    model_config = ConfigDict(extra="ignore")  # the API reads it from the query, beside sort and paging

    status: StageName | None = Field(None, description="Sales stage.")
    tier: Annotated[Tier | None, Field(description="Tier 1, 2 or 3.")] = None
    trade: Annotated[str | None, Field(max_length=80)] = None
    search: Annotated[
        str | None, Field(max_length=200, description="Text in name, contact, email, city, id or phone digits.")
    ] = None
    do_not_contact: bool | None = None
    grid_health_min: Annotated[float | None, Field(ge=0, le=100, allow_inf_nan=False)] = None
    grid_health_max: Annotated[float | None, Field(ge=0, le=100, allow_inf_nan=False)] = None
    owner: Annotated[str | None, Field(max_length=320, description="The owner's email.")] = None
    tag: Annotated[str | None, Field(max_length=40, description="Prospects with this tag.")] = None
    reached: Annotated[
        ReachedStage | None,
        Field(description="Did this stage's real event (new: added, not contacted), by asOf; the dashboard's funnel."),
    ] = None
    as_of: Annotated[
        AwareDatetime | None,
        Field(description="An instant (with its offset): the prospects that existed then; with reached, by then."),
    ] = None

    @classmethod
    def _prepare(cls, data: dict[Any, Any]) -> Any:
        return without_blanks(data)

    def query(self) -> Filters:
        """The filters for :mod:`leadline.prospects.queries` (the SQL)."""
        return Filters(**self.model_dump())


# --- duplicates and merging (prospects.merging) ------------------------------------------------

DuplicateReason = Literal["email", "phone", "website", "name_city"]


class MergeRequest(InputModel):
    """``POST /api/prospects/{keep}/merge``: the prospect merged into ``keep`` (then deleted)."""

    other: str = Field(min_length=1, max_length=80, description="The id of the prospect merged in (and deleted).")


class DuplicateMemberRead(ApiModel):
    id: str
    name: str
    email: str | None
    phone: str | None
    website: str | None
    city: str | None
    sales_status: str
    created_at: datetime
    customer: bool


class DuplicateGroupRead(ApiModel):
    reason: DuplicateReason
    label: str
    key: str
    count: int = Field(description="How many prospects share the key (at most 50 are listed).")
    prospects: list[DuplicateMemberRead]
    keep_id: str | None = Field(description="The one to keep, suggested: the customer if any, else the oldest.")


class DuplicatePageRead(ApiModel):
    items: list[DuplicateGroupRead]
    limit: int
    page: int
    next_page: int | None = None


class CandidateRead(ApiModel):
    prospect: DuplicateMemberRead
    reasons: list[DuplicateReason]


class MergeRead(ApiModel):
    prospect: ProspectRead
    merged_from: str
    moved: dict[str, int] = Field(description="Rows moved to the kept prospect, by table.")
    filled: list[str] = Field(description="The kept prospect's empty fields filled from the other.")
    stage: list[str] | None = Field(default=None, description="[from, to] when the merge moved the stage forward.")


# --- tags and bulk actions (prospects.bulk) -----------------------------------------------------

_TAG_RE = re.compile(r"^[a-z0-9][a-z0-9 _.:/-]{0,39}$")


def _tag(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    tag = " ".join(value.lower().split())
    if not tag:
        raise ValueError("a tag cannot be blank")
    if len(tag) > 40:
        raise ValueError("a tag is at most 40 characters")
    if not _TAG_RE.match(tag):
        raise ValueError(f"{tag!r} is not a tag: letters, digits, spaces and - _ . : / only")
    return tag


#: A tag: lower-case, spaces collapsed, at most 40 characters ("Roofers Q3" -> "roofers q3").
TagName = Annotated[str, BeforeValidator(_tag)]
#: The most tags one imported row may carry.
MAX_ROW_TAGS = 20


def _tag_list(value: Any) -> Any:
    """A ``tags`` cell: tags separated by commas or semicolons ("Roofers; Q3, vip"), blanks dropped."""
    if isinstance(value, str):
        return [part for part in re.split(r"[;,]", value) if part.strip()]
    return value


def _unique(value: list[str]) -> list[str]:
    return list(dict.fromkeys(value))


#: An imported row's tags: each checked like a bulk action's (:data:`TagName`), duplicates dropped.
TagList = Annotated[list[TagName], BeforeValidator(_tag_list), AfterValidator(_unique), Field(max_length=MAX_ROW_TAGS)]


class ProspectImportRow(ProspectCreate):
    """One row of an import file: a new prospect's fields and its tags (a ``tags`` column), which an
    import adds to the prospect it makes or finds (never removes one)."""

    tags: TagList = Field(default_factory=list)


#: The largest number of ids one bulk request may name (a filter selects any number).
BULK_MAX_IDS = 10_000


class BulkRequest(InputModel):
    """A bulk action: which prospects (``ids``, or every prospect matching ``filters`` with
    ``allMatching``) and what to do to each (any of: add or remove tags, set the owner or deal owners
    out in turn, set the tier, move the stage with a reason, mark do-not-contact). The one rule for
    ``POST /api/prospects/bulk``, ``leadline prospects bulk`` and the prospects page."""

    ids: Annotated[list[Annotated[str, Field(min_length=1, max_length=80)]], Field(max_length=BULK_MAX_IDS)] = Field(
        default_factory=list
    )
    all_matching: bool = False
    filters: ProspectFilter = Field(default_factory=ProspectFilter)
    add_tags: Annotated[list[TagName], Field(max_length=20)] = Field(default_factory=list)
    remove_tags: Annotated[list[TagName], Field(max_length=20)] = Field(default_factory=list)
    owner: Annotated[str | None, Field(max_length=320, description="A user's email; blank to unassign.")] = None
    owners: Annotated[list[Annotated[str, Field(max_length=320)]], Field(max_length=100)] = Field(
        default_factory=list, description="Users (emails) to deal the selection out to in turn (round robin)."
    )
    tier: Tier | None = None
    stage: StageName | None = None
    reason: Annotated[str | None, Field(max_length=500)] = None
    do_not_contact: bool = False
    dry_run: bool = False

    @classmethod
    def _prepare(cls, data: dict[Any, Any]) -> Any:
        data = without_blanks(data, ("tier", "stage", "reason"))
        for key in ("add_tags", "addTags", "remove_tags", "removeTags", "owners"):
            if isinstance(data.get(key), str):
                data[key] = [part for part in data[key].split(",") if part.strip()]
        for name, alias, empty in (("all_matching", "allMatching", False), ("reason", "reason", None),
                                   ("dry_run", "dryRun", False)):  # fmt: skip
            if name not in data and alias not in data:
                data[alias] = empty  # given, not defaulted: the checks below run, naming the field
        return data

    @field_validator("filters", mode="before")
    @classmethod
    def _known_filters(cls, value: Any) -> Any:
        """A misspelt filter would widen "every prospect matching" to every prospect: refused."""
        if isinstance(value, dict):
            known = set(ProspectFilter.model_fields)
            known |= {f.alias for f in ProspectFilter.model_fields.values() if f.alias}
            unknown = sorted(str(key) for key in value if key not in known)
            if unknown:
                raise ValueError(f"unknown filter {unknown[0]!r}")
        return value

    @field_validator("ids")
    @classmethod
    def _unique_ids(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @field_validator("all_matching")
    @classmethod
    def _one_way(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("ids"):
            raise ValueError("give prospect ids or allMatching (every prospect the filters match), not both")
        if not value and not info.data.get("ids"):
            raise ValueError("choose prospects: their ids, or allMatching with the list's filters")
        return value

    @field_validator("remove_tags")
    @classmethod
    def _tags_one_way(cls, value: list[str], info: ValidationInfo) -> list[str]:
        both = set(value) & set(info.data.get("add_tags") or [])
        if both:
            raise ValueError(f"{sorted(both)[0]!r} is both added and removed")
        return list(dict.fromkeys(value))

    @field_validator("owners")
    @classmethod
    def _owners(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if value and info.data.get("owner") is not None:
            raise ValueError("give one owner or owners to deal out in turn, not both")
        return list(dict.fromkeys(owner.strip().lower() for owner in value if owner.strip()))

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("stage") is not None and not value:
            raise ValueError("a stage move needs a reason (kept in each prospect's timeline)")
        return value

    @field_validator("dry_run")
    @classmethod
    def _something(cls, value: bool, info: ValidationInfo) -> bool:
        d = info.data
        if not (
            d.get("add_tags") or d.get("remove_tags") or d.get("owner") is not None or d.get("owners")
            or d.get("tier") is not None or d.get("stage") is not None or d.get("do_not_contact")
        ):  # fmt: skip
            raise ValueError("choose what to do: add or remove a tag, set the owner, tier or stage, do-not-contact")
        return value

    def changes(self) -> dict[str, Any]:
        """What to do, as kept on the bulk operation (camelCase, as the API spells it)."""
        return self.model_dump(
            by_alias=True, exclude={"ids", "all_matching", "filters", "dry_run"}, exclude_defaults=True
        )


class BulkSkip(ApiModel):
    reason: str
    count: int
    sample: list[str] = Field(default_factory=list)


class BulkPreview(ApiModel):
    """What a bulk action would do (``dryRun``): how many are selected, how many would change, and who
    would be skipped and why."""

    total: int
    will_change: int
    skipped: list[BulkSkip]
    sample: list[str]
    background: bool
    dry_run: bool = True


class BulkOperationRead(ApiModel):
    id: str
    actor: str
    status: str
    request: dict[str, Any]
    total: int
    done: int
    changed: int
    skipped: int
    undone: int
    error: str | None = None
    created_at: datetime
    finished_at: datetime | None = None
    undone_at: datetime | None = None
    undoable: bool = False
    skips: list[BulkSkip] = Field(default_factory=list)

    def what(self) -> str:
        """What the operation does, in words: ``Add tag roof-promo to 3 prospects``, ``Set the tier to 2
        and move to Contacted (why: spring push) for 14 prospects matching tier 2, trade roofing``."""
        asked = self.request
        actions: list[tuple[str, str]] = []  # (what, the word before whom)
        for key, verb, before in (("addTags", "Add", "to"), ("removeTags", "Remove", "from")):
            if tags := asked.get(key):
                actions.append((f"{verb.lower()} {plural(len(tags), 'tag')} {', '.join(tags)}", before))
        if "owner" in asked:
            actions.append((f"set the owner to {asked['owner']}" if asked["owner"] else "remove the owner", "for"))
        if owners := asked.get("owners"):
            actions.append((f"deal out in turn to {', '.join(owners)}", "for"))
        if asked.get("tier") is not None:
            actions.append((f"set the tier to {asked['tier']}", "for"))
        if stage := asked.get("stage"):
            why = f" (why: {asked['reason']})" if asked.get("reason") else ""
            actions.append((f"move to {STAGE_LABELS.get(stage, stage)}{why}", "for"))
        if asked.get("doNotContact"):
            actions.append(("mark do-not-contact", "for"))
        if "ids" in asked:
            whom = counted(asked["ids"], "prospect")
        elif matching := _filters_in_words(asked.get("filters") or {}):
            whom = f"{counted(self.total, 'prospect')} matching {matching}"
        else:
            whom = f"all {counted(self.total, 'prospect')}"
        if not actions:
            return f"Nothing to change for {whom}"
        text = listed([what for what, _ in actions])
        return f"{text[:1].upper()}{text[1:]} {actions[-1][1]} {whom}"


def _filters_in_words(filters: dict[str, Any]) -> str:
    """A bulk operation's list filters as they read: ``tier 2, trade roofing``."""
    words = {"status": "stage", "gridHealthMin": "grid health ≥", "gridHealthMax": "grid health ≤",
             "reached": "reached"}  # fmt: skip
    said = []
    for key, value in filters.items():
        if key == "asOf":  # the moment a dashboard figure was counted at: the count says who that was
            continue
        if key == "doNotContact":
            said.append("do-not-contact" if value else "not do-not-contact")
        elif key in ("status", "reached"):
            said.append(f"{words[key]} {STAGE_LABELS.get(value, value)}")
        else:
            said.append(f"{words.get(key, key)} {value}")
    return ", ".join(said)
