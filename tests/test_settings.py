"""config.toml plus INTELLIGENTOS_* environment overrides: loading never fails, and nothing
ever writes the file (what the cockpit remembers is tests/test_state.py's)."""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from intelligentos.config.paths import state_dir
from intelligentos.config.settings import (
    CockpitSection,
    CockpitSettings,
    OkrSection,
    Settings,
    config_file,
)

POSIX_ONLY = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    """No setting leaks in from the developer's shell, and the default config directory is
    a throwaway one."""
    for name in list(os.environ):
        if name.upper().startswith("INTELLIGENTOS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("INTELLIGENTOS_CONFIG_DIR", str(tmp_path / "default-config"))


def write_config(directory: Path, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


FULL = """
theme = "nord"

[keymap]
alerts = "ctrl+a"
quit = "q,ctrl+q"

[cockpit]
bell = true
user = "alice"
"""

# With comments, keys of a newer version and a webhook secret: the user's file, byte for byte
# ([[report]] stands for an array of tables this version does not know).
FOREIGN = """# Mine: the cockpit must never rewrite this file.
theme = "old"  # my theme
future_setting = 42

[keymap]
alerts = "ctrl+a"

[cockpit]
bell = true
from_a_newer_version = "keep me"

[[report]]
channel = "slack"
kpis = ["win_rate"]

[[report]]
channel = "email"
to = "ops@example.com"

[[notify]]
webhook = "https://hooks.example.com/services/T0/B0/s3cret"  # the secret stays here
"""


def test_no_file_gives_defaults(tmp_path):
    settings = CockpitSettings.load(tmp_path / "config")
    assert settings.theme is None
    assert settings.keymap == {}
    assert settings.cockpit == CockpitSection(bell=False, user=None)
    assert settings.problem is None
    assert not (tmp_path / "config").exists()


def test_reads_theme_keymap_and_cockpit_section_from_the_file(tmp_path):
    write_config(tmp_path, FULL)
    settings = CockpitSettings.load(tmp_path)
    assert settings.theme == "nord"
    assert settings.keymap == {"alerts": "ctrl+a", "quit": "q,ctrl+q"}
    assert settings.cockpit.bell is True
    assert settings.cockpit.user == "alice"
    assert settings.problem is None


def test_default_directory_is_the_config_dir(tmp_path):
    write_config(tmp_path / "default-config", 'theme = "from-default-dir"\n')
    assert config_file() == tmp_path / "default-config" / "config.toml"
    assert CockpitSettings.load().theme == "from-default-dir"


def test_environment_beats_the_file_key_by_key(tmp_path, monkeypatch):
    write_config(tmp_path, FULL.replace("bell = true", "bell = false"))
    monkeypatch.setenv("INTELLIGENTOS_THEME", "dracula")
    monkeypatch.setenv("INTELLIGENTOS_COCKPIT__BELL", "true")
    monkeypatch.setenv("INTELLIGENTOS_KEYMAP__QUIT", "ctrl+c")
    # Variables with the prefix that are not settings must not disturb loading.
    monkeypatch.setenv("INTELLIGENTOS_DB", str(tmp_path / "store.db"))
    monkeypatch.setenv("INTELLIGENTOS_SOMETHING_ELSE", "x")
    settings = CockpitSettings.load(tmp_path)
    assert settings.theme == "dracula"
    assert settings.cockpit.bell is True
    # Tables merge key by key: the rest still comes from the file.
    assert settings.cockpit.user == "alice"
    assert settings.keymap == {"alerts": "ctrl+a", "quit": "ctrl+c"}
    assert settings.problem is None


def test_an_empty_environment_variable_means_unset(tmp_path, monkeypatch):
    write_config(tmp_path, 'theme = "nord"\n')
    monkeypatch.setenv("INTELLIGENTOS_THEME", "")
    assert CockpitSettings.load(tmp_path).theme == "nord"


BROKEN_FILES = {
    "bad TOML": (b"theme = \n[cockpit\n", "not valid TOML"),
    "keymap not a table": (b'keymap = "ctrl+a"\n', "keymap"),
    "keymap value not a string": (b"[keymap]\nalerts = 1\n", "keymap.alerts"),
    "not UTF-8": (b'theme = "caf\xe9"\n', "not UTF-8"),
}


@pytest.mark.parametrize("content, reason", BROKEN_FILES.values(), ids=BROKEN_FILES.keys())
def test_a_broken_file_gives_defaults_and_a_problem_and_is_left_alone(
    tmp_path, monkeypatch, content, reason
):
    path = tmp_path / "config.toml"
    path.write_bytes(content)
    monkeypatch.setenv("INTELLIGENTOS_COCKPIT__USER", "bob")
    settings = CockpitSettings.load(tmp_path)
    assert settings.theme is None
    assert settings.keymap == {}
    # The environment still counts.
    assert settings.cockpit == CockpitSection(bell=False, user="bob")
    assert settings.problem is not None
    assert str(path) in settings.problem
    assert reason in settings.problem
    assert settings.problem.endswith(".")
    assert path.read_bytes() == content


def test_a_bad_value_costs_only_its_key(tmp_path, monkeypatch):
    path = write_config(
        tmp_path,
        'theme = "nord"\n\n[keymap]\nalerts = "ctrl+a"\nquit = 7\n\n'
        '[cockpit]\nbell = "yes please"\nuser = "alice"\nforecasts = false\n\n'
        '[[notify]]\ncommand = ["true"]\n',
    )
    monkeypatch.setenv("INTELLIGENTOS_COCKPIT__BELL", "perhaps")  # bad too: reported apart
    settings = CockpitSettings.load(tmp_path)
    assert settings.theme == "nord"
    assert settings.keymap == {"alerts": "ctrl+a"}
    assert settings.cockpit == CockpitSection(bell=False, user="alice", forecasts=False)
    assert [sink.command for sink in settings.notify] == [("true",)]
    bell, quit_key, environment = sorted(settings.problems)
    assert bell.startswith(f"Ignored cockpit.bell in {path}, which has a bad value (")
    assert bell.endswith("; its default is used.") and "yes please" not in bell
    assert quit_key.startswith(f"Ignored keymap.quit in {path}")
    assert "environment" in environment and "cockpit.bell" in environment
    assert path.read_text(encoding="utf-8").count("yes please") == 1  # left alone


def test_a_problem_never_quotes_the_offending_value(tmp_path):
    write_config(tmp_path, '[cockpit]\nuser = ["s3cr3t-token"]\n')
    settings = CockpitSettings.load(tmp_path)
    assert settings.problem is not None
    assert "cockpit.user" in settings.problem
    assert "s3cr3t" not in settings.problem


@POSIX_ONLY
@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads anything")
def test_an_unreadable_file_gives_defaults_and_a_problem(tmp_path):
    path = write_config(tmp_path, FULL)
    path.chmod(0)
    try:
        settings = CockpitSettings.load(tmp_path)
    finally:
        path.chmod(0o600)
    assert settings.theme is None
    assert settings.problem is not None
    assert str(path) in settings.problem
    assert "cannot be read" in settings.problem


def test_a_file_that_fails_to_open_gives_defaults_and_a_problem(tmp_path, monkeypatch):
    """The same as the chmod test above, for when the tests run as root."""
    path = write_config(tmp_path, FULL)
    real_open = Path.open

    def refusing_open(self, *args, **kwargs):
        if self.name == "config.toml":
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refusing_open)
    settings = CockpitSettings.load(tmp_path)
    assert settings.theme is None
    assert settings.problem == f"Ignored {path}, which cannot be read: Permission denied."


def test_a_bad_environment_variable_keeps_the_file_and_is_reported(tmp_path, monkeypatch):
    write_config(tmp_path, FULL)
    monkeypatch.setenv("INTELLIGENTOS_COCKPIT__BELL", "perhaps")
    settings = CockpitSettings.load(tmp_path)
    assert settings.theme == "nord"
    assert settings.cockpit.bell is True
    assert settings.problem is not None
    assert "INTELLIGENTOS_* environment" in settings.problem
    assert "cockpit.bell" in settings.problem
    assert "config.toml" not in settings.problem


def test_a_bad_file_and_a_bad_environment_still_give_defaults(tmp_path, monkeypatch):
    path = write_config(tmp_path, "theme = \n")
    monkeypatch.setenv("INTELLIGENTOS_COCKPIT__BELL", "perhaps")
    monkeypatch.setenv("INTELLIGENTOS_THEME", "dracula")
    settings = CockpitSettings.load(tmp_path)
    assert settings.theme is None
    assert settings.cockpit.bell is False
    assert settings.problem is not None
    assert str(path) in settings.problem
    assert "environment" in settings.problem


def test_keyword_arguments_beat_the_file_and_the_environment(tmp_path, monkeypatch):
    write_config(tmp_path, FULL)
    monkeypatch.setenv("INTELLIGENTOS_THEME", "dracula")
    settings = CockpitSettings.load(tmp_path, theme="solarized")
    assert settings.theme == "solarized"
    assert settings.cockpit.user == "alice"


def test_direct_construction_never_reads_the_users_file(tmp_path):
    write_config(tmp_path / "default-config", FULL)
    assert CockpitSettings(theme="solarized").theme == "solarized"
    assert CockpitSettings(theme="solarized").cockpit.bell is False
    assert CockpitSettings().theme is None


def test_settings_is_the_old_name_and_keeps_the_old_calls_working(tmp_path):
    assert Settings is CockpitSettings
    write_config(tmp_path / "config", 'theme = "nord"\n')
    assert Settings.load(tmp_path / "config").theme == "nord"


def test_settings_can_no_longer_write_the_users_file():
    assert not hasattr(CockpitSettings, "save")


def test_remembering_a_theme_never_touches_the_file(tmp_path):
    path = write_config(tmp_path / "config", FOREIGN)
    path.chmod(0o644)
    before = path.read_bytes(), path.stat().st_mode
    settings = CockpitSettings.load(tmp_path / "config", state_directory=tmp_path / "state")
    assert settings.theme == settings.configured_theme == "old"
    settings.remember_theme("nord")
    settings.remember_agent("cro")
    assert settings.theme == "nord"
    assert (path.read_bytes(), path.stat().st_mode) == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["config.toml"]
    again = CockpitSettings.load(tmp_path / "config", state_directory=tmp_path / "state")
    assert (again.theme, again.configured_theme, again.problem) == ("nord", "old", None)
    assert again.keymap == {"alerts": "ctrl+a"} and again.cockpit.bell is True


def test_the_remembered_theme_is_read_from_the_users_state_directory_by_default(tmp_path):
    write_config(tmp_path, 'theme = "nord"\n')
    CockpitSettings.load(tmp_path).remember_theme("dracula")
    assert (state_dir() / "state.json").is_file()
    assert CockpitSettings.load(tmp_path).theme == "dracula"
    assert CockpitSettings.load(tmp_path, state_directory=tmp_path / "elsewhere").theme == "nord"


def test_a_theme_override_beats_the_remembered_one(tmp_path):
    CockpitSettings.load(tmp_path).remember_theme("dracula")
    assert CockpitSettings.load(tmp_path, theme="nord").theme == "nord"


def test_a_damaged_state_file_is_a_problem_and_costs_only_the_theme(tmp_path, monkeypatch):
    write_config(tmp_path, FULL)
    state_dir().mkdir(parents=True)
    (state_dir() / "state.json").write_text('{"theme": 7, "agent": "cro"}', encoding="utf-8")
    settings = CockpitSettings.load(tmp_path)
    assert settings.theme == "nord"
    assert settings.cockpit.user == "alice"
    assert len(settings.problems) == 1
    assert "theme" in settings.problems[0] and str(state_dir()) in settings.problems[0]


def test_concurrent_loads_of_different_directories_do_not_mix(tmp_path):
    directories = []
    for index in range(8):
        directory = tmp_path / f"config-{index}"
        write_config(directory, f'theme = "theme-{index}"\n')
        directories.append(directory)
    jobs = directories * 25
    with ThreadPoolExecutor(max_workers=8) as pool:
        themes = list(pool.map(lambda d: CockpitSettings.load(d).theme, jobs))
    assert themes == [f"theme-{d.name.split('-')[1]}" for d in jobs]


def test_okr_probabilities_are_read_and_a_key_out_of_order_falls_back_alone(tmp_path, monkeypatch):
    assert CockpitSettings.load(tmp_path / "none").okr == OkrSection(commit=0.9, stretch=0.35)
    path = write_config(tmp_path, "[okr]\ncommit = 0.8\nstretch = 0.5\n")
    settings = CockpitSettings.load(tmp_path)
    assert settings.okr == OkrSection(commit=0.8, stretch=0.5) and settings.problem is None
    # Both given, out of order: the stretch falls back first; its default 0.35 is still not
    # below 0.3, so the commit falls back too; each is named.
    write_config(tmp_path, "[okr]\ncommit = 0.3\nstretch = 0.5\n")
    settings = CockpitSettings.load(tmp_path)
    assert settings.okr == OkrSection(commit=0.9, stretch=0.35)
    assert settings.problems == [
        f"Ignored okr.stretch in {path}, which must be below okr.commit (0.3); its default "
        "is used.",
        f"Ignored okr.commit in {path}, which must be above okr.stretch (0.35); its default "
        "is used.",
    ]
    # From the environment: named without a file.
    write_config(tmp_path, "")
    monkeypatch.setenv("INTELLIGENTOS_OKR__STRETCH", "0.95")
    settings = CockpitSettings.load(tmp_path)
    assert settings.okr == OkrSection(commit=0.9, stretch=0.35)
    assert settings.problems == [
        "Ignored okr.stretch, which must be below okr.commit (0.9); its default is used."
    ]
