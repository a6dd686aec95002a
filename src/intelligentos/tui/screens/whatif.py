"""The scenario screen (What-if): type levers, see every KPI they move up to the CEO KPIs,
seek a goal, and save, reopen, compare and delete scenarios by name.

The simulation is pure and takes a few milliseconds even on 2,000 KPIs, so it runs on the
event loop, as you type (debounced) and on Enter; the store is read and written in workers
that post typed messages. Nothing here changes an observation or an alert. Scenario names,
lever text and errors are user text: shown as ``Text``, never as markup.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import partial

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Input, Static

from intelligentos.domain.formatting import format_change, format_value, literal
from intelligentos.domain.rollup import EdgeKind
from intelligentos.domain.whatif.model import MODEL_NOTE, Outcome, Projection, ScenarioError
from intelligentos.domain.whatif.scenarios import SavedScenario, check_name, split_levers
from intelligentos.services.snapshots import CockpitData
from intelligentos.services.whatif import ScenarioService, goal_seek_text
from intelligentos.store import StoreError
from intelligentos.tui.base import Cockpit, CockpitScreen
from intelligentos.tui.messages import (
    ComparisonLoaded,
    ScenarioSaved,
    ScenariosLoaded,
)
from intelligentos.tui.screens.dialogs import Prompt, PromptDialog
from intelligentos.tui.screens.whatif_dialogs import ComparisonDialog, ScenarioPicker
from intelligentos.tui.widgets.fit import fit
from intelligentos.tui.widgets.footer import CockpitFooter
from intelligentos.tui.widgets.header import CockpitHeader
from intelligentos.tui.widgets.status import glyph

TYPING_PAUSE = 0.25  # seconds after the last key before a typed edit is simulated
FIXED_COLUMNS = {"current": 11, "projected": 11, "change": 10, "flags": 14}
PADDING = 2  # DataTable's cell padding
# How a KPI moved, in the flags column (narrow): by its expression, a sensitivity, a weight.
EDGE_LABELS = {EdgeKind.FORMULA: "formula", EdgeKind.SENSITIVITY: "sens", EdgeKind.WEIGHT: "wt"}
SCROLLBAR = 2


class ScenarioScreen(CockpitScreen):
    """What-if on the cockpit's current values (catalog weights, linear)."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="scenario-back"),
        Binding(
            "g",
            "goal_seek",
            "Goal seek",
            id="scenario-goal",
            tooltip="What the selected KPI must reach for a goal KPI to reach its target",
        ),
        Binding("s", "save", "Save", id="scenario-save", tooltip="Save these levers by name"),
        Binding("o", "open_list", "Open", id="scenario-open", tooltip="Saved scenarios"),
        Binding("c", "compare", "Compare", id="scenario-compare", tooltip="Two side by side"),
        Binding(
            "e", "edit", "Edit levers", id="scenario-edit", show=False, tooltip="Back to the levers"
        ),
    ]

    def __init__(
        self,
        kpi_id: str | None = None,
        show_list: bool = False,
        levers: Sequence[str] = (),
        goal: str | None = None,
    ) -> None:
        super().__init__()
        self.kpi_id = kpi_id  # the KPI it was opened from
        self.show_list = show_list
        self.levers = list(levers)  # typed in at once (a recommended plan)
        self.goal = goal  # the KPI the plan is for
        self.outcome: Outcome | None = None
        self.levers_text = ""  # the text the outcome (or the error) is for
        self.loaded_name: str | None = None  # the scenario reopened or last saved
        self.typing_timer: Timer | None = None
        self._service: ScenarioService | None = None

    @property
    def service(self) -> ScenarioService:
        if self._service is None:
            store = self.cockpit.services.store
            if store is None:
                raise StoreError("The store is not open yet.")
            self._service = ScenarioService(store)
        return self._service

    def compose(self) -> ComposeResult:
        yield CockpitHeader(id="header")
        yield Static(id="scenario-title")
        yield Input(
            value=", ".join(self.levers) or (f"{self.kpi_id}+=" if self.kpi_id else ""),
            placeholder="Levers, e.g. win_rate+=3, mql_to_sql=20 or arr+=5%  (Enter applies)",
            id="scenario-levers",
        )
        yield Static(id="scenario-message")
        yield DataTable(id="scenario-table", cursor_type="row")
        yield Static(id="scenario-ceo")
        yield Static(id="scenario-goal")
        yield CockpitFooter()

    def on_mount(self) -> None:
        self._show_title()
        self._show_outcome(None)
        box = self.query_one("#scenario-levers", Input)
        box.focus()
        box.cursor_position = len(box.value)
        if self.show_list:
            self.action_open_list()
        if self.levers and self.recompute(submitted=True):
            self.query_one("#scenario-table", DataTable).focus()
            self._show_goal()

    def _show_goal(self) -> None:
        """Where the plan takes the KPI it was made for, as this screen projects it."""
        outcome, goal = self.outcome, self.goal
        found = [p for p in outcome.kpis if p.kpi.id == goal] if outcome else []
        if not found:
            return
        kpi, projection = found[0].kpi, found[0]
        text = Text("Plan for ", style="bold")
        text.append(literal(kpi.name), style="bold")
        text.append(f": {format_value(projection.current, kpi.unit)} → ")
        text.append_text(glyph(self, projection.projected_status))
        text.append(f" {format_value(projection.projected, kpi.unit)}", style="bold")
        if kpi.target is not None:
            text.append(f" (target {format_value(kpi.target, kpi.unit)})")
        self.query_one("#scenario-goal", Static).update(text)
        table: DataTable[Text] = self.query_one("#scenario-table", DataTable)
        if goal is not None and goal in table.rows:
            table.move_cursor(row=table.get_row_index(goal), animate=False)

    def _keys(self) -> dict[str, str]:
        from intelligentos.tui.keys import bound_labels

        return bound_labels(self.BINDINGS, self.cockpit.settings.keymap)

    def _show_title(self) -> None:
        keys = self._keys()
        title = Text(" What-if", style="bold")
        data = self.data
        if data is not None:
            title.append(f" as of {data.as_of.isoformat()}")
        note = MODEL_NOTE if data is None else self.service.note(data)
        title.append(f" · {note}", style="italic")
        if self.loaded_name:
            title.append(" · scenario ")
            title.append(literal(self.loaded_name), style="bold")
        # Letters typed in the box are text: the keys act once Enter (or Tab) leaves it.
        title.append(
            f"   Enter, then {keys['scenario-goal']}: goal seek · {keys['scenario-save']}: save"
            f" · {keys['scenario-open']}: open · {keys['scenario-compare']}: compare · "
            f"{keys['scenario-edit']}: levers",
            style="dim",
        )
        self.query_one("#scenario-title", Static).update(title)

    # --- simulating --------------------------------------------------------------------------

    @on(Input.Changed, "#scenario-levers")
    def _typed(self) -> None:
        if self.typing_timer is not None:
            self.typing_timer.stop()
        self.typing_timer = self.set_timer(TYPING_PAUSE, self._typing_paused)

    def _typing_paused(self) -> None:
        self.typing_timer = None
        self.recompute(submitted=False)

    @on(Input.Submitted, "#scenario-levers")
    def _submitted(self) -> None:
        if self.typing_timer is not None:
            self.typing_timer.stop()
            self.typing_timer = None
        if self.recompute(submitted=True):
            self.query_one("#scenario-table", DataTable).focus()

    def lever_texts(self) -> list[str]:
        return split_levers(self.query_one("#scenario-levers", Input).value)

    def recompute(self, submitted: bool = True, refresh: bool = False) -> bool:
        """Simulate the typed levers; True when they give an outcome. While typing, a lever
        not yet whole is not an error worth shouting: the message stays quiet."""
        data = self.data
        text = self.query_one("#scenario-levers", Input).value
        if text != self.levers_text:
            # The goal-seek line answered for other levers: it would now mislead.
            self.query_one("#scenario-goal", Static).update("")
        self.levers_text = text
        if data is None:
            return False
        if not split_levers(text):
            self._show_outcome(None)
            self._say("")
            return False
        try:
            outcome = self.service.simulate(data, text)
        except (ScenarioError, StoreError) as error:
            self._say(f"{error}", error=submitted, quiet=not submitted)
            if submitted:
                self._show_outcome(None)
            return False
        if not refresh:
            self._say("")  # a refresh keeps what the last action said ("Saved …")
        self._show_outcome(outcome)
        return True

    def data_changed(self) -> None:
        """A refresh moved the current values: project from them."""
        if not self.is_mounted:
            return
        self._show_title()
        if self.outcome is not None:
            self.recompute(submitted=False, refresh=True)
            if self.goal and self.levers_text == ", ".join(self.levers):
                self._show_goal()

    def _say(self, message: str, error: bool = False, quiet: bool = False) -> None:
        style = "bold red" if error else ("dim" if quiet else "")
        self.query_one("#scenario-message", Static).update(Text(literal(message), style=style))

    # --- showing an outcome ------------------------------------------------------------------

    def _value_cell(self, projection: Projection, projected: bool) -> Text:
        status = projection.projected_status if projected else projection.status
        value = projection.projected if projected else projection.current
        text = glyph(self, status)
        text.append(f" {format_value(value, projection.kpi.unit)}")
        if projected:
            text.stylize("bold", 1)
        return text

    def _flags(self, projection: Projection) -> Text:
        flags = Text()
        if projection.is_lever:
            flags.append("lever")
        elif projection.kpi.rolls_up_to is None:
            flags.append("CEO")
        if projection.clamped or projection.implausible:
            if flags:
                flags.append(" ")
            word = "clamped" if projection.clamped else "implausible"
            flags.append(word, style=f"bold {self.app.current_theme.warning}")
        elif projection.moved_by and projection.moved_by != (EdgeKind.WEIGHT,):
            # How it moved, when that is not the scoring model alone.
            if flags:
                flags.append(" ")
            flags.append("+".join(EDGE_LABELS[k] for k in projection.moved_by), style="dim")
        return flags

    def _show_outcome(self, outcome: Outcome | None) -> None:
        self.outcome = outcome
        table: DataTable[Text] = self.query_one("#scenario-table", DataTable)
        selected = self.selected_kpi_id() if table.row_count else None
        table.clear(columns=True)
        width = (self.size.width or self.app.size.width) - SCROLLBAR
        fixed = sum(w + PADDING for w in FIXED_COLUMNS.values())
        name_width = max(width - fixed - PADDING, 12)
        table.add_column("KPI", key="name", width=name_width)
        table.add_column("current", key="current", width=FIXED_COLUMNS["current"])
        table.add_column("→ projected", key="projected", width=FIXED_COLUMNS["projected"])
        table.add_column("change", key="change", width=FIXED_COLUMNS["change"])
        table.add_column("", key="flags", width=FIXED_COLUMNS["flags"])
        ceo = self.query_one("#scenario-ceo", Static)
        if outcome is None:
            ceo.update(
                Text(
                    "Type one or more levers: KPI_ID=VALUE, KPI_ID+=D, KPI_ID-=D or "
                    "KPI_ID+=P%, separated by spaces or commas.",
                    style="dim",
                )
            )
            return
        for projection in outcome.kpis:
            kpi = projection.kpi
            name = Text(fit(literal(kpi.name), name_width), style="bold")
            room = name_width - cell_len(name.plain) - 2
            if room > 4:
                name.append(f"  {fit(literal(kpi.id), room)}", style="dim")
            table.add_row(
                name,
                self._value_cell(projection, projected=False),
                self._value_cell(projection, projected=True),
                Text(format_change(projection.projected, projection.current, kpi.unit)),
                self._flags(projection),
                key=kpi.id,
            )
        if selected is not None and selected in table.rows:
            table.move_cursor(row=table.get_row_index(selected), animate=False)
        ceo.update(self._ceo_line(outcome))

    def _ceo_line(self, outcome: Outcome) -> Text:
        """The CEO strip as the scenario leaves it: each CEO KPI it moves, projected."""
        line = Text("CEO strip: ", style="bold")
        moved = outcome.ceo
        for index, projection in enumerate(moved):
            kpi = projection.kpi
            if index:
                line.append("  ·  ", style="dim")
            line.append(literal(kpi.short_name or kpi.name))
            line.append(" ")
            line.append(format_value(projection.current, kpi.unit), style="dim")
            line.append(" → ")
            line.append_text(glyph(self, projection.projected_status))
            line.append(f" {format_value(projection.projected, kpi.unit)}", style="bold")
            if projection.clamped:
                line.append(" (clamped)")
        if not moved:
            line.append("no CEO KPI moves", style="dim")
        data = self.data
        if data is not None:
            others = len(data.catalog.ceo_kpis()) - len(moved)
            if others:
                line.append(f"  ·  {others} others unchanged", style="dim")
        line.append(f"  ({outcome.note})", style="dim italic")
        return line

    def on_resize(self) -> None:
        if self.is_mounted:
            self._show_outcome(self.outcome)

    def selected_kpi_id(self) -> str | None:
        table: DataTable[Text] = self.query_one("#scenario-table", DataTable)
        if table.row_count:
            return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return None

    # --- goal seek -----------------------------------------------------------------------------

    def _lever_for_goal(self) -> str | None:
        """The selected row's KPI; else the first typed lever's; else the KPI it opened from."""
        selected = self.selected_kpi_id()
        if selected is not None:
            return selected
        texts = self.lever_texts()
        data = self.data
        if texts and data is not None:
            kpi_id = texts[0].split("=")[0].rstrip("+-")
            if kpi_id in data.catalog.kpis:
                return kpi_id
        return self.kpi_id

    def action_goal_seek(self) -> None:
        data = self.data
        lever_id = self._lever_for_goal()
        if data is None or lever_id is None or lever_id not in data.catalog.kpis:
            self._say("Select a KPI (or type a lever) to seek a goal for.", error=True)
            return
        lever = data.catalog.kpis[lever_id]
        kpis = data.catalog.kpis

        def parse(text: str) -> str:
            goal = text.strip()
            if goal not in kpis:
                raise ValueError(f"Unknown KPI {goal!r}: give a KPI id, e.g. revenue_growth.")
            return goal

        def chosen(goal_id: str | None) -> None:
            if goal_id is not None:
                self.seek(goal_id, lever_id)

        prompt = Prompt(
            "Goal seek",
            f"{lever.name} ({lever.id})",
            "which KPI should reach its target? (a KPI above it; default: its CEO KPI)",
            parse=parse,
            value=self.service.default_goal(data, lever_id),
        )
        self.app.push_screen(PromptDialog(prompt), chosen)

    def seek(self, goal_id: str, lever_id: str) -> None:
        data = self.data
        if data is None:
            return
        line = self.query_one("#scenario-goal", Static)
        try:
            result = self.service.goal_seek(data, goal_id, lever_id)
        except ScenarioError as error:
            line.update(Text(literal(f"Goal seek: {error}"), style="bold red"))
            return
        text = Text("Goal seek: ", style="bold")
        style = "" if result.reachable else f"bold {self.app.current_theme.warning}"
        text.append(literal(goal_seek_text(result)), style=style)
        text.append(f"  ({result.note})", style="dim italic")
        line.update(text)

    # --- saving, opening, comparing ----------------------------------------------------------

    def action_save(self) -> None:
        data = self.data
        if data is None:
            return
        refusal = self.cockpit.past_refusal("saved")
        if refusal is not None:
            self._say(refusal, error=True)
            return
        texts = self.lever_texts()
        try:
            self.service.simulate(data, texts)
        except (ScenarioError, StoreError) as error:
            self._say(f"Not saved: {error}", error=True)
            return

        def chosen(name: str | None) -> None:
            if name is not None:
                self.save_scenario(data, name, texts)

        prompt = Prompt(
            "Save scenario",
            ", ".join(texts),
            f"name it; saving over a name replaces that scenario (as {self.cockpit.user})",
            parse=check_name,
            value=self.loaded_name or "",
            placeholder="e.g. Win rate push",
        )
        self.app.push_screen(PromptDialog(prompt), chosen)

    @work(thread=True, exclusive=True, group="scenario-save", exit_on_error=False)
    def save_scenario(self, data: CockpitData, name: str, texts: list[str]) -> None:
        cockpit = self.cockpit
        try:
            saved = self.service.save(data, name, texts, cockpit.user, cockpit.clock())
        except (ScenarioError, StoreError) as error:
            self.post_message(ScenarioSaved(None, str(error)))
            return
        self.post_message(ScenarioSaved(saved))

    @on(ScenarioSaved)
    def _saved(self, message: ScenarioSaved) -> None:
        if message.scenario is None:
            self._say(f"Not saved: {message.problem}", error=True)
            return
        self.loaded_name = message.scenario.name
        self._show_title()
        self._say(f"Saved scenario {message.scenario.name!r} as {message.scenario.created_by}.")

    def action_open_list(self) -> None:
        self.load_scenarios("open")

    def action_compare(self) -> None:
        self.load_scenarios("compare")

    @work(thread=True, exclusive=True, group="scenario-list", exit_on_error=False)
    def load_scenarios(self, purpose: str) -> None:
        try:
            scenarios = self.service.scenarios()
        except StoreError as error:
            self.post_message(ScenariosLoaded(purpose, [], str(error)))
            return
        self.post_message(ScenariosLoaded(purpose, scenarios))

    @on(ScenariosLoaded)
    def _scenarios_loaded(self, message: ScenariosLoaded) -> None:
        if message.problem:
            self._say(message.problem, error=True)
            return
        if message.purpose == "reopen":
            if message.scenarios:
                self.reopen(message.scenarios[0])
            return
        if not self.is_current:
            return
        if message.purpose == "compare" and len(message.scenarios) < 2:
            self._say("Save two scenarios (s) to compare them.", error=True)
            return
        picker = ScenarioPicker(message.scenarios, message.purpose, self.service)
        self.app.push_screen(picker, self._picked)

    def _picked(self, choice: str | tuple[str, str] | None) -> None:
        if isinstance(choice, tuple):
            if self.data is not None:
                self.compare(self.data, *choice)
        elif choice is not None:
            self.load_scenario(choice)

    @work(thread=True, exclusive=True, group="scenario-list", exit_on_error=False)
    def load_scenario(self, name: str) -> None:
        try:
            scenario = self.service.scenario(name)
        except StoreError as error:
            self.post_message(ScenariosLoaded("open", [], str(error)))
            return
        if scenario is None:
            self.post_message(ScenariosLoaded("open", [], f"No scenario is saved as {name!r}."))
            return
        self.post_message(ScenariosLoaded("reopen", [scenario]))

    def reopen(self, scenario: SavedScenario) -> None:
        self.loaded_name = scenario.name
        self._show_title()
        box = self.query_one("#scenario-levers", Input)
        with self.prevent(Input.Changed):
            box.value = ", ".join(scenario.levers)
        self.query_one("#scenario-goal", Static).update("")
        if self.recompute(submitted=True):
            self.query_one("#scenario-table", DataTable).focus()

    @work(thread=True, exclusive=True, group="scenario-compare", exit_on_error=False)
    def compare(self, data: CockpitData, first: str, second: str) -> None:
        try:
            comparison = self.service.compare(data, first, second)
        except (ScenarioError, StoreError) as error:
            self.post_message(ComparisonLoaded(None, str(error)))
            return
        self.post_message(ComparisonLoaded(comparison))

    @on(ComparisonLoaded)
    def _compared(self, message: ComparisonLoaded) -> None:
        if message.comparison is None:
            self._say(f"Cannot compare: {message.problem}", error=True)
            return
        if self.is_current:
            self.app.push_screen(ComparisonDialog(message.comparison))

    # --- moving about --------------------------------------------------------------------------

    def action_edit(self) -> None:
        box = self.query_one("#scenario-levers", Input)
        box.focus()
        box.cursor_position = len(box.value)

    def action_back(self) -> None:
        self.app.pop_screen()


def palette_commands(cockpit: Cockpit, screen: Screen[object]) -> Iterator[SystemCommand]:
    def what_if() -> None:
        # The KPI selected where the palette was opened.
        kpi_id = screen.kpi_for_what_if() if isinstance(screen, CockpitScreen) else None
        cockpit.navigator.scenario(kpi_id)

    yield SystemCommand(
        "What-if scenario",
        "Move a KPI and see its CEO KPIs move (catalog weights, linear)",
        what_if,
    )
    yield SystemCommand(
        "Scenarios",
        "Saved what-if scenarios: reopen, compare, delete",
        partial(cockpit.navigator.scenario, None, True),
    )
