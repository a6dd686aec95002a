"""Tables: CSV files and the first sheet of an Excel workbook, long or wide."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from intelligentos.services.imports.model import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    Layout,
    Problem,
    Raw,
)
from intelligentos.services.imports.wide import wide_rows


def sniff_delimiter(header_line: str) -> str:
    """The delimiter of a CSV file, from its header line: the most frequent of ``,``, ``;``
    and a tab (a header rarely quotes)."""
    try:
        return csv.Sniffer().sniff(header_line, delimiters=",;\t").delimiter
    except csv.Error:
        return ","


def csv_rows(
    text: io.TextIOBase, name: str, layout: Layout, known: Iterable[str]
) -> Iterator[Raw | Problem]:
    first = text.readline()
    if not first:
        yield Problem(name, 0, "-", "the file is empty")
        return
    delimiter = layout.delimiter or sniff_delimiter(first)
    reader = csv.reader(itertools.chain([first], text), delimiter=delimiter, strict=True)
    yield from _table_rows(reader, lambda: reader.line_num, name, layout.wide, known)


def _table_rows(
    rows: Iterator[list[Any]],
    line_of: Callable[[], int],
    name: str,
    wide: bool,
    known: Iterable[str],
) -> Iterator[Raw | Problem]:
    """The rows of a table (a CSV file or a sheet) after its header line, long or wide;
    ``line_of`` says where the row just read is (rows stay a plain iterator: this loop is
    the hot path of a large import)."""
    try:
        header = next(rows)
    except StopIteration:
        yield Problem(name, 0, "-", "the file is empty")
        return
    header = [str(h if h is not None else "").strip().lstrip("\ufeff") for h in header]
    if wide:
        lines = ((line_of(), fields) for fields in rows)
        yield from wide_rows(lines, header, name, set(known))
        return
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    extra = [h for h in header if h not in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)]
    if missing or extra or len(set(header)) != len(header):
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if extra:
            parts.append(f"unexpected column(s) {', '.join(extra)}")
        if len(set(header)) != len(header):
            parts.append("repeated column names")
        expected = ",".join((*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS))
        wide_hint = (
            "; a table with one column per KPI needs --wide" if set(extra) & set(known) else ""
        )
        yield Problem(name, 1, "header", f"{'; '.join(parts)} (expected {expected}){wide_hint}")
        return
    width = len(header)
    for fields in rows:
        # A blank line, or a row of empty cells (as spreadsheets export them), is no row.
        if not fields or (fields[0] == "" and all(field == "" for field in fields)):
            continue
        line = line_of()
        if len(fields) != width:
            yield Problem(name, line, "-", f"{len(fields)} fields where the header has {width}")
            continue
        yield line, dict(zip(header, fields, strict=True))


def xlsx_rows(
    path: Path, name: str, layout: Layout, known: Iterable[str]
) -> Iterator[Raw | Problem]:
    """The first sheet of an Excel workbook, as a table (openpyxl, read-only, imported only
    when an .xlsx file is read)."""
    try:
        import openpyxl  # type: ignore[import-untyped]
    except ImportError:
        yield Problem(name, 0, "-", "reading .xlsx needs openpyxl (pip install openpyxl)")
        return
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a file that is not a workbook
        yield Problem(name, 0, "-", f"not a readable .xlsx workbook ({type(error).__name__})")
        return
    try:
        sheet = book.worksheets[0]
        read = [0]

        def cells() -> Iterator[list[Any]]:
            for row in sheet.iter_rows(values_only=True):
                read[0] += 1
                yield [_cell(value) for value in row]

        yield from _table_rows(cells(), lambda: read[0], name, layout.wide, known)
    finally:
        book.close()


def _cell(value: object) -> object:
    """A spreadsheet cell as a CSV field would have it: a date as ISO-8601 (a time only if
    it has one), an empty cell as empty text; numbers stay numbers."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return (
            value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    return value
