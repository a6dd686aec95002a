"""Quarterly targets: the one in force per KPI and quarter (``kpi_targets``) and the log of
every change to them (``target_changes``)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from intelligentos.domain.okr.targets import QuarterTarget, TargetChange, TargetSource
from intelligentos.domain.quarters import Quarter
from intelligentos.store.connection import StoreConnections
from intelligentos.store.schema import (
    BUMP_CATALOG_VERSION,
    INSERT_TARGET_CHANGE,
    SELECT_KPI_TARGETS,
    UPSERT_KPI_TARGET,
)


def _target(row: Mapping[str, Any]) -> QuarterTarget:
    return QuarterTarget(
        kpi_id=row["kpi_id"],
        quarter=Quarter.parse(row["quarter"]),
        value=row["value"],
        source=TargetSource(row["source"]),
        who=row["who"],
        at=row["at"],
        note=row["note"],
    )


def _change(row: Mapping[str, Any]) -> TargetChange:
    return TargetChange(
        kpi_id=row["kpi_id"],
        quarter=Quarter.parse(row["quarter"]),
        before=row["before"],
        after=row["after"],
        source=TargetSource(row["source"]),
        who=row["who"],
        at=row["at"],
        note=row["note"],
    )


class OkrQueries(StoreConnections):
    """Reading and setting quarterly targets, and their history."""

    def quarter_targets(self, kpi_ids: Collection[str] | None = None) -> list[QuarterTarget]:
        """Every quarterly target (of ``kpi_ids``, when given), by KPI and quarter."""
        rows = self.query(SELECT_KPI_TARGETS)
        wanted = None if kpi_ids is None else set(kpi_ids)
        return [_target(row) for row in rows if wanted is None or row["kpi_id"] in wanted]

    def set_quarter_targets(self, targets: Iterable[QuarterTarget]) -> list[TargetChange]:
        """Write ``targets`` (each replaces its KPI's target for its quarter, with who set it,
        when, from where and why), log each change in ``target_changes`` and count a new
        catalog version (readers read the catalog again); the changes, in the order given.
        A target equal to the one held changes nothing. Call inside :meth:`transaction`."""
        changes: list[TargetChange] = []
        with self._read() as conn:
            for target in targets:
                quarter = str(target.quarter)
                held = conn.execute(
                    "SELECT value FROM kpi_targets WHERE kpi_id = ? AND quarter = ?",
                    (target.kpi_id, quarter),
                ).fetchone()
                before = None if held is None else held[0]
                if before == target.value:
                    continue
                values = (target.kpi_id, quarter, target.value, target.source.value)
                provenance = (target.who, target.at, target.note)
                conn.execute(UPSERT_KPI_TARGET, (*values, *provenance))
                conn.execute(
                    INSERT_TARGET_CHANGE,
                    (
                        target.kpi_id,
                        quarter,
                        before,
                        target.value,
                        target.source.value,
                        *provenance,
                    ),
                )
                changes.append(
                    TargetChange(
                        target.kpi_id,
                        target.quarter,
                        before,
                        target.value,
                        target.source,
                        *provenance,
                    )
                )
            if changes:
                conn.execute(BUMP_CATALOG_VERSION)
        return changes

    def target_changes(
        self,
        kpi_ids: Collection[str] | None = None,
        *,
        since: str | None = None,
        until: str | None = None,
    ) -> list[TargetChange]:
        """The logged changes (of ``kpi_ids``; made at or after ``since`` and before
        ``until``, ISO-8601 stamps), oldest first."""
        rows = self.query(
            "SELECT * FROM target_changes WHERE at >= ? AND at < ? ORDER BY at, id",
            (since or "", until or "\uffff"),
        )
        wanted = None if kpi_ids is None else set(kpi_ids)
        return [_change(row) for row in rows if wanted is None or row["kpi_id"] in wanted]
