"""What every reader and the validation share: the columns, formats and layouts of a file,
and a problem found in one."""

from __future__ import annotations

from dataclasses import dataclass

from intelligentos.domain.catalog.models import Frequency, Unit
from intelligentos.domain.formatting import literal

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
CHUNK = 1 << 16

Raw = tuple[int, dict[str, object]]  # (row number in the file, fields)


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
    compute: str | None = None  # a derived KPI's expression: its values are never imported


# Long, with the delimiter and the decimal mark found from the file.
DEFAULT_LAYOUT = Layout()
