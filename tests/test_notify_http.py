"""Incident notices reach local HTTP receivers shaped like Slack and PagerDuty: one bad data
point is one incident and one message per sink; PagerDuty hears trigger, acknowledge and
resolve under one dedup key; a sink that fails is retried on its backoff and hears the notice
once; a refused one ends dead, listed, and is re-sent by hand; a hanging one never holds a
command past its budget.

The CLI judges with the real clock, so these stores hold the current month's value; the
retries are driven through the service with a clock of the test's."""

from __future__ import annotations

import json
import threading
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from intelligentos.cli.main import app as cli
from intelligentos.domain.clock import utc_today
from intelligentos.domain.notify import NotifySink
from intelligentos.services.check import acknowledge_alert, evaluate_store
from intelligentos.services.notify import Notifier
from intelligentos.store import Store

runner = CliRunner()

# (63.8 − 72.0) / 72.0 = −0.11389: 11.4 % below Gross Margin's target of 72.0 %.
HEADLINE = (
    "■ Gross Margin % critical: 63.8% vs target 72.0% (−11.4%), owner CFO Agent "
    "(Chief Financial Officer)"
)
# Steady months around 72.8 %, so that 63.8 % is also an anomaly and a drift.
HISTORY = [72.4, 72.9, 72.6, 73.1, 72.8, 72.5, 73.0, 72.7, 72.9, 72.6, 73.2, 72.8]
T0 = datetime(2026, 11, 27, 9, 30)


def run(*args: str):
    return runner.invoke(cli, list(args), catch_exceptions=False)


