"""Notifications: ``[[notify]]`` sinks receive one delivery per alert transition, whoever
causes it (``check``, ``ack``, ``snooze``, the cockpit), never twice, never the history; a
failing sink is retried, then reported, never fatal; a webhook's token is never shown."""

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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from intelligentos.cli.main import app as cli
from intelligentos.config.settings import CockpitSettings
from intelligentos.domain.alerts import Alert, Event, State
from intelligentos.domain.clock import utc_today
from intelligentos.domain.detection import Severity
from intelligentos.domain.notify import NotifySink, body, encode, mask_url, scrub
from intelligentos.services import notify as service
from intelligentos.services.check import evaluate_store
from intelligentos.services.notify import Notifier, Outcome, check_sinks
from intelligentos.store import Store
from intelligentos.store.notify import Deliveries, Delivery

from .tui_helpers import FIXED_NOW, make_app, settle

runner = CliRunner()

# Writes its standard input, one body per line, to the file named by its first argument;
# when the body is an acknowledgement and a second argument names a file, waits first until
# that file exists (a minute at most): a sink as slow as the test wants it.
SINK_SCRIPT = """
import json, os, sys, time
data = sys.stdin.read()
if len(sys.argv) > 2 and json.loads(data)["transition"]["action"] == "acknowledge":
    deadline = time.monotonic() + 60
    while not os.path.exists(sys.argv[2]) and time.monotonic() < deadline:
        time.sleep(0.01)
with open(sys.argv[1], "a", encoding="utf-8") as out:
    out.write(data.replace("\\n", " ") + "\\n")
"""


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setattr(service, "RETRY_DELAYS", (0.01, 0.02))
    # A command sink is a Python process per event: on a loaded machine a run of them takes
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


def event_ids(db: Path) -> list[int]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT id FROM alert_events ORDER BY id")]


def delivery_rows(db: Path) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return conn.execute(
            "SELECT event_id, sink, attempts, outcome, detail FROM deliveries ORDER BY event_id"
        ).fetchall()


def warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("Warning: ")]


def firing_id(db: Path) -> int:
    records = json.loads(run("alerts", "--db", str(db), "--json").stdout)["alerts"]
    return next(r["id"] for r in records if r["needs_attention"])


# --- the body and masking -------------------------------------------------------------------


def test_the_body_names_the_alert_and_the_transition():
    alert = Alert(
        rule="target",
        severity=Severity.CRITICAL,
        state=State.ACKNOWLEDGED,
        opened_at="2026-11-27T09:00:00Z",
        updated_at="2026-11-27T09:30:00Z",
        kpi_id="win_rate",
        id=7,
        value=float("nan"),
        expected=25.0,
        message="below target",
    )
    event = Event(
        "2026-11-27T09:30:00Z",
        "alice",
        "acknowledge",
        State.FIRING,
        State.ACKNOWLEDGED,
        "on it",
        18.0,
        alert_id=7,
    )
    document = body(alert, event, 41, ["cro", "ceo"], "Win Rate")
    assert set(document) == {"event_id", "alert", "transition"}
    assert document["event_id"] == 41
    assert document["alert"] == {
        "id": 7,
        "kpi_id": "win_rate",
        "system_id": None,
        "subject": "Win Rate",
        "rule": "target",
        "severity": "critical",
        "state": "acknowledged",
        "value": document["alert"]["value"],
        "expected": 25.0,
        "message": "below target",
        "routed_to": ["cro", "ceo"],
        "driven_by": None,
    }
    assert document["transition"] == {
        "action": "acknowledge",
        "at": "2026-11-27T09:30:00Z",
        "actor": "alice",
        "note": "on it",
        "from_state": "firing",
        "to_state": "acknowledged",
    }
    # JSON has no NaN: it is sent as null.
    assert json.loads(encode(document))["alert"]["value"] is None


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
    assert [b["event_id"] for b in received(out)] == event_ids(today_store) != []


# --- a demo store's alerts are made up ---------------------------------------------------------


