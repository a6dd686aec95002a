"""Shared fixtures: a tiny valid catalog to break on purpose, and a seeded demo store."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from intelligentos.bootstrap import init_store
from intelligentos.store import copy_store

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


@pytest.fixture(autouse=True)
def hermetic_user(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A home of the test's own: the user's config (its notification sinks above all), data
    directory and INTELLIGENTOS_* variables never reach a test."""
    home = tmp_path_factory.mktemp("home")
    for name in list(os.environ):
        if name.upper().startswith("INTELLIGENTOS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(home))
    for variable, folder in (
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_DATA_HOME", ".local/share"),
        ("XDG_STATE_HOME", ".local/state"),
        ("XDG_CACHE_HOME", ".cache"),
    ):
        monkeypatch.setenv(variable, str(home / folder))
    return home


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
    from intelligentos.clock import utc_today

    path = tmp_path_factory.mktemp("today") / "today.db"
    init_store(path, end=utc_today())
    return path


@pytest.fixture
def today_store(today_store_template: Path, tmp_path: Path) -> Path:
    """A private copy of a demo store whose history ends today: the CLI judges with the real
    clock, so this is the store on which its planted alerts fire."""
    return copy_store(today_store_template, tmp_path / "today-store.db")
