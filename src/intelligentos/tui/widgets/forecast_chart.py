"""The lineage screen's chart: a KPI's history, its target and threshold lines, and its stored
forecast with the 80 % (and, when legible, 95 %) interval, drawn with textual-plotext; a key
and the forecast's backtest verdict in words below it.

This module imports textual-plotext (about 45 ms), so the cockpit's launch path must not
import it: the lineage screen imports it when it is composed, and the navigator imports it
in a thread after start-up (``Navigator.prewarm``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import cast

from rich.text import Text
from textual.app import ComposeResult, RenderResult
from textual.color import Color
from textual.containers import Vertical
from textual.widgets import Static
from textual_plotext import PlotextPlot

from intelligentos.domain.catalog.models import Kpi
from intelligentos.domain.charts import (
    BandLine,
    Verdict,
    band_lines,
    date_ticks,
    forecast_verdict,
    value_axis,
)
from intelligentos.domain.forecast import Forecast
from intelligentos.domain.formatting import format_value, literal

History = Sequence[tuple[str, float | None]]

# Markers: each series differs in shape as well as colour (NO_COLOR, colour blindness).
HISTORY_MARKER = "braille"
MEAN_MARKER = "•"
BAND80_MARKER = "▒"
BAND95_MARKER = "░"
LINE_MARKERS = {"target": "━", "warning": "╌", "critical": "┄"}
# Theme variables each series takes its colour from.
COLOURS = {
    "history": "foreground",
    "forecast": "secondary",
    "target": "success",
    "warning": "warning",
    "critical": "error",
}
DATE_LABEL = 10  # columns a date tick label takes ("2026-11-27")
DATE_SPACING = 16  # columns from one date label to the next, at least
MAX_VALUE_TICKS = 5
LEGIBLE_95 = 1.5  # the 95 % interval is drawn when it widens the y range at most this much


@dataclass(frozen=True)
class ChartData:
    """What one chart shows: set on the event loop, drawn at the widget's current size."""

    kpi: Kpi
    history: tuple[tuple[str, float], ...]  # present values, oldest first
    forecast: Forecast | None  # the stored forecast, when it has points

    @property
    def lines(self) -> list[BandLine]:
        return band_lines(self.kpi)

    def show_95(self) -> bool:
        """Whether the 95 % interval fits without squashing the rest of the chart."""
        if self.forecast is None:
            return False
        core = self._values(with_95=False)
        full = self._values(with_95=True)
        span = max(core) - min(core)
        return span > 0 and (max(full) - min(full)) <= LEGIBLE_95 * span

    def _values(self, with_95: bool) -> list[float]:
        values = [v for _, v in self.history] + [line.value for line in self.lines]
        for point in self.forecast.points if self.forecast else ():
            values += [point.lo80, point.mean, point.hi80]
            if with_95:
                values += [point.lo95, point.hi95]
        return values

    def values(self) -> list[float]:
        """Every value the y axis must hold."""
        return self._values(with_95=self.show_95())


def padded_end(first: str, last: str, width: int) -> str:
    """The x axis's right end: ``last`` plus room for half a date label, so that the label
    of the last period fits inside the figure (plotext leaves out a label that would not)."""
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    plot_width = max(width - 10, 10)  # less the y labels and the frame
    days = math.ceil((end - start).days * (DATE_LABEL / 2 + 1) / plot_width)
    return (end + timedelta(days=days)).isoformat()


def theme_rgb(variables: dict[str, str], series: str) -> tuple[int, int, int]:
    colour = Color.parse(variables.get(COLOURS[series], "white"))
    return (colour.r, colour.g, colour.b)


