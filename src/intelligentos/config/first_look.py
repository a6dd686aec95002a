"""The two settings the cockpit's first screen is drawn with, the theme and the keymap,
read straight from ``config.toml``, the environment and the state file (the theme last
picked in the cockpit, see :mod:`intelligentos.config.state`).

Loading the validated settings (:mod:`intelligentos.config.settings`, pydantic-settings) takes
longer than drawing the whole first screen, so the cockpit draws it with these and loads
the validated settings right after. When the two disagree (a theme or keymap value the
validated load refuses, a keymap given in the environment), the validated settings win and
the screen changes to them a moment later.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from intelligentos.config.state import load_state

CONFIG_FILE_NAME = "config.toml"
THEME_VARIABLE = "INTELLIGENTOS_THEME"


@dataclass(frozen=True)
class FirstLook:
    theme: str | None = None
    keymap: dict[str, str] = field(default_factory=dict)


def first_look(directory: Path, state_directory: Path | None = None) -> FirstLook:
    """The theme and keymap as the file in ``directory``, the environment and the state file
    in ``state_directory`` (by default the user's state directory) give them; whatever
    cannot be read plainly is left to the validated settings."""
    document = _document(directory / CONFIG_FILE_NAME)
    theme = document.get("theme")
    keymap = document.get("keymap")
    # Environment variable names are matched without regard to case, as the settings do.
    environment = {name.upper(): value for name, value in os.environ.items()}
    if environment.get(THEME_VARIABLE):
        theme = environment[THEME_VARIABLE]
    remembered, _ = load_state(state_directory)  # its problems are the settings' to report
    return FirstLook(
        theme=remembered.theme_over(theme if isinstance(theme, str) else None),
        keymap=(
            {k: v for k, v in keymap.items() if isinstance(v, str)}
            if isinstance(keymap, dict)
            else {}
        ),
    )


def _document(path: Path) -> dict[str, object]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # missing, unreadable, not UTF-8, not TOML
        return {}
