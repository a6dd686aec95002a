"""Messages the cockpit's workers and widgets post. Workers never touch a widget: they post
one of these, and a handler on the event loop applies it (or drops it when stale)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from textual.message import Message

from intelligentos.domain.agents import Route
from intelligentos.domain.alerts import Alert, Event
from intelligentos.domain.catalog.models import Catalog
from intelligentos.domain.incidents import Incident
from intelligentos.domain.silences import Silence
from intelligentos.services.snapshots import CockpitData, History
from intelligentos.store import Store
from intelligentos.store.forecast import StoredForecast

if TYPE_CHECKING:  # imported when needed, off the launch path
    from intelligentos.config.settings import CockpitSettings
    from intelligentos.domain.calibrate import Calibration
    from intelligentos.domain.explain.model import Explanation
    from intelligentos.domain.explain.recommend import Recommendations
    from intelligentos.domain.whatif.scenarios import SavedScenario
    from intelligentos.services.notify import Notifier
    from intelligentos.services.whatif import Comparison


@dataclass
class StoreOpened(Message):
    store: Store


@dataclass
class CatalogLoaded(Message):
    """The first refresh has read the catalog; its values follow in a DataLoaded."""

    catalog: Catalog


@dataclass
class SettingsLoaded(Message):
    """The validated settings, and the notifier they configure (prepared on the store)."""

    settings: CockpitSettings
    notifier: Notifier


@dataclass
class StoreFailed(Message):
    """The store could not be opened: the cockpit ends with this sentence."""

    error: str


@dataclass
class DataLoaded(Message):
    """A refresh's result; ``request`` numbers the refresh that made it."""

    data: CockpitData
    request: int


@dataclass
class RefreshEnded(Message):
    """A refresh finished (with data or not): the next one may start."""

    request: int
    problem: str | None = None


@dataclass
class StoreChanged(Message):
    """Another connection committed to the store."""


@dataclass
class IntegrityFailed(Message):
    error: str


@dataclass
class StrayRowsFound(Message):
    """Rows written around the importer (unknown KPI, bad period, implausible value), or
    periods a derived KPI has no value for: a notice, as one message."""

    message: str


@dataclass
class LifecycleApplied(Message):
    """Acknowledge or snooze is done; ``problems`` are the sentences of refused ones."""

    problems: list[str]


@dataclass
class HistoryLoaded(Message):
    """A KPI's history for the lineage chart, and its stored forecast read with it (None:
    no forecast stored)."""

    kpi_id: str
    zoom: int | None
    history: History
    forecast: StoredForecast | None = None
    past: date | None = None  # the as-of date it was read for (None: live)


@dataclass
class CalibrationLoaded(Message):
    """The weighted edges of a KPI fitted on its history, for the lineage details."""

    kpi_id: str
    calibrations: list[Calibration]
    past: date | None = None  # the as-of date it was read for (None: live)


@dataclass
class WhyLoaded(Message):
    """Why a KPI moved (or misses its target) and what to do about it, for the Why pane;
    ``problem`` and ``advice`` are the sentences that say why either is missing."""

    kpi_id: str
    basis: str  # "change" or "target"
    explanation: Explanation | None
    recommendations: Recommendations | None
    problem: str | None = None  # why there is no explanation
    advice: str | None = None  # why there are no recommendations
    past: date | None = None  # the as-of date it was read for (None: live)


@dataclass
class IncidentsLoaded(Message):
    """The alerts screen's incidents in one state (``state_filter``), with their alerts'
    routes and the silences holding each silenced alert, by alert id."""

    state_filter: str
    incidents: list[Incident]
    past: date | None = None  # the as-of date they were read for (None: live)
    routes: dict[int, list[Route]] = field(default_factory=dict)  # by alert id
    agent_filter: str | None = None  # only the incidents routed to this agent (None: all)
    silenced: dict[int, Silence] = field(default_factory=dict)


@dataclass
class SilenceAdded(Message):
    """A silence saved from the alerts screen, or the sentence that says why not."""

    silence: Silence | None
    problem: str | None = None


@dataclass
class EventsLoaded(Message):
    alert: Alert
    title: str
    events: list[Event]
    past: date | None = None  # the as-of date they were read for (None: live)


@dataclass
class OpenLineage(Message):
    """Ask for the lineage drill-down of a KPI."""

    kpi_id: str


@dataclass
class KpiSelected(Message):
    """A KPI became the selection (row highlighted or card focused)."""

    kpi_id: str


@dataclass
class ForecastsEnded(Message):
    """A background forecasting run finished; ``problem`` when it failed, ``done`` what to
    tell the user when it was asked for."""

    problem: str | None = None
    done: str | None = None


@dataclass
class ScenariosLoaded(Message):
    """The saved scenarios, read for ``purpose`` ("open" or "compare")."""

    purpose: str
    scenarios: list[SavedScenario]
    problem: str | None = None


@dataclass
class ScenarioSaved(Message):
    """A scenario was saved (or ``problem`` says why not; nothing was written)."""

    scenario: SavedScenario | None
    problem: str | None = None


@dataclass
class ScenarioDeleted(Message):
    name: str
    deleted: bool
    problem: str | None = None


@dataclass
class ComparisonLoaded(Message):
    """Two saved scenarios' CEO KPIs side by side (or ``problem``)."""

    comparison: Comparison | None
    problem: str | None = None


@dataclass
class NotificationsSent(Message):
    """A delivery run to the ``[[notify]]`` sinks ended: a sentence per failed sink and per
    skipped one, and in how many seconds a delivery that did not get through is due again."""

    failures: list[str]
    problems: list[str]
    retry_in: float | None = None
