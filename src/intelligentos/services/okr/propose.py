"""Targets proposed for a quarter from the stored forecasts, and the cascade they give."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from intelligentos.domain.catalog.models import Catalog
from intelligentos.domain.okr.cascade import CascadeLink, cascade
from intelligentos.domain.okr.propose import COMMIT, STRETCH, Proposal, outlook_of
from intelligentos.domain.okr.targets import quarter_targets_of
from intelligentos.domain.quarters import Quarter
from intelligentos.domain.whatif.propagation import Tree
from intelligentos.store import Store


class OkrError(ValueError):
    """Bad input to an ``okr`` command: one sentence saying what is wrong."""


@dataclass(frozen=True)
class ProposeRequest:
    quarter: Quarter
    as_of: date  # today, or the day time travel shows: an ended quarter is refused
    kpi_ids: tuple[str, ...] = ()  # none: every KPI with a target
    commit: float = COMMIT
    stretch: float = STRETCH


@dataclass(frozen=True)
class Proposals:
    quarter: Quarter
    proposals: list[Proposal]  # in catalog order
    cascade: list[CascadeLink]  # with the commit targets proposed, the others as they stand


def check_quarter_ahead(quarter: Quarter, as_of: date) -> None:
    """:class:`OkrError` for a quarter that has ended by ``as_of``."""
    if quarter.end < as_of:
        raise OkrError(
            f"{quarter} ended on {quarter.end.isoformat()}; targets can be set for "
            f"{Quarter.of(as_of)} or a later quarter."
        )


def propose_targets(
    store: Store, request: ProposeRequest, catalog: Catalog | None = None
) -> Proposals:
    """A proposal per KPI (those asked for, else every KPI with a target); a KPI without a
    reliable, current forecast reaching the quarter's end is listed with the reason."""
    check_quarter_ahead(request.quarter, request.as_of)
    catalog = catalog or store.read_catalog()
    unknown = [k for k in request.kpi_ids if k not in catalog.kpis]
    if unknown:
        raise OkrError(f"unknown KPI {unknown[0]!r}; `intelligentos-tui kpis` lists them.")
    chosen = (
        [catalog.kpis[k] for k in dict.fromkeys(request.kpi_ids)]
        if request.kpi_ids
        else [k for k in catalog.kpis.values() if not k.tracked]
    )
    ids = [k.id for k in chosen]
    # Only the points at the quarter's end and at each forecast's end: all the proposal uses.
    forecasts = {
        f.forecast.kpi_id: f.forecast for f in store.forecasts_at(request.quarter.end, ids)
    }
    latest = {
        kpi_id: rows[-1][0] if rows else None
        for kpi_id, rows in store.latest_windows(1, ids).items()
    }
    current = quarter_targets_of(catalog, request.quarter)
    proposals = []
    for kpi in chosen:
        if kpi.tracked:
            outlook, reason = None, "tracked: it has no target to propose from"
        else:
            outlook, reason = outlook_of(
                kpi, forecasts.get(kpi.id), request.quarter, latest.get(kpi.id)
            )
        forecast = forecasts.get(kpi.id)
        proposals.append(
            Proposal(
                kpi=kpi,
                current_target=current[kpi.id],
                outlook=outlook,
                model=None if forecast is None else forecast.model,
                reliable=forecast is not None and forecast.reliable,
                reason=reason,
                commit_probability=request.commit,
                stretch_probability=request.stretch,
            )
        )
    proposed = dict(current)
    proposed.update({p.kpi.id: p.commit for p in proposals if p.commit is not None})
    return Proposals(request.quarter, proposals, cascade(Tree(catalog), proposed))
