"""The CEO weekly brief and agent briefs: figures against the store on the demo data, the
formats (Markdown tables, self-contained HTML, JSON), determinism, hostile notes, and the
command's bad input."""

from __future__ import annotations

import json
import os
import re
import stat
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from intelligentos.cli.main import app
from intelligentos.domain.brief.compose import (
    TOP_RISKS,
    BriefError,
    build_brief,
    is_ceo_agent,
    owned_kpis,
)
from intelligentos.domain.brief.render import (
    code,
    format_for_path,
    md,
    to_html,
    to_markdown,
    to_record,
)
from intelligentos.domain.clock import period_upper_bound
from intelligentos.domain.detection import Status
from intelligentos.domain.lineage import LineageGraph
from intelligentos.domain.snapshots import snapshots
from intelligentos.domain.views import agent_view, routed_alerts
from intelligentos.domain.whatif.model import Tree, path_weight
from intelligentos.services.brief import export_brief, make_brief, read_facts
from intelligentos.services.check import acknowledge_alert, evaluate_store, snooze_alert
from intelligentos.store import Store

from .conftest import DEMO_END

runner = CliRunner()
HOSTILE = "<script>alert(1)</script> | x"
WEEK_START = "2026-11-21"


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def briefed_store(demo_store: Path) -> Path:
    """The demo store with a week of alert history: rules evaluated on the 25th (alerts
    open), an alert acknowledged on the 26th with a hostile note, a scenario saved, and
    evaluated again on the 27th."""
    with Store.open(demo_store) as store:
        catalog = store.read_catalog()
        opened = evaluate_store(store, catalog, datetime(2026, 11, 25, 9, 0)).opened
        target = next(a for a in opened if a.kpi_id == "win_rate" and a.rule == "target")
        assert target.id is not None
        acknowledge_alert(store, target.id, "alice", HOSTILE, datetime(2026, 11, 26, 10, 0))
        store.save_scenario("Fix | win", ["win_rate+=3"], "bob", "2026-11-26T11:00:00Z")
        store.save_scenario("Old plan", ["arr+=5%"], "bob", "2026-10-01T11:00:00Z")
        evaluate_store(store, catalog, datetime(2026, 11, 27, 9, 0))
    return demo_store


def brief_of(path: Path, as_of: date = DEMO_END, agent: str | None = None):
    with Store.open(path, readonly=True) as store:
        return make_brief(store, as_of, agent)


# --- figures against the store --------------------------------------------------------------


def test_ceo_kpis_are_the_stores_latest_values_up_to_the_date(briefed_store):
    brief = brief_of(briefed_store)
    with Store.open(briefed_store, readonly=True) as store:
        catalog = store.read_catalog()
        latest = store.latest_windows(2, until=period_upper_bound(DEMO_END))
    ceo = [k.id for k in catalog.ceo_kpis()]
    assert [line.id for line in brief.ceo_kpis] == ceo
    for line in brief.ceo_kpis:
        period, value = latest[line.id][-1]
        assert (line.period, line.value) == (period, value)
        assert line.previous == latest[line.id][-2][1]
        assert line.target == catalog.kpis[line.id].target


def test_headline_counts_equal_the_cockpits_statuses(briefed_store):
    brief = brief_of(briefed_store)
    with Store.open(briefed_store, readonly=True) as store:
        catalog = store.read_catalog()
        windows = store.latest_windows(30, until=period_upper_bound(DEMO_END))
        open_now = store.open_alerts()
    statuses = [s.status for s in snapshots(catalog, windows, DEMO_END).values()]
    h = brief.headline
    assert h.total == len(catalog.kpis)
    assert (h.ok, h.warning, h.critical, h.stale, h.no_data) == tuple(
        statuses.count(s)
        for s in (Status.OK, Status.WARNING, Status.CRITICAL, Status.STALE, Status.NO_DATA)
    )
    assert h.critical > 0 and h.stale > 0
    # As of today the log's replay is the alerts table itself.
    assert h.open_alerts == len(open_now)
    assert h.acknowledged == 1
    assert h.firing == sum(1 for a in open_now if a.needs_attention)
    for line in brief.ceo_kpis:
        assert line.status is snapshots(catalog, windows, DEMO_END)[line.id].status


