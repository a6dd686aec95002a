"""Catalog loading and every governance rule, each fed a deliberately broken catalog."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections import Counter
from enum import Enum
from pathlib import Path

import pytest

from intelligentos.config.paths import builtin_catalog_dir
from intelligentos.domain.catalog import Catalog, Level
from intelligentos.domain.catalog.models import DetectionOverrides, Direction, Frequency, Unit
from intelligentos.domain.scale import scaled_catalog
from intelligentos.services.catalog import CatalogError, check_catalog, load_catalog, parse_catalog
from intelligentos.store.catalog import catalog_from_rows, catalog_to_rows

from .conftest import MINI_CATALOG, write_catalog
from .processes import run


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


@pytest.mark.parametrize(
    ("extra", "key", "message"),
    [
        (
            "warning = 0.3\ncritical = 0.2",
            "kpi.win_rate.critical",
            "critical threshold must be at least the warning threshold",
        ),
        ("critical = 0.01", "kpi.win_rate.critical", "critical threshold"),
        ("wieght = 1", "kpi.win_rate.wieght", "Extra inputs are not permitted"),
        (
            "detection = { anomaly_windw = 5 }",
            "kpi.win_rate.detection.anomaly_windw",
            "Extra inputs are not permitted",
        ),
        (
            "detection = 5",
            "kpi.win_rate.detection",
            "Input should be a valid dictionary or instance of DetectionOverrides",
        ),
        (
            "detection = { anomaly_window = 5.0 }",
            "kpi.win_rate.detection.anomaly_window",
            "Input should be a valid integer",
        ),
        (
            "detection = { forecast_horizon = 400 }",
            "kpi.win_rate.detection.forecast_horizon",
            "Input should be less than or equal to 366",
        ),
        ('level = "boss"', "kpi.win_rate.level", "Input should be 'ceo', 'functional'"),
    ],
)
def test_schema_problems_name_the_key_and_say_what_is_wrong(tmp_path, extra, key, message):
    files = dict(MINI_CATALOG)
    if extra.startswith("level"):
        files["kpis.toml"] = files["kpis.toml"].replace('level = "functional"', extra)
    else:
        files["kpis.toml"] = files["kpis.toml"].replace("weight = 0.5", f"weight = 0.5\n{extra}")
    catalog, problems = parse_catalog(write_catalog(tmp_path / "c", files))
    assert [(p.rule, p.key) for p in problems] == [("schema", key)]
    assert problems[0].message.startswith(message)
    assert "win_rate" not in catalog.kpis


def test_a_catalog_file_is_read_into_enums_tuples_and_floats(tmp_path):
    files = dict(MINI_CATALOG)
    files["kpis.toml"] = files["kpis.toml"].replace(
        "target = 25.0",
        'target = 25\ndetection = { stale_periods = 2, disabled_rules = ["drift"] }',
    )
    kpi = load_catalog(write_catalog(tmp_path / "c", files)).kpis["win_rate"]
    assert (type(kpi.level), type(kpi.unit), type(kpi.direction)) == (Level, Unit, Direction)
    assert type(kpi.frequency) is Frequency
    assert type(kpi.target) is float and kpi.target == 25.0
    assert kpi.detection == DetectionOverrides(stale_periods=2.0, disabled_rules=("drift",))
    assert type(kpi.detection.stale_periods) is float
    assert type(kpi.lineage) is tuple and type(kpi.lineage[0].fields) is tuple


def test_models_are_frozen_and_compare_by_value():
    catalog = load_catalog(builtin_catalog_dir())
    kpi = next(iter(catalog.kpis.values()))
    with pytest.raises(dataclasses.FrozenInstanceError):
        kpi.target = 1.0  # type: ignore[misc]
    assert dataclasses.replace(kpi) == kpi and hash(dataclasses.replace(kpi)) == hash(kpi)
    assert dataclasses.replace(kpi, target=kpi.target + 1) != kpi
    assert Catalog() == Catalog(kpis={}) and not Catalog().kpis
    assert load_catalog(builtin_catalog_dir()) == catalog


def _typed(value: object) -> object:
    """``value`` with the type of everything in it, so that an enum read back as its text or
    a tuple read back as a list does not compare equal."""
    if dataclasses.is_dataclass(value):
        fields = dataclasses.fields(value)
        return type(value), {f.name: _typed(getattr(value, f.name)) for f in fields}
    if isinstance(value, dict):
        return {key: _typed(item) for key, item in value.items()}
    if isinstance(value, (tuple, list)):
        return type(value), [_typed(item) for item in value]
    if isinstance(value, Enum):
        return type(value), value.value
    return type(value), value


@pytest.mark.parametrize("size", [0, 300])
def test_the_catalog_round_trips_through_rows_with_its_types(size):
    catalog = load_catalog(builtin_catalog_dir())
    if size:
        catalog = scaled_catalog(catalog, size)
    rows = catalog_to_rows(catalog)
    assert _typed(catalog_from_rows(rows)) == _typed(catalog)
    kpi_rows = {row["id"]: row for row in rows["kpis"]}
    # The detection column holds only the overrides a KPI sets, as compact JSON.
    assert kpi_rows["support_first_response"]["detection"] == '{"anomaly_threshold":4.5}'
    assert kpi_rows["revenue_growth"]["detection"] == "{}"
    assert kpi_rows["revenue_growth"]["level"] == "ceo"
    assert json.loads(rows["engines"][0]["owners"]) == list(catalog.engines["growth"].owners)


def test_overrides_with_every_field_set_round_trip():
    kpi = next(iter(load_catalog(builtin_catalog_dir()).kpis.values()))
    overrides = DetectionOverrides(
        anomaly_threshold=3.5,
        anomaly_window=5,
        drift_baseline=6,
        stale_periods=2.5,
        forecast_horizon=30,
        disabled_rules=("drift", "anomaly"),
    )
    catalog = Catalog(kpis={kpi.id: dataclasses.replace(kpi, detection=overrides)})
    [row] = catalog_to_rows(catalog)["kpis"]
    assert row["detection"] == (
        '{"anomaly_threshold":3.5,"anomaly_window":5,"drift_baseline":6,"stale_periods":2.5,'
        '"forecast_horizon":30,"disabled_rules":["drift","anomaly"]}'
    )
    assert _typed(catalog_from_rows(catalog_to_rows(catalog))) == _typed(catalog)


def test_the_models_and_the_store_are_imported_without_pydantic():
    """The cockpit reads its catalog from the store; pydantic, slow to import, only checks
    catalog files (in the loader, on first use)."""
    code = (
        "import sys\n"
        "import intelligentos.domain.catalog.models, intelligentos.store\n"
        "import intelligentos.store.catalog\n"
        "print(sorted(m for m in sys.modules if m.startswith(('pydantic', 'annotated_types'))))"
    )
    done = run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]"  # no pydantic, pydantic_core nor annotated_types


# --- weights -------------------------------------------------------------------------------


def _two_children(first: float, second: float) -> dict[str, str]:
    """The mini catalog with a second KPI rolling up to Revenue Growth beside Win Rate."""
    files = dict(MINI_CATALOG)
    kpis = files["kpis.toml"].replace("weight = 0.5", f"weight = {first}")
    win_rate = kpis[kpis.index("[kpi.win_rate]") :]
    twin = win_rate.replace("kpi.win_rate", "kpi.lead_velocity").replace(
        f"weight = {first}", f"weight = {second}"
    )
    files["kpis.toml"] = kpis + "\n" + twin.replace("Win Rate", "Lead Velocity")
    return files


def test_sibling_weights_that_do_not_sum_to_one_are_a_warning_naming_parent_and_sum(tmp_path):
    from intelligentos.domain.catalog.governance import weight_warnings

    catalog = load_catalog(write_catalog(tmp_path / "c", _two_children(1.0, 0.8)))
    [warning] = weight_warnings(catalog)
    assert (warning.rule, warning.file, warning.key) == (
        "weights",
        "kpis.toml",
        "kpi.revenue_growth",
    )
    assert warning.message.startswith("Revenue Growth Rate: the weights of its 2 weighted")
    assert "sum to 1.8, not 1" in warning.message
    assert "win_rate 1, lead_velocity 0.8" in warning.message
    # Weights that sum to 1: no warning.
    split = load_catalog(write_catalog(tmp_path / "n", _two_children(0.7, 0.3)))
    assert weight_warnings(split) == []
    assert weight_warnings(load_catalog(builtin_catalog_dir())) == []


def test_validate_prints_the_weights_warning_and_still_passes(tmp_path):
    from typer.testing import CliRunner

    from intelligentos.cli.main import app

    directory = write_catalog(tmp_path / "c", _two_children(1.0, 0.8))
    result = CliRunner().invoke(app, ["validate", "--catalog", str(directory)])
    assert result.exit_code == 0, result.output
    assert (
        "kpis.toml: kpi.revenue_growth: [weights] warning: Revenue Growth Rate: the weights of "
        "its 2 weighted children sum to 1.8, not 1 (win_rate 1, lead_velocity 0.8)"
    ) in result.output
    assert "passes every governance rule (1 warning above)" in result.output
    clean = CliRunner().invoke(app, ["validate"])
    assert clean.exit_code == 0 and "[weights]" not in clean.output


def test_a_toml_typo_is_reported_alone(tmp_path: Path):
    # A typo in one file of the real catalog: the KPIs it defines go missing, and every
    # reference to them would be a follow-on violation. The typo is the one thing to fix.
    import shutil

    directory = tmp_path / "catalog"
    shutil.copytree(builtin_catalog_dir(), directory)
    path = directory / "kpis" / "finance.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('unit = "percent"', 'unit = "percent', 1), encoding="utf-8")
    violations = check_catalog(directory)
    assert [(v.rule, v.file) for v in violations] == [("syntax", "kpis/finance.toml")]
    with pytest.raises(CatalogError) as raised:
        load_catalog(directory)
    assert len(raised.value.violations) == 1


def test_an_unknown_key_close_to_a_field_offers_it(tmp_path: Path):
    directory = _broken(tmp_path, "kpis.toml", "weight = 0.5", "weight = 0.5\nfrequncy = 1")
    [typo] = [v for v in check_catalog(directory) if v.key == "kpi.win_rate.frequncy"]
    assert typo.message == "Extra inputs are not permitted (did you mean frequency?)"
    far = _broken(tmp_path / "far", "kpis.toml", "weight = 0.5", "weight = 0.5\nzzz = 1")
    [other] = [v for v in check_catalog(far) if v.key == "kpi.win_rate.zzz"]
    assert other.message == "Extra inputs are not permitted"
