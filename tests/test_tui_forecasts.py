"""The cockpit and forecasts: projected values on the CEO cards and the selection card, and
forecasts kept current in the background (other processes) as the store changes."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from pathlib import Path

import pytest

from intelligentos.domain.alerts import State
from intelligentos.domain.clock import stamp
from intelligentos.domain.forecast import Backtest, Forecast, ForecastPoint
from intelligentos.store import Store
from intelligentos.tui.widgets.ceo_card import CeoCard
from intelligentos.tui.widgets.selection_card import SelectionCard

from .tui_helpers import (
    FIXED_NOW,
    insert_from_another_process,
    make_app,
    open_alerts,
    select_alert,
    settle,
)

SIZE = (120, 40)
KPI = "revenue_growth"  # a CEO KPI: higher is better, target 40 %, warning beyond 36 %


def store_forecast(
    path: Path, kpi_id: str, mean: float, reliable: bool = True, back: int = 0
) -> str:
    """A forecast of ``kpi_id`` made from its latest observation (``back`` observations
    before it: made before those arrived); returns the period it was made from."""
    with Store.open(path) as store:
        based_on = store.history(kpi_id, back + 1)[0][0]
        point = ForecastPoint("2026-12-31", mean, mean - 1.5, mean + 1.5, mean - 3, mean + 3)
        forecast = Forecast(
            kpi_id,
            "ets" if reliable else "naive",
            reliable,
            1,
            None,
            based_on,
            (point,),
            Backtest(4, 0.6, 0.75, {"ets": 0.6}),
            "beats seasonal naive by 40 %",
        )
        store.save_forecasts([forecast], stamp(FIXED_NOW))
    return based_on


def card(app, kpi_id: str) -> CeoCard:
    return app.screen.query_one(f"#ceo-{kpi_id}", CeoCard)


async def test_a_reliable_forecast_shows_its_projection(demo_store: Path, tmp_path: Path):
    store_forecast(demo_store, KPI, mean=35.0)
    store_forecast(demo_store, "nrr", mean=110.0, reliable=False)
    app = make_app(demo_store, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        line = str(card(app, KPI).render()).splitlines()[1]
        assert "→ 35.0%" in line
        # A forecast that did not beat the baselines is not presented as a projection.
        assert "→" not in str(card(app, "nrr").render())

        card(app, KPI).focus()
        await settle(pilot)
        selected = str(app.screen.query_one(SelectionCard).render())
        assert "Projected 35.0% ▲ warning by 2026-12-31 (80 %: 33.5% – 36.5%, ets)" in selected
        assert "Projected 35.0%" in str(card(app, KPI).tooltip)


async def test_an_out_of_date_forecast_is_not_shown(demo_store: Path, tmp_path: Path):
    # Made from October: November's value has arrived since (a row dated after today
    # would not count: it is not a value yet).
    based_on = store_forecast(demo_store, KPI, mean=37.25, back=1)
    assert based_on == "2026-10-01"
    app = make_app(demo_store, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "→" not in str(card(app, KPI).render())


async def wait_until(pilot, condition, seconds: float = 90.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)
        await settle(pilot)


def bases(app) -> dict[str, tuple[str | None, int]]:
    """What the store holds, read through the cockpit's own store (on this thread's
    connection)."""
    store = app.services.store
    return store.forecast_bases() if store is not None else {}


@pytest.mark.slow  # the cockpit's catch-up: every KPI forecast in spawned processes, twice
async def test_the_cockpit_forecasts_in_the_background_and_again_after_new_data(
    demo_store: Path, tmp_path: Path
):
    with Store.open(demo_store) as store:
        with_data = {k for k, n in store.observation_counts(store.read_catalog().kpis).items() if n}
    # A few days after the store's last values: December's row below is then a value of
    # the past, which the cockpit counts (a row dated after today would not be).
    later = datetime(2026, 12, 2, 9, 30)
    app = make_app(demo_store, tmp_path, forecasts=True, clock=lambda: later)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: set(bases(app)) == with_data)
        await wait_until(pilot, lambda: not app.forecasts.running)
        # Everything is current now: the next refresh finds nothing to do.
        assert app.data is not None
        assert all(bases(app)[k][0] == app.data.snaps[k].observed_period for k in with_data)

        insert_from_another_process(demo_store, [(KPI, "2026-12-01", 43.0)])
        await wait_until(pilot, lambda: bases(app)[KPI][0] == "2026-12-01")
        await wait_until(pilot, lambda: not app.forecasts.running)


async def test_a_projected_miss_is_an_alert_like_any_other(demo_store: Path, tmp_path: Path):
    """The early warning fires in the cockpit from a stored forecast, shows on the alerts
    screen in words, and is acknowledged with the same key as every alert."""
    # Customer retention is on target (revenue growth is already past its warning line):
    # target 92 %, warning beyond 2 % short (90.16 %); 80 %: 86.5–89.5, wholly beyond it.
    kept = "customer_retention"
    store_forecast(demo_store, kept, mean=88.0)
    app = make_app(demo_store, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_alerts(pilot)
        early = next(a for a in app.data.open_alerts if a.rule == "forecast")
        assert early.kpi_id == kept and early.needs_attention
        await select_alert(pilot, early.id)
        detail = str(screen.query_one("#alerts-detail").render())
        assert "projected to miss target by 2026-12-31" in detail
        await pilot.press("A")
        await pilot.pause()
        app.screen.query_one("#answer").value = "pipeline review on Monday"
        await pilot.press("enter")
        await settle(pilot)
    with Store.open(demo_store) as store:
        stored = store.alert(early.id)
    assert stored.state is State.ACKNOWLEDGED
    assert stored.ack_note == "pipeline review on Monday"
