"""Validating rows in batches with pydantic: valid rows for the store's staging area, and
every problem."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, NotRequired

from pydantic import ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails
from typing_extensions import TypedDict

from intelligentos.domain.plausibility import implausibility
from intelligentos.services.imports.model import KpiShape, Problem, Raw
from intelligentos.services.imports.values import month_period, parse_number, period_problem

BATCH = 5000


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
            shape = shapes.get(model["kpi_id"])
            if shape is not None and shape.compute is not None:
                yield Problem(
                    name,
                    row,
                    "kpi_id",
                    f"{model['kpi_id']} is computed from its expression ({shape.compute}); "
                    "import its inputs instead",
                )
                continue
            problem = period_problem(model["period"])
            if problem:
                month = month_period(model["period"], shapes.get(model["kpi_id"]))
                if month is None:
                    yield Problem(name, row, "period", f"{model['period']!r} is {problem}")
                    continue
                model["period"] = month
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