def test_a_demo_store_notifies_only_the_sinks_that_ask_for_it(
    config, today_store, script, tmp_path
):
    plain, asked = tmp_path / "plain.jsonl", tmp_path / "asked.jsonl"
    write_config(config, command_sink(script, plain, demo=False), command_sink(script, asked))
    result = run("check", "--db", str(today_store))
    assert result.exit_code == 1  # alerts fire on the demo store
    assert received(plain) == []
    assert [b["event_id"] for b in received(asked)] == event_ids(today_store) != []
    [line] = warnings(result.stderr)
    line = " ".join(line.split())
    assert "is a demo store" in line and "demo = true" in line
    assert "command " + sys.executable in line  # names the sink that got nothing
    assert str(config / "config.toml") in line


def test_a_store_without_demo_history_notifies_every_sink(config, tmp_path, script):
    store = tmp_path / "real.db"
    assert run("init", "--db", str(store), "--no-demo").exit_code == 0
    with sqlite3.connect(store) as conn:
        # The value of a real month, far below Gross Margin's target of 72 %.
        conn.execute(
            "INSERT INTO observations (kpi_id, period, value) VALUES ('gross_margin', ?, 40.0)",
            (utc_today().replace(day=1).isoformat(),),
        )
    conn.close()
    out = tmp_path / "received.jsonl"
    write_config(config, command_sink(script, out, demo=False))
    result = run("check", "--db", str(store))
    assert not warnings(result.stderr)
    bodies = received(out)
    assert any(b["alert"]["kpi_id"] == "gross_margin" for b in bodies)
    assert [b["event_id"] for b in bodies] == event_ids(store)


# --- delivery through the CLI -----------------------------------------------------------------


def test_a_command_sink_gets_each_transition_once_across_check_ack_and_check(
    config, today_store, script, tmp_path
):
    out = tmp_path / "received.jsonl"
    write_config(config, command_sink(script, out))
    first = run("check", "--db", str(today_store))
    assert first.exit_code == 1 and not warnings(first.stderr)
    opened = received(out)
    assert opened and {b["transition"]["action"] for b in opened} == {"open"}
    assert [b["event_id"] for b in opened] == event_ids(today_store)

    alert_id = firing_id(today_store)
    assert run("ack", str(alert_id), "--db", str(today_store), "--note", "mine").exit_code == 0
    assert run("snooze", str(alert_id), "--db", str(today_store), "--for", "1h").exit_code == 0
    again = run("check", "--db", str(today_store))
    assert again.exit_code in (0, 1) and not warnings(again.stderr)

    bodies = received(out)
    ids = [b["event_id"] for b in bodies]
    assert len(ids) == len(set(ids)), "an event was delivered twice"
    assert sorted(ids) == event_ids(today_store)
    ack = next(b for b in bodies if b["transition"]["action"] == "acknowledge")
    assert ack["alert"]["id"] == alert_id
    assert ack["alert"]["state"] == "acknowledged"
    assert ack["transition"]["note"] == "mine"
    assert ack["alert"]["routed_to"]
    snoozed = next(b for b in bodies if b["transition"]["action"] == "snooze")
    assert snoozed["alert"]["state"] == "snoozed"
    assert {row[3] for row in delivery_rows(today_store)} == {"delivered"}


def test_a_sink_added_later_does_not_receive_the_history(config, today_store, script, tmp_path):
    assert run("check", "--db", str(today_store)).exit_code == 1  # no sink yet
    assert event_ids(today_store)
    out = tmp_path / "received.jsonl"
    write_config(config, command_sink(script, out))
    run("check", "--db", str(today_store))
    assert received(out) == []
    alert_id = firing_id(today_store)
    run("ack", str(alert_id), "--db", str(today_store), "--note", "mine")
    assert [b["transition"]["action"] for b in received(out)] == ["acknowledge"]


