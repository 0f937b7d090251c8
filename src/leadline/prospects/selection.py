"""Which prospects a batch is for: the selection a send or a sequence start is given (ids, or a
stage, tier and trade with a limit), and the field types it shares with the prospects' own schemas
(:mod:`leadline.prospects.schemas`). Its own module so that the schemas of a batch (emails,
sequences) do not load every prospect schema."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator

from leadline.prospects.queries import Filters
from leadline.prospects.stages import STAGES, Stage
from leadline.schemas import InputModel


def _tier(value: Any) -> Any:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a number") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or value not in (1, 2, 3):
        raise ValueError("must be 1, 2 or 3")
    return int(value)


Tier = Annotated[int, BeforeValidator(_tier), Field(ge=1, le=3)]


def _stage(value: Any) -> Any:
    if isinstance(value, str) and value.strip() and value.strip() not in STAGES:
        raise ValueError(f"{value.strip()!r} is not a stage")
    return value


#: A stage named by a person (a filter, a selection, a move): "'won' is not a stage" when it is not one.
StageName = Annotated[Stage, BeforeValidator(_stage)]


#: The most prospects one batch (a send, a sequence) may name, or select.
SELECTION_MAX_IDS = 1000
SELECTION_MAX = 10_000


ProspectIds = Annotated[list[Annotated[str, Field(min_length=1, max_length=80)]], Field(max_length=SELECTION_MAX_IDS)]


class Selection(InputModel):
    """Which prospects a batch is for (``emails send``, ``sequences start``): ids, or a selection
    (``status``/``tier``/``trade``) with a ``limit``; not both, not neither. The one rule for the CLI,
    the API and the services behind them."""

    status: StageName | None = None
    tier: Tier | None = None
    trade: Annotated[str | None, Field(max_length=80)] = None
    prospect_ids: ProspectIds = Field(default_factory=list)
    limit: Annotated[int | None, Field(ge=1, le=SELECTION_MAX)] = None

    @classmethod
    def _prepare(cls, data: dict[Any, Any]) -> Any:
        data = without_blanks(data, ("status", "tier", "trade"))
        for name, alias, empty in (("prospect_ids", "prospectIds", []), ("limit", "limit", None)):
            if name not in data and alias not in data:
                data[alias] = empty  # given, not defaulted: an error names the field as the API spells it
        return data

    @field_validator("limit")
    @classmethod
    def _limit(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is None and _selects(info.data) and info.data.get("prospect_ids") == []:
            raise ValueError("a selection (status, tier, trade) needs a limit: at most how many")
        return value

    @field_validator("prospect_ids")
    @classmethod
    def _one_way(cls, value: list[str], info: ValidationInfo) -> list[str]:
        selects = _selects(info.data)
        if value and selects:
            raise ValueError("give prospect ids or a selection (status, tier, trade), not both")
        if not value and not selects and not ({"status", "tier", "trade"} - set(info.data)):
            raise ValueError("choose prospects: their ids, or a selection such as status new with a limit")
        return list(dict.fromkeys(value))

    @property
    def is_selection(self) -> bool:
        return _selects(self.__dict__)

    def filters(self) -> Filters | None:
        """The selection's filters; None when prospects are chosen by id."""
        return Filters(status=self.status, tier=self.tier, trade=self.trade) if self.is_selection else None


def without_blanks(data: dict[Any, Any], keys: tuple[str, ...] | None = None) -> dict[Any, Any]:
    """Blank text means "not given" (an empty input of a form, ``?trade=``, ``--trade ""``)."""
    return {
        key: value for key, value in data.items()
        if not (isinstance(value, str) and not value.strip() and (keys is None or key in keys))
    }  # fmt: skip


def _selects(values: dict[str, Any]) -> bool:
    return any(values.get(name) is not None for name in ("status", "tier", "trade"))
