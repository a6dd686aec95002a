"""MkDocs hook: the command-line reference, generated from the Typer app at build time.

``docs/reference/cli.md`` holds an introduction and the marker below; every build replaces
the marker with each command's ``--help``, as click formats it, so the reference cannot
drift from the command line (there is no checked-in copy to keep up to date). The hook also
publishes the repository's ``screenshots/`` (made by ``intelligentos-tui screenshots``) with
the site, so the pages show the same images as the README without a second copy.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

MARKER = "<!-- cli-reference -->"
PROGRAM = "intelligentos-tui"
# Wide enough that no option's help is folded onto a second line in most cases, narrow
# enough to read in the page's code blocks without scrolling.
HELP_WIDTH = 100
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "screenshots"


def command_tree() -> Any:
    """The click command behind the ``intelligentos-tui`` Typer app. Typer bundles its own
    copy of click, so the command's types are Typer's: everything below goes through the
    command objects (their ``context_class``, ``list_commands``, ``get_help``) rather than
    the ``click`` package."""
    import typer

    from intelligentos.cli.main import app

    return typer.main.get_command(app)


def walk(command: Any, context: Any) -> Iterator[tuple[Any, Any]]:
    """Every command and subcommand, depth first, in the order ``--help`` lists them."""
    yield command, context
    if hasattr(command, "list_commands"):  # a group
        for name in command.list_commands(context):
            sub = command.get_command(context, name)
            if sub is None or sub.hidden:
                continue
            yield from walk(sub, _context(sub, name, context))


def _context(command: Any, name: str, parent: Any) -> Any:
    return command.context_class(
        command,
        info_name=name,
        parent=parent,
        terminal_width=HELP_WIDTH,
        max_content_width=HELP_WIDTH,
    )


def _anchor(path: str) -> str:
    return path.replace(" ", "-") if path else "intelligentos-tui"


def render(root: Any = None) -> str:
    """The reference as Markdown: a summary table, then each command's ``--help``."""
    root = root if root is not None else command_tree()
    commands = list(walk(root, _context(root, PROGRAM, None)))
    summary = ["| command | what it does |", "|---|---|"]
    sections: list[str] = []
    for command, context in commands:
        path = context.command_path.removeprefix(PROGRAM).strip()
        title = f"`{context.command_path}`"
        anchor = _anchor(path)
        short = command.get_short_help_str(limit=200) if path else "launch the cockpit"
        summary.append(f"| [{title}](#{anchor}) | {_cell(short)} |")
        text = command.get_help(context).rstrip()
        if not text:
            # Typer prints Rich-formatted help instead of returning it; the app keeps
            # rich_markup_mode=None, which this page relies on.
            raise RuntimeError(f"{context.command_path} --help returned no text")
        sections.append(f"### {title} {{#{anchor}}}\n\n```text\n{text}\n```\n")
    return "\n".join(summary) + "\n\n" + "\n".join(sections)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    """Put the generated reference where the page has the marker."""
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, render())


def on_files(files: Any, config: Any, **_: Any) -> Any:
    """Publish ``screenshots/*.svg`` as ``screenshots/`` in the site."""
    from mkdocs.structure.files import File

    for image in sorted(SCREENSHOTS.glob("*.svg")):
        files.append(File.generated(config, f"screenshots/{image.name}", abs_src_path=str(image)))
    return files
