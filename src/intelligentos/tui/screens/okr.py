"""The OKR screen (key ``O``): a quarter's targets proposed from the stored forecasts, with
the probability of hitting each as a bar; the cascade's gaps; accepting targets with a note
(refused in the past, as acknowledging is); and, while the quarter runs, each KPI's grade."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static

from intelligentos.domain.catalog.models import Catalog, Kpi
from intelligentos.domain.clock import stamp
from intelligentos.domain.formatting import format_value, literal, plural
from intelligentos.domain.okr.cascade import CascadeLink
from intelligentos.domain.okr.propose import Proposal
from intelligentos.domain.okr.targets import TargetChange
from intelligentos.domain.quarters import Quarter
from intelligentos.services.okr.propose import Proposals
from intelligentos.store import Store
from intelligentos.tui.base import Cockpit, CockpitScreen
from intelligentos.tui.widgets.footer import CockpitFooter
from intelligentos.tui.widgets.header import CockpitHeader
from intelligentos.tui.widgets.proposal_table import ProposalTable
from intelligentos.tui.widgets.status import INCONSISTENT


@dataclass
class OkrLoaded(Message):
    """A quarter's proposals as of ``as_of`` (``problem``: why there are none)."""

    quarter: Quarter
    as_of: date
    catalog: Catalog | None = None
    proposals: list[Proposal] = field(default_factory=list)
    cascade: list[CascadeLink] = field(default_factory=list)  # the targets as they stand
    with_commits: list[CascadeLink] = field(default_factory=list)  # every commit accepted
    grades: dict[str, float | None] = field(default_factory=dict)  # while the quarter runs
    short: int = 0  # judged KPIs whose stored forecast ends before the quarter's end
    problem: str | None = None


@dataclass
class TargetsAccepted(Message):
    quarter: Quarter
    changes: list[TargetChange]
    warnings: list[str] = field(default_factory=list)
    problem: str | None = None
    copied_to: Path | None = None  # the built-in catalog's copy, which now takes targets


def required_note(note: str) -> str:
    """The note, if it says something; a blank one is refused: a target without a reason
    tells the next quarter nothing."""
    if not any(ch.isprintable() and not ch.isspace() for ch in note):
        raise ValueError("a note is required: say why these targets (e.g. board plan 2027)")
    return note.strip()


