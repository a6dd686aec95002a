"""Computing derived KPIs' observations: after an import (in its transaction), when another
process wrote inputs (the cockpit's refresh, ``check``), on ``init`` and when ``sync-catalog``
adds or changes an expression.

The store records which periods need it (``derived_pending``, kept by triggers for every
writer); this reads them in batches, in order, has the domain evaluate each period's
expressions (:func:`intelligentos.domain.derived.derive`) and writes back only what changed:
a value new or different, a value whose inputs are gone, a gap found or closed. The cost
grows with the periods written since the last computation, not with the history.
"""

from __future__ import annotations

from datetime import datetime

from intelligentos.domain.catalog.models import Catalog
from intelligentos.domain.clock import stamp, utc_now
from intelligentos.domain.derived import DerivedRun, derive, plan
from intelligentos.domain.plausibility import Gap
from intelligentos.store import Store

BATCH = 2000  # pending periods read, computed and written at a time
GAPS_SHOWN = 5


def compute_pending(store: Store, catalog: Catalog, now: datetime | None = None) -> DerivedRun:
    """Compute the derived values of every pending period; call inside the store's
    :meth:`~intelligentos.store.Store.transaction` (an import's merge, an evaluation)."""
    order = plan(catalog.kpis)
    if not order:
        return DerivedRun()
    moment = stamp(now or utc_now())
    derived = [kpi_id for kpi_id, _ in order]
    inputs = list(dict.fromkeys(n for _, f in order for n in f.inputs if n not in derived))
    sources = {kpi_id: f"= {formula.text}" for kpi_id, formula in order}
    written = removed = 0
    gaps: list[Gap] = []
    gap_count = 0
    after = ""
    while periods := store.pending_periods(after, BATCH):
        first, last = periods[0], periods[-1]
        stored = store.pending_values(inputs, first, last)
        measured = {k: [by_period.get(p) for p in periods] for k, by_period in stored.items()}
        result = derive(order, len(periods), measured)
        existing = store.pending_rows(derived, first, last)
        had_gap = store.pending_gaps(first, last)
        upserts: list[tuple[str, str, float, str, str]] = []
        deletes: list[tuple[str, str]] = []
        found: list[tuple[str, str, str]] = []
        for kpi_id in derived:
            rows = existing[kpi_id]
            source = sources[kpi_id]
            computed = zip(periods, result.values[kpi_id], strict=True)
            if not rows:  # the common case after an import: nothing stored yet
                upserts += [(kpi_id, p, v, source, moment) for p, v in computed if v is not None]
            for period, value in computed if rows else ():
                row = rows.get(period)
                if value is None:
                    if row is not None:
                        deletes.append((kpi_id, period))
                elif row is None or row[0] != value or row[1] != 1:
                    upserts.append((kpi_id, period, value, source, moment))
            for index, reason in result.gaps[kpi_id].items():
                found.append((kpi_id, periods[index], reason))
                if len(gaps) < GAPS_SHOWN:
                    gaps.append(Gap(kpi_id, periods[index], reason))
        gap_count += len(found)
        still = {(k, p) for k, p, _ in found}
        cleared = [key for key in had_gap if key not in still]
        store.write_derived(upserts, deletes, found, cleared)
        store.clear_pending(first, last)
        written += len(upserts)
        removed += len(deletes)
        after = last
    return DerivedRun(written, removed, tuple(gaps), gap_count)


def compute_derived(store: Store, catalog: Catalog, now: datetime | None = None) -> DerivedRun:
    """:func:`compute_pending` in a transaction of its own; nothing (not even the write
    lock) when no period is pending or the store is read-only."""
    if store.readonly or not store.has_pending():
        return DerivedRun()
    with store.transaction():
        return compute_pending(store, catalog, now)
