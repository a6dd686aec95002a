"""Notifications: ``[[notify]]`` sinks receive one delivery per alert transition, whoever
causes it (``check``, ``ack``, ``snooze``, the cockpit), never twice, never the history; a
failing sink is retried, then reported, never fatal; a webhook's token is never shown."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import sys
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from intelligentos.alerts import Alert, Event, State
from intelligentos.cli import app as cli
from intelligentos.detection import Severity
from intelligentos.evaluation import evaluate_store
from intelligentos.notify import NotifySink, body, encode, mask_url, scrub
from intelligentos.services import notify as service
from intelligentos.services.notify import Notifier, Outcome, check_sinks
from intelligentos.settings import CockpitSettings
from intelligentos.store import Store
from intelligentos.store.deliveries import Deliveries

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


def command_sink(script: Path, out: Path, *more: str) -> str:
    return f"[[notify]]\ncommand = {json.dumps([sys.executable, str(script), str(out), *more])}\n"


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
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT event_id, sink, attempts, outcome, detail FROM deliveries ORDER BY event_id"
        ).fetchall()


def warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("Warning: ")]


def firing_id(db: Path) -> int:
    records = json.loads(run("alerts", "--db", str(db), "--json").stdout)
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


def test_saving_a_setting_keeps_the_notify_tables_and_the_file_private(config):
    tables = (
        '[[notify]]\nwebhook = "https://hooks.example.com/services/T/B/X?token=s3cret"\n'
        'agents = ["cro"]\n\n[[notify]]\ncommand = ["notify-send", "alert"]\n'
    )
    write_config(config, tables)
    (config / "config.toml").chmod(0o644)
    settings = CockpitSettings.load(config)
    settings.theme = "dracula"
    settings.save(config)
    document = CockpitSettings.load(config)
    assert document.theme == "dracula"
    assert document.notify == settings.notify and len(document.notify) == 2
    assert (config / "config.toml").stat().st_mode & 0o777 == 0o600


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
    write_config(config, f'[[notify]]\nwebhook = "{base}/hook/T0?token=s3cret"')
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
        f"[[notify]]\ncommand = {json.dumps([sys.executable, '-c', 'import sys; sys.exit(1)'])}",
        f'[[notify]]\nwebhook = "http://127.0.0.1:{closed}/hook?token=s3cret"',
        f'[[notify]]\nwebhook = "{base}/down"',
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
    # The working sink got everything; a failed delivery is recorded, never re-sent.
    assert [b["event_id"] for b in received(out)] == event_ids(today_store)
    failed = [row for row in delivery_rows(today_store) if row[3] == "failed"]
    assert len(failed) == 3 and {row[2] for row in failed} == {3}
    first_failed = {row[0] for row in failed}
    run("check", "--db", str(today_store))
    again = [row for row in delivery_rows(today_store) if row[3] == "failed"]
    assert {row[0] for row in again} - first_failed  # the next event was tried, not the same
    assert all(sum(1 for row in again if row[:2] == key) == 1 for key in {row[:2] for row in again})


def test_a_webhook_that_never_answers_is_bounded(config, today_store, monkeypatch):
    monkeypatch.setattr(service, "TIMEOUT_SECONDS", 0.3)
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        write_config(config, f'[[notify]]\nwebhook = "http://127.0.0.1:{port}/hook"')
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

    def __call__(self, sink: NotifySink, payload: bytes) -> Outcome:
        time.sleep(self.delay)
        with self.lock:
            self.bodies.append((sink, json.loads(payload)))
        return Outcome(True, "ok")

    def to(self, sink: NotifySink) -> list[dict]:
        return [document for target, document in self.bodies if target == sink]


NOW = datetime(2026, 11, 27, 9, 30)


def test_agents_and_min_severity_filters(demo_store):
    everything = NotifySink(command=("all",))
    cro = NotifySink(command=("cro",), agents=("cro",))
    critical = NotifySink(command=("critical",), min_severity="critical")
    warning = NotifySink(command=("warning",), min_severity="warning")
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
    sink = NotifySink(command=("x",))
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
            if len(received(out)) >= len(event_ids(demo_store)) and not app.delivering:
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
        config, f"[[notify]]\ncommand = {failing}", '[[notify]]\nwebhook = "ftp://x.example/"'
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
