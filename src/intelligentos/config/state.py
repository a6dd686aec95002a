"""What the cockpit remembers between runs: the theme last picked and the agent last focused
on, in ``state.json`` in the user's state directory
(:func:`intelligentos.config.paths.state_dir`).

``config.toml`` is the user's: the cockpit reads it and never writes it (it keeps the user's
comments, and may hold webhook secrets). What the cockpit learns from the user's keys goes
here instead, a file only the cockpit writes, replaced whole (a temporary file renamed into
place, mode 0600) so that a reader never sees half of it.

Which theme the cockpit shows, the first that applies:

1. ``--theme`` on the command line: for that run only, and not remembered;
2. the theme last picked in the cockpit (``t``, or the palette), unless the configured theme
   has changed since it was picked to another one;
3. the configured theme: ``INTELLIGENTOS_THEME``, else ``theme`` in ``config.toml``;
4. the default theme.

A pick in the cockpit is the user's latest word, so the next launch shows it even where
``config.toml`` names another theme (which the cockpit does not rewrite). Setting another
configured theme afterwards is a later word still, so it wins over the older pick: neither
place masks the other for good, and whichever the user changed last is what they see. The
environment counts as configuration here, not as an override: a variable exported by a
shell profile is as lasting as the file.

The agent focus picked in the cockpit is restored at the next launch unless ``--agent``
names one (for that run, so not remembered); a remembered agent the catalog no longer has
is dropped without a word.

A damaged file costs only what is damaged: a file that is not a JSON object is read as
empty, a key with a bad value as unset, each with one sentence in the problems returned;
the next choice remembered rewrites the file without them. Keys this version does not know
are ignored and kept.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from intelligentos.config.paths import state_dir, write_atomically

STATE_FILE_NAME = "state.json"
_KNOWN_KEYS = ("theme", "agent")


@dataclass(frozen=True)
class ThemePick:
    """A theme picked in the cockpit, and the configured theme at the time (None: none was)."""

    name: str
    configured: str | None = None


@dataclass(frozen=True)
class Remembered:
    """What the cockpit remembers; every field None when nothing is."""

    theme: ThemePick | None = None
    agent: str | None = None

    def theme_over(self, configured: str | None) -> str | None:
        """The theme to show when ``configured`` is the configured theme and no ``--theme``
        was given: the picked one, unless the configured theme changed since the pick."""
        pick = self.theme
        if pick is not None and configured in (None, pick.configured):
            return pick.name
        return configured


def state_file(directory: Path | None = None) -> Path:
    """``state.json`` in ``directory``, by default the user's state directory."""
    return (state_dir() if directory is None else directory) / STATE_FILE_NAME


def parse_state(text: str, source: str) -> tuple[Remembered, list[str]]:
    """What ``text`` (a state file's content; ``source`` names it in problems) remembers,
    and one sentence per part of it that was ignored."""
    try:
        document = json.loads(text)
    except ValueError as error:
        reason = getattr(error, "msg", str(error))
        return Remembered(), [f"Ignored {source}, which is not valid JSON ({reason})."]
    if not isinstance(document, dict):
        return Remembered(), [f"Ignored {source}, which is not a JSON object."]
    return _remembered(document, source)


def load_state(directory: Path | None = None) -> tuple[Remembered, list[str]]:
    """What the state file in ``directory`` (by default the user's state directory)
    remembers, and what of it was ignored. Never raises: a missing file remembers nothing,
    quietly; an unreadable one remembers nothing, with a problem."""
    path = state_file(directory)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Remembered(), []
    except OSError as error:
        return Remembered(), [f"Ignored {path}, which cannot be read: {error.strerror or error}."]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return Remembered(), [f"Ignored {path}, which is not UTF-8 text."]
    return parse_state(text, str(path))


def remember_theme(name: str, configured: str | None, directory: Path | None = None) -> Path:
    """Remember ``name`` as the theme picked while ``configured`` was the configured theme;
    the file's path. Raises OSError if the file cannot be written (it is then unchanged)."""
    return _update(directory, lambda state: replace(state, theme=ThemePick(name, configured)))


def remember_agent(agent: str | None, directory: Path | None = None) -> Path:
    """Remember ``agent`` as the agent focused on (None: no focus); the file's path. Raises
    OSError if the file cannot be written (it is then unchanged)."""
    return _update(directory, lambda state: replace(state, agent=agent))


def state_text(state: Remembered, unknown: dict[str, Any] | None = None) -> str:
    """The state file's content for ``state``, with the ``unknown`` keys of a newer version."""
    document: dict[str, Any] = dict(unknown or {})
    if state.theme is not None:
        document["theme"] = {"name": state.theme.name, "configured": state.theme.configured}
    if state.agent is not None:
        document["agent"] = state.agent
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _update(directory: Path | None, change: Callable[[Remembered], Remembered]) -> Path:
    path = state_file(directory)
    try:
        document = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError):  # missing or damaged: what is written replaces it
        document = {}
    if not isinstance(document, dict):
        document = {}
    state, _ = _remembered(document, str(path))
    unknown = {key: value for key, value in document.items() if key not in _KNOWN_KEYS}
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomically(path, state_text(change(state), unknown), private=True)
    return path


def _remembered(document: dict[str, Any], source: str) -> tuple[Remembered, list[str]]:
    problems: list[str] = []
    theme, valid = _theme_pick(document.get("theme"))
    if not valid:
        problems.append(
            f"Ignored theme in {source}, which is not an object with a theme's name; "
            "the configured theme is used."
        )
    agent = document.get("agent")
    if agent is not None and not _a_name(agent):
        problems.append(f"Ignored agent in {source}, which is not an agent's id; no focus.")
        agent = None
    return Remembered(theme=theme, agent=agent), problems


def _theme_pick(value: object) -> tuple[ThemePick | None, bool]:
    """The pick ``value`` holds, and whether ``value`` is valid (None is: nothing picked)."""
    if value is None:
        return None, True
    if not isinstance(value, dict) or not _a_name(value.get("name")):
        return None, False
    configured = value.get("configured")
    if configured is not None and not isinstance(configured, str):
        return None, False
    return ThemePick(value["name"], configured), True


def _a_name(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())
