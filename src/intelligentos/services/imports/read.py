"""One file's rows, whatever its format: strict UTF-8, counted for a progress bar, each row
as (row number, fields) or a problem."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from intelligentos.services.imports.json_rows import json_array_rows, jsonl_rows
from intelligentos.services.imports.model import (
    CHUNK,
    DEFAULT_LAYOUT,
    FORMATS,
    Layout,
    Problem,
    Raw,
)
from intelligentos.services.imports.tables import csv_rows, sniff_delimiter, xlsx_rows

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer


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


def raw_rows(
    path: Path,
    fmt: str,
    on_read: Callable[[int], None] | None = None,
    layout: Layout = DEFAULT_LAYOUT,
    known: Iterable[str] = (),
) -> Iterator[Raw | Problem]:
    """Rows of one file as (row number, fields), or problems; decoding is strict UTF-8.
    ``known`` (the KPI ids) lets a wide table's header be judged once."""
    name = str(path)
    if fmt == "xlsx":
        yield from xlsx_rows(path, name, layout, known)
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
                yield from csv_rows(text, name, layout, known)
            else:
                reader = {"jsonl": jsonl_rows, "json": json_array_rows}[fmt]
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
