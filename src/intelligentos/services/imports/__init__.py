"""Importing observation files (CSV, JSON array, JSON Lines, Excel .xlsx), streaming.

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

from intelligentos.services.imports.model import DECIMALS, DELIMITERS, Layout, Problem
from intelligentos.services.imports.run import PROBLEMS_KEPT, ImportReport, import_files, total_size
from intelligentos.services.imports.values import parse_number

__all__ = [
    "DECIMALS",
    "DELIMITERS",
    "PROBLEMS_KEPT",
    "ImportReport",
    "Layout",
    "Problem",
    "import_files",
    "parse_number",
    "total_size",
]
