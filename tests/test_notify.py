"""Notifications: ``[[notify]]`` sinks receive one delivery per incident notice, whoever
causes it (``check``, ``ack``, ``snooze``, the cockpit), never twice, never the history; a
failing sink is retried on its backoff, then reported, never fatal; a webhook's token is never
shown. (Formats and HTTP receivers: tests/test_notify_http.py.)"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from intelligentos.cli.main import app as cli
from intelligentos.config.settings import CockpitSettings
from intelligentos.domain.clock import utc_today
from intelligentos.domain.detection import Rule, Severity
from intelligentos.domain.notify import NotifySink, encode, mask_url, scrub
from intelligentos.domain.outbox import backoff_seconds
from intelligentos.services import notify as service
from intelligentos.services.check import acknowledge_alert, evaluate_store, snooze_alert
from intelligentos.services.notify import Notifier, Outcome, check_sinks
from intelligentos.store import Store

from .tui_helpers import FIXED_NOW, make_app, settle

runner = CliRunner()


SINK_SCRIPT = """
import json, os, sys, time
data = sys.stdin.read()
if len(sys.argv) > 2 and json.loads(data)["change"]["notice"] == "acknowledge":
    deadline = time.monotonic() + 60
    while not os.path.exists(sys.argv[2]) and time.monotonic() < deadline:
        time.sleep(0.01)
with open(sys.argv[1], "a", encoding="utf-8") as out:
    out.write(data.replace("\\n", " ") + "\\n")
"""


@pytest.fixture(autouse=True)
def quick_budget(monkeypatch):
    # A command sink is a Python process per notice: on a loaded machine a run of them takes
    # longer than a command's real budget. The tests of the budget set it themselves.
    monkeypatch.setattr(service, "COMMAND_BUDGET_SECONDS", 120.0)


@pytest.fixture
def config(tmp_path, monkeypatch) -> Path:
    """The config directory the CLI reads (empty until a test writes config.toml)."""
    directory = tmp_path / "config"
    directory.mkdir()
    for name in list(os.environ):
        if name.upper().startswith("INTELLIGENTOS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("INTELLIGENTOS_CONFIG_DIR", str(directory))
    return directory


@pytest.fixture
def script(tmp_path) -> Path:
    path = tmp_path / "sink.py"
    path.write_text(SINK_SCRIPT, encoding="utf-8")
    return path


def command_sink(script: Path, out: Path, *more: str, demo: bool = True) -> str:
    """A [[notify]] table running ``script``; the test stores are demo stores, so it asks
    for their alerts (``demo = true``) unless told otherwise."""
    argv = json.dumps([sys.executable, str(script), str(out), *more])
    return f"[[notify]]\ncommand = {argv}\n" + ("demo = true\n" if demo else "")


def write_config(directory: Path, *tables: str) -> None:
    (directory / "config.toml").write_text("\n".join(tables), encoding="utf-8")


def received(out: Path) -> list[dict]:
    if not out.exists():
        return []
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def run(*args: str):
    return runner.invoke(cli, list(args), catch_exceptions=False)


def notice_ids(db: Path) -> list[int]:
    """The notices a sink may get (not silenced), oldest first."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        rows = conn.execute("SELECT id FROM notices WHERE silence_id IS NULL ORDER BY id")
        return [row[0] for row in rows]


def ids(bodies: list[dict]) -> list[int]:
    return [b["change"]["id"] for b in bodies]


def delivery_rows(db: Path) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return conn.execute(
            "SELECT notice_id, sink, attempts, state, last_error FROM outbox ORDER BY notice_id"
        ).fetchall()


def warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("Warning: ")]


