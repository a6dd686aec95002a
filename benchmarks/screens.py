"""What the cockpit's screens must show before a person has them, read from the store.

Each condition is a :class:`Shows`: texts, each with the number of times it must be on
the emulated screen (``benchmarks/terminal.py``). They are derived from the store the
cockpit opens, never written down, so they hold for any store:

* :func:`dashboard` — the whole dashboard with every panel's data: each engine panel's
  bottom border counts its rows ("484 KPIs"), each CEO card shows its status and value
  ("● 43.9%"), and the selection card, which the cockpit fills once it has focused the
  first row, shows that KPI's name and status, its value and its change on the previous
  period.
* :func:`selected` — the selection card showing a given KPI.
* :func:`lineage_tree` — the lineage drill-down of a KPI with its tree painted, and
  :func:`lineage`, the whole screen: the tree and the KPI's details beside it.

:func:`keys_to_select` is how a person picks a KPI on the dashboard with the keyboard.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from terminal import DOWN, ENTER, ESCAPE, LEFT, RIGHT, UP

from intelligentos.domain.catalog.models import Catalog, Kpi
from intelligentos.domain.detection import Status
from intelligentos.domain.formatting import format_value, literal
from intelligentos.domain.lineage import LineageGraph, LineageNode
from intelligentos.domain.snapshots import KpiSnapshot, snapshot
from intelligentos.store import Store

GLYPHS = "".join(status.glyph for status in Status)
LABEL_START = 20  # characters of a tree node's label that always fit the tree's width


@dataclass
class Shows:
    """A screen condition: every pattern found at least its number of times."""

    what: str
    wanted: list[tuple[str, re.Pattern[str], int]] = field(default_factory=list)
    unwanted: list[tuple[str, re.Pattern[str]]] = field(default_factory=list)

    def text(self, text: str, times: int = 1) -> Shows:
        """``text`` literally, ``times`` times."""
        return self.pattern(text, re.escape(text), times)

    def pattern(self, label: str, pattern: str, times: int = 1) -> Shows:
        self.wanted.append((label, re.compile(pattern), times))
        return self

    def without(self, label: str, pattern: str) -> Shows:
        """Not shown while ``pattern`` is on the screen (what was there before)."""
        self.unwanted.append((label, re.compile(pattern)))
        return self

    def missing(self, screen: str) -> list[str]:
        return [
            label if times == 1 else f"{label} ×{times}"
            for label, pattern, times in self.wanted
            if len(pattern.findall(screen)) < times
        ] + [f"no {label}" for label, pattern in self.unwanted if pattern.search(screen)]

    def __call__(self, screen: str) -> bool:
        return all(len(p.findall(screen)) >= times for _, p, times in self.wanted) and not any(
            p.search(screen) for _, p in self.unwanted
        )

    def __str__(self) -> str:
        parts = [label if t == 1 else f"{label} ×{t}" for label, _, t in self.wanted]
        parts += [f"no {label}" for label, _ in self.unwanted]
        return f"{self.what}: " + "; ".join(parts)


def _snapshots(store_path: Path, kpis: list[Kpi]) -> dict[str, KpiSnapshot]:
    """The KPIs' snapshots as the cockpit shows them today (only the latest values and
    the status matter here, so a window of two periods)."""
    with Store.open(store_path) as store:
        windows = store.latest_windows(2, [k.id for k in kpis])
    today = date.today()
    return {k.id: snapshot(k, windows.get(k.id, []), today) for k in kpis}


def read_catalog(store_path: Path) -> Catalog:
    with Store.open(store_path) as store:
        return store.read_catalog()


def panel_count(rows: int, times: int = 1) -> tuple[str, str, int]:
    """A panel's row count on its bottom border: "386 KPIs", not the end of "1386 KPIs"."""
    return f"{rows} KPIs", rf"(?<![\d,]){rows} KPIs", times


NO_SELECTION = "Select a KPI"  # the selection card before a row or a card has the focus


def dashboard(store_path: Path, *, selection_card: bool = True) -> Shows:
    """The dashboard painted with every panel's data (see the module's docstring); without
    ``selection_card``, all of it but the selection card."""
    catalog = read_catalog(store_path)
    ceo = catalog.ceo_kpis()
    engines = [e.id for e in catalog.engines.values()]
    rows = [catalog.kpis_of_engine(e) for e in engines]
    first = next(kpis[0] for kpis in rows if kpis)  # the row focused after the first paint
    snaps = _snapshots(store_path, [*ceo, first])
    shows = Shows("the dashboard with its data")
    for count, times in Counter(len(kpis) for kpis in rows).items():
        shows.pattern(*panel_count(count, times))
    # A card's second line: its status glyph, then its value.
    values = Counter(snaps[k.id].value_text for k in ceo)
    for value, times in values.items():
        shows.pattern(f"CEO card {value}", f"[{GLYPHS}] {re.escape(value)}", times)
    if not selection_card:
        shows.what = "the dashboard's panels and CEO cards with their data"
        return shows
    return selection(shows, snaps[first.id])


