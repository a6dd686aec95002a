"""An import: every row of every file read, validated and staged, then merged into the store
in one transaction, or nothing when there is any problem (duplicates across files included)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from intelligentos.domain.derived import DerivedRun
from intelligentos.services.derived import compute_pending
from intelligentos.services.imports.model import DEFAULT_LAYOUT, KpiShape, Layout, Problem
from intelligentos.services.imports.read import decimal_of, decode_probe, detect_format, raw_rows
from intelligentos.services.imports.validate import validate_rows
from intelligentos.store import Store
from intelligentos.store.bulk import MergeCounts, Staging

# The problems kept to be shown; the rest are only counted.
PROBLEMS_KEPT = 50


@dataclass
class ImportReport:
    """What an import did, or why it did nothing: ``problems`` (the first
    :data:`PROBLEMS_KEPT`) of ``total_problems``; without a problem, the ``rows`` staged and
    the ``counts`` of their merge (or of its preview, on a dry run), and the derived values
    computed from them in the merge's transaction."""

    rows: int = 0
    counts: MergeCounts | None = None
    problems: list[Problem] = field(default_factory=list)
    total_problems: int = 0
    # The derived values the import computed (none on a dry run).
    derived: DerivedRun = field(default_factory=DerivedRun)

    def report(self, problem: Problem) -> None:
        self.total_problems += 1
        if len(self.problems) < PROBLEMS_KEPT:
            self.problems.append(problem)


def total_size(files: Sequence[Path]) -> int:
    """The bytes an import of ``files`` reads (for a progress bar)."""
    return sum(path.stat().st_size if path.is_file() else 0 for path in files)


def import_files(
    store: Store,
    files: Sequence[Path],
    fmt: str | None = None,
    layout: Layout = DEFAULT_LAYOUT,
    *,
    dry_run: bool = False,
    on_read: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import ``files`` (in ``fmt``, or each one's from its extension) into ``store``: all
    their rows, or none when any is invalid; with ``dry_run`` nothing is written. ``on_read``
    is told of every chunk of bytes read. A row for a derived KPI is a problem (its values
    are computed from its inputs'); the derived values of the periods the import touched are
    computed in the merge's transaction. A :class:`~intelligentos.store.StoreError` says the
    store itself failed."""
    staging = Staging(store)  # checks the file is sound before anything is read
    known = store.kpi_ids()
    catalog = store.read_catalog()
    shapes = {
        kpi.id: KpiShape(kpi.unit, kpi.frequency, kpi.compute) for kpi in catalog.kpis.values()
    }
    outcome = ImportReport()
    for index, path in enumerate(files):
        try:
            file_format = detect_format(path, fmt)
        except ValueError as error:
            outcome.report(Problem(str(path), 0, "-", str(error)))
            continue
        bom = decode_probe(path)
        if bom:
            outcome.report(Problem(str(path), 0, "-", bom))
            continue
        rows = raw_rows(path, file_format, on_read, layout, known)
        marks = decimal_of(path, file_format, layout)
        for item in validate_rows(rows, str(path), index, known, shapes, marks):
            if isinstance(item, Problem):
                outcome.report(item)
            else:
                # Staged even after a problem, so duplicates are reported as well.
                staging.add(
                    [(r.kpi_id, r.period, r.value, r.source, r.file_index, r.row) for r in item]
                )
    for file_index, row, first_file, first_row in staging.duplicates():
        outcome.report(
            Problem(
                str(files[file_index]),
                row,
                "kpi_id,period",
                f"duplicate of {files[first_file]}:{first_row}",
            )
        )
    if outcome.total_problems:
        staging.close()
        return outcome
    outcome.rows = staging.rows
    try:
        if dry_run:
            outcome.counts = staging.preview()
        else:

            def derive() -> None:
                outcome.derived = compute_pending(store, catalog)

            outcome.counts = staging.merge(then=derive)
    finally:
        staging.close()
    return outcome
