"""What a silence does: the alerts it covers still open and are recorded, but do not count as
unacknowledged (``check``'s exit status, the cockpit's header, CEO strip and flashing), and
are marked silenced (``alerts``, the dashboard); each silence keeps its log (who added it,
who expired it, when)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from intelligentos.cli.main import app
from intelligentos.config.paths import builtin_catalog_dir
from intelligentos.domain.alerts import Alert, State
from intelligentos.domain.detection import Severity
from intelligentos.domain.lineage import LineageGraph
from intelligentos.domain.silences import (
    Matcher,
    Silence,
    SilenceEntry,
    log_of,
    silenced_alerts,
    silences_of,
)
from intelligentos.services.catalog import load_catalog
from intelligentos.services.silences import SilenceRequest, add_silence, expire_silence
from intelligentos.services.snapshots import DataService
from intelligentos.store import Store
from intelligentos.tui.widgets.kpi_table import KpiTable

from .tui_helpers import FIXED_NOW, header_text, make_app, settle, wait_until

NOW = datetime(2026, 12, 7, 10, 0, 0)
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def demo():
    catalog = load_catalog(builtin_catalog_dir())
    return catalog, LineageGraph(catalog)


def alert(alert_id: int, kpi_id: str | None, rule: str = "target", **more) -> Alert:
    fields = {
        "rule": rule,
        "severity": Severity.WARNING,
        "state": State.FIRING,
        "opened_at": "2026-12-07T09:00:00Z",
        "updated_at": "2026-12-07T09:00:00Z",
        "kpi_id": kpi_id,
        "id": alert_id,
        **more,
    }
    return Alert(**fields)


def silence(matcher: str, value: str, start="09:30", end="12:00", **more) -> Silence:
    return Silence(
        Matcher(matcher),
        value,
        f"2026-12-07T{start}:00Z",
        f"2026-12-07T{end}:00Z",
        who="ana",
        note="CRM migration",
        id=3,
        **more,
    )


MQLS = alert(1, "mqls", "drift")  # MQLs: the CMO's, fed by marketing_automation
WIN_RATE = alert(2, "win_rate")  # the CRO's, fed by the CRM
MARGIN = alert(3, "gross_margin")  # a CEO KPI the CFO owns, fed by the ERP
RESOLVED = alert(4, "mqls", state=State.RESOLVED, resolved_at="2026-12-07T09:40:00Z")
STALE_CRM = alert(5, None, "stale-source", system_id="crm")
ALERTS = [MQLS, WIN_RATE, MARGIN, RESOLVED, STALE_CRM]


# --- which alerts a silence covers -----------------------------------------------------------


@pytest.mark.parametrize(
    ("held", "expected"),
    [
        # A KPI: its open alerts, not its resolved one (4).
        (silence("kpi", "mqls"), {1}),
        # A rule: every open alert of it.
        (silence("rule", "target"), {2, 3}),
        # A system: its stale-source alert and the KPIs whose lineage reads it (win rate).
        (silence("system", "crm"), {2, 5}),
        # An agent: the alerts routed to it: the CDO is routed gross margin only (it
        # supports it), not MQLs nor win rate, nor the CRM's staleness (it owns no KPI
        # the CRM feeds).
        (silence("agent", "cdo"), {3}),
        # Expired by hand before now (10:00), ended before now, not started yet: nothing.
        (silence("kpi", "mqls", expired_at="2026-12-07T09:45:00Z", expired_by="bo"), set()),
        (silence("kpi", "mqls", start="08:00", end="09:59"), set()),
        (silence("kpi", "mqls", start="10:01"), set()),
    ],
)
def test_an_active_silence_covers_its_open_alerts(demo, held, expected):
    catalog, graph = demo
    found = silenced_alerts(ALERTS, [held], NOW, catalog, graph)
    assert set(found) == expected
    assert all(s is held for s in found.values())


def test_no_silence_covers_nothing(demo):
    catalog, graph = demo
    assert silenced_alerts(ALERTS, [], NOW, catalog, graph) == {}


# --- the log of a silence and of an alert it covered -----------------------------------------


def test_a_silence_log_says_who_added_it_and_who_expired_it():
    expired = silence("kpi", "mqls", expired_at="2026-12-07T09:45:00Z", expired_by="bo")
    assert log_of(expired, NOW) == [
        SilenceEntry("2026-12-07T09:30:00Z", "ana", "silenced", expired),
        SilenceEntry("2026-12-07T09:45:00Z", "bo", "silence expired", expired),
    ]
    ended = silence("kpi", "mqls", end="09:50")
    assert log_of(ended, NOW)[1] == SilenceEntry("2026-12-07T09:50:00Z", "", "silence ended", ended)
    holding = silence("kpi", "mqls")
    assert log_of(holding, NOW) == [
        SilenceEntry("2026-12-07T09:30:00Z", "ana", "silenced", holding)
    ]
    assert log_of(holding, NOW)[0].describe() == (
        "silenced by ana until 2026-12-07T12:00:00Z: CRM migration (silence 3, kpi mqls)"
    )
    assert log_of(expired, NOW)[1].describe() == "silence expired by bo (silence 3, kpi mqls)"


def test_an_alerts_history_shows_the_silences_that_covered_it():
    # Opened 09:00, resolved 09:40: a silence from 09:30 covered it; one from 09:45 did not;
    # one on another KPI did not.
    during = silence("kpi", "mqls", expired_at="2026-12-07T09:35:00Z", expired_by="bo")
    later = silence("kpi", "mqls", start="09:45")
    other = silence("kpi", "win_rate")
    entries = silences_of(RESOLVED, [later, during, other], NOW)
    assert [(e.at, e.actor, e.action) for e in entries] == [
        ("2026-12-07T09:30:00Z", "ana", "silenced"),
        ("2026-12-07T09:35:00Z", "bo", "silence expired"),
    ]


# --- the command line ------------------------------------------------------------------------


def check_json(db: Path) -> tuple[int, dict]:
    result = run("check", "--json", "--db", str(db))
    return result.exit_code, json.loads(result.stdout)


def test_check_passes_when_every_firing_alert_is_silenced(today_store):
    code, report = check_json(today_store)
    assert code == 1 and report["firing_unacknowledged"] > 0
    asking = [r for r in report["open"] if r["needs_attention"]]
    kpis = sorted({r["kpi_id"] for r in asking if r["kpi_id"]})
    systems = sorted({r["system_id"] for r in asking if not r["kpi_id"]})
    for kpi in kpis:
        assert (
            run(
                "silence",
                "add",
                "--kpi",
                kpi,
                "--for",
                "2h",
                "--note",
                "x",
                "--db",
                str(today_store),
            ).exit_code
            == 0
        )
    for system in systems:
        assert (
            run(
                "silence",
                "add",
                "--system",
                system,
                "--for",
                "2h",
                "--note",
                "x",
                "--db",
                str(today_store),
            ).exit_code
            == 0
        )

    code, report = check_json(today_store)
    assert (code, report["firing_unacknowledged"]) == (0, 0)
    text = run("alerts", "--db", str(today_store)).output
    assert "silenced by #1 until" in " ".join(text.split())
    # Still open and recorded, each marked with the silence that hushes it.
    hushed = {
        r["id"]: r["silenced_by"] for r in report["open"] if r["id"] in {a["id"] for a in asking}
    }
    assert len(hushed) == len(asking)
    assert all(s is not None and s["who"] and s["note"] == "x" for s in hushed.values())
    first = next(r for r in asking if r["kpi_id"] == kpis[0])
    assert hushed[first["id"]]["matcher"] == "kpi" and hushed[first["id"]]["value"] == kpis[0]
    assert hushed[first["id"]]["id"] == 1  # the first silence added

    # Expire the first KPI's silence: its alerts count again, and only they.
    assert run("silence", "expire", "1", "--db", str(today_store)).exit_code == 0
    code, report = check_json(today_store)
    again = sum(1 for r in asking if r["kpi_id"] == kpis[0])
    assert (code, report["firing_unacknowledged"]) == (1, again)
    listed = json.loads(run("alerts", "--json", "--db", str(today_store)).stdout)["alerts"]
    marked = {r["id"] for r in listed if r["silenced_by"]}
    first_kpis = {r["id"] for r in asking if r["kpi_id"] == kpis[0]}
    assert not marked & first_kpis
    assert set(hushed) - first_kpis <= marked


def test_silence_list_all_is_the_log_of_each_silence(today_store):
    db = str(today_store)
    run(
        "silence",
        "add",
        "--kpi",
        "win_rate",
        "--for",
        "2h",
        "--note",
        "CRM move",
        "--user",
        "ana",
        "--db",
        db,
    )
    run("silence", "expire", "1", "--user", "bo", "--db", db)
    assert run("silence", "list", "--db", db).output == (
        "No silences hold; --all lists the past ones.\n"
    )
    [held] = json.loads(run("silence", "list", "--all", "--json", "--db", db).stdout)
    assert (held["who"], held["expired_by"], held["active"]) == ("ana", "bo", False)
    assert [(e["actor"], e["action"]) for e in held["log"]] == [
        ("ana", "silenced"),
        ("bo", "silence expired"),
    ]
    assert held["log"][1]["at"] == held["expired_at"]
    text = run("silence", "list", "--all", "--db", db).output
    assert "silenced by ana" in text and "silence expired by bo" in text


# --- the cockpit -----------------------------------------------------------------------------

SIZE = (160, 50)


def silence_kpi(path: Path, kpi_id: str) -> Silence:
    with Store.open(path) as store:
        request = SilenceRequest({Matcher.KPI: kpi_id}, "restating", "ana", FIXED_NOW, "2h")
        return add_silence(store, request)


def table_of(app, kpi_id: str) -> KpiTable:
    return next(t for t in app.screen.query(KpiTable) if kpi_id in t.rows)


async def test_a_silenced_kpi_stops_counting_and_flashing_in_the_cockpit(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        data = app.data
        before = len(data.attention)
        # Gross margin: a CEO KPI (a card of the strip); win rate: a row of a panel.
        hushed = [a for a in data.attention if a.kpi_id in ("gross_margin", "win_rate")]
        assert {"gross_margin", "win_rate"} <= app.flashing_kpis
        assert f"⚑ {before} unacknowledged" in header_text(app)
        assert app.screen.query_one("#ceo-gross_margin").has_class("-alerting")

        # Silenced from another connection (as `silence add` would): the cockpit sees it.
        silence_kpi(demo_store, "gross_margin")
        silence_kpi(demo_store, "win_rate")
        after = before - len(hushed)
        await wait_until(pilot, lambda: f"⚑ {after} unacknowledged" in header_text(app))
        await settle(pilot)
        data = app.data
        assert {a.id for a in hushed} <= set(data.silenced)
        # Still open and recorded: only no longer asking for attention.
        assert {a.id for a in hushed} <= {a.id for a in data.open_alerts}
        assert not {"gross_margin", "win_rate"} & app.flashing_kpis
        assert not {"gross_margin", "win_rate"} & app.pulsing_kpis()
        assert {"gross_margin", "win_rate"} <= data.silenced_kpis
        card = app.screen.query_one("#ceo-gross_margin")
        assert not card.has_class("-alerting")
        assert card.render().plain.startswith("⊘ ")
        assert table_of(app, "win_rate").get_row("win_rate")[1].plain.startswith("⊘ ")
        # The other KPIs still flash.
        assert "mql_to_sql" in app.flashing_kpis


async def test_expiring_the_silence_brings_its_alerts_back(demo_store, tmp_path):
    held = silence_kpi(demo_store, "gross_margin")
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        hushed = len(app.data.attention)
        assert "gross_margin" not in app.flashing_kpis
        with Store.open(demo_store) as store:
            assert held.id is not None
            expire_silence(store, held.id, "bo", FIXED_NOW)
        await wait_until(pilot, lambda: "gross_margin" in app.flashing_kpis)
        back = sum(
            1 for a in app.data.open_alerts if a.kpi_id == "gross_margin" and a.needs_attention
        )
        assert back > 0 and len(app.data.attention) == hushed + back
        card = app.screen.query_one("#ceo-gross_margin")
        # The cards are redrawn after the data they show: wait for it.
        await wait_until(pilot, lambda: not card.render().plain.startswith("⊘"))


def test_the_cockpits_data_gives_an_alerts_silence_history(demo_store):
    held = silence_kpi(demo_store, "gross_margin")
    assert held.id is not None
    later = FIXED_NOW + timedelta(minutes=30)
    with Store.open(demo_store) as store:
        expire_silence(store, held.id, "bo", later)
    moments = [FIXED_NOW]
    services = DataService(demo_store, lambda: moments[-1])
    services.open()
    try:
        data = services.evaluate_and_read(30, None)  # the alerts open at 09:30
        moments.append(later + timedelta(hours=1))
        catalog, graph = data.stored, data.graph
        margin = next(a for a in data.open_alerts if a.kpi_id == "gross_margin")
        other = next(a for a in data.open_alerts if a.kpi_id == "win_rate")
        entries = services.silence_history(margin, None, catalog, graph)
        # Added by ana at FIXED_NOW (09:30), expired by bo 30 minutes later (10:00).
        assert [(e.at, e.actor, e.action) for e in entries] == [
            ("2026-11-27T09:30:00Z", "ana", "silenced"),
            ("2026-11-27T10:00:00Z", "bo", "silence expired"),
        ]
        assert services.silence_history(other, None, catalog, graph) == []
    finally:
        services.close()
