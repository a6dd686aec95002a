"""Explanations and plans for the views the user already looks at: the brief, an alert (its
notification and the alerts screen) and the agents view. Reads, never writes; blocking (the
cockpit calls it from a worker).

* :func:`week_explanations`: each CEO KPI's move over a brief's week.
* :func:`plans`: the recommendations and least-effort plan of each off-target KPI.
* :func:`alert_driver`: what drove the move that fired an alert (see
  :mod:`intelligentos.domain.explain.actions`): its KPI's period that fired it against the
  one before, explained one level down. An alert about data that stopped coming (the
  ``stale`` and ``stale-source`` rules) has none, nor has an alert on a KPI's first value.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from intelligentos.domain.alerts import Alert
from intelligentos.domain.brief.compose import week_start
from intelligentos.domain.catalog.models import Catalog
from intelligentos.domain.clock import period_date, period_upper_bound
from intelligentos.domain.detection import Rule, period_end
from intelligentos.domain.explain.actions import Driver, driver
from intelligentos.domain.explain.model import ExplainError, Explanation
from intelligentos.domain.explain.recommend import Recommendations
from intelligentos.domain.whatif.propagation import Tree
from intelligentos.services.explain import ExplainRequest, explain_kpi, recommend_kpi
from intelligentos.store import Store

# Rules about data that stopped coming: no move fired them.
UNDRIVEN_RULES = frozenset({Rule.STALE.value, Rule.STALE_SOURCE.value})


def week_explanations(
    store: Store, catalog: Catalog, tree: Tree, kpi_ids: Iterable[str], as_of: date
) -> dict[str, Explanation | str]:
    """Each KPI's move over the week ending ``as_of``: from its latest value before the
    week began to its latest as of the date (the brief's "this week"), explained; the
    sentence of an :class:`ExplainError` where it cannot be."""
    before = week_start(as_of) - timedelta(days=1)
    found: dict[str, Explanation | str] = {}
    for kpi_id in kpi_ids:
        request = ExplainRequest(kpi_id, as_of, date_from=before, date_to=as_of)
        try:
            found[kpi_id] = explain_kpi(store, request, catalog, tree)
        except ExplainError as error:
            found[kpi_id] = str(error)
    return found


def plans(
    store: Store, catalog: Catalog, tree: Tree, kpi_ids: Iterable[str], as_of: date
) -> dict[str, Recommendations | str]:
    """Each KPI's recommendations and least-effort plan as of ``as_of``; the sentence of an
    :class:`ExplainError` where there are none."""
    found: dict[str, Recommendations | str] = {}
    for kpi_id in kpi_ids:
        try:
            found[kpi_id] = recommend_kpi(store, kpi_id, as_of, catalog, tree)
        except ExplainError as error:
            found[kpi_id] = str(error)
    return found


def alert_driver(
    store: Store, alert: Alert, catalog: Catalog, tree: Tree | None = None
) -> Driver | None:
    """What drove the move that fired ``alert``; None when there is nothing to name.
    Raises :class:`ExplainError` (one sentence) when the move cannot be explained."""
    kpi = catalog.kpis.get(alert.kpi_id or "")
    if kpi is None or alert.period is None or alert.rule in UNDRIVEN_RULES:
        return None
    day = period_end(period_date(alert.period), kpi.frequency)
    window = store.latest_windows(2, [kpi.id], until=period_upper_bound(day))[kpi.id]
    if len([value for _, value in window if value is not None]) < 2:
        return None  # its first value: no move to explain
    request = ExplainRequest(kpi.id, day, depth=1)
    return driver(explain_kpi(store, request, catalog, tree or Tree(catalog)))
