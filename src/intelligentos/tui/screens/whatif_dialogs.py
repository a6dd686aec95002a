"""Dialogs of the scenario screen: the list of saved scenarios (reopen, pick two to compare,
delete), a yes/no confirmation, and two scenarios' CEO KPIs side by side. Scenario names and
levers are user text: shown as ``Text``, never as markup."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Static

from intelligentos.domain.detection import target_status
from intelligentos.domain.formatting import format_change, format_value, literal
from intelligentos.domain.whatif.model import Projection
from intelligentos.domain.whatif.scenarios import SavedScenario
from intelligentos.services.whatif import Comparison, ScenarioService
from intelligentos.store import StoreError
from intelligentos.tui.base import ReportsFailedWorkers, cockpit_of
from intelligentos.tui.messages import ScenarioDeleted
from intelligentos.tui.widgets.status import glyph


def saved_by(scenario: SavedScenario) -> str:
    """Who saved it last, and when (to the minute)."""
    who = scenario.updated_by or scenario.created_by
    when = (scenario.updated_at or scenario.created_at).replace("T", " ")[:16]
    return f"{who} · {when}"


class ConfirmDialog(ModalScreen[bool]):
    """A yes/no question; Esc or n says no."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm-yes"),
        Binding("escape,n", "answer(False)", "No", id="confirm-no"),
    ]

    def __init__(self, question: Text, verb: str) -> None:
        super().__init__()
        self.question = question
        self.verb = verb

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question)
            with Horizontal(classes="buttons"):
                yield Button(f"{self.verb} (y)", variant="error", id="yes")
                yield Button("Cancel (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class ScenarioPicker(ReportsFailedWorkers, ModalScreen[str | tuple[str, str] | None]):
    """The saved scenarios, by name. To open one, Enter answers its name; to compare, Enter
    marks two and answers both. ``d`` deletes the selected one, after confirmation."""

    BINDINGS = [
        Binding("escape", "dismiss_none", "Close", id="scenarios-close"),
        Binding("enter", "choose", "Choose", id="scenarios-choose"),
        Binding("d", "delete", "Delete", id="scenarios-delete"),
    ]

    def __init__(
        self, scenarios: list[SavedScenario], purpose: str, service: ScenarioService
    ) -> None:
        super().__init__()
        self.scenarios = {s.name: s for s in scenarios}
        self.purpose = purpose
        self.service = service
        self.marked: list[str] = []

    def compose(self) -> ComposeResult:
        compare = self.purpose == "compare"
        with Vertical(classes="dialog wide", id="scenario-picker"):
            title = "Compare scenarios" if compare else "Saved scenarios"
            yield Static(Text(title, style="bold"), id="picker-title")
            hint = (
                "Enter marks two scenarios to compare · d deletes · Esc closes"
                if compare
                else "Enter opens a scenario · d deletes · Esc closes"
            )
            yield Static(Text(hint, style="dim"))
            yield DataTable(id="scenario-list", cursor_type="row")
            yield Static(id="picker-message")

    def on_mount(self) -> None:
        table: DataTable[Text] = self.query_one(DataTable)
        table.add_column("", key="mark", width=1)
        table.add_column("name", key="name")
        table.add_column("levers", key="levers")
        table.add_column("saved by", key="saved")
        for scenario in self.scenarios.values():
            table.add_row(
                Text(""),
                Text(literal(scenario.name), style="bold"),
                Text(literal(", ".join(scenario.levers))),
                Text(literal(saved_by(scenario)), style="dim"),
                key=scenario.name,
            )
        table.focus()
        self._say_empty()

    def _say_empty(self) -> None:
        if not self.scenarios:
            self._say(Text("No scenario saved yet: s on the scenario screen saves one."))

    def _say(self, text: Text) -> None:
        self.query_one("#picker-message", Static).update(text)

    def selected(self) -> str | None:
        table: DataTable[Text] = self.query_one(DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def action_dismiss_none(self) -> None:
        self.dismiss(None)

    @on(DataTable.RowSelected, "#scenario-list")
    def action_choose(self) -> None:
        name = self.selected()
        if name is None:
            return
        if self.purpose != "compare":
            self.dismiss(name)
            return
        table: DataTable[Text] = self.query_one(DataTable)
        if name in self.marked:
            self.marked.remove(name)
            table.update_cell(name, "mark", Text(""))
        else:
            self.marked.append(name)
            table.update_cell(name, "mark", Text("✓", style="bold"))
        if len(self.marked) == 2:
            self.dismiss((self.marked[0], self.marked[1]))
        elif self.marked:
            self._say(Text.assemble("Marked ", (literal(self.marked[0]), "bold"), ": one more."))
        else:
            self._say(Text(""))

    def action_delete(self) -> None:
        name = self.selected()
        if name is None:
            return
        refusal = cockpit_of(self).past_refusal("deleted")
        if refusal is not None:
            self._say(Text(refusal, style="bold red"))
            return
        question = Text.assemble("Delete the scenario ", (literal(name), "bold"), "?")

        def answered(yes: bool | None) -> None:
            if yes:
                self.delete_scenario(name)

        self.app.push_screen(ConfirmDialog(question, "Delete"), answered)

    @work(thread=True, exclusive=True, group="scenario-delete", exit_on_error=False)
    def delete_scenario(self, name: str) -> None:
        try:
            deleted = self.service.delete(name)
        except StoreError as error:
            self.post_message(ScenarioDeleted(name, False, str(error)))
            return
        self.post_message(ScenarioDeleted(name, deleted))

    @on(ScenarioDeleted)
    def _deleted(self, message: ScenarioDeleted) -> None:
        if message.problem:
            self._say(Text(literal(f"Not deleted: {message.problem}"), style="bold red"))
            return
        table: DataTable[Text] = self.query_one(DataTable)
        if message.name in table.rows:
            table.remove_row(message.name)
        self.scenarios.pop(message.name, None)
        if message.name in self.marked:
            self.marked.remove(message.name)
        self._say(Text.assemble("Deleted ", (literal(message.name), "bold"), "."))


def _projected_cell(widget: ModalScreen[None], projection: Projection | None) -> Text:
    if projection is None:
        return Text("unchanged", style="dim")
    text = glyph(widget, projection.projected_status)
    text.append(f" {format_value(projection.projected, projection.kpi.unit)}")
    text.append(f" {format_change(projection.projected, projection.current, projection.kpi.unit)}")
    if projection.clamped:
        text.append(" clamped", style="bold")
    if projection.implausible:
        text.append(" implausible", style="bold")
    return text


class ComparisonDialog(ModalScreen[None]):
    """Two saved scenarios' projected CEO KPIs, side by side."""

    BINDINGS = [Binding("escape,q,c", "dismiss", "Close", id="comparison-close")]

    def __init__(self, comparison: Comparison) -> None:
        super().__init__()
        self.comparison = comparison

    def compose(self) -> ComposeResult:
        first, second = self.comparison.first, self.comparison.second
        with Vertical(classes="dialog wide", id="comparison"):
            yield Static(
                Text.assemble(
                    ("Compare ", "bold"),
                    (literal(first.name), "bold"),
                    (" and ", "bold"),
                    (literal(second.name), "bold"),
                    (f"   CEO KPIs · {self.comparison.note} · Esc closes", "dim"),
                )
            )
            for scenario in (first, second):
                line = Text.assemble((literal(scenario.name), "bold"), ": ")
                line.append(literal(", ".join(scenario.levers)))
                yield Static(line)
            yield DataTable(id="comparison-table", cursor_type="row")

    def on_mount(self) -> None:
        comparison = self.comparison
        table: DataTable[Text] = self.query_one(DataTable)
        table.add_column("CEO KPI")
        table.add_column("current")
        table.add_column(Text(literal(comparison.first.name)))
        table.add_column(Text(literal(comparison.second.name)))
        for row in comparison.rows:
            current = glyph(self, target_status(row.kpi, row.current))
            current.append(f" {format_value(row.current, row.kpi.unit)}")
            table.add_row(
                Text(literal(row.kpi.short_name or row.kpi.name)),
                current,
                _projected_cell(self, row.first),
                _projected_cell(self, row.second),
            )
        table.focus()
