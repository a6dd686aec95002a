"""The cockpit application."""

from __future__ import annotations

from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Static


class CockpitApp(App):
    TITLE = "IntelligentOS cockpit"

    def __init__(self, store_path: Path, theme_name: str | None = None):
        super().__init__()
        self.store_path = Path(store_path)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"Store: {self.store_path}", markup=False)
        yield Footer()
