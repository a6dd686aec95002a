"""The startup floor: a minimal Textual app that shows one line, then exits once painted."""

from textual.app import App, ComposeResult
from textual.widgets import Static


class FloorApp(App):
    def compose(self) -> ComposeResult:
        yield Static("ready")

    def on_mount(self) -> None:
        self.call_after_refresh(self.exit)


if __name__ == "__main__":
    FloorApp().run()