def test_the_weeks_events_are_the_logs_rows_in_the_window(briefed_store):
    brief = brief_of(briefed_store)
    with Store.open(briefed_store, readonly=True) as store:
        rows = [r for r in store.event_rows() if WEEK_START <= r["at"][:10] <= DEMO_END.isoformat()]
    assert rows
    assert sorted((c.at, c.alert_id) for c in brief.changes) == sorted(
        (r["at"], r["alert_id"]) for r in rows
    )
    counts = brief.change_counts()
    assert counts["opened"] == sum(1 for r in rows if r["action"] == "open")
    assert counts["acknowledged"] == 1
    ack = next(c for c in brief.changes if c.action == "acknowledged")
    assert (ack.actor, ack.note, ack.subject) == ("alice", HOSTILE, "Win Rate")


def test_a_past_week_shows_the_log_as_it_stood(briefed_store):
    before = brief_of(briefed_store, date(2026, 11, 24))
    assert before.headline.open_alerts == 0
    assert before.changes == ()
    # On the 25th the alerts had opened; the acknowledgement came the day after.
    on_25 = brief_of(briefed_store, date(2026, 11, 25))
    assert on_25.headline.open_alerts > 0
    assert on_25.headline.acknowledged == 0
    assert {c.action for c in on_25.changes} == {"opened"}
    assert on_25.scenarios == ()


def test_risks_are_ranked_by_impact_shortfall_times_path_weight_on_weights(briefed_store):
    brief = brief_of(briefed_store)
    with Store.open(briefed_store, readonly=True) as store:
        catalog = store.read_catalog()
    tree = Tree(catalog)
    assert 0 < len(brief.risks) <= TOP_RISKS
    assert brief.off_target == brief.headline.warning + brief.headline.critical
    impacts = [r.impact for r in brief.risks]
    assert impacts == sorted(impacts, reverse=True)
    assert [r.rank for r in brief.risks] == list(range(1, len(brief.risks) + 1))
    for risk in brief.risks:
        assert risk.kpi.status in (Status.WARNING, Status.CRITICAL)
        weight = 1.0 if risk.kpi.id == risk.ceo_id else path_weight(tree, risk.kpi.id, risk.ceo_id)
        assert risk.path_weight == pytest.approx(weight)
        if risk.impact_change is None:  # a path of weights: the scoring model
            assert risk.impact == pytest.approx(risk.shortfall * weight, abs=1e-6)
        assert risk.path[0].id == risk.kpi.id
        assert risk.path[-1].id == risk.ceo_id
        assert risk.sources and all(s.fields for s in risk.sources)
    # SQLs 131 of 180 feed MQL→SQL = 100 * sqls / mqls exactly: back on target it would be
    # 100 × 180 / 610 = 29.5082 % (now 100 × 131 / 610 = 21.4754 %), +8.0328 pt, which is
    # 8.0328 / 30 = 0.267760 of its target; at weight 0.1 revenue growth gains 0.0267760 of
    # its target 40 %, +1.0710 pt (shortfall × path weight would say 0.2722 × 0.05 = 0.0136).
    # The sales story's risks rank above it in the whole brief: the CMO's brief holds it.
    cmo = brief_of(briefed_store, agent="cmo")
    sqls = next(r for r in cmo.risks if r.kpi.id == "sqls")
    assert [step.id for step in sqls.path] == ["sqls", "mql_to_sql", "revenue_growth"]
    assert sqls.impact == pytest.approx(0.026776, abs=1e-6)
    assert sqls.impact_change == pytest.approx(1.071038, abs=1e-6)
    assert sqls.model == "formulas exact; weights linear"
    assert sum(r.impact_change is None for r in brief.risks) >= 2
    win = next(r for r in brief.risks if r.kpi.id == "win_rate")
    assert win.agent_id == "cro"
    assert "No forecast without CRM hygiene" in win.rules
    assert win.ceo_id == "revenue_growth"
    assert {s.id for s in win.sources} == {"crm"}


