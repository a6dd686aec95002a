"""Alerts on the app's side: acknowledge and snooze (a dialog, then the change saved off the
event loop), news of alerts (a toast, the bell, the pulse), and a refresh when a snooze ends."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from textual.timer import Timer

from intelligentos.domain.alerts import Alert, State, check_note, parse_duration, snooze_refusal
from intelligentos.domain.clock import parse_stamp, utc_naive
from intelligentos.domain.formatting import literal
from intelligentos.services.alerts import AlertService, Announcer
from intelligentos.services.snapshots import CockpitData
from intelligentos.store import Store
from intelligentos.tui.base import Cockpit
from intelligentos.tui.messages import LifecycleApplied


class Alerts:
    def __init__(self, app: Cockpit, ring_bell: Callable[[], bool]) -> None:
        self.app = app
        self.ring_bell = ring_bell
        self.service: AlertService | None = None  # once the store is open
        self.announcer = Announcer(time.monotonic)
        self.snooze_timer: Timer | None = None

    def store_opened(self, store: Store) -> None:
        self.service = AlertService(store)

    def acknowledge(self, alerts: list[Alert]) -> None:
        """Ask for a note, then acknowledge every given alert that is not yet owned. The
        dialog names the subject and the rules, and refuses a blank note."""
        app = self.app
        if app.refuses_writes("acknowledged"):
            return
        targets = [a for a in alerts if a.state in (State.FIRING, State.SNOOZED) and a.id]
        if not targets or app.data is None:
            owned = [a for a in alerts if a.state is State.ACKNOWLEDGED and a.acked_by]
            if len(alerts) == 1 and owned:
                reason = f"Alert {owned[0].id} is already acknowledged by {owned[0].acked_by}."
            else:
                reason = "Nothing to acknowledge here."
            app.notify(literal(reason), timeout=3, markup=False)
            return
        rules = ", ".join(dict.fromkeys(a.rule for a in targets))
        subject = f"{app.data.subject_name(targets[0])} · {rules}"
        if len(targets) > 1:
            subject += f"  ({len(targets)} alerts)"
        ids = [a.id for a in targets if a.id is not None]

        def chosen(note: str | None) -> None:
            if note is not None and not app.refuses_writes("acknowledged"):
                self.apply(lambda service: service.acknowledge(ids, app.user, note, app.clock()))

        from intelligentos.tui.screens.dialogs import Prompt, PromptDialog

        prompt = Prompt(
            "Acknowledge",
            subject,
            f"as {app.user}; a note is required and kept in the store",
            parse=check_note,
            placeholder="Note, e.g. known: CRM migration",
        )
        app.push_screen(PromptDialog(prompt), chosen)

    def snooze(self, *alerts: Alert) -> None:
        """Ask how long (at most 30 days), then snooze acknowledged alerts (an incident's,
        together). Alerts that cannot be snoozed are refused at once, before asking anything."""
        app = self.app
        if app.data is None or not alerts or app.refuses_writes("snoozed"):
            return
        for alert in alerts:
            refusal = snooze_refusal(alert)
            if refusal:
                app.notify(
                    literal(f"{refusal[0].upper()}{refusal[1:]}."),
                    title="Acknowledge it first" if alert.state is State.FIRING else "Not snoozed",
                    severity="warning",
                    timeout=4,
                    markup=False,
                )
                return
        ids = [a.id for a in alerts if a.id is not None]
        if not ids:
            return

        def chosen(duration: timedelta | None) -> None:
            if duration is not None and not app.refuses_writes("snoozed"):
                self.apply(lambda service: service.snooze(ids, duration, app.user, app.clock()))

        from intelligentos.tui.screens.dialogs import Prompt, PromptDialog

        rules = ", ".join(dict.fromkeys(a.rule for a in alerts))
        subject = f"{app.data.subject_name(alerts[0])} · {rules}"
        if len(alerts) > 1:
            subject += f"  ({len(alerts)} alerts)"
        prompt = Prompt(
            "Snooze",
            subject,
            "for how long? 30m, 4h, 2d, 1w (at most 30d)",
            parse=parse_duration,
            value="4h",
        )
        app.push_screen(PromptDialog(prompt), chosen)

    def apply(self, action: Callable[[AlertService], list[str]]) -> None:
        """Apply a lifecycle action off the event loop; a refresh follows."""

        def apply_lifecycle() -> None:
            assert self.service is not None
            self.app.post_message(LifecycleApplied(action(self.service)))

        self.app.run_worker(
            apply_lifecycle,
            name="apply_lifecycle",
            group="lifecycle",
            thread=True,
            exit_on_error=False,
        )

    def applied(self, message: LifecycleApplied) -> None:
        for problem in message.problems:
            self.app.notify(problem, title="Not saved", severity="error", markup=False)

    def data_loaded(self, data: CockpitData) -> None:
        self._announce(data)
        # A silence ending brings its alerts back to attention: evaluate again right then.
        ends = [a.snoozed_until for a in data.open_alerts if a.snoozed_until]
        self._schedule_snooze_expiry(ends + [s.until for s in data.silenced.values()])

    def _announce(self, data: CockpitData) -> None:
        if not data.evaluated or data.past is not None:
            # The first paint's alerts may be resolved by the first evaluation; the past's
            # alerts are no news.
            return
        notice = self.announcer.news(self.app.focused_alerts(data.attention), data.subject_name)
        if notice is None:
            return
        self.app.notify(
            literal(notice.message),
            title=literal(notice.title),
            severity="error" if notice.critical else "warning",
            timeout=6,
            markup=False,
        )
        if self.ring_bell():
            self.app.bell()

    def pulsing_kpis(self) -> frozenset[str]:
        """Flashing KPIs whose alert is new enough to still pulse."""
        data = self.app.data
        return self.announcer.pulsing(data.attention) if data else frozenset()

    def _schedule_snooze_expiry(self, stamps: list[str]) -> None:
        """Nothing may change in the store when a snooze or a silence ends (``stamps``):
        evaluate again right then."""
        if self.snooze_timer is not None:
            self.snooze_timer.stop()
            self.snooze_timer = None
        ends = [parse_stamp(moment) for moment in stamps]
        if ends and self.app.services.fixed_as_of is None:
            now = utc_naive(self.app.clock())
            delay = max((min(ends) - now).total_seconds(), 0) + 0.5
            self.snooze_timer = self.app.set_timer(delay, self.app.request_refresh)
