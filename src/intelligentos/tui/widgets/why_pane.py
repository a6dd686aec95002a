"""The lineage screen's Why pane: why a KPI moved (or misses its target) and what to do.

A sentence on how it moved; a waterfall chart from its start value, through each KPI below it
that moved it and the residual its children do not explain (the KPI's own data, drawn as its
own bar), to its end value; its root causes, each a choice that drills the lineage into it;
and, for a KPI off target, the levers as actions and the least-effort plan, which a key opens
in the what-if screen.

The explanation and the recommendations are read in a worker (``load``) that posts a
:class:`~intelligentos.tui.messages.WhyLoaded`; the pane only draws. This module imports
textual-plotext, so only the lineage screen's ``compose`` imports it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, RenderResult, SystemCommand
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option
from textual_plotext import PlotextPlot

from intelligentos.domain.catalog.models import Catalog
from intelligentos.domain.explain.actions import sigma_text
from intelligentos.domain.explain.model import Basis, ExplainError, Explanation, RootCause
from intelligentos.domain.explain.recommend import Recommendation, Recommendations
from intelligentos.domain.formatting import format_value, literal, name_within
from intelligentos.domain.units import Unit
from intelligentos.tui.base import Cockpit, ReportsFailedWorkers, cockpit_of
from intelligentos.tui.messages import WhyLoaded
from intelligentos.tui.widgets.forecast_chart import theme_rgb

BARS = 6  # direct contributions drawn; the rest add up in one "others" bar
LABEL = 14  # cells of a bar's name
LEVERS = 8  # recommendations listed
STEP_MARKER = "█"
RESIDUAL_MARKER = "▒"  # the residual differs in shape too (NO_COLOR, colour blindness)


@dataclass(frozen=True)
class Bar:
    """One bar of the waterfall: from ``low`` to ``high`` in the KPI's unit."""

    label: str
    low: float
    high: float
    kind: str  # "total", "good", "bad" or "residual"
    amount: float  # the value (a total) or the step (a contribution), for the label


def delta_text(delta: float, unit: Unit) -> str:
    """A change in a KPI's unit, signed: points for percentages and scores."""
    if unit in (Unit.PERCENT, Unit.SCORE):
        text = f"{delta:+.1f} pt"
    else:
        text = ("+" if delta >= 0 else "-") + format_value(abs(delta), unit)
    return text.replace("-", "−")


def waterfall(explanation: Explanation, cap: int = BARS) -> list[Bar]:
    """Start value, the largest direct contributions (the rest as "others"), the residual,
    end value: each step starts where the one before it ended."""
    target = explanation.basis is Basis.TARGET
    start = explanation.value_from
    bars = [Bar("target" if target else "start", start, start, "total", start)]
    steps = [
        (name_within(c.kpi.display_name, LABEL), c.contribution, c.contribution_p)
        for c in explanation.children[:cap]
    ]
    rest = explanation.children[cap:]
    if rest:
        steps.append(
            (
                f"{len(rest)} others",
                sum(c.contribution for c in rest),
                sum(c.contribution_p for c in rest),
            )
        )
    level = start
    for label, step, step_p in steps:
        kind = "good" if step_p >= 0 else "bad"
        bars.append(Bar(label, min(level, level + step), max(level, level + step), kind, step))
        level += step
    residual = explanation.residual
    bars.append(
        Bar(
            "residual",
            min(level, level + residual),
            max(level, level + residual),
            "residual",
            residual,
        )
    )
    end = explanation.value_to
    bars.append(Bar("now" if target else "end", end, end, "total", end))
    return bars


