"""Reading and validating observation files (CSV, JSON array, JSON Lines), streaming.

No SQL here: rows are validated with pydantic in batches and handed to the store's staging
area; the store merges them in one transaction only when every row of every file is valid.
Every problem is reported as ``file:row:column: message`` (or ``file:row:`` / ``file:`` when
it is about a whole row or the whole file).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NotRequired, Protocol

from pydantic import ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails
from typing_extensions import TypedDict

from intelligentos.formatting import literal
from intelligentos.plausibility import implausibility

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

REQUIRED_COLUMNS = ("kpi_id", "period", "value")
OPTIONAL_COLUMNS = ("source",)
FORMATS = {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}
BATCH = 5000
CHUNK = 1 << 16
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Problem:
    file: str
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        # Row 0 and column "-" mean "the whole file" and "the whole row": say nothing
        # rather than point at a line or a column that does not exist.
        where = literal(self.file)
        if self.row:
            where += f":{self.row}"
            if self.column != "-":
                where += f":{literal(self.column)}"
        return f"{where}: {literal(self.message)}"


class ObservationIn(TypedDict):
    """One observation as it arrives from a file (validated by pydantic-core in batches;
    the checks pydantic has no native type for follow in :func:`validate_rows`)."""

    # A TypedDict may not carry non-field attributes, but pydantic < 2.7 (still allowed by
    # the dependency floor) has no ``with_config`` decorator to set the config otherwise.
    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]

    kpi_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    period: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    value: Annotated[float, Field(allow_inf_nan=False)]
    source: NotRequired[str | None]


ROW_ADAPTER = TypeAdapter(ObservationIn)
BATCH_ADAPTER = TypeAdapter(list[ObservationIn])


def period_problem(period: str) -> str | None:
    # The date part spelled out (20261127 parses too, but would not sort with the others).
    if not ISO_DAY.fullmatch(period[:10]):
        return "not an ISO-8601 date or datetime (e.g. 2026-11-27)"
    try:
        if len(period) > 10:
            datetime.fromisoformat(period)
        else:
            date.fromisoformat(period)
    except ValueError:
        return "not an ISO-8601 date or datetime (e.g. 2026-11-27)"
    return None


def detect_format(path: Path, explicit: str | None = None) -> str:
    if explicit:
        if explicit not in ("csv", "json", "jsonl"):
            raise ValueError(f"unknown format {explicit!r}; use csv, json or jsonl")
        return explicit
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"{path}: cannot tell the format from the extension; pass --format csv|json|jsonl"
        )
    return fmt


class ReadInto(Protocol):
    """The one method :class:`CountingReader` needs from the file it wraps."""

    def readinto(self, buffer: WriteableBuffer, /) -> int | None: ...


class CountingReader(io.RawIOBase):
    """A binary file that reports how many bytes have been read (for a progress bar)."""

    def __init__(self, raw: ReadInto, on_read: Callable[[int], None] | None) -> None:
        self.raw = raw
        self.on_read = on_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        count = self.raw.readinto(buffer)
        if count and self.on_read:
            self.on_read(count)
        return count or 0


Raw = tuple[int, dict[str, object]]  # (row number in the file, fields)


def _csv_rows(text: io.TextIOBase, name: str) -> Iterator[Raw | Problem]:
    reader = csv.reader(text, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        yield Problem(name, 0, "-", "the file is empty")
        return
    header = [h.strip().lstrip("\ufeff") for h in header]
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
        yield Problem(name, 1, "header", f"{'; '.join(parts)} (expected {expected})")
        return
    width = len(header)
    for fields in reader:
        if not fields or fields == [""]:
            continue
        line = reader.line_num
        if len(fields) != width:
            yield Problem(name, line, "-", f"{len(fields)} fields where the header has {width}")
            continue
        yield line, dict(zip(header, fields, strict=True))


def _jsonl_rows(text: io.TextIOBase, name: str) -> Iterator[Raw | Problem]:
    for line_number, line in enumerate(text, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            yield Problem(name, line_number, "-", f"not valid JSON: {error.msg}")
            continue
        if not isinstance(item, dict):
            yield Problem(name, line_number, "-", "each line must be a JSON object")
            continue
        yield line_number, item


def _json_array_rows(text: io.TextIOBase, name: str) -> Iterator[Raw | Problem]:
    """Stream the objects of a top-level JSON array without loading the whole file."""
    decoder = json.JSONDecoder()
    buffer = ""
    position = 0
    started = False
    index = 0
    eof = False

    def fill() -> bool:
        nonlocal buffer, position, eof
        chunk = text.read(CHUNK)
        if not chunk:
            eof = True
            return False
        buffer = buffer[position:] + chunk
        position = 0
        return True

    def skip_space() -> None:
        nonlocal position
        while True:
            while position < len(buffer) and buffer[position] in " \t\r\n":
                position += 1
            if position < len(buffer) or not fill():
                return

    skip_space()
    if position >= len(buffer):
        yield Problem(name, 0, "-", "the file is empty")
        return
    if buffer[position] != "[":
        yield Problem(name, 1, "-", "expected a JSON array of objects")
        return
    position += 1
    while True:
        skip_space()
        if position >= len(buffer):
            yield Problem(name, index + 1, "-", "the JSON array is not closed")
            return
        if buffer[position] == "]":
            position += 1
            skip_space()
            if position < len(buffer):
                yield Problem(name, index + 1, "-", "unexpected data after the JSON array")
            return
        if started:
            if buffer[position] != ",":
                yield Problem(name, index + 1, "-", "expected ',' between array items")
                return
            position += 1
            skip_space()
        while True:
            try:
                item, end = decoder.raw_decode(buffer, position)
                break
            except json.JSONDecodeError as error:
                if eof or not fill():
                    yield Problem(name, index + 1, "-", f"not valid JSON: {error.msg}")
                    return
        position = end
        started = True
        index += 1
        if not isinstance(item, dict):
            yield Problem(name, index, "-", "each array item must be a JSON object")
            continue
        yield index, item


def raw_rows(
    path: Path, fmt: str, on_read: Callable[[int], None] | None = None
) -> Iterator[Raw | Problem]:
    """Rows of one file as (row number, fields), or problems; decoding is strict UTF-8."""
    name = str(path)
    try:
        binary = path.open("rb")
    except OSError as error:
        yield Problem(name, 0, "-", f"cannot open: {error.strerror}")
        return
    with binary:
        stream = io.BufferedReader(CountingReader(binary, on_read), buffer_size=CHUNK)
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
        reader = {"csv": _csv_rows, "jsonl": _jsonl_rows, "json": _json_array_rows}[fmt]
        try:
            yield from reader(text, name)
        except UnicodeDecodeError as error:
            yield Problem(name, 0, "-", f"not UTF-8 text ({error.reason}); save it as UTF-8")
        except csv.Error as error:
            yield Problem(name, 0, "-", f"not valid CSV: {error}")


@dataclass
class ValidRow:
    kpi_id: str
    period: str
    value: float
    source: str | None
    file_index: int
    row: int


def validate_rows(
    rows: Iterable[Raw | Problem],
    name: str,
    file_index: int,
    kpi_ids: set[str],
    units: Mapping[str, str] | None = None,
) -> Iterator[list[ValidRow] | Problem]:
    """Validate in batches with pydantic; yield batches of valid rows and every problem.
    ``units`` (KPI id → unit) refuses values outside their unit's plausible range."""
    batch: list[Raw] = []

    def flush() -> Iterator[list[ValidRow] | Problem]:
        records = [fields for _, fields in batch]
        bad: dict[int, list[ErrorDetails]] = {}
        parsed: Sequence[ObservationIn | None]
        try:
            parsed = BATCH_ADAPTER.validate_python(records)
        except ValidationError as error:
            for item in error.errors():
                position = item["loc"][0]
                # Errors of a list are located by the item's index first.
                assert isinstance(position, int)
                bad.setdefault(position, []).append(item)
            parsed = [
                None if index in bad else ROW_ADAPTER.validate_python(fields)
                for index, fields in enumerate(records)
            ]
        good: list[ValidRow] = []
        for index, ((row, fields), model) in enumerate(zip(batch, parsed, strict=True)):
            # Only rows with errors were left unparsed.
            if model is None:
                for item in bad[index]:
                    column = str(item["loc"][1]) if len(item["loc"]) > 1 else "-"
                    yield Problem(name, row, column, _message(item))
                continue
            raw_value = fields.get("value")
            if raw_value is True or raw_value is False:
                yield Problem(name, row, "value", "a boolean is not a number")
                continue
            if model["kpi_id"] not in kpi_ids:
                yield Problem(name, row, "kpi_id", f"unknown KPI id {model['kpi_id']!r}")
                continue
            problem = period_problem(model["period"])
            if problem:
                yield Problem(name, row, "period", f"{model['period']!r} is {problem}")
                continue
            unit = units.get(model["kpi_id"]) if units else None
            problem = implausibility(model["value"], unit, model["kpi_id"]) if unit else None
            if problem:
                yield Problem(name, row, "value", problem)
                continue
            good.append(
                ValidRow(
                    model["kpi_id"],
                    model["period"],
                    model["value"],
                    model.get("source") or None,
                    file_index,
                    row,
                )
            )
        batch.clear()
        if good:
            yield good

    any_row = False
    for item in rows:
        if isinstance(item, Problem):
            yield item
            continue
        any_row = True
        batch.append(item)
        if len(batch) >= BATCH:
            yield from flush()
    if batch:
        yield from flush()
    if not any_row:
        yield Problem(name, 0, "-", "no observations in the file")


def _message(item: ErrorDetails) -> str:
    if item["type"] == "extra_forbidden":
        return "unexpected field"
    if item["type"] == "missing":
        return "required field is missing"
    given = item.get("input")
    if isinstance(given, str) and not given.strip():
        return "empty value"
    if isinstance(given, (str, int, float)) and not isinstance(given, bool):
        # The bad value itself, shortened: the user finds the cell by it.
        shown = repr(given) if len(repr(given)) <= 40 else repr(given)[:37] + "…"
        return f"{item['msg']} (got {shown})"
    return item["msg"]


def decode_probe(path: Path) -> str | None:
    """Cheap check for UTF-16/32 byte-order marks, which strict UTF-8 would misreport."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4)
    except OSError:
        return None
    for bom, name in (
        (codecs.BOM_UTF32_LE, "UTF-32"),
        (codecs.BOM_UTF32_BE, "UTF-32"),
        (codecs.BOM_UTF16_LE, "UTF-16"),
        (codecs.BOM_UTF16_BE, "UTF-16"),
    ):
        if head.startswith(bom):
            return f"the file is {name}; save it as UTF-8"
    return None
