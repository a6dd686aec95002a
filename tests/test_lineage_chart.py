"""The lineage screen's forecast chart: threshold lines, axis ticks and the verdict as pure
functions; then the real cockpit, drilled into with keys, showing a stored forecast."""

from __future__ import annotations

from pathlib import Path

import pytest

from intelligentos.domain.catalog.models import Direction, Frequency, Kpi, Level, Unit
from intelligentos.domain.charts import (
    NO_FORECAST,
    BandLine,
    band_lines,
    date_ticks,
    forecast_verdict,
    value_axis,
)
from intelligentos.domain.forecast import (
    MAX_HISTORY,
    Backtest,
    Forecast,
    ForecastPoint,
    forecast_kpi,
)
from intelligentos.store import Store
from intelligentos.tui.screens.lineage import LineageScreen

from .tui_helpers import make_app, settle

MADE_AT = "2026-11-27T09:00:00Z"


def kpi(direction: str, target: float, unit: str = "percent", **extra: float) -> Kpi:
    return Kpi(
        id="k",
        name="K",
        level=Level.FUNCTIONAL,
        unit=Unit(unit),
        direction=Direction(direction),
        target=target,
        frequency=Frequency.MONTHLY,
        formula="a / b",
        engine="growth",
        **extra,
    )


# --- band lines ----------------------------------------------------------------------------


def test_band_lines_sit_below_the_target_when_higher_is_better():
    lines = band_lines(kpi("higher", 30.0, warning=0.1, critical=0.2))
    assert lines == [
        BandLine("target", 30.0),
        BandLine("warning", 27.0),  # 30 - 0.1 * 30
        BandLine("critical", 24.0),  # 30 - 0.2 * 30
    ]


def test_band_lines_sit_above_the_target_when_lower_is_better():
    lines = band_lines(kpi("lower", 40.0, unit="hours", warning=0.05, critical=0.25))
    assert [(line.kind, line.value) for line in lines] == [
        ("target", 40.0),
        ("warning", 42.0),
        ("critical", 50.0),
    ]


def test_band_kpis_have_lines_on_both_sides_and_a_negative_target_uses_its_size():
    lines = band_lines(kpi("band", -50.0, unit="score", warning=0.1, critical=0.2))
    assert [(line.kind, line.value) for line in lines] == [
        ("target", -50.0),
        ("warning", -55.0),
        ("warning", -45.0),
        ("critical", -60.0),
        ("critical", -40.0),
    ]


def test_a_zero_target_uses_a_scale_of_one():
    lines = band_lines(kpi("higher", 0.0, unit="score", warning=0.5, critical=2.0))
    assert [line.value for line in lines] == [0.0, -0.5, -2.0]
    assert kpi("lower", 0.0).direction is Direction.LOWER


# --- ticks ---------------------------------------------------------------------------------


def test_value_axis_has_round_ticks_in_the_kpis_unit_covering_every_value():
    axis = value_axis([22.4, 31.7, 27.0], Unit.PERCENT, count=5)
    assert axis.ticks == (20.0, 22.5, 25.0, 27.5, 30.0, 32.5)
    assert axis.labels == ("20.0%", "22.5%", "25.0%", "27.5%", "30.0%", "32.5%")
    assert axis.low <= 22.4 and axis.high >= 31.7


def test_value_axis_labels_currency_compactly_and_never_repeats_a_label():
    axis = value_axis([1_210_000.0, 1_290_000.0], Unit.CURRENCY, count=5)
    assert axis.labels[0].startswith("$1.") and axis.labels[-1].endswith("M")
    assert len(set(axis.labels)) == len(axis.labels)  # $1.2M twice would say nothing
    assert axis.low <= 1_210_000 and axis.high >= 1_290_000


def test_value_axis_of_a_flat_series_and_around_zero():
    flat = value_axis([5.0, 5.0], Unit.COUNT)
    assert flat.low < 5 < flat.high
    around_zero = value_axis([-0.3, 0.2], Unit.RATIO, count=3)
    assert "0.00×" in around_zero.labels and "-0.00×" not in around_zero.labels


