"""Everything the command line prints: its consoles, and each kind of output as a table,
text and a JSON record, built from the same model, so the JSON record of each thing is
written in one place."""

from __future__ import annotations

import contextlib
import itertools
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console, ConsoleDimensions
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from intelligentos.domain import alerts as wording
from intelligentos.domain.agents import Route
from intelligentos.domain.alerts import Alert, subject_name
from intelligentos.domain.catalog import Catalog, Level
from intelligentos.domain.catalog.models import Kpi
from intelligentos.domain.detection import Status
from intelligentos.domain.formatting import format_change, format_value, literal, plural
from intelligentos.domain.lineage import LineageNode
from intelligentos.domain.snapshots import KpiSnapshot

if TYPE_CHECKING:
    from intelligentos.domain.forecast import Forecast
    from intelligentos.services.catalog import CatalogSync
    from intelligentos.store.notify import Delivery

# The width of text written to a file or a pipe: wide enough that nothing is wrapped, folded
# or cropped, and tables keep their natural width.
UNBOUNDED_WIDTH = 100_000


class CliConsole(Console):
    """A console as wide as its terminal, or, writing to a file or a pipe (where nobody
    reads it at a width, and Rich would assume 80 columns or the terminal's beside it),
    :data:`UNBOUNDED_WIDTH` wide: redirected output is never cut."""

    @property
    def bounded(self) -> bool:
        """Whether lines are laid out for a terminal's width (the file is a terminal)."""
        try:
            return self.file.isatty()
        except (AttributeError, ValueError):  # no isatty, or a closed file
            return False

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        return size if self.bounded else ConsoleDimensions(UNBOUNDED_WIDTH, size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self.width, self.height = new_size


def make_console(*, stderr: bool = False) -> CliConsole:
    """Every console of the command line: no highlighting (user text is shown as written),
    no wrapping of long lines by Rich, and never cut when redirected."""
    return CliConsole(stderr=stderr, highlight=False, soft_wrap=True)


out = make_console()
err = make_console(stderr=True)


def error(message: str) -> None:
    """One ``Error:`` sentence on stderr."""
    err.print(Text(f"Error: {literal(message)}"))


def warn(message: str) -> None:
    err.print(Text(f"Warning: {literal(message)}"))


def line(text: str) -> None:
    """A line of user text (a name, a path, a message) as written: nothing in it is markup."""
    out.print(Text(literal(text)))


def print_json(document: object) -> None:
    text = json.dumps(document)
    if out.color_system is None and not out.bounded:
        # Nothing to colour or lay out (a file or a pipe): the text Rich would print (its
        # JSON re-encoded, indented and unescaped), without rendering it token by token,
        # which takes a second for 2,000 KPIs.
        pretty = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        out.file.write(pretty + "\n")
        out.file.flush()
        return
    out.print_json(text)


def write_document(text: str, out_path: Path | None, what: str, fmt: str) -> None:
    """A document (the brief, a review) as UTF-8 on standard output, or written whole to
    ``out_path`` (atomically: a failure leaves nothing) and said so on stderr."""
    if out_path is None:
        sys.stdout.buffer.write(text.encode("utf-8"))
        sys.stdout.flush()
        return
    from intelligentos.cli.options import fail
    from intelligentos.config.paths import write_atomically

    try:
        size = write_atomically(out_path, text, private=False)
    except OSError as error:
        reason = error.strerror or str(error)
        raise fail(f"cannot write {out_path}: {reason}; nothing was written.") from error
    err.print(Text(literal(f"Wrote {what} ({fmt}, {size:,} bytes) to {out_path}.")))


def id_width() -> int | None:
    """The widest an id column gets: on a terminal the rest of the row needs the room; in a
    file or a pipe an id is shown whole."""
    return 24 if out.bounded else None


# --- KPIs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class KpiLine:
    """A KPI as ``kpis`` lists it: its latest value (of ``period``), the one before, and
    its status as the cockpit shows it."""

    kpi: Kpi
    period: str | None
    value: float | None
    previous: float | None
    status: Status


def kpi_record(line: KpiLine) -> dict[str, Any]:
    kpi = line.kpi
    return {
        "id": kpi.id,
        "name": kpi.name,
        "level": kpi.level.value,
        "engine": kpi.engine,
        "unit": kpi.unit.value,
        "period": line.period,
        "value": line.value,
        "previous": line.previous,
        "target": kpi.target,
        "targets": dict(kpi.targets),
        "status": line.status.value,
    }


def print_kpis(lines: Sequence[KpiLine], title: str) -> None:
    table = Table(title=Text(literal(title)), title_justify="left")
    table.add_column("id", no_wrap=True, overflow="ellipsis", max_width=id_width())
    # Names wrap between words, never inside one, however narrow the terminal.
    table.add_column("name", overflow="ellipsis")
    for column in ("latest", "change", "target"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for kpi_line in lines:
        kpi = kpi_line.kpi
        table.add_row(
            Text(literal(kpi.id), style="bold" if kpi.level is Level.CEO else ""),
            Text(literal(kpi.name)),
            format_value(kpi_line.value, kpi.unit),
            format_change(kpi_line.value, kpi_line.previous, kpi.unit),
            format_value(kpi.target, kpi.unit),
            kpi_line.status.value,
        )
    out.print(table)


# --- lineage -------------------------------------------------------------------------------

_KIND_STYLE = {
    "kpi": "bold",
    "section": "italic dim",
    "objective": "magenta",
    "theme": "magenta",
    "engine": "cyan",
    "metric": "yellow",
    "workflow": "green",
    "step": "green",
    "system": "blue",
    "field": "bold blue",
}


def lineage_tree(node: LineageNode, snaps: Mapping[str, KpiSnapshot]) -> Tree:
    """A lineage tree, each KPI with its latest value and status from ``snaps``."""
    tree = Tree(_node_text(node, snaps))
    for child in node.children:
        tree.children.append(lineage_tree(child, snaps))
    return tree


def derived_lines(kpi: Kpi, catalog: Catalog, snaps: Mapping[str, KpiSnapshot]) -> Text:
    """A derived KPI's expression and its inputs, each with its latest value and status
    (empty for a measured KPI)."""
    from intelligentos.domain.rollup import formula_of

    formula = formula_of(kpi)
    if formula is None:
        return Text()
    text = Text(f"{literal(kpi.name)} = {literal(formula.text)}\n", style="bold")
    for name in formula.inputs:
        source = catalog.kpis.get(name)
        snap = snaps.get(name)
        text.append(f"  {literal(source.name if source else name)} ({literal(name)})")
        if snap is not None:
            text.append(f"  {snap.value_text} {snap.status.glyph} {snap.status.value}")
        text.append("\n")
    return text


def _node_text(node: LineageNode, snaps: Mapping[str, KpiSnapshot]) -> Text:
    text = Text()
    if node.kind not in ("section", "kpi", "field"):
        text.append(f"{node.detail}: ", style="dim")
    text.append(literal(node.label), style=_KIND_STYLE.get(node.kind, ""))
    if node.kind == "kpi":
        text.append(f"  ({node.id}, {node.detail})", style="dim")
        snap = snaps.get(node.id)
        if snap is not None:
            text.append(f"  {snap.value_text} {snap.status.glyph} {snap.status.value}")
    return text


# --- alerts --------------------------------------------------------------------------------


def alert_record(alert: Alert, catalog: Catalog, routes: Iterable[Route] = ()) -> dict[str, Any]:
    """An alert as JSON, with the same readable texts as the cockpit's alerts screen, and
    where it is routed: ``routed_to`` (agent ids, in route order) and ``routes`` (each with
    the agent's name and the reason)."""
    kpi = catalog.kpis.get(alert.kpi_id or "")
    record = dict(asdict(alert))
    record["severity"] = alert.severity.value
    record["state"] = alert.state.value
    record["subject"] = subject_name(alert, catalog)
    record["needs_attention"] = alert.needs_attention
    record["value_text"] = wording.value_text(alert, kpi)
    record["expected_text"] = wording.expected_text(alert, kpi)
    record["deviation_text"] = wording.deviation_text(alert, kpi)
    record["owner"] = wording.owner_name(alert, catalog)
    record["acknowledgement"] = wording.acknowledgement_text(alert)
    routes = list(routes)
    record["routed_to"] = [route.agent_id for route in routes]
    record["routes"] = [
        {
            "agent_id": route.agent_id,
            "agent": agent.name if (agent := catalog.agents.get(route.agent_id)) else None,
            "reason": route.reason,
        }
        for route in routes
    ]
    return record


def check_report(
    records: list[dict[str, Any]], attention: int, agent: str | None, stray: list[str] | None
) -> dict[str, Any]:
    """``check --json``: the open alerts, how many fire unacknowledged, the agent they are
    routed to (with ``--agent``) and the sentences about rows dated after today."""
    report: dict[str, Any] = {"open": records, "firing_unacknowledged": attention}
    if agent is not None:
        report["agent"] = agent
    if stray is not None:
        report["stray_rows"] = stray
    return report


def print_alerts(records: list[dict[str, Any]], title: str) -> None:
    """The alerts as a table, worded as on the cockpit's alerts screen. Columns join as the
    terminal widens (see :func:`alert_columns`). ``--json`` always has every field."""
    columns = alert_columns()
    table = alert_table(title, columns)
    for r in records:
        cells = alert_cells(r)
        table.add_row(*(cells[column] for column in columns))
    out.print(table)


def alert_columns() -> list[str]:
    """The columns of an alerts table at the terminal's width: expected and owner, then the
    agents it is routed to, then the detector's message join as it widens: more columns than
    fit would fold every cell into a word per line."""
    columns = ["id", "severity", "state", "subject", "rule", "value", "deviation"]
    if out.width >= 100:
        columns[6:6] = ["expected"]
        columns.append("owner")
    if out.width >= 120:
        columns.append("routed to")
    if out.width >= 140:
        columns.append("message")
    return columns


def alert_table(title: str, columns: list[str]) -> Table:
    table = Table(title=Text(title), title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold", no_wrap=column in ("id", "severity"))
    return table


def alert_cells(r: dict[str, Any], indent: str = "") -> dict[str, str | Text]:
    """An alert record's cells, by column (its id after ``indent``)."""
    grouped = f"\n(under #{r['parent_alert_id']})" if r["parent_alert_id"] else ""
    owner = Text(literal(r["owner"]))
    if r["acknowledgement"]:
        owner.append(f"\nacknowledged by {literal(r['acknowledgement'])}", style="dim")
    if r.get("assignee"):
        owner.append(f"\nassigned to {literal(r['assignee'])}", style="dim")
    return {
        "id": f"{indent}{r['id']}",
        "severity": r["severity"],
        "state": r["state"] + grouped,
        "subject": Text(literal(r["subject"])),
        "rule": Text(literal(r["rule"])),
        "value": Text(r["value_text"]),
        "expected": Text(r["expected_text"]),
        "deviation": Text(literal(r["deviation_text"])),
        "owner": owner,
        # Agent ids: short, and a catalog's ids are plain words (names are in --json).
        "routed to": Text(literal(" ".join(r["routed_to"]) or "—")),
        "message": Text(literal(r["message"])),
    }


# --- notification deliveries ---------------------------------------------------------------


def delivery_record(
    delivery: Delivery, alert_id: int | None, action: str | None, next_try: str | None
) -> dict[str, Any]:
    """A delivery of an event (of ``alert_id``'s ``action``) to a sink, and when it is
    tried again (for a pending one that has been tried)."""
    return {
        "event_id": delivery.event_id,
        "alert_id": alert_id,
        "action": action,
        "sink": delivery.sink,
        "outcome": delivery.outcome,
        "attempts": delivery.attempts,
        "detail": delivery.detail,
        "at": delivery.at,
        "next_try": next_try,
    }


def print_deliveries(records: list[dict[str, Any]]) -> None:
    table = Table(title=Text(f"Deliveries: {len(records)}"), title_justify="left")
    for column in ("event", "alert", "action", "sink", "outcome", "attempts", "last", "next"):
        table.add_column(column, overflow="fold")
    table.add_column("detail", overflow="fold")
    for r in records:
        table.add_row(
            str(r["event_id"]),
            str(r["alert_id"] or "—"),
            Text(literal(r["action"] or "—")),
            Text(literal(r["sink"])),
            r["outcome"],
            str(r["attempts"]),
            r["at"],
            r["next_try"] or "—",
            Text(literal(r["detail"] or "")),
        )
    out.print(table)


# --- forecasts -----------------------------------------------------------------------------


def forecast_record(result: Forecast) -> dict[str, Any]:
    backtest = result.backtest
    return {
        "kpi_id": result.kpi_id,
        "model": result.model,
        "reliable": result.reliable,
        "horizon": result.horizon,
        "season": result.season,
        "based_on": result.based_on,
        "note": result.note,
        "backtest_origins": backtest.origins if backtest else None,
        "mase": backtest.mase if backtest else None,
        "coverage80": backtest.coverage80 if backtest else None,
        "backtest_scores": backtest.scores if backtest else None,
        "points": [
            {
                "period": p.period,
                "mean": p.mean,
                "lo80": p.lo80,
                "hi80": p.hi80,
                "lo95": p.lo95,
                "hi95": p.hi95,
            }
            for p in result.points
        ],
    }


def print_forecasts(results: Sequence[Forecast], catalog: Catalog, title: str) -> None:
    table = Table(title=title, title_justify="left")
    for column in ("id", "model", "at horizon", "80 % interval", "verdict"):
        table.add_column(column, overflow="fold" if column == "verdict" else "ellipsis")
    for result in results:
        unit = catalog.kpis[result.kpi_id].unit
        last = result.points[-1] if result.points else None
        table.add_row(
            Text(literal(result.kpi_id)),
            result.model + (" (reliable)" if result.reliable else ""),
            f"{format_value(last.mean, unit)} ({last.period})" if last else "—",
            f"{format_value(last.lo80, unit)} – {format_value(last.hi80, unit)}" if last else "—",
            Text(literal(result.note)),
        )
    out.print(table)


# --- what-if -------------------------------------------------------------------------------


def print_sync(synced: CatalogSync) -> None:
    report = synced.report
    out.print(
        Text(
            f"Catalog synced from {synced.directory}: {plural(report.kept, 'KPI')} kept, "
            f"{len(report.added)} added"
            + (f" ({', '.join(report.added)})" if report.added else "")
            + f", {len(report.removed)} removed"
            + (
                f" ({', '.join(report.removed)}; "
                f"{plural(report.pruned_observations, 'observation')} deleted)"
                if report.removed
                else ""
            )
            + (
                f"; {plural(report.resolved_alerts, 'open alert')} of removed KPIs resolved"
                if report.resolved_alerts
                else ""
            )
            + (
                f"; {plural(report.rerouted_alerts, 'open alert')} routed anew"
                if report.rerouted_alerts
                else ""
            )
            + "."
        )
    )
    for kpi_id, changes in itertools.groupby(report.changes, key=lambda c: c.kpi_id):
        described = "; ".join(change.describe() for change in changes)
        line(f"  {kpi_id}: {described}")
    if report.recomputed or synced.derived:
        recomputed = f" ({', '.join(report.recomputed)})" if report.recomputed else ""
        line(f"  Derived KPIs computed again{recomputed}: {synced.derived.summary()}")
    if synced.rejudged:
        out.print(
            Text(
                f"  {plural(synced.rejudged, 'open alert')} judged again under the new "
                f"definitions: {synced.rejudged - synced.still_open} resolved, "
                f"{synced.still_open} still open (acknowledgements kept)."
            )
        )


# --- progress ------------------------------------------------------------------------------


@contextlib.contextmanager
def forecast_progress(total: int) -> Iterator[Callable[[Forecast], None] | None]:
    """A KPI-count progress bar on a terminal, for more than a handful of KPIs."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    if not err.is_terminal or total < 20:
        yield None
        return
    columns = (TextColumn("forecasting"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("forecast", total=total)
        yield lambda _: progress.advance(task)


@contextlib.contextmanager
def import_progress(total_bytes: int) -> Iterator[Callable[[int], None] | None]:
    """A byte-based progress bar on a terminal; nothing when output is redirected."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    if not err.is_terminal or total_bytes < 1 << 20:
        yield None
        return
    columns = (TextColumn("importing"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("import", total=total_bytes)
        yield lambda count: progress.advance(task, count)
