"""Reading and validating observation files (CSV, JSON array, JSON Lines, Excel .xlsx),
streaming.

No SQL here: rows are validated with pydantic in batches and handed to the store's staging
area; the store merges them in one transaction only when every row of every file is valid.
Every problem is reported as ``file:row:column: message`` (or ``file:row:`` / ``file:`` when
it is about a whole row or the whole file).

Besides the long layout (one observation per row: ``kpi_id, period, value[, source]``), a
table may be wide (``period[, source]`` then one column per KPI id). A CSV's delimiter is
found from its header line (``,``, ``;`` or a tab) unless given; a ``;`` file has a decimal
comma unless told otherwise. Values written for people are read as what they say, for a KPI
of the matching unit only: ``9.1%`` (percent), ``$15,200`` or ``15.200 €`` (currency),
thousands grouped with ``,`` (or with ``.`` and spaces under a decimal comma). ``2026-07``
is the period of a monthly KPI's July (stored as ``2026-07-01``).
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NotRequired, Protocol

from pydantic import ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails
from typing_extensions import TypedDict

from intelligentos.domain.catalog.models import Frequency, Unit
from intelligentos.domain.formatting import literal
from intelligentos.domain.plausibility import implausibility

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

REQUIRED_COLUMNS = ("kpi_id", "period", "value")
OPTIONAL_COLUMNS = ("source",)
FORMATS = {
    ".csv": "csv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".xlsx": "xlsx",
}
DELIMITERS = {",": ",", ";": ";", "\t": "\t", "tab": "\t", "|": "|"}
DECIMALS = (".", ",")
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
        if explicit not in ("csv", "json", "jsonl", "xlsx"):
            raise ValueError(f"unknown format {explicit!r}; use csv, json, jsonl or xlsx")
        return explicit
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"{path}: cannot tell the format from the extension; pass --format csv|json|jsonl|xlsx"
        )
    return fmt


@dataclass(frozen=True)
class Layout:
    """How a table is laid out: its CSV delimiter (None: found from the header line), its
    decimal mark (None: a comma in a ``;`` file, else a point), and whether it is wide."""

    delimiter: str | None = None
    decimal: str | None = None
    wide: bool = False


@dataclass(frozen=True)
class KpiShape:
    """What reading a value or a period needs to know of its KPI."""

    unit: Unit
    frequency: Frequency


_CURRENCY_SIGNS = "$€£¥"
_MINUS_SIGNS = ("-", "\u2212")
_SPACES = "\u00a0\u202f "
_GROUPED_POINT = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d*)?")
_GROUPED_COMMA = re.compile(r"\d{1,3}(?:[.\u00a0\u202f ]\d{3})+(?:,\d*)?")
_PLAIN = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_MONTH = re.compile(r"(\d{4})-(\d{2})")


def parse_number(text: str, unit: Unit | None, decimal: str = ".") -> float:
    """``text`` as a number, read as people write them (see the module's docstring); a
    ``ValueError`` saying what is wrong otherwise. A ``%`` or a currency sign is accepted
    only for a KPI of that unit, so that a value in the wrong column is never taken."""
    body = text.strip()
    negative = body.startswith(_MINUS_SIGNS)
    if negative:
        body = body[1:].lstrip()
    if body.endswith("%"):
        if unit is not Unit.PERCENT:
            raise ValueError(f"{text!r} is a percentage, but the KPI is in {_unit_name(unit)}")
        body = body[:-1].rstrip()
    elif body[:1] in _CURRENCY_SIGNS or body[-1:] in _CURRENCY_SIGNS:
        if unit is not Unit.CURRENCY:
            raise ValueError(
                f"{text!r} is an amount of money, but the KPI is in {_unit_name(unit)}"
            )
        body = body.strip(_CURRENCY_SIGNS).strip()
    if not negative and body.startswith(_MINUS_SIGNS):  # "$-15" as well as "-$15"
        negative = True
        body = body[1:].lstrip()
    if decimal == ",":
        if _GROUPED_COMMA.fullmatch(body):
            body = body.translate({ord(c): None for c in "." + _SPACES})
        elif "." in body:
            raise ValueError(
                f"{text!r} has a '.' that does not group thousands, in a file with a decimal "
                "comma (--decimal . reads a decimal point)"
            )
        body = body.replace(",", ".")
    elif "," in body:
        if not _GROUPED_POINT.fullmatch(body):
            raise ValueError(
                f"{text!r} has a ',' that does not group thousands (--decimal , reads a "
                "decimal comma)"
            )
        body = body.replace(",", "")
    if not _PLAIN.fullmatch(body):
        raise ValueError(f"{text!r} is not a number")
    value = float(body)
    return -value if negative else value


def _unit_name(unit: Unit | None) -> str:
    return unit.value if unit is not None else "an unknown unit"


def month_period(period: str, shape: KpiShape | None) -> str | None:
    """``2026-07`` as the period of a monthly KPI (``2026-07-01``); None if it is not one."""
    found = _MONTH.fullmatch(period)
    if found is None or shape is None or shape.frequency is not Frequency.MONTHLY:
        return None
    if not 1 <= int(found[2]) <= 12:
        return None
    return f"{period}-01"


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


def sniff_delimiter(header_line: str) -> str:
    """The delimiter of a CSV file, from its header line: the most frequent of ``,``, ``;``
    and a tab (a header rarely quotes)."""
    try:
        return csv.Sniffer().sniff(header_line, delimiters=",;\t").delimiter
    except csv.Error:
        return ","


def _csv_rows(
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
        yield from _wide_rows(lines, header, name, set(known))
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


def _wide_rows(
    lines: Iterator[tuple[int, list[Any]]], header: list[str], name: str, known: set[str]
) -> Iterator[Raw | Problem]:
    """A wide table: ``period`` (and optionally ``source``) then one column per KPI id; each
    filled cell is one observation, an empty one none."""
    fixed = [h for h in header if h in ("period", "source")]
    kpi_columns = [h for h in header if h not in ("period", "source")]
    unknown = [h for h in kpi_columns if h not in known]
    if "period" not in header or len(set(header)) != len(header) or unknown or not kpi_columns:
        parts = []
        if "period" not in header:
            parts.append("missing column period")
        if len(set(header)) != len(header):
            parts.append("repeated column names")
        if unknown:
            parts.append(f"unknown KPI id(s) {', '.join(repr(h) for h in unknown)}")
        if not kpi_columns:
            parts.append("no KPI column")
        yield Problem(
            name,
            1,
            "header",
            f"{'; '.join(parts)} (a wide table has period[,source] then one column per KPI id)",
        )
        return
    width = len(header)
    positions = {column: header.index(column) for column in fixed}
    kpi_positions = [(header.index(column), column) for column in kpi_columns]
    for line, fields in lines:
        if not fields or all(field in ("", None) for field in fields):
            continue
        if len(fields) != width:
            yield Problem(name, line, "-", f"{len(fields)} fields where the header has {width}")
            continue
        period = fields[positions["period"]]
        source = fields[positions["source"]] if "source" in positions else None
        for position, kpi_id in kpi_positions:
            value = fields[position]
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            record: dict[str, object] = {"kpi_id": kpi_id, "period": period, "value": value}
            if source is not None:
                record["source"] = source
            yield line, record


def _xlsx_rows(
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
    path: Path,
    fmt: str,
    on_read: Callable[[int], None] | None = None,
    layout: Layout = Layout(),
    known: Iterable[str] = (),
) -> Iterator[Raw | Problem]:
    """Rows of one file as (row number, fields), or problems; decoding is strict UTF-8.
    ``known`` (the KPI ids) lets a wide table's header be judged once."""
    name = str(path)
    if fmt == "xlsx":
        yield from _xlsx_rows(path, name, layout, known)
        return
    try:
        binary = path.open("rb")
    except OSError as error:
        yield Problem(name, 0, "-", f"cannot open: {error.strerror}")
        return
    with binary:
        stream = io.BufferedReader(CountingReader(binary, on_read), buffer_size=CHUNK)
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
        try:
            if fmt == "csv":
                yield from _csv_rows(text, name, layout, known)
            else:
                reader = {"jsonl": _jsonl_rows, "json": _json_array_rows}[fmt]
                yield from reader(text, name)
        except UnicodeDecodeError as error:
            yield Problem(name, 0, "-", f"not UTF-8 text ({error.reason}); save it as UTF-8")
        except csv.Error as error:
            yield Problem(name, 0, "-", f"not valid CSV: {error}")


def decimal_of(path: Path, fmt: str, layout: Layout) -> str:
    """The decimal mark of a file's values: as given, else a comma in a CSV file whose
    delimiter is ``;``, else a point."""
    if layout.decimal is not None:
        return layout.decimal
    if fmt != "csv":
        return "."
    delimiter = layout.delimiter
    if delimiter is None:
        try:
            with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as handle:
                delimiter = sniff_delimiter(handle.readline())
        except OSError:
            return "."
    return "," if delimiter == ";" else "."


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
    shapes: Mapping[str, KpiShape] | None = None,
    decimal: str = ".",
) -> Iterator[list[ValidRow] | Problem]:
    """Validate in batches with pydantic; yield batches of valid rows and every problem.

    ``shapes`` (each KPI's unit and frequency) let a value such as ``9.1%`` or a month such
    as ``2026-07`` be read, and refuse a value outside its unit's plausible range; with a
    decimal comma every value is read by :func:`parse_number` first. A plain number never
    takes that slower path."""
    batch: list[Raw] = []
    shapes = shapes or {}

    def flush() -> Iterator[list[ValidRow] | Problem]:
        if decimal != ".":
            yield from _read_values(batch, name, shapes, decimal)
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
            for index in list(bad):
                read = _read_value(records[index], bad[index], shapes)
                if isinstance(read, str):
                    bad[index] = [{**bad[index][0], "loc": (index, "value"), "msg": read}]
                elif read is not None:
                    parsed[index] = read
                    del bad[index]
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
                month = month_period(model["period"], shapes.get(model["kpi_id"]))
                if month is None:
                    yield Problem(name, row, "period", f"{model['period']!r} is {problem}")
                    continue
                model["period"] = month
            shape = shapes.get(model["kpi_id"])
            problem = implausibility(model["value"], shape.unit, model["kpi_id"]) if shape else None
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
    unreadable = False  # a file-level problem already says why no row came
    for item in rows:
        if isinstance(item, Problem):
            unreadable = unreadable or item.row == 0
            yield item
            continue
        any_row = True
        batch.append(item)
        if len(batch) >= BATCH:
            yield from flush()
    if batch:
        yield from flush()
    if not any_row and not unreadable:
        yield Problem(name, 0, "-", "no observations in the file")


