"""House rules enforced as tests: only the UI layer imports Textual, only the store writes
SQL, and workers hand results to the UI by messages."""

from __future__ import annotations

import ast
from pathlib import Path

import intelligentos

PACKAGE = Path(intelligentos.__file__).parent
# The UI layer: the Textual app and its screens, and the command line that launches it.
UI_LAYER = ("tui/", "cli.py", "__main__.py")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def package_modules(root: Path = PACKAGE) -> list[Path]:
    return sorted(root.rglob("*.py"))


def textual_outside_the_ui(root: Path) -> dict[str, set[str]]:
    """Modules outside the UI layer that import Textual, with what they import."""
    offenders = {}
    for path in package_modules(root):
        relative = path.relative_to(root).as_posix()
        if relative.startswith(UI_LAYER[0]) or relative in UI_LAYER[1:]:
            continue
        bad = {m for m in imported_modules(path) if m.split(".")[0] == "textual"}
        if bad:
            offenders[relative] = bad
    return offenders


def test_only_the_ui_layer_imports_textual():
    names = {p.name for p in package_modules()}
    # The check walks the package: new domain, store and service modules are covered.
    assert {"alerts.py", "check.py", "snapshots.py", "store.py"} <= names
    assert textual_outside_the_ui(PACKAGE) == {}


def test_the_check_catches_a_textual_import_outside_the_ui(tmp_path):
    (tmp_path / "tui").mkdir()
    (tmp_path / "services").mkdir()
    (tmp_path / "cockpit.py").write_text("from textual.widget import Widget\n", encoding="utf-8")
    (tmp_path / "services" / "x.py").write_text("import textual.app\n", encoding="utf-8")
    (tmp_path / "tui" / "app.py").write_text("import textual\n", encoding="utf-8")
    assert set(textual_outside_the_ui(tmp_path)) == {"cockpit.py", "services/x.py"}


def test_only_the_store_writes_sql():
    keywords = ("CREATE TABLE", "INSERT INTO", "SELECT ", "UPDATE ", "DELETE FROM")
    offenders = []
    for path in package_modules():
        if "store" in path.relative_to(PACKAGE).parts:
            continue
        text = path.read_text(encoding="utf-8")
        offenders += [f"{path.name}: {k}" for k in keywords if k in text]
    assert not offenders


def sqlite_outside_the_store(root: Path) -> dict[str, set[str]]:
    """Modules outside the store package that import sqlite3 (or a wrapper of it)."""
    offenders = {}
    for path in package_modules(root):
        relative = path.relative_to(root).as_posix()
        if relative.startswith("store/"):
            continue
        bad = {m for m in imported_modules(path) if m.split(".")[0] in {"sqlite3", "sqlite_utils"}}
        if bad:
            offenders[relative] = bad
    return offenders


def test_only_the_store_imports_sqlite():
    """Database errors are the store's own (:class:`StoreError`) past its boundary: nothing
    else needs sqlite3, not even to catch its errors."""
    assert sqlite_outside_the_store(PACKAGE) == {}


def test_the_check_catches_a_sqlite_import_outside_the_store(tmp_path):
    (tmp_path / "store").mkdir()
    (tmp_path / "tui").mkdir()
    (tmp_path / "store" / "store.py").write_text("import sqlite3\n", encoding="utf-8")
    (tmp_path / "tui" / "app.py").write_text("from sqlite3 import Error\n", encoding="utf-8")
    (tmp_path / "launch.py").write_text("import sqlite3\n", encoding="utf-8")
    assert set(sqlite_outside_the_store(tmp_path)) == {"tui/app.py", "launch.py"}


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