def test_stale_systems_and_scenarios_of_the_week(briefed_store):
    brief = brief_of(briefed_store)
    stale = {s.id: s for s in brief.stale_systems}
    assert "social_listening" in stale
    assert "brand_health" in {k for k, _ in stale["social_listening"].feeds}
    assert [s.name for s in brief.scenarios] == ["Fix | win"]
    assert brief.scenarios[0].change == "created"


# --- agent briefs ------------------------------------------------------------------------------


def test_an_agent_brief_holds_only_its_kpis(briefed_store):
    brief = brief_of(briefed_store, agent="cro")
    with Store.open(briefed_store, readonly=True) as store:
        catalog = store.read_catalog()
    cro = catalog.agents["cro"]
    assert brief.agent is not None
    owned = {line.id for line in brief.agent.owns}
    supported = {line.id for line in brief.agent.supports}
    assert owned == set(owned_kpis(cro, catalog)) >= set(cro.owns)
    assert supported == set(cro.supports) - owned
    scope = owned | supported
    assert brief.headline.total == len(scope)
    assert {r.kpi.id for r in brief.risks} <= scope
    # The sales story: revenue growth (which cro supports) and the KPIs below it that cro
    # owns, by impact.
    assert [r.kpi.id for r in brief.risks] == [
        "revenue_growth",
        "win_rate",
        "sales_cycle_length",
        "pipeline_coverage",
        "new_arr",
    ]
    graph = LineageGraph(catalog)
    assert {line.id for line in brief.ceo_kpis} == {graph.ceo_kpi_of(k).id for k in scope}
    assert brief.agent.rules == cro.rules
    text = to_markdown(brief)
    assert "## Its rules" in text and "No forecast without CRM hygiene" in text
    assert "Gross Margin" not in text  # another agent's risk


def test_an_agents_alert_counts_agree_with_alerts_and_the_agents_view(demo_store):
    # A week after the data ends: stale sources group their KPIs' alerts under them. One
    # alert of cro's is acknowledged and one snoozed, so every bucket of the sum is used.
    later = datetime(2026, 12, 5, 9, 0)
    with Store.open(demo_store) as store:
        catalog = store.read_catalog()
        evaluate_store(store, catalog, later)
        graph = LineageGraph(catalog)
        routed = routed_alerts("cro", store.open_alerts(), catalog, graph)
        plain = [r.alert for r in routed if r.alert.needs_attention]
        acknowledge_alert(store, plain[0].id or 0, "alice", "on it", later)
        acknowledge_alert(store, plain[1].id or 0, "alice", "later", later)
        snooze_alert(store, plain[1].id or 0, timedelta(days=3), "alice", None, later)
        open_now = store.open_alerts()
    view = agent_view(catalog.agents["cro"], catalog, graph, {}, open_now)
    listed = run("alerts", "--db", str(demo_store), "--agent", "cro", "--json")
    assert listed.exit_code == 0, listed.output
    listed_ids = {a["id"] for a in json.loads(listed.stdout)["alerts"] if a["state"] != "resolved"}
    assert listed_ids == {r.alert.id for r in view.alerts}
    # Alerts on KPIs cro neither owns nor supports reach it through the roll-up and sources
    # (the MQL and SQL counts' stale alerts through MQL→SQL conversion and Revenue Growth),
    # and the sales story's: target, drift and anomaly on the sales cycle, pipeline coverage
    # and win rate, target on new ARR and revenue growth.
    assert len(listed_ids) == 21
    for agent in ("cro", None):
        h = brief_of(demo_store, later.date(), agent).headline
        assert h.firing + h.grouped + h.acknowledged + h.snoozed + h.silenced == h.open_alerts
    cro = brief_of(demo_store, later.date(), "cro")
    assert cro.headline.open_alerts == len(listed_ids)
    assert {a.id for a in cro.open_alerts} == listed_ids
    assert (cro.headline.acknowledged, cro.headline.snoozed) == (1, 1)
    assert (
        cro.headline.grouped
        == sum(1 for r in view.alerts if r.alert.parent_alert_id is not None)
        > 0
    )
    everyone = brief_of(demo_store, later.date()).headline
    assert everyone.open_alerts == len(open_now) and everyone.grouped > 0
    text = to_markdown(cro)
    assert (
        f"**21 open alerts:** {cro.headline.firing} firing unacknowledged · "
        f"{cro.headline.grouped} grouped under a stale source · 1 acknowledged · 1 snoozed."
    ) in text