def acked_incident(db: Path) -> tuple[int, list[int]]:
    """An open incident whose firing alerts are all acknowledged by this, and their ids."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        rows = conn.execute(
            "SELECT incident_id, id FROM alerts WHERE state = 'firing' AND incident_id IS NOT NULL "
            "ORDER BY incident_id, id"
        ).fetchall()
    incident = rows[0][0]
    return incident, [alert for owner, alert in rows if owner == incident]


def acknowledge_incident(db: Path, note: str = "mine") -> int:
    incident, alerts = acked_incident(db)
    for alert in alerts:
        assert run("ack", str(alert), "--db", str(db), "--note", note).exit_code == 0
    return incident


# --- the body and masking -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "https://hooks.example.com/services/T0/B0/XXXX?token=abc",
            "https://hooks.example.com/services/…?…",
        ),
        ("https://user:hunter22@host.example/hook", "https://user:***@host.example/hook"),
        ("https://tokenonly@host.example/a/b", "https://***@host.example/a/…"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/"),
        ("https://host.example/3f9a8b7c6d5e4f3a2b1c", "https://host.example/…"),
        ("https://host.example/api#frag", "https://host.example/api#…"),
        ("https://[::1]:9000/x?y=1", "https://[::1]:9000/x?…"),
    ],
)
def test_a_webhook_is_shown_masked(url, shown):
    assert mask_url(url) == shown
    label = NotifySink(webhook=url).label
    assert label.startswith(shown + " #")


def test_two_webhooks_that_mask_alike_stay_two_sinks():
    first = NotifySink(webhook="https://hooks.example.com/services/T0/B0/AAAA")
    second = NotifySink(webhook="https://hooks.example.com/services/T0/B0/BBBB")
    assert first.label != second.label
    assert "AAAA" not in first.label and "BBBB" not in second.label


def test_errors_are_scrubbed_of_the_secret_parts():
    url = "https://user:pw1234@hooks.example.com/services/T0/SECRET?token=s3cret"
    sink = NotifySink(webhook=url)
    text = f"failed to reach {url}; token=s3cret; pw1234 rejected"
    clean = scrub(text, sink.secrets(), sink.label)
    for secret in ("s3cret", "pw1234", "SECRET"):
        assert secret not in clean
    assert sink.label in clean


# --- configuration ----------------------------------------------------------------------------


def test_a_bad_notify_table_is_skipped_and_named_the_rest_is_kept(config):
    write_config(
        config,
        'theme = "nord"',
        '[[notify]]\ncommand = "notify-send hello"',
        '[[notify]]\nwebhook = "ftp://example.com/x?token=s3cret"',
        '[[notify]]\nwebhook = "https://a.example/x"\ncommand = ["true"]',
        '[[notify]]\nwebhook = "https://hooks.example.com/x?token=s3cret"\nmin_severty = "x"',
        '[[notify]]\ncommand = ["true"]\nmin_severity = "urgent"',
        '[[notify]]\nwebhook = "https://hooks.example.com/ok"\nmin_severity = "critical"',
    )
    settings = CockpitSettings.load(config)
    assert settings.theme == "nord"
    assert [sink.webhook for sink in settings.notify] == ["https://hooks.example.com/ok"]
    skipped = settings.skipped_sinks
    assert len(skipped) == 5
    path = str(config / "config.toml")
    assert all(path in line and "skipped" in line for line in skipped)
    assert "table 1" in skipped[0] and "command: must be a list" in skipped[0]
    assert "table 2" in skipped[1] and "webhook: must be an http" in skipped[1]
    assert "exactly one of webhook" in skipped[2]
    assert "min_severty" in skipped[3]
    assert "min_severity" in skipped[4]
    assert settings.problem is not None and "table 5" in settings.problem
    assert "s3cret" not in settings.problem


def test_remembering_a_theme_leaves_the_notify_tables_and_their_secrets_alone(config):
    tables = (
        "# my sinks\n"
        '[[notify]]\nwebhook = "https://hooks.example.com/services/T/B/X?token=s3cret"\n'
        'agents = ["cro"]\n\n[[notify]]\ncommand = ["notify-send", "alert"]\n'
    )
    write_config(config, tables)
    path = config / "config.toml"
    path.chmod(0o644)
    before = path.read_bytes(), path.stat().st_mode
    settings = CockpitSettings.load(config)
    state = settings.remember_theme("dracula")
    document = CockpitSettings.load(config)
    assert document.theme == "dracula"
    assert document.notify == settings.notify and len(document.notify) == 2
    assert (path.read_bytes(), path.stat().st_mode) == before
    assert "s3cret" not in state.read_text(encoding="utf-8")
    assert state.stat().st_mode & 0o777 == 0o600


def test_a_sink_naming_an_unknown_agent_is_skipped(demo_store):
    with Store.open(demo_store) as store:
        catalog = store.read_catalog()
    good = NotifySink(command=("true",), agents=("cro",))
    bad = NotifySink(command=("false",), agents=("cro", "nobody"))
    usable, problems = check_sinks([good, bad], catalog, "/cfg/config.toml")
    assert usable == [good]
    assert len(problems) == 1
    assert "'nobody'" in problems[0] and "/cfg/config.toml" in problems[0]


def test_check_warns_about_a_skipped_table_and_keeps_its_exit_status(config, today_store):
    write_config(config, '[[notify]]\ncommand = "echo hi"')
    result = run("check", "--db", str(today_store))
    assert result.exit_code == 1  # alerts fire on the demo store
    lines = warnings(result.stderr)
    assert len(lines) == 1 and "[[notify]] table 1" in lines[0]


def test_a_bad_value_elsewhere_in_the_file_costs_only_that_key_and_the_sink_is_called(
    config, today_store, script, tmp_path
):
    out = tmp_path / "received.jsonl"
    write_config(config, '[cockpit]\nbell = "yes please"\n', command_sink(script, out))
    result = run("check", "--db", str(today_store))
    assert result.exit_code == 1  # alerts fire on the demo store
    [line] = warnings(result.stderr)
    assert str(config / "config.toml") in line and "cockpit.bell" in line
    assert "default" in line
    assert ids(received(out)) == notice_ids(today_store) != []


# --- a demo store's alerts are made up ---------------------------------------------------------


def test_a_demo_store_notifies_only_the_sinks_that_ask_for_it(
    config, today_store, script, tmp_path
):
    plain, asked = tmp_path / "plain.jsonl", tmp_path / "asked.jsonl"
    write_config(config, command_sink(script, plain, demo=False), command_sink(script, asked))
    result = run("check", "--db", str(today_store))
    assert result.exit_code == 1  # alerts fire on the demo store
    assert received(plain) == []
    assert ids(received(asked)) == notice_ids(today_store) != []
    [line] = warnings(result.stderr)
    line = " ".join(line.split())
    assert "is a demo store" in line and "demo = true" in line
    assert "command " + sys.executable in line  # names the sink that got nothing
    assert str(config / "config.toml") in line


def test_a_store_without_demo_history_notifies_every_sink(config, tmp_path, script):
    store = tmp_path / "real.db"
    assert run("init", "--db", str(store), "--no-demo").exit_code == 0
    with contextlib.closing(sqlite3.connect(store)) as conn, conn:
        # The value of a real month, far below Gross Margin's target of 72 %.
        conn.execute(
            "INSERT INTO observations (kpi_id, period, value) VALUES ('gross_margin', ?, 40.0)",
            (utc_today().replace(day=1).isoformat(),),
        )
    out = tmp_path / "received.jsonl"
    write_config(config, command_sink(script, out, demo=False))
    result = run("check", "--db", str(store))
    assert not warnings(result.stderr)
    [body] = received(out)
    assert body["incident"]["kpi_id"] == "gross_margin"
    assert ids([body]) == notice_ids(store)


# --- delivery through the CLI -----------------------------------------------------------------


def test_a_command_sink_gets_each_notice_once_across_check_ack_and_check(
    config, today_store, script, tmp_path
):
    out = tmp_path / "received.jsonl"
    write_config(config, command_sink(script, out))
    first = run("check", "--db", str(today_store))
    assert first.exit_code == 1 and not warnings(first.stderr)
    opened = received(out)
    assert opened and {b["change"]["notice"] for b in opened} == {"open"}
    assert ids(opened) == notice_ids(today_store)

    incident = acknowledge_incident(today_store)
    again = run("check", "--db", str(today_store))
    assert again.exit_code in (0, 1) and not warnings(again.stderr)

    bodies = received(out)
    assert len(ids(bodies)) == len(set(ids(bodies))), "a notice was delivered twice"
    assert sorted(ids(bodies)) == notice_ids(today_store)
    [ack] = [b for b in bodies if b["change"]["notice"] == "acknowledge"]
    assert ack["incident"]["id"] == incident
    assert ack["incident"]["state"] == "acknowledged"
    assert ack["change"]["note"] == "mine"
    assert ack["incident"]["routed_to"]
    assert {row[3] for row in delivery_rows(today_store)} == {"delivered"}


def test_a_sink_added_later_does_not_receive_the_history(config, today_store, script, tmp_path):
    assert run("check", "--db", str(today_store)).exit_code == 1  # no sink yet
    assert notice_ids(today_store)
    out = tmp_path / "received.jsonl"
    write_config(config, command_sink(script, out))
    run("check", "--db", str(today_store))
    assert received(out) == []
    acknowledge_incident(today_store)
    assert [b["change"]["notice"] for b in received(out)] == ["acknowledge"]


def test_a_webhook_gets_one_post_per_notice_and_its_token_is_never_shown(
    config, today_store, receivers
):
    hook = receivers(otherwise=204)
    write_config(config, f'[[notify]]\nwebhook = "{hook.url}/T0?token=s3cret"\ndemo = true')
    first = run("check", "--db", str(today_store))
    assert first.exit_code == 1
    assert len(hook.posts) == len(notice_ids(today_store))
    post = hook.posts[0]
    assert post.path == "/hook/T0?token=s3cret"
    assert post.headers["Content-Type"] == "application/json"
    assert post.json["change"]["notice"] == "open"

    acknowledge_incident(today_store)
    again = run("check", "--db", str(today_store))
    sent = [p.json for p in hook.posts]
    assert len(ids(sent)) == len(set(ids(sent))) and sorted(ids(sent)) == notice_ids(today_store)
    assert [b["change"]["notice"] for b in sent].count("acknowledge") == 1
    sinks = {row[1] for row in delivery_rows(today_store)}
    assert sinks and all("s3cret" not in sink and "?…" in sink for sink in sinks)
    for result in (first, again):
        assert "s3cret" not in result.output + result.stderr


def test_a_failing_sink_is_reported_and_waits_for_its_backoff_and_check_keeps_its_status(
    config, today_store, script, tmp_path, receivers
):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    out = tmp_path / "received.jsonl"
    down = receivers(otherwise=500)
    write_config(
        config,
        f"[[notify]]\ncommand = {json.dumps([sys.executable, '-c', 'import sys; sys.exit(1)'])}"
        "\ndemo = true",
        f'[[notify]]\nwebhook = "http://127.0.0.1:{closed}/hook?token=s3cret"\ndemo = true',
        f'[[notify]]\nwebhook = "{down.url}"\ndemo = true',
        command_sink(script, out),
    )
    result = run("check", "--db", str(today_store))
    assert result.exit_code == 1
    lines = warnings(result.stderr)
    assert len(lines) == 3, result.stderr
    assert any("exit status 1" in line and "attempt 1 of 8" in line for line in lines)
    assert any(f"127.0.0.1:{closed}/hook?…" in line for line in lines)
    assert any("HTTP 500" in line for line in lines)
    assert "s3cret" not in result.stderr
    assert len(down.posts) == 1  # one attempt; the sink's later notices wait behind it
    # The working sink got everything; a failed delivery stays pending, to be retried.
    assert ids(received(out)) == notice_ids(today_store)
    failed = [row for row in delivery_rows(today_store) if row[2] == 1 and row[3] == "pending"]
    assert len(failed) == 3
    assert all("tried again from" in line for line in lines)
    run("check", "--db", str(today_store))  # within the backoff: nothing is tried again
    assert len(down.posts) == 1
    assert [row for row in delivery_rows(today_store) if row[2] > 1] == []


def test_a_webhook_that_never_answers_is_bounded(config, today_store, monkeypatch):
    monkeypatch.setattr(service, "TIMEOUT_SECONDS", 0.3)
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        write_config(config, f'[[notify]]\nwebhook = "http://127.0.0.1:{port}/hook"\ndemo = true')
        result = run("check", "--db", str(today_store))
    assert result.exit_code == 1
    # The server never answers: only the timeout could end the attempt.
    [line] = warnings(result.stderr)
    assert "attempt 1 of 8" in line and "timed out" in line


# --- filters and concurrency, on the service -------------------------------------------------


class Sent:
    def __init__(self, delay: float = 0.0) -> None:
        self.bodies: list[tuple[NotifySink, dict]] = []
        self.delay = delay
        self.lock = threading.Lock()

    def __call__(self, sink: NotifySink, payload: bytes, timeout: float) -> Outcome:
        time.sleep(self.delay)
        with self.lock:
            self.bodies.append((sink, json.loads(payload)))
        return Outcome(True, "ok")

    def to(self, sink: NotifySink) -> list[dict]:
        return [document for target, document in self.bodies if target == sink]


NOW = datetime(2026, 11, 27, 9, 30)


def test_min_severity_rules_and_agents_choose_the_notices_a_sink_gets(demo_store):
    everything = NotifySink(command=("all",), demo=True)
    cro = NotifySink(command=("cro",), agents=("cro",), demo=True)
    critical = NotifySink(command=("critical",), min_severity="critical", demo=True)
    drift = NotifySink(command=("drift",), rules=(Rule.DRIFT,), demo=True)
    sent = Sent()
    notifier = Notifier([everything, cro, critical, drift], sender=sent)
    with Store.open(demo_store) as store:
        notifier.prepare(store)
        catalog = store.read_catalog()
        evaluate_store(store, catalog, NOW, wants={})
        report = notifier.deliver(store, catalog)
        notices = {n.id: n for n in store.notices()}
    assert report.failures == [] and report.problems == []
    every = sent.to(everything)
    # Without agents: every notice that notifies someone.
    assert ids(every) == [i for i, n in notices.items() if n.notified]
    assert sent.to(cro) == [b for b in every if "cro" in notices[b["change"]["id"]].notified]
    assert 0 < len(sent.to(cro)) < len(every)
    assert sent.to(critical) == [b for b in every if b["incident"]["severity"] == "critical"]
    assert 0 < len(sent.to(critical)) < len(every)
    assert sent.to(drift) == [b for b in every if notices[b["change"]["id"]].rule == "drift"]


def test_what_a_sink_wants():
    # (severity, face rule, notified agents) -> wanted, each by the sink's keys as written.
    plain = NotifySink(command=("x",))
    assert plain.wants(Severity.WARNING, "drift", ["cfo"])
    assert not plain.wants(Severity.CRITICAL, "target", [])  # notifies nobody
    picky = NotifySink(
        command=("x",), min_severity="critical", rules=(Rule.TARGET,), agents=("cro",)
    )
    assert picky.wants(Severity.CRITICAL, "target", ["cfo", "cro"])
    assert not picky.wants(Severity.WARNING, "target", ["cro"])
    assert not picky.wants(Severity.CRITICAL, "drift", ["cro"])
    assert not picky.wants(Severity.CRITICAL, "target", ["cfo"])
    with pytest.raises(ValueError, match="list of rule names"):
        NotifySink(command=("x",), rules="target")
    with pytest.raises(ValueError):
        NotifySink(command=("x",), rules=["no-such-rule"])


def test_two_processes_delivering_at_once_send_each_notice_once(demo_store):
    sink = NotifySink(command=("x",), demo=True)
    sent = Sent(delay=0.01)
    with Store.open(demo_store) as store:
        Notifier([sink]).prepare(store)
        evaluate_store(store, store.read_catalog(), NOW, wants={})
    stores = [Store.open(demo_store) for _ in range(2)]
    try:
        threads = [
            threading.Thread(target=Notifier([sink], sender=sent).deliver, args=(store,))
            for store in stores
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        sent_ids = ids(sent.to(sink))
        assert sent_ids and len(sent_ids) == len(set(sent_ids))
        assert sorted(sent_ids) == notice_ids(demo_store)
        outbox = stores[0].outbox()
        assert {e.state for e in outbox} == {"delivered"} and len(outbox) == len(sent_ids)
    finally:
        for store in stores:
            store.close()


# --- the cockpit ---------------------------------------------------------------------------------


async def test_the_cockpit_delivers_an_acknowledgement_without_waiting_for_it(
    demo_store, tmp_path, script
):
    out = tmp_path / "received.jsonl"
    config = tmp_path / "cockpit-config"
    config.mkdir()
    release = tmp_path / "release"
    # The sink holds an acknowledgement until the test lets it go.
    write_config(config, command_sink(script, out, str(release)))
    app = make_app(demo_store, config)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for _ in range(100):
            if (
                len(received(out)) >= len(notice_ids(demo_store))
                and not app.notifications.delivering
            ):
                break
            await pilot.pause(0.05)
        opened = received(out)
        assert opened and {b["change"]["notice"] for b in opened} == {"open"}
        incident, alert_ids = acked_incident(demo_store)
        alerts = [a for a in app.data.open_alerts if a.id in alert_ids]
        app.acknowledge(alerts)
        await pilot.pause()
        await pilot.press(*"on it", "enter")
        await settle(pilot)
        # The cockpit has the acknowledgement while the sink is still busy with it.
        assert not set(alert_ids) & {a.id for a in app.data.attention}
        assert not any(b["change"]["notice"] == "acknowledge" for b in received(out))
        release.touch()
        for _ in range(200):
            acks = [b for b in received(out) if b["change"]["notice"] == "acknowledge"]
            if acks:
                break
            await pilot.pause(0.05)
        assert len(acks) == 1
        assert acks[0]["incident"]["id"] == incident
        assert acks[0]["change"]["actor"] == "tester"
        assert acks[0]["change"]["at"].startswith(FIXED_NOW.date().isoformat())


async def test_the_cockpit_reports_a_failing_sink_and_a_skipped_table(demo_store, tmp_path):
    config = tmp_path / "cockpit-config"
    config.mkdir()
    failing = json.dumps([sys.executable, "-c", "import sys; sys.exit(3)"])
    write_config(
        config,
        f"[[notify]]\ncommand = {failing}\ndemo = true",
        '[[notify]]\nwebhook = "ftp://x.example/"',
    )
    app = make_app(demo_store, config)
    # Every toast, as it is raised: one shown first may have timed out by the time the
    # failure comes (a process per attempt, slow on a loaded machine).
    messages: list[str] = []
    notify = app.notify

    def recording(message, **kwargs):
        messages.append(str(message))
        return notify(message, **kwargs)

    app.notify = recording
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for _ in range(600):
            if any("failed" in m for m in messages):
                break
            await pilot.pause(0.05)
        assert any("exit status 3" in m and "attempt 1 of 8" in m for m in messages)
        assert any("[[notify]] table 2" in m and "webhook" in m for m in messages)
        assert app.is_running


async def test_the_cockpit_sends_a_demo_stores_alerts_only_where_asked(
    demo_store, tmp_path, script
):
    plain, asked = tmp_path / "plain.jsonl", tmp_path / "asked.jsonl"
    config = tmp_path / "cockpit-config"
    config.mkdir()
    write_config(config, command_sink(script, plain, demo=False), command_sink(script, asked))
    app = make_app(demo_store, config)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for _ in range(100):
            if (
                len(received(asked)) >= len(notice_ids(demo_store))
                and not app.notifications.delivering
            ):
                break
            await pilot.pause(0.05)
        assert ids(received(asked)) == notice_ids(demo_store) != []
        assert received(plain) == []
        demo = [m for m in app.notifications.problems_shown if "is a demo store" in m]
        assert len(demo) == 1 and "demo = true" in demo[0]


# Fails once (leaving a marker), then writes each body it gets, one per line.


FLAKY_SCRIPT = """
import pathlib, sys
marker = pathlib.Path(sys.argv[1] + ".failed-once")
if not marker.exists():
    marker.write_text("x")
    sys.exit(1)
