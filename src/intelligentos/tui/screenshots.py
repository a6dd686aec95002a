"""Regenerate ``screenshots/*.svg`` from the real app: demo store, fixed size, clock and data."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import date, datetime
from pathlib import Path

from textual.pilot import Pilot

from intelligentos.domain.clock import stamp
from intelligentos.domain.demo import DEFAULT_SEED
from intelligentos.services.bootstrap import init_store
from intelligentos.tui.app import CockpitApp

SHOT_END = date(2026, 11, 27)
SHOT_NOW = datetime(2026, 11, 27, 9, 30, 0)

# (file stem, terminal size, theme, what to open: a KPI id for its lineage, then
# "+keys:…" for keys to press there; "keys:…" for keys to press on the dashboard, or None
# for the dashboard itself)
Shot = tuple[str, tuple[int, int], str, str | None]
SHOTS: list[Shot] = [
    ("dashboard-80x24", (80, 24), "intelligentos-dark", None),
    ("dashboard-120x40", (120, 40), "intelligentos-dark", None),
    ("dashboard-200x60", (200, 60), "intelligentos-dark", None),
    ("lineage-120x40", (120, 40), "intelligentos-dark", "win_rate"),
    ("lineage-forecast-120x40", (120, 40), "intelligentos-dark", "grr"),
    ("why", (120, 40), "intelligentos-dark", "revenue_growth+keys:w"),
    ("pyramid-120x40", (120, 40), "intelligentos-dark", "keys:P"),
    ("strategy-map-120x40", (120, 40), "intelligentos-dark", "keys:M"),
    ("brief-120x40", (120, 40), "intelligentos-dark", "keys:b"),
    ("okr-120x40", (120, 40), "intelligentos-dark", "keys:O"),
    ("incidents-120x40", (120, 40), "intelligentos-dark", "keys:a*"),
    ("theme-intelligentos-light", (120, 40), "intelligentos-light", None),
    ("theme-intelligentos-contrast", (120, 40), "intelligentos-contrast", None),
]


async def settle(pilot: Pilot[None]) -> None:
    """Wait for every worker but the store watcher (it lives as long as the app)."""
    for _ in range(3):
        busy = [w for w in pilot.app.workers if w.group != "watch"]
        if busy:  # an empty list would mean "wait for every worker"
            await pilot.app.workers.wait_for_complete(busy)
        await pilot.pause()


async def _shoot(store: Path, config: Path, out: Path, shot: Shot) -> Path:
    stem, size, theme, target = shot
    # The forecasts are made beforehand, at the same fixed time, so every shot shows the same.
    app = CockpitApp(
        store, theme_name=theme, clock=lambda: SHOT_NOW, config_path=config, forecasts=False
    )
    app.animation_level = "none"  # a steady highlight instead of a pulse: stable images
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        if target and target.startswith("keys:"):
            await pilot.press(*target.removeprefix("keys:"))
            await settle(pilot)
        elif target:
            kpi_id, _, keys = target.partition("+keys:")
            app.navigator.open_lineage(kpi_id)
            await settle(pilot)
            if keys:
                await pilot.press(*keys)
                await settle(pilot)
        path = out / f"{stem}.svg"
        app.save_screenshot(filename=path.name, path=str(out))
    return path


def take_screenshots(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        store = Path(scratch) / "demo.db"
        init_store(store, end=SHOT_END, seed=DEFAULT_SEED)
        _forecast_everything(store)
        config = Path(scratch) / "config"
        return [asyncio.run(_shoot(store, config, out, shot)) for shot in SHOTS]


def _forecast_everything(path: Path) -> None:
    """Every KPI forecast through the next quarter's end: the OKR screen proposes its targets
    (the cockpit keeps a forecast made further ahead than its default)."""
    from intelligentos.domain.quarters import Quarter
    from intelligentos.services.forecast import forecast_many, jobs_for
    from intelligentos.store import Store

    through = Quarter.of(SHOT_END).next().end
    with Store.open(path) as store:
        jobs = jobs_for(store, store.read_catalog().kpis.values(), SHOT_END, through=through)
        store.save_forecasts(list(forecast_many(jobs)), stamp(SHOT_NOW))
