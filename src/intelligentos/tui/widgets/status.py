"""How a status looks: its colour in the theme, and its glyph (with emphasis instead of
colour when the terminal has none)."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from intelligentos.domain.detection import Status

# The theme variable (``[variables]`` of a theme file) that colours the tracked status.
TRACKED_VARIABLE = "status-tracked"
# Beside a target that the targets of the KPIs below it do not add up to (the quarter's
# cascade is inconsistent there).
INCONSISTENT = "≠"
# Before the name of a KPI whose open alerts a silence hushes (none asks for attention).
SILENCED = "⊘"


def status_colour(widget: Widget, status: Status) -> str:
    if widget.app.no_color:
        # Without colour a status colour turns into a grey of its luminance, and the error
        # red is the darkest of them: status is told by glyph and emphasis instead.
        return ""
    theme = widget.app.current_theme
    if status is Status.TRACKED:
        # A colour of its own where the theme gives one (the built-in themes do), else the
        # text colour: a tracked KPI is neither good nor bad news.
        return theme.variables.get(TRACKED_VARIABLE) or theme.foreground or ""
    return {
        Status.OK: theme.success,
        Status.WARNING: theme.warning,
        Status.CRITICAL: theme.error,
        Status.STALE: theme.secondary,
        Status.NO_DATA: theme.foreground,
    }.get(status) or ""


# Without colour, emphasis carries the status: critical is the boldest thing on screen.
_NO_COLOUR_STYLE = {Status.CRITICAL: "bold reverse"}


def glyph(widget: Widget, status: Status) -> Text:
    if widget.app.no_color:
        return Text(status.glyph, style=_NO_COLOUR_STYLE.get(status, "bold"))
    return Text(status.glyph, style=f"bold {status_colour(widget, status)}")
