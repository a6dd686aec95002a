"""Delivering alert transitions to the ``[[notify]]`` sinks.

After a transaction that wrote alert events commits (an evaluation, an acknowledgement, a
snooze, by the cockpit or the CLI), :meth:`Notifier.deliver` finds the events each sink
has not had yet and sends them, oldest first, one delivery per event and sink:

* **never twice**: the ``deliveries`` row is claimed before sending (see
  :mod:`intelligentos.store.notify`), so two processes never both send an event; a
  process that dies mid-send leaves the row ``sending`` and the event is not sent again;
* **no history for a new sink**: a sink receives the events logged after it was first seen
  (:meth:`Notifier.prepare`, called before the transaction);
* **bounded**: each attempt has a timeout (webhook: ``urllib.request`` with
  :data:`TIMEOUT_SECONDS`; command: without a shell, in a session of its own, the same
  timeout, after which its whole process group is ended); a run may also have a total
  budget (a CLI command waits :data:`COMMAND_BUDGET_SECONDS` at most): every attempt ends
  by then, and what was not tried stays queued for the next run;
* **not lost**: a failed attempt is retried at once after :data:`RETRY_DELAYS` (while the
  budget allows), then the delivery stays ``pending``, with its attempts and last error, and
  is retried by a later run once its backoff (:func:`next_try`) has passed; after
  :data:`MAX_ATTEMPTS` it is ``failed`` and only re-sent when asked (:meth:`Notifier.retry`).
  A sink that fails in a run is left alone until the next one;
* **never fatal**: every problem is a sentence in the :class:`DeliveryReport`.

Blocking: the cockpit calls it from a thread of its own. Plain Python, no Textual.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

from intelligentos.domain.agents import routes
from intelligentos.domain.alerts import Alert, Event, state_at, subject_name
from intelligentos.domain.catalog.models import Catalog
from intelligentos.domain.clock import parse_stamp, stamp, utc_naive, utc_now
from intelligentos.domain.lineage import LineageGraph
from intelligentos.domain.notify import DELIVERED_ACTIONS, NotifySink, body, encode, scrub
from intelligentos.services.bootstrap import is_demo
from intelligentos.store import Store
from intelligentos.store.notify import (
    DELIVERED,
    FAILED,
    PENDING,
    Deliveries,
    Delivery,
    LoggedEvent,
)

if TYPE_CHECKING:
    from intelligentos.domain.explain.actions import Driver
    from intelligentos.domain.whatif.propagation import Tree

TIMEOUT_SECONDS = 5.0
# How long a CLI command (check, ack, snooze) waits for its notifications in all.
COMMAND_BUDGET_SECONDS = 1.0
# An attempt is not started with less time than this left: it could only time out.
MIN_ATTEMPT_SECONDS = 0.1
# How long a timed-out command's process group has to exit on SIGTERM before SIGKILL.
KILL_GRACE_SECONDS = 1.0
# Pauses between attempts: three attempts in all.
RETRY_DELAYS: tuple[float, ...] = (0.5, 1.0)
# A delivery that did not get through waits FIRST_BACKOFF after its first attempt, twice as
# long after each further one, at most MAX_BACKOFF; after MAX_ATTEMPTS it is given up on.
FIRST_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=1)
MAX_ATTEMPTS = 20
_DETAIL_LIMIT = 200


def next_try(delivery: Delivery) -> datetime:
    """When a pending delivery is due again (naive UTC): its last attempt plus its backoff."""
    doublings = min(max(delivery.attempts - 1, 0), 16)
    wait: timedelta = min(FIRST_BACKOFF * (2**doublings), MAX_BACKOFF)
    return parse_stamp(delivery.at) + wait


@dataclass(frozen=True)
class Outcome:
    """One attempt: sent or not, and what the sink said (an HTTP status, an exit status)."""

    ok: bool
    detail: str


@dataclass
class DeliveryReport:
    delivered: int = 0
    # One sentence per sink whose delivery failed after its last attempt.
    failures: list[str] = field(default_factory=list)
    # One sentence per sink that was skipped (it names an agent the catalog lacks).
    problems: list[str] = field(default_factory=list)
    # The sinks that still had something to send when the run's budget ran out.
    deferred: list[str] = field(default_factory=list)
    # Deliveries that did not get through in this run (pending or failed now).
    undelivered: int = 0
    # When the earliest pending delivery to these sinks is due again (naive UTC), if any.
    next_retry: datetime | None = None


@functools.cache
def sink_matches(label: str, wanted: str | None) -> bool:
    """Whether the sink ``label`` is the one ``wanted`` (its label, or its ``#fingerprint``);
    every sink when none is."""
    if wanted is None:
        return True
    return label == wanted or label.endswith(" #" + wanted.removeprefix("#"))


@dataclass(frozen=True)
class Resent:
    """What :func:`resend` did: ``delivered`` now, ``left`` still not delivered, and the
    sinks ``gone`` from the configuration, whose deliveries were left alone."""

    delivered: int
    left: int
    gone: list[str]


def undelivered(
    store: Store, *, sink: str | None = None, event_id: int | None = None
) -> list[Delivery]:
    """The deliveries that did not get through (pending or failed; of one sink, of one
    event), for :func:`resend`."""
    return [
        d
        for d in Deliveries(store).retryable(failed_too=True, event_id=event_id)
        if sink_matches(d.sink, sink)
    ]


def resend(
    store: Store,
    notifier: Notifier,
    waiting: Sequence[Delivery],
    warn: Callable[[str], None],
    *,
    event_id: int | None = None,
) -> Resent:
    """Send ``waiting`` (see :func:`undelivered`) again now, to the sinks configured now;
    each problem is handed to ``warn`` as it happens."""
    configured = {s.label for s in notifier.sinks}
    gone = sorted({d.sink for d in waiting} - configured)
    for label in gone:
        warn(f"{label} is no longer in {notifier.source}; its deliveries were not re-sent.")
    labels = {d.sink for d in waiting} & configured
    delivered = 0
    for label in sorted(labels):
        report = notifier.retry(store, label=label, event_id=event_id)
        for line in report.problems + report.failures:
            warn(line)
        delivered += report.delivered
    left = len([d for d in waiting if d.sink in labels]) - delivered
    return Resent(delivered, left, gone)


def _opener() -> Any:
    # Imported when first needed: the cockpit starts faster without the HTTP client.
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        # A redirected POST would arrive as a GET without its body: a failure.
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    return urllib.request.build_opener(NoRedirect)


def post(url: str, payload: bytes, timeout: float) -> Outcome:
    """POST ``payload`` as JSON to ``url``; any 2xx status is a delivery. A user and
    password in the URL are sent as HTTP basic authentication (:class:`NotifySink` accepts
    them only over https:// or to the loopback)."""
    headers = {"Content-Type": "application/json", "User-Agent": "intelligentos-cockpit"}
    url, credentials = _without_credentials(url)
    if credentials is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(credentials).decode("ascii")
    import http.client
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=payload, method="POST", headers=headers)
    try:
        with _opener().open(request, timeout=timeout) as response:
            status: int = response.status
    except urllib.error.HTTPError as error:
        return Outcome(False, f"HTTP {error.code}")
    except urllib.error.URLError as error:
        return Outcome(False, str(error.reason))
    except (OSError, ValueError, http.client.HTTPException) as error:
        return Outcome(False, str(error) or type(error).__name__)
    return Outcome(200 <= status < 300, f"HTTP {status}")


def _without_credentials(url: str) -> tuple[str, bytes | None]:
    # urllib would take "user:password@host" for the host's name.
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    host = parts.netloc.rpartition("@")[2]
    user = unquote(parts.username or "")
    password = unquote(parts.password or "")
    return urlunsplit(parts._replace(netloc=host)), f"{user}:{password}".encode()


def run_command(argv: Sequence[str], payload: bytes, timeout: float) -> Outcome:
    """Run ``argv`` without a shell, ``payload`` on its standard input; exit status 0 is a
    delivery. Its output is discarded but for the last line of its errors.

    It runs in a session of its own: on timeout its whole process group is ended (SIGTERM,
    then SIGKILL after :data:`KILL_GRACE_SECONDS`), so what it started goes with it."""
    try:
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as error:
        return Outcome(False, error.strerror or str(error))
    try:
        _, errors = process.communicate(payload, timeout=timeout)
    except subprocess.TimeoutExpired:
        _end_group(process)
        return Outcome(False, f"no answer within {timeout:g} s")
    except BaseException:
        _end_group(process)
        raise
    if process.returncode == 0:
        return Outcome(True, "exit status 0")
    lines = [line for line in errors.decode("utf-8", "replace").splitlines() if line.strip()]
    said = f": {lines[-1].strip()}" if lines else ""
    return Outcome(False, f"exit status {process.returncode}{said}")


def _end_group(process: subprocess.Popen[bytes]) -> None:
    """End ``process``'s group (the session it leads): SIGTERM, then, once the leader has
    exited or :data:`KILL_GRACE_SECONDS` have passed, SIGKILL to whatever is left. The
    leader is reaped only after the SIGKILL, so the group's id cannot have been reused."""
    group = process.pid
    _signal_group(group, signal.SIGTERM)
    deadline = time.monotonic() + KILL_GRACE_SECONDS
    while not _has_exited(process.pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    _signal_group(group, signal.SIGKILL)
    # Its pipes close once every holder is gone; one that left the group (a new session of
    # its own) may keep them open, so they are closed rather than read to their end.
    for pipe in (process.stdin, process.stderr):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()
    process.wait()


def _has_exited(pid: int) -> bool:
    # WNOWAIT: the leader stays a zombie, keeping its pid (the group's id) reserved.
    try:
        found = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return found is not None


def _signal_group(group: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signum)


def send(sink: NotifySink, payload: bytes, timeout: float | None = None) -> Outcome:
    """One attempt to deliver ``payload`` to ``sink`` (within ``timeout`` seconds, by default
    :data:`TIMEOUT_SECONDS`)."""
    timeout = TIMEOUT_SECONDS if timeout is None else timeout
    if sink.webhook is not None:
        return post(sink.webhook, payload, timeout)
    return run_command(sink.command or (), payload, timeout)


def check_sinks(
    sinks: Iterable[NotifySink], catalog: Catalog, source: str
) -> tuple[list[NotifySink], list[str]]:
    """The sinks that can be used with ``catalog``, and one sentence per skipped sink (an
    ``agents`` filter naming an agent the catalog lacks would silently match nothing)."""
    usable, problems = [], []
    for sink in sinks:
        unknown = [agent for agent in sink.agents if agent not in catalog.agents]
        if unknown:
            names = ", ".join(repr(agent) for agent in unknown)
            problems.append(
                f"Skipped the [[notify]] sink {sink.label} in {source}: agents names "
                f"{names}, which the catalog does not know."
            )
        else:
            usable.append(sink)
    return usable, problems


@dataclass
class Notifier:
    """The configured sinks, and how to reach them."""

    sinks: list[NotifySink]
    source: str = "config.toml"  # where the sinks were configured, for messages
    # One attempt: the sink, the body, and the seconds it may take.
    sender: Callable[[NotifySink, bytes, float], Outcome] = send
    clock: Callable[[], datetime] = utc_now
    delays: Sequence[float] | None = None  # None: RETRY_DELAYS, read at each delivery
    stop: threading.Event = field(default_factory=threading.Event)
    # The clock of a run's budget, and how a pause between attempts is waited (by default
    # on ``stop``, so that it ends at once when the cockpit quits).
    monotonic: Callable[[], float] = time.monotonic
    pause: Callable[[float], object] | None = None

    def prepare(self, store: Store) -> None:
        """Note the sinks seen for the first time: they get the events from now on. Call
        before writing the events that should reach them."""
        sinks, _ = self.sinks_for(store)
        if sinks and not store.readonly:
            Deliveries(store).register(sink.label for sink in sinks)

    def sinks_for(self, store: Store) -> tuple[list[NotifySink], str | None]:
        """The sinks that may hear from ``store``, and a sentence when some may not: a
        demo store's alerts are made up, and reach only the sinks with ``demo = true``."""
        if not self.sinks or not is_demo(store.meta()):
            return list(self.sinks), None
        held = [sink.label for sink in self.sinks if not sink.demo]
        problem = (
            f"{store.path} is a demo store (its history is made up), so nothing was sent to "
            f"{', '.join(held)}; a [[notify]] table in {self.source} with demo = true also "
            "gets a demo store's alerts."
        )
        return [sink for sink in self.sinks if sink.demo], problem if held else None

    def deliver(
        self, store: Store, catalog: Catalog | None = None, budget: float | None = None
    ) -> DeliveryReport:
        """Send every event the sinks have not had yet, and the pending deliveries that are
        due again, within ``budget`` seconds in all when given (see the module's docstring).
        """
        return self._run(store, catalog, budget, retry=None)

    def retry(
        self,
        store: Store,
        catalog: Catalog | None = None,
        label: str | None = None,
        event_id: int | None = None,
    ) -> DeliveryReport:
        """Send again now, whatever their backoff, the deliveries that did not get through
        (pending or failed; of one sink, of one event), and nothing else."""
        return self._run(store, catalog, None, retry=(label, event_id))

    def _run(
        self,
        store: Store,
        catalog: Catalog | None,
        budget: float | None,
        retry: tuple[str | None, int | None] | None,
    ) -> DeliveryReport:
        report = DeliveryReport()
        if not self.sinks or store.readonly:
            return report
        allowed, held = self.sinks_for(store)
        if held is not None:
            report.problems.append(held)
        if not allowed:
            return report
        log = Deliveries(store)
        marks = log.register(sink.label for sink in allowed)
        catalog = catalog if catalog is not None else store.read_catalog()
        sinks, problems = check_sinks(allowed, catalog, self.source)
        report.problems += problems
        context = _Context(store, catalog, problems=report.problems)
        run = _Run(log, context, report, self._deadline(budget))
        for sink in sinks:
            if self.stop.is_set():
                break
            if retry is not None:
                if retry[0] is None or retry[0] == sink.label:
                    self._retry_pending(sink, run, force=True, event_id=retry[1])
            elif self._retry_pending(sink, run, force=False):
                self._deliver_new(sink, marks.get(sink.label, 0), run)
        labels = {sink.label for sink in sinks}
        due = [next_try(d) for d in log.retryable() if d.sink in labels]
        report.next_retry = min(due, default=None)
        return report

    def seconds_until(self, moment: datetime) -> float:
        """How long from now (by this notifier's clock) until ``moment`` (naive UTC)."""
        return (moment - utc_naive(self.clock())).total_seconds()

    def _deadline(self, budget: float | None) -> float | None:
        return None if budget is None else self.monotonic() + budget

    def _left(self, run: _Run) -> float | None:
        return None if run.deadline is None else run.deadline - self.monotonic()

    def _out_of_time(self, run: _Run, sink: NotifySink) -> bool:
        left = self._left(run)
        if left is None or left >= MIN_ATTEMPT_SECONDS:
            return False
        if sink.label not in run.report.deferred:
            run.report.deferred.append(sink.label)
        return True

    def _retry_pending(
        self, sink: NotifySink, run: _Run, *, force: bool, event_id: int | None = None
    ) -> bool:
        """Send again the deliveries to ``sink`` that did not get through: those due (every
        one, failed ones too, with ``force``). False when the sink failed again or time ran
        out: its other events wait for the next run."""
        now = utc_naive(self.clock())
        for delivery in run.log.retryable(sink.label, failed_too=force, event_id=event_id):
            if self.stop.is_set():
                return False
            if not force and next_try(delivery) > now:
                continue
            logged = run.log.event(delivery.event_id)
            found = run.context.body(logged) if logged is not None else None
            if found is None or not sink.accepts(found[0].severity, found[1]):
                continue  # its alert is gone, or the sink's filters no longer want it
            if self._out_of_time(run, sink):
                return False
            if not run.log.reclaim(delivery, stamp(self.clock())):
                continue
            if not self._send(sink, delivery.event_id, found[2], delivery.attempts, run):
                return False
        return True

    def _deliver_new(self, sink: NotifySink, after: int, run: _Run) -> None:
        label = sink.label
        done = after  # every event up to here has been dealt with
        try:
            while batch := run.log.undelivered(label, done):
                for logged in batch:
                    if self.stop.is_set():
                        return
                    found = run.context.body(logged)
                    if found is None or not sink.accepts(found[0].severity, found[1]):
                        done = logged.id
                        continue
                    if self._out_of_time(run, sink):
                        return  # left unclaimed: the next run sends it
                    if not run.log.claim(logged.id, label, stamp(self.clock())):
                        done = logged.id
                        continue
                    done = logged.id
                    if not self._send(sink, logged.id, found[2], 0, run):
                        return  # the sink's later events wait for the next run
        finally:
            if done > after:
                run.log.advance(label, done)

    def _send(
        self, sink: NotifySink, event_id: int, document: dict[str, Any], before: int, run: _Run
    ) -> bool:
        """Deliver one claimed event (tried ``before`` times already) and record how it
        went: delivered, pending for a later run, or failed for good; whether it got
        through."""
        label = sink.label
        outcome, attempts = self._attempt(sink, encode(document), run)
        detail = scrub(outcome.detail, sink.secrets(), label)[:_DETAIL_LIMIT]
        total = before + attempts
        result = DELIVERED if outcome.ok else FAILED if total >= MAX_ATTEMPTS else PENDING
        run.log.finish(event_id, label, total, result, detail, stamp(self.clock()))
        if outcome.ok:
            run.report.delivered += 1
            return True
        run.report.undelivered += 1
        tries = f"{total} attempt{'s' if total > 1 else ''}"
        then = (
            "given up on (`notify retry` sends it again)"
            if result == FAILED
            else "it will be retried (`notify list --failed` shows it)"
        )
        run.report.failures.append(
            f"Notification to {label} failed after {tries}: {detail}; {then}"
        )
        return False

    def _attempt(self, sink: NotifySink, payload: bytes, run: _Run) -> tuple[Outcome, int]:
        delays = list(RETRY_DELAYS if self.delays is None else self.delays)
        attempts = 0
        while True:
            attempts += 1
            left = self._left(run)
            timeout = TIMEOUT_SECONDS if left is None else min(TIMEOUT_SECONDS, left)
            outcome = self.sender(sink, payload, timeout)
            if outcome.ok or not delays or self.stop.is_set():
                return outcome, attempts
            delay = delays.pop(0)
            left = self._left(run)
            if left is not None and left - delay < MIN_ATTEMPT_SECONDS:
                return outcome, attempts  # no time for another: a later run retries
            (self.pause or self.stop.wait)(delay)


@dataclass
class _Run:
    """What one run of deliveries shares: the log, the bodies, the report, its deadline."""

    log: Deliveries
    context: _Context
    report: DeliveryReport
    deadline: float | None


@dataclass
class _Context:
    """What the bodies of one run need, read once per alert."""

    store: Store
    catalog: Catalog
    graph: LineageGraph | None = None
    alerts: dict[int, tuple[Alert, list[Event], list[str]] | None] = field(default_factory=dict)
    # What drove each alert's move, by alert and period; and where a failure to say so is
    # told (the report's problems): the notification goes without it, never not at all.
    drivers: dict[tuple[int, str | None], Driver | None] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    tree: Tree | None = None  # built for the first driver, shared by the others

    def body(self, logged: LoggedEvent) -> tuple[Alert, list[str], dict[str, Any]] | None:
        """The alert as it stood right after the event, where it is routed, and the body;
        None for an event the cockpit does not deliver (or of an alert that is gone)."""
        event = logged.event
        if event.action not in DELIVERED_ACTIONS:
            return None
        known = self._alert(logged.alert_id)
        if known is None:
            return None
        alert, events, routed_to = known
        then = state_at(alert, events, event.at) or alert
        then = replace(
            then,
            state=event.to_state,
            value=event.value if event.value is not None else then.value,
        )
        subject = subject_name(alert, self.catalog)
        driven = self._driver(then, subject)
        document = body(then, event, logged.id, routed_to, subject, driven)
        return then, routed_to, document

    def _driver(self, alert: Alert, subject: str) -> Driver | None:
        key = (alert.id or 0, alert.period)
        if key not in self.drivers:
            # Imported here: the explanation's modules are needed only once a body is made.
            from intelligentos.domain.whatif.propagation import Tree
            from intelligentos.services.why import alert_driver

            if self.tree is None:
                self.tree = Tree(self.catalog)
            try:
                self.drivers[key] = alert_driver(self.store, alert, self.catalog, self.tree)
            except Exception as error:  # a delivery never fails for it
                self.drivers[key] = None
                self.problems.append(
                    f"Alert {alert.id} ({subject} · {alert.rule}) was sent without what drove "
                    f"it: {error}"
                )
        return self.drivers[key]

    def _alert(self, alert_id: int) -> tuple[Alert, list[Event], list[str]] | None:
        if alert_id not in self.alerts:
            alert = self.store.alert(alert_id)
            if alert is None:
                self.alerts[alert_id] = None
            else:
                # As written with the alert, else as the catalog routes it now.
                stored = [r.agent_id for r in self.store.routes_of([alert_id]).get(alert_id, [])]
                if not stored:
                    if self.graph is None:
                        self.graph = LineageGraph(self.catalog)
                    found = routes(alert.kpi_id, alert.system_id, self.catalog, self.graph)
                    stored = [route.agent_id for route in found]
                self.alerts[alert_id] = (alert, self.store.alert_events(alert_id), stored)
        return self.alerts[alert_id]
