"""The cockpit's keys: those that work everywhere, and how a key is written for people."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from textual.binding import Binding, BindingType

TRAVEL_PERIOD_DAYS = 7  # `<` and `>` step the as-of date by a week

KEY_NAMES = {
    "question_mark": "?",
    "slash": "/",
    "asterisk": "*",
    "space": "Space",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
    "left_curly_bracket": "{",
    "right_curly_bracket": "}",
    "less_than_sign": "<",
    "greater_than_sign": ">",
    "escape": "Esc",
    "enter": "Enter",
    "tab": "Tab",
    "up": "↑",
    "down": "↓",
    "left": "←",
    "right": "→",
}


def key_label(keys: str) -> str:
    """``"down,j"`` → ``"↓ / j"``; ``"ctrl+p"`` → ``"Ctrl+P"``."""
    labels = []
    for key in keys.split(","):
        key = key.strip()
        if key in KEY_NAMES:
            labels.append(KEY_NAMES[key])
        elif "+" in key:
            labels.append("+".join(part.capitalize() for part in key.split("+")))
        else:
            labels.append(key)
    return " / ".join(labels)


def bound_labels(bindings: Iterable[BindingType], keymap: Mapping[str, str]) -> dict[str, str]:
    """The label of each binding with an id, as the user's ``[keymap]`` rebinds it: what a
    screen's title and hints show."""
    return {
        binding.id: key_label(keymap.get(binding.id, binding.key))
        for binding in bindings
        if isinstance(binding, Binding) and binding.id
    }


# Everywhere: the app's own bindings (each screen's are in its module).
APP_BINDINGS: list[BindingType] = [
    Binding("a", "alerts", "Alerts", id="alerts", tooltip="Every alert, by severity"),
    Binding("p", "pause", "Pause live", id="pause", tooltip="Pause live refresh"),
    Binding("p", "resume", "Resume live", id="resume", tooltip="Resume live refresh"),
    Binding("ctrl+r", "refresh", "Refresh", id="refresh", tooltip="Evaluate and reload"),
    Binding("question_mark", "help", "Help", id="help", tooltip="Every key"),
    # Not in the footer's list: the footer shows the palette's key at its right end.
    Binding("ctrl+p", "command_palette", "Find", id="find", show=False, tooltip="Jump to anything"),
    # In help and the palette, not the footer: the footer must fit 120 columns.
    Binding("t", "next_theme", "Theme", id="theme", show=False, tooltip="Next colour theme"),
    Binding("b", "brief", "CEO brief", id="brief", show=False, tooltip="The CEO weekly brief"),
    Binding(
        "M",
        "strategy_map",
        "Strategy map",
        id="strategy-map",
        show=False,
        tooltip="Themes → objectives → CEO KPIs → functional KPIs",
    ),
    Binding(
        "P",
        "pyramid",
        "KPI pyramid",
        id="pyramid",
        show=False,
        tooltip="The layers from CEO KPIs down to data fields, with counts and status",
    ),
    Binding(
        "G",
        "agents",
        "Agents",
        id="agents",
        show=False,
        tooltip="Each agent's KPIs, rules and routed alerts",
    ),
    Binding(
        "O",
        "okr",
        "OKRs",
        id="okr",
        show=False,
        tooltip="The next quarter's targets proposed from the forecasts; accept with a note",
    ),
    # Time travel: the cockpit as of an earlier date (read-only). A period is a week; a
    # day with the curly brackets. In help, not the footer: the alerts screen's footer
    # would not fit 120 columns; the header shows the date, and stepping into the past
    # says how to come back.
    Binding(
        "less_than_sign",
        f"travel(-{TRAVEL_PERIOD_DAYS})",
        "As of a week earlier",
        id="as-of-back",
        show=False,
        tooltip="Step the as-of date back a week (read-only)",
    ),
    Binding(
        "greater_than_sign",
        f"travel({TRAVEL_PERIOD_DAYS})",
        "As of a week later",
        id="as-of-forward",
        show=False,
        tooltip="Step the as-of date forward a week; past today is live",
    ),
    Binding(
        "left_curly_bracket",
        "travel(-1)",
        "As of a day earlier",
        id="as-of-day-back",
        show=False,
        tooltip="Step the as-of date back a day (read-only)",
    ),
    Binding(
        "right_curly_bracket",
        "travel(1)",
        "As of a day later",
        id="as-of-day-forward",
        show=False,
        tooltip="Step the as-of date forward a day; past today is live",
    ),
    Binding("L", "live", "Live", id="as-of-live", show=False, tooltip="Back to live, as of now"),
    Binding("q", "quit", "Quit", id="quit"),
]
