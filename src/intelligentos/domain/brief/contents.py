"""What a brief holds: every figure of one brief, as data (:mod:`.compose` builds it, the
renderers in :mod:`.render` only lay it out)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from intelligentos.domain.detection import Status
from intelligentos.domain.explain.actions import Action
from intelligentos.domain.whatif.model import MODEL_NOTE
from intelligentos.domain.whatif.scenarios import ScenarioChange

# Event actions in the log, and how the brief words them, in the order it counts them.
ACTIONS = {
    "open": "opened",
    "escalate": "escalated",
    "acknowledge": "acknowledged",
    "snooze": "snoozed",
    "snooze-expired": "snooze expired",
    "resolve": "resolved",
}


@dataclass(frozen=True)
class Projected:
    """A reliable forecast made from the KPI's latest observation, at its horizon."""

    period: str
    mean: float
    lo80: float
    hi80: float
    model: str
    status: Status
    text: str  # "24.1% by 2026-12-31 (80 %: 22.0% – 26.0%, ets)"


@dataclass(frozen=True)
class KpiLine:
    """One KPI as of the date, with its changes and its trend."""

    id: str
    name: str
    level: str
    unit: str
    value: float | None
    period: str | None  # of the latest observation up to the date
    value_text: str
    target: float | None  # None: tracked, no target
    target_text: str
    status: Status
    week_before: float | None  # the latest value before the week began
    week_change_text: str  # "+1.2 pt", "no new value" (none this week), "—"
    previous: float | None  # the value of the KPI's own previous period
    previous_change_text: str
    sparkline: str
    owner: str  # the owning agent's name
    projected: Projected | None = None


@dataclass(frozen=True)
class Headline:
    total: int
    ok: int
    warning: int
    critical: int
    stale: int
    no_data: int
    tracked: int  # with a value and no target to judge it by
    open_alerts: int
    firing: int  # open, unacknowledged, not grouped under a stale source nor silenced
    grouped: int  # firing, but grouped under a stale-source alert (which says it)
    acknowledged: int
    snoozed: int
    silenced: int = 0  # firing and unacknowledged, but covered by a silence


@dataclass(frozen=True)
class AlertChange:
    """One event of the week's alert log, with what its alert is about."""

    at: str
    alert_id: int | None
    subject: str
    kpi_id: str | None
    system_id: str | None
    rule: str
    severity: str
    action: str  # as worded in the brief: "opened", "acknowledged", ...
    actor: str
    from_state: str | None
    to_state: str
    note: str


@dataclass(frozen=True)
class OpenAlert:
    id: int | None
    subject: str
    rule: str
    severity: str
    state: str
    opened_at: str
    acknowledgement: str  # "who: note · snoozed until …", or ""


@dataclass(frozen=True)
class PathStep:
    """A KPI on a risk's way up, the weight it carries into the next one and how its edge
    rolls up (``formula``, ``sensitivity`` or ``weight``; the CEO KPI at the top carries
    none)."""

    id: str
    name: str
    weight: float | None
    kind: str | None = None
    sensitivity: float | None = None


@dataclass(frozen=True)
class Source:
    """A source system a KPI reads, and the data fields it reads there."""

    id: str
    name: str
    fields: tuple[str, ...]  # "table.field"


@dataclass(frozen=True)
class Risk:
    rank: int
    kpi: KpiLine
    shortfall: float  # adverse shortfall as a fraction of |target|
    shortfall_text: str  # "12.5 % below target"
    path_weight: float
    # The CEO KPI's gain were the KPI back on target, as a fraction of the CEO KPI's target:
    # shortfall × path weight on a path of weights (a scoring model); exact through
    # formulas and sensitivities.
    impact: float
    ceo_id: str
    ceo_name: str
    path: tuple[PathStep, ...]
    sources: tuple[Source, ...]
    agent_id: str | None
    agent_name: str
    rules: tuple[str, ...]
    # On a path with a formula or a sensitivity: the CEO KPI's change in its own units
    # were the KPI back on target ("+1.0 pt"), and the model that computed it; None and
    # the weights' note on a path of weights.
    impact_change: float | None = None
    impact_change_text: str | None = None
    model: str = MODEL_NOTE

    @property
    def impact_summary(self) -> str:
        """``1.2 % of its target``, or ``+1.0 pt if Logo Churn were back on target, 1.0 %
        of its target``: what the impact is, in words."""
        share = f"{self.impact * 100:.1f} % of its target"
        if self.impact_change_text is None:
            return share
        return f"{self.impact_change_text} if {self.kpi.name} were back on target, {share}"


