"""House rules enforced as tests: the import contracts (layers, no cycles), only the store
writes SQL, and workers hand results to the UI by messages."""

from __future__ import annotations

import ast
from pathlib import Path

import intelligentos

PACKAGE = Path(intelligentos.__file__).parent
PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def package_modules(root: Path = PACKAGE) -> list[Path]:
    return sorted(root.rglob("*.py"))


def test_the_import_contracts_hold(capsys):
    """The layers, no import cycles at any level, a pure domain, sqlite3 in the store alone
    and no Textual or Typer below the UI: import-linter's contracts in pyproject.toml."""
    from importlinter.cli import lint_imports

    status = lint_imports(config_filename=str(PYPROJECT), no_cache=True, no_logo=True)
    assert status == 0, capsys.readouterr().out


def test_only_the_store_writes_sql():
    keywords = ("CREATE TABLE", "INSERT INTO", "SELECT ", "UPDATE ", "DELETE FROM")
    offenders = []
    for path in package_modules():
        if "store" in path.relative_to(PACKAGE).parts:
            continue
        text = path.read_text(encoding="utf-8")
        offenders += [f"{path.name}: {k}" for k in keywords if k in text]
    assert not offenders


def test_workers_post_messages_instead_of_calling_into_the_ui():
    """``call_from_thread`` runs code on the event loop from a worker: results go through
    typed messages instead, so a handler can drop stale ones."""
    offenders = [
        path.relative_to(PACKAGE).as_posix()
        for path in package_modules()
        if "call_from_thread" in path.read_text(encoding="utf-8")
    ]
    assert not offenders


def classes_starting_workers(root: Path = PACKAGE) -> list[tuple[str, str]]:
    """(module, class) of every class of the UI with a method decorated with ``@work``."""
    found = []
    for path in package_modules(root / "tui"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        module = "intelligentos." + ".".join(path.relative_to(root).with_suffix("").parts)
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            for item in node.body:
                if not isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for decorator in item.decorator_list:
                    target = decorator.func if isinstance(decorator, ast.Call) else decorator
                    if isinstance(target, ast.Name) and target.id == "work":
                        found.append((module, node.name))
    return sorted(set(found))


def workers_run_on_other_nodes(root: Path = PACKAGE) -> list[str]:
    """``module:line`` of every ``run_worker`` call of the UI not made on the app (the app's
    controllers start their workers on it: ``self.app.run_worker`` or ``app.run_worker``)."""
    found = []
    for path in package_modules(root / "tui"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and node.attr == "run_worker"):
                continue
            owner = node.value
            on_app = (isinstance(owner, ast.Name) and owner.id == "app") or (
                isinstance(owner, ast.Attribute) and owner.attr == "app"
            )
            if not on_app:
                found.append(f"{path.relative_to(root).as_posix()}:{node.lineno}")
    return found


def test_every_node_that_starts_workers_reports_their_failures():
    """A worker's state changes go to the node that started it and do not bubble: each such
    node hands a failure to the app, which tells the user."""
    import importlib

    from intelligentos.tui.app import CockpitApp
    from intelligentos.tui.base import ReportsFailedWorkers

    found = classes_starting_workers()
    assert len(found) >= 5
    missing = [
        f"{module}.{name}"
        for module, name in found
        if not issubclass(getattr(importlib.import_module(module), name), ReportsFailedWorkers)
    ]
    assert missing == []
    # The controllers' workers are the app's, and the app reports them too.
    assert issubclass(CockpitApp, ReportsFailedWorkers)
    assert workers_run_on_other_nodes() == []


def test_the_check_finds_a_worker_started_on_another_node(tmp_path):
    (tmp_path / "tui").mkdir()
    (tmp_path / "tui" / "x.py").write_text(
        "def f(self, app):\n    app.run_worker(f)\n    self.app.run_worker(f)\n"
        "    self.screen.run_worker(f)\n",
        encoding="utf-8",
    )
    assert workers_run_on_other_nodes(tmp_path) == ["tui/x.py:4"]
