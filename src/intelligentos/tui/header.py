"""The one-line header every cockpit screen shows, bound to the app's state."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from intelligentos.formatting import literal
from intelligentos.tui.base import cockpit_of

CLOCK_FORMAT = "%H:%M"


class CockpitHeader(Widget):
    """Product, store, as-of date, agent focus, window, paused, unacknowledged alerts and a
    clock. It watches the app, so every screen's header shows the same state at once."""

    def on_mount(self) -> None:
        self.shown_clock = ""
        app = cockpit_of(self)
        for name in ("window", "paused", "attention_count", "as_of_text", "focus_text"):
            self.watch(app, name, self._state_changed, init=False)
        self.set_interval(1.0, self._tick)

    def _state_changed(self) -> None:
        self.refresh()

    def _tick(self) -> None:
        # Repaint only when the shown time changes: an idle cockpit should cost nothing.
        if cockpit_of(self).clock().strftime(CLOCK_FORMAT) != self.shown_clock:
            self.refresh()

    def render(self) -> Text:
        app = cockpit_of(self)
        right = Text()
        if app.paused:
            right.append("⏸ paused  ", style="bold")
        if app.attention_count is not None:
            right.append(f"⚑ {app.attention_count} unacknowledged  ", style="bold")
        self.shown_clock = app.clock().strftime(CLOCK_FORMAT)
        right.append(self.shown_clock + " ")
        # The facts on the left give way, least important first, before the alert count.
        # A past as-of date shows in the warning colour: nothing on the screen is live.
        as_of = Text(f"  ·  as of {app.as_of_text}" if app.as_of_text else "")
        if app.services.fixed_as_of is not None:
            as_of.stylize(f"bold {app.current_theme.warning}", 5)
        facts: list[Text | str] = [as_of, f"  ·  window {app.window}"]
        if app.focus_text:
            # The agent focus changes what every panel and the alert count show: kept
            # longer than the window.
            facts.insert(1, Text.assemble("  ·  focus ", (literal(app.focus_text), "bold")))
        while True:
            left = Text.assemble(
                (" ◆ IntelligentOS cockpit ", "bold"),
                "  ",
                (literal(app.store_path.name), "italic"),
                *facts,
            )
            if not facts or left.cell_len + right.cell_len + 2 <= self.size.width:
                break
            facts.pop()
        gap = max(1, self.size.width - left.cell_len - right.cell_len)
        return Text.assemble(left, " " * gap, right)
