"""The startup floor: a minimal Textual app that shows one line, then exits once painted.

With FLOOR_REPORT set, it writes the wall-clock time of that first paint there, the same
moment benchmarks/probe.py reports for the cockpit (``ready_epoch``)."""

import os
import time
from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import Static


class FloorApp(App):
    def compose(self) -> ComposeResult:
        yield Static("ready")

    def on_mount(self) -> None:
        self.call_after_refresh(self.painted)

    def painted(self) -> None:
        report = os.environ.get("FLOOR_REPORT")
        if report:
            Path(report).write_text(str(time.time()), encoding="utf-8")
        self.exit()


if __name__ == "__main__":
    FloorApp().run()
