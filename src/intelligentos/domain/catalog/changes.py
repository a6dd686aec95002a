"""What an edited catalog changes about the KPIs both versions have (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from intelligentos.domain.catalog.models import Catalog, Kpi

# What sync-catalog reports, in this order; the first group changes how KPIs are judged.
JUDGING_FIELDS = ("target", "warning", "critical", "direction", "unit", "frequency", "detection")
REPORTED_FIELDS = (
    "name",
    *JUDGING_FIELDS,
    "rolls_up_to",
    "weight",
    "engine",
    "owner_agent",
    "formula",
)


@dataclass(frozen=True)
class KpiChange:
    kpi_id: str
    field: str
    before: object
    after: object

    @property
    def judging(self) -> bool:
        """Whether the change can change the KPI's status and its alerts."""
        return self.field in JUDGING_FIELDS or self.field.startswith(_QUARTER_TARGET)

    def describe(self) -> str:
        return f"{self.field} {_shown(self.field, self.before)} → {_shown(self.field, self.after)}"


# A quarterly target's change is reported as the field "target 2027Q1".
_QUARTER_TARGET = "target "


def _shown(field: str, value: object) -> str:
    if value is None:
        return "none"
    if field in ("warning", "critical") and isinstance(value, float):
        return f"{value:.0%}"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str) and field in ("name", "formula"):
        return repr(value)
    return str(getattr(value, "value", value))


def _value(kpi: Kpi, field: str) -> object:
    value = getattr(kpi, field)
    return value.non_defaults() if field == "detection" else value


def kpi_changes(before: Catalog, after: Catalog) -> list[KpiChange]:
    """Changes to the reported fields of every KPI in both catalogs, in catalog order."""
    changes = []
    for kpi_id, new in after.kpis.items():
        old = before.kpis.get(kpi_id)
        if old is None:
            continue
        for field in REPORTED_FIELDS:
            was, now = _value(old, field), _value(new, field)
            if was != now:
                changes.append(KpiChange(kpi_id, field, was, now))
        for quarter in sorted(old.targets.keys() | new.targets.keys()):
            was, now = old.targets.get(quarter), new.targets.get(quarter)
            if was != now:
                changes.append(KpiChange(kpi_id, _QUARTER_TARGET + quarter, was, now))
    return changes


def judged_differently(changes: Iterable[KpiChange]) -> set[str]:
    """KPIs whose status may change: their open alerts must be judged again."""
    return {change.kpi_id for change in changes if change.judging}
