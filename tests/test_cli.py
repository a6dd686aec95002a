"""The command line, through Typer's test runner, against real store files."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from intelligentos.cli.main import app
from intelligentos.config.paths import builtin_catalog_dir
from intelligentos.services.catalog import load_catalog
from intelligentos.store import Store, StoreError

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


@pytest.mark.parametrize(
    "command",
    [
        ["check"],
        ["alerts"],
        ["kpis", "--json"],
        ["forecast"],
        ["brief"],
        ["lineage", "win_rate"],
        ["ack", "1", "--note", "mine"],
        ["snooze", "1", "--for", "1h"],
        ["import", "rows.csv"],
        ["export", "observations"],
        ["sync-catalog"],
        ["whatif", "win_rate+=1"],
    ],
)
def test_only_the_cockpit_creates_the_default_store(tmp_path, command):
    target = tmp_path / "home" / "store.db"
    result = run(*command, env={"INTELLIGENTOS_DB": str(target)})
    assert result.exit_code in (1, 2)  # check: 2, a store error (see its own test)
    message = " ".join(result.output.split())
    assert message.startswith(f"Error: there is no KPI store at {target}")
    assert "intelligentos-tui init" in message
    assert "Created" not in message
    assert not target.exists() and not target.parent.exists()


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
    """On an 80-column terminal (a file or a pipe has no width: see below)."""
    output = run_beside_a_terminal(["kpis", "--db", str(demo_store)], stdout_is_the_terminal=True)
    words = {w for k in load_catalog(builtin_catalog_dir()).kpis.values() for w in k.name.split()}
    # The title names the store's path, which is as long as the test's temporary directory.
    lines = [line for line in output.splitlines() if not line.startswith("KPIs in ")]
    assert max(len(line) for line in lines) <= 80
    assert any("│ health_score " in line for line in lines)
    for line in lines:
        cells = [c.strip() for c in line.split("│")]
        if len(cells) > 2 and cells[2]:
            for word in cells[2].split():
                assert word in words or (
                    word.rstrip("…") and any(w.startswith(word.rstrip("…")) for w in words)
                ), (word, line)


def test_user_before_the_command_is_who_acknowledges(demo_store):
    run("check", "--db", str(demo_store))
    alerts = json.loads(run("alerts", "--db", str(demo_store), "--json").stdout)["alerts"]
    firing = next(a for a in alerts if a["state"] == "firing")
    result = runner.invoke(
        app,
        ["--user", "carol", "--db", str(demo_store), "ack", str(firing["id"]), "--note", "mine"],
    )
    assert result.exit_code == 0, result.output
    after = json.loads(run("alerts", "--db", str(demo_store), "--json").stdout)["alerts"]
    assert next(a for a in after if a["id"] == firing["id"])["acked_by"] == "carol"


# --- exports to a file: atomic, and with the user's mode -----------------------------------


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".partial"))


def test_an_export_that_fails_midway_leaves_the_old_file_and_no_partial(
    demo_store, tmp_path, monkeypatch
):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "obs.csv"
    out.write_text("the previous export\n", encoding="utf-8")
    whole = Store.iter_observations

    def fails_after_a_few_rows(self, *args, **kwargs):
        yield from itertools.islice(whole(self, *args, **kwargs), 7)
        raise StoreError("the store went away mid-export")

    monkeypatch.setattr(Store, "iter_observations", fails_after_a_few_rows)
    result = runner.invoke(
        app, ["export", "observations", "--db", str(demo_store), "--out", str(out)]
    )
    assert result.exit_code == 1, result.output
    assert "Error: the store went away mid-export" in result.output
    assert out.read_text(encoding="utf-8") == "the previous export\n"
    assert leftovers(out_dir) == []


def test_an_export_to_a_missing_directory_is_one_sentence(demo_store, tmp_path):
    out = tmp_path / "nowhere" / "obs.csv"
    result = runner.invoke(app, ["export", "alerts", "--db", str(demo_store), "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"Error: cannot write {out}: No such file or directory; nothing was written." in (
        " ".join(result.output.split())
    )
    assert not out.parent.exists()


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.parametrize(
    "command",
    [
        ["brief", "--format", "md"],
        ["export", "observations", "--kpi", "arr"],
        ["export", "alerts"],
    ],
)
@pytest.mark.parametrize(
    ("mask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)], ids=["022", "077", "002"]
)
def test_a_new_export_gets_the_mode_the_umask_gives(demo_store, tmp_path, command, mask, mode):
    out = tmp_path / "export.out"
    with umask(mask):
        result = runner.invoke(app, [*command, "--db", str(demo_store), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == mode
    assert out.stat().st_size > 0 and leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "command", [["brief", "--format", "json"], ["export", "observations", "--kpi", "arr"]]
)
def test_a_replaced_export_keeps_its_mode(demo_store, tmp_path, command):
    out = tmp_path / "export.out"
    out.write_text("old", encoding="utf-8")
    out.chmod(0o640)
    with umask(0o022):
        result = runner.invoke(app, [*command, "--db", str(demo_store), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    assert out.read_text(encoding="utf-8") != "old"


# --- text written to a file or a pipe is never cut -------------------------------------------


def run_beside_a_terminal(
    args: list[str], *, stdout_is_the_terminal: bool, columns: int = 80
) -> str:
    """Run the command line in a subprocess whose standard input and error are an 80-column
    pseudo-terminal, and whose standard output is that terminal too, or a pipe (as with
    ``intelligentos-tui lineage x > out.txt`` typed in a terminal); what it printed."""
    import fcntl
    import pty
    import select
    import signal
    import struct
    import termios

    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env.update(TERM="xterm", NO_COLOR="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "intelligentos", *args],
        stdin=secondary,
        stdout=secondary if stdout_is_the_terminal else subprocess.PIPE,
        stderr=secondary,
        env=env,
        start_new_session=True,
    )
    os.close(secondary)
    shown = bytearray()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            ready, _, _ = select.select([primary], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(primary, 65536)
                except OSError:  # EIO: every holder of the terminal is gone
                    break
                if not chunk:
                    break
                shown += chunk
            elif process.poll() is not None and not stdout_is_the_terminal:
                break
        else:
            raise AssertionError(f"{args} did not finish")
        piped = b"" if process.stdout is None else process.stdout.read()
        assert process.wait(timeout=30) == 0, shown.decode()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        os.close(primary)
    text = (shown if stdout_is_the_terminal else piped).decode("utf-8")
    return re.sub(r"\x1b\[[0-9;]*m", "", text).replace("\r\n", "\n")  # without styles


def test_lineage_redirected_from_a_terminal_is_not_cut_at_its_width(demo_store):
    """`intelligentos-tui lineage activation_rate > out.txt` in an 80-column terminal."""
    text = run_beside_a_terminal(
        ["lineage", "activation_rate", "--db", str(demo_store)], stdout_is_the_terminal=False
    )
    assert "Revenue Growth Rate  (revenue_growth, ceo · Feature Adoption % weighs 0.15)" in text
    assert max(len(line) for line in text.splitlines()) > 80


def test_a_piped_table_keeps_every_column_and_every_cell_whole(demo_store, monkeypatch):
    """Even with COLUMNS=80 in the environment: nobody reads a file at a width."""
    run("check", "--db", str(demo_store))
    result = runner.invoke(app, ["alerts", "--db", str(demo_store)], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    header = next(line for line in result.output.splitlines() if "severity" in line)
    assert [cell.strip() for cell in header.strip("┃ ").split("┃")] == [
        "id", "severity", "state", "subject", "rule", "value", "expected", "deviation",
        "owner", "routed to", "message",
    ]  # fmt: skip
    # Its incident's line, then the alert indented below it.
    lines = [line for line in result.output.splitlines() if "Gross Margin %" in line]
    incident, gross_margin = lines[:2]
    assert "1 alert" in incident and " UTC " in incident  # when it opened
    assert "11.4% adverse to target (warning 3%, critical 6%)" in gross_margin
    assert "CFO Agent (Chief Financial Officer)" in gross_margin


def test_a_piped_kpi_table_shows_a_long_id_whole(tmp_path):
    long_id = "win_rate_of_qualified_enterprise_opportunities"
    files = {name: text.replace("win_rate", long_id) for name, text in MINI_CATALOG.items()}
    catalog = write_catalog(tmp_path / "c", files)
    path = tmp_path / "s.db"
    made = run("init", "--db", str(path), "--catalog", str(catalog))
    assert made.exit_code == 0, made.output
    result = runner.invoke(app, ["kpis", "--db", str(path)], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert any(line.startswith(f"│ {long_id} ") for line in result.output.splitlines())