class OkrScreen(CockpitScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="okr-back"),
        Binding("left_square_bracket", "quarter(-1)", "Previous quarter", id="okr-previous"),
        Binding("right_square_bracket", "quarter(1)", "Next quarter", id="okr-next"),
        Binding(
            "c",
            "accept('commit', False)",
            "Accept commit",
            id="okr-commit",
            tooltip="Accept the selected KPI's commit target, with a note",
        ),
        Binding(
            "s",
            "accept('stretch', False)",
            "Accept stretch",
            id="okr-stretch",
            tooltip="Accept the selected KPI's stretch target, with a note",
        ),
        Binding(
            "C",
            "accept('commit', True)",
            "Accept all commits",
            id="okr-commit-all",
            show=False,
            tooltip="Accept every commit target proposed, with a note",
        ),
        Binding(
            "S",
            "accept('stretch', True)",
            "Accept all stretches",
            id="okr-stretch-all",
            show=False,
            tooltip="Accept every stretch target proposed, with a note",
        ),
        Binding(
            "f",
            "forecast",
            "Forecast to the quarter's end",
            id="okr-forecast",
            show=False,
            tooltip="Forecast the KPIs whose forecast ends before the quarter's end",
        ),
    ]

    def __init__(self, quarter: Quarter | None = None) -> None:
        super().__init__()
        self.quarter = quarter or Quarter.of(self.cockpit.services.as_of).next()
        self.loaded: OkrLoaded | None = None
        self.loaded_for: object = None  # the cockpit data the proposals were read with

    def compose(self) -> ComposeResult:
        yield CockpitHeader(id="header")
        yield Static(id="okr-title", classes="view-title")
        yield Static(id="okr-notice")
        yield ProposalTable(id="okr-table")
        yield Static(id="okr-detail")
        yield Static(id="okr-cascade")
        yield CockpitFooter()

    @property
    def table(self) -> ProposalTable:
        return self.query_one("#okr-table", ProposalTable)

    def on_mount(self) -> None:
        self.table.focus()
        self.data_changed()

    def data_changed(self) -> None:
        """New data (a refresh, a new catalog, another as-of day): read the proposals again."""
        if self.data is not None and self.data is not self.loaded_for:
            self.reload()

    def reload(self) -> None:
        store = self.cockpit.services.store
        if store is None:
            return
        self.loaded_for = self.data
        as_of = self.cockpit.services.as_of
        first = Quarter.of(as_of)
        if self.quarter < first:
            self.quarter = first  # travelled forward past it
        self._show_title()
        self.load(store, self.quarter, as_of)

    @work(thread=True, exclusive=True, group="okr", exit_on_error=False)
    def load(self, store: Store, quarter: Quarter, as_of: date) -> None:
        """Off the event loop: the proposals, the cascade as the targets stand and with every
        commit, the grades while the quarter runs, and how many forecasts stop short."""
        from intelligentos.domain.okr.cascade import quarter_cascade
        from intelligentos.services.okr.grade import grade_quarter
        from intelligentos.services.okr.propose import OkrError, ProposeRequest, propose_targets
        from intelligentos.services.okr.reach import short_of

        catalog = store.read_catalog()
        chosen = self.cockpit.settings.okr
        request = ProposeRequest(quarter, as_of, commit=chosen.commit, stretch=chosen.stretch)
        try:
            proposals = propose_targets(store, request, catalog)
        except OkrError as error:
            self.post_message(OkrLoaded(quarter, as_of, problem=str(error)))
            return
        grades = {}
        if as_of in quarter:
            found = grade_quarter(store, quarter, as_of, catalog=catalog)
            grades = {g.kpi.id: g.score for g in found.grades}
        standing = quarter_cascade(catalog, quarter)
        self.post_message(
            OkrLoaded(
                quarter,
                as_of,
                catalog,
                proposals.proposals,
                standing,
                proposals.cascade,
                grades,
                len(short_of(store, catalog, quarter)),
            )
        )

    @on(OkrLoaded)
    def _loaded(self, message: OkrLoaded) -> None:
        if (message.quarter, message.as_of) != (self.quarter, self.cockpit.services.as_of):
            return  # for a quarter or a day no longer shown
        self.loaded = message
        self._show_title()
        if message.problem:
            self.table.clear(columns=True)
        else:
            inconsistent = {link.parent_id for link in message.cascade if not link.consistent}
            self.table.show(message.proposals, inconsistent, message.grades)
        self._show_notice()
        self._show_cascade()
        self._show_detail()

    # --- what it shows ---------------------------------------------------------------------

    def _keys(self) -> dict[str, str]:
        from intelligentos.tui.keys import bound_labels

        return bound_labels(self.BINDINGS, self.cockpit.settings.keymap)

    def _show_title(self) -> None:
        as_of = self.cockpit.services.as_of
        when = (
            "running"
            if as_of in self.quarter
            else "next"
            if self.quarter > Quarter.of(as_of)
            else ""
        )
        title = Text(f" OKRs {self.quarter}", style="bold")
        title.append(f" ({when}, ends {self.quarter.end.isoformat()})" if when else "")
        loaded = self.loaded
        if loaded is not None and loaded.quarter == self.quarter and not loaded.problem:
            numbered = sum(1 for p in loaded.proposals if p.outlook is not None)
            title.append(
                f" · {plural(numbered, 'proposal')}, {len(loaded.proposals) - numbered} without"
            )
        keys = self._keys()
        title.append(
            f"   {keys['okr-previous']} {keys['okr-next']} quarter · {keys['okr-commit']}/"
            f"{keys['okr-stretch']} accept commit/stretch · {keys['okr-commit-all']}/"
            f"{keys['okr-stretch-all']} all",
            style="dim",
        )
        self.query_one("#okr-title", Static).update(title)

    def _show_notice(self) -> None:
        notice = self.query_one("#okr-notice", Static)
        loaded = self.loaded
        notice.display = True
        if loaded is None:
            notice.update(Text(" reading…", style="dim italic"))
            return
        if loaded.problem:
            notice.update(Text(f" {literal(loaded.problem)}", style="bold"))
            return
        notice.display = bool(loaded.short)
        if not loaded.short:
            return
        end = self.quarter.end
        reaching = sum(1 for p in loaded.proposals if p.outlook is not None)
        what = (
            f"No stored forecast reaches the end of {self.quarter} ({end.day} {end:%b %Y})"
            if not reaching
            else f"{plural(loaded.short, 'KPI')} have no forecast reaching the end of "
            f"{self.quarter} ({end.day} {end:%b %Y})"
        )
        key = self._keys()["okr-forecast"]
        notice.update(
            Text.assemble((f" {what}: ", "bold"), f"{key} forecasts them to the quarter's end.")
        )

    def _show_cascade(self) -> None:
        loaded = self.loaded
        box = self.query_one("#okr-cascade", Static)
        if loaded is None or loaded.problem or loaded.catalog is None:
            box.update("")
            return
        catalog = loaded.catalog
        gaps = [link for link in loaded.cascade if not link.consistent]
        text = Text("Cascade ", style="bold")
        if not gaps:
            text.append(f"consistent ({plural(len(loaded.cascade), 'parent')})", style="dim")
        for link in gaps:
            text.append(f"\n{INCONSISTENT} ", style=f"bold {self.app.current_theme.warning}")
            text.append_text(self._link_text(catalog.kpis[link.parent_id], link))
        later = [
            catalog.kpis[link.parent_id].display_name
            for link in loaded.with_commits
            if not link.consistent
        ]
        text.append(
            "\nWith every commit target accepted: "
            + (f"inconsistent: {literal(', '.join(later))}" if later else "consistent"),
            style="dim",
        )
        box.update(text)

    @staticmethod
    def _link_text(parent: Kpi, link: CascadeLink) -> Text:
        text = Text(literal(parent.display_name), style="bold")
        text.append(f": target {format_value(link.parent_target, parent.unit)}")
        if link.implied_target is None or link.gap_p is None:
            text.append(f", its KPIs' targets imply nothing ({literal(link.reason)})")
        else:
            text.append(
                f", its KPIs' targets imply {format_value(link.implied_target, parent.unit)} "
                f"(gap {link.gap_p:+.1%} in performance)"
            )
        return text

    def _show_detail(self) -> None:
        detail = self.query_one("#okr-detail", Static)
        proposal = self.selected_proposal()
        if proposal is None:
            detail.update("")
            return
        kpi = proposal.kpi
        text = Text(literal(kpi.display_name), style="bold")
        outlook = proposal.outlook
        if outlook is None:
            text.append(f": {literal(proposal.reason)}")
        else:
            unit = kpi.unit
            text.append(
                f": forecast {format_value(outlook.mean, unit)} at the quarter's end "
                f"(80 %: {format_value(outlook.lo80, unit)} – {format_value(outlook.hi80, unit)}"
                f", {literal(proposal.model or '')}) · target "
                f"{format_value(proposal.current_target, unit)}"
            )
            if proposal.p_hit_current is not None:
                text.append(f" hit with P {proposal.p_hit_current:.0%}")
        detail.update(text)

    @on(DataTable.RowHighlighted, "#okr-table")
    def _highlighted(self) -> None:
        self._show_detail()

    def selected_proposal(self) -> Proposal | None:
        key = self.table.selected_key()
        loaded = self.loaded
        if key is None or loaded is None:
            return None
        return next((p for p in loaded.proposals if p.kpi.id == key), None)

    def kpi_for_what_if(self) -> str | None:
        proposal = self.selected_proposal()
        return proposal.kpi.id if proposal else None

    # --- actions ---------------------------------------------------------------------------

    def action_quarter(self, step: int) -> None:
        quarter = self.quarter.next() if step > 0 else self.quarter.previous()
        if quarter < Quarter.of(self.cockpit.services.as_of):
            self.notify(
                f"{quarter} has ended: targets are set for this quarter or a later one.",
                timeout=3,
                markup=False,
            )
            return
        self.quarter = quarter
        self.loaded = None
        self._show_notice()
        self.reload()

    def action_accept(self, which: str, every: bool) -> None:
        """Ask for a note, then accept the selected KPI's (or every KPI's) commit or stretch
        target for the quarter. Refused at once while viewing the past or on a read-only
        store, as acknowledging is."""
        cockpit = self.cockpit
        if cockpit.refuses_writes("accepted"):
            return
        loaded = self.loaded
        if loaded is None or loaded.problem:
            return
        chosen = (
            [p for p in loaded.proposals if p.outlook is not None]
            if every
            else [p for p in [self.selected_proposal()] if p is not None]
        )
        if not every and chosen and chosen[0].outlook is None:
            self.notify(
                literal(f"No proposal for {chosen[0].kpi.display_name}: {chosen[0].reason}."),
                timeout=5,
                markup=False,
            )
            return
        values = {
            p.kpi.id: value
            for p in chosen
            if (value := p.commit if which == "commit" else p.stretch) is not None
        }
        if not values:
            self.notify("Nothing to accept here.", timeout=3)
            return
        quarter = self.quarter
        if len(values) == 1:
            ((kpi_id, value),) = values.items()
            kpi = loaded.catalog.kpis[kpi_id] if loaded.catalog else None
            text = format_value(value, kpi.unit) if kpi else f"{value:g}"
            subject = f"{kpi.display_name if kpi else kpi_id}: {which} {text} for {quarter}"
        else:
            subject = f"{plural(len(values), f'{which} target')} for {quarter}"

        shown = Proposals(quarter, loaded.proposals, loaded.with_commits)
        kpi_ids = () if every else tuple(values)

        def chosen_note(note: str | None) -> None:
            if note is not None and not cockpit.refuses_writes("accepted"):
                store = cockpit.services.store
                if store is not None:
                    self.accept(store, shown, which, kpi_ids, note)

        from intelligentos.tui.screens.dialogs import Prompt, PromptDialog

        prompt = Prompt(
            "Accept",
            subject,
            f"as {cockpit.user}; a note is required and kept with the targets",
            parse=required_note,
            placeholder="Note, e.g. board plan 2027",
        )
        self.app.push_screen(PromptDialog(prompt), chosen_note)

    @work(thread=True, group="okr-accept", exit_on_error=False)
    def accept(
        self, store: Store, shown: Proposals, which: str, kpi_ids: tuple[str, ...], note: str
    ) -> None:
        """Off the event loop: the targets into the store and the catalog's files, both or
        neither (the proposals shown are the ones accepted)."""
        from intelligentos.services.okr.accept import AcceptChoice, AcceptRequest, accept_targets
        from intelligentos.services.okr.propose import OkrError

        cockpit = self.cockpit
        request = AcceptRequest(
            shown.quarter,
            AcceptChoice(which),
            note,
            cockpit.user,
            stamp(cockpit.clock()),
            cockpit.services.as_of,
            kpi_ids=kpi_ids,
            commit=cockpit.settings.okr.commit,
            stretch=cockpit.settings.okr.stretch,
        )
        try:
            accepted = accept_targets(store, request, proposals=shown)
        except OkrError as error:
            self.post_message(TargetsAccepted(shown.quarter, [], problem=str(error)))
            return
        self.post_message(
            TargetsAccepted(
                shown.quarter, accepted.changes, accepted.warnings, copied_to=accepted.plan.adopt
            )
        )

    @on(TargetsAccepted)
    def _accepted(self, message: TargetsAccepted) -> None:
        if message.problem:
            self.notify(message.problem, title="Not accepted", severity="error", markup=False)
            return
        changed = plural(len(message.changes), "target")
        self.notify(f"Accepted {changed} for {message.quarter}.", timeout=4, markup=False)
        if message.copied_to is not None:
            self.notify(
                f"The built-in catalog is not edited: it was copied to {message.copied_to}, "
                "which this store follows from now on.",
                timeout=10,
                markup=False,
            )
        for warning in message.warnings:
            self.notify(warning, severity="warning", timeout=8, markup=False)
        self.cockpit.request_refresh(even_when_paused=True)
        self.reload()

    def action_forecast(self) -> None:
        if self.cockpit.refuses_writes("forecast"):
            return
        self.cockpit.forecast_through(self.quarter)


def palette_commands(cockpit: Cockpit, screen: Screen[object]) -> Iterator[SystemCommand]:
    yield SystemCommand(
        "OKRs",
        "The next quarter's targets proposed from the forecasts: accept with a note, the "
        "cascade's gaps, the running quarter's grades",
        cockpit.navigator.okr,
    )
