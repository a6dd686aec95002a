"""`?`: every key binding of the app and its screens, in one modal table."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

KEY_NAMES = {
    "question_mark": "?",
    "slash": "/",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
    "escape": "Esc",
    "enter": "Enter",
    "tab": "Tab",
    "ctrl+p": "Ctrl+P",
    "ctrl+q": "Ctrl+Q",
}

# Keys that widgets inherit from Textual and that users need to know about.
WIDGET_KEYS = [
    ("Dashboard", "↑ ↓ / j k", "Move between KPI rows"),
    ("Dashboard", "← → / h l", "Move between panels (and CEO cards)"),
    ("Dashboard", "Tab / Shift+Tab", "Next / previous panel"),
    ("Dashboard", "Enter", "Open the KPI's lineage drill-down"),
    ("Lineage", "↑ ↓ / j k", "Move in the tree"),
    ("Lineage", "Enter", "Drill into a KPI node, or fold a branch"),
]


def key_label(keys: str) -> str:
    return " / ".join(KEY_NAMES.get(k, k) for k in keys.split(","))


def binding_rows(owners: list[tuple[str, list]]) -> list[tuple[str, str, str]]:
    rows = []
    for where, bindings in owners:
        for binding in bindings:
            if isinstance(binding, Binding):
                keys, description = binding.key, binding.description
            else:
                keys, description = binding[0], binding[2] if len(binding) > 2 else binding[1]
            if description:
                rows.append((where, key_label(keys), description))
    return rows


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close")]

    def __init__(self, rows: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog"):
            yield Static(Text("Keys  (Esc closes)", style="bold"), id="help-title")
            table = DataTable(id="help-table", cursor_type="row", show_cursor=False)
            table.add_columns("Where", "Key", "Action")
            for where, key, action in self.rows + WIDGET_KEYS:
                table.add_row(where, Text(key, style="bold"), action)
            yield table
