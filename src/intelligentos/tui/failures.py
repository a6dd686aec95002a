"""What the user is told when background work fails: what failed, by the name they know it by,
and why."""

from __future__ import annotations

from textual.worker import Worker

from intelligentos.domain.formatting import literal
from intelligentos.tui.base import Cockpit

# What each group of background work does, as the user knows it: a failure names it.
WORK_DONE_BY_GROUP = {
    "store": "Opening the store",
    "refresh": "Refreshing the cockpit",
    "prewarm": "Preparing the lineage screen",
    "forecasts": "Forecasting",
    "watch": "Watching the store for changes",
    "lifecycle": "Saving the alert change",
    "alerts": "Reading the alerts",
    "events": "Reading the alert's history",
    "history": "Reading the KPI's history",
    "why": "Explaining the KPI",
    "brief": "Reading the brief",
    "brief-export": "Exporting the brief",
    "scenario-save": "Saving the scenario",
    "scenario-list": "Reading the saved scenarios",
    "scenario-compare": "Comparing the scenarios",
    "scenario-delete": "Deleting the scenario",
    "okr": "Reading the OKR proposals",
    "okr-accept": "Accepting the targets",
    "cascade": "Checking the targets' cascade",
}


def report_failure(app: Cockpit, worker: Worker[object]) -> None:
    """Tell the user what failed and why, and log it."""
    error = worker.error
    what = WORK_DONE_BY_GROUP.get(worker.group) or worker.name.replace("_", " ").strip()
    why = str(error) or type(error).__name__
    app.log.error(f"{what} ({worker.name}) failed: {error!r}")
    app.notify(
        literal(why),
        title=f"{what[:1].upper()}{what[1:]} failed",
        severity="error",
        timeout=10,
        markup=False,
    )
