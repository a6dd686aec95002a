"""The command line, through Typer's test runner, against real store files."""

from __future__ import annotations

import json
import sqlite3
import sys

import pytest
from typer.testing import CliRunner

from intelligentos.catalog import load_catalog
from intelligentos.cli import app
from intelligentos.paths import builtin_catalog_dir

from .conftest import MINI_CATALOG, write_catalog
from .processes import run as run_process

runner = CliRunner()


def run(*args: str, env: dict | None = None):
    return runner.invoke(app, list(args), env=env, catch_exceptions=False)


def test_init_creates_a_demo_store(tmp_path):
    path = tmp_path / "s.db"
    result = run("init", "--db", str(path), "--end", "2026-11-27")
    assert result.exit_code == 0, result.output
    assert "observations" in result.output
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM observations").fetchone()[0] > 10_000
    assert conn.execute("SELECT count(*) FROM kpis").fetchone()[0] >= 30


def test_init_no_demo_and_force(tmp_path, mini_catalog):
    path = tmp_path / "s.db"
    assert (
        run("init", "--db", str(path), "--catalog", str(mini_catalog), "--no-demo").exit_code == 0
    )
    again = run("init", "--db", str(path), "--catalog", str(mini_catalog))
    assert again.exit_code == 1
    assert "--force" in again.output
    forced = run("init", "--db", str(path), "--catalog", str(mini_catalog), "--force")
    assert forced.exit_code == 0


def test_init_with_a_broken_catalog_writes_nothing(tmp_path):
    files = dict(MINI_CATALOG)
    files["kpis.toml"] = files["kpis.toml"].replace('rolls_up_to = "revenue_growth"\n', "")
    catalog = write_catalog(tmp_path / "c", files)
    result = run("init", "--db", str(tmp_path / "s.db"), "--catalog", str(catalog))
    assert result.exit_code == 1
    assert "kpis.toml: kpi.win_rate: [side-kpi]" in result.output
    assert not (tmp_path / "s.db").exists()


def test_validate_builtin_and_broken(tmp_path):
    ok = run("validate")
    assert ok.exit_code == 0, ok.output
    files = dict(MINI_CATALOG)
    files["kpis.toml"] = files["kpis.toml"].replace('owner_agent = "cro"', 'owner_agent = "cpo"')
    broken = run("validate", "--catalog", str(write_catalog(tmp_path / "c", files)))
    assert broken.exit_code == 1
    assert "kpis.toml: kpi.win_rate.owner_agent: [reference] unknown agent 'cpo'" in broken.output


def test_lineage_reaches_ceo_kpi_and_data_fields_for_every_kpi(demo_store):
    catalog = load_catalog(builtin_catalog_dir())
    for kpi in catalog.kpis.values():
        result = run("lineage", kpi.id, "--db", str(demo_store))
        assert result.exit_code == 0, result.output
        assert kpi.name in result.output
        assert " · " in result.output, kpi.id
        if kpi.rolls_up_to:
            ceo = kpi
            while ceo.rolls_up_to:
                ceo = catalog.kpis[ceo.rolls_up_to]
            assert ceo.name in result.output, kpi.id
        for link in kpi.lineage:
            for field in link.fields:
                assert " · ".join(field.split(".", 2)) in result.output


def test_lineage_unknown_kpi(demo_store):
    result = run("lineage", "nope", "--db", str(demo_store))
    assert result.exit_code == 1
    assert "unknown KPI" in result.output


def test_kpis_table_and_json(demo_store):
    table = run("kpis", "--db", str(demo_store))
    assert table.exit_code == 0
    assert "revenue_grow" in table.output and "Revenue" in table.output
    listing = json.loads(run("kpis", "--db", str(demo_store), "--json").output)
    by_id = {k["id"]: k for k in listing}
    assert by_id["win_rate"]["status"] == "critical"
    assert by_id["revenue_growth"]["level"] == "ceo"
    assert all(k["value"] is not None for k in listing)


