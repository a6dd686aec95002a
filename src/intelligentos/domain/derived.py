"""Derived KPIs' values: each one's expression over its inputs' values for the same period.

A derived KPI (``compute`` in the catalog) has a value for a period exactly when every KPI
its expression reads has a value for that period, under the same period key (the period
text, as stored: ``2026-07-01`` and ``2026-07-01T00:00:00`` are two periods). Frequencies are
not converted: a monthly KPI computed from weekly inputs has a value only for a period both
share, so an expression should read KPIs of its own frequency. A derived KPI may read
another; :func:`derive` computes them inputs first.

Where every input has a value but the expression has none (a division by zero, a result
that is not a finite number), the period gets no value and a :class:`Gap` says why.

Pure Python: no SQL, no Textual, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from intelligentos.domain.catalog.models import Kpi
from intelligentos.domain.formatting import plural
from intelligentos.domain.formula import Formula
from intelligentos.domain.plausibility import Gap, gaps_sentence
from intelligentos.domain.rollup import derived_order, formula_of


@dataclass(frozen=True)
class Derivation:
    """What computing the derived KPIs found for a batch of periods: each one's values,
    position by position (None where it has none), and its gaps (position -> why)."""

    values: dict[str, list[float | None]]
    gaps: dict[str, dict[int, str]]


def plan(kpis: Mapping[str, Kpi]) -> list[tuple[str, Formula]]:
    """The derived KPIs and their expressions, each after every derived KPI it reads
    (:func:`intelligentos.domain.rollup.derived_order`)."""
    ordered: list[tuple[str, Formula]] = []
    for kpi_id in derived_order(kpis):
        formula = formula_of(kpis[kpi_id])
        assert formula is not None  # derived_order gives derived KPIs only
        ordered.append((kpi_id, formula))
    return ordered


def derive(
    order: Iterable[tuple[str, Formula]],
    size: int,
    measured: Mapping[str, Sequence[float | None]],
) -> Derivation:
    """The derived values of ``size`` periods from the measured values (KPI id -> its
    values, position by position, None where it has none), in ``order`` (:func:`plan`): a
    derived KPI whose input has no value has none either, and no gap (the gap, if any, is
    its input's). The expressions are evaluated over the whole batch at once
    (:meth:`~intelligentos.domain.formula.Formula.evaluate_many`)."""
    known: dict[str, Sequence[float | None]] = dict(measured)
    values: dict[str, list[float | None]] = {}
    gaps: dict[str, dict[int, str]] = {}
    for kpi_id, formula in order:
        known.pop(kpi_id, None)  # never read a derived KPI's stored value as an input
        complete = [True] * size
        for name in formula.inputs:
            column_of = known.get(name) or [None] * size
            complete = [c and v is not None for c, v in zip(complete, column_of, strict=True)]
        results = formula.evaluate_many(known, size) if any(complete) else []
        column: list[float | None] = [None] * size
        found: dict[int, str] = {}
        for index, result in enumerate(results):
            if not complete[index]:
                continue
            if isinstance(result, str):
                found[index] = result
            else:
                column[index] = result
        values[kpi_id] = column
        gaps[kpi_id] = found
        known[kpi_id] = column
    return Derivation(values, gaps)


@dataclass(frozen=True)
class DerivedRun:
    """What one computation of derived values wrote: values written (new or changed),
    values removed (their inputs no longer give one), and the gaps it found (the first few,
    and how many)."""

    written: int = 0
    removed: int = 0
    gaps: tuple[Gap, ...] = ()
    gap_count: int = 0

    def __bool__(self) -> bool:
        return bool(self.written or self.removed or self.gap_count)

    def gaps_sentence(self) -> str | None:
        """The sentence for the periods left without a value, if any."""
        return gaps_sentence(self.gaps, self.gap_count)

    def summary(self) -> str:
        """One line for an import's summary."""
        parts = [f"{plural(self.written, 'derived value')} computed"]
        if self.removed:
            parts.append(f"{self.removed:,} removed (an input has no value any more)")
        text = ", ".join(parts) + "."
        gaps = self.gaps_sentence()
        return f"{text} {gaps}." if gaps else text
