"""House rules enforced as tests: the domain and store never import Textual."""

from __future__ import annotations

import ast
from pathlib import Path

import intelligentos

PACKAGE = Path(intelligentos.__file__).parent
PURE_MODULES = ["catalog", "lineage.py", "detection.py", "demo.py", "store", "formatting.py"]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_domain_and_store_never_import_textual():
    checked = 0
    for entry in PURE_MODULES:
        target = PACKAGE / entry
        for path in [target] if target.is_file() else sorted(target.rglob("*.py")):
            checked += 1
            bad = {m for m in imported_modules(path) if m.split(".")[0] == "textual"}
            assert not bad, f"{path} imports {bad}"
    assert checked >= 8


def test_only_the_store_writes_sql():
    keywords = ("CREATE TABLE", "INSERT INTO", "SELECT ", "UPDATE ", "DELETE FROM")
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if "store" in path.relative_to(PACKAGE).parts:
            continue
        text = path.read_text(encoding="utf-8")
        offenders += [f"{path.name}: {k}" for k in keywords if k in text]
    assert not offenders
