"""The brief screen: the CEO weekly brief for the cockpit's as-of date, rendered from its
Markdown, with export to a file (Markdown or HTML by the file's extension).

The store is read and the file written in workers that post typed messages; a result for a
date no longer shown is dropped. The brief escapes user text for Markdown, so a note cannot
turn into markup here either.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Markdown, Static

from intelligentos.domain.brief.compose import build_brief
from intelligentos.domain.brief.contents import Brief
from intelligentos.domain.brief.render import format_for_path, to_markdown
from intelligentos.domain.catalog.models import Catalog
from intelligentos.domain.formatting import literal
from intelligentos.domain.lineage import LineageGraph
from intelligentos.services.brief import export_brief, read_facts
from intelligentos.store import Store, StoreError
from intelligentos.tui.base import Cockpit, CockpitScreen
from intelligentos.tui.keys import key_label
from intelligentos.tui.screens.dialogs import Prompt, PromptDialog
from intelligentos.tui.widgets.footer import CockpitFooter
from intelligentos.tui.widgets.header import CockpitHeader

FORMAT_NAMES = {"md": "Markdown", "html": "HTML", "json": "JSON"}


@dataclass
class BriefLoaded(Message):
    """A brief read for ``as_of`` (``problem``: why it could not be)."""

    as_of: date
    brief: Brief | None
    markdown: str
    problem: str | None = None


@dataclass
class BriefExported(Message):
    """The brief was written to ``path`` (``problem``: why it was not)."""

    path: Path
    fmt: str
    size: int = 0
    problem: str | None = None


def export_path(text: str) -> Path:
    """Where to export, as typed: a file name ending in .md, .html (or .json); a relative
    path is taken from the current directory. Raises ValueError with a sentence."""
    typed = text.strip()
    if not typed:
        raise ValueError("Give a file name, e.g. brief.md or brief.html.")
    path = Path(typed).expanduser()
    if not path.name.lower().endswith((".md", ".markdown", ".html", ".htm", ".json")):
        raise ValueError("End the name in .md (Markdown) or .html (HTML).")
    return path.resolve()


class BriefScreen(CockpitScreen):
    """The CEO weekly brief as of the cockpit's date."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="brief-back"),
        Binding(
            "e",
            "export",
            "Export",
            id="brief-export",
            tooltip="Write the brief to a file: .md for Markdown, .html for HTML",
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.brief: Brief | None = None
        self.as_of: date | None = None  # the date of the brief shown or being read

    def compose(self) -> ComposeResult:
        yield CockpitHeader(id="header")
        yield Static(id="brief-title")
        with VerticalScroll(id="brief-scroll"):
            yield Markdown(id="brief-body")
        yield CockpitFooter()

    def on_mount(self) -> None:
        self._show_title()
        self.query_one("#brief-scroll").focus()
        self.data_changed()

    def _show_title(self) -> None:
        keymap = self.cockpit.settings.keymap
        keys = {
            b.id: key_label(keymap.get(b.id, b.key))
            for b in self.BINDINGS
            if isinstance(b, Binding) and b.id
        }
        title = Text(" CEO weekly brief", style="bold")
        if self.as_of is not None:
            title.append(f", week ending {self.as_of.isoformat()}")
        if self.brief is None:
            title.append(" · reading…", style="italic")
        title.append(f"   {keys['brief-export']}: export · {keys['brief-back']}: back", style="dim")
        self.query_one("#brief-title", Static).update(title)

    def data_changed(self) -> None:
        """Read the brief again when the cockpit's as-of date moved (or on first data)."""
        data = self.data
        if data is None or self.cockpit.services.store is None:
            return
        as_of = data.as_of
        if as_of == self.as_of and self.brief is not None:
            return
        self.as_of = as_of
        self._show_title()
        self.load(self.cockpit.services.store, as_of, data.stored, data.graph)

    @work(thread=True, exclusive=True, group="brief", exit_on_error=False)
    def load(self, store: Store, as_of: date, catalog: Catalog, graph: LineageGraph) -> None:
        """Off the event loop: the store is read once for the week ending ``as_of``."""
        try:
            brief = build_brief(read_facts(store, as_of, catalog, graph))
        except (StoreError, OSError) as error:
            self.post_message(BriefLoaded(as_of, None, "", f"The brief could not be read: {error}"))
            return
        self.post_message(BriefLoaded(as_of, brief, to_markdown(brief)))

    @on(BriefLoaded)
    async def _loaded(self, message: BriefLoaded) -> None:
        if message.as_of != self.as_of:
            return  # for a date no longer shown
        if message.problem:
            self.notify(message.problem, severity="error", markup=False)
            return
        self.brief = message.brief
        self._show_title()
        await self.query_one("#brief-body", Markdown).update(message.markdown)

    # --- export ------------------------------------------------------------------------------

    def action_export(self) -> None:
        brief = self.brief
        if brief is None:
            self.notify("The brief is still being read.", timeout=3)
            return

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.write(brief, path, format_for_path(path.name))

        prompt = Prompt(
            "Export",
            brief.title,
            "to a file: .md for Markdown, .html for a self-contained page",
            parse=export_path,
            value=f"brief-{brief.as_of.isoformat()}.md",
        )
        self.app.push_screen(PromptDialog(prompt), chosen)

    @work(thread=True, group="brief-export", exit_on_error=False)
    def write(self, brief: Brief, path: Path, fmt: str) -> None:
        try:
            written = export_brief(brief, path, fmt)
        except OSError as error:
            reason = error.strerror or str(error)
            self.post_message(BriefExported(path, fmt, problem=f"Not written: {reason}."))
            return
        self.post_message(BriefExported(written.path, fmt, written.size))

    @on(BriefExported)
    def _exported(self, message: BriefExported) -> None:
        if message.problem:
            self.notify(
                literal(f"{message.path}: {message.problem}"),
                title="Export",
                severity="error",
                markup=False,
            )
            return
        self.notify(
            literal(f"Wrote the brief ({FORMAT_NAMES[message.fmt]}) to {message.path}."),
            title="Export",
            timeout=6,
            markup=False,
        )


def palette_commands(cockpit: Cockpit, screen: Screen[object]) -> Iterator[SystemCommand]:
    yield SystemCommand(
        "CEO brief",
        "The weekly brief as of the cockpit's date: headline, CEO KPIs, changes, risks",
        cockpit.navigator.brief,
    )
