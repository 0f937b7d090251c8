"""JSON from outside (API bodies, webhook posts, imports): strict, and nested no deeper than a limit.

One rule for every parser of outside JSON. ``json.loads`` is written in C and guards its own
recursion, so a deeply nested text fails fast (RecursionError) instead of exhausting memory;
what it does accept is then walked without recursion and refused past ``MAX_DEPTH``. Callers
bound the size of the text first (a body limit, a line limit), so the work here is bounded too.
A file holding one array (an import's .json) is read an item at a time by :func:`array_items`, each
item parsed by the same parser under the same rules as a text given to :func:`loads`.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from typing import IO, Any

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


class NotArray(NotJson):
    """The text does not start with ``[``."""


_WHITESPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder(parse_constant=_no_constant)
_CHUNK = 1 << 16
_NEAR_END = 32  # characters: a parse error (or a stop) this close to the end of what was read may be a cut


def array_items(stream: IO[str], *, max_item_chars: int, max_depth: int = MAX_DEPTH) -> Iterator[Any]:
    """The items of the JSON array in ``stream``, one at a time, each read as :func:`loads` reads a text
    (strict; a lone surrogate escape kept as one, for the stored-text rule to refuse by its field), the
    array counting as one level of ``max_depth``; memory is bounded by ``max_item_chars``.

    Raises :class:`NotArray` when the text is not an array, else :class:`NotJson` (:class:`TooDeep`) for
    the item after the last one yielded (or for what follows it)."""
    reader = _ArrayReader(stream, max_item_chars)
    if reader.next_char() != "[":
        raise NotArray("not a JSON array")
    reader.pos += 1
    if reader.next_char() == "]":
        reader.pos += 1
    else:
        while True:
            value, text = reader.item()
            if text.count("[") + text.count("{") >= max_depth:  # else it cannot be too deep: no walk
                try:
                    check_depth(value, max_depth - 1)
                except TooDeep:
                    raise TooDeep(f"JSON nested deeper than {max_depth} levels") from None
            yield value
            after = reader.next_char()
            reader.pos += 1
            if after == ",":
                reader.next_char()  # the next item starts after any whitespace
                continue
            if after == "]":
                break
            raise NotJson("not JSON (the array is not closed)" if not after else "not JSON (expecting ',' or ']')")
    if reader.next_char():
        raise NotJson("not JSON (more after the array)")


class _ArrayReader:
    """A window on a text stream: what was read and not yet parsed (at most an item and a chunk)."""

    def __init__(self, stream: IO[str], max_item_chars: int) -> None:
        self.stream, self.max_item_chars = stream, max_item_chars
        self.buf, self.pos, self.eof = "", 0, False

    def more(self, wanted: int = 0) -> bool:
        """Read on (at least a chunk, or ``wanted`` characters: an item read again is read twice as far)."""
        if self.eof:
            return False
        chunk = self.stream.read(max(_CHUNK, wanted))
        if not chunk:
            self.eof = True
            return False  # the window unchanged: what was parsed in it stands
        self.buf, self.pos = self.buf[self.pos :] + chunk, 0
        return True

    def next_char(self) -> str:
        """The next character that is not whitespace ("" at the end), not consumed."""
        while True:
            self.pos = _WHITESPACE.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf) or not self.more():
                return self.buf[self.pos : self.pos + 1]

    def item(self) -> tuple[Any, str]:
        """The next item, and its text."""
        while True:
            held = len(self.buf) - self.pos
            try:
                value, end = _DECODER.raw_decode(self.buf, self.pos)
            except RecursionError:
                raise TooDeep(f"JSON nested deeper than {MAX_DEPTH} levels") from None
            except json.JSONDecodeError as error:
                cut = error.pos >= len(self.buf) - _NEAR_END or error.msg.startswith("Unterminated")
                if cut and held <= self.max_item_chars and self.more(held):
                    continue  # the item goes on past what was read
                if cut and not self.eof:
                    raise NotJson(f"longer than {self.max_item_chars:,} characters") from None
                raise NotJson(f"not JSON ({error.msg})") from None
            except ValueError as error:  # a whole number of too many digits
                raise NotJson(f"not JSON ({_plain(error)})") from None
            # A number (or a word) that ends where the reading stopped may go on: read on and parse again.
            after = _WHITESPACE.match(self.buf, end).end()  # type: ignore[union-attr]
            if not self.eof and after >= len(self.buf) - _NEAR_END and held <= self.max_item_chars and self.more(held):
                continue
            if end - self.pos > self.max_item_chars:
                raise NotJson(f"longer than {self.max_item_chars:,} characters")
            start, self.pos = self.pos, end
            return value, self.buf[start:end]
