"""Helpers for driving the cockpit in tests: a fixed clock and waiting for workers."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from intelligentos.tui.app import CockpitApp
from intelligentos.tui.screenshots import settle

__all__ = ["FIXED_NOW", "fixed_clock", "make_app", "settle"]

FIXED_NOW = datetime(2026, 11, 27, 9, 30, 0)


def fixed_clock() -> datetime:
    return FIXED_NOW


def make_app(store: Path, config: Path, **kwargs) -> CockpitApp:
    app = CockpitApp(store, clock=fixed_clock, config_path=config, user="tester", **kwargs)
    app.animation_level = "none"  # steady highlights: deterministic frames
    return app
