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
def test_the_csv_importer_takes_any_file(cli, tmp_path, header, rows, raw):
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
    before = snapshot()
    result = cli("prospects", "import", str(target))
    assert result.exit_code in (0, 1), result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    if result.exit_code == 1:
        assert result.stderr.strip(), "a refusal says why"
        assert snapshot() == before  # refused: nothing written
