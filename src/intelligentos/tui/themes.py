"""Theme files (``themes/*.toml`` and the user's config ``themes/``) as Textual themes."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path

from textual.color import Color, ColorParseError
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


class ThemeFileError(ValueError):
    """A theme file that cannot be used: the key, and what is wrong with it."""


def theme_from_file(path: Path) -> Theme:
    """The theme in ``path``; :class:`ThemeFileError` (or OSError) for one that is broken.

    Every value is checked here, when the file is read: Textual parses a theme's colours
    only when the theme is put on, and a bad one would then crash the running cockpit."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))

    def broken(key: str, problem: str) -> ThemeFileError:
        return ThemeFileError(f"{key}: {problem}")

    name = data.get("name", path.stem)
    if not isinstance(name, str) or not name.strip():
        raise broken("name", "must be a text that is not blank")
    if "primary" not in data:
        raise broken("primary", "missing; a theme needs at least a 'primary' colour")
    colours: dict[str, str | None] = {}
    for key in _COLOUR_KEYS:
        value = data.get(key)
        if value is not None:
            _check_colour(value, broken(key, f'{value!r} is not a colour (e.g. "#1e88e5")'))
        colours[key] = value
    dark = data.get("dark", True)
    if not isinstance(dark, bool):
        raise broken("dark", "must be true or false")
    variables = data.get("variables", {})
    if not isinstance(variables, dict) or not all(
        isinstance(value, str) for value in variables.values()
    ):
        raise broken("variables", "must be a table of names and texts")
    return Theme(
        name=name,
        primary=str(colours["primary"]),
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
        dark=dark,
        variables={str(key): value for key, value in variables.items()},
    )


def _check_colour(value: object, problem: ThemeFileError) -> None:
    if not isinstance(value, str):
        raise problem
    try:
        Color.parse(value)
    except ColorParseError:
        raise problem from None


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
                problems.append(f"{path}: {error}; the theme was skipped.")
    return themes, problems
