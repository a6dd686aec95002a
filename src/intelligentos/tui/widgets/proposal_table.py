"""The OKR screen's table: each KPI's proposal for a quarter, P(hit) as a bar, its grade while
the quarter runs; the KPIs without numbers after them, grouped by why. User text reaches the
screen as ``rich.text.Text`` built from :func:`literal`, never as markup."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet

from rich.text import Text
from textual.widgets import DataTable

from intelligentos.domain.formatting import format_value, literal
from intelligentos.domain.okr.grade import Colour, colour
from intelligentos.domain.okr.propose import Proposal
from intelligentos.tui.widgets.status import INCONSISTENT

BAR_CELLS = 8
EIGHTHS = " ▏▎▍▌▋▊▉█"
COLUMNS = (
    ("mark", ""),
    ("kpi", "KPI"),
    ("target", "target"),
    ("forecast", "forecast"),
    ("p_hit", "P(hit)"),
    ("commit", "commit"),
    ("p_commit", "P"),
    ("stretch", "stretch"),
    ("p_stretch", "P"),
)
GROUP_PREFIX = "/"  # a group heading's row key (no KPI id starts with it)


def probability_bar(probability: float, cells: int = BAR_CELLS) -> str:
    """``probability`` as a bar of ``cells`` cells, in eighths of a cell, then its percent:
    0.62 on 8 cells is 4.96 cells, 5 full ones."""
    eighths = round(max(0.0, min(1.0, probability)) * cells * 8)
    full, part = divmod(eighths, 8)
    bar = "█" * full + (EIGHTHS[part] if part else "")
    return f"{bar.ljust(cells)} {probability:4.0%}"


def group_of(proposal: Proposal) -> str:
    """Why a KPI has no numbers, in a few words (its own reason is in the detail line)."""
    if proposal.model is None:
        return "no forecast"
    if not proposal.reliable:
        return "not reliable"
    if "before its latest data" in proposal.reason:
        return "out of date"
    if "before" in proposal.reason and "ends" in proposal.reason:
        return "ends early"
    return "no distribution"


class ProposalTable(DataTable[Text]):
    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row")

    def colour(self, found: Colour) -> str:
        theme = self.app.current_theme
        chosen = {Colour.RED: theme.error, Colour.YELLOW: theme.warning}.get(found, theme.success)
        return chosen or str(found)

    def _p_cell(self, probability: float | None, bar: bool = False) -> Text:
        if probability is None:
            return Text("")
        if bar:
            return Text(probability_bar(probability), style=self.colour(colour(probability)))
        return Text(f"{probability:.0%}", justify="right", style="dim")

    def show(
        self,
        proposals: Sequence[Proposal],
        inconsistent: AbstractSet[str],
        grades: Mapping[str, float | None],
    ) -> None:
        """The proposals with numbers in catalog order, then the others by why; a grade
        column when ``grades`` has any. The cursor stays on its KPI."""
        selected = self.selected_key()
        self.clear(columns=True)
        columns = list(COLUMNS) + ([("grade", "grade")] if grades else [])
        for key, title in columns:
            right = key not in ("mark", "kpi", "p_hit")
            self.add_column(Text(title, justify="right" if right else "left"), key=key)
        without = sorted((p for p in proposals if p.outlook is None), key=group_of)
        for proposal in proposals:
            if proposal.outlook is not None:
                self._add(proposal, inconsistent, grades)
        group = None
        for proposal in without:
            if group_of(proposal) != group:
                group = group_of(proposal)
                count = sum(1 for p in without if group_of(p) == group)
                heading = Text(f"no numbers: {group} ({count})", style="bold dim")
                blank = [Text("")] * (len(columns) - 2)
                self.add_row(Text(""), heading, *blank, key=f"{GROUP_PREFIX}{group}")
            self._add(proposal, inconsistent, grades)
        if selected is not None and selected in self.rows:
            self.move_cursor(row=self.get_row_index(selected), animate=False)

    def _add(
        self,
        proposal: Proposal,
        inconsistent: AbstractSet[str],
        grades: Mapping[str, float | None],
    ) -> None:
        kpi = proposal.kpi
        outlook = proposal.outlook

        def number(value: float | None, style: str = "") -> Text:
            shown = format_value(value, kpi.unit) if outlook is not None else ""
            return Text(shown, justify="right", style=style)

        warning = self.app.current_theme.warning
        cells = [
            Text(INCONSISTENT, style=f"bold {warning}") if kpi.id in inconsistent else Text(""),
            Text(literal(kpi.display_name), no_wrap=True),
            Text(format_value(proposal.current_target, kpi.unit), justify="right"),
            number(outlook.mean if outlook else None),
            self._p_cell(proposal.p_hit_current, bar=True),
            number(proposal.commit, "bold"),
            self._p_cell(proposal.p_hit_commit),
            number(proposal.stretch, "bold"),
            self._p_cell(proposal.p_hit_stretch),
        ]
        if grades:
            score = grades.get(kpi.id)
            cells.append(
                Text("—", justify="right", style="dim")
                if score is None
                else Text(
                    f"{score:.2f}", justify="right", style=f"bold {self.colour(colour(score))}"
                )
            )
        self.add_row(*cells, key=kpi.id)

    def selected_key(self) -> str | None:
        """The row under the cursor: a KPI id, or a group heading's key."""
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
