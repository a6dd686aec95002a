"""Weights against history, from a store: the histories of the KPIs on weighted edges, read and
fitted (:mod:`intelligentos.domain.calibrate`); and the warnings ``validate --history`` prints."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from intelligentos.domain.calibrate import Calibration, calibrate, disagreement_text, weighted_edges
from intelligentos.domain.catalog.governance import Violation
from intelligentos.domain.clock import period_upper_bound

if TYPE_CHECKING:
    from intelligentos.domain.catalog.models import Catalog
    from intelligentos.store import Store


def calibrate_store(
    store: Store, catalog: Catalog, today: date, kpi_id: str | None = None
) -> list[Calibration]:
    """Every weighted edge of ``catalog`` (those of ``kpi_id``) fitted on the store's history
    up to the end of ``today`` (rows dated later are not values yet). A KPI the store does not
    hold has no history: its edges fit nothing."""
    edges = weighted_edges(catalog, kpi_id)
    wanted = list(dict.fromkeys(k for edge in edges for k in (edge.child, edge.parent)))
    held = set(store.observation_counts(wanted))
    until = period_upper_bound(today)
    histories = {k: store.history(k, until=until) for k in wanted if k in held}
    return calibrate(catalog, histories, kpi_id)


def history_warnings(store: Store, catalog: Catalog, today: date) -> list[Violation]:
    """``validate --history``: one warning per weighted edge whose history disagrees with the
    catalog (see :attr:`Calibration.disagrees`), on the child's ``weight`` or
    ``sensitivity``."""
    found = []
    for calibration in calibrate_store(store, catalog, today):
        if not calibration.disagrees:
            continue
        edge = calibration.edge
        child, parent = catalog.kpis[edge.child], catalog.kpis[edge.parent]
        found.append(
            Violation(
                "history",
                child.source,
                f"kpi.{child.id}.{calibration.implied_from}",
                f"{child.name} → {parent.name}: " + disagreement_text(calibration, parent, child),
            )
        )
    return found
