"""Shared fixtures: a tiny valid catalog to break on purpose, seeded demo stores built once
per session, an environment with nothing of the user's in it, and the end-of-run check that
no process is left running."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from intelligentos.config.paths import config_dir
from intelligentos.services.bootstrap import init_store

from .processes import no_process_left_running, pytest_sessionstart
from .stores import copy_store

__all__ = ["no_process_left_running", "pytest_sessionstart"]

# Read by the product or by Textual and Rich: a user's theme, keymap, store, config
# directory, notification sinks, colour preference or terminal size must not reach a test.
USER_VARIABLE_PREFIXES = ("INTELLIGENTOS_", "TEXTUAL_")
USER_VARIABLES = ("NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES")
# The snapshot plugin's own, set for the run (its temporary directory).
NOT_THE_USERS = ("TEXTUAL_SNAPSHOT_",)
# The only file in a test's home: the suite acts as many people (``--user alice``).
TEST_CONFIG = '[cockpit]\nact_as = ["*"]\n'
HOME_VARIABLES = ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME")


def the_users(name: str) -> bool:
    """Whether an environment variable is one of the user's settings that tests must not see."""
    upper = name.upper()
    if upper.startswith(NOT_THE_USERS):
        return False
    return upper.startswith(USER_VARIABLE_PREFIXES) or upper in USER_VARIABLES


def _forget_what_is_read_on_import() -> None:
    # Textual reads its TEXTUAL_* variables once, on import, and the snapshot plugin has
    # imported it before this file: read them again without the user's. The command line's
    # consoles take their width from COLUMNS when they are made, on import; GNU readline
    # exports COLUMNS and LINES when it is loaded (a pytest-xdist worker loads it).
    for name in ("COLUMNS", "LINES"):
        os.environ.pop(name, None)
    names = [n for n in os.environ if the_users(n) and n.upper().startswith("TEXTUAL_")]
    if names:
        import textual.constants

        for name in names:
            del os.environ[name]
        importlib.reload(textual.constants)


_forget_what_is_read_on_import()


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto`` (in pyproject.toml's addopts): the whole fast suite runs on every core;
    named files or tests, and the slow tests (which time things and run the benchmark),
    run in one process."""
    whole_suite = config.args_source == pytest.Config.ArgsSource.TESTPATHS
    if not whole_suite or config.getoption("markexpr") != "not slow":
        return 0
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def isolate_from_the_user(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """Point the home and XDG directories into ``home`` (empty) and drop the variables the
    product reads: the test sees no config, store or sink of the user's, and neither do the
    processes it starts."""
    for name in list(os.environ):
        if the_users(name):
            monkeypatch.delenv(name)
    for name in HOME_VARIABLES:
        directory = home if name == "HOME" else home / name.lower()
        directory.mkdir(parents=True, exist_ok=True)
        monkeypatch.setenv(name, str(directory))
    # The suite acts as many people (``--user alice``): the test configuration lets the OS
    # login act as anyone. The tests of that rule use a configuration of their own.
    config = config_dir()
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.toml").write_text(TEST_CONFIG, encoding="utf-8")


@pytest.fixture(autouse=True)
def hermetic(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    isolate_from_the_user(monkeypatch, tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="session", autouse=True)
def hermetic_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The same for session-scoped fixtures, which run before any test's own isolation."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        isolate_from_the_user(monkeypatch, tmp_path_factory.mktemp("session-home"))
        yield


DEMO_END = date(2026, 11, 27)

MINI_CATALOG = {
    "org.toml": """
[engine.growth]
name = "Growth"
owners = ["sales"]
rollup_kpis = ["revenue_growth"]

[function.sales]
name = "Sales"
agent = "cro"

[agent.cro]
name = "CRO Agent"
function = "sales"
owns = ["win_rate"]
rules = ["No forecast without CRM hygiene"]

[agent.ceo]
name = "CEO Agent"

[theme.growth]
name = "Growth"

[objective.accelerate_revenue]
name = "Accelerate revenue"
theme = "growth"
ceo_kpis = ["revenue_growth"]
functional_kpis = ["win_rate"]

[system.crm]
name = "CRM"
[system.crm.tables]
opportunity = ["amount", "stage"]

[workflow.opportunity_management]
name = "Opportunity Management"
owner_function = "sales"
[[workflow.opportunity_management.steps]]
id = "close"
name = "Close deal"
system = "crm"
""",
    "kpis.toml": """
[kpi.revenue_growth]
name = "Revenue Growth Rate"
level = "ceo"
unit = "percent"
direction = "higher"
target = 30.0
frequency = "monthly"
formula = "(ARR now - ARR a year ago) / ARR a year ago"
engine = "growth"
owner_function = "sales"
owner_agent = "ceo"
[[kpi.revenue_growth.lineage]]
metric = "Booked revenue"
workflow = "opportunity_management"
step = "close"
fields = ["crm.opportunity.amount"]

[kpi.win_rate]
name = "Win Rate"
level = "functional"
unit = "percent"
direction = "higher"
target = 25.0
frequency = "weekly"
formula = "Won opportunities / closed opportunities"
engine = "growth"
owner_function = "sales"
owner_agent = "cro"
rolls_up_to = "revenue_growth"
weight = 0.5
[[kpi.win_rate.lineage]]
metric = "Closed opportunities"
workflow = "opportunity_management"
step = "close"
fields = ["crm.opportunity.stage"]
""",
}


def write_catalog(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


@pytest.fixture
def mini_catalog(tmp_path: Path) -> Path:
    return write_catalog(tmp_path / "catalog", MINI_CATALOG)


@pytest.fixture(scope="session")
def demo_store_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "demo.db"
    init_store(path, end=DEMO_END)
    return path


@pytest.fixture
def demo_store(demo_store_template: Path, tmp_path: Path) -> Path:
    """A private copy of the seeded demo store, safe to modify."""
    return copy_store(demo_store_template, tmp_path / "demo.db")


@pytest.fixture(scope="session")
def today_store_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from intelligentos.domain.clock import utc_today

    path = tmp_path_factory.mktemp("today") / "today.db"
    init_store(path, end=utc_today())
    return path


@pytest.fixture
def today_store(today_store_template: Path, tmp_path: Path) -> Path:
    """A private copy of a demo store whose history ends today: the CLI judges with the real
    clock, so this is the store on which its planted alerts fire."""
    return copy_store(today_store_template, tmp_path / "today-store.db")


@pytest.fixture(scope="session", autouse=True)
def quick_idle_checks() -> Iterator[None]:
    """Textual's pilot waits for the app to go idle after each key and each pause: it samples
    the process's CPU time every 20 ms until a sample shows almost none (under 5 % of the
    window). Sampled every 2 ms, with the same 5 %, an idle app is seen as idle as surely
    and ten times sooner; a busy one is waited for as before."""
    import textual._wait

    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(textual._wait, "SLEEP_GRANULARITY", 0.002)
        monkeypatch.setattr(textual._wait, "SLEEP_IDLE", 0.002 / 20)
        yield
