"""The one-line header every cockpit screen shows, bound to the app's state."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from intelligentos.domain.formatting import literal
from intelligentos.tui.base import cockpit_of

CLOCK_FORMAT = "%H:%M"


class CockpitHeader(Widget):
    """Product, store, as-of date, agent focus, window, paused, unacknowledged alerts and a
    clock. It watches the app, so every screen's header shows the same state at once."""

    def on_mount(self) -> None:
        self.shown_clock = ""
        app = cockpit_of(self)
        for name in (
            "window",
            "paused",
            "attention_count",
            "as_of_text",
            "focus_text",
            "read_only",
        ):
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
        self.shown_clock = app.clock().strftime(CLOCK_FORMAT)
        warning = f"bold {app.current_theme.warning}"
        past = app.services.fixed_as_of is not None
        # What the screen is not (live, writable) is never dropped: a narrow header gives
        # up everything else first, so that old values never pass for live ones.
        markers: list[Text] = []
        if app.read_only:
            markers.append(Text.assemble("  ·  ", ("read-only", warning)))
        as_of = Text(f"  ·  as of {app.as_of_text}" if app.as_of_text else "")
        if past:
            as_of.stylize(warning, 5)
            markers.append(as_of)
        facts: list[Text] = []
        if not past:
            facts.append(as_of)
        if app.focus_text:
            # The agent focus changes what every panel and the alert count show: kept
            # longer than the window.
            facts.append(Text.assemble("  ·  focus ", (literal(app.focus_text), "bold")))
        facts.append(Text(f"  ·  window {app.window}"))
        product, store = " ◆ IntelligentOS cockpit ", literal(app.store_path.name)
        clock, long_count = True, True

        def assemble() -> tuple[Text, Text]:
            right = Text()
            if app.paused:
                right.append("⏸ paused  ", style="bold")
            if app.attention_count is not None:
                count = f"⚑ {app.attention_count}" + (" unacknowledged" if long_count else "")
                right.append(count + "  ", style="bold")
            if clock:
                right.append(self.shown_clock + " ")
            left = Text.assemble((product, "bold"), *(("  ", (store, "italic")) if store else ()))
            left.append_text(Text.assemble(*markers, *facts))
            return left, right

        width = self.size.width
        left, right = assemble()
        # Least important first: the facts on the left (the window, the focus, a live
        # date), then the product's name, the clock, the count's word, the store's name.
        while facts and left.cell_len + right.cell_len + 2 > width:
            facts.pop()
            left, right = assemble()
        for shrink in range(4):
            if left.cell_len + right.cell_len + 2 <= width:
                break
            if shrink == 0:
                product = " ◆ "
            elif shrink == 1:
                clock = False
            elif shrink == 2:
                long_count = False
            else:
                store = ""
            left, right = assemble()
        gap = max(1, width - left.cell_len - right.cell_len)
        return Text.assemble(left, " " * gap, right)
