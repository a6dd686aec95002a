"""`?`: every key binding of the cockpit, made from the bindings themselves (with the user's
remapped keys), so the table can never drift from what the keys do."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from intelligentos.tui.keys import APP_BINDINGS, key_label


def binding_rows(
    owners: Iterable[tuple[str, Iterable[BindingType]]], keymap: Mapping[str, str]
) -> list[tuple[str, str, str]]:
    """(where, keys, action) for every binding with a description; a binding whose id the
    keymap names shows the user's keys."""
    rows = []
    for where, bindings in owners:
        for binding in bindings:
            if not isinstance(binding, Binding) or not binding.description:
                continue
            keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
            rows.append((where, key_label(keys), binding.description))
    return rows


def cockpit_bindings() -> list[tuple[str, list[BindingType]]]:
    """Every place the cockpit binds keys, in the order the help lists them."""
    # Imported here, when help is first opened: off the launch path.
    from intelligentos.tui.screens.agents import AgentsScreen
    from intelligentos.tui.screens.alerts import AlertsScreen
    from intelligentos.tui.screens.brief import BriefScreen
    from intelligentos.tui.screens.dashboard import DashboardScreen
    from intelligentos.tui.screens.lineage import LineageScreen, LineageTree
    from intelligentos.tui.screens.okr import OkrScreen
    from intelligentos.tui.screens.pyramid import PyramidScreen
    from intelligentos.tui.screens.strategy import StrategyScreen
    from intelligentos.tui.screens.whatif import ScenarioScreen
    from intelligentos.tui.screens.whatif_dialogs import ScenarioPicker
    from intelligentos.tui.widgets.ceo_card import CeoCard
    from intelligentos.tui.widgets.incident_table import IncidentTable
    from intelligentos.tui.widgets.kpi_table import KpiTable
    from intelligentos.tui.widgets.kpi_tree import KpiTree
    from intelligentos.tui.widgets.why_pane import WhyPane

    return [
        ("Everywhere", APP_BINDINGS),
        ("Dashboard", DashboardScreen.BINDINGS),
        ("Dashboard rows", KpiTable.BINDINGS),
        ("CEO strip", CeoCard.BINDINGS),
        ("Lineage", LineageScreen.BINDINGS),
        ("Lineage tree", LineageTree.BINDINGS),
        ("Why pane", WhyPane.BINDINGS),
        ("Alerts", AlertsScreen.BINDINGS),
        ("Alerts table", IncidentTable.BINDINGS),
        ("What-if", ScenarioScreen.BINDINGS),
        ("Saved scenarios", ScenarioPicker.BINDINGS),
        ("Brief", BriefScreen.BINDINGS),
        ("Strategy map", StrategyScreen.BINDINGS),
        ("Strategy map, playbook", KpiTree.BINDINGS),
        ("KPI pyramid", PyramidScreen.BINDINGS),
        ("Agents", AgentsScreen.BINDINGS),
        ("OKRs", OkrScreen.BINDINGS),
    ]


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close", id="help-close")]

    def __init__(self, keymap: Mapping[str, str]) -> None:
        super().__init__()
        self.rows = binding_rows(cockpit_bindings(), keymap)

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog"):
            yield Static(Text("Keys  (Esc closes)", style="bold"), id="help-title")
            table: DataTable[str | Text] = DataTable(
                id="help-table", cursor_type="row", show_cursor=False
            )
            table.add_columns("Where", "Key", "Action")
            for where, key, action in self.rows:
                table.add_row(where, Text(key, style="bold"), action)
            yield table