def test_date_ticks_are_few_evenly_spread_and_include_both_ends():
    periods = [f"2026-{m:02d}-01" for m in range(1, 13)]
    assert date_ticks(periods, 4) == ["2026-01-01", "2026-05-01", "2026-08-01", "2026-12-01"]
    assert date_ticks(periods[:3], 4) == periods[:3]
    assert date_ticks(["2026-01-01T08:00:00", "2026-01-02T08:00:00"], 1) == [
        "2026-01-01",
        "2026-01-02",
    ]


# --- the verdict ---------------------------------------------------------------------------


def forecast(
    model: str = "ets", reliable: bool = True, based_on: str = "2026-10-01", note: str = ""
) -> Forecast:
    points = (
        ()
        if model == "none"
        else (
            ForecastPoint("2026-11-01", 31.0, 29.0, 33.0, 28.0, 34.0),
            ForecastPoint("2026-12-01", 32.0, 29.5, 34.5, 28.0, 36.0),
        )
    )
    backtest = None if model == "none" else Backtest(4, 0.68, 0.75, {"ets": 0.68})
    return Forecast("k", model, reliable, 2, 12, based_on, points, backtest, note)


def test_verdict_of_a_reliable_forecast():
    note = "beats seasonal naive by 32 %, 80 % interval held 9 of 12"
    verdict = forecast_verdict(forecast(note=note), MADE_AT, "2026-10-01", Unit.PERCENT)
    assert verdict.summary == "Forecast: ets, reliable."
    assert verdict.note == f"Backtest: {note}."
    assert verdict.projection == "By 2026-12-01: 32.0% (80 % interval 29.5% to 34.5%)."
    assert verdict.provenance == "Made 2026-11-27 09:00:00 UTC from data up to 2026-10-01."
    assert not verdict.outdated


def test_verdict_of_a_baseline_forecast_uses_the_models_label():
    verdict = forecast_verdict(
        forecast("seasonal_naive", reliable=False, note="no model beat seasonal naive"),
        MADE_AT,
        "2026-10-01",
        Unit.PERCENT,
    )
    assert verdict.summary == "Forecast: seasonal naive, not reliable: baseline forecast."


def test_verdict_says_a_forecast_from_older_data_is_out_of_date():
    verdict = forecast_verdict(forecast(based_on="2026-10-31"), MADE_AT, "2026-11-26", "percent")
    assert verdict.outdated
    assert verdict.provenance == (
        "Out of date: made 2026-11-27 09:00:00 UTC from data up to 2026-10-31; newer data since."
    )


def test_verdict_without_a_forecast_or_with_model_none():
    assert forecast_verdict(None, None, "2026-11-26", "percent").summary == NO_FORECAST
    short = forecast_kpi(kpi("higher", 30.0), [("2026-01-01", 1.0), ("2026-02-01", 2.0)], horizon=2)
    assert short.model == "none"
    verdict = forecast_verdict(short, MADE_AT, "2026-02-01", "percent")
    assert verdict.summary.startswith("No forecast: not enough history")
    assert not verdict.projection and not verdict.outdated


# --- the cockpit ---------------------------------------------------------------------------


def store_forecast(path: Path, kpi_id: str, until: str | None = None) -> Forecast:
    """Forecast a KPI from the store's observations (up to ``until``), as the CLI's
    ``forecast`` command does, and store it."""
    with Store.open(path) as store:
        item = store.read_catalog().kpis[kpi_id]
        history = store.history(kpi_id, MAX_HISTORY, until=until)
        result = forecast_kpi(item, history, horizon=6)
        store.save_forecasts([result], MADE_AT)
    assert result.points, result.note
    return result


async def drill_into_first_growth_kpi(pilot) -> LineageScreen:
    """The cockpit opens on the Growth panel's first row: enter drills into it (once that
    row is there and focused, and the lineage screen's one-off prewarm is over: a loaded
    machine may still be doing either when the workers first settle)."""
    from intelligentos.tui.widgets.kpi_table import KpiTable

    app = pilot.app
    for _ in range(100):
        await settle(pilot)
        focused = app.focused
        ready = isinstance(focused, KpiTable) and focused.row_count > 0
        if ready and app.navigator.lineage_screen is not None and app.navigator.held_keys is None:
            break
        await pilot.pause(0.05)
    await pilot.press("enter")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, LineageScreen)
    return screen


