"""The suite itself: a child that times out takes what it started with it, the end-of-run
check finds and kills what a run left running, and no test sees the user's configuration."""

from __future__ import annotations

import ast
import collections
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from intelligentos.cli.main import app as cli
from intelligentos.config import paths
from intelligentos.config.settings import CockpitSettings
from intelligentos.config.state import load_state

from .conftest import HOME_VARIABLES, TEST_CONFIG, isolate_from_the_user, the_users
from .processes import (
    RUN_MARK,
    SESSIONS,
    alive,
    communicate,
    kill_leftovers,
    leftovers,
    popen,
    run,
)
from .stores import copy_store

ROOT = Path(__file__).resolve().parent.parent
SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]


def gone(pid: int, timeout: float = 10.0) -> bool:
    """Whether ``pid`` stops running within ``timeout`` seconds (killed processes take a
    moment to go)."""
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


# --- a child that times out --------------------------------------------------------------------

# Starts a grandchild, says its pid, then outlives any test's patience.
GRANDPARENT = f"""
import subprocess, sys, time
grandchild = subprocess.Popen({SLEEPER!r})
print(grandchild.pid, flush=True)
time.sleep(600)
"""


def test_a_child_that_times_out_is_killed_with_its_grandchild():
    process = popen([sys.executable, "-c", GRANDPARENT], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    grandchild = int(process.stdout.readline())
    assert alive(grandchild)
    with pytest.raises(subprocess.TimeoutExpired):
        communicate(process, timeout=0.1)
    assert process.returncode == -signal.SIGKILL
    assert gone(grandchild), "the grandchild outlived its parent's timeout"


def test_run_returns_what_the_child_wrote_and_its_status():
    done = run(
        [sys.executable, "-c", "import sys; print(sys.stdin.read()[::-1]); sys.exit(3)"],
        input="abc",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout) == (3, "cba\n")
    with pytest.raises(subprocess.CalledProcessError):
        run([sys.executable, "-c", "raise SystemExit(3)"], timeout=60, check=True)


# --- what a run leaves running -----------------------------------------------------------------

# Starts a sleeper (in a session of its own with "detach") and exits at once: the sleeper's
# parent is gone, so it no longer descends from the test run.
ORPHANER = f"""
import subprocess, sys
sleeper = subprocess.Popen(
    {SLEEPER!r},
    start_new_session=sys.argv[1] == "detach",
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
)
print(sleeper.pid, flush=True)
"""


@pytest.mark.parametrize(
    ("how", "clue"),
    [
        ("stay", "in the session started by"),
        ("detach", "started by the test run (its environment says so)"),
    ],
)
def test_an_orphan_is_found_by_its_session_and_a_detached_one_by_its_environment(how, clue):
    done = run([sys.executable, "-c", ORPHANER, how], capture_output=True, text=True, timeout=60)
    orphan = int(done.stdout)
    try:
        assert alive(orphan)
        found = leftovers(os.getpid(), SESSIONS, os.environ[RUN_MARK])
        assert orphan in found and clue in found[orphan], found.get(orphan)
        # Found by that clue alone: without it, nothing leads to the orphan.
        assert orphan not in leftovers(os.getpid(), {}, None)
    finally:
        kill_leftovers({orphan: ""})
    assert gone(orphan)


LEAKY_TEST = f"""
import subprocess

def test_leaves_a_process_running():
    sleeper = subprocess.Popen({SLEEPER!r})
    with open({{pid_file!r}}, "w") as out:
        out.write(str(sleeper.pid))
"""


@pytest.mark.slow  # a pytest run of its own, in a new interpreter, with a leaked process
def test_a_run_that_leaves_a_process_running_fails_loudly_and_kills_it(tmp_path):
    pid_file = tmp_path / "sleeper.pid"
    (tmp_path / "conftest.py").write_text(
        "from tests.processes import no_process_left_running, pytest_sessionstart  # noqa: F401\n",
        encoding="utf-8",
    )
    (tmp_path / "test_leaky.py").write_text(
        LEAKY_TEST.format(pid_file=str(pid_file)), encoding="utf-8"
    )
    # Not a worker of this run's (pytest-xdist) nor inside its test: a run of its own.
    outer = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    done = run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_leaky.py"],
        cwd=tmp_path,
        env={**outer, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    sleeper = int(pid_file.read_text())
    assert gone(sleeper, timeout=1.0), "the run ended with its sleeper still running"
    assert "1 passed, 1 error" in done.stdout, done.stdout + done.stderr
    assert done.returncode == pytest.ExitCode.TESTS_FAILED, done.stdout
    assert "The tests left 1 process(es) running; they were killed:" in done.stdout
    assert f"pid {sleeper} (a descendant of the test run)" in done.stdout


# --- the user's configuration --------------------------------------------------------------

SINK = "import sys\nwith open(sys.argv[1], 'a') as out:\n    out.write(sys.stdin.read())\n"


def test_a_users_config_and_environment_never_reach_a_test(today_store, tmp_path, monkeypatch):
    """A user whose config has a command sink and whose environment picks a theme: as the
    test itself would see them without the isolation every test gets, and with it."""
    user_home = tmp_path / "user"
    config = user_home / ".config" / "intelligentos"
    config.mkdir(parents=True)
    called = tmp_path / "sink-called.jsonl"
    script = tmp_path / "sink.py"
    script.write_text(SINK, encoding="utf-8")
    command = json.dumps([sys.executable, str(script), str(called)])
    (config / "config.toml").write_text(
        f"[[notify]]\ncommand = {command}\ndemo = true\n", encoding="utf-8"
    )

    # And a theme and an agent focus the user picked in the cockpit.
    remembered = user_home / ".local" / "state" / "intelligentos" / "state.json"
    remembered.parent.mkdir(parents=True)
    remembered.write_text(
        json.dumps({"theme": {"name": "dracula", "configured": "nord"}, "agent": "cro"}),
        encoding="utf-8",
    )

    def as_the_user() -> None:
        for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HOME", str(user_home))
        monkeypatch.setenv("INTELLIGENTOS_THEME", "nord")

    def check(store: Path) -> None:
        result = CliRunner().invoke(cli, ["check", "--db", str(store)], catch_exceptions=False)
        assert result.exit_code == 1, result.output  # planted alerts fire

    # Without the isolation, the user's sink hears of the planted alerts: the setup can fail.
    as_the_user()
    assert paths.config_dir() == config
    assert paths.state_dir() == remembered.parent
    assert CockpitSettings.load(paths.config_dir()).theme == "dracula"
    assert load_state()[0].agent == "cro"
    check(copy_store(today_store, tmp_path / "as-the-user.db"))
    assert called.exists() and '"schema"' in called.read_text(encoding="utf-8")
    called.unlink()

    isolate_from_the_user(monkeypatch, tmp_path / "isolated")
    assert not paths.config_dir().is_relative_to(user_home)
    assert not paths.default_db_path().is_relative_to(user_home)
    assert not paths.state_dir().is_relative_to(user_home)
    assert CockpitSettings.load(paths.config_dir()).theme is None
    assert load_state()[0].agent is None
    check(copy_store(today_store, tmp_path / "isolated.db"))
    assert not called.exists()


def test_every_test_starts_in_an_empty_home_without_the_users_variables(tmp_path_factory):
    assert not [name for name in os.environ if the_users(name)]
    home = Path(os.environ["HOME"])
    assert home.is_relative_to(tmp_path_factory.getbasetemp()), home
    assert Path.home() == home
    for name in HOME_VARIABLES:
        assert Path(os.environ[name]).is_relative_to(home), name
    config = paths.config_dir() / "config.toml"
    assert [p for p in home.rglob("*") if p.is_file()] == [config]
    assert config.read_text(encoding="utf-8") == TEST_CONFIG


# --- tests use what the product offers, never its insides -------------------------------------

TESTS = Path(__file__).resolve().parent
SOURCE = ROOT / "src" / "intelligentos"
# Private names of other libraries that the suite may use, each for want of a public one:
# the interpreter's own, and Textual's pilot idle check, sampled faster (tests/conftest.py):
# Textual has no setting for it, and the Pilot tests wait for it after every key.
PRIVATE_ALLOWED = {"os._exit", "sys._getframe", "sys._current_frames", "textual._wait"}
# Calls whose string argument names an attribute or a dotted path.
BY_NAME = {"setattr", "getattr", "delattr", "hasattr"}


def private(name: str) -> bool:
    """Whether a name (or a part of a dotted one) is private: a leading underscore, not a
    dunder."""
    return any(p.startswith("_") and not p.endswith("__") for p in name.split(".") if p)


def dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def private_uses(source: str) -> list[str]:
    """Where ``source`` (a test module) reaches into something private: an attribute, an
    import, or a name given as a string to setattr / getattr / monkeypatch.setattr."""
    found: list[tuple[int, int, str]] = []
    for node in ast.walk(ast.parse(source)):
        what = None
        if isinstance(node, ast.Attribute) and private(node.attr):
            what = dotted(node) or f"(...).{node.attr}"
        elif isinstance(node, ast.Import):
            what = next((a.name for a in node.names if private(a.name)), None)
        elif isinstance(node, ast.ImportFrom):
            names = [f"{node.module}.{a.name}" for a in node.names]
            what = next((n for n in names if private(n)), None)
        elif isinstance(node, ast.Call):
            callee = node.func.attr if isinstance(node.func, ast.Attribute) else None
            callee = callee or (node.func.id if isinstance(node.func, ast.Name) else None)
            if callee in BY_NAME:
                strings = [a.value for a in node.args if isinstance(a, ast.Constant)]
                what = next((s for s in strings if isinstance(s, str) and private(s)), None)
        if what and what not in PRIVATE_ALLOWED:
            found.append((node.lineno, node.col_offset, what))
    return [f"line {line}: {what}" for line, _, what in sorted(found)]


def test_no_test_reaches_into_private_attributes():
    offenders = {
        path.name: uses
        for path in sorted(TESTS.rglob("*.py"))
        if (uses := private_uses(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}, "use the public API, or add a small documented one"


def test_the_private_check_catches_what_it_should():
    source = (
        "import textual._wait\n"
        "from textual.widgets._tooltip import Tooltip\n"
        "from intelligentos.domain import forecast\n"
        "from intelligentos.domain.forecast import _Ets\n"
        "n = app._notifications\n"
        "forecast._calibrated(1)\n"
        "monkeypatch.setattr(console, '_width', 80)\n"
        "monkeypatch.setattr('intelligentos.tui.app._later', None)\n"
        "getattr(store, '_readers')\n"
        "os._exit(0); type(x).__name__; x.__class__; f()._cache\n"
    )
    assert [use.split(": ")[1] for use in private_uses(source)] == [
        "textual.widgets._tooltip.Tooltip",
        "intelligentos.domain.forecast._Ets",
        "app._notifications",
        "forecast._calibrated",
        "_width",
        "intelligentos.tui.app._later",
        "_readers",
        "(...)._cache",
    ]


def shipped_for_tests_only(tests: Path, source: Path) -> set[str]:
    """Names the tests import from the package that the package itself never uses: defined
    once and named nowhere else (its ``__init__`` re-exports aside). Such a helper belongs in
    tests/."""
    imported = set()
    for path in tests.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("intelligentos"):
                imported.update((node.module, alias.name) for alias in node.names)
    texts = [p.read_text(encoding="utf-8") for p in source.rglob("*.py") if p.name != "__init__.py"]
    words = collections.Counter(w for text in texts for w in re.findall(r"\w+", text))
    modules = {m for m, _ in imported}
    return {
        f"{module}.{name}"
        for module, name in imported
        if words[name] <= 1 and f"{module}.{name}" not in modules
    }


def test_no_test_imports_what_the_package_ships_only_for_tests():
    assert shipped_for_tests_only(TESTS, SOURCE) == set()


def test_the_shipped_for_tests_check_catches_a_helper_only_tests_use(tmp_path):
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    (tmp_path / "src" / "pkg" / "used.py").write_text(
        "def helper():\n    return 1\n\n\ndef feature():\n    return 2\n\n\nfeature()\n",
        encoding="utf-8",
    )
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text(
        "from intelligentos.pkg.used import feature, helper\n", encoding="utf-8"
    )
    found = shipped_for_tests_only(tmp_path / "tests", tmp_path / "src")
    assert found == {"intelligentos.pkg.used.helper"}
