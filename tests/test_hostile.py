"""Broken and hostile inputs: a clear message, exit 1, and a store that is not touched.

Every file in ``tests/corpus/`` (except the few listed in ``VALID``) must be refused by
``import`` with ``file:row:column: message`` lines, no traceback, no raw terminal control
characters, and a store whose bytes are unchanged. Hostile *store* files (other applications'
databases in ``tests/corpus/stores``, files that are no database, and a few built here from a
real store) must be refused by every command with one sentence.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

import intelligentos
from intelligentos.cli.main import app
from intelligentos.store import Store, StoreError

from .stores import copy_store, overwrite, settled_copy, store_content

CORPUS = Path(__file__).parent / "corpus"
STORES = CORPUS / "stores"
VALID = {"bom_utf8.csv"}  # hostile-looking but valid: must import
HOSTILE_INPUTS = sorted(p.name for p in CORPUS.iterdir() if p.is_file() and p.name not in VALID)
# file:row:column, file:row (a whole row) or file (the whole file); a file is a path.
PROBLEM_LINE = re.compile(
    r"^(?P<file>[^:]*/[^:]*)(?::(?P<row>\d+)(?::(?P<column>[^:]+))?)?: (?P<message>\S.*)$"
)

runner = CliRunner()


@pytest.fixture
def store(demo_store: Path) -> Path:
    """The demo store after a first open. ``create_store`` leaves a rollback-journal file and
    the first ``Store.open`` switches it to WAL (header bytes 18-19), so hash a used store."""
    Store.open(demo_store).close()
    return demo_store


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=True)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def observation_count(path: Path) -> int:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT count(*) FROM observations").fetchone()[0]
    finally:
        conn.close()


def assert_clean_failure(result, status: int = 1) -> None:
    """Exit ``status`` (``check``'s is 2) through a handled error: no traceback, no raw
    ESC/BEL, an Error: sentence."""
    assert result.exit_code == status, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output
    assert "\x1b" not in result.output and "\x07" not in result.output, repr(result.output)
    assert result.output.count("Error: ") == 1, result.output


def test_the_corpus_is_big_enough():
    stores = [p for p in STORES.iterdir() if p.is_file()]
    assert len(HOSTILE_INPUTS) >= 30, HOSTILE_INPUTS
    assert len(stores) + len(NOT_DATABASES) >= 5
    assert all(p.stat().st_size < 20_000 for p in CORPUS.rglob("*") if p.is_file())
    # .gitignore drops *.db and *.sqlite*: store files use another suffix so they are committed
    assert not [p for p in CORPUS.rglob("*") if p.suffix in (".db", ".sqlite", ".sqlite3")]


@pytest.mark.parametrize("name", HOSTILE_INPUTS)
def test_hostile_input_is_refused_and_the_store_is_untouched(name, store):
    path = CORPUS / name
    before, count = store_content(store), observation_count(store)
    result = invoke("import", str(path), "--db", str(store))
    assert_clean_failure(result)
    problems = [m for m in map(PROBLEM_LINE.match, result.output.splitlines()) if m]
    assert problems, result.output
    assert all(m["file"] == str(path) for m in problems), result.output
    assert "nothing was imported" in result.output
    assert store_content(store) == before
    assert observation_count(store) == count


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_corpus_files_import(name, store):
    result = invoke("import", str(CORPUS / name), "--db", str(store))
    assert result.exit_code == 0, result.output
    assert "1 was inserted" in result.output


def test_control_characters_are_shown_as_visible_escapes(store):
    result = invoke("import", str(CORPUS / "osc_title.csv"), "--db", str(store))
    assert r"\x1b]0;pwned\x07" in result.output
    markup = invoke("import", str(CORPUS / "markup_kpi_id.csv"), "--db", str(store))
    assert "'[bold red]x[/]'" in markup.output  # markup printed literally, not rendered
    assert r"\x1b[31mred" in markup.output
    key = invoke("import", str(CORPUS / "escape_in_key.jsonl"), "--db", str(store))
    assert r":\x1b]0;pwned\x07: unexpected field" in key.output


def test_a_hostile_file_name_is_printed_literally(store, tmp_path):
    evil = tmp_path / "evil\x1b]0;pwned\x07[red].csv"
    evil.write_text("kpi_id,period,value\nnope,2026-01-01,1\n", encoding="utf-8")
    result = invoke("import", str(evil), "--db", str(store))
    assert_clean_failure(result)
    assert r"evil\x1b]0;pwned\x07[red].csv:2:kpi_id: unknown KPI id 'nope'" in result.output


def test_more_than_fifty_problems_are_cut_with_a_count(store, tmp_path):
    path = tmp_path / "many.csv"
    rows = "".join(f"nope_{i},2026-01-01,{i}\n" for i in range(120))
    path.write_text("kpi_id,period,value\n" + rows, encoding="utf-8")
    before = store_content(store)
    result = invoke("import", str(path), "--db", str(store))
    assert_clean_failure(result)
    lines = result.output.splitlines()
    problems = [line for line in lines if PROBLEM_LINE.match(line)]
    assert len(problems) == 50
    assert problems[0].endswith("unknown KPI id 'nope_0'")
    assert problems[-1].endswith("unknown KPI id 'nope_49'")
    assert "… and 70 more problems" in lines
    assert "Error: 120 problems; nothing was imported." in lines
    assert store_content(store) == before


# --- hostile store files -------------------------------------------------------------------

COMMANDS = [
    ("kpis",),
    ("check",),
    ("alerts",),
    ("import", str(CORPUS / "bom_utf8.csv")),
    ("lineage", "arr"),
]


def _page_of(store: Path, table: str) -> tuple[int, int]:
    conn = sqlite3.connect(store)
    try:
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)
        ).fetchone()[0]
    finally:
        conn.close()
    return size, root


DEAD = b"\xde\xad\xbe\xef"  # what damage writes

# Files that are not SQLite databases at all, handed to the commands as stores. Written here,
# not copied: only SQLite's backup API copies a store (the corpus holds the foreign databases).
NOT_DATABASES = {
    "empty": b"",
    "html_page": b"<!doctype html><html><body>404</body></html>\n",
    "text_file": b"This is a shopping list, not a database.\nmilk\neggs\n",
    "sqlite_header_only": b"SQLite format 3\x00" + b"\xff" * 84,
}


def make_store_file(kind: str, store: Path, tmp_path: Path) -> Path:
    target = tmp_path / "hostile" / "store.db"
    target.parent.mkdir()
    if kind.startswith("corpus:"):
        # Another application's database: copied as any database is, with the backup API.
        copy_store(STORES / kind.removeprefix("corpus:"), target)
    elif kind.startswith("not-a-database:"):
        target.write_bytes(NOT_DATABASES[kind.removeprefix("not-a-database:")])
    elif kind == "newer_user_version":
        copy_store(store, target)
        conn = sqlite3.connect(target)
        conn.execute("PRAGMA user_version = 99")
        conn.commit()
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.close()
    elif kind == "truncated_store":
        os.truncate(settled_copy(store, target), 4096)
    elif kind == "corrupted_kpis_page":
        size, root = _page_of(store, "kpis")
        overwrite(settled_copy(store, target), (root - 1) * size, DEAD * (size // 4))
    elif kind == "missing_directory":
        target = tmp_path / "no" / "such" / "dir" / "store.db"
    elif kind == "directory":
        target = target.parent
    else:  # pragma: no cover
        raise AssertionError(kind)
    return target


def tree_digest(path: Path) -> dict[str, str]:
    if path.is_file():
        return {path.name: sha256(path)}
    if path.is_dir():
        return {p.name: sha256(p) for p in sorted(path.iterdir()) if p.is_file()}
    return {}


STORE_KINDS = [
    *(f"corpus:{p.name}" for p in sorted(STORES.iterdir()) if p.is_file()),
    *(f"not-a-database:{name}" for name in NOT_DATABASES),
    "newer_user_version",
    "truncated_store",
    "corrupted_kpis_page",
    "missing_directory",
    "directory",
]


@pytest.mark.parametrize("kind", STORE_KINDS)
def test_every_command_refuses_a_hostile_store_with_one_sentence(kind, store, tmp_path):
    target = make_store_file(kind, store, tmp_path)
    before = tree_digest(target)
    for command in COMMANDS:
        result = invoke(*command, "--db", str(target))
        assert_clean_failure(result, 2 if command == ("check",) else 1)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), (command, result.output)
        assert lines[0].rstrip().endswith((".", ")")), lines[0]
        assert tree_digest(target) == before, (kind, command)
    if kind == "missing_directory":
        assert not target.parent.exists()


def test_import_refuses_a_store_damaged_in_the_middle(store, tmp_path):
    """Corruption in a page the command does not need may go unnoticed by read-only
    commands, but nothing may be written into a damaged file."""
    target = settled_copy(store, tmp_path / "damaged.db")
    overwrite(target, target.stat().st_size // 2, DEAD * 1024)
    before = sha256(target)
    result = invoke("import", str(CORPUS / "bom_utf8.csv"), "--db", str(target))
    assert_clean_failure(result)
    assert "damaged" in result.output
    assert sha256(target) == before
    for command in COMMANDS:
        result = invoke(*command, "--db", str(target))
        assert result.exit_code in (0, 1, 2)
        assert "Traceback" not in result.output
        assert sha256(target) == before, command


# --- SQL is parameterised everywhere outside the schema module ---------------------------

PACKAGE = Path(intelligentos.__file__).parent
SQL_METHODS = {"execute", "executemany", "executescript", "query"}
# Known, reported offenders in store.py (not ours to edit); each interpolates a module-level
# constant or a fixed table name, never user data. Move them into schema.py and drop them here.
ALLOWED: set[tuple[str, str]] = set()


def _formatted(node: ast.expr) -> bool:
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.BinOp):
        return (isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant)) or (
            isinstance(node.op, ast.Add) and (_formatted(node.left) or _formatted(node.right))
        )
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr == "format" and isinstance(node.func.value, ast.Constant)
    return False


def formatted_sql_calls(path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in SQL_METHODS
            and node.args
            and _formatted(node.args[0])
        ):
            found.append(ast.get_source_segment(source, node) or ast.dump(node))
    return found


def test_the_scan_catches_string_formatted_sql(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "conn.execute(f'DELETE FROM {t}')\n"
        "conn.execute('SELECT %s' % x)\n"
        "conn.execute('SELECT {}'.format(x))\n"
        "conn.executemany(f'INSERT INTO {t} VALUES (?)', rows)\n"
        "store.query('SELECT ' + f'{x}')\n"
        "conn.execute('SELECT ?', (x,))\n"
        "conn.execute(CONSTANT[t])\n",
        encoding="utf-8",
    )
    assert len(formatted_sql_calls(sample)) == 5


def test_no_string_formatted_sql_outside_the_schema_module():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative == "store/schema.py":
            continue
        offenders += [
            f"{relative}: {call}"
            for call in formatted_sql_calls(path)
            if (relative, call) not in ALLOWED
        ]
    assert not offenders, "\n".join(offenders)


def test_check_with_a_sink_never_writes_into_a_damaged_store(store, tmp_path, monkeypatch):
    """A configured sink's watermark is a write: the damage is found before it, and the
    message that says the file was left untouched is true."""
    from intelligentos.config.paths import config_dir

    monkeypatch.setenv("INTELLIGENTOS_CONFIG_DIR", str(tmp_path / "config"))
    config_dir().mkdir()
    out = tmp_path / "delivered.jsonl"
    sink = ["/bin/sh", "-c", f"cat >> {out}"]
    (config_dir() / "config.toml").write_text(
        f"[[notify]]\ncommand = {json.dumps(sink)}\n", encoding="utf-8"
    )
    copy = copy_store(store, tmp_path / "checkpointed.db")
    conn = sqlite3.connect(copy)
    try:
        # Everything in the main file, nothing left in a WAL beside it.
        assert conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    finally:
        conn.close()
    data = bytearray(copy.read_bytes())
    middle = pages // 2 * page_size
    assert middle >= page_size  # not page 1, the header SQLite reads on open
    data[middle : middle + 4096] = b"\xde\xad\xbe\xef" * 1024
    target = tmp_path / "dmg.db"
    target.write_bytes(bytes(data))
    before = sha256(target)

    result = invoke("check", "--db", str(target))

    assert_clean_failure(result, status=2)
    assert "damaged" in result.output
    assert "nothing was written and the file was left untouched" in result.output
    assert sha256(target) == before
    assert not out.exists()


def test_the_first_write_into_a_damaged_store_is_refused_before_it_happens(store, tmp_path):
    """Whatever writes first (here a meta key, as a sink's watermark is), the store checks
    the file before it; a store only read never pays for the check."""
    target = settled_copy(store, tmp_path / "damaged.db")
    # A page a third into the file: old observations of the demo store, none of them a KPI's
    # latest (what `kpis` reads).
    overwrite(target, target.stat().st_size // 3 // 4096 * 4096, DEAD * 1024)
    before = sha256(target)
    with Store.open(target) as opened:
        for _ in range(2):
            with (
                pytest.raises(StoreError, match="nothing was written and the file was left"),
                opened.transaction(),
            ):
                opened.set_meta("notify.after:probe", "1")
    assert sha256(target) == before


def test_a_damaged_store_in_rollback_mode_is_read_but_never_switched_to_wal(store, tmp_path):
    """A store another tool left in rollback-journal mode: opening it would switch it to
    WAL (a header write). Damaged, it is left as it is: read commands read what they can,
    and writing ones are refused, saying nothing was written."""
    copy = copy_store(store, tmp_path / "rollback.db")
    conn = sqlite3.connect(copy)
    try:
        assert conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0] == "delete"
    finally:
        conn.close()
    data = bytearray(copy.read_bytes())
    assert data[18:20] == b"\x01\x01"  # the header says rollback journal
    # A page a third into the file: old observations of the demo store, none of them a KPI's
    # latest (what `kpis` reads).
    middle = len(data) // 3 // 4096 * 4096
    data[middle : middle + 4096] = b"\xde\xad\xbe\xef" * 1024
    target = tmp_path / "damaged.db"
    target.write_bytes(bytes(data))
    before = sha256(target)
    listed = invoke("kpis", "--db", str(target), "--json")
    assert listed.exit_code == 0, listed.output
    assert sha256(target) == before
    checked = invoke("check", "--db", str(target))
    assert_clean_failure(checked, status=2)
    assert "nothing was written and the file was left untouched" in checked.output
    assert sha256(target) == before
