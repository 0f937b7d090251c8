"""Shared Pydantic building blocks: the camelCase API model base, pages, and error shaping."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from leadline.fields import TextKind, text_kinds, with_text_rule
from leadline.names import camel as to_camel

T = TypeVar("T")


class ApiModel(BaseModel):
    """Python speaks snake_case, JSON speaks the seed's camelCase."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        from_attributes=True,
        ser_json_timedelta="float",
    )

    def dump(self, **kwargs: Any) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, **kwargs)


class InputModel(ApiModel):
    """Request bodies (and the CLI's, the pages' and the importer's input): unknown fields are an
    error, not silently dropped; text follows the stored-text rule (:mod:`leadline.fields`): every
    text field is one line unless typed ``FreeText`` (or marked ``TextLines``)."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        str_strip_whitespace=True,
    )
    _text_kinds: ClassVar[dict[str, TextKind]] = {}

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._text_kinds = text_kinds(cls.model_fields)

    @model_validator(mode="before")
    @classmethod
    def _stored_text(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return cls._prepare(with_text_rule(cls.__name__, cls._text_kinds, data))

    @classmethod
    def _prepare(cls, data: dict[Any, Any]) -> Any:
        """Override to normalise the raw input once it has passed the stored-text rule (a model's own
        ``mode="before"`` validator would run before the rule)."""
        return data


class Page(ApiModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    next_cursor: str | None = None
    page: int | None = None


class ErrorBody(ApiModel):
    error: str
    message: str
    field: str | None = None
    errors: list[dict[str, str]] = []


def _num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        value = int(value)
    if isinstance(value, int):
        return str(value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def plain_message(item: Any) -> str:
    """One Pydantic error item in plain words (the same wording in the CLI and the API)."""
    kind = item.get("type", "")
    ctx = item.get("ctx") or {}
    value = item.get("input")
    shown = repr(value) if isinstance(value, str | int | float) else "the value"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "is required"
    if kind in ("int_parsing", "float_parsing", "int_type", "float_type", "finite_number"):
        return f"{shown} is not a number" if kind != "finite_number" else "must be a finite number"
    if kind == "int_from_float":
        return f"{shown} is not a whole number"
    if kind in ("greater_than_equal", "greater_than"):
        return f"must be at least {_num(ctx.get('ge', ctx.get('gt')))}"
    if kind in ("less_than_equal", "less_than"):
        return f"must be at most {_num(ctx.get('le', ctx.get('lt')))}"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind == "too_long":  # a length checked after a validator of ours: text, or a list
        return f"must be at most {ctx.get('max_length')} {'characters' if isinstance(value, str) else 'items'}"
    if kind in ("string_too_short", "too_short"):  # too_short: a length checked after a validator of ours
        if ctx.get("min_length") == 1:
            return "must not be empty"
        unit = "characters" if kind == "string_too_short" or isinstance(value, str) else "items"
        return f"must be at least {ctx.get('min_length')} {unit}"
    if kind == "bool_parsing":
        return f"{shown} is not true or false"
    if kind == "string_type" and value is None:
        return "must not be empty"
    if kind == "json_invalid":
        return "is not valid JSON"
    message = str(item.get("msg", "invalid"))
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    return message


def field_path(item: Any) -> list[str]:
    """An error item's field, as names: without FastAPI's leading location (``body``, ``query``,
    ``path``, ``header``), which is not a field; a field of that name (a text's ``body``) is kept."""
    loc = [str(part) for part in item.get("loc", ())]
    return loc[1:] if len(loc) > 1 and loc[0] in ("body", "query", "path", "header") else loc


def field_errors(error: ValidationError, *, camel: bool = True) -> list[dict[str, str]]:
    """Turn a Pydantic error into ``[{"field": "gridHealth", "message": "..."}]``."""
    found = []
    for item in error.errors(include_url=False):
        loc = field_path(item)
        name = ".".join(to_camel(part) if camel else part for part in loc) or "input"
        found.append({"field": name, "message": plain_message(item)})
    return found


def one_line(errors: list[dict[str, str]]) -> str:
    return "; ".join(f"{e['field']}: {e['message']}" if e.get("field") else e["message"] for e in errors)


def iso(value: datetime | None) -> str | None:
    """How times appear in JSON: ISO 8601 in UTC with a Z (Pydantic's own format)."""
    if value is None:
        return None
    text = value.isoformat().replace("+00:00", "Z")
    return text