class Recorder(BaseHTTPRequestHandler):
    posts: list[tuple[str, dict, dict]]
    status = 204

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        payload = json.loads(self.rfile.read(length))
        self.posts.append((self.path, dict(self.headers), payload))
        self.send_response(self.status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook():
    """A local HTTP server recording every POST: (its URL, the list of POSTs)."""
    handler = type("Handler", (Recorder,), {"posts": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def test_a_webhook_gets_one_post_per_transition_and_its_token_is_never_shown(
    config, today_store, webhook
):
    base, handler = webhook
    write_config(config, f'[[notify]]\nwebhook = "{base}/hook/T0?token=s3cret"\ndemo = true')
    first = run("check", "--db", str(today_store))
    assert first.exit_code == 1
    posts = handler.posts
    assert len(posts) == len(event_ids(today_store))
    path, headers, payload = posts[0]
    assert path == "/hook/T0?token=s3cret"
    assert headers["Content-Type"] == "application/json"
    assert payload["transition"]["action"] == "open"

    alert_id = firing_id(today_store)
    run("ack", str(alert_id), "--db", str(today_store), "--note", "mine")
    again = run("check", "--db", str(today_store))
    ids = [p[2]["event_id"] for p in posts]
    assert len(ids) == len(set(ids)) and sorted(ids) == event_ids(today_store)
    assert [p[2]["transition"]["action"] for p in posts].count("acknowledge") == 1
    sinks = {row[1] for row in delivery_rows(today_store)}
    assert sinks and all("s3cret" not in sink and "?…" in sink for sink in sinks)
    for result in (first, again):
        assert "s3cret" not in result.output + result.stderr


def test_a_failing_sink_is_retried_then_reported_once_and_check_keeps_its_status(
    config, today_store, script, tmp_path, webhook
):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    out = tmp_path / "received.jsonl"
    base, handler = webhook
    handler.status = 500
    write_config(
        config,
        f"[[notify]]\ncommand = {json.dumps([sys.executable, '-c', 'import sys; sys.exit(1)'])}"
        "\ndemo = true",
        f'[[notify]]\nwebhook = "http://127.0.0.1:{closed}/hook?token=s3cret"\ndemo = true',
        f'[[notify]]\nwebhook = "{base}/down"\ndemo = true',
        command_sink(script, out),
    )
    result = run("check", "--db", str(today_store))
    assert result.exit_code == 1
    lines = warnings(result.stderr)
    assert len(lines) == 3, result.stderr
    assert any("exit status 1" in line and "3 attempts" in line for line in lines)
    assert any(f"127.0.0.1:{closed}/hook?…" in line for line in lines)
    assert any("HTTP 500" in line for line in lines)
    assert "s3cret" not in result.stderr
    assert len(handler.posts) == 3  # one event, three attempts
    # The working sink got everything; a failed delivery stays pending, to be retried.
    assert [b["event_id"] for b in received(out)] == event_ids(today_store)
    failed = [row for row in delivery_rows(today_store) if row[3] == "pending"]
    assert len(failed) == 3 and {row[2] for row in failed} == {3}
    assert all("it will be retried" in line for line in lines)
    first_failed = {row[0] for row in failed}
    run("check", "--db", str(today_store))
    again = [row for row in delivery_rows(today_store) if row[3] == "pending"]
    # Within its backoff a pending delivery waits: the next event was tried, not the same.
    assert {row[0] for row in again} - first_failed
    assert {row[2] for row in again if row[0] in first_failed} == {3}
    assert all(sum(1 for row in again if row[:2] == key) == 1 for key in {row[:2] for row in again})


def test_a_webhook_that_never_answers_is_bounded(config, today_store, monkeypatch):
    monkeypatch.setattr(service, "TIMEOUT_SECONDS", 0.3)
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        write_config(config, f'[[notify]]\nwebhook = "http://127.0.0.1:{port}/hook"\ndemo = true')
        result = run("check", "--db", str(today_store))
    assert result.exit_code == 1
    # The server never answers: only the timeout could end each of the three attempts.
    [line] = warnings(result.stderr)
    assert "3 attempts" in line and "timed out" in line


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


def test_agents_and_min_severity_filters(demo_store):
    everything = NotifySink(command=("all",), demo=True)
    cro = NotifySink(command=("cro",), agents=("cro",), demo=True)
    critical = NotifySink(command=("critical",), min_severity="critical", demo=True)
    warning = NotifySink(command=("warning",), min_severity="warning", demo=True)
    sent = Sent()
    notifier = Notifier([everything, cro, critical, warning], sender=sent)
    with Store.open(demo_store) as store:
        notifier.prepare(store)
        catalog = store.read_catalog()
        evaluate_store(store, catalog, NOW)
        report = notifier.deliver(store, catalog)
    assert report.failures == [] and report.problems == []
    every = sent.to(everything)
    assert every and len(every) == len({b["event_id"] for b in every})
    assert sent.to(cro) == [b for b in every if "cro" in b["alert"]["routed_to"]]
    assert 0 < len(sent.to(cro)) < len(every)
    assert sent.to(critical) == [b for b in every if b["alert"]["severity"] == "critical"]
    assert 0 < len(sent.to(critical)) < len(every)
    assert sent.to(warning) == [
        b for b in every if b["alert"]["severity"] in ("warning", "critical")
    ]


def test_two_processes_delivering_at_once_send_each_event_once(demo_store):
    sink = NotifySink(command=("x",), demo=True)
    sent = Sent(delay=0.01)
    with Store.open(demo_store) as store:
        Notifier([sink]).prepare(store)
        evaluate_store(store, store.read_catalog(), NOW)
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
        ids = [b["event_id"] for b in sent.to(sink)]
        assert ids and len(ids) == len(set(ids))
        assert sorted(ids) == event_ids(demo_store)
        log = Deliveries(stores[0]).log(sink.label)
        assert {d.outcome for d in log} == {"delivered"} and len(log) == len(ids)
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
                len(received(out)) >= len(event_ids(demo_store))
                and not app.notifications.delivering
            ):
                break
            await pilot.pause(0.05)
        opened = received(out)
        assert opened and {b["transition"]["action"] for b in opened} == {"open"}
        alert = next(a for a in app.data.open_alerts if a.needs_attention)
        app.acknowledge([alert])
        await pilot.pause()
        await pilot.press(*"on it", "enter")
        await settle(pilot)
        # The cockpit has the acknowledgement while the sink is still busy with it.
        assert alert.id not in {a.id for a in app.data.attention}
        assert not any(b["transition"]["action"] == "acknowledge" for b in received(out))
        release.touch()
        for _ in range(200):
            acks = [b for b in received(out) if b["transition"]["action"] == "acknowledge"]
            if acks:
                break
            await pilot.pause(0.05)
        assert len(acks) == 1
        assert acks[0]["alert"]["id"] == alert.id
        assert acks[0]["transition"]["actor"] == "tester"
        assert acks[0]["transition"]["at"].startswith(FIXED_NOW.date().isoformat())


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
    # failure comes (three attempts of a process each, slow on a loaded machine).
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
        assert any("exit status 3" in m and "3 attempts" in m for m in messages)
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
                len(received(asked)) >= len(event_ids(demo_store))
                and not app.notifications.delivering
            ):
                break
            await pilot.pause(0.05)
        assert [b["event_id"] for b in received(asked)] == event_ids(demo_store) != []
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
    monkeypatch.setattr(service, "RETRY_DELAYS", ())  # one attempt per run
    monkeypatch.setattr(service, "FIRST_BACKOFF", timedelta(seconds=0.5))
    flaky_sink = tmp_path / "flaky.py"
    flaky_sink.write_text(FLAKY_SCRIPT, encoding="utf-8")
    out = tmp_path / "received.jsonl"
    config = tmp_path / "cockpit-config"
    config.mkdir()
    write_config(config, command_sink(flaky_sink, out))
    app = make_app(demo_store, config)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        everything = event_ids(demo_store)

        def all_delivered() -> bool:
            # The sink hears of the last event before the cockpit records the outcome.
            rows = delivery_rows(demo_store)
            return bool(rows) and all(row[3] == "delivered" for row in rows)

        for _ in range(400):
            if sorted(b["event_id"] for b in received(out)) == everything and all_delivered():
                break
            await pilot.pause(0.05)
        # The first event failed and waited for its backoff; the cockpit came back for it
        # by itself, with nothing changing in the store, and the rest went after it.
        assert sorted(b["event_id"] for b in received(out)) == everything
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
    config, today_store, webhook
):
    base, handler = webhook
    write_config(
        config,
        'theme = "nord"',
        '[[notify]]\nwebhook = "http://alice:hunter22@hooks.example.com/services/T0"',
        f'[[notify]]\nwebhook = "{base}/hook"\ndemo = true',
    )
    settings = CockpitSettings.load(config)
    assert settings.theme == "nord"
    assert [sink.webhook for sink in settings.notify] == [f"{base}/hook"]
    [skipped] = settings.skipped_sinks
    assert skipped.startswith(f"[[notify]] table 1 in {config / 'config.toml'}: webhook: ")
    assert "http://alice:***@hooks.example.com/services/…" in skipped
    assert "unencrypted" in skipped and skipped.endswith("it was skipped.")
    assert "hunter22" not in skipped

    result = run("check", "--db", str(today_store))
    assert result.exit_code == 1  # alerts fire on the demo store
    [line] = warnings(result.stderr)
    assert "table 1" in " ".join(line.split()) and "hunter22" not in result.stderr
    assert len(handler.posts) == len(event_ids(today_store)) > 0


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


