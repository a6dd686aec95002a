"""``screenshots``: the README's screenshots, regenerated from the real app."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def screenshots(
    directory: Annotated[Path, typer.Option("--out", help="Directory for the SVG files")] = Path(
        "screenshots"
    ),
) -> None:
    """Regenerate the screenshots from the real app (fixed size, clock and demo data)."""
    # Imported here, not at the top: the command line loads every command's module.
    from rich.text import Text

    from intelligentos.cli.render import out
    from intelligentos.tui.screenshots import take_screenshots

    for path in take_screenshots(directory):
        out.print(Text(f"wrote {path}"))
