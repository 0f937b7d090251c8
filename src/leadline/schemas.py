"""Shared Pydantic building blocks: the camelCase API model base, pages, and error shaping."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

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
    """Request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        str_strip_whitespace=True,
    )


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


def field_errors(error: ValidationError, *, camel: bool = True) -> list[dict[str, str]]:
    """Turn a Pydantic error into ``[{"field": "gridHealth", "message": "..."}]``."""
    found = []
    for item in error.errors(include_url=False):
        loc = [str(part) for part in item.get("loc", ()) if part not in ("body", "query", "path")]
        name = ".".join(to_camel(part) if camel else part for part in loc) or "input"
        message = str(item.get("msg", "invalid"))
        for prefix in ("Value error, ", "Assertion failed, "):
            if message.startswith(prefix):
                message = message[len(prefix) :]
        if item.get("type") == "extra_forbidden":
            message = "unknown field"
        found.append({"field": name, "message": message})
    return found


def one_line(errors: list[dict[str, str]]) -> str:
    return "; ".join(f"{e['field']}: {e['message']}" if e.get("field") else e["message"] for e in errors)


def iso(value: datetime | None) -> str | None:
    """How times appear in JSON: ISO 8601 in UTC with a Z (Pydantic's own format)."""
    if value is None:
        return None
    text = value.isoformat().replace("+00:00", "Z")
    return text
