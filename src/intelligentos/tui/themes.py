"""Theme files (``themes/*.toml`` and the user's config ``themes/``) as Textual themes."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path

from textual.theme import Theme

DEFAULT_THEME = "intelligentos-dark"
_COLOUR_KEYS = (
    "primary",
    "secondary",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
    "success",
    "warning",
    "error",
)


def theme_from_file(path: Path) -> Theme:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    name = data.get("name") or path.stem
    if "primary" not in data:
        raise ValueError(f"{path}: a theme needs at least a 'primary' colour")
    colours = {key: str(data[key]) if key in data else None for key in _COLOUR_KEYS}
    variables = {str(k): str(v) for k, v in data.get("variables", {}).items()}
    return Theme(
        name=str(name),
        primary=str(data["primary"]),
        secondary=colours["secondary"],
        accent=colours["accent"],
        foreground=colours["foreground"],
        background=colours["background"],
        surface=colours["surface"],
        panel=colours["panel"],
        boost=colours["boost"],
        success=colours["success"],
        warning=colours["warning"],
        error=colours["error"],
        dark=bool(data.get("dark", True)),
        variables=variables,
    )


def load_themes(directories: Iterable[Path]) -> tuple[list[Theme], list[str]]:
    """Every readable theme file in ``directories``; problems are returned, not raised,
    so one broken user theme never stops the cockpit."""
    themes: list[Theme] = []
    problems: list[str] = []
    for directory in directories:
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.toml")):
            try:
                themes.append(theme_from_file(path))
            except (OSError, ValueError, tomllib.TOMLDecodeError, TypeError) as error:
                problems.append(f"{path}: {error}")
    return themes, problems