@dataclass(frozen=True)
class StaleSystem:
    id: str
    name: str
    feeds: tuple[tuple[str, str], ...]  # (id, name) of the stale KPIs it feeds
    ceo_kpis: tuple[tuple[str, str], ...]  # the CEO KPIs those roll up to


@dataclass(frozen=True)
class Contributor:
    """A KPI directly below a CEO KPI, and its part in the CEO KPI's move."""

    id: str
    name: str
    value_from_text: str
    value_to_text: str
    change_text: str  # its own change, in its unit ("−3.2 pt")
    contribution: float  # in the CEO KPI's unit
    contribution_text: str  # "−1.8 pt"
    share: float | None  # of the CEO KPI's move, signed (None: it did not move)


@dataclass(frozen=True)
class Cause:
    """A root cause of a CEO KPI's move: where someone can act."""

    id: str
    name: str
    share: float | None
    own: bool  # the CEO KPI's own data (what the KPIs below it do not explain)
    agent_id: str | None
    agent_name: str
    workflow: str | None
    step: str | None
    system: str | None
    stale: bool


@dataclass(frozen=True)
class Moved:
    """A CEO KPI that moved beyond its warning band this week, or changed status, and why."""

    id: str
    name: str
    value_from_text: str
    value_to_text: str
    change_text: str  # in its unit ("−2.1 pt")
    status_from: Status
    status_to: Status
    reason: str  # why it is listed: "beyond its warning band (±2.0 pt)", "ok → warning"
    period_from: str | None = None  # the periods the explanation compared
    period_to: str | None = None
    contributors: tuple[Contributor, ...] = ()  # the largest first, at most three
    residual: float | None = None  # its own data's part, in its unit (None: none)
    residual_text: str = ""
    residual_share: float | None = None
    causes: tuple[Cause, ...] = ()  # the first two
    problem: str | None = None  # why it could not be explained


@dataclass(frozen=True)
class KpiActions:
    """An off-target CEO KPI and the first levers of its least-effort plan."""

    id: str
    name: str
    value_text: str
    target_text: str
    status: Status
    actions: tuple[Action, ...] = ()
    outcome: str = ""  # the plan lands on target, or why it does not
    lands: bool = False
    problem: str | None = None  # why there is no plan


@dataclass(frozen=True)
class AgentPart:
    """The agent a brief is for: who it is and the rules it works by."""

    id: str
    name: str
    function: str | None
    rules: tuple[str, ...]
    owns: tuple[KpiLine, ...]
    supports: tuple[KpiLine, ...]


@dataclass(frozen=True)
class Brief:
    as_of: date
    week_start: date
    headline: Headline
    ceo_kpis: tuple[KpiLine, ...]  # every CEO KPI; for an agent, the ones it moves
    changes: tuple[AlertChange, ...]  # the week's alert events, oldest first
    open_alerts: tuple[OpenAlert, ...]  # an agent brief's open alerts (empty for the CEO)
    risks: tuple[Risk, ...]  # the top risks, by impact
    off_target: int  # how many KPIs in scope are off target (the risks are the top ones)
    stale_systems: tuple[StaleSystem, ...]
    scenarios: tuple[ScenarioChange, ...]
    agent: AgentPart | None = None  # None: the CEO brief
    why: tuple[Moved, ...] = ()  # the CEO KPIs that moved this week, and why
    actions: tuple[KpiActions, ...] = ()  # recommended actions per off-target CEO KPI

    @property
    def title(self) -> str:
        who = f"{self.agent.name} brief" if self.agent else "CEO weekly brief"
        return f"{who}, week ending {self.as_of.isoformat()}"

    def change_counts(self) -> dict[str, int]:
        """How many events of each kind the week had, in :data:`ACTIONS` order."""
        counts = dict.fromkeys(ACTIONS.values(), 0)
        for change in self.changes:
            counts[change.action] = counts.get(change.action, 0) + 1
        return counts
