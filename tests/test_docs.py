"""The README and the documentation site: the README stays a two-minute read with the two
commands CI relies on, the command-line reference covers every command the app has, and the
store's schema page documents every table and column a store has."""

from __future__ import annotations

import importlib.util
import re
import sqlite3
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import typer

from intelligentos.cli.main import app

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
LAUNCH_COMMAND = "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/intelligentos-tui"
TEST_COMMAND = (
    "python3 -m venv .venv && .venv/bin/pip install '.[test]' && .venv/bin/python -m pytest -q"
)


def cli_reference() -> ModuleType:
    path = DOCS / "hooks" / "cli_reference.py"
    spec = importlib.util.spec_from_file_location("cli_reference_hook", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def command_paths(command: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every command of the app by its path of names, read from the click command tree."""
    found = [(path, command)]
    for name, sub in getattr(command, "commands", {}).items():
        if not sub.hidden:
            found += command_paths(sub, (*path, name))
    return found


def sections(markdown: str) -> dict[str, str]:
    """The generated reference's sections, by the command path in their heading."""
    parts = re.split(r"^### `([^`]+)`.*$", markdown, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_the_readme_is_short_and_keeps_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) < 200
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL)
    assert f"{LAUNCH_COMMAND}\n" in blocks
    assert f"{TEST_COMMAND}\n" in blocks
    # CI runs the README's test command verbatim.
    assert TEST_COMMAND in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()


def test_the_readmes_images_and_links_exist() -> None:
    text = README.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [t for t in targets if "://" not in t]
    assert any(t.startswith("screenshots/") for t in local)
    assert any(t.startswith("docs/") for t in local)
    missing = [t for t in local if not (ROOT / t).exists()]
    assert missing == []


def test_the_cli_reference_has_every_command_with_its_options_and_help() -> None:
    root = typer.main.get_command(app)
    rendered = sections(cli_reference().render())
    expected = command_paths(root)
    assert len(expected) > 15  # the app's commands, groups and subcommands
    assert sorted(rendered) == sorted(" ".join(("intelligentos-tui", *p)) for p, _ in expected)
    for path, command in expected:
        section = rendered[" ".join(("intelligentos-tui", *path))]
        assert f"Usage: {' '.join(('intelligentos-tui', *path))}" in section
        first_help_line = (command.help or "").strip().splitlines()[0].split(".")[0]
        assert " ".join(first_help_line.split()[:4]) in " ".join(section.split())
        for param in command.params:
            for opt in param.opts if param.param_type_name == "option" else ():
                assert opt in section, (path, opt)


def test_the_cli_reference_follows_the_app() -> None:
    """Rendered from whatever command tree it is given: a new command shows up."""
    extra = typer.Typer(rich_markup_mode=None)

    @extra.command()
    def hello(loud: bool = typer.Option(False, "--loud", help="Shout it")) -> None:
        """Say hello."""

    @extra.command()
    def bye() -> None:
        """Say goodbye."""

    rendered = sections(cli_reference().render(typer.main.get_command(extra)))
    assert set(rendered) >= {"intelligentos-tui hello", "intelligentos-tui bye"}
    assert "--loud" in rendered["intelligentos-tui hello"]
    assert "Shout it" in rendered["intelligentos-tui hello"]


def test_the_store_page_documents_every_table_and_column(demo_store_template: Path) -> None:
    page = (DOCS / "reference" / "store.md").read_text(encoding="utf-8")
    conn = sqlite3.connect(f"file:{demo_store_template}?mode=ro", uri=True)
    try:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        columns = {t: [row[1] for row in conn.execute(f"PRAGMA table_info({t})")] for t in tables}
    finally:
        conn.close()
    assert len(tables) >= 19
    undocumented = [
        f"{table}.{column}"
        for table in tables
        for column in [table, *columns[table]]
        if f"`{column}" not in page
    ]
    assert undocumented == []


@pytest.mark.parametrize("phrase", [r"spec\.md", r"\bthe seed\b"])
def test_the_docs_describe_the_product_not_its_making(phrase: str) -> None:
    pages = [README, *DOCS.rglob("*.md")]
    found = [p.name for p in pages if re.search(phrase, p.read_text(encoding="utf-8"), re.I)]
    assert found == []