with open(sys.argv[1], "a", encoding="utf-8") as out:
    out.write(sys.stdin.read().replace("\\n", " ") + "\\n")
"""


async def test_the_cockpit_retries_a_failed_delivery_when_it_is_due(
    demo_store, tmp_path, monkeypatch
):
    monkeypatch.setattr(service, "backoff_seconds", lambda attempts: 1)
    flaky_sink = tmp_path / "flaky.py"
    flaky_sink.write_text(FLAKY_SCRIPT, encoding="utf-8")
    out = tmp_path / "received.jsonl"
    config = tmp_path / "cockpit-config"
    config.mkdir()
    write_config(config, command_sink(flaky_sink, out))
    app = make_app(demo_store, config)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        everything = notice_ids(demo_store)

        def all_delivered() -> bool:
            # The sink hears of the last notice before the cockpit records the outcome.
            rows = delivery_rows(demo_store)
            return bool(rows) and all(row[3] == "delivered" for row in rows)

        for _ in range(400):
            if sorted(ids(received(out))) == everything and all_delivered():
                break
            await pilot.pause(0.05)
        # The first notice failed and waited for its backoff; the cockpit came back for it
        # by itself, with nothing changing in the store, and the rest went after it.
        assert sorted(ids(received(out))) == everything
        rows = delivery_rows(demo_store)
        assert [row[2:4] for row in rows if row[0] == everything[0]] == [(2, "delivered")]
        assert all(row[3] == "delivered" for row in rows)


async def test_the_cockpit_comes_back_for_a_pending_delivery_when_it_is_due(demo_store, tmp_path):
    from intelligentos.tui.messages import NotificationsSent

    config = tmp_path / "cockpit-config"
    config.mkdir()
    app = make_app(demo_store, config)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        runs: list[bool] = []
        app.notifications.deliver = lambda: runs.append(True)
        # A run that ended with a delivery due again at once, and nothing else to do.
        app.post_message(NotificationsSent([], [], retry_in=0.0))
        for _ in range(200):
            if runs:
                break
            await pilot.pause(0.05)
        assert runs == [True]


# --- basic authentication only where nobody can read it --------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://alice:hunter22@hooks.example.com/services/T0",
        "http://tok3n@hooks.example.com/hook",  # a lone user name is a credential too
        "HTTP://alice:hunter22@10.0.0.7:8080/hook",
        "http://alice:hunter22@localhost.example.com/hook",
    ],
)
def test_credentials_over_plain_http_are_refused(url):
    with pytest.raises(ValueError, match="would send its user and password unencrypted"):
        NotifySink(webhook=url)


@pytest.mark.parametrize(
    "url",
    [
        "https://alice:hunter22@hooks.example.com/services/T0",
        "http://alice:hunter22@127.0.0.1:8080/hook",
        "http://alice:hunter22@127.8.9.10/hook",
        "http://alice:hunter22@[::1]:9000/hook",
        "http://alice:hunter22@LocalHost:9000/hook",
        "http://hooks.example.com/hook?token=abc",  # no credentials: nothing to protect
    ],
)
def test_credentials_over_https_or_to_the_loopback_are_kept(url):
    assert NotifySink(webhook=url).webhook == url


def test_a_plain_http_sink_with_a_password_is_skipped_by_name_and_the_rest_works(
    config, today_store, receivers
):
    hook = receivers()
    base = hook.url
    write_config(
        config,
        'theme = "nord"',
        '[[notify]]\nwebhook = "http://alice:hunter22@hooks.example.com/services/T0"',
        f'[[notify]]\nwebhook = "{base}/x"\ndemo = true',
    )
    settings = CockpitSettings.load(config)
    assert settings.theme == "nord"
    assert [sink.webhook for sink in settings.notify] == [f"{base}/x"]
    [skipped] = settings.skipped_sinks
    assert skipped.startswith(f"[[notify]] table 1 in {config / 'config.toml'}: webhook: ")
    assert "http://alice:***@hooks.example.com/services/…" in skipped
    assert "unencrypted" in skipped and skipped.endswith("it was skipped.")
    assert "hunter22" not in skipped

    result = run("check", "--db", str(today_store))
    assert result.exit_code == 1  # alerts fire on the demo store
    [line] = warnings(result.stderr)
    assert "table 1" in " ".join(line.split()) and "hunter22" not in result.stderr
    assert len(hook.posts) == len(notice_ids(today_store)) > 0


# --- a command that does not finish ----------------------------------------------------------


def process_stat(pid: int) -> list[str] | None:
    """``/proc/<pid>/stat`` after the command name (state, ppid, pgrp, session, …), or None
    once the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat.rpartition(")")[2].split()