def test_commands_refuse_foreign_files_with_one_sentence(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    result = run("kpis", "--db", str(path))
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and "not a SQLite database" in result.output
    assert path.read_text() == "hello"


def test_default_store_is_created_on_first_use(tmp_path):
    target = tmp_path / "home" / "store.db"
    result = run("kpis", "--json", env={"INTELLIGENTOS_DB": str(target)})
    assert result.exit_code == 0
    assert "Created a demo KPI store" in result.output
    assert target.exists()


def test_every_command_has_help():
    for command in ("init", "validate", "lineage", "kpis"):
        result = run(command, "--help")
        assert (result.exit_code == 0 and "--db" in result.output) or command == "validate"


def test_console_script_runs_in_a_subprocess(demo_store):
    result = run_process(
        [sys.executable, "-m", "intelligentos", "kpis", "--json", "--db", str(demo_store)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)


@pytest.mark.parametrize("kpi_name", ["[bold red]Churn[/] \x1b[31m"])
def test_markup_in_names_is_printed_literally(tmp_path, kpi_name):
    files = dict(MINI_CATALOG)
    escaped = kpi_name.replace("\x1b", "\\u001b")
    files["kpis.toml"] = files["kpis.toml"].replace('"Win Rate"', f'"{escaped}"')
    catalog = write_catalog(tmp_path / "c", files)
    path = tmp_path / "s.db"
    assert run("init", "--db", str(path), "--catalog", str(catalog)).exit_code == 0
    result = run("lineage", "win_rate", "--db", str(path))
    assert "[bold red]Churn[/]" in result.output


# --- options given before the command --------------------------------------------------------


def test_db_before_the_command_is_the_store_the_command_uses(demo_store, tmp_path):
    """`intelligentos-tui --db s2.db alerts` must read s2.db, never the default store."""
    default = tmp_path / "default.db"
    env = {"INTELLIGENTOS_DB": str(default)}
    run("check", "--db", str(demo_store), env=env)
    after = runner.invoke(app, ["alerts", "--db", str(demo_store), "--json"], env=env)
    before = runner.invoke(app, ["--db", str(demo_store), "alerts", "--json"], env=env)
    assert before.exit_code == 0, before.output
    assert json.loads(before.stdout) == json.loads(after.stdout) != []
    assert not default.exists()  # the default store was neither created nor used
    kpis = runner.invoke(app, ["--db", str(demo_store), "kpis", "--json"], env=env)
    assert kpis.exit_code == 0 and not default.exists()
    text_file = tmp_path / "text.db"
    text_file.write_text("not a store", encoding="utf-8")
    refused = runner.invoke(app, ["--db", str(text_file), "kpis"], env=env)
    assert refused.exit_code == 1 and "text.db" in refused.output
    assert not default.exists()


def test_db_given_twice_differently_is_an_error(demo_store, tmp_path):
    other = tmp_path / "other.db"
    result = runner.invoke(app, ["--db", str(other), "kpis", "--db", str(demo_store)])
    assert result.exit_code == 1
    assert "--db is given twice" in result.output
    same = runner.invoke(app, ["--db", str(demo_store), "kpis", "--db", str(demo_store)])
    assert same.exit_code == 0, same.output


def test_cockpit_only_options_before_a_command_are_refused(demo_store):
    result = runner.invoke(app, ["--theme", "intelligentos-light", "kpis", "--db", str(demo_store)])
    assert result.exit_code == 1
    assert "--theme applies to the cockpit" in result.output


def test_init_honours_db_before_the_command(tmp_path):
    target = tmp_path / "made.db"
    result = runner.invoke(
        app,
        ["--db", str(target), "init", "--end", "2026-11-27"],
        env={"INTELLIGENTOS_DB": str(tmp_path / "default.db")},
    )
    assert result.exit_code == 0, result.output
    assert target.exists() and not (tmp_path / "default.db").exists()


# --- roll-up weights ----------------------------------------------------------------------


def test_each_level_of_the_roll_up_chain_shows_its_own_weight(demo_store):
    """Activation Rate weighs 0.4 in Feature Adoption, which weighs 0.15 in Revenue Growth;
    Earned Media Mentions weighs 1 in SOV, which weighs 0.3 in Brand Health."""
    wide = {"COLUMNS": "200"}
    activation = run("lineage", "activation_rate", "--db", str(demo_store), env=wide).output
    assert "Feature Adoption %  (feature_adoption, functional · this KPI weighs 0.4)" in activation
    assert "(revenue_growth, ceo · Feature Adoption % weighs 0.15)" in activation
    media = run("lineage", "earned_media_mentions", "--db", str(demo_store), env=wide).output
    assert "(share_of_voice, functional · this KPI weighs 1)" in media
    assert "(brand_health, ceo · Share of Voice (SOV) weighs 0.3)" in media


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kpi", "nope"], "unknown KPI 'nope'"),
        (["--from", "2026-13-45"], "--from must be a date"),
        (["--to", "yesterday"], "--to must be a date"),
    ],
)
def test_export_refuses_an_unknown_kpi_and_invalid_dates(demo_store, args, message):
    result = runner.invoke(app, ["export", "observations", "--db", str(demo_store), *args])
    assert result.exit_code == 1, result.output
    assert message in result.output and result.output.count("Error: ") == 1


def test_kpis_at_80_columns_never_wraps_a_name_inside_a_word(demo_store):
    result = runner.invoke(app, ["kpis", "--db", str(demo_store)], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    words = {w for k in load_catalog(builtin_catalog_dir()).kpis.values() for w in k.name.split()}
    lines = result.output.splitlines()
    for line in lines:
        cells = [c.strip() for c in line.split("│")]
        if len(cells) > 2 and cells[2]:
            for word in cells[2].split():
                assert word in words or (
                    word.rstrip("…") and any(w.startswith(word.rstrip("…")) for w in words)
                ), (word, line)


def test_user_before_the_command_is_who_acknowledges(demo_store):
    run("check", "--db", str(demo_store))
    alerts = json.loads(run("alerts", "--db", str(demo_store), "--json").stdout)
    firing = next(a for a in alerts if a["state"] == "firing")
    result = runner.invoke(
        app,
        ["--user", "carol", "--db", str(demo_store), "ack", str(firing["id"]), "--note", "mine"],
    )
    assert result.exit_code == 0, result.output
    after = json.loads(run("alerts", "--db", str(demo_store), "--json").stdout)
    assert next(a for a in after if a["id"] == firing["id"])["acked_by"] == "carol"
