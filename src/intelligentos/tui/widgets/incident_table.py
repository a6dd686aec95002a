"""The alerts screen's table: one row per incident, its alerts indented below it when
expanded; columns that fit the terminal's width, sortable by a key or a click on a header."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from intelligentos.domain.alerts import Alert
from intelligentos.domain.detection import Severity
from intelligentos.domain.incidents import Incident
from intelligentos.tui.widgets.fit import fit

SEVERITY_GLYPH = {Severity.CRITICAL: "■", Severity.WARNING: "▲", Severity.INFO: "●"}
SILENCED_MARK = "⊘"  # before the state of a silenced incident or alert
COLLAPSED, EXPANDED = "▸", "▾"
CHILD = "  └ "


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    cap: int | None = None  # never wider: longer text is cut with "…"
    # A growing column starts at ``minimum`` and takes what the others leave, up to ``cap``.
    grows: bool = False
    minimum: int = 0


COLUMNS = (
    Column("severity", "", cap=1),
    Column("id", "#", cap=8),
    Column("subject", "subject", cap=40, grows=True, minimum=12),
    Column("rule", "rule", cap=16),
    Column("state", "state", cap=14),
    Column("value", "value", cap=12),
    Column("expected", "expected", cap=12),
    Column("deviation", "deviation", cap=24),
    Column("age", "age", cap=6),
    Column("owner", "owner", cap=36, grows=True, minimum=12),
    Column("routed", "routed to", cap=40, grows=True, minimum=10),
    Column("ack", "acknowledged", cap=44, grows=True, minimum=16),
    Column("message", "message", grows=True, minimum=30),
)
BY_KEY = {column.key: column for column in COLUMNS}
# Kept at any width (text is cut instead): what the incident is and how bad.
REQUIRED = ("severity", "id", "subject", "rule", "state", "value", "age")
# Added while they fit, in this order; the detail line under the table shows them anyway.
# Who acknowledged (only shown when someone did) goes before the catalog owner: it says
# who is on it now.
# The agents it is routed to (by id) come last, and only while the owner keeps
# OWNER_COMFORT cells: the owner is who answers for it.
OPTIONAL = ("deviation", "expected", "ack", "owner", "message", "routed")
# The subject keeps this much before optional columns may take the room.
SUBJECT_COMFORT = 18
OWNER_COMFORT = 24
PADDING = 2  # DataTable's cell padding: one cell on each side
SCROLLBAR = 2  # room for the vertical scrollbar, so that no column hides under it


def plan_columns(
    rows: Sequence[Mapping[str, str]], width: int, labels: Mapping[str, str] | None = None
) -> dict[str, int]:
    """Which columns to show at ``width`` cells, and how wide, in display order. The
    required columns always stay; optional ones join by priority while they fit; what is
    left widens the growing columns (subject first; the message, last, takes the rest).
    ``labels``: headers other than the columns' own (the sorted column's arrow)."""
    labels = labels or {}

    def natural(key: str) -> int:
        column = BY_KEY[key]
        label = labels.get(key, column.label)
        widest = max([cell_len(label), *(cell_len(row[key]) for row in rows)])
        return min(widest, max(column.cap or widest, cell_len(label)))

    def start(key: str) -> int:
        column = BY_KEY[key]
        return min(natural(key), column.minimum) if column.grows else natural(key)

    widths = {key: start(key) for key in REQUIRED}
    budget = width - sum(w + PADDING for w in widths.values())
    subject_reserve = max(min(natural("subject"), SUBJECT_COMFORT) - widths["subject"], 0)
    for key in OPTIONAL:
        if not any(row[key] for row in rows):
            continue  # a column with nothing in it (no one acknowledged yet)
        need = start(key) + PADDING
        reserve = subject_reserve
        if key == "routed" and "owner" in widths:
            reserve += max(min(natural("owner"), OWNER_COMFORT) - widths["owner"], 0)
        if need <= budget - reserve:
            widths[key] = start(key)
            budget -= need
    for key in ("subject", "owner", "ack", "routed", "message"):
        if key in widths and budget > 0:
            grow = max(min(budget, natural(key) - widths[key]), 0)
            widths[key] += grow
            budget -= grow
    if budget < 0:  # narrower than the required columns: the subject gives way
        widths["subject"] = max(widths["subject"] + budget, 1)
    return {column.key: widths[column.key] for column in COLUMNS if column.key in widths}


# --- sorting -------------------------------------------------------------------------------

# What the sort key steps through, in this order; each column first in the direction people
# look for (the worst and the oldest first, names from A), then the other way.
SORTABLE = ("severity", "age", "subject", "rule", "state", "owner", "value", "id")
DESCENDING_FIRST = frozenset({"severity", "age"})
SORT_NAMES = {"severity": "severity", "id": "#"}


@dataclass(frozen=True)
class Sort:
    key: str = "severity"
    descending: bool = True

    @property
    def arrow(self) -> str:
        return "▼" if self.descending else "▲"

    def describe(self) -> str:
        return f"{SORT_NAMES.get(self.key, BY_KEY[self.key].label)} {self.arrow}"

    def following(self) -> Sort:
        """The next sort of the cycle: this column the other way, then the next column."""
        if self.descending == (self.key in DESCENDING_FIRST) and self.key in SORTABLE:
            return Sort(self.key, not self.descending)
        index = SORTABLE.index(self.key) + 1 if self.key in SORTABLE else 0
        key = SORTABLE[index % len(SORTABLE)]
        return Sort(key, key in DESCENDING_FIRST)

    def clicked(self, key: str) -> Sort:
        """Sorted by a clicked header: that column, or the other way when it already is."""
        if key == self.key:
            return Sort(key, not self.descending)
        return Sort(key, key in DESCENDING_FIRST)


def header_labels(sort: Sort) -> dict[str, str]:
    """The headers, the sorted column's with its arrow ("severity ▼" reads "▼")."""
    labels = {column.key: column.label for column in COLUMNS}
    labels[sort.key] = f"{labels[sort.key]} {sort.arrow}".strip()
    return labels