def test_a_silenced_kpis_alerts_are_not_counted_as_firing_unacknowledged(briefed_store):
    from intelligentos.domain.silences import Matcher
    from intelligentos.services.silences import SilenceRequest, add_silence

    before = brief_of(briefed_store).headline
    with Store.open(briefed_store) as store:
        asking = [
            a for a in store.open_alerts() if a.kpi_id == "gross_margin" and a.needs_attention
        ]
        # Held from 23:00 for two hours: at the end of the brief's day, 23:59:59, it holds.
        request = SilenceRequest(
            {Matcher.KPI: "gross_margin"}, "restating", "ana", datetime(2026, 11, 27, 23), "2h"
        )
        add_silence(store, request)
    assert asking and date(2026, 11, 27) == DEMO_END
    after = brief_of(briefed_store).headline
    assert (after.firing, after.silenced) == (before.firing - len(asking), len(asking))
    assert after.open_alerts == before.open_alerts
    assert f"{len(asking)} silenced · " in to_markdown(brief_of(briefed_store))
    # A day earlier the silence did not hold yet.
    earlier = brief_of(briefed_store, DEMO_END - timedelta(days=1)).headline
    assert earlier.silenced == 0


def test_the_ceo_agents_brief_is_the_ceo_brief(briefed_store):
    with Store.open(briefed_store, readonly=True) as store:
        catalog = store.read_catalog()
        facts = read_facts(store, DEMO_END)
    assert is_ceo_agent(catalog.agents["ceo"], catalog)
    assert not is_ceo_agent(catalog.agents["cro"], catalog)
    assert build_brief(facts, "ceo") == build_brief(facts)
    with pytest.raises(BriefError, match="unknown agent 'nobody'"):
        build_brief(facts, "nobody")


# --- formats ---------------------------------------------------------------------------------


