"""Notifications: the cockpit is a sender of the outbox (see
:mod:`intelligentos.services.notify`): after each refresh it queues the notices the sinks have
not had yet and sends what is due, on a thread of its own, one run at a time; a run asked for
meanwhile follows it, and a delivery that did not get through is tried again when due. Quitting
stops them (:attr:`Cockpit.stop_watching`)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from textual.timer import Timer

from intelligentos.domain.catalog.models import Catalog
from intelligentos.store import Store, StoreError
from intelligentos.tui.base import Cockpit
from intelligentos.tui.messages import NotificationsSent
from intelligentos.tui.runs import OneAtATime

if TYPE_CHECKING:  # imported with the settings, off the launch path
    from intelligentos.services.notify import Notifier

# The shortest wait before a delivery that did not get through is tried again.
RETRY_CHECK_MIN_SECONDS = 1.0


class Notifications:
    def __init__(self, app: Cockpit) -> None:
        self.app = app
        self.store: Store | None = None  # once opened
        # Made with the settings, before the first evaluation.
        self.notifier: Notifier | None = None
        self.runs = OneAtATime(self.deliver)
        self.retry_timer: Timer | None = None
        self.problems_shown: set[str] = set()

    @property
    def delivering(self) -> bool:
        return self.runs.running

    def deliver(self) -> None:
        """Queue the new notices and send what is due, off the event loop."""
        store = self.store
        if self.notifier is None or not self.notifier.sinks or store is None or store.readonly:
            return
        if not self.runs.begin():
            return
        data = self.app.data
        catalog = data.stored if data else None  # as read: an alert is judged on its day
        # A daemon thread, not a worker: quitting joins workers, and a webhook that does not
        # answer must not hold the cockpit open until its timeout.
        threading.Thread(
            target=self._send,
            args=(self.notifier, store, catalog),
            name="notify",
            daemon=True,
        ).start()

    def _send(self, notifier: Notifier, store: Store, catalog: Catalog | None) -> None:
        try:
            report = notifier.deliver(store, catalog)
        except StoreError as error:
            self.app.post_message(NotificationsSent([], [f"Notifications stopped: {error}"]))
            return
        except Exception as error:  # told, and the run ends: else no run would start again
            self.app.post_message(
                NotificationsSent([], [f"Notifications failed unexpectedly: {error}"])
            )
            return
        retry_in = None
        if report.next_retry is not None:
            retry_in = notifier.seconds_until(report.next_retry)
        self.app.post_message(NotificationsSent(report.failures, report.problems, retry_in))

    def sent(self, message: NotificationsSent) -> None:
        app = self.app
        if app.stop_watching.is_set():
            self.runs.end(rerun=False)
            return
        for failure in message.failures:
            app.notify(failure, title="Notification failed", severity="warning", markup=False)
        for problem in message.problems:
            if problem not in self.problems_shown:
                self.problems_shown.add(problem)
                app.notify(problem, title="Notifications", severity="warning", markup=False)
        if not self.runs.end() and message.retry_in is not None:
            # A delivery that did not get through is retried when due, even if nothing in
            # the store changes meanwhile.
            if self.retry_timer is not None:
                self.retry_timer.stop()
            wait = max(message.retry_in, RETRY_CHECK_MIN_SECONDS)
            self.retry_timer = app.set_timer(wait, self.deliver)
