"""Delivering alert transitions to the ``[[notify]]`` sinks.

After a transaction that wrote alert events commits (an evaluation, an acknowledgement, a
snooze, by the cockpit or the CLI), :meth:`Notifier.deliver` finds the events each sink
has not had yet and sends them, oldest first, one delivery per event and sink:

* **never twice**: the ``deliveries`` row is claimed before sending (see
  :mod:`intelligentos.store.deliveries`), so two processes never both send an event; a
  process that dies mid-send leaves the row ``pending`` and the event is not sent again;
* **no history for a new sink**: a sink receives the events logged after it was first seen
  (:meth:`Notifier.prepare`, called before the transaction);
* **bounded**: each attempt has a timeout (webhook: ``urllib.request`` with
  :data:`TIMEOUT_SECONDS`; command: without a shell, in a session of its own, the same
  timeout, after which its whole process group is ended);
  a failed attempt is retried after :data:`RETRY_DELAYS`, then the delivery is recorded
  ``failed`` and reported, and that sink's later events wait for the next run;
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
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from intelligentos.agents import routes
from intelligentos.alerts import Alert, Event, state_at, subject_name
from intelligentos.bootstrap import is_demo
from intelligentos.catalog.models import Catalog
from intelligentos.clock import stamp, utc_now
from intelligentos.lineage import LineageGraph
from intelligentos.notify import DELIVERED_ACTIONS, NotifySink, body, encode, scrub
from intelligentos.store import Store
from intelligentos.store.deliveries import Deliveries, LoggedEvent

TIMEOUT_SECONDS = 5.0
# How long a timed-out command's process group has to exit on SIGTERM before SIGKILL.
KILL_GRACE_SECONDS = 1.0
# Pauses between attempts: three attempts in all.
RETRY_DELAYS: tuple[float, ...] = (0.5, 1.0)
_DETAIL_LIMIT = 200


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


@functools.cache
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
    sender: Callable[[NotifySink, bytes], Outcome] = send
    clock: Callable[[], datetime] = utc_now
    delays: Sequence[float] | None = None  # None: RETRY_DELAYS, read at each delivery
    stop: threading.Event = field(default_factory=threading.Event)

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

    def deliver(self, store: Store, catalog: Catalog | None = None) -> DeliveryReport:
        """Send every event the sinks have not had yet (see the module's docstring)."""
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
        context = _Context(store, catalog)
        for sink in sinks:
            if self.stop.is_set():
                break
            self._deliver_to(sink, marks.get(sink.label, 0), log, context, report)
        return report

    def _deliver_to(
        self,
        sink: NotifySink,
        after: int,
        log: Deliveries,
        context: _Context,
        report: DeliveryReport,
    ) -> None:
        label = sink.label
        done = after  # every event up to here has been dealt with
        try:
            while batch := log.undelivered(label, done):
                for logged in batch:
                    if self.stop.is_set():
                        return
                    sent = self._deliver_one(sink, logged, log, context)
                    done = logged.id
                    if sent is None:
                        continue
                    outcome, attempts = sent
                    if not outcome.ok:
                        tries = f"{attempts} attempt{'s' if attempts > 1 else ''}"
                        report.failures.append(
                            f"Notification to {label} failed after {tries}: {outcome.detail}"
                        )
                        return  # the sink's later events wait for the next run
                    report.delivered += 1
        finally:
            if done > after:
                log.advance(label, done)

    def _deliver_one(
        self, sink: NotifySink, logged: LoggedEvent, log: Deliveries, context: _Context
    ) -> tuple[Outcome, int] | None:
        """Deliver one event to one sink (how it went, after how many attempts), unless it
        is not for this sink or is claimed already (None)."""
        found = context.body(logged)
        if found is None or not sink.accepts(found[0].severity, found[1]):
            return None
        label = sink.label
        if not log.claim(logged.id, label, stamp(self.clock())):
            return None
        outcome, attempts = self._attempt(sink, encode(found[2]))
        detail = scrub(outcome.detail, sink.secrets(), label)[:_DETAIL_LIMIT]
        result = "delivered" if outcome.ok else "failed"
        log.finish(logged.id, label, attempts, result, detail, stamp(self.clock()))
        return Outcome(outcome.ok, detail), attempts

    def _attempt(self, sink: NotifySink, payload: bytes) -> tuple[Outcome, int]:
        delays = list(RETRY_DELAYS if self.delays is None else self.delays)
        attempts = 0
        while True:
            attempts += 1
            outcome = self.sender(sink, payload)
            if outcome.ok or not delays or self.stop.is_set():
                return outcome, attempts
            # Wakes at once when the cockpit quits.
            self.stop.wait(delays.pop(0))


@dataclass
class _Context:
    """What the bodies of one run need, read once per alert."""

    store: Store
    catalog: Catalog
    graph: LineageGraph | None = None
    alerts: dict[int, tuple[Alert, list[Event], list[str]] | None] = field(default_factory=dict)

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
        document = body(then, event, logged.id, routed_to, subject_name(alert, self.catalog))
        return then, routed_to, document

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
