"""Wide tables: ``period[, source]`` then one column per KPI id."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from intelligentos.services.imports.model import Problem, Raw


def wide_rows(
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
