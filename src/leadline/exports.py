"""Writing records out as CSV (safe to open in a spreadsheet) or JSON, streamed."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import IO, Any

# A cell starting with one of these is read as a formula by Excel, LibreOffice and Sheets.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_BATCH = 500


def neutralise(cell: str) -> str:
    """Prefix a would-be formula with ' so a spreadsheet shows it as text (OWASP CSV injection)."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        items = [str(item) for item in value]
        if any(sep in item for item in items for sep in (";", "|", "\n")) or any(i.startswith("[") for i in items):
            return neutralise(json.dumps(items, ensure_ascii=False))  # the importer reads JSON lists too
        return neutralise("; ".join(items))
    if isinstance(value, dict):
        return neutralise(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return neutralise(str(value))


def iter_csv(records: Iterable[dict[str, Any]], columns: list[str]) -> Iterator[str]:
    """CSV text in chunks of a few hundred rows; the header first, even with no records."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for count, record in enumerate(records, start=1):
        writer.writerow([csv_cell(record.get(column)) for column in columns])
        if count % _BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def iter_json(records: Iterable[dict[str, Any]]) -> Iterator[str]:
    """A JSON array, one record at a time."""
    first = True
    yield "["
    for record in records:
        yield ("\n  " if first else ",\n  ") + json.dumps(record, ensure_ascii=False, default=str)
        first = False
    yield "]\n" if first else "\n]\n"


class _Counter:
    def __init__(self, records: Iterable[dict[str, Any]]) -> None:
        self.records = records
        self.count = 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for record in self.records:
            self.count += 1
            yield record


def write_csv(records: Iterable[dict[str, Any]], out: IO[str], *, columns: list[str]) -> int:
    counted = _Counter(records)
    for chunk in iter_csv(counted, columns):
        out.write(chunk)
    return counted.count


def write_json(records: Iterable[dict[str, Any]], out: IO[str]) -> int:
    counted = _Counter(records)
    for chunk in iter_json(counted):
        out.write(chunk)
    return counted.count
