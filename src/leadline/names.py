"""One case conversion: the database's snake_case names as the API's camelCase (``grid_health`` ->
``gridHealth``). Standard library only (the quick CLI path uses it); the API's pydantic models
use it as their alias generator, the services name the fields of their errors and diffs with it,
and the exports name their columns with it."""

from __future__ import annotations


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)
