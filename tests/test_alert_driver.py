"""An alert names what drove the move that fired it ("driven by CSAT, −10.0 pt"): worked
out by hand in the domain, sent in its notification's body, shown in the alerts screen's
detail; a failed explanation costs the phrase, never the notification."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from textual.widgets import Static

from intelligentos.domain.catalog.models import Catalog, Direction, Frequency, Kpi, Level, Unit
from intelligentos.domain.explain.actions import driver
from intelligentos.domain.explain.model import explain
from intelligentos.domain.notify import NotifySink
from intelligentos.domain.whatif.propagation import Tree
from intelligentos.services.check import evaluate_store
from intelligentos.services.notify import Notifier, Outcome
from intelligentos.services.why import alert_driver
from intelligentos.store import Store

from .tui_helpers import make_app, open_alerts, select_alert, wait_until
from .why_store import make_why_store

NOW = datetime(2026, 11, 27, 9, 30)


def kpi(kpi_id: str, name: str, unit: Unit, target: float, **more) -> Kpi:
    return Kpi(
        id=kpi_id,
        name=name,
        level=Level.FUNCTIONAL if "rolls_up_to" in more else Level.CEO,
        unit=unit,
        direction=Direction.HIGHER,
        target=target,
        frequency=Frequency.MONTHLY,
        formula="measured",
        engine="growth",
        **more,
    )


# Customer Health (score, target 80) with CSAT (percent, target 90) by a weight of 0.4.
TREE = Tree(
    Catalog(
        kpis={
            "health": kpi("health", "Customer Health", Unit.SCORE, 80),
            "csat": kpi("csat", "CSAT", Unit.PERCENT, 90, rolls_up_to="health", weight=0.4),
        }
    )
)


def driven(health: tuple[float, float], csat: tuple[float, float]) -> str | None:
    start = {"health": health[0], "csat": csat[0]}
    end = {"health": health[1], "csat": csat[1]}
    found = driver(explain(TREE, "health", start, end))
    return None if found is None else found.text


def test_the_driver_is_the_largest_child_pushing_the_way_it_moved():
    # Health 80 → 75: Δp = −0.0625. CSAT 90 → 80 gives 0.4 × (−10/90) = −0.0444; its own
    # data the rest, −0.0181: CSAT drove it, by its own change of −10.0 pt.
    assert driven((80, 75), (90, 80)) == "driven by CSAT, −10.0 pt"


def test_its_own_data_drives_it_when_its_residual_is_larger():
    # Health 80 → 60: Δp = −0.25; CSAT −0.0444, its own data −0.2056.
    assert driven((80, 60), (90, 80)) == "driven by its own data"
    # CSAT rose (+0.0444) while health fell: it pulled against the move, drove nothing.
    assert driven((80, 75), (80, 90)) == "driven by its own data"


def test_nothing_is_named_for_a_leaf_or_a_kpi_that_did_not_move():
    assert driven((80, 80), (90, 80)) is None  # health did not move
    leaf = explain(TREE, "csat", {"csat": 90.0}, {"csat": 80.0})
    assert driver(leaf) is None


# --- on a store -------------------------------------------------------------------------------


@pytest.fixture
def fired(tmp_path: Path) -> Path:
    """The why store with its rules evaluated on 27 November: NRR, health and their levers
    off target."""
    path = make_why_store(tmp_path)
    with Store.open(path) as store:
        evaluate_store(store, store.read_catalog(), NOW)
    return path


def alerts_of(path: Path) -> dict[tuple[str | None, str], object]:
    with Store.open(path, readonly=True) as store:
        return {(a.kpi_id, a.rule): a for a in store.alerts(None)}


def test_the_service_names_what_drove_each_alert(fired):
    alerts = alerts_of(fired)
    with Store.open(fired, readonly=True) as store:
        catalog = store.read_catalog()
        texts = {
            key: (None if (d := alert_driver(store, a, catalog)) is None else d.text)
            for key, a in alerts.items()
        }
    # NRR = 100 + expansion − churn, October → November: expansion −4 pt of the −6,
    # churn −2 (see tests/why_store.py).
    assert texts[("nrr", "target")] == "driven by Expansion, −4.0 pt"
    # Health: CSAT −0.0444 of its −0.0625, its own data −0.0181.
    assert texts[("health", "target")] == "driven by CSAT, −10.0 pt"
    # Expansion has nothing below it.
    assert texts[("expansion", "target")] is None


class Recorded:
    def __init__(self) -> None:
        self.bodies: list[dict] = []

    def __call__(self, sink: NotifySink, payload: bytes, timeout: float) -> Outcome:
        self.bodies.append(json.loads(payload))
        return Outcome(True, "ok")


def deliver(path: Path) -> tuple[list[dict], list[str]]:
    sent = Recorded()
    notifier = Notifier([NotifySink(command=("sink",))], sender=sent)
    with Store.open(path) as store:
        notifier.prepare(store)
        evaluate_store(store, store.read_catalog(), NOW, wants={})
        report = notifier.deliver(store)
    assert report.failures == []
    return sent.bodies, report.problems


def test_a_notification_says_what_drove_its_alert(tmp_path):
    bodies, problems = deliver(make_why_store(tmp_path))
    assert problems == []
    # One notice per incident, named after its face: the target alert of each KPI here.
    by_kpi = {b["incident"]["kpi_id"]: b["incident"] for b in bodies}
    assert by_kpi["nrr"]["driven_by"] == "driven by Expansion, −4.0 pt"
    assert by_kpi["health"]["driven_by"] == "driven by CSAT, −10.0 pt"
    assert by_kpi["churn"]["driven_by"] is None


def test_a_failed_explanation_costs_the_phrase_not_the_notification(tmp_path, monkeypatch):
    import intelligentos.services.why as why

    def broken(*args, **kwargs):
        raise ValueError("the tree is broken")

    monkeypatch.setattr(why, "alert_driver", broken)
    bodies, problems = deliver(make_why_store(tmp_path))
    assert bodies and all(b["incident"]["driven_by"] is None for b in bodies)
    nrr = next(b["incident"] for b in bodies if b["incident"]["kpi_id"] == "nrr")
    assert (
        f"Incident {nrr['id']} (Net Revenue Retention · target) was sent without what drove "
        "it: the tree is broken"
    ) in problems


async def test_the_alerts_screen_detail_names_the_driver(fired, tmp_path):
    alerts = alerts_of(fired)
    cockpit = make_app(fired, tmp_path / "config")
    async with cockpit.run_test(size=(160, 40)) as pilot:
        await open_alerts(pilot)
        detail = cockpit.screen.query_one("#alerts-detail", Static)
        nrr = alerts[("nrr", "target")]
        await select_alert(pilot, nrr.id)
        await wait_until(pilot, lambda: "driven by Expansion, −4.0 pt" in str(detail.render()))
        assert "Net Revenue Retention" in str(detail.render())
        expansion = alerts[("expansion", "target")]
        await select_alert(pilot, expansion.id)
        await wait_until(pilot, lambda: f"#{expansion.id} Expansion" in str(detail.render()))
        await select_alert(pilot, alerts[("health", "target")].id)
        await wait_until(pilot, lambda: "driven by CSAT, −10.0 pt" in str(detail.render()))
        # Expansion has nothing below it: once worked out, its detail names no driver.
        screen = cockpit.screen
        await wait_until(pilot, lambda: (expansion.id, expansion.period) in screen.drivers)
        await select_alert(pilot, expansion.id)
        await wait_until(pilot, lambda: f"#{expansion.id} Expansion" in str(detail.render()))
        assert screen.drivers[(expansion.id, expansion.period)] == (None, None)
        assert "driven by" not in str(detail.render())
