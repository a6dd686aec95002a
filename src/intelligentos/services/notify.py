"""Delivering incident notices to the ``[[notify]]`` sinks, through the outbox.

A change (an evaluation, an acknowledgement) logs its notices in its own transaction
(:mod:`intelligentos.services.notices`). After it commits, :meth:`Notifier.deliver`:

* **fans out**: each sink gets an outbox row for each notice it wants
  (:meth:`intelligentos.domain.notify.NotifySink.wants`; a silenced notice goes nowhere) since
  it was first seen (:meth:`Notifier.prepare`, called before the change: a new sink gets the
  notices from then on, never the history);
* **sends what is due**, per sink in the order of the notices: a delivery is claimed before
  it is sent (:mod:`intelligentos.store.notify`), so two processes never both send it; one
  that did not get through waits for its backoff
  (:func:`intelligentos.domain.notify.backoff_seconds`), and the sink's later notices wait
  behind it (and behind one another process is sending), so that a sink never hears of an
  acknowledgement before the incident;
  after :data:`~intelligentos.domain.notify.MAX_ATTEMPTS` attempts it is ``dead`` until
  re-sent (:meth:`Notifier.resend`);
* **bounded**: each attempt has a timeout (webhook: ``urllib.request`` with
  :data:`TIMEOUT_SECONDS`; command: without a shell, in a session of its own, the same
  timeout, after which its whole process group is ended); a run may also have a total
  budget (a CLI command waits :data:`COMMAND_BUDGET_SECONDS` at most): every attempt ends
  by then, and what was not tried stays queued for the next run;
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
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

from intelligentos.domain.catalog.models import Catalog
from intelligentos.domain.clock import parse_stamp, stamp, utc_naive, utc_now
from intelligentos.domain.incidents import Notice
from intelligentos.domain.notify import NotifySink, scrub
from intelligentos.domain.outbox import (
    DEAD,
    DELIVERED,
    MAX_ATTEMPTS,
    PENDING,
    SENDING,
    OutboxEntry,
    StoredNotice,
    backoff_seconds,
)
from intelligentos.services.bootstrap import is_demo
from intelligentos.services.notices import cockpit_link, message_of, render
from intelligentos.store import Store

if TYPE_CHECKING:
    from intelligentos.domain.whatif.propagation import Tree

TIMEOUT_SECONDS = 5.0
# How long a CLI command (check, ack, snooze) waits for its notifications in all.
# A command's wait stays under a second with an attempt's own overrun and the outbox written
# after it, however a sink behaves.
COMMAND_BUDGET_SECONDS = 0.8
# An attempt is not started with less time than this left: it could only time out.
MIN_ATTEMPT_SECONDS = 0.1
# How long a timed-out command's process group has to exit on SIGTERM before SIGKILL.
KILL_GRACE_SECONDS = 1.0
# How long a delivery another process claimed holds its sink's later ones back: longer than
# any attempt lasts; one still `sending` after that was left by a process that died.
CLAIM_HOLD_SECONDS = 2 * (TIMEOUT_SECONDS + KILL_GRACE_SECONDS)
JSON_TYPE = "application/json"
TEXT_TYPE = "text/plain; charset=utf-8"
_DETAIL_LIMIT = 200
# The notices a pagerduty sink gets only of an incident it was sent.
ENDINGS = frozenset({Notice.ACKNOWLEDGED.value, Notice.RESOLVED.value})


@dataclass(frozen=True)
class Outcome:
    """One attempt: sent or not, and what the sink said (an HTTP status, an exit status)."""

    ok: bool
    detail: str


@dataclass
class DeliveryReport:
    delivered: int = 0
    # One sentence per delivery that failed in this run.
    failures: list[str] = field(default_factory=list)
    # One sentence per other problem: a skipped sink, a demo store, a template that failed.
    problems: list[str] = field(default_factory=list)
    # The sinks that still had something due when the run's budget ran out.
    deferred: list[str] = field(default_factory=list)
    # Deliveries that did not get through in this run (pending or dead now).
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


def _opener() -> Any:
    # Imported when first needed: the cockpit starts faster without the HTTP client.
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        # A redirected POST would arrive as a GET without its body: a failure.
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    return urllib.request.build_opener(NoRedirect)


def post(url: str, payload: bytes, timeout: float, content_type: str = JSON_TYPE) -> Outcome:
    """POST ``payload`` (JSON unless ``content_type`` says otherwise) to ``url``; any 2xx
    status is a delivery. A user and password in the URL are sent as HTTP basic
    authentication (:class:`NotifySink` accepts them only over https:// or to the loopback)."""
    headers = {"Content-Type": content_type, "User-Agent": "intelligentos-cockpit"}
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
    then SIGKILL after :data:`KILL_GRACE_SECONDS`, or a quarter of ``timeout`` if that is
    shorter: a command's short budget stays short), so what it started goes with it."""
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
        _end_group(process, min(KILL_GRACE_SECONDS, timeout / 4))
        return Outcome(False, f"no answer within {timeout:g} s")
    except BaseException:
        _end_group(process, min(KILL_GRACE_SECONDS, timeout / 4))
        raise
    if process.returncode == 0:
        return Outcome(True, "exit status 0")
    lines = [line for line in errors.decode("utf-8", "replace").splitlines() if line.strip()]
    said = f": {lines[-1].strip()}" if lines else ""
    return Outcome(False, f"exit status {process.returncode}{said}")


def _end_group(process: subprocess.Popen[bytes], grace: float) -> None:
    """End ``process``'s group (the session it leads): SIGTERM, then, once the leader has
    exited or ``grace`` seconds have passed, SIGKILL to whatever is left. The
    leader is reaped only after the SIGKILL, so the group's id cannot have been reused."""
    group = process.pid
    _signal_group(group, signal.SIGTERM)
    deadline = time.monotonic() + grace
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
        kind = TEXT_TYPE if sink.format == "text" else JSON_TYPE
        return post(sink.webhook, payload, timeout, kind)
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
    stop: threading.Event = field(default_factory=threading.Event)
    # The clock of a run's budget.
    monotonic: Callable[[], float] = time.monotonic

    def prepare(self, store: Store) -> None:
        """Note the sinks seen for the first time: they get the notices from now on. Call
        before writing the notices that should reach them."""
        sinks, _ = self.sinks_for(store)
        if sinks and not store.readonly:
            store.register_sinks(sink.label for sink in sinks)

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
        """Queue the notices the sinks have not had yet, and send every delivery that is
        due, within ``budget`` seconds in all when given (see the module's docstring)."""
        report = DeliveryReport()
        run = self._start(store, catalog, budget, report)
        if run is None:
            return report
        now = utc_naive(self.clock())
        for sink in run.sinks:
            self._fan_out(store, sink, run.marks.get(sink.label, 0))
        queued = store.outbox(states=(PENDING, SENDING))
        claimed_since = stamp(now - timedelta(seconds=CLAIM_HOLD_SECONDS))
        for sink in run.sinks:
            for entry in (e for e in queued if e.sink == sink.label):
                if self.stop.is_set():
                    return report
                if entry.state == SENDING:
                    if entry.updated_at >= claimed_since:
                        break  # another process is sending it: the later ones wait for it
                    continue  # its process died: at most once, it waits for `notify resend`
                if entry.next_at is not None and parse_stamp(entry.next_at) > now:
                    break  # the sink's later notices wait behind it
                if self._out_of_time(run, sink):
                    break
                if not store.claim_delivery(entry, stamp(self.clock())):
                    break  # another process took it: the later ones wait for it
                if not self._send(sink, entry, run):
                    break
        # Each sink's first pending delivery is what it waits for: the later ones follow it.
        heads: dict[str, OutboxEntry] = {}
        for entry in store.outbox(states=(PENDING,)):
            heads.setdefault(entry.sink, entry)
        due = [
            parse_stamp(head.next_at)
            for sink in run.sinks
            if (head := heads.get(sink.label)) is not None and head.next_at is not None
        ]
        report.next_retry = min(due, default=None)
        return report

    def resend(
        self, store: Store, entries: Sequence[OutboxEntry], catalog: Catalog | None = None
    ) -> DeliveryReport:
        """Send ``entries`` again now, whatever their state and backoff, to the sinks
        configured now; a delivery to a sink no longer configured is named in the report's
        problems and left alone."""
        report = DeliveryReport()
        run = self._start(store, catalog, None, report)
        if run is None:
            return report
        by_label = {sink.label: sink for sink in run.sinks}
        for entry in entries:
            sink = by_label.get(entry.sink)
            if sink is None:
                report.undelivered += 1
                report.problems.append(
                    f"Delivery {entry.id} is for {entry.sink}, which is not a usable sink in "
                    f"{self.source} now; it was not re-sent."
                )
                continue
            if self.stop.is_set():
                break
            if store.claim_delivery(entry, stamp(self.clock())):
                self._send(sink, entry, run)
        return report

    def seconds_until(self, moment: datetime) -> float:
        """How long from now (by this notifier's clock) until ``moment`` (naive UTC)."""
        return (moment - utc_naive(self.clock())).total_seconds()

    def _start(
        self, store: Store, catalog: Catalog | None, budget: float | None, report: DeliveryReport
    ) -> _Run | None:
        if not self.sinks or store.readonly:
            return None
        allowed, held = self.sinks_for(store)
        if held is not None:
            report.problems.append(held)
        if not allowed:
            return None
        catalog = catalog if catalog is not None else store.read_catalog()
        sinks, problems = check_sinks(allowed, catalog, self.source)
        report.problems += problems
        marks = store.register_sinks(sink.label for sink in sinks)
        deadline = None if budget is None else self.monotonic() + budget
        return _Run(store, catalog, report, deadline, sinks, marks, store.store_id())

    def _fan_out(self, store: Store, sink: NotifySink, after: int) -> None:
        at = stamp(self.clock())
        while batch := store.notices(after):
            # An incident the sink heard of is followed to its end whatever its filters say
            # (a fall in severity, a change of face): else PagerDuty would page on after the
            # acknowledgement, and a channel would never read that it resolved. PagerDuty
            # never gets an acknowledge or a resolve of an incident it was never sent (it has
            # no trigger to fold them into).
            told = store.incidents_queued(sink.label, {n.incident_id for n in batch})
            wanted = []
            for n in batch:
                if n.incident_id in told:
                    wants = True
                elif n.kind in ENDINGS and sink.format == "pagerduty":
                    wants = False
                else:
                    wants = sink.wants(n.severity, n.rule, n.notified)
                if wants and n.silence_id is None:
                    wanted.append(n.id)
                    told.add(n.incident_id)
            after = batch[-1].id
            store.fan_out(sink.label, wanted, after, at)

    def _left(self, run: _Run) -> float | None:
        return None if run.deadline is None else run.deadline - self.monotonic()

    def _out_of_time(self, run: _Run, sink: NotifySink) -> bool:
        left = self._left(run)
        if left is None or left >= MIN_ATTEMPT_SECONDS:
            return False
        if sink.label not in run.report.deferred:
            run.report.deferred.append(sink.label)
        return True

    def _send(self, sink: NotifySink, entry: OutboxEntry, run: _Run) -> bool:
        """One attempt at a claimed delivery, and how it went recorded: delivered, pending
        until its backoff has passed, or dead; whether it got through."""
        store, label = run.store, sink.label
        stored = run.notice(entry.notice_id)
        attempts = entry.attempts + 1
        if stored is None:  # cannot happen through the product: notices are never deleted
            outcome = Outcome(False, f"notice {entry.notice_id} is not in the store")
            attempts = max(attempts, MAX_ATTEMPTS)
        else:
            message = message_of(stored, run.catalog, run.driver(stored), cockpit_link(store.path))
            payload = render(sink, message, run.namespace, run.warn_once(label), stored.id)
            left = self._left(run)
            timeout = TIMEOUT_SECONDS if left is None else max(min(TIMEOUT_SECONDS, left), 0.0)
            outcome = self.sender(sink, payload, timeout)
        now = utc_naive(self.clock())
        detail = scrub(outcome.detail, sink.secrets(), label)[:_DETAIL_LIMIT]
        if outcome.ok:
            store.finish_delivery(entry.id, DELIVERED, attempts, None, None, stamp(now))
            run.report.delivered += 1
            return True
        dead = attempts >= MAX_ATTEMPTS
        due = None if dead else stamp(now + timedelta(seconds=backoff_seconds(attempts)))
        state = DEAD if dead else PENDING
        store.finish_delivery(entry.id, state, attempts, due, detail, stamp(now))
        run.report.undelivered += 1
        what = f"incident {stored.incident_id} ({stored.kind})" if stored else "a notice"
        then = (
            f"it is dead after {attempts} attempts (`notify resend {entry.id}` sends it again)"
            if dead
            else f"attempt {attempts} of {MAX_ATTEMPTS}; it is tried again from {due} "
            "(`notify status` lists it)"
        )
        run.report.failures.append(f"Notification of {what} to {label} failed: {detail}; {then}.")
        return False


@dataclass
class _Run:
    """What one run of deliveries shares: the store, the catalog, the report, its deadline,
    the sinks and their watermarks, and what is read once per notice."""

    store: Store
    catalog: Catalog
    report: DeliveryReport
    deadline: float | None
    sinks: list[NotifySink]
    marks: dict[str, int]
    namespace: str  # the store's id: PagerDuty's dedup keys of two stores never meet
    notices: dict[int, StoredNotice | None] = field(default_factory=dict)
    drivers: dict[int, str] = field(default_factory=dict)
    warned: set[str] = field(default_factory=set)
    tree: Tree | None = None  # built for the first driver, shared by the others

    def notice(self, notice_id: int) -> StoredNotice | None:
        if notice_id not in self.notices:
            self.notices[notice_id] = self.store.notice(notice_id)
        return self.notices[notice_id]

    def warn_once(self, label: str) -> Callable[[str], None]:
        """Where a sink's template problem is told: once per sink and run."""

        def warn(sentence: str) -> None:
            if label not in self.warned:
                self.warned.add(label)
                self.report.problems.append(sentence)

        return warn

    def driver(self, stored: StoredNotice) -> str:
        """What drove the face alert's move, in words ("" when nothing is to name); a
        failure to say is a problem in the report, never a reason not to send."""
        if stored.id not in self.drivers:
            # Imported here: the explanation's modules are needed only once a body is made.
            from intelligentos.domain.whatif.propagation import Tree
            from intelligentos.services.notices import alert_of
            from intelligentos.services.why import alert_driver

            face = alert_of(stored.snapshot["face"])
            if self.tree is None:
                self.tree = Tree(self.catalog)
            try:
                found = alert_driver(self.store, face, self.catalog, self.tree)
            except Exception as error:  # a delivery never fails for it
                found = None
                self.report.problems.append(
                    f"Incident {stored.incident_id} ({stored.snapshot['subject']} · "
                    f"{face.rule}) was sent without what drove it: {error}"
                )
            self.drivers[stored.id] = found.text if found is not None else ""
        return self.drivers[stored.id]


def status(store: Store, sink: str | None = None) -> list[OutboxEntry]:
    """The deliveries that did not get through (pending, being sent, dead), of one sink."""
    return [
        e for e in store.outbox(states=(PENDING, "sending", DEAD)) if sink_matches(e.sink, sink)
    ]
