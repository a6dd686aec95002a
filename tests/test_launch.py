"""The cockpit's launch path: the entry point starts the cockpit without the command line's
machinery, says what is wrong in one sentence, and the first screen's settings are read
straight from the file while the validated ones follow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from intelligentos.config.state import state_file
from intelligentos.launch import cockpit_options
from intelligentos.tui.launch import CockpitOptions
from tests.processes import run
from tests.tui_helpers import make_app, settle

ROOT = Path(__file__).resolve().parent.parent


# --- which arguments take the quick way --------------------------------------------------------


def test_no_arguments_launch_the_cockpit_with_defaults():
    assert cockpit_options([]) == CockpitOptions()


def test_every_cockpit_option_is_understood_in_both_spellings():
    argv = ["--db", "k.db", "--theme=nord", "--user", "ann", "--no-bell"]
    options = cockpit_options([*argv, "--as-of=2026-11-01", "--agent", "cfo_agent"])
    assert options == CockpitOptions(
        db=Path("k.db"),
        theme="nord",
        user="ann",
        bell=False,
        as_of="2026-11-01",
        agent="cfo_agent",
    )
    assert cockpit_options(["--bell"]) == CockpitOptions(bell=True)


@pytest.mark.parametrize(
    "argv",
    [
        ["kpis"],  # a command
        ["--db", "k.db", "alerts"],  # options before a command
        ["--help"],
        ["--db"],  # a value missing
        ["--db", "--theme"],  # a value that looks like an option
        ["--db="],
        ["--db", "a.db", "--db", "b.db"],  # given twice
        ["--bell", "--no-bell"],
        ["--bell=yes"],
        ["--colour", "red"],  # unknown: Typer says so
    ],
)
def test_anything_else_goes_to_the_command_line(argv):
    assert cockpit_options(argv) is None


# --- what the quick way imports ---------------------------------------------------------------

_IMPORTED = """
import json, sys
import intelligentos.launch, intelligentos.tui.app
print(json.dumps(sorted(sys.modules)))
"""
# What the first screen does not need: the command line (Typer), validation (pydantic and
# pydantic-settings: the catalog in the store needs none, the settings come after the first
# paint), forecasting, charts and Markdown, and every screen but the dashboard.
NOT_ON_THE_LAUNCH_PATH = (
    "typer",
    "click",
    "pydantic",
    "pydantic_settings",
    "statsmodels",
    "numpy",
    "plotext",
    "textual_plotext",
    "markdown_it",
    "intelligentos.cli.main",
    "intelligentos.config.settings",
    "intelligentos.domain.forecast",
    "intelligentos.services.catalog",
    "intelligentos.domain.demo",
    "intelligentos.services.notify",
    "intelligentos.tui.screens.lineage",
    "intelligentos.tui.screens.alerts",
    "intelligentos.tui.screens.help",
    "intelligentos.tui.screens.dialogs",
    "intelligentos.domain.views",
)


def test_the_launch_path_imports_only_what_the_first_screen_needs():
    result = run(
        [sys.executable, "-c", _IMPORTED], capture_output=True, text=True, check=True, timeout=120
    )
    imported = set(json.loads(result.stdout))
    assert sorted(m for m in NOT_ON_THE_LAUNCH_PATH if m in imported) == []


# --- the real entry point ---------------------------------------------------------------------


def run_entry(*args: str, config: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "INTELLIGENTOS_CONFIG_DIR": str(config)}
    return run(
        [sys.executable, "-m", "intelligentos", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
        stdin=subprocess.DEVNULL,
    )


def test_a_user_the_config_does_not_allow_is_one_sentence_and_no_store_is_made(tmp_path):
    store = tmp_path / "demo.db"
    result = run_entry("--db", str(store), "--user", "ana", config=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: --user ana is not allowed"), lines
    assert not store.exists()


def test_a_missing_store_is_one_sentence(tmp_path):
    result = run_entry("--db", str(tmp_path / "nowhere.db"), config=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "nowhere.db" in lines[0]


def test_the_cockpit_alone_creates_the_default_store_a_demo_store(tmp_path, monkeypatch, capsys):
    from intelligentos.services.bootstrap import is_demo
    from intelligentos.store import Store
    from intelligentos.tui.app import CockpitApp
    from intelligentos.tui.launch import CockpitOptions, LaunchError, launch_cockpit, opened_store

    target = tmp_path / "data" / "kpi-store.db"
    monkeypatch.setenv("INTELLIGENTOS_DB", str(target))
    with pytest.raises(LaunchError, match="there is no KPI store at"), opened_store(None):
        pass
    assert not target.exists()
    opened: list[Path] = []
    monkeypatch.setattr(CockpitApp, "run", lambda app: opened.append(app.store_path))
    assert launch_cockpit(CockpitOptions()) == 0
    assert opened == [target]
    assert f"Created a demo KPI store at {target}" in capsys.readouterr().err
    with Store.open(target) as store:
        assert is_demo(store.meta())


def test_a_foreign_file_is_refused_and_left_untouched(tmp_path):
    foreign = tmp_path / "notes.db"
    foreign.write_bytes(b"not a database at all\n" * 50)
    before = foreign.read_bytes()
    result = run_entry("--db", str(foreign), config=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: ")
    assert foreign.read_bytes() == before


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--as-of", "2999-01-01"), "Error: --as-of 2999-01-01 is in the future"),
        (("--as-of", "soon"), "Error: --as-of must be a date like 2026-11-27, not 'soon'."),
        (("--agent", "[b]nobody[/b]"), "Error: unknown agent '[b]nobody[/b]'"),
    ],
)
def test_bad_cockpit_options_are_one_sentence(demo_store, tmp_path, args, says):
    result = run_entry("--db", str(demo_store), *args, config=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(says)


def test_help_still_comes_from_the_command_line(tmp_path):
    result = run_entry("--help", config=tmp_path)
    assert result.returncode == 0
    assert "--as-of" in result.stdout and "whatif" in result.stdout


# --- settings: the first look, then the validated settings -----------------------------------


async def test_a_bad_value_costs_its_key_only_and_the_first_look_theme_stays(demo_store, tmp_path):
    """One bad value in the file costs that key only: the theme the first screen is drawn
    with stays, the problem is shown naming the key, and nothing is rewritten."""
    config = tmp_path / "config"
    config.mkdir()
    text = 'theme = "intelligentos-light"\n\n[cockpit]\nbell = "sometimes"\n'
    (config / "config.toml").write_text(text, encoding="utf-8")
    app = make_app(demo_store, config)
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.preferences.first_look.theme == "intelligentos-light"
        await settle(pilot)
        assert app.preferences.loaded is not None
        assert app.theme == "intelligentos-light"
        assert app.preferences.ring_bell is False
        assert any("cockpit.bell" in str(n.message) for n in app.notices)
    assert (config / "config.toml").read_text(encoding="utf-8") == text


async def test_a_keymap_from_the_environment_applies_once_the_settings_are_loaded(
    demo_store, tmp_path, monkeypatch
):
    from intelligentos.tui.screens.alerts import AlertsScreen

    monkeypatch.setenv("INTELLIGENTOS_KEYMAP__ALERTS", "x")
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, AlertsScreen)


async def test_the_rules_run_only_after_the_first_values_are_painted(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.first_paint.is_set()
        assert app.data is not None and app.data.evaluated
        # The settings were loaded in the background, not on the event loop.
        assert app.preferences.loaded is not None and app.notifications.notifier is not None
    # Nothing was chosen, so nothing was written, nor remembered.
    assert not (tmp_path / "config" / "config.toml").exists()
    assert not state_file().exists()


async def test_a_slow_store_shows_the_dashboard_first_and_its_values_when_read(
    demo_store, tmp_path, monkeypatch
):
    """Reading the first values takes longer than the cockpit waits: the dashboard comes up
    without them, builds its panels when the catalog arrives and shows the values after."""
    import threading

    from intelligentos.services.snapshots import DataService
    from intelligentos.tui.controllers import startup
    from intelligentos.tui.screens.dashboard import DashboardScreen
    from intelligentos.tui.widgets.engine_panel import EnginePanel
    from intelligentos.tui.widgets.kpi_table import KpiTable

    release = threading.Event()
    read = DataService.read

    def slow_read(self, *args, **kwargs):
        release.wait(5)
        return read(self, *args, **kwargs)

    monkeypatch.setattr(DataService, "read", slow_read)
    monkeypatch.setattr(startup, "DASHBOARD_WAIT", 0.05)
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(50):
            await pilot.pause(0.02)
            if isinstance(app.screen, DashboardScreen) and app.screen.query(EnginePanel):
                break
        assert isinstance(app.screen, DashboardScreen)
        assert app.data is None  # no values yet, but the panels of the catalog are there
        assert len(app.screen.query(EnginePanel)) == 5
        release.set()
        await settle(pilot)
        assert app.data is not None and app.data.evaluated
        assert all(table.row_count for table in app.screen.query(KpiTable))
        assert app.screen.query_one("#selection").render()  # the first row is selected


async def test_start_up_objects_are_frozen_out_of_the_collector_until_the_end(demo_store, tmp_path):
    import gc

    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
