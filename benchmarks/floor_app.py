"""The startup floor: the least a Textual app can do, one Static with a known text.

``benchmarks/run.py`` times it exactly as it times the cockpit, from outside: spawned in a
pseudo-terminal, until the emulated screen shows :data:`FLOOR_TEXT`. It runs until it is
told to quit (ctrl+q, Textual's own binding)."""

from textual.app import App, ComposeResult
from textual.widgets import Static

FLOOR_TEXT = "The floor: one Static in a Textual app, painted."


class FloorApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Static(FLOOR_TEXT)


if __name__ == "__main__":
    FloorApp().run()