class WaterfallPlot(PlotextPlot):
    """The waterfall as horizontal bars, one line each, top to bottom; it re-plots for its
    size every time it renders."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.bars: list[Bar] = []
        self.unit = Unit.COUNT

    def show(self, bars: list[Bar], unit: Unit) -> None:
        self.bars, self.unit = bars, unit
        # One line per bar, the frame and the value axis.
        self.styles.height = len(bars) + 3 if bars else 0
        self.refresh(layout=True)

    def render(self) -> RenderResult:
        self.plot()
        return super().render()

    def plot(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        bars = self.bars
        if not bars:
            return
        variables = self.app.theme_variables
        colours = {
            "total": theme_rgb(variables, "forecast"),
            "good": theme_rgb(variables, "target"),
            "bad": theme_rgb(variables, "critical"),
            "residual": theme_rgb(variables, "warning"),
        }
        values = [v for b in bars for v in (b.low, b.high)]
        low, high = min(values), max(values)
        pad = (high - low) * 0.05 or abs(high) * 0.05 or 1.0
        floor = low - pad
        rows = [float(row) for row in range(len(bars), 0, -1)]
        for row, bar in zip(rows, bars, strict=True):
            # A bar is a line of blocks from its low end to its high end: plotext's own
            # bars share one base, and a waterfall's float.
            base = floor if bar.kind == "total" else bar.low
            plt.plot(
                [base, bar.high],
                [row, row],
                marker=RESIDUAL_MARKER if bar.kind == "residual" else STEP_MARKER,
                color=colours[bar.kind],
            )
        labels = [
            f"{bar.label} "
            + (
                format_value(bar.amount, self.unit)
                if bar.kind == "total"
                else delta_text(bar.amount, self.unit)
            )
            for bar in bars
        ]
        plt.yticks(rows, labels)
        plt.ylim(0.5, len(bars) + 0.5)
        plt.xlim(floor, high + pad)
        plt.xticks(
            [floor, high + pad],
            [format_value(floor, self.unit), format_value(high + pad, self.unit)],
        )


class WhyPane(ReportsFailedWorkers, VerticalScroll):
    """Why the KPI moved and what to do; ``open`` points it at a KPI."""

    # Not in the footer (it must fit 120 columns): the pane names them where they act.
    BINDINGS = [
        Binding(
            "v",
            "basis",
            "Vs change/target",
            show=False,
            id="why-basis",
            tooltip="Explain the change since the last period, or the gap to target",
        ),
        Binding(
            "o",
            "plan",
            "Plan in what-if",
            show=False,
            id="why-plan",
            tooltip="Open the what-if screen with the recommended plan typed in",
        ),
    ]

    class Drill(Message):
        """A root cause was chosen: the lineage moves to it."""

        def __init__(self, kpi_id: str) -> None:
            super().__init__()
            self.kpi_id = kpi_id

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.kpi_id: str | None = None
        self.basis = Basis.CHANGE
        self.recommendations: Recommendations | None = None
        self.explanation: Explanation | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="why-header")
        yield WaterfallPlot(id="why-chart")
        yield Static(id="why-causes-title")
        yield OptionList(id="why-causes")
        yield Static(id="why-notes")
        yield Static(id="why-recommend")

    @property
    def cockpit(self) -> Cockpit:
        return cockpit_of(self)

    def open(self, kpi_id: str) -> None:
        """Explain ``kpi_id`` (again: the as-of date or the data may have changed)."""
        self.kpi_id = kpi_id
        self.reload()

    def reload(self, quietly: bool = False) -> None:
        """Read it all again; ``quietly`` (a refresh) keeps what is shown until then."""
        data = self.cockpit.data
        if self.kpi_id is None or data is None or self.kpi_id not in data.catalog.kpis:
            return
        if not quietly:
            kpi = data.catalog.kpis[self.kpi_id]
            self.explanation = self.recommendations = None
            self.refresh_bindings()
            self.query_one("#why-header", Static).update(
                Text(f"Explaining {literal(kpi.name)}…", style="dim")
            )
        self.load(self.kpi_id, self.basis, data.stored)

    @work(thread=True, exclusive=True, group="why", exit_on_error=False)
    def load(self, kpi_id: str, basis: Basis, catalog: Catalog) -> None:
        """Explain the KPI and recommend for it, as of the date viewed."""
        from intelligentos.domain.whatif.propagation import Tree
        from intelligentos.services.explain import ExplainRequest, explain_kpi, recommend_kpi

        services = self.cockpit.services
        store = services.store
        if store is None:
            return
        past, as_of = services.fixed_as_of, services.as_of
        tree = Tree(catalog)
        explanation = recommendations = None
        problem = advice = None
        try:
            request = ExplainRequest(kpi_id, as_of, basis=basis)
            explanation = explain_kpi(store, request, catalog, tree)
        except ExplainError as error:
            problem = str(error)
        try:
            recommendations = recommend_kpi(store, kpi_id, as_of, catalog, tree)
        except ExplainError as error:
            advice = str(error)
        self.post_message(
            WhyLoaded(kpi_id, basis.value, explanation, recommendations, problem, advice, past)
        )

    @on(WhyLoaded)
    def _loaded(self, message: WhyLoaded) -> None:
        message.stop()
        shown = (self.kpi_id, self.basis.value, self.cockpit.services.fixed_as_of)
        if (message.kpi_id, message.basis, message.past) != shown:
            return  # for a KPI, basis or as-of date no longer shown
        self.explanation = message.explanation
        self.recommendations = message.recommendations
        self._show_explanation(message.explanation, message.problem)
        self._show_recommendations(message.recommendations, message.advice)
        self.refresh_bindings()

    # --- why -----------------------------------------------------------------------------

    def _show_explanation(self, explanation: Explanation | None, problem: str | None) -> None:
        header = self.query_one("#why-header", Static)
        chart = self.query_one(WaterfallPlot)
        causes = self.query_one("#why-causes", OptionList)
        option = causes.highlighted_option
        was = option.id if option is not None else None
        causes.clear_options()
        if explanation is None:
            text = Text(literal(f"Cannot explain it: {problem}."), style="bold")
            if self.basis is Basis.CHANGE:
                text.append(
                    f"\n{self._keys()['why-basis']}: explain the gap to target", style="dim"
                )
            header.update(text)
            chart.show([], Unit.COUNT)
            self.query_one("#why-causes-title", Static).update("")
            self.query_one("#why-notes", Static).update("")
            return
        header.update(self._header(explanation))
        chart.show(waterfall(explanation), explanation.kpi.unit)
        title = Text("Root causes", style="bold")
        title.append("  Enter drills into one", style="dim")
        self.query_one("#why-causes-title", Static).update(
            title
            if explanation.root_causes
            else Text("No root cause carries 10 % of it.", style="dim")
        )
        for cause in explanation.root_causes:
            causes.add_option(Option(self._cause(explanation, cause), id=cause.kpi.id))
        if explanation.root_causes:
            # Enter drills into the largest at once (or, after a refresh, the one it was
            # on); the pane does not scroll for it.
            ids = [cause.kpi.id for cause in explanation.root_causes]
            with self.prevent(OptionList.OptionHighlighted):
                causes.highlighted = ids.index(was) if was in ids else 0
        notes = Text()
        for note in explanation.notes:
            notes.append(f"• {literal(note)}\n", style="dim")
        self.query_one("#why-notes", Static).update(notes)

    def _keys(self) -> dict[str, str]:
        from intelligentos.tui.keys import bound_labels

        return bound_labels(self.BINDINGS, self.cockpit.settings.keymap)

    def _header(self, explanation: Explanation) -> Text:
        kpi, unit = explanation.kpi, explanation.kpi.unit
        start, end = explanation.value_from, explanation.value_to
        change = end - start
        explained = change - explanation.residual
        text = Text(literal(kpi.name), style="bold")
        if explanation.basis is Basis.TARGET:
            text.append(
                f" is {format_value(end, unit)} against its target {format_value(start, unit)}"
                f" ({delta_text(change, unit)}, {explanation.period_to})"
            )
        elif change == 0:
            text.append(
                f" did not move: {format_value(end, unit)} in {explanation.period_from}"
                f" and {explanation.period_to}"
            )
        else:
            verb = "rose" if change > 0 else "fell"
            size = delta_text(abs(change), unit).lstrip("+")
            text.append(
                f" {verb} {size}, from {format_value(start, unit)} "
                f"({explanation.period_from}) to {format_value(end, unit)} "
                f"({explanation.period_to})"
            )
        if explanation.children:
            text.append(f": the KPIs below it explain {delta_text(explained, unit)}, ")
            text.append(f"its own data {delta_text(explanation.residual, unit)}.")
        else:
            text.append(": no KPI below it moves it, the change is its own.")
        keys = self._keys()
        other = "the change" if explanation.basis is Basis.TARGET else "the gap to target"
        text.append(f"\n{keys['why-basis']}: explain {other}", style="dim")
        return text

    def _cause(self, explanation: Explanation, cause: RootCause) -> Text:
        unit = explanation.kpi.unit
        rate = (
            (explanation.value_to - explanation.value_from) / explanation.delta_p
            if (explanation.delta_p and explanation.value_to != explanation.value_from)
            else None
        )
        text = Text(literal(cause.kpi.name), style="bold")
        if cause.kpi.id == explanation.kpi.id:
            text.append(" (its own data)", style="dim")
        if rate is not None:
            text.append(f"  {delta_text(cause.contribution_p * rate, unit)}")
        if cause.share is not None:
            text.append(f" ({cause.share:.0%} of it)", style="dim")
        where = [
            part
            for part in (
                name_within(cause.agent.name, LABEL) if cause.agent else None,
                " → ".join(p for p in (cause.workflow, cause.step) if p) or None,
                cause.system,
            )
            if part
        ]
        if where:
            text.append("\n  " + literal(" · ".join(where)), style="dim")
        if cause.stale:
            text.append("  stale data", style="bold")
        return text

    @on(OptionList.OptionHighlighted, "#why-causes")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        # The list does not scroll the pane it sits in: the pane follows the cursor.
        event.stop()
        self.scroll_to_widget(event.option_list, animate=False)

    @on(OptionList.OptionSelected, "#why-causes")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.post_message(self.Drill(event.option.id))

    # --- what to do ----------------------------------------------------------------------

    def _show_recommendations(
        self, recommendations: Recommendations | None, advice: str | None
    ) -> None:
        box = self.query_one("#why-recommend", Static)
        if recommendations is None:
            box.update(Text(literal(f"No recommendations: {advice}."), style="dim"))
            return
        goal, unit = recommendations.goal, recommendations.goal.unit
        now = format_value(recommendations.current, unit)
        target = format_value(recommendations.target, unit)
        if recommendations.met:
            box.update(
                Text(
                    f"{literal(goal.name)} is on target ({now} against {target}): "
                    "nothing to recommend."
                )
            )
            return
        text = Text("What to do", style="bold")
        aim = recommendations.aim
        text.append(f"  {literal(goal.name)} is {now} against its target {target}")
        if aim != recommendations.target:
            text.append(f"; its forecast ends short, so the plan aims at {format_value(aim, unit)}")
        text.append("\n")
        for index, recommendation in enumerate(recommendations.recommendations[:LEVERS], 1):
            text.append(f"{index}. ")
            text.append_text(self._action(recommendation))
            text.append("\n")
        more = len(recommendations.recommendations) - LEVERS
        if more > 0:
            text.append(f"   and {more} more levers\n", style="dim")
        plan = recommendations.plan
        if plan is not None and plan.steps:
            text.append("Plan", style="bold")
            text.append(f" (least effort, Σ(change/σ)² = {plan.effort:.1f})\n", style="dim")
            for step in plan.steps:
                lever = step.lever
                text.append(
                    f"  {literal(lever.name)} {format_value(step.current, lever.unit)} → "
                    f"{format_value(step.value, lever.unit)} ({sigma_text(step.change_sigma)})"
                )
                text.append("  at its limit\n" if step.at_limit else "\n", style="dim")
            text.append(f"  projects {literal(goal.name)} at {format_value(plan.projected, unit)}")
            if plan.lands:
                text.append(" (on target)")
            else:
                text.append(f": it falls short ({literal(plan.reason)})")
            keys = self._keys()
            text.append(f"\n{keys['why-plan']}: open the plan in what-if", style="dim")
        elif plan is not None:
            text.append(f"No plan: {literal(plan.reason)}", style="dim")
        box.update(text)

    @staticmethod
    def _action(recommendation: Recommendation) -> Text:
        """ "CRO Agent: Opportunity Management → close: win rate 18.4 % → 21.0 % (+0.6 σ)"."""
        lever = recommendation.lever
        agent = recommendation.agent
        who = name_within(agent.name, LABEL) if agent else "No agent"
        where = " → ".join(p for p in (recommendation.workflow, recommendation.step) if p)
        text = Text(literal(f"{who}: {where}: " if where else f"{who}: "))
        text.append(literal(lever.name), style="bold")
        text.append(f" {format_value(recommendation.current, lever.unit)}")
        if recommendation.required is None or not recommendation.reachable:
            text.append(f": out of reach alone ({literal(recommendation.reason)})", style="dim")
            return text
        text.append(f" → {format_value(recommendation.required, lever.unit)}")
        sigma = recommendation.change_sigma
        if sigma is not None:
            text.append(f" ({sigma_text(sigma)})")
        else:
            text.append(f" ({literal(recommendation.sigma.reason)})", style="dim")
        if recommendation.rules:
            text.append(f"\n   Rule: {literal(recommendation.rules[0])}", style="dim")
        return text

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "plan":
            return self.has_plan  # hidden while there is none
        return True

    @property
    def has_plan(self) -> bool:
        recommendations = self.recommendations
        return bool(recommendations and not recommendations.met and recommendations.plan)

    def action_basis(self) -> None:
        self.basis = Basis.TARGET if self.basis is Basis.CHANGE else Basis.CHANGE
        self.reload()

    def action_plan(self) -> None:
        recommendations = self.recommendations
        if recommendations is None or recommendations.plan is None or not self.has_plan:
            return
        goal = recommendations.goal.id
        self.cockpit.navigator.scenario(goal, levers=recommendations.plan.levers, goal=goal)


def palette_commands(cockpit: Cockpit, screen: Screen[object]) -> Iterator[SystemCommand]:
    """On the lineage screen (the one with a Why pane): open or close it."""
    if not screen.query(WhyPane):
        return

    yield SystemCommand(
        "Why did it move",
        "The selected KPI's change split among the KPIs below it, root causes, what to do",
        partial(screen.run_action, "why"),  # the palette awaits what a command returns
    )