class ForecastPlot(PlotextPlot):
    """The plotext figure. It re-plots for its size every time it renders, so tick labels
    fit after a resize or zoom."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.chart: ChartData | None = None

    def show(self, chart: ChartData | None) -> None:
        self.chart = chart
        self.refresh()

    def render(self) -> RenderResult:
        self.plot(self.size.width, self.size.height)
        return super().render()

    def plot(self, width: int, height: int) -> None:
        """Set up the figure for ``width`` × ``height`` cells (no drawing yet)."""
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        chart = self.chart
        if chart is None or not chart.history:
            return
        variables = self.app.theme_variables

        def rgb(series: str) -> tuple[int, int, int]:
            return theme_rgb(variables, series)

        plt.date_form("Y-m-d")
        dates = [p for p, _ in chart.history]
        forecast = chart.forecast
        points = forecast.points if forecast else ()
        periods = dates + [p.period[:10] for p in points]
        span = [periods[0], padded_end(periods[0], periods[-1], width)]
        # Bands first, as vertical strokes (one per column at most), so lines draw over them.
        if points:
            stride = max(1, len(points) // max(width // 2, 1))
            sample = points[::stride]
            if chart.show_95():
                for point in sample:
                    plt.plot(
                        [point.period[:10]] * 2,
                        [point.lo95, point.hi95],
                        marker=BAND95_MARKER,
                        color=rgb("forecast"),
                    )
            for point in sample:
                plt.plot(
                    [point.period[:10]] * 2,
                    [point.lo80, point.hi80],
                    marker=BAND80_MARKER,
                    color=rgb("forecast"),
                )
        for line in sorted(chart.lines, key=lambda line: line.kind != "critical"):
            plt.plot(span, [line.value] * 2, marker=LINE_MARKERS[line.kind], color=rgb(line.kind))
        plt.plot(dates, [v for _, v in chart.history], marker=HISTORY_MARKER, color=rgb("history"))
        if points:
            # From the last observation on, so the forecast visibly continues the history.
            plt.plot(
                [dates[-1]] + [p.period[:10] for p in points],
                [chart.history[-1][1]] + [p.mean for p in points],
                marker=MEAN_MARKER,
                color=rgb("forecast"),
            )
        axis = value_axis(chart.values(), chart.kpi.unit, MAX_VALUE_TICKS if height > 8 else 3)
        plt.ylim(axis.low, axis.high)
        plt.yticks(list(axis.ticks), list(axis.labels))
        ticks = date_ticks(periods, max(2, (width - 8) // DATE_SPACING + 1))
        plt.xticks([self._x(day) for day in ticks], ticks)
        plt.xlim(self._x(span[0]), self._x(span[1]))

    def _x(self, day: str) -> float:
        # plotext's stub says datetime; it returns the float x it plots date strings at.
        return cast(float, self.plt.string_to_time(day))


class ForecastPanel(Vertical):
    """Title, plot, key and verdict: everything the details pane shows about one KPI's
    history and forecast. Only the event loop calls it; the lineage screen's worker loads
    what it shows."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.chart: ChartData | None = None
        self.verdict: Verdict | None = None
        self.zoom = 0

    def compose(self) -> ComposeResult:
        yield Static(id="chart-title")
        yield ForecastPlot(id="forecast-plot")
        yield Static(id="chart-key")
        yield Static(id="forecast-verdict")

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _: self._write_key())

    def clear(self) -> None:
        """Nothing to show (the cursor is on a node that is not a KPI)."""
        self.chart = self.verdict = None
        self.query_one(ForecastPlot).show(None)
        self.add_class("-cleared")
        for name in ("#chart-title", "#chart-key", "#forecast-verdict"):
            self.query_one(name, Static).update("")

    def show(
        self,
        kpi: Kpi,
        history: History,
        zoom: int,
        forecast: Forecast | None,
        made_at: str | None,
    ) -> None:
        present = tuple((p[:10], v) for p, v in history if v is not None and math.isfinite(v))
        latest = present[-1][0] if present else None
        self.verdict = forecast_verdict(forecast, made_at, latest, kpi.unit)
        drawn = forecast if forecast is not None and forecast.points else None
        self.chart = ChartData(kpi, present, drawn)
        self.zoom = zoom
        self.remove_class("-cleared")
        self.set_class(not present, "-empty")
        self.query_one(ForecastPlot).show(self.chart if present else None)
        periods = f"last {zoom}" if zoom else "all"
        title = Text(f"History ({periods} periods)", style="dim")
        title.append(" and forecast" if drawn else "", style="dim")
        title.append(" · z zooms", style="dim")
        if not present:
            title = Text("No observations yet.", style="dim")
        self.query_one("#chart-title", Static).update(title)
        self._write_key()

    def _write_key(self) -> None:
        """Key and verdict, in the current theme's colours."""
        chart, variables = self.chart, self.app.theme_variables
        key = chart_key(chart, variables) if chart and chart.history else Text()
        self.query_one("#chart-key", Static).update(key)
        verdict = verdict_text(self.verdict, variables) if self.verdict else Text()
        self.query_one("#forecast-verdict", Static).update(verdict)


def _style(variables: dict[str, str], series: str) -> str:
    r, g, b = theme_rgb(variables, series)
    return f"rgb({r},{g},{b})"


def chart_key(chart: ChartData, variables: dict[str, str]) -> Text:
    """One line naming every series, each with its marker in its colour."""

    def style(series: str) -> str:
        return _style(variables, series)

    unit = chart.kpi.unit
    text = Text()
    text.append("⣿", style=style("history"))
    text.append(" history  ")
    if chart.forecast is not None:
        text.append(MEAN_MARKER, style=style("forecast"))
        text.append(" forecast ")
        text.append(BAND80_MARKER, style=style("forecast"))
        text.append(" 80 %")
        if chart.show_95():
            text.append(" ")
            text.append(BAND95_MARKER, style=style("forecast"))
            text.append(" 95 %")
    text.rstrip()
    text.append("\n")
    if not chart.lines:
        text.append("no target (tracked): no target or threshold lines", style="dim")
        return text
    for kind in ("target", "warning", "critical"):
        values = [line.value for line in chart.lines if line.kind == kind]
        text.append(LINE_MARKERS[kind], style=style(kind))
        shown = " / ".join(format_value(v, unit) for v in values)
        text.append(f" {kind} {shown}" + ("  " if kind != "critical" else ""))
    return text


def verdict_text(verdict: Verdict, variables: dict[str, str]) -> Text:
    """The verdict as plain text (never markup: the note may quote user data); an out of
    date forecast says so in the warning colour."""
    text = Text(literal(verdict.summary), style="bold" if verdict.projection else "dim")
    if verdict.note:
        text.append("\n" + literal(verdict.note))
    if verdict.projection:
        text.append("\n" + literal(verdict.projection))
    if verdict.provenance:
        text.append(
            "\n" + literal(verdict.provenance),
            style=f"bold {_style(variables, 'warning')}" if verdict.outdated else "dim",
        )
    return text