def month_before(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


@pytest.fixture
def config(tmp_path, monkeypatch) -> Path:
    directory = tmp_path / "config"
    directory.mkdir()
    monkeypatch.setenv("INTELLIGENTOS_CONFIG_DIR", str(directory))
    return directory


def write_config(directory: Path, *sinks: str) -> None:
    (directory / "config.toml").write_text("\n".join(sinks), encoding="utf-8")


def sink(url: str, **keys: str) -> str:
    lines = [f"webhook = {json.dumps(url)}"] + [f"{k} = {json.dumps(v)}" for k, v in keys.items()]
    return "[[notify]]\n" + "\n".join(lines) + "\n"


def new_store(tmp_path: Path, name: str = "real.db") -> Path:
    store = tmp_path / name
    assert run("init", "--db", str(store), "--no-demo").exit_code == 0
    return store


def import_values(store: Path, tmp_path: Path, rows: list[tuple[date, float]]) -> None:
    csv = tmp_path / "values.csv"
    lines = ["kpi_id,period,value"] + [f"gross_margin,{d.isoformat()},{v}" for d, v in rows]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert run("import", str(csv), "--db", str(store)).exit_code == 0


def this_month() -> date:
    return utc_today().replace(day=1)


def warnings(stderr: str) -> list[str]:
    return [" ".join(line.split()) for line in stderr.split("Warning: ")[1:]]


def status(store: Path) -> list[dict]:
    result = run("notify", "status", "--db", str(store), "--json")
    assert result.exit_code == 0
    return json.loads(result.stdout)


# --- one bad data point -----------------------------------------------------------------------


def test_one_bad_data_point_is_one_incident_and_one_message_per_sink(config, tmp_path, receivers):
    store = new_store(tmp_path)
    history = [(month_before(this_month(), 12 - i), v) for i, v in enumerate(HISTORY)]
    import_values(store, tmp_path, history)
    slack, plain, document = receivers(), receivers(), receivers()
    write_config(
        config,
        sink(slack.url, format="slack"),
        sink(plain.url, format="text"),
        sink(document.url, format="json"),
    )
    assert run("check", "--db", str(store)).exit_code == 0  # steady: nothing fires
    import_values(store, tmp_path, [(this_month(), 63.8)])

    result = run("check", "--db", str(store))

    assert result.exit_code == 1 and not warnings(result.stderr)
    with Store.open(store) as opened:
        [incident] = opened.incidents()
    # The target (critical), the anomaly (warning) and the drift (critical), as one incident.
    assert sorted(a.rule for a in incident.alerts) == ["anomaly", "drift", "target"]
    assert [len(r.accepted) for r in (slack, plain, document)] == [1, 1, 1]
    [post] = slack.accepted
    assert post.headers["Content-Type"] == "application/json"
    assert post.json["text"] == HEADLINE
    blocks = post.json["blocks"]
    assert blocks[0] == {"type": "section", "text": {"type": "mrkdwn", "text": f"*{HEADLINE}*"}}
    context = [e["text"] for b in blocks[1:] for e in b["elements"]]
    # The alerts in the order they opened (target 1, anomaly 2, drift 3).
    assert "3 alerts: target (critical), anomaly (warning), drift (critical)" in context
    [text] = plain.accepted
    assert text.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert text.body.decode("utf-8").splitlines()[0] == HEADLINE
    [body] = document.accepted
    assert body.json["schema"] == "intelligentos.incident/1"
    assert body.json["incident"]["id"] == incident.id
    assert body.json["change"]["notice"] == "open"
    assert len(body.json["alerts"]) == 3

    again = run("check", "--db", str(store))  # nothing new: nothing sent
    assert again.exit_code == 1
    assert [len(r.posts) for r in (slack, plain, document)] == [1, 1, 1]


# --- PagerDuty ---------------------------------------------------------------------------------


def test_pagerduty_hears_trigger_acknowledge_and_resolve_under_one_dedup_key(
    config, tmp_path, receivers
):
    store = new_store(tmp_path)
    import_values(store, tmp_path, [(this_month(), 63.8)])  # one value: the target alert only
    pager = receivers()
    write_config(config, sink(pager.url, format="pagerduty", routing_key="R0UTE-KEY"))

    assert run("check", "--db", str(store)).exit_code == 1
    assert run("ack", "1", "--db", str(store), "--note", "looking").exit_code == 0
    import_values(store, tmp_path, [(this_month(), 73.0)])  # back above target: resolved
    assert run("check", "--db", str(store)).exit_code == 0

    with Store.open(store) as opened:
        [incident] = opened.incidents()
        namespace = opened.meta()["store.id"]
    bodies = [p.json for p in pager.accepted]
    assert [b["event_action"] for b in bodies] == ["trigger", "acknowledge", "resolve"]
    assert {b["routing_key"] for b in bodies} == {"R0UTE-KEY"}
    assert {b["dedup_key"] for b in bodies} == {f"intelligentos/{namespace}/incident/{incident.id}"}
    trigger = bodies[0]["payload"]
    assert trigger["summary"] == HEADLINE
    assert trigger["severity"] == "critical"
    assert trigger["component"] == "gross_margin"


def test_two_stores_never_share_a_dedup_key(tmp_path):
    first, second = new_store(tmp_path, "a.db"), new_store(tmp_path, "b.db")
    with Store.open(first) as one, Store.open(second) as other:
        assert one.store_id() != other.store_id()
        assert one.store_id() == one.store_id()  # made once, then kept


# --- retries, dead, resend -----------------------------------------------------------------


def open_incident(path: Path, tmp_path: Path, notifier: Notifier) -> None:
    """The store's Gross Margin of November 2026 is 63.8 %, judged at T0: one incident,
    its notice logged in the evaluation's transaction."""
    import_values(path, tmp_path, [(date(2026, 11, 1), 63.8)])
    with Store.open(path) as store:
        notifier.prepare(store)
        evaluate_store(store, store.read_catalog(), T0, wants={})


def test_a_sink_that_fails_three_times_then_recovers_hears_the_notice_once(tmp_path, receivers):
    flaky = receivers(statuses=[500, 500, 500])
    clock = [T0]
    notifier = Notifier([NotifySink(webhook=flaky.url, format="slack")], clock=lambda: clock[0])
    path = new_store(tmp_path)
    open_incident(path, tmp_path, notifier)

    # Backoff: 30 s after the first attempt, 4 × 30 = 120 s after the second, 480 s after
    # the third: attempts at T0, +30 s, +150 s and +630 s.
    tried = []
    for seconds in (0, 29, 30, 149, 150, 629, 630, 86_400):
        clock[0] = T0 + timedelta(seconds=seconds)
        with Store.open(path) as store:
            notifier.deliver(store)
        tried.append(len(flaky.posts))
    assert tried == [1, 1, 2, 2, 3, 3, 4, 4]
    assert [p.status for p in flaky.posts] == [500, 500, 500, 202]
    assert len(flaky.accepted) == 1
    assert len({p.body for p in flaky.posts}) == 1  # the same notice each time
    assert status(path) == []


def test_a_refused_routing_key_ends_dead_is_listed_and_resend_dead_delivers_it(
    config, tmp_path, receivers
):
    refusing = receivers(otherwise=400)  # PagerDuty refuses an unknown routing key with 400
    clock = [T0]
    target = NotifySink(webhook=refusing.url, format="pagerduty", routing_key="WRONG-KEY")
    notifier = Notifier([target], clock=lambda: clock[0])
    path = new_store(tmp_path)
    open_incident(path, tmp_path, notifier)

    # Waits of 30, 120, 480, 1,920, 7,680 s, then 30,720 s capped at 6 h = 21,600 s twice:
    # the eight attempts at these seconds after T0 (each the sum of the waits before it).
    reports = []
    for seconds in (0, 30, 150, 630, 2_550, 10_230, 31_830, 53_430):
        clock[0] = T0 + timedelta(seconds=seconds)
        with Store.open(path) as store:
            reports.append(notifier.deliver(store))
    assert len(refusing.posts) == 8
    assert "attempt 7 of 8" in reports[6].failures[0]
    assert "dead after 8 attempts" in reports[7].failures[0]
    [listed] = status(path)
    assert (listed["state"], listed["attempts"], listed["last_error"]) == ("dead", 8, "HTTP 400")
    assert listed["next_try"] is None and listed["notice"] == "open"
    shown = run("notify", "status", "--db", str(path)).stdout
    assert "dead" in shown and "HTTP 400" in shown and "WRONG-KEY" not in shown

    clock[0] = T0 + timedelta(days=30)  # dead: no later run sends it
    with Store.open(path) as store:
        notifier.deliver(store)
    assert len(refusing.posts) == 8

    refusing.otherwise = 202  # the key is fixed at PagerDuty
    write_config(config, sink(refusing.url, format="pagerduty", routing_key="WRONG-KEY"))
    result = run("notify", "resend", "--dead", "--db", str(path))
    assert result.exit_code == 0, result.output
    assert "Re-sent 1 notification(s); 0 still not delivered." in result.stdout
    assert [p.json["event_action"] for p in refusing.accepted] == ["trigger"]
    assert status(path) == []


def test_resend_by_id_and_its_refusals(config, tmp_path, receivers):
    down = receivers(otherwise=503)
    write_config(config, sink(down.url, format="json"))
    path = new_store(tmp_path)
    import_values(path, tmp_path, [(this_month(), 63.8)])
    checked = run("check", "--db", str(path))
    [line] = warnings(checked.stderr)
    assert "HTTP 503" in line and "attempt 1 of 8" in line and "notify status" in line
    [listed] = status(path)
    assert listed["state"] == "pending" and listed["attempts"] == 1

    assert run("notify", "resend", "--db", str(path)).exit_code == 1  # neither an id nor --dead
    missing = run("notify", "resend", "99", "--db", str(path))
    assert missing.exit_code == 1 and "There is no delivery 99" in missing.stderr
    still = run("notify", "resend", str(listed["id"]), "--db", str(path))
    assert still.exit_code == 1 and "attempt 2 of 8" in " ".join(still.stderr.split())

    down.otherwise = 204
    sent = run("notify", "resend", str(listed["id"]), "--db", str(path))
    assert sent.exit_code == 0
    assert len(down.accepted) == 1 and status(path) == []
    again = run("notify", "resend", str(listed["id"]), "--db", str(path))
    assert again.exit_code == 1 and "got through already" in again.stderr
    assert len(down.posts) == 3


def test_notify_run_exits_1_with_a_sentence_when_a_delivery_fails(config, tmp_path, receivers):
    down = receivers(otherwise=500)
    path = new_store(tmp_path)
    write_config(config, sink(down.url))
    assert run("notify", "run", "--db", str(path)).exit_code == 0  # the sink is seen: nothing due
    import_values(path, tmp_path, [(date(2026, 11, 1), 63.8)])
    with Store.open(path) as store:  # an evaluation that sends nothing itself (no sender)
        evaluate_store(store, store.read_catalog(), T0, wants={})

    failed = run("notify", "run", "--db", str(path))
    assert failed.exit_code == 1
    [line] = warnings(failed.stderr)
    assert "Notification of incident 1 (open)" in line and "HTTP 500" in line
    said = " ".join(failed.stdout.split())
    assert "Sent 0 notification(s); 1 did not get through; 1 wait for a later try, 0 dead" in said
    # Not due again for 30 s: the next run has nothing to do, and says all went.
    quiet = run("notify", "run", "--db", str(path))
    assert quiet.exit_code == 0 and len(down.posts) == 1


# --- never blocking -------------------------------------------------------------------------


def test_a_hanging_webhook_does_not_hold_ack(config, tmp_path, receivers):
    hanging = receivers()
    write_config(config, sink(hanging.url, format="slack"))
    path = new_store(tmp_path)
    import_values(path, tmp_path, [(this_month(), 63.8)])
    assert run("check", "--db", str(path)).exit_code == 1
    assert len(hanging.accepted) == 1
    hanging.hold = True  # from now on it takes a request and answers only when released

    result = run("ack", "1", "--db", str(path), "--note", "mine")

    assert hanging.arrived.is_set() and not hanging.release.is_set()  # still holding it
    assert result.exit_code == 0 and "acknowledged" in result.stdout
    [line] = warnings(result.stderr)
    assert "incident 1 (acknowledge)" in line and "tried again" in line
    hanging.release.set()
    [listed] = status(path)
    assert (listed["notice"], listed["state"], listed["attempts"]) == ("acknowledge", "pending", 1)


# --- silences, templates ----------------------------------------------------------------------


def test_a_silenced_incident_is_logged_with_its_silence_and_sent_nowhere(
    config, tmp_path, receivers
):
    hook = receivers()
    write_config(config, sink(hook.url))
    path = new_store(tmp_path)
    added = run(
        "silence", "add", "--kpi", "gross_margin", "--for", "2h", "--note", "migration",
        "--db", str(path),
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    import_values(path, tmp_path, [(this_month(), 63.8)])
    assert run("check", "--db", str(path)).exit_code in (0, 1)
    with Store.open(path) as store:
        [notice] = store.notices()
        [silence] = store.silences()
    assert notice.kind == "open" and notice.silence_id == silence.id
    assert hook.posts == [] and status(path) == []


def test_a_template_that_fails_falls_back_and_warns_once_per_run(tmp_path, receivers):
    hook = receivers()
    broken = NotifySink(webhook=hook.url, format="text", headline="{{ no_such_field }} down")
    good = NotifySink(
        webhook=hook.url + "?good", format="text", headline="{{ subject }} is {{ severity }}"
    )
    notifier = Notifier([broken, good], clock=lambda: T0)
    path = new_store(tmp_path)
    import_values(path, tmp_path, [(date(2026, 11, 1), 63.8)])
    with Store.open(path) as store:
        notifier.prepare(store)
        evaluate_store(store, store.read_catalog(), T0, wants={})
        # A second notice in the same run: an acknowledgement.
        acknowledge_alert(store, 1, "ana", "mine", T0, wants={})
        report = notifier.deliver(store)
    firsts = {p.path: p.body.decode().splitlines()[0] for p in hook.accepted}
    assert len(hook.accepted) == 4
    assert [p.body.decode().splitlines()[0] for p in hook.accepted if p.path == "/hook"] == [
        HEADLINE,
        f"Acknowledged by ana: {HEADLINE}",
    ]
    assert firsts["/hook?good"] == "Gross Margin % is critical"
    [problem] = report.problems
    assert broken.label in problem and "default headline" in problem


def test_a_delivery_left_sending_is_listed_never_sent_by_a_run_and_resent_when_asked(
    config, tmp_path, receivers
):
    hook = receivers()
    target = NotifySink(webhook=hook.url)
    path = new_store(tmp_path)
    open_incident(path, tmp_path, Notifier([target]))
    # A process claimed the delivery, then died before sending it.
    with Store.open(path) as store:
        Notifier([target], clock=lambda: T0, stop=stopped()).deliver(store)  # queues it only
        [entry] = store.outbox()
        assert store.claim_delivery(entry, "2026-11-27T09:30:00Z")
    [listed] = status(path)
    assert listed["state"] == "sending" and listed["attempts"] == 0
    with Store.open(path) as store:
        Notifier([target], clock=lambda: T0 + timedelta(days=1)).deliver(store)
    assert hook.posts == []  # at most once: a run never sends what another claimed
    write_config(config, sink(hook.url))
    assert run("notify", "resend", str(listed["id"]), "--db", str(path)).exit_code == 0
    assert len(hook.accepted) == 1 and status(path) == []


def stopped():
    """A stop event already set: a run queues what is new and sends nothing."""
    event = threading.Event()
    event.set()
    return event


def test_the_link_line_is_the_cockpits_command_or_the_sinks_template(tmp_path, receivers):
    hook = receivers()
    default = NotifySink(webhook=hook.url, format="text")
    dashboard = NotifySink(
        webhook=hook.url + "?dash",
        format="text",
        link="https://grafana.example.com/d/kpis?var-kpi={{ kpi_id }}&incident={{ incident_id }}",
    )
    broken = NotifySink(webhook=hook.url + "?broken", format="text", link="{{ nowhere }}")
    notifier = Notifier([default, dashboard, broken], clock=lambda: T0)
    path = new_store(tmp_path)
    import_values(path, tmp_path, [(date(2026, 11, 1), 63.8)])
    with Store.open(path) as store:
        notifier.prepare(store)
        evaluate_store(store, store.read_catalog(), T0, wants={})
        report = notifier.deliver(store)
    last = {p.path: p.body.decode().splitlines()[-1] for p in hook.accepted}
    # The store's one incident is the gross-margin breach: incident 1.
    assert last["/hook"] == f"intelligentos-tui alerts --db {path}"
    assert last["/hook?dash"] == (
        "https://grafana.example.com/d/kpis?var-kpi=gross_margin&incident=1"
    )
    assert last["/hook?broken"] == f"intelligentos-tui alerts --db {path}"
    [problem] = report.problems
    assert broken.label in problem and "default link" in problem
