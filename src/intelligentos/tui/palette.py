"""The command palette's commands: each screen's module contributes those that open it (its
``palette_commands``), and the app collects them with its controllers' (see
:meth:`intelligentos.tui.app.CockpitApp.get_system_commands`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator

from textual.app import SystemCommand
from textual.screen import Screen
from textual.system_commands import SystemCommandsProvider

from intelligentos.tui.base import Cockpit

ScreenCommands = Callable[[Cockpit, Screen[object]], Iterable[SystemCommand]]


def _contributors() -> tuple[ScreenCommands, ...]:
    # Imported when the palette first opens, not at launch: the brief's Markdown and the
    # what-if model are most of a launch's imports again.
    from intelligentos.tui.screens import agents, brief, okr, pyramid, strategy, whatif
    from intelligentos.tui.widgets import why_pane

    return (
        whatif.palette_commands,
        why_pane.palette_commands,
        brief.palette_commands,
        strategy.palette_commands,
        pyramid.palette_commands,
        agents.palette_commands,
        okr.palette_commands,
    )


def screen_commands(cockpit: Cockpit, screen: Screen[object]) -> Iterator[SystemCommand]:
    """Every screen's commands, for the palette opened on ``screen``."""
    for contribute in _contributors():
        yield from contribute(cockpit, screen)


class CockpitCommands(SystemCommandsProvider):
    """Textual's system commands provider (it asks the app for the commands), the screens'
    modules imported in a thread first: the palette opens at once, its commands follow."""

    async def startup(self) -> None:
        await asyncio.to_thread(_contributors)
