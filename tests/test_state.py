"""What the cockpit remembers between runs (the theme picked, the agent focused on): its own
file in the user's state directory, written whole and privately, read forgivingly, and
never config.toml."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from intelligentos.config.first_look import first_look
from intelligentos.config.paths import state_dir
from intelligentos.config.state import (
    Remembered,
    ThemePick,
    load_state,
    parse_state,
    remember_agent,
    remember_theme,
    state_file,
)

POSIX_ONLY = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")


def test_nothing_is_remembered_before_anything_is_picked(tmp_path):
    assert load_state(tmp_path / "state") == (Remembered(), [])
    assert not (tmp_path / "state").exists()


def test_a_picked_theme_and_focus_are_read_back(tmp_path):
    remember_theme("nord", "dracula", tmp_path)
    remember_agent("cro", tmp_path)
    assert load_state(tmp_path) == (Remembered(ThemePick("nord", "dracula"), "cro"), [])
    remember_agent(None, tmp_path)  # focus cleared: the theme stays
    assert load_state(tmp_path) == (Remembered(ThemePick("nord", "dracula")), [])


def test_the_state_directory_is_the_users_and_can_be_moved(tmp_path, monkeypatch):
    # The isolation every test gets points XDG_STATE_HOME into the test's own home.
    xdg = Path(os.environ["XDG_STATE_HOME"])
    assert state_dir() == xdg / "intelligentos"
    assert state_file() == xdg / "intelligentos" / "state.json"
    monkeypatch.setenv("INTELLIGENTOS_STATE_DIR", str(tmp_path / "mine"))
    assert state_dir() == tmp_path / "mine"
    remember_agent("cro")
    assert (tmp_path / "mine" / "state.json").is_file()


@POSIX_ONLY
def test_the_file_is_private_and_replaced_whole(tmp_path):
    directory = tmp_path / "deep" / "state"
    path = remember_theme("nord", None, directory)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    path.chmod(0o644)
    remember_agent("cro", directory)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in directory.iterdir()) == ["state.json"]  # no temp file left


def test_a_failed_write_leaves_the_file_as_it_was(tmp_path):
    remember_theme("nord", None, tmp_path)
    before = state_file(tmp_path).read_bytes()
    (tmp_path / "blocker").write_text("a file, not a directory", encoding="utf-8")
    with pytest.raises(OSError):
        remember_theme("dracula", None, tmp_path / "blocker")
    assert state_file(tmp_path).read_bytes() == before


def test_keys_of_a_newer_version_are_kept(tmp_path):
    state_file(tmp_path).write_text(
        json.dumps({"layout": {"split": 0.4}, "agent": "cro"}), encoding="utf-8"
    )
    remember_theme("nord", None, tmp_path)
    document = json.loads(state_file(tmp_path).read_text(encoding="utf-8"))
    assert document == {
        "layout": {"split": 0.4},
        "agent": "cro",
        "theme": {"name": "nord", "configured": None},
    }
    assert load_state(tmp_path) == (Remembered(ThemePick("nord"), "cro"), [])


# --- a damaged file costs only what is damaged ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        ('"nord"', "not a JSON object"),
        ("", "not valid JSON"),
    ],
)
def test_a_file_that_is_not_a_json_object_remembers_nothing(text, says):
    remembered, problems = parse_state(text, "/s/state.json")
    assert remembered == Remembered()
    assert len(problems) == 1 and says in problems[0] and "/s/state.json" in problems[0]


@pytest.mark.parametrize(
    "theme",
    [7, "nord", {"name": ""}, {"name": 3}, {"configured": "nord"}, {"name": "x", "configured": 1}],
)
def test_a_bad_theme_costs_the_theme_only(theme):
    text = json.dumps({"theme": theme, "agent": "cro"})
    remembered, problems = parse_state(text, "/s/state.json")
    assert remembered == Remembered(agent="cro")
    assert len(problems) == 1 and problems[0].startswith("Ignored theme in /s/state.json")


@pytest.mark.parametrize("agent", [7, "", "  ", ["cro"], {"id": "cro"}])
def test_a_bad_agent_costs_the_agent_only(agent):
    text = json.dumps({"theme": {"name": "nord", "configured": None}, "agent": agent})
    remembered, problems = parse_state(text, "/s/state.json")
    assert remembered == Remembered(ThemePick("nord"))
    assert len(problems) == 1 and problems[0].startswith("Ignored agent in /s/state.json")


def test_a_file_that_is_not_utf8_or_cannot_be_read_remembers_nothing(tmp_path):
    state_file(tmp_path).write_bytes(b'{"agent": "caf\xe9"}')
    remembered, problems = load_state(tmp_path)
    assert remembered == Remembered() and "not UTF-8" in problems[0]
    directory = tmp_path / "other"
    state_file(directory).mkdir(parents=True)  # a directory where the file should be
    remembered, problems = load_state(directory)
    assert remembered == Remembered() and "cannot be read" in problems[0]


def test_the_next_choice_rewrites_a_damaged_file_without_the_damage(tmp_path):
    state_file(tmp_path).write_text('{"theme": 7, "agent": "cro"}', encoding="utf-8")
    remember_agent("cfo", tmp_path)
    assert load_state(tmp_path) == (Remembered(agent="cfo"), [])
    state_file(tmp_path).write_text("{broken", encoding="utf-8")
    remember_theme("nord", None, tmp_path)
    assert load_state(tmp_path) == (Remembered(ThemePick("nord")), [])


# --- which theme is shown ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pick", "configured", "shown"),
    [
        (None, None, None),  # the default theme
        (None, "nord", "nord"),  # nothing picked: the configured theme
        (ThemePick("dracula", None), None, "dracula"),  # picked, nothing configured
        (ThemePick("dracula", "nord"), "nord", "dracula"),  # picked over the configured
        (ThemePick("dracula", None), "nord", "nord"),  # configured after the pick
        (ThemePick("dracula", "nord"), "gruvbox", "gruvbox"),  # configured anew
        (ThemePick("dracula", "nord"), None, "dracula"),  # configured theme removed
    ],
)
def test_the_latest_word_wins_between_the_pick_and_the_configured_theme(pick, configured, shown):
    assert Remembered(theme=pick).theme_over(configured) == shown


def test_the_first_frame_shows_the_remembered_theme(tmp_path, monkeypatch):
    config = tmp_path / "config"
    config.mkdir()
    (config / "config.toml").write_text('theme = "nord"\n', encoding="utf-8")
    assert first_look(config).theme == "nord"
    remember_theme("dracula", "nord")
    assert first_look(config).theme == "dracula"
    assert first_look(config, tmp_path / "no-state").theme == "nord"
    monkeypatch.setenv("INTELLIGENTOS_THEME", "gruvbox")  # the configured theme changed
    assert first_look(config).theme == "gruvbox"


def test_the_first_frame_never_fails_on_a_damaged_state_file(tmp_path):
    state_file(tmp_path / "state").parent.mkdir()
    state_file(tmp_path / "state").write_text("{broken", encoding="utf-8")
    assert first_look(tmp_path / "config", tmp_path / "state").theme is None