# --- a budget per command, retries later, rounding -------------------------------------------


def test_numbers_in_a_body_are_rounded_to_ten_significant_digits():
    alert = Alert(
        rule="target",
        severity=Severity.WARNING,
        state=State.FIRING,
        opened_at="2026-11-27T09:00:00Z",
        updated_at="2026-11-27T09:00:00Z",
        kpi_id="win_rate",
        id=7,
        value=0.1 + 0.2,  # 0.30000000000000004
        expected=21.005000000000003,
        message="",
    )
    event = Event("2026-11-27T09:00:00Z", "system", "open", None, State.FIRING, None, 0.3)
    sent = json.loads(encode(body(alert, event, 1, [], "Win Rate")))
    assert sent["alert"]["expected"] == 21.005 and sent["alert"]["value"] == 0.3
    big = Alert(**{**alert.__dict__, "value": 15234567.89, "expected": 2 / 3})
    sent = json.loads(encode(body(big, event, 1, [], "Win Rate")))
    assert sent["alert"]["value"] == 15234567.89
    assert sent["alert"]["expected"] == 0.6666666667


class FakeTime:
    """A monotonic clock that moves only when an attempt or a pause takes time."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def pause(self, seconds: float) -> None:
        self.now += seconds


def test_a_run_with_a_budget_ends_every_attempt_by_its_deadline_and_queues_the_rest(demo_store):
    sink = NotifySink(command=("x",), demo=True)
    ticks = FakeTime()
    timeouts: list[float] = []
    sent: list[int] = []

    def slow(target: NotifySink, payload: bytes, timeout: float) -> Outcome:
        timeouts.append(timeout)
        ticks.now += 0.25  # each delivery takes a quarter of a second
        sent.append(json.loads(payload)["event_id"])
        return Outcome(True, "ok")

    notifier = Notifier([sink], sender=slow, monotonic=ticks, pause=ticks.pause)
    with Store.open(demo_store) as store:
        notifier.prepare(store)
        evaluate_store(store, store.read_catalog(), NOW)
        report = notifier.deliver(store, budget=1.0)
        # Each attempt may take what is left of the second, no more; then the run stops.
        assert timeouts == [1.0, 0.75, 0.5, 0.25]
        assert report.delivered == 4 and report.deferred == [sink.label]
        everything = [e for e in event_ids(demo_store) if e > 0]
        rows = Deliveries(store).log(sink.label)
        assert [row.event_id for row in rows] == sent  # the rest is not even claimed
        # The next run sends what was left, once each.
        rest = Notifier([sink], sender=Sent()).deliver(store)
        assert rest.failures == [] and rest.deferred == []
        log = Deliveries(store).log(sink.label)
    delivered = [row.event_id for row in log if row.outcome == "delivered"]
    assert sorted(delivered) == sorted(set(delivered))
    assert len(delivered) == 4 + rest.delivered and set(sent) <= set(delivered)
    assert set(delivered) <= set(everything)


def test_no_retry_is_started_that_the_budget_cannot_hold(demo_store):
    sink = NotifySink(command=("x",), demo=True)
    ticks = FakeTime()
    timeouts: list[float] = []

    def hangs(target: NotifySink, payload: bytes, timeout: float) -> Outcome:
        timeouts.append(timeout)
        ticks.now += timeout  # never answers: uses all it is given
        return Outcome(False, f"no answer within {timeout:g} s")

    notifier = Notifier([sink], sender=hangs, monotonic=ticks, pause=ticks.pause, delays=(0.5, 1.0))
    with Store.open(demo_store) as store:
        notifier.prepare(store)
        evaluate_store(store, store.read_catalog(), NOW)
        report = notifier.deliver(store, budget=1.0)
        [row] = Deliveries(store).log(sink.label)
    assert timeouts == [1.0] and ticks.now == 1.0
    assert (row.outcome, row.attempts, row.detail) == ("pending", 1, "no answer within 1 s")
    assert report.undelivered == 1 and "failed after 1 attempt" in report.failures[0]


def test_the_backoff_doubles_from_thirty_seconds_up_to_an_hour():
    def after(attempts: int) -> float:
        delivery = Delivery(1, "s", attempts, "pending", "HTTP 500", "2026-11-27T09:00:00Z")
        return (service.next_try(delivery) - datetime(2026, 11, 27, 9)).total_seconds()

    assert [after(n) for n in (1, 2, 3, 4, 7, 8, 19)] == [30, 60, 120, 240, 1920, 3600, 3600]


@pytest.fixture
def flaky():
    """A local HTTP server that answers 500 to its first ``failures`` POSTs, then 204."""
    handler = type("Flaky", (Recorder,), {"posts": [], "failures": 1})

    def do_post(self) -> None:
        length = int(self.headers["Content-Length"])
        payload = json.loads(self.rfile.read(length))
        self.posts.append((self.path, dict(self.headers), payload))
        self.send_response(500 if len(self.posts) <= self.failures else 204)
        self.end_headers()

    handler.do_POST = do_post
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", handler
    finally:
        server.shutdown()
        server.server_close()


def test_a_failed_delivery_is_retried_by_a_later_run_once_its_backoff_has_passed(demo_store, flaky):
    url, handler = flaky
    sink = NotifySink(webhook=url, demo=True)
    moment = [NOW]
    notifier = Notifier([sink], clock=lambda: moment[0], delays=())
    with Store.open(demo_store) as store:
        notifier.prepare(store)
        evaluate_store(store, store.read_catalog(), NOW)
        first = notifier.deliver(store)
        [row] = Deliveries(store).log(sink.label)
        assert (row.outcome, row.attempts, row.detail) == ("pending", 1, "HTTP 500")
        assert first.undelivered == 1 and len(handler.posts) == 1
        failed_event = row.event_id

        moment[0] = NOW + timedelta(seconds=29)  # before its backoff: later events only
        notifier.deliver(store)
        tried = [post[2]["event_id"] for post in handler.posts]
        assert tried.count(failed_event) == 1 and len(tried) > 1

        moment[0] = NOW + timedelta(seconds=30)
        third = notifier.deliver(store)
        log = {row.event_id: row for row in Deliveries(store).log(sink.label)}
    assert third.delivered == 1 and third.failures == []
    assert (log[failed_event].outcome, log[failed_event].attempts) == ("delivered", 2)
    tried = [post[2]["event_id"] for post in handler.posts]
    assert tried.count(failed_event) == 2 and len(tried) == len(set(tried)) + 1
    assert all(row.outcome == "delivered" for row in log.values())


def test_a_delivery_is_given_up_on_after_its_last_attempt_until_asked(
    demo_store, flaky, monkeypatch
):
    monkeypatch.setattr(service, "MAX_ATTEMPTS", 2)
    url, handler = flaky
    handler.failures = 2
    sink = NotifySink(webhook=url, demo=True)
    moment = [NOW]
    notifier = Notifier([sink], clock=lambda: moment[0], delays=())
    with Store.open(demo_store) as store:
        notifier.prepare(store)
        evaluate_store(store, store.read_catalog(), NOW)
        notifier.deliver(store)
        moment[0] = NOW + timedelta(hours=2)
        second = notifier.deliver(store)  # its retry fails: given up, the sink left alone
        [row] = Deliveries(store).log(sink.label)
        assert (row.outcome, row.attempts) == ("failed", 2)
        assert "given up on" in second.failures[0] and "notify retry" in second.failures[0]
        moment[0] = NOW + timedelta(days=2)
        notifier.deliver(store)  # failed for good: never re-sent by a run ...
        assert [p[2]["event_id"] for p in handler.posts].count(row.event_id) == 2
        again = notifier.retry(store, event_id=row.event_id)  # ... only when asked
        [retried] = [d for d in Deliveries(store).log(sink.label) if d.event_id == row.event_id]
    assert again.delivered == 1 and (retried.outcome, retried.attempts) == ("delivered", 3)


@pytest.fixture
def hanging():
    """A local HTTP server that reads each POST and never answers (until the test ends)."""
    release = threading.Event()
    handler = type("Hanging", (Recorder,), {"posts": []})

    def do_post(self) -> None:
        length = int(self.headers["Content-Length"])
        self.posts.append((self.path, dict(self.headers), json.loads(self.rfile.read(length))))
        release.wait(60)

    handler.do_POST = do_post
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", handler
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def test_a_hanging_webhook_holds_a_command_no_longer_than_its_budget(
    config, today_store, hanging, monkeypatch
):
    url, handler = hanging
    monkeypatch.setattr(service, "COMMAND_BUDGET_SECONDS", 0.4)
    timeouts: list[float] = []
    real_post = service.post

    def post(target: str, payload: bytes, timeout: float) -> Outcome:
        timeouts.append(timeout)
        return real_post(target, payload, timeout)

    monkeypatch.setattr(service, "post", post)
    write_config(config, f'[[notify]]\nwebhook = "{url}"\ndemo = true')
    result = run("check", "--db", str(today_store))
    assert result.exit_code == 1
    # One attempt, bounded by the command's budget rather than the 5 s per attempt; no
    # retry it could not hold; the delivery is pending, the rest unclaimed.
    assert len(handler.posts) == 1 and len(timeouts) == 1 and timeouts[0] <= 0.4
    [row] = delivery_rows(today_store)
    assert row[2:4] == (1, "pending") and "timed out" in row[4]
    [line] = warnings(result.stderr)
    assert "failed after 1 attempt" in line and "will be retried" in line


def test_notify_list_shows_what_did_not_get_through_and_retry_sends_it(config, today_store, flaky):
    url, handler = flaky
    handler.failures = 3  # the first event's three attempts
    write_config(config, f'[[notify]]\nwebhook = "{url}?token=s3cret"\ndemo = true')
    run("check", "--db", str(today_store))
    listed = run("notify", "list", "--db", str(today_store), "--failed", "--json")
    assert listed.exit_code == 0
    [pending] = json.loads(listed.stdout)
    assert (pending["outcome"], pending["attempts"], pending["detail"]) == (
        "pending",
        3,
        "HTTP 500",
    )
    assert pending["action"] == "open" and "s3cret" not in listed.stdout
    assert pending["next_try"] > pending["at"]
    everything = json.loads(run("notify", "list", "--db", str(today_store), "--json").stdout)
    assert len(everything) == 1  # the sink stopped after its failure: the rest is unclaimed
    table = run("notify", "list", "--db", str(today_store), "--failed")
    assert "HTTP 500" in table.stdout and "pending" in table.stdout

    retried = run("notify", "retry", "--db", str(today_store))
    assert retried.exit_code == 0, retried.output
    assert "Re-sent 1 notification(s); 0 still not delivered." in retried.stdout
    assert [p[2]["event_id"] for p in handler.posts].count(pending["event_id"]) == 4
    assert (
        json.loads(run("notify", "list", "--db", str(today_store), "--failed", "--json").stdout)
        == []
    )


def test_notify_retry_exits_1_while_a_delivery_still_fails(config, today_store, flaky):
    url, handler = flaky
    handler.failures = 10**6
    write_config(config, f'[[notify]]\nwebhook = "{url}"\ndemo = true')
    run("check", "--db", str(today_store))
    retried = run("notify", "retry", "--db", str(today_store))
    assert retried.exit_code == 1
    assert "0 still" not in retried.stdout and "1 still not delivered" in retried.stdout
    [line] = warnings(retried.stderr)
    assert "failed after 6 attempts" in line


def test_only_deliveries_that_did_not_get_through_are_retryable(demo_store):
    sink = NotifySink(command=("x",), demo=True)
    with Store.open(demo_store) as store:
        Notifier([sink]).prepare(store)
        evaluate_store(store, store.read_catalog(), NOW)
        ids = event_ids(demo_store)[:5]
        log = Deliveries(store)
        at = "2026-11-27T09:30:00Z"
        for event_id, attempts, outcome in zip(
            ids,
            (0, 0, 2, 3, 1),
            ("sending", "pending", "pending", "failed", "delivered"),
            strict=True,
        ):
            assert log.claim(event_id, "s", at)
            log.finish(event_id, "s", attempts, outcome, None, at)
        # A claim left mid-send (sending, or pending with no attempt) is never sent again.
        assert [d.event_id for d in log.retryable("s")] == [ids[2]]
        assert [d.event_id for d in log.retryable("s", failed_too=True)] == ids[2:4]
        assert [d.event_id for d in log.retryable("s", failed_too=True, event_id=ids[3])] == [
            ids[3]
        ]
        [pending] = log.retryable("s")
        assert log.reclaim(pending, "2026-11-27T10:00:00Z")
        assert not log.reclaim(pending, "2026-11-27T10:00:00Z")  # another process has it
        assert log.retryable("s") == []