def selection(shows: Shows, snap: KpiSnapshot) -> Shows:
    """The selection card filled for ``snap``'s KPI: its first two lines, which the card
    always has room for (the lines below may be cut off): the name, then the status; the
    value, then its change on the previous period (when it has a value)."""
    name = literal(snap.kpi.name)
    # The name, then the status (the name alone may also be in the filter box).
    shows.pattern(name, rf"{re.escape(name)}\s+[{GLYPHS}] {snap.status.value}")
    if snap.change_vs_previous_text:
        shows.text(f"{snap.value_text}  {snap.change_vs_previous_text}")
    return shows


def selected(store_path: Path, kpi_id: str) -> Shows:
    """The selection card showing ``kpi_id``."""
    kpi = read_catalog(store_path).kpis[kpi_id]
    return selection(Shows(f"{kpi_id} selected"), _snapshots(store_path, [kpi])[kpi_id])


def lineage_tree(store_path: Path, kpi_id: str) -> Shows:
    """The lineage screen of ``kpi_id`` with its tree: the breadcrumbs end with its name,
    and the tree shows its root and the first nodes under the root's first section. The
    rest of the screen may still show what was there before (the cockpit paints the tree
    a frame before the details pane)."""
    catalog = read_catalog(store_path)
    root = LineageGraph(catalog).lineage_tree(kpi_id)
    name = literal(catalog.kpis[kpi_id].name)
    shows = Shows(f"the lineage tree of {kpi_id}").text(f"Dashboard › {name}")
    # The root's label: the name, then its detail (the selection card has a glyph there).
    shows.pattern(f"{name}  {root.detail}", rf"{re.escape(name)}  {re.escape(root.detail)}")
    for node in tree_nodes_in_view(root):
        # The start of its label: the tree cuts what does not fit its width.
        shows.text(literal(node.label)[:LABEL_START].rstrip())
    return shows


def lineage(store_path: Path, kpi_id: str) -> Shows:
    """The whole lineage screen of ``kpi_id``: its tree (:func:`lineage_tree`) and, beside
    it, the details of the KPI under the cursor, the root: "leading KPI · …" and its
    status and value ("● ok  93.0%"), lines only the details pane shows."""
    catalog = read_catalog(store_path)
    kpi = catalog.kpis[kpi_id]
    snap = _snapshots(store_path, [kpi])[kpi_id]
    shows = lineage_tree(store_path, kpi_id)
    shows.what = f"the lineage of {kpi_id} with its details"
    shows.text(f"{kpi.level.value} KPI · ")
    return shows.text(f"{snap.status.glyph} {snap.status.value}  {snap.value_text}")


BRAILLE = "[\u2801-\u28ff]"  # the chart draws the history with braille dots
CHART_DOTS = 20  # cells of braille at least: the history drawn
CHART_ZOOM = 90  # periods the lineage screen's chart shows when it opens
AXIS_LABELS = 2  # the value axis's top labels, which the pane always has room for


def chart_axis(store_path: Path, kpi_id: str) -> list[str]:
    """The top labels of the value axis of ``kpi_id``'s chart as the lineage screen draws
    it when it opens (its last CHART_ZOOM periods, its target and threshold lines, its
    stored forecast), highest first: computed by the chart's own code from the store."""
    from intelligentos.domain.charts import value_axis
    from intelligentos.tui.widgets.forecast_chart import MAX_VALUE_TICKS, ChartData

    with Store.open(store_path) as store:
        kpi = store.read_catalog().kpis[kpi_id]
        history = store.history(kpi_id, CHART_ZOOM)
        stored = store.forecasts([kpi_id])
    present = tuple((p[:10], v) for p, v in history if v is not None and math.isfinite(v))
    forecast = stored[0].forecast if stored else None
    drawn = forecast if forecast is not None and forecast.points else None
    axis = value_axis(ChartData(kpi, present, drawn).values(), kpi.unit, MAX_VALUE_TICKS)
    return list(reversed(axis.labels))[:AXIS_LABELS]


def axis_label(label: str) -> tuple[str, str]:
    """A value axis's tick label, as plotext draws it: right before the axis's tick."""
    return f"axis {label}┤", rf"(?<![\d.,]){re.escape(label)}┤"


