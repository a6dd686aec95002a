"""What a recommendation and an explanation say where the user already looks: the brief,
an alert, an agent's playbook.

* An **action** is one lever of a plan (or one lever alone) as a sentence that names who
  acts: ``CRO Agent: Opportunity Management → Close deal: Win Rate 18.4% → 21.0% (+0.6 σ)``
  (the owning agent, the workflow and step of the lever's first lineage link, the lever,
  its value now and the value to reach, and that change against the lever's own history).
* A **driver** is what drove a KPI's move, in a few words: ``driven by Win Rate, −3.2 pt``.
  It is the largest direct contributor that pushed the KPI the way it moved (a child that
  pulled against the move drove nothing), with its own change in its unit. When the KPI's
  own data (its residual: what its children do not explain) pushed it further than any
  child, the driver is ``driven by its own data``. A KPI with nothing below it, or one that
  did not move, has no driver: the phrase is left out.

Pure Python: no SQL, no Textual, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from intelligentos.domain.explain.model import Explanation
from intelligentos.domain.explain.recommend import Recommendation, Recommendations
from intelligentos.domain.formatting import format_change, format_value

PLAN_ACTIONS = 3  # the plan's levers a brief lists per KPI
UNASSIGNED = "Unassigned"


def sigma_text(change_sigma: float | None) -> str:
    """``+0.6 σ``, ``−1.1 σ``; ``no σ`` for a lever without enough history."""
    if change_sigma is None:
        return "no σ"
    return f"{change_sigma:+.1f} σ".replace("-", "−")


@dataclass(frozen=True)
class Action:
    """One lever to move, for one goal, by the agent that owns it."""

    goal_id: str
    goal_name: str
    lever_id: str
    lever_name: str
    agent_id: str | None
    agent_name: str
    workflow: str | None
    step: str | None
    current: float
    value: float
    current_text: str
    value_text: str
    change_sigma: float | None
    in_plan: bool  # a step of the least-effort plan (else: the lever alone)
    at_limit: bool = False  # the plan stops it at its plausible range

    @property
    def task(self) -> str:
        """The action without who does it: ``Opportunity Management → Close deal: Win Rate
        18.4% → 21.0% (+0.6 σ)``."""
        where = " → ".join(part for part in (self.workflow, self.step) if part)
        move = (
            f"{self.lever_name} {self.current_text} → {self.value_text} "
            f"({sigma_text(self.change_sigma)})"
        )
        if self.at_limit:
            move += ", at its limit"
        return f"{where}: {move}" if where else move

    @property
    def sentence(self) -> str:
        return f"{self.agent_name}: {self.task}"


def _action(
    goal: Recommendations, r: Recommendation, value: float, in_plan: bool, at_limit: bool = False
) -> Action:
    unit = r.lever.unit
    change = value - r.current
    sigma = r.sigma.value
    return Action(
        goal_id=goal.goal.id,
        goal_name=goal.goal.name,
        lever_id=r.lever.id,
        lever_name=r.lever.name,
        agent_id=r.agent.id if r.agent else None,
        agent_name=r.agent.name if r.agent else UNASSIGNED,
        workflow=r.workflow,
        step=r.step,
        current=r.current,
        value=value,
        current_text=format_value(r.current, unit),
        value_text=format_value(value, unit),
        change_sigma=None if sigma is None else change / sigma,
        in_plan=in_plan,
        at_limit=at_limit,
    )


def plan_actions(found: Recommendations, limit: int | None = PLAN_ACTIONS) -> list[Action]:
    """The plan's levers as actions, the largest effort first (the plan's order), at most
    ``limit`` (None: all)."""
    if found.plan is None:
        return []
    by_lever = {r.lever.id: r for r in found.recommendations}
    actions = [
        _action(found, by_lever[step.lever.id], step.value, True, at_limit=step.at_limit)
        for step in found.plan.steps
        if step.lever.id in by_lever
    ]
    return actions if limit is None else actions[:limit]


def lever_actions(found: Recommendations) -> list[Action]:
    """Each lever that could bring the goal to its aim alone, as an action (the easiest
    first, as the recommendations rank them)."""
    return [
        _action(found, r, r.required, False)
        for r in found.recommendations
        if r.reachable and r.required is not None
    ]


def plan_outcome(found: Recommendations) -> str:
    """What the plan does, in a sentence: it lands on the aim, or why it does not."""
    plan = found.plan
    goal = found.goal
    if plan is None:
        return f"{goal.name} is on target: nothing to do."
    aim = format_value(found.aim, goal.unit)
    projected = format_value(plan.projected, goal.unit)
    levers = f"{len(plan.steps)} lever{'' if len(plan.steps) == 1 else 's'}"
    if plan.lands:
        return f"The plan ({levers}) brings {goal.name} to {aim}."
    reason = f": {plan.reason}" if plan.reason else ""
    return (
        f"The plan ({levers}) does not reach {aim}{reason}; it brings {goal.name} to {projected}."
    )


@dataclass(frozen=True)
class Driver:
    """What drove a KPI's move: a KPI below it (``own`` False), or its own data."""

    kpi_id: str
    name: str
    change: str  # the driver's own change in its unit ("−3.2 pt"); "" for its own data
    own: bool

    @property
    def text(self) -> str:
        if self.own:
            return "driven by its own data"
        return f"driven by {self.name}, {self.change}"


def driver(explanation: Explanation) -> Driver | None:
    """What drove the explained move (see the module's docstring); None when nothing did."""
    moved = explanation.delta_p
    if moved == 0 or not explanation.children:
        return None
    pushing = [c for c in explanation.children if c.contribution_p * moved > 0]
    top = max(pushing, key=lambda c: abs(c.contribution_p), default=None)
    residual = explanation.residual_p
    if residual * moved > 0 and (top is None or abs(residual) > abs(top.contribution_p)):
        kpi = explanation.kpi
        return Driver(kpi.id, kpi.name, "", own=True)
    if top is None:
        return None
    change = format_change(top.value_to, top.value_from, top.kpi.unit)
    return Driver(top.kpi.id, top.kpi.name, change, own=False)


def agent_actions(plans: Iterable[Recommendations], agent_id: str) -> list[Action]:
    """The actions that fall to ``agent_id``, goal by goal: the plan's steps on the levers
    it owns (the largest effort first), then each of its levers that could do it alone
    (the easiest first)."""
    found: list[Action] = []
    for answer in plans:
        found += [a for a in plan_actions(answer, None) if a.agent_id == agent_id]
        found += [a for a in lever_actions(answer) if a.agent_id == agent_id]
    return found