def _read_values(
    batch: list[Raw], name: str, shapes: Mapping[str, KpiShape], decimal: str
) -> Iterator[Problem]:
    """Read every text value of ``batch`` with ``decimal`` as the decimal mark, in place;
    a row whose value cannot be read is a problem and leaves the batch."""
    kept: list[Raw] = []
    for row, fields in batch:
        value = fields.get("value")
        if isinstance(value, str):
            shape = shapes.get(str(fields.get("kpi_id", "")).strip())
            try:
                unit = shape.unit if shape else None
                fields = {**fields, "value": parse_number(value, unit, decimal)}
            except ValueError as error:
                yield Problem(name, row, "value", str(error))
                continue
        kept.append((row, fields))
    batch[:] = kept


def _read_value(
    fields: dict[str, object], errors: list[ErrorDetails], shapes: Mapping[str, KpiShape]
) -> ObservationIn | str | None:
    """A row pydantic refused only for a text value, read as people write numbers: the row,
    or why the value cannot be read; None when the row has other problems."""
    value = fields.get("value")
    if not isinstance(value, str) or any(e["loc"][1:] != ("value",) for e in errors):
        return None
    if not value.strip():
        return None
    shape = shapes.get(str(fields.get("kpi_id", "")).strip())
    try:
        number = parse_number(value, shape.unit if shape else None)
    except ValueError as error:
        return str(error)
    try:
        return ROW_ADAPTER.validate_python({**fields, "value": number})
    except ValidationError:
        return None


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
