"""The one rule for outside JSON: strict, nested no deeper than the limit, in bounded time."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadline.jsonin import MAX_DEPTH, NotJson, TooDeep, check_depth, loads


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_accepts_up_to_the_limit() -> None:
    assert loads(nested(MAX_DEPTH)) is not None
    assert loads('{"a": [1, {"b": null}]}') == {"a": [1, {"b": None}]}


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 480, 5_000, 200_000])
def test_refuses_deeper_fast(depth: int) -> None:
    started = time.thread_time()  # CPU time: a wall clock also counts the other tests sharing the cores
    with pytest.raises(TooDeep, match=f"deeper than {MAX_DEPTH}"):
        loads(nested(depth))
    with pytest.raises(TooDeep):
        loads('{"a":' * depth + "1" + "}" * depth)
    assert time.thread_time() - started < 1


@pytest.mark.parametrize("text", ["NaN", "[Infinity]", "{", "", "\xff", b"\xff\xfe"])
def test_refuses_what_is_not_strict_json(text: str | bytes) -> None:
    with pytest.raises(NotJson):
        loads(text)


def test_a_number_of_thousands_of_digits_is_said_plainly() -> None:
    with pytest.raises(NotJson) as refused:
        loads('{"tier": ' + "9" * 5000 + "}")
    assert str(refused.value) == "not JSON (a number with more than 4,300 digits)"


@given(st.recursive(st.none() | st.integers() | st.text(), lambda c: st.lists(c) | st.dictionaries(st.text(), c)))
@settings(suppress_health_check=[HealthCheck.too_slow])  # generating nested values is slow on a busy machine
def test_check_depth_agrees_with_a_recursive_count(value: object) -> None:
    def depth(item: object) -> int:
        if isinstance(item, dict):
            return 1 + max((depth(v) for v in item.values()), default=0)
        if isinstance(item, list):
            return 1 + max((depth(v) for v in item), default=0)
        return 0

    limit = 3
    if depth(value) > limit:
        with pytest.raises(TooDeep):
            check_depth(value, limit)
    else:
        check_depth(value, limit)
