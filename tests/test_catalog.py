"""Catalog loading and every governance rule, each fed a deliberately broken catalog."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from intelligentos.catalog import CatalogError, Level, check_catalog, load_catalog
from intelligentos.paths import builtin_catalog_dir

from .conftest import MINI_CATALOG, write_catalog


def test_builtin_catalog_passes_governance():
    assert check_catalog(builtin_catalog_dir()) == []


def test_builtin_catalog_holds_the_seed_architecture():
    catalog = load_catalog(builtin_catalog_dir())
    levels = Counter(k.level for k in catalog.kpis.values())
    assert levels[Level.CEO] == 10
    assert len(catalog.kpis) >= 30
    assert set(catalog.engines) == {"growth", "retention", "efficiency", "people", "brand"}
    assert len(catalog.functions) == 8
    assert len(catalog.agents) == 9
    assert sum(1 for a in catalog.agents.values() if a.function is None) == 1
    for named in ("product_discovery", "incident_management", "engagement_workflow"):
        assert named in catalog.workflows
    seed_named = [
        "arr",
        "new_arr",
        "mql_to_sql",
        "feature_adoption",
        "ttv",
        "roadmap_hit_rate",
        "win_rate",
        "forecast_accuracy",
        "health_score",
        "csat",
        "grr",
        "on_time_delivery",
        "qa_score",
        "risk_burndown",
        "uptime",
        "share_of_voice",
        "brand_sentiment",
        "unaided_recall",
        "engagement",
        "leadership_trust",
        "time_to_hire",
        "turnover",
        "activation_rate",
        "weekly_active_usage",
        "onboarding_completion",
    ]
    assert not [k for k in seed_named if k not in catalog.kpis]
    cpo = catalog.agents["cpo"]
    assert "No feature ships without KPI hypothesis" in cpo.rules
    assert {"feature_adoption", "ttv", "roadmap_hit_rate"} <= set(cpo.owns)


def test_builtin_catalog_composites_show_their_parts():
    catalog = load_catalog(builtin_catalog_dir())
    parts = {k.id for k in catalog.kpis.values() if k.rolls_up_to == "brand_health"}
    assert {"unaided_recall", "share_of_voice", "brand_sentiment"} <= parts
    dei_parts = {k.id for k in catalog.kpis.values() if k.rolls_up_to == "dei_health"}
    assert {"diversity", "leadership_diversity"} <= dei_parts


def test_mini_catalog_is_valid(mini_catalog: Path):
    catalog = load_catalog(mini_catalog)
    assert list(catalog.kpis) == ["revenue_growth", "win_rate"]
    assert catalog.kpis["win_rate"].source == "kpis.toml"


def _broken(tmp_path: Path, file: str, old: str, new: str) -> Path:
    files = dict(MINI_CATALOG)
    assert old in files[file], old
    files[file] = files[file].replace(old, new)
    return write_catalog(tmp_path / "broken", files)


BROKEN = {
    "side-kpi": ("kpis.toml", 'rolls_up_to = "revenue_growth"\n', ""),
    "cycle": (
        "kpis.toml",
        'rolls_up_to = "revenue_growth"',
        'rolls_up_to = "win_rate"',
    ),
    "lineage": (
        "kpis.toml",
        '[[kpi.win_rate.lineage]]\nmetric = "Closed opportunities"\nworkflow = '
        '"opportunity_management"\nstep = "close"\nfields = ["crm.opportunity.stage"]\n',
        "",
    ),
    "ownership": ("kpis.toml", 'owner_function = "sales"\nowner_agent = "cro"', ""),
    "reference": ("kpis.toml", 'fields = ["crm.opportunity.stage"]', 'fields = ["crm.deal.x"]'),
}


@pytest.mark.parametrize("rule", sorted(BROKEN))
def test_each_governance_rule_names_file_and_key(tmp_path: Path, rule: str):
    directory = _broken(tmp_path, *BROKEN[rule])
    violations = check_catalog(directory)
    matching = [v for v in violations if v.rule == rule]
    assert matching, violations
    assert matching[0].file == "kpis.toml"
    assert matching[0].key.startswith("kpi.win_rate")
    with pytest.raises(CatalogError):
        load_catalog(directory)


def test_dangling_reference_in_other_entity(tmp_path: Path):
    directory = _broken(tmp_path, "org.toml", 'agent = "cro"', 'agent = "nobody"')
    [violation] = [v for v in check_catalog(directory) if v.rule == "reference"]
    assert (violation.rule, violation.file, violation.key) == (
        "reference",
        "org.toml",
        "function.sales.agent",
    )
    assert "nobody" in violation.message


def test_agent_claiming_another_functions_kpi(tmp_path: Path):
    files = dict(MINI_CATALOG)
    files["org.toml"] += (
        '\n[function.hr]\nname = "HR"\nagent = "chro"\n'
        '[agent.chro]\nname = "CHRO"\nfunction = "hr"\nowns = ["win_rate"]\n'
    )
    violations = check_catalog(write_catalog(tmp_path / "c", files))
    assert any(v.rule == "ownership" and v.key == "agent.chro.owns" for v in violations)


def test_ceo_kpi_must_not_roll_up(tmp_path: Path):
    directory = _broken(
        tmp_path,
        "kpis.toml",
        'owner_agent = "ceo"\n',
        'owner_agent = "ceo"\nrolls_up_to = "win_rate"\n',
    )
    assert any(v.rule in ("rollup", "cycle") for v in check_catalog(directory))


def test_schema_errors_name_file_and_key(tmp_path: Path):
    directory = _broken(
        tmp_path,
        "kpis.toml",
        'unit = "percent"\ndirection = "higher"\ntarget = 25.0',
        'unit = "furlongs"\ndirection = "higher"\ntarget = 25.0',
    )
    [violation] = [v for v in check_catalog(directory) if v.rule == "schema"]
    assert violation.file == "kpis.toml"
    assert violation.key == "kpi.win_rate.unit"


def test_unknown_key_is_rejected(tmp_path: Path):
    directory = _broken(tmp_path, "kpis.toml", "weight = 0.5", "weight = 0.5\nwieght = 1")
    assert any(v.key == "kpi.win_rate.wieght" for v in check_catalog(directory))


def test_duplicate_ids_across_files(tmp_path: Path):
    files = dict(MINI_CATALOG)
    files["zz.toml"] = '[theme.growth]\nname = "Growth again"\n'
    violations = check_catalog(write_catalog(tmp_path / "c", files))
    assert [(v.rule, v.file, v.key) for v in violations] == [
        ("duplicate", "zz.toml", "theme.growth")
    ]


def test_toml_syntax_error(tmp_path: Path):
    files = dict(MINI_CATALOG)
    files["bad.toml"] = "[kpi.x\nname = "
    violations = check_catalog(write_catalog(tmp_path / "c", files))
    assert violations[0].rule == "syntax" and violations[0].file == "bad.toml"


def test_missing_directory(tmp_path: Path):
    assert check_catalog(tmp_path / "nope")[0].message == "catalog directory not found"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("target = 25.0", 'target = "25"'),
        ("weight = 0.5", 'weight = "0.5"'),
    ],
)
def test_a_number_written_as_a_string_is_refused(tmp_path, old, new):
    files = dict(MINI_CATALOG)
    files["kpis.toml"] = files["kpis.toml"].replace(old, new)
    directory = write_catalog(tmp_path / "quoted", files)
    problems = [str(v) for v in check_catalog(directory)]
    field = old.split(" =")[0]
    assert any(f"kpi.win_rate.{field}: [schema]" in p for p in problems), problems