def sorted_by(items: Sequence[Any], sort: Sort, value: Callable[[Any, str], Any]) -> list[Any]:
    """``items`` (already in the default order, which breaks ties) by ``value(item,
    sort.key)``; an item without a value (None) goes last either way."""
    present = [i for i in items if value(i, sort.key) is not None]
    missing = [i for i in items if value(i, sort.key) is None]
    return [*sorted(present, key=lambda i: value(i, sort.key), reverse=sort.descending), *missing]


# --- the rows ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One row: an incident (``alert`` its face), or one of its alerts when expanded."""

    key: str
    incident: Incident
    alert: Alert
    is_incident: bool
    cells: dict[str, str]
    silenced: bool = False


def incident_key(incident: Incident) -> str:
    """An incident's row key (one not filed yet has no id: its group names it)."""
    return f"incident-{incident.id}" if incident.id is not None else f"group-{incident.group}"


class IncidentTable(DataTable[Text]):
    """Incidents, each expandable to its alerts (the screen says what each key does)."""

    BINDINGS = [
        Binding(
            "space",
            "screen.toggle_incident",
            "Expand",
            id="alerts-expand",
            show=False,  # the footer must fit 120 columns; the title line names the key
            tooltip="Show or hide the selected incident's alerts",
        ),
        Binding(
            "right", "screen.expand_incident", "Show alerts", show=False, id="alerts-open-incident"
        ),
        Binding("left", "screen.collapse_incident", "Hide alerts", show=False, id="alerts-fold"),
    ]

    def fill(self, lines: Sequence[Line], plan: Mapping[str, int], sort: Sort, theme: Any) -> None:
        """Show ``lines`` in the columns of ``plan``; the sorted column's header says so."""
        self.clear(columns=True)
        labels = header_labels(sort)
        for key, column_width in plan.items():
            self.add_column(labels[key], width=column_width, key=key)
        colour = {
            Severity.CRITICAL: theme.error,
            Severity.WARNING: theme.warning,
            Severity.INFO: theme.foreground,
        }
        for line in lines:
            alert = line.alert
            loud = alert.needs_attention and not line.silenced
            if line.is_incident:
                loud = any(a.needs_attention for a in line.incident.alerts) and not line.silenced
            styles = {
                "severity": f"bold {colour.get(alert.severity, theme.foreground)}",
                "subject": "bold" if loud else "",
                "state": "bold" if loud else "dim",
                "id": "dim" if line.is_incident else "dim italic",
            }
            # Text, never a plain str cell: that would be parsed as markup, and the alerts
            # table is public (other tools may write it). The cells are already literal.
            row = []
            for key, column_width in plan.items():
                text = line.cells[key]
                if cell_len(text) > column_width:
                    text = fit(text, column_width)
                row.append(Text(text, style=styles.get(key, ""), no_wrap=True))
            self.add_row(*row, key=line.key)
