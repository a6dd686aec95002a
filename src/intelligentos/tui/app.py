"""The cockpit application: loads data in workers, owns navigation, themes and settings."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.worker import get_current_worker

from intelligentos.alerts import Alert, LifecycleError, State
from intelligentos.catalog.models import Catalog
from intelligentos.clock import parse_stamp, utc_naive
from intelligentos.cockpit import KpiSnapshot, snapshots
from intelligentos.detection import Severity
from intelligentos.evaluation import acknowledge_alert, evaluate_store
from intelligentos.formatting import literal
from intelligentos.lineage import LineageGraph
from intelligentos.paths import builtin_themes_dir, config_dir
from intelligentos.settings import Settings, current_user
from intelligentos.store import Store, StoreError
from intelligentos.tui.alerts_screen import AckScreen, AlertsScreen
from intelligentos.tui.bench import BenchPlan
from intelligentos.tui.dashboard import DashboardScreen
from intelligentos.tui.find import FindProvider
from intelligentos.tui.help import HelpScreen, binding_rows
from intelligentos.tui.lineage_screen import LineageScreen
from intelligentos.tui.themes import DEFAULT_THEME, load_themes
from intelligentos.tui.widgets import OpenLineage

WATCH_INTERVAL = 0.25  # seconds between data_version polls
FLASH_SECONDS = 10.0  # a new alert pulses this long, then stays highlighted until acked


def system_clock() -> datetime:
    return datetime.now().astimezone()


class CockpitApp(App):
    """The IntelligentOS cockpit on one store file. Tests build it exactly as the CLI does."""

    TITLE = "IntelligentOS cockpit"
    CSS_PATH = "cockpit.tcss"
    COMMANDS = App.COMMANDS | {FindProvider}
    BINDINGS = [
        Binding("a", "alerts", "Alerts"),
        Binding("p", "toggle_pause", "Pause live"),
        Binding("ctrl+r", "refresh", "Refresh"),
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
        user: str | None = None,
        bell: bool = False,
        bench: BenchPlan | None = None,
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
        self.open_alerts: list[Alert] = []
        self.cockpit_themes: list[str] = []
        self.user = user or current_user()
        self.ring_bell = bell
        self.paused = False
        self.stale_while_paused = False
        self.refreshing = False
        self.refresh_again = False
        self.refresh_count = 0
        self.announced: set[int | None] = set()
        self.first_seen: dict[int | None, float] = {}
        self.snooze_timer = None
        self.bench = bench
        self.lineage_painted_at: float | None = None
        self.lineage_screen: LineageScreen | None = None
        self.stop_watching = threading.Event()
        self.integrity: str | None = None
        self.integrity_known = threading.Event()

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
        threading.Thread(target=self._check_integrity, daemon=True).start()
        self.request_refresh()
        self.watch_store()

    def _check_integrity(self) -> None:
        # A daemon thread, not a worker: quitting never waits for a long check.
        self.integrity = self.store.integrity_verdict() if self.store else None
        self.integrity_known.set()

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

    def request_refresh(self) -> None:
        """Evaluate and reload; never more than one refresh in flight (a request made
        meanwhile runs once more when the current one ends)."""
        if self.paused and self.catalog is not None:
            self.stale_while_paused = True
            return
        if self.refreshing:
            self.refresh_again = True
            return
        self.refreshing = True
        self.refresh_data()

    @work(thread=True, group="refresh")
    def refresh_data(self) -> None:
        """Off the event loop: evaluate the rules (writing alert changes), then read the
        catalog (once), the visible windows and the open alerts."""
        store = self.store
        assert store is not None
        try:
            first = self.catalog is None
            catalog = self.catalog or store.read_catalog()
            if first:
                # Paint the values first; the rules run right after (alerts follow).
                windows = store.latest_windows(max(self.window, 2), until=self.until)
                snaps = snapshots(catalog, windows, self.as_of)
                self.call_from_thread(
                    self._loaded, catalog, LineageGraph(catalog), snaps, store.open_alerts()
                )
            graph = (self.graph or LineageGraph(catalog)).warm()
            if first and not store.readonly:
                # Once per session, off the event loop: a damaged file is never written.
                try:
                    store.ensure_intact("the cockpit will not write to it")
                except StoreError as error:
                    store.readonly = True
                    self.call_from_thread(
                        self.notify, str(error), severity="error", timeout=30, markup=False
                    )
            if self.fixed_as_of is None:
                evaluate_store(store, catalog, self.clock(), graph)
            windows = store.latest_windows(max(self.window, 2), until=self.until)
            snaps = snapshots(catalog, windows, self.as_of)
            self.call_from_thread(self._loaded, catalog, graph, snaps, store.open_alerts())
        except (StoreError, sqlite3.Error) as error:
            # Another process may hold the write lock for long, or the file may have
            # become unreadable: say so and keep the cockpit up; the next change retries.
            self.call_from_thread(
                self.notify, f"Refresh failed: {error}", severity="error", markup=False
            )
        finally:
            self.call_from_thread(self._refresh_finished)

    def _refresh_finished(self) -> None:
        self.refreshing = False
        if self.refresh_again:
            self.refresh_again = False
            self.request_refresh()

    def _loaded(self, catalog, graph, snaps, open_alerts) -> None:
        self.catalog = catalog
        self.graph = graph
        self.snaps = snaps
        self.open_alerts = open_alerts
        self._announce(open_alerts)
        self.dashboard.populate(snaps)
        if isinstance(self.screen, AlertsScreen):
            self.screen.reload()
        self._schedule_snooze_expiry(open_alerts)
        if self.refresh_count == 0:
            if self.bench is not None:
                self.call_after_refresh(self._bench_ready)
            self.call_after_refresh(self._start_prewarm)
        self.refresh_count += 1

    def _announce(self, open_alerts: list[Alert]) -> None:
        """A toast (and optionally the bell) for each alert that newly needs attention."""
        fresh = [a for a in open_alerts if a.needs_attention and a.id not in self.announced]
        now = time.monotonic()
        for alert in open_alerts:
            if alert.needs_attention:
                self.first_seen.setdefault(alert.id, now)
        self.announced |= {a.id for a in open_alerts if a.needs_attention}
        if fresh and self.refresh_count < 2:
            # At start-up one summary, not a wall of toasts.
            worst = "error" if any(a.severity is Severity.CRITICAL for a in fresh) else "warning"
            self.notify(
                f"{len(fresh)} alert(s) need attention: press a to review them.",
                severity=worst,
                timeout=6,
                markup=False,
            )
        else:
            for alert in fresh[:3]:
                self.notify(
                    literal(alert.message),
                    title=literal(self.subject_name(alert)),
                    severity="error" if alert.severity is Severity.CRITICAL else "warning",
                    timeout=6,
                    markup=False,
                )
            if len(fresh) > 3:
                self.notify(
                    f"… and {len(fresh) - 3} more: press a for the alerts screen.",
                    severity="warning",
                    markup=False,
                )
        if fresh and self.ring_bell:
            self.bell()

    def _schedule_snooze_expiry(self, open_alerts: list[Alert]) -> None:
        """Nothing may change in the store when a snooze ends: evaluate again right then."""
        if self.snooze_timer is not None:
            self.snooze_timer.stop()
            self.snooze_timer = None
        ends = [parse_stamp(a.snoozed_until) for a in open_alerts if a.snoozed_until]
        if ends:
            now = utc_naive(self.clock())
            delay = max((min(ends) - now).total_seconds(), 0) + 0.5
            self.snooze_timer = self.set_timer(delay, self.request_refresh)

    def subject_name(self, alert: Alert) -> str:
        catalog = self.catalog
        if catalog is None:
            return alert.kpi_id or alert.system_id or ""
        if alert.kpi_id:
            kpi = catalog.kpis.get(alert.kpi_id)
            return kpi.name if kpi else alert.kpi_id
        system = catalog.systems.get(alert.system_id or "")
        return system.name if system else (alert.system_id or "")

    @property
    def attention(self) -> list[Alert]:
        return [a for a in self.open_alerts if a.needs_attention]

    @property
    def flashing_kpis(self) -> set[str]:
        return {a.kpi_id for a in self.attention if a.kpi_id}

    def pulsing_kpis(self) -> set[str]:
        """Flashing KPIs whose alert is new enough to still pulse."""
        now = time.monotonic()
        return {
            a.kpi_id
            for a in self.attention
            if a.kpi_id and now - self.first_seen.get(a.id, now) < FLASH_SECONDS
        }

    @work(thread=True, group="watch", exclusive=True)
    def watch_store(self) -> None:
        """Poll ``PRAGMA data_version`` (a counter SQLite bumps when another connection
        commits) and refresh only when it moves: cheap, and sees every other process."""
        worker = get_current_worker()
        store = self.store
        assert store is not None
        seen = store.data_version()
        while not worker.is_cancelled:
            # An Event rather than sleep(): quitting wakes the watcher at once.
            if self.stop_watching.wait(WATCH_INTERVAL):
                return
            try:
                version = store.data_version()
            except Exception:  # the store is closing with the app
                return
            if version != seen:
                seen = version
                self.call_from_thread(self.request_refresh)

    @property
    def dashboard(self) -> DashboardScreen:
        return next(s for s in self.screen_stack if isinstance(s, DashboardScreen))

    def set_window(self, size: int) -> None:
        self.window = size
        self.request_refresh()

    # --- navigation ------------------------------------------------------------------------

    @on(OpenLineage)
    def _on_open_lineage(self, event: OpenLineage) -> None:
        self.open_lineage(event.kpi_id)

    def open_lineage(self, kpi_id: str, select: str | None = None) -> None:
        if self.catalog is None or kpi_id not in self.catalog.kpis:
            return
        # One lineage screen, kept between drill-downs: pushing it again skips composing
        # and styling its widgets, which is most of the cost of opening a screen.
        if self.lineage_screen is None:
            self.lineage_screen = LineageScreen(kpi_id, select=select)
            # Installed screens survive being popped.
            self.install_screen(self.lineage_screen, name="lineage")
        else:
            self.lineage_screen.start(kpi_id, select)
        if self.lineage_screen not in self.screen_stack:
            self.push_screen(self.lineage_screen)

    def _start_prewarm(self) -> None:
        if self.is_running and not self.stop_watching.is_set():
            # Only an optimisation: a failure (say, quitting meanwhile) must not end the app.
            self.run_worker(self._prewarm_lineage(), group="prewarm", exit_on_error=False)

    async def _prewarm_lineage(self) -> None:
        """Compose the lineage screen once, right after the first paint and without showing
        it (updates are batched), so the first drill-down is as quick as the later ones."""
        if self.lineage_screen is not None or self.catalog is None:
            return
        if not isinstance(self.screen, DashboardScreen):
            return
        first = next(iter(self.catalog.kpis))
        screen = LineageScreen(first)
        self.lineage_screen = screen
        self.install_screen(screen, name="lineage")
        focused = self.screen.focused
        with self.batch_update():
            await self.push_screen(screen)
            await self.pop_screen()
        if focused is not None and focused.is_attached:
            focused.focus()

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
                ("Alerts", AlertsScreen.BINDINGS),
            ]
        )
        self.push_screen(HelpScreen(rows))

    # --- alert lifecycle -------------------------------------------------------------------

    def acknowledge(self, alerts: list[Alert]) -> None:
        """Ask for a note, then acknowledge every given alert that is not yet owned."""
        targets = [a for a in alerts if a.state in (State.FIRING, State.SNOOZED)]
        if not targets:
            self.notify("Nothing to acknowledge here.", timeout=3)
            return

        def chosen(note: str | None) -> None:
            if note is not None:
                ids = [a.id for a in targets]
                self.run_lifecycle(acknowledge_alert, ids, self.user, note)

        self.push_screen(AckScreen(self.subject_name(targets[0]), self.user, len(targets)), chosen)

    @work(thread=True, group="lifecycle")
    def run_lifecycle(self, action, alert_ids: list[int], *args) -> None:
        """Apply a lifecycle action to alerts off the event loop, then refresh."""
        problems = []
        for alert_id in alert_ids:
            try:
                action(self.store, alert_id, *args, self.clock())
            except (LifecycleError, StoreError) as error:
                problems.append(str(error))
        for problem in dict.fromkeys(problems):
            self.call_from_thread(
                self.notify, problem, title="Not saved", severity="error", markup=False
            )
        self.call_from_thread(self.action_refresh)

    def action_alerts(self) -> None:
        if not isinstance(self.screen, AlertsScreen):
            self.push_screen(AlertsScreen())

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        if self.paused:
            self.notify("Live refresh paused (p resumes).", timeout=3)
        else:
            self.notify("Live refresh resumed.", timeout=2)
            if self.stale_while_paused:
                self.stale_while_paused = False
                self.request_refresh()
        self.dashboard.refresh_values(self.snaps)

    def action_refresh(self) -> None:
        self.stale_while_paused = False
        paused, self.paused = self.paused, False
        self.request_refresh()
        self.paused = paused

    def action_next_theme(self) -> None:
        names = self.cockpit_themes or [DEFAULT_THEME]
        index = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(index + 1) % len(names)]
        self.notify(f"Theme: {self.theme}", timeout=2, markup=False)

    # --- benchmark hooks (hidden CLI options; see benchmarks/run.py) ------------------------

    def _bench_ready(self) -> None:
        """The dashboard is painted with data: idle (measuring CPU), then optionally drill
        down, then report and exit."""
        plan = self.bench
        assert plan is not None
        plan.ready_at = time.perf_counter()
        plan.ready_epoch = time.time()
        if plan.idle > 0:
            # Idle is measured in the steady state, after new alerts have finished pulsing.
            settle = plan.settle if plan.settle is not None else FLASH_SECONDS + 1.0
            self.set_timer(max(settle, 0.01), self._bench_idle_start)
        else:
            self.call_after_refresh(self._bench_idle_start)

    def _bench_idle_start(self) -> None:
        plan = self.bench
        assert plan is not None
        plan.idle_cpu_start = time.process_time()
        plan.idle_wall_start = time.perf_counter()
        # A zero-length timer never fires: wait at least one tick.
        self.set_timer(max(plan.idle, 0.01), self._bench_idle_over)

    def _bench_idle_over(self) -> None:
        plan = self.bench
        assert plan is not None
        plan.stop_idle()
        if plan.drill:
            plan.drill_started = time.perf_counter()
            self.open_lineage(plan.drill)
            self.set_timer(1.0, self._bench_finish)
        else:
            self._bench_finish()

    def _bench_finish(self) -> None:
        plan = self.bench
        assert plan is not None
        plan.write(self.lineage_painted_at)
        self.exit()

    def exit(self, *args, **kwargs) -> None:
        self.stop_watching.set()
        self.integrity_known.set()  # a refresh waiting for the check must not hold up quitting
        super().exit(*args, **kwargs)

    def on_unmount(self) -> None:
        if self.store is not None:
            self.store.close()
