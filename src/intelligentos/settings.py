"""The user's small config file (``config.toml`` in the config directory)."""

from __future__ import annotations

import getpass
import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from intelligentos.paths import config_dir


def current_user() -> str:
    """The OS user name, the default actor for acknowledgements."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@dataclass
class Settings:
    theme: str | None = None

    @classmethod
    def load(cls, directory: Path | None = None) -> Settings:
        path = (directory or config_dir()) / "config.toml"
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
            # A missing or unreadable config must never stop the cockpit from starting.
            return cls()
        theme = data.get("theme")
        return cls(theme=theme if isinstance(theme, str) else None)

    def save(self, directory: Path | None = None) -> Path:
        directory = directory or config_dir()
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "config.toml"
        lines = ["# IntelligentOS cockpit settings (written by the cockpit)\n"]
        if self.theme:
            # JSON string literals are valid TOML basic strings.
            lines.append(f"theme = {json.dumps(self.theme)}\n")
        temp = path.with_suffix(".tmp")
        temp.write_text("".join(lines), encoding="utf-8")
        os.replace(temp, path)
        return path