def alive(pid: int) -> bool:
    fields = process_stat(pid)
    return fields is not None and fields[0] != "Z"


def group_members(group: int) -> list[int]:
    """The live processes of process group ``group``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = process_stat(int(entry.name))
            if fields is not None and fields[0] != "Z" and int(fields[2]) == group:
                found.append(int(entry.name))
    return found


def wait_until(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_command_that_times_out_is_ended_with_everything_it_started(tmp_path, monkeypatch):
    monkeypatch.setattr(service, "KILL_GRACE_SECONDS", 0.2)
    started = tmp_path / "started"
    # The shell leads its own group; one grandchild ignores SIGTERM, so only the SIGKILL to
    # the whole group ends it. It says their pids and its own (the group's id).
    shell = (
        "(trap '' TERM; exec sleep 100) & stubborn=$!; sleep 100 & "
        f"echo $stubborn $! $$ > {started}; wait"
    )
    outcome = service.run_command(["sh", "-c", shell], b"{}", timeout=1.5)
    assert outcome == Outcome(False, "no answer within 1.5 s")
    assert started.exists(), "the command did not start within its timeout"
    *grandchildren, group = map(int, started.read_text().split())
    try:
        assert wait_until(lambda: not any(alive(pid) for pid in grandchildren))
        assert wait_until(lambda: not group_members(group))
    finally:
        for pid in grandchildren:  # what the old behaviour left running
            if alive(pid) and Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"sleep"):
                os.kill(pid, 9)


# --- rounding, backoff, a budget per command -------------------------------------------------


def test_numbers_in_a_body_are_rounded_to_ten_significant_digits():
    document = {"value": 0.1 + 0.2, "expected": 21.005000000000003, "big": 15234567.89}
    sent = json.loads(encode({**document, "third": 2 / 3, "nan": float("nan")}))
    # 0.30000000000000004 and 21.005000000000003 lose the residue of binary arithmetic;
    # ten significant digits keep 15234567.89 whole and make 2/3 0.6666666667.
    assert sent == {
        "value": 0.3,
        "expected": 21.005,
        "big": 15234567.89,
        "third": 0.6666666667,
        "nan": None,  # JSON has no NaN
    }


def test_the_backoff_grows_fourfold_from_thirty_seconds_up_to_six_hours():
    # 30 s, then ×4: 120, 480, 1,920, 7,680, 30,720 → capped at 6 h = 21,600 s.
    assert [backoff_seconds(n) for n in range(1, 9)] == [
        30,
        120,
        480,
        1_920,
        7_680,
        21_600,
        21_600,
        21_600,
    ]


def test_a_hanging_webhook_holds_a_command_no_longer_than_its_budget(
    config, today_store, receivers, monkeypatch
):
    hanging = receivers(hold=True)
    monkeypatch.setattr(service, "COMMAND_BUDGET_SECONDS", 0.4)
    timeouts: list[float] = []
    real_post = service.post

    def post(target: str, payload: bytes, timeout: float, content_type: str) -> Outcome:
        timeouts.append(timeout)
        return real_post(target, payload, timeout, content_type)

    monkeypatch.setattr(service, "post", post)
    write_config(config, f'[[notify]]\nwebhook = "{hanging.url}"\ndemo = true')
    result = run("check", "--db", str(today_store))
    assert result.exit_code == 1
    # One attempt, bounded by the command's budget rather than the 5 s per attempt; the
    # delivery is pending, the rest wait behind it.
    assert hanging.arrived.is_set() and not hanging.release.is_set()
    assert len(timeouts) == 1 and timeouts[0] <= 0.4
    first, *rest = delivery_rows(today_store)
    assert first[2:4] == (1, "pending") and "timed out" in first[4]
    assert rest and {row[2:4] for row in rest} == {(0, "pending")}
    [line] = warnings(result.stderr)
    assert "attempt 1 of 8" in line and "tried again from" in line


# --- a person's actions ------------------------------------------------------------------------


def test_acknowledging_the_last_firing_alert_of_an_incident_is_its_one_notice(demo_store):
    with Store.open(demo_store) as store:
        evaluate_store(store, store.read_catalog(), NOW, wants={})
        incident = next(i for i in store.incidents(open_only=True) if len(i.open_alerts) >= 2)
        first, *others = [a.id for a in incident.open_alerts]
        logged = len(store.notices())
        acknowledge_alert(store, first, "ana", "looking", NOW, wants={})
        assert len(store.notices()) == logged  # another alert of it still fires
        for alert_id in others:
            acknowledge_alert(store, alert_id, "bo", "mine", NOW, wants={})
        *_, notice = store.notices()
        assert (notice.incident_id, notice.kind) == (incident.id, "acknowledge")
        assert (notice.actor, notice.note) == ("bo", "mine")
        assert notice.snapshot["state"] == "acknowledged"
        assert {a["state"] for a in notice.snapshot["alerts"]} == {"acknowledged"}
        assert notice.decisions and {"agent_id", "route", "notified", "why"} <= set(
            notice.decisions[0]
        )
        snooze_alert(store, first, timedelta(hours=1), "ana", None, NOW, wants={})
        assert len(store.notices()) == logged + 1  # a snooze is recorded, not notified


def test_a_failing_sink_is_due_again_when_its_first_delivery_is(demo_store):
    tried: list[bytes] = []

    def refusing(sink: NotifySink, payload: bytes, timeout: float) -> Outcome:
        tried.append(payload)
        return Outcome(False, "HTTP 503")

    notifier = Notifier([NotifySink(command=("x",), demo=True)], sender=refusing, clock=lambda: NOW)
    with Store.open(demo_store) as store:
        notifier.prepare(store)
        evaluate_store(store, store.read_catalog(), NOW, wants={})
        report = notifier.deliver(store)
        waiting = store.outbox(states=("pending",))
    # One attempt; the sink's other notices wait behind the first, which is due 30 s later
    # (not at once, as the ones behind it were queued): the cockpit comes back then.
    assert len(tried) == 1 and len(waiting) == len(notice_ids(demo_store)) > 1
    assert report.next_retry == NOW + timedelta(seconds=30)


def test_a_delivery_another_process_is_sending_holds_its_sinks_later_ones_back(demo_store):
    # Another process (the cockpit) has claimed the sink's first delivery and is sending it
    # (a slow PagerDuty): a second sender (`ack` on the CLI) must not send the later ones,
    # or the sink could hear of an acknowledgement before the trigger.
    sink = NotifySink(command=("x",), demo=True)
    with Store.open(demo_store) as store:
        Notifier([sink]).prepare(store)
        evaluate_store(store, store.read_catalog(), NOW, wants={})
        # Queue without sending: a run whose budget is already spent only fans out.
        Notifier([sink], clock=lambda: NOW, monotonic=lambda: 0.0).deliver(store, budget=0.0)
        first, *later = store.outbox(states=("pending",))
        assert later  # the demo store opens more than one incident
        assert store.claim_delivery(first, "2026-11-27T09:30:00Z")  # claimed at NOW
        sent = Sent()
        report = Notifier([sink], sender=sent, clock=lambda: NOW).deliver(store)
        assert sent.to(sink) == [] and report.delivered == 0
        # One claimed an hour ago by a process that died holds nothing back (it is listed
        # by `notify status` and sent again only by hand): the later ones go, in order.
        store.finish_delivery(first.id, "sending", 0, None, None, "2026-11-27T08:30:00Z")
        report = Notifier([sink], sender=sent, clock=lambda: NOW).deliver(store)
        assert ids(sent.to(sink)) == [e.notice_id for e in later]
        assert [e.state for e in store.outbox()] == ["sending"] + ["delivered"] * len(later)


def test_a_sink_that_heard_of_an_incident_hears_the_rest_of_it_whatever_its_filters(demo_store):
    # A critical-only sink (a PagerDuty service) got the trigger of incident A; A then fell
    # to warning, was acknowledged and resolved at warning: the sink must hear of those, or
    # PagerDuty pages on after the acknowledgement and never resolves. Incident B, a warning
    # throughout, it never heard of: nothing of B.
    sink = NotifySink(command=("x",), min_severity="critical", demo=True)
    sent = Sent()
    with Store.open(demo_store) as store:
        evaluate_store(store, store.read_catalog(), NOW, wants={})
        notifier = Notifier([sink], sender=sent, clock=lambda: NOW)
        notifier.prepare(store)  # after the evaluation: its notices are history to the sink
        model = next(n for n in store.notices() if n.notified)
        a, b = [i.id for i in store.incidents()][:2]
        at = "2026-11-27T09:30:00Z"

        def log(incident: int, kind: str, severity: Severity) -> int:
            return store.add_notice(
                incident, kind, at, "ana", None, severity, model.rule, None,
                model.snapshot, model.decisions,
            )  # fmt: skip

        with store.transaction():
            a_open = log(a, "open", Severity.CRITICAL)
            b_open = log(b, "open", Severity.WARNING)
        assert notifier.deliver(store).failures == []
        # A later run: what the sink heard of A is in the outbox, no longer in this batch.
        with store.transaction():
            a_down = log(a, "de-escalate", Severity.WARNING)
            a_ack = log(a, "acknowledge", Severity.WARNING)
            log(b, "resolve", Severity.WARNING)
            a_end = log(a, "resolve", Severity.WARNING)
        assert b_open  # B's notices are logged, and not for this sink
        report = notifier.deliver(store)
    assert report.failures == []
    assert ids(sent.to(sink)) == [a_open, a_down, a_ack, a_end]


def test_an_incident_that_still_fires_when_its_silence_ends_is_notified_then(demo_store, tmp_path):
    from intelligentos.domain.silences import Matcher
    from intelligentos.services.silences import SilenceRequest, add_silence, expire_silence

    from .stores import copy_store

    # Which KPI the evaluation at NOW opens an incident on: learnt from a copy.
    probe = copy_store(demo_store, tmp_path / "probe.db")
    with Store.open(probe) as store:
        evaluate_store(store, store.read_catalog(), NOW, wants={})
        kpi_id = next(i.face.kpi_id for i in store.incidents(open_only=True) if i.face.kpi_id)
    with Store.open(demo_store) as store:
        request = SilenceRequest({Matcher.KPI: kpi_id}, "restating", "ana", NOW, "2h")
        held = add_silence(store, request)
        evaluate_store(store, store.read_catalog(), NOW, wants={})
        [incident] = [i for i in store.incidents(open_only=True) if i.face.kpi_id == kpi_id]
        [hushed] = [n for n in store.notices() if n.incident_id == incident.id]
        assert (hushed.kind, hushed.silence_id) == ("open", held.id)
        # Still silenced a minute later: nothing new.
        evaluate_store(store, store.read_catalog(), NOW + timedelta(minutes=1), wants={})
        assert [n.id for n in store.notices() if n.incident_id == incident.id] == [hushed.id]
        expire_silence(store, held.id, "bo", NOW + timedelta(minutes=2))
        # Three minutes after NOW the incident still fires, and nobody was told: now they are,
        # once (a fourth minute adds nothing).
        for minutes in (3, 4):
            evaluate_store(store, store.read_catalog(), NOW + timedelta(minutes=minutes), wants={})
        told = [n for n in store.notices() if n.incident_id == incident.id][1:]
        assert [(n.kind, n.silence_id) for n in told] == [("open", None)]


def test_pagerduty_never_gets_an_acknowledge_or_a_resolve_of_an_incident_never_triggered_there(
    demo_store,
):
    # A rules = ["target"] PagerDuty sink: incident A opened with a drift face (not for it);
    # its face became a target alert at the same severity (no notice), then A was
    # acknowledged and resolved: PagerDuty would get an acknowledge and a resolve of an
    # incident never triggered there. Incident B opened with a target face: it gets all of B.
    sink = NotifySink(
        command=("x",), rules=(Rule.TARGET,), format="pagerduty", routing_key="R" * 32, demo=True
    )
    sent = Sent()
    with Store.open(demo_store) as store:
        evaluate_store(store, store.read_catalog(), NOW, wants={})
        notifier = Notifier([sink], sender=sent, clock=lambda: NOW)
        notifier.prepare(store)
        model = next(n for n in store.notices() if n.notified)
        a, b = [i.id for i in store.incidents()][:2]
        at = "2026-11-27T09:30:00Z"

        def log(incident: int, kind: str, rule: str) -> int:
            return store.add_notice(
                incident, kind, at, "ana", None, Severity.WARNING, rule, None,
                model.snapshot, model.decisions,
            )  # fmt: skip

        with store.transaction():
            log(a, "open", "drift")
            b_open = log(b, "open", "target")
            log(a, "acknowledge", "target")
            b_ack = log(b, "acknowledge", "target")
            log(a, "resolve", "target")
            b_end = log(b, "resolve", "target")
        report = notifier.deliver(store)
        queued = [e.notice_id for e in store.outbox()]
    assert report.failures == []
    assert queued == [b_open, b_ack, b_end]
    actions = [body["event_action"] for body in sent.to(sink)]
    assert actions == ["trigger", "acknowledge", "resolve"]


def test_a_headline_template_that_raises_gives_way_to_the_default_headline(demo_store):
    # {{ 1 / 0 }} compiles (the sink is accepted) but fails as it renders: the delivery goes
    # with the default headline and one warning, and the run goes on.
    sink = NotifySink(command=("x",), headline="{{ 1 / 0 }}", demo=True)
    sent = Sent()
    with Store.open(demo_store) as store:
        notifier = Notifier([sink], sender=sent)
        notifier.prepare(store)
        evaluate_store(store, store.read_catalog(), NOW, wants={})
        report = notifier.deliver(store)
    assert ids(sent.to(sink)) == notice_ids(demo_store) and report.failures == []
    [problem] = report.problems
    assert "headline template" in problem and "division by zero" in problem


async def test_the_cockpit_reports_a_sender_that_fails_unexpectedly_and_keeps_delivering(
    demo_store, tmp_path, script, monkeypatch
):
    # Whatever goes wrong in a run (here, making a body), it is told, and the run ends: the
    # next one may start, rather than the cockpit never delivering again.
    def boom(*args, **kwargs):
        raise RuntimeError("no body today")

    monkeypatch.setattr(service, "render", boom)
    config = tmp_path / "cockpit-config"
    config.mkdir()
    write_config(config, command_sink(script, tmp_path / "received.jsonl"))
    app = make_app(demo_store, config)
    messages: list[str] = []
    notify = app.notify

    def recording(message, **kwargs):
        messages.append(str(message))
        return notify(message, **kwargs)

    app.notify = recording
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for _ in range(400):
            if any("no body today" in m for m in messages):
                break
            await pilot.pause(0.05)
        assert any("no body today" in m for m in messages)
        await pilot.pause()
        assert not app.notifications.delivering and app.is_running


@pytest.mark.slow  # a wall-clock bound: it means something on a quiet machine only
def test_a_command_that_ignores_sigterm_holds_a_short_attempt_little_longer(tmp_path):
    # A command's attempt within a command's budget: one that ignores SIGTERM gets a quarter
    # of its time, not the full second, before SIGKILL, so `ack` returns in about a second
    # (1.0 s + 0.25 s here; it was 1.0 s + 1.0 s).
    started = tmp_path / "started"
    shell = f"trap '' TERM; echo > {started}; sleep 100 & wait"
    began = time.monotonic()
    outcome = service.run_command(["sh", "-c", shell], b"{}", timeout=1.0)
    took = time.monotonic() - began
    assert outcome == Outcome(False, "no answer within 1 s")
    assert started.exists(), "the command did not start within its timeout"
    assert took < 1.7
