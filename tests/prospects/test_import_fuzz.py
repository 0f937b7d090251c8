"""Fuzzing the CSV importer, bounded in time: any file gives an import or a one-line refusal,
never a traceback, and a refusal writes nothing."""

from __future__ import annotations

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests.factories import snapshot

FUZZ = hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

COLUMNS = ["name", "email", "trade", "city", "state", "tier", "grid_health", "phone", "website", "timezone",
           "Company", "sales_status", "notes", "gaps"]  # fmt: skip
cells = st.one_of(
    st.text(max_size=20), st.integers(min_value=-5, max_value=200).map(str), st.sampled_from(["1", "2", "3", "", "n/a"]),
)  # fmt: skip


@given(
    header=st.lists(st.sampled_from(COLUMNS) | st.text(max_size=10), min_size=1, max_size=6),
    rows=st.lists(st.lists(cells, max_size=7), max_size=6),
    raw=st.none() | st.binary(max_size=200),
)
@FUZZ
def test_the_csv_importer_takes_any_file(settings, cli, tmp_path, header, rows, raw):
    import csv
    import io

    target = tmp_path / "fuzz.csv"
    if raw is not None:
        target.write_bytes(raw)
    else:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        writer.writerows(rows)
        target.write_text(buffer.getvalue(), encoding="utf-8", errors="surrogatepass")
    before = snapshot(settings)
    result = cli("prospects", "import", str(target))
    assert result.exit_code in (0, 1), result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    if result.exit_code == 1:
        assert result.stderr.strip(), "a refusal says why"
        assert snapshot(settings) == before  # refused: nothing written


# --- JSON: any nesting, any shape ------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 200) | st.text(max_size=10) | st.sampled_from(["Royal", "a@b.co"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(COLUMNS) | st.text(max_size=6), inner,
                                                                  max_size=3),
    max_leaves=12,
)  # fmt: skip


def _wrap(value: object, depth: int, kind: str) -> str:
    """``value`` under ``depth`` more levels of arrays or objects, as JSON text (no recursion)."""
    import json

    opening, closing = ("[", "]") if kind == "array" else ('{"name": ', "}")
    return opening * depth + json.dumps(value) + closing * depth


@given(
    items=st.lists(json_values, max_size=4),
    deep=st.none() | st.tuples(st.integers(0, 3), st.integers(0, 3_000), st.sampled_from(["array", "object"])),
    lines=st.booleans(),
    top=st.sampled_from(["array", "object", "scalar"]),
)
@FUZZ
def test_the_json_importers_take_any_nesting(settings, cli, tmp_path, items, deep, lines, top):
    """Any JSON (nested up to thousands of levels, top level of any kind) gives an import or a
    one-line refusal that names the item or line, never a traceback; a refusal writes nothing."""
    import json

    texts = [json.dumps(item) for item in items]
    if deep is not None:
        at, depth, kind = deep
        texts.insert(min(at, len(texts)), _wrap({"name": "Deep"}, depth, kind))
    if lines:
        target = tmp_path / "fuzz.jsonl"
        target.write_text("".join(text + "\n" for text in texts))
    else:
        target = tmp_path / "fuzz.json"
        body = "[" + ", ".join(texts) + "]"
        target.write_text(body if top == "array" else texts[0] if texts and top == "scalar" else '{"name": "Top"}')
    before = snapshot(settings)
    result = cli("prospects", "import", str(target))
    assert result.exit_code in (0, 1), result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    if result.exit_code == 1:
        assert result.stderr.strip(), "a refusal says why"
        assert snapshot(settings) == before
    if deep is not None and deep[1] > 40 and (lines or top == "array"):  # deeper than the limit: refused
        assert result.exit_code == 1 and "nested deeper than 32 levels" in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and ("line " if lines else "item ") in result.stderr