def first_growth_kpi(path: Path) -> str:
    with Store.open(path) as store:
        return store.read_catalog().kpis_of_engine("growth")[0].id


def chart_texts(screen: LineageScreen) -> tuple[str, str, str]:
    plot = screen.query_one("#forecast-plot")
    key = screen.query_one("#chart-key")
    verdict = screen.query_one("#forecast-verdict")
    return str(plot.render()), str(key.render()), str(verdict.render())


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return tmp_path / "config"


async def test_drill_down_shows_the_stored_forecast_on_the_chart(demo_store, config):
    kpi_id = first_growth_kpi(demo_store)
    stored = store_forecast(demo_store, kpi_id)
    app = make_app(demo_store, config)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await drill_into_first_growth_kpi(pilot)
        assert screen.kpi_id == kpi_id and screen.history_kpi == kpi_id
        assert screen.forecast is not None and screen.forecast.forecast == stored
        plot = screen.query_one("#forecast-plot")
        assert plot.chart.forecast == stored and len(plot.chart.history) == 90
        text, key, verdict = chart_texts(screen)
        item = app.data.catalog.kpis[kpi_id]
        # The history, the forecast's mean and 80 % band, and the target line are drawn.
        assert "━" in text and "•" in text and "▒" in text
        assert any(ch in text for ch in "⠁⠂⠄⡀⢀⠈⠐⠠")  # braille: the history
        assert stored.points[-1].period in text  # the x axis runs to the horizon's end
        from intelligentos.domain.formatting import format_value

        assert f"target {format_value(item.target, item.unit)}" in key
        assert "forecast" in key and "80 %" in key and "warning" in key
        assert f"Forecast: {stored.model.replace('_', ' ')}" in verdict
        assert stored.note.rstrip(".") in " ".join(verdict.split())  # the key may wrap it
        assert f"By {stored.points[-1].period}" in verdict
        assert "from data up to" in verdict and "Out of date" not in verdict
        # The y axis speaks the KPI's unit (the demo's growth KPIs are percentages).
        assert item.unit is Unit.PERCENT and "%┤" in text


async def test_no_forecast_yet_then_one_written_by_another_connection_appears(demo_store, config):
    kpi_id = first_growth_kpi(demo_store)
    app = make_app(demo_store, config)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await drill_into_first_growth_kpi(pilot)
        text, key, verdict = chart_texts(screen)
        assert "No forecast yet" in verdict and "intelligentos-tui forecast" in verdict
        assert "━" in text and "•" not in text and "forecast" not in key
        # Another writer stores a forecast; a refresh reloads it with the history.
        stored = store_forecast(demo_store, kpi_id)
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert screen.forecast is not None and screen.forecast.forecast == stored
        text, key, verdict = chart_texts(screen)
        assert "No forecast yet" not in verdict and "•" in text and "forecast" in key


async def test_a_forecast_from_older_data_is_shown_as_out_of_date(demo_store, config):
    kpi_id = first_growth_kpi(demo_store)
    stored = store_forecast(demo_store, kpi_id, until="2026-10-31T99")
    assert stored.based_on == "2026-10-31"
    app = make_app(demo_store, config)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await drill_into_first_growth_kpi(pilot)
        _, _, verdict = chart_texts(screen)
        assert "Out of date: made 2026-11-27 09:00:00 UTC from data up to 2026-10-31" in verdict
        assert "newer data since" in verdict


async def test_zoom_redraws_the_chart_over_more_periods(demo_store, config):
    app = make_app(demo_store, config)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await drill_into_first_growth_kpi(pilot)
        plot = screen.query_one("#forecast-plot")
        first = plot.chart.history[0][0]
        await pilot.press("z")
        await settle(pilot)
        assert len(plot.chart.history) == 365 and plot.chart.history[0][0] < first
        assert "last 365 periods" in str(screen.query_one("#chart-title").render())
        assert plot.chart.history[0][0] in str(plot.render())


async def test_a_node_that_is_not_a_kpi_clears_the_chart(demo_store, config):
    app = make_app(demo_store, config)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await drill_into_first_growth_kpi(pilot)
        await pilot.press("f")  # the first data field
        await settle(pilot)
        assert not screen.query_one("#chart").display
        assert str(screen.query_one("#forecast-verdict").render()) == ""
