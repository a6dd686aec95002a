"""Helpers for driving the cockpit in tests: a fixed clock and waiting for workers."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from intelligentos.tui.app import CockpitApp

FIXED_NOW = datetime(2026, 11, 27, 9, 30, 0)


def fixed_clock() -> datetime:
    return FIXED_NOW


def make_app(store: Path, config: Path, **kwargs) -> CockpitApp:
    return CockpitApp(store, clock=fixed_clock, config_path=config, **kwargs)


async def settle(pilot) -> None:
    """Let workers finish and the screen repaint."""
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
