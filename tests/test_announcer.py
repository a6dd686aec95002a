"""Which alerts are news, and how the user hears of them: one notice per change."""

from __future__ import annotations

from intelligentos.domain.alerts import Alert, State
from intelligentos.domain.detection import Severity
from intelligentos.services.alerts import Announcer
from intelligentos.tui.widgets.header import CockpitHeader

from .tui_helpers import insert_from_another_process, make_app, settle


def alert(alert_id: int, kpi: str, rule: str = "target", critical: bool = False) -> Alert:
    return Alert(
        rule=rule,
        severity=Severity.CRITICAL if critical else Severity.WARNING,
        state=State.FIRING,
        opened_at="2026-11-27T09:30:00Z",
        updated_at="2026-11-27T09:30:00Z",
        kpi_id=kpi,
        id=alert_id,
        message=f"{kpi} {rule} message",
    )


def name(a: Alert) -> str:
    return (a.kpi_id or "").upper()


def test_the_first_round_sums_up_every_alert_then_each_change_gets_one_notice():
    clock = iter(range(100))
    announcer = Announcer(lambda: float(next(clock)))
    first = [alert(1, "nrr"), alert(2, "csat", critical=True)]
    opening = announcer.news(first, name)
    assert opening is not None and opening.critical
    assert opening.message == "2 alerts need attention: press a to review them."
    single = Announcer(lambda: 0.0).news([alert(7, "nrr")], name)
    assert (
        single is not None and single.message == "1 alert needs attention: press a to review them."
    )
    assert announcer.news(first, name) is None  # nothing new
    one = announcer.news([*first, alert(3, "gross_margin")], name)
    assert one is not None and one.title == "GROSS_MARGIN" and one.message.endswith("message")
    burst = [alert(4, "win_rate"), alert(5, "win_rate", "drift"), alert(6, "arr", critical=True)]
    notice = announcer.news([*first, *burst], name)
    assert notice is not None and notice.title == "3 new alerts" and notice.critical
    assert notice.message == "WIN_RATE (target, drift); ARR (target). Press a to review them."


TWO_BREACHES = [("csat", "2026-11-27T12:00:00", 55.0), ("uptime", "2026-11-27T12:00:00", 80.0)]


async def test_start_up_toast_matches_the_header_and_an_insert_raises_one_toast(
    demo_store, tmp_path
):
    app = make_app(demo_store, tmp_path / "config")
    toasts: list[tuple[str, str]] = []
    notify = app.notify

    def recording(message, *, title="", **kwargs):
        toasts.append((str(title), str(message)))
        return notify(message, title=title, **kwargs)

    app.notify = recording
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        header = app.screen.query_one(CockpitHeader).render().plain
        opening = [m for _, m in toasts if "need attention" in m]
        assert len(opening) == 1
        count = int(opening[0].split()[0])
        assert f"⚑ {count} unacknowledged" in header
        toasts.clear()
        insert_from_another_process(demo_store, TWO_BREACHES)
        for _ in range(50):
            await pilot.pause(0.1)
            if {"csat", "uptime"} <= app.flashing_kpis:
                break
        await settle(pilot)
        alert_toasts = [t for t in toasts if "alert" in t[0] or "CSAT" in t[1]]
        assert len(alert_toasts) == 1, toasts
        assert alert_toasts[0][0].endswith("new alerts")
