"""A small store graded by hand for 2026Q3 (1 July – 30 September 2026).

Start is the latest value before the quarter, actual the latest in it (up to the day graded):

* **Revenue Growth** (CEO, higher, target 30, CEO Agent): 20 → 26: (26 − 20) / (30 − 20) = 0.6.
* **Win Rate** (higher, target 25, weekly, CRO Agent): 20 flat for 13 weeks before the quarter,
  then 21 21 22 22 22 22 23 23 23 23 23 23 23: (23 − 20) / (25 − 20) = 0.6.
* **Sales Cycle** (lower, target 30 days, CRO Agent): 40 → 38: asked 40 − 30 = 10, made
  40 − 38 = 2: 0.2.
* **CSAT** (higher, target 90, warning 5 %, CRO Agent): 95 at the start (already met, so no
  progress asked), 88 at the end: shortfall 2 over the band 0.05 × 90 = 4.5: 1 − 2/4.5 = 0.5556.
* **NPS** (band, target 50, warning 10 %, CCO Agent, Retention engine): 50 → 53: distance 3
  over the band 0.1 × 50 = 5: 1 − 3/5 = 0.4.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from intelligentos.domain.observations import Observation
from intelligentos.services.catalog import load_catalog
from intelligentos.store import create_store

from .conftest import MINI_CATALOG, write_catalog

__all__ = ["OKR_KPIS", "OKR_ORG", "WIN_RATE_IN_Q3", "make_okr_store", "okr_catalog"]

OKR_ORG = """
[engine.retention]
name = "Retention"
owners = ["success"]
rollup_kpis = ["nps"]

[function.success]
name = "Customer Success"
agent = "cco"

[agent.cco]
name = "CCO Agent"
function = "success"
owns = ["nps"]
"""

_LINEAGE = """[[kpi.{id}.lineage]]
metric = "Closed opportunities"
workflow = "opportunity_management"
step = "close"
fields = ["crm.opportunity.stage"]
"""

OKR_KPIS = (
    """
[kpi.cycle_time]
name = "Sales Cycle"
level = "functional"
unit = "days"
direction = "lower"
target = 30.0
frequency = "monthly"
formula = "Days from open to close"
engine = "growth"
owner_function = "sales"
owner_agent = "cro"
rolls_up_to = "win_rate"
weight = 0.5
"""
    + _LINEAGE.format(id="cycle_time")
    + """
[kpi.csat]
name = "CSAT"
level = "functional"
unit = "percent"
direction = "higher"
target = 90.0
frequency = "monthly"
formula = "Satisfied / surveyed"
engine = "growth"
owner_function = "sales"
owner_agent = "cro"
rolls_up_to = "win_rate"
weight = 0.5
"""
    + _LINEAGE.format(id="csat")
    + """
[kpi.nps]
name = "NPS"
level = "ceo"
unit = "score"
direction = "band"
target = 50.0
warning = 0.1
critical = 0.2
frequency = "monthly"
formula = "Promoters - detractors"
engine = "retention"
owner_function = "success"
owner_agent = "cco"
"""
    + _LINEAGE.format(id="nps")
)

WIN_RATE_IN_Q3 = [21, 21, 22, 22, 22, 22, 23, 23, 23, 23, 23, 23, 23]
_LAST_WEEK_BEFORE = date(2026, 6, 29)  # a Monday; the quarter's weeks follow it


def _weekly() -> list[Observation]:
    weeks = [_LAST_WEEK_BEFORE + timedelta(weeks=i) for i in range(-12, 14)]
    values = [20.0] * 13 + [float(v) for v in WIN_RATE_IN_Q3]
    return [Observation("win_rate", d.isoformat(), v) for d, v in zip(weeks, values, strict=True)]


def _monthly(kpi_id: str, values: dict[str, float]) -> list[Observation]:
    return [Observation(kpi_id, f"2026-{month}-01", v) for month, v in values.items()]


def okr_catalog(tmp_path: Path) -> Path:
    files = dict(MINI_CATALOG)
    files["org.toml"] += OKR_ORG
    files["kpis.toml"] += OKR_KPIS
    return write_catalog(tmp_path / "okr_catalog", files)


def make_okr_store(tmp_path: Path) -> Path:
    observations = [
        *_weekly(),
        *_monthly("revenue_growth", {"05": 18.0, "06": 20.0, "07": 22.0, "08": 25.0, "09": 26.0}),
        *_monthly("cycle_time", {"06": 40.0, "07": 39.0, "08": 41.0, "09": 38.0}),
        *_monthly("csat", {"06": 95.0, "07": 93.0, "08": 90.0, "09": 88.0}),
        *_monthly("nps", {"06": 50.0, "07": 49.0, "08": 52.0, "09": 53.0}),
        # After the quarter: never part of its grade.
        *_monthly("revenue_growth", {"10": 29.0}),
        *_monthly("nps", {"10": 60.0}),
    ]
    path = tmp_path / "okr.db"
    create_store(path, load_catalog(okr_catalog(tmp_path)), observations)
    return path
