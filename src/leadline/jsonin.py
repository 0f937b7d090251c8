"""JSON from outside (API bodies, webhook posts, imports): strict, and nested no deeper than a limit.

One rule for every parser of outside JSON. ``json.loads`` is written in C and guards its own
recursion, so a deeply nested text fails fast (RecursionError) instead of exhausting memory;
what it does accept is then walked without recursion and refused past ``MAX_DEPTH``. Callers
bound the size of the text first (a body limit, a line limit), so the work here is bounded too.
Streaming readers (ijson) count depth from their events with :func:`depth_step`.
"""

from __future__ import annotations

import json
import sys
from typing import Any

MAX_DEPTH = 32  # levels of arrays and objects; documented in docs/architecture.md and docs/cli.md


class NotJson(ValueError):
    """The text is not strict JSON (or is nested deeper than the limit); the message is one line."""


class TooDeep(NotJson):
    pass


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def loads(data: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """The value of a strict JSON text (no NaN or Infinity), refused past ``max_depth`` levels."""
    try:
        value = json.loads(data, parse_constant=_no_constant)
    except RecursionError:
        raise TooDeep(f"JSON nested deeper than {max_depth} levels") from None
    except UnicodeDecodeError:
        raise NotJson("not UTF-8 text") from None
    except ValueError as error:
        raise NotJson(f"not JSON ({_plain(error)})") from None
    check_depth(value, max_depth)
    return value


def _plain(error: ValueError) -> str:
    """A parse error in a person's words: Python's limit on the digits of a whole number it reads
    (``sys.get_int_max_str_digits``, 4,300 by default) comes with advice for programmers."""
    if "int_max_str_digits" in str(error):
        return f"a number with more than {sys.get_int_max_str_digits():,} digits"
    return str(error)


def check_depth(value: Any, max_depth: int = MAX_DEPTH) -> None:
    """Refuse a parsed value nested deeper than ``max_depth`` (an iterative walk: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > max_depth:
            raise TooDeep(f"JSON nested deeper than {max_depth} levels")
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


def depth_step(event: str, depth: int, max_depth: int = MAX_DEPTH) -> int:
    """The nesting depth after one ijson event (``start_map``/``start_array`` open, ``end_*`` close)."""
    if event in ("start_map", "start_array"):
        depth += 1
        if depth > max_depth:
            raise TooDeep(f"JSON nested deeper than {max_depth} levels")
    elif event in ("end_map", "end_array"):
        depth -= 1
    return depth
