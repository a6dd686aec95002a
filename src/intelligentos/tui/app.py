"""The cockpit application: loads data in workers, owns navigation, themes and settings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

from textual import on, work
from textual.app import App
from textual.binding import Binding

from intelligentos.catalog.models import Catalog
from intelligentos.cockpit import KpiSnapshot, snapshots
from intelligentos.lineage import LineageGraph
from intelligentos.paths import builtin_themes_dir, config_dir
from intelligentos.settings import Settings
from intelligentos.store import Store, StoreError
from intelligentos.tui.dashboard import DashboardScreen
from intelligentos.tui.find import FindProvider
from intelligentos.tui.help import HelpScreen, binding_rows
from intelligentos.tui.lineage_screen import LineageScreen
from intelligentos.tui.themes import DEFAULT_THEME, load_themes
from intelligentos.tui.widgets import OpenLineage


def system_clock() -> datetime:
    return datetime.now().astimezone()


class CockpitApp(App):
    """The IntelligentOS cockpit on one store file. Tests build it exactly as the CLI does."""

    TITLE = "IntelligentOS cockpit"
    CSS_PATH = "cockpit.tcss"
    COMMANDS = App.COMMANDS | {FindProvider}
    BINDINGS = [
        Binding("question_mark", "help", "Help"),
        Binding("ctrl+p", "command_palette", "Find", show=True),
        Binding("t", "next_theme", "Theme"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        store_path: Path,
        *,
        theme_name: str | None = None,
        clock: Callable[[], datetime] = system_clock,
        config_path: Path | None = None,
        as_of: date | None = None,
        window: int = 30,
    ) -> None:
        super().__init__()
        self.store_path = Path(store_path)
        self.requested_theme = theme_name
        self.clock = clock
        self.config_path = config_path or config_dir()
        self.fixed_as_of = as_of
        self.window = window
        self.store: Store | None = None
        self.catalog: Catalog | None = None
        self.graph: LineageGraph | None = None
        self.snaps: dict[str, KpiSnapshot] = {}
        self.cockpit_themes: list[str] = []

    @property
    def as_of(self) -> date:
        return self.fixed_as_of or self.clock().date()

    @property
    def until(self) -> str | None:
        """Upper bound on periods read: only when viewing the cockpit as of a past date."""
        return f"{self.fixed_as_of.isoformat()}T99" if self.fixed_as_of else None

    # --- start-up --------------------------------------------------------------------------

    def on_mount(self) -> None:
        self._setup_themes()
        try:
            self.store = Store.open(self.store_path)
        except StoreError as error:
            self.exit(return_code=1, message=str(error))
            return
        self.push_screen(DashboardScreen())
        self.load()

    def _setup_themes(self) -> None:
        themes, problems = load_themes([builtin_themes_dir(), self.config_path / "themes"])
        for theme in themes:
            self.register_theme(theme)
        self.cockpit_themes = list(dict.fromkeys(t.name for t in themes))
        for problem in problems:
            self.notify(problem, title="Theme file skipped", severity="warning", markup=False)
        wanted = self.requested_theme or Settings.load(self.config_path).theme or DEFAULT_THEME
        if wanted not in self.available_themes:
            self.notify(
                f"Unknown theme {wanted!r}; using {DEFAULT_THEME}.",
                severity="warning",
                markup=False,
            )
            wanted = DEFAULT_THEME
        self.theme = wanted
        self.theme_changed_signal.subscribe(self, self._remember_theme)

    def _remember_theme(self, theme) -> None:
        try:
            Settings(theme=theme.name).save(self.config_path)
        except OSError as error:
            self.notify(
                f"Could not save the theme choice: {error}", severity="warning", markup=False
            )
        # Status colours come from the theme: repaint the rows (not during shutdown).
        screen = self.screen
        if isinstance(screen, DashboardScreen) and screen.is_attached and self.snaps:
            screen.call_after_refresh(screen.refresh_values, self.snaps)

    # --- data ------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="load")
    def load(self) -> None:
        """Read the catalog (once) and the visible windows, off the event loop."""
        store = self.store
        assert store is not None
        catalog = self.catalog or store.read_catalog()
        windows = store.latest_windows(max(self.window, 2), until=self.until)
        snaps = snapshots(catalog, windows, self.as_of)
        self.call_from_thread(self._loaded, catalog, snaps)

    def _loaded(self, catalog: Catalog, snaps: dict[str, KpiSnapshot]) -> None:
        if self.catalog is None:
            self.catalog = catalog
            self.graph = LineageGraph(catalog)
        self.snaps = snaps
        self.dashboard.populate(snaps)

    @property
    def dashboard(self) -> DashboardScreen:
        return next(s for s in self.screen_stack if isinstance(s, DashboardScreen))

    def set_window(self, size: int) -> None:
        self.window = size
        self.load()

    # --- navigation ------------------------------------------------------------------------

    @on(OpenLineage)
    def _on_open_lineage(self, event: OpenLineage) -> None:
        self.open_lineage(event.kpi_id)

    def open_lineage(self, kpi_id: str, select: str | None = None) -> None:
        if self.catalog is None or kpi_id not in self.catalog.kpis:
            return
        self.push_screen(LineageScreen(kpi_id, select=select))

    def _to_dashboard(self) -> DashboardScreen:
        while not isinstance(self.screen, DashboardScreen):
            self.pop_screen()
        return self.screen

    def jump_to(self, kind: str, entity_id: str) -> None:
        """Palette target: a KPI or engine directly; a workflow, system or field through the
        lineage of the first KPI that depends on it, with that node selected."""
        if self.catalog is None or self.graph is None:
            return
        if kind == "engine":
            self._to_dashboard().focus_engine(entity_id)
            return
        self._to_dashboard()
        if kind == "kpi":
            self.open_lineage(entity_id)
            return
        index = {
            "workflow": self.graph.kpis_by_workflow,
            "system": self.graph.kpis_by_system,
            "field": self.graph.kpis_by_field,
        }[kind]
        kpi_ids = index.get(entity_id, [])
        if kpi_ids:
            self.open_lineage(kpi_ids[0], select=entity_id)
        else:
            self.notify(f"No KPI depends on {entity_id}.", markup=False)

    # --- actions ---------------------------------------------------------------------------

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        rows = binding_rows(
            [
                ("Everywhere", self.BINDINGS),
                ("Dashboard", DashboardScreen.BINDINGS),
                ("Lineage", LineageScreen.BINDINGS),
            ]
        )
        self.push_screen(HelpScreen(rows))

    def action_next_theme(self) -> None:
        names = self.cockpit_themes or [DEFAULT_THEME]
        index = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(index + 1) % len(names)]
        self.notify(f"Theme: {self.theme}", timeout=2, markup=False)

    def on_unmount(self) -> None:
        if self.store is not None:
            self.store.close()