def table_rows(text: str, header_start: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def cells(row: str) -> int:
    """Cells of a pipe-table row, as GitHub splits them (an escaped pipe stays inside)."""
    return len(re.split(r"(?<!\\)\|", row.strip())) - 2


def test_a_hostile_note_cannot_break_the_markdown_table(briefed_store):
    text = to_markdown(brief_of(briefed_store))
    rows = table_rows(text, "| when (UTC)")
    width = cells(rows[0])
    assert all(cells(row) == width for row in rows)
    ack = next(row for row in rows if "alice" in row)
    assert r"\<script\>alert(1)\</script\> \| x" in ack
    scenario = table_rows(text, "| scenario")
    assert cells(scenario[2]) == cells(scenario[0])
    assert r"Fix \| win" in scenario[2]


def test_html_escapes_hostile_notes_and_fetches_nothing(briefed_store):
    page = to_html(brief_of(briefed_store))
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; | x" in page
    assert page.startswith("<!DOCTYPE html>")
    assert "<table>" in page and "@media print" in page
    assert not re.search(r"(src|href)\s*=", page)
    assert "http://" not in page and "https://" not in page and "@import" not in page
    # The acknowledgement is one row of the table: the pipe did not split it.
    row = next(r for r in page.split("<tr>") if "alice" in r)
    assert row.count("<td") == 7


def test_markdown_escaping_of_user_text():
    assert md("a|b") == r"a\|b"
    assert md("*bold* _it_ `code` [link](x) <b> &amp; ~~s~~") == (
        r"\*bold\* \_it\_ \`code\` \[link\](x) \<b\> \&amp; \~\~s\~\~"
    )
    assert md("# heading") == r"\# heading"
    assert md("- item") == r"\- item"
    assert md("1. item") == r"1\. item"
    assert md("11.4% adverse") == "11.4% adverse"
    assert md("two\nlines\r\n") == "two lines"
    assert md("bell\x07") == r"bell\\x07"
    assert code("win_rate") == "`win_rate`"
    assert code("a|b") == r"a\|b"
    assert format_for_path("x.HTML") == "html"
    assert format_for_path("x.json") == "json"
    assert format_for_path("brief") == "md"


def test_json_carries_every_figure(briefed_store):
    brief = brief_of(briefed_store)
    record = json.loads(json.dumps(to_record(brief)))
    assert set(record) >= {"as_of", "week", "headline", "ceo_kpis", "changes", "risks"}
    assert record["as_of"] == "2026-11-27"
    assert record["week"] == {"from": WEEK_START, "to": "2026-11-27"}
    kpi = record["ceo_kpis"][0]
    assert {"id", "name", "value", "target", "status", "changes"} <= set(kpi)
    assert set(kpi["changes"]) == {"week", "previous_period"}
    assert [k["id"] for k in record["ceo_kpis"]] == [line.id for line in brief.ceo_kpis]
    assert len(record["changes"]["events"]) == len(brief.changes)
    assert record["changes"]["counts"]["acknowledged"] == 1
    risks = record["risks"]["top"]
    assert [r["rank"] for r in risks] == list(range(1, len(risks) + 1))
    assert {"kpi", "impact", "shortfall", "path_weight", "path", "sources", "agent"} <= set(
        risks[0]
    )
    assert record["headline"]["open_alerts"] == brief.headline.open_alerts


# --- the command -----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["md", "html", "json"])
def test_the_same_store_and_date_give_the_same_bytes(briefed_store, fmt):
    args = ("brief", "--db", str(briefed_store), "--as-of", "2026-11-27", "--format", fmt)
    first, second = run(*args), run(*args)
    assert first.exit_code == 0, first.output
    assert first.stdout_bytes == second.stdout_bytes
    assert len(first.stdout_bytes) > 1000
    if fmt == "json":
        assert json.loads(first.stdout)["as_of"] == "2026-11-27"


def test_out_writes_the_file_whole(briefed_store, tmp_path):
    out = tmp_path / "brief.html"
    result = run("brief", "--db", str(briefed_store), "--format", "html", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "Wrote the brief" in result.stderr
    shown = run("brief", "--db", str(briefed_store), "--format", "html")
    assert out.read_bytes() == shown.stdout_bytes
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


def test_agent_brief_from_the_command(briefed_store):
    result = run("brief", "--db", str(briefed_store), "--agent", "cro", "--format", "json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["agent"]["id"] == "cro"
    ceo = run("brief", "--db", str(briefed_store), "--agent", "ceo")
    assert ceo.stdout_bytes == run("brief", "--db", str(briefed_store)).stdout_bytes


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--as-of", "27/11/2026"), "--as-of must be a date like 2026-11-27"),
        (("--as-of", "2020-01-01"), "before the first observation"),
        (("--as-of", "2999-01-01"), "in the future"),
        (("--agent", "nobody"), "unknown agent 'nobody'"),
        (("--format", "pdf"), "unknown format 'pdf'"),
    ],
)
def test_bad_input_is_one_error_line(briefed_store, args, message):
    result = run("brief", "--db", str(briefed_store), *args)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    assert message in lines[0]
    assert result.stdout == ""


def test_an_unwritable_out_leaves_no_file(briefed_store, tmp_path):
    missing = tmp_path / "no-such-dir" / "brief.md"
    result = run("brief", "--db", str(briefed_store), "--out", str(missing))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: cannot write")
    assert "nothing was written" in result.stderr
    assert not missing.parent.exists()
    # A directory in the way: refused, and no temporary file is left beside it.
    folder = tmp_path / "taken"
    folder.mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    result = run("brief", "--db", str(briefed_store), "--out", str(folder))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: cannot write")
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert list(folder.iterdir()) == []


# --- the cockpit's brief screen -----------------------------------------------------------------


async def test_the_brief_screen_opens_with_b_and_exports(briefed_store, tmp_path):
    from textual.widgets import Footer, Input, Markdown

    from intelligentos.tui.screens.brief import BriefScreen
    from intelligentos.tui.screens.dialogs import PromptDialog

    from .tui_helpers import make_app, settle

    app = make_app(briefed_store, tmp_path / "config")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, BriefScreen)
        assert screen.brief is not None and screen.brief.as_of == DEMO_END
        assert "week ending 2026-11-27" in str(screen.query_one("#brief-title").render())
        body = screen.query_one("#brief-body", Markdown)
        assert body.source.startswith("# CEO weekly brief, week ending 2026-11-27")
        assert "## Headline" in body.source
        footer = screen.query_one(Footer)
        assert sum(item.size.width for item in footer.query("FooterKey")) <= 120
        assert "Export" in " ".join(str(item.render()) for item in footer.query("FooterKey"))
        shown = "\n".join(str(block.render()) for block in body.query("MarkdownBlock"))
        assert "Headline" in shown and "open alerts" in shown
        # The hostile note is text in the rendered table, not markup.
        cells_shown = [
            cell.plain
            for table in body.query("MarkdownTableContent")
            for row in table.rows
            for cell in row
        ]
        assert HOSTILE in cells_shown

        out = tmp_path / "exported.html"
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, PromptDialog)
        box = app.screen.query_one(Input)
        assert box.value == "brief-2026-11-27.md"
        box.value = str(out)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, BriefScreen)
        page = out.read_text(encoding="utf-8")
        assert page.startswith("<!DOCTYPE html>")
        assert "&lt;script&gt;" in page and "<script" not in page
        assert any(str(out) in str(n.message) for n in app.notices)

        # A path that cannot be written: said, and nothing is left.
        await pilot.press("e")
        await settle(pilot)
        app.screen.query_one(Input).value = str(tmp_path / "missing" / "b.md")
        await pilot.press("enter")
        await settle(pilot)
        assert not (tmp_path / "missing").exists()
        assert any("Not written" in str(n.message) for n in app.notices)

        # Stepping the cockpit back a week reads the brief of that week.
        await pilot.press("less_than_sign")
        await settle(pilot)
        assert screen.brief.as_of == date(2026, 11, 20)
        assert "week ending 2026-11-20" in screen.query_one("#brief-body", Markdown).source
        assert screen.brief.headline.open_alerts == 0

        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, BriefScreen)


async def test_the_palette_opens_the_brief(briefed_store, tmp_path):
    from intelligentos.tui.screens.brief import BriefScreen

    from .tui_helpers import make_app, settle

    app = make_app(briefed_store, tmp_path / "config")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"CEO brief")
        from textual.command import CommandList

        for _ in range(100):
            hits = app.screen.query(CommandList)
            if hits and hits.first().option_count:
                break
            await pilot.pause(0.02)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, BriefScreen)


def test_the_cockpits_export_gets_the_umasks_mode_and_keeps_a_replaced_files(briefed_store):
    """The brief screen's export: a new file 0666 less the umask; a replaced one keeps its."""
    brief = brief_of(briefed_store)
    new, old = briefed_store.parent / "new.md", briefed_store.parent / "old.html"
    old.write_text("old", encoding="utf-8")
    old.chmod(0o604)
    previous = os.umask(0o027)
    try:
        written = export_brief(brief, new, "md")
        export_brief(brief, old, "html")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(new.stat().st_mode) == 0o640
    assert stat.S_IMODE(old.stat().st_mode) == 0o604
    assert written.size == new.stat().st_size > 1000
    assert old.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
