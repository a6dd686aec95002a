"""The command line starts quickly: loading it, and running a command that reads the store,
import only what they use. Checked by the modules imported, not by a wall-clock bound (which a
busy machine would break); `benchmarks/run.py` times the command from outside."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from intelligentos.cli import render
from tests.processes import run

_LOADED = """
import json, sys
import intelligentos.cli.main
print(json.dumps(sorted(sys.modules)))
"""

# A command run as the entry point runs it; the modules it imported go to the file named
# first, whatever the command's exit.
_RAN = """
import json, sys
from pathlib import Path
from intelligentos.launch import main
target, sys.argv = Path(sys.argv[1]), ["intelligentos-tui", *sys.argv[2:]]
try:
    main()
finally:
    target.write_text(json.dumps(sorted(sys.modules)))
"""

# What every command, and --help, would pay for if loading the command line imported it (tens
# of milliseconds each, most of them): validation (pydantic, pydantic-settings and the
# python-dotenv it imports, Typer's pydantic coercion), the cockpit, forecasting, spreadsheets,
# Markdown, the terminal renderer, and the store, the services, the config and the command
# line's output, which a command's module imports inside the command, when it runs.
NOT_ON_LOADING = (
    "pydantic",
    "pydantic_core",
    "pydantic_settings",
    "dotenv",
    "typer._adapters",
    "textual",
    "statsmodels",
    "numpy",
    "pandas",
    "scipy",
    "openpyxl",
    "markdown_it",
    "rich",
    "sqlite3",
    "sqlite_utils",
    "intelligentos.store",
    "intelligentos.services",
    "intelligentos.config",
    "intelligentos.cli.render",
    "intelligentos.tui.app",
)

# What a command that only reads the store and prints it does not need: no setting is read
# (the store's path is not a setting), no value is validated by pydantic, nothing is
# evaluated, forecast or notified, and JSON to a pipe is not coloured.
NOT_FOR_A_READ = (
    "pydantic",
    "pydantic_core",
    "pydantic_settings",
    "dotenv",
    "typer._adapters",
    "textual",
    "statsmodels",
    "numpy",
    "pandas",
    "scipy",
    "openpyxl",
    "markdown_it",
    "rich.json",
    "intelligentos.config.settings",
    "intelligentos.services.check",
    "intelligentos.services.forecast",
    "intelligentos.services.notify",
    "intelligentos.services.catalog",
    "intelligentos.domain.forecast",
    "intelligentos.tui.app",
)


def imported(modules: list[str], names: tuple[str, ...]) -> list[str]:
    """The packages and modules of ``names`` that are among ``modules`` (a package counts
    when any of its modules is)."""
    return sorted({n for n in names for m in modules if m == n or m.startswith(n + ".")})


def test_loading_the_command_line_imports_none_of_the_heavy_modules():
    result = run(
        [sys.executable, "-c", _LOADED], capture_output=True, text=True, check=True, timeout=120
    )
    assert imported(json.loads(result.stdout), NOT_ON_LOADING) == []


@pytest.mark.parametrize(
    "command",
    [
        ["kpis", "--json"],
        ["kpis"],
        ["lineage", "revenue_growth"],
        ["whatif", "win_rate+=1", "--json"],
        ["alerts", "--json"],
    ],
)
def test_a_read_command_imports_only_what_it_uses(demo_store: Path, tmp_path: Path, command):
    modules = tmp_path / "modules.json"
    result = run(
        [sys.executable, "-c", _RAN, str(modules), "--db", str(demo_store), *command],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert imported(json.loads(modules.read_text()), NOT_FOR_A_READ) == []


def test_a_bad_value_is_still_worded_by_typer(demo_store: Path, tmp_path: Path):
    """A value the quick coercion does not take goes to Typer's, which says what is wrong."""
    modules = tmp_path / "modules.json"
    result = run(
        [sys.executable, "-c", _RAN, str(modules), "--db", str(demo_store), "ack", "x1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "Invalid value for 'alert_id': Input should be a valid integer" in result.stderr


def test_json_to_a_pipe_is_what_rich_prints(capsys):
    """JSON to a file or a pipe is written directly: the same text as Rich's."""
    document = {
        "text": 'Café ☕ — “quoted” \\ / "',
        "controls": "tab\tbell\x07cr\rnl\ndel\x7fsep\u2028",
        "numbers": [float("nan"), float("inf"), -0.0, 1e-300, 0.1 + 0.2, 12345678901234567890],
        1: "a key that is not a string",
        "nested": {"empty": [], "none": None, "flag": True, "pair": (1, 2.5), "map": {}},
        "long": "x" * 500,
    }
    expected = io.StringIO()
    console = render.CliConsole(
        file=expected, color_system=render.out.color_system, highlight=False, soft_wrap=True
    )
    console.print_json(json.dumps(document))
    render.print_json(document)
    assert capsys.readouterr().out == expected.getvalue()