def lineage_with_chart(store_path: Path, kpi_id: str, previous: str | None = None) -> Shows:
    """The whole lineage screen of ``kpi_id`` as a person waits for it: the tree and the
    details (:func:`lineage`), and the KPI's history chart, which a worker reads once the
    screen has opened: the chart's title, the history drawn (braille cells) and the top
    labels of its value axis. Until its history is read the chart still shows the KPI shown
    before (``previous``): not while that chart's labels are on the screen, when they
    differ."""
    shows = lineage(store_path, kpi_id)
    shows.what = f"the lineage of {kpi_id} with its details and its chart"
    labels = chart_axis(store_path, kpi_id)
    if not labels:
        return shows.text("No observations yet.")
    shows.text("History (").pattern(f"{CHART_DOTS} braille cells", BRAILLE, CHART_DOTS)
    for label in labels:
        shows.pattern(*axis_label(label))
    if previous is not None:
        before = chart_axis(store_path, previous)
        if before and before != labels:
            pattern = "".join(f"(?=[\\s\\S]*{axis_label(label)[1]})" for label in before)
            shows.without(f"{previous}'s axis ({', '.join(before)})", pattern)
    return shows


def tree_nodes_in_view(root: LineageNode, limit: int = 3) -> list[LineageNode]:
    """A few nodes the lineage tree shows when it opens, by label: the first children of
    the root's first section that has any (the "Rolls up to" or the "Lineage" section)."""
    for section in root.children:
        if section.kind == "section" and section.children:
            return [n for n in section.children[:limit] if n.label]
    return []


def keys_to_select(store_path: Path, kpi_id: str, after: str | None = None) -> list[bytes]:
    """The keys a person presses on the dashboard to select ``kpi_id``: on the freshly
    opened dashboard (the first row of the first panel focused), or, with ``after``, back
    on it from the lineage of ``after`` (selected with these keys in turn). A CEO KPI by
    moving up into the CEO strip and along it; a panel's KPI by filtering the rows by its
    name ("/", the name, Enter: the first panel with a match is focused), then right across
    the panels that still show rows and down to it. Escape first clears a filter left from
    ``after`` (and focuses the first row again, as on a fresh dashboard)."""
    catalog = read_catalog(store_path)
    kpi = catalog.kpis[kpi_id]
    ceo = [k.id for k in catalog.ceo_kpis()]
    keys: list[bytes] = []
    if after is not None and after in ceo:
        if kpi_id in ceo:  # along the strip, from the card that has the focus
            move = ceo.index(kpi_id) - ceo.index(after)
            return [RIGHT] * move if move >= 0 else [LEFT] * -move
    elif after is not None:
        keys.append(ESCAPE)
    if kpi_id in ceo:
        return keys + [UP] + [RIGHT] * ceo.index(kpi_id)
    needle = kpi.name.casefold()
    matches = [
        [k.id for k in catalog.kpis_of_engine(e) if needle in k.name.casefold()]
        for e in catalog.engines
    ]
    shown = [ids for ids in matches if ids]
    panel = next(i for i, ids in enumerate(shown) if kpi_id in ids)
    keys += [b"/", kpi.name.encode(), ENTER]
    return keys + [RIGHT] * panel + [DOWN] * shown[panel].index(kpi_id)


def ceo_values(store_path: Path) -> list[tuple[Kpi, float]]:
    """The CEO KPIs that have a value, each with its latest value, in the strip's order."""
    ceo = read_catalog(store_path).ceo_kpis()
    snaps = _snapshots(store_path, ceo)
    return [(k, snaps[k.id].latest) for k in ceo if snaps[k.id].latest is not None]


def card(kpi: Kpi, value: float) -> Shows:
    """A CEO card showing ``value``: its status glyph, then the value."""
    text = format_value(value, kpi.unit)
    return Shows(f"{kpi.id}'s card showing {text}").pattern(
        f"CEO card {text}", rf"[{GLYPHS}] {re.escape(text)}"
    )


def card_change(kpi: Kpi, current: float, screen: str, *, up: bool) -> tuple[float, Shows]:
    """A new value for a CEO KPI whose card would then show something ``screen`` does not
    show yet (so its appearance can be seen): ``current`` moved up (or down) by steps of
    3 % of the KPI's scale until its card's text is new. The value and what its card shows."""
    scale = max(abs(current), abs(kpi.target), 1.0)
    for step in range(1, 100):
        value = current + (1 if up else -1) * step * 0.03 * scale
        shows = card(kpi, value)
        if not shows(screen):
            return value, shows
    raise RuntimeError(f"no new value of {kpi.id} to show: every one tried is on the screen")
