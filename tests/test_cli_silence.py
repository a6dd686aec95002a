"""``silence add``, ``silence list`` and ``silence expire`` on a real store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from intelligentos.cli.main import app
from intelligentos.services.bootstrap import init_store

from .conftest import DEMO_END
from .stores import store_content

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = tmp_path / "s.db"
    init_store(path, end=DEMO_END, demo=False)
    return str(path)


def test_a_silence_is_added_listed_and_expired(db):
    added = run(
        "silence", "add", "--kpi", "win_rate", "--for", "2h", "--note", "CRM move", "--db", db
    )
    assert added.exit_code == 0, added.output
    assert added.output.startswith("Silence 1: kpi win_rate until ")
    [held] = json.loads(run("silence", "list", "--json", "--db", db).stdout)
    assert (held["matcher"], held["value"], held["note"], held["expired_at"]) == (
        "kpi",
        "win_rate",
        "CRM move",
        None,
    )
    assert held["who"]  # the acting user
    assert run("silence", "expire", "1", "--db", db).output == "Silence 1 expired.\n"
    assert json.loads(run("silence", "list", "--json", "--db", db).stdout) == []
    [gone] = json.loads(run("silence", "list", "--all", "--json", "--db", db).stdout)
    assert gone["expired_at"] is not None and gone["until"] == gone["expired_at"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--for", "2h", "--note", "x"], "silence one thing"),
        (["--kpi", "win_rate", "--rule", "drift", "--for", "2h", "--note", "x"], "one thing"),
        (["--kpi", "nope", "--for", "2h", "--note", "x"], "unknown kpi 'nope'"),
        (["--rule", "bogus", "--for", "2h", "--note", "x"], "unknown rule 'bogus'; known: target"),
        (["--kpi", "win_rate", "--for", "2h", "--note", "  "], "a note is required"),
        (["--kpi", "win_rate", "--note", "x"], "--for 2h or --until"),
        (["--kpi", "win_rate", "--for", "100d", "--note", "x"], "at most 90 days"),
        (["--kpi", "win_rate", "--until", "tomorrow", "--note", "x"], "is not a time"),
    ],
)
def test_a_bad_silence_is_one_sentence_and_writes_nothing(db, args, expected):
    before = store_content(Path(db))
    result = run("silence", "add", *args, "--db", db)
    assert result.exit_code == 1
    assert expected in result.output
    assert store_content(Path(db)) == before


def test_overlapping_silences_are_refused(db):
    assert (
        run(
            "silence", "add", "--kpi", "win_rate", "--for", "2h", "--note", "a", "--db", db
        ).exit_code
        == 0
    )
    again = run("silence", "add", "--kpi", "win_rate", "--for", "1h", "--note", "b", "--db", db)
    assert again.exit_code == 1
    assert (
        "kpi win_rate is already silenced until" in again.output and "(silence 1)" in again.output
    )
    # Another KPI is another thing.
    assert (
        run("silence", "add", "--kpi", "nrr", "--for", "1h", "--note", "c", "--db", db).exit_code
        == 0
    )
    # Once expired, the KPI may be silenced again.
    run("silence", "expire", "1", "--db", db)
    assert (
        run(
            "silence", "add", "--kpi", "win_rate", "--for", "1h", "--note", "d", "--db", db
        ).exit_code
        == 0
    )
    assert run("silence", "expire", "1", "--db", db).exit_code == 1  # already ended
