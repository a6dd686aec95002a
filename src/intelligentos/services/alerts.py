"""People's actions on alerts (acknowledge, snooze, take back, note, assign, resolve), one
alert at a time or on an incident's alerts, and which alerts are news.

:class:`AlertService` applies lifecycle transitions to the store; :class:`Announcer`
decides what to tell the user after each refresh. Both are plain Python.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from intelligentos.domain.alert_actions import (
    add_note,
    assign,
    resolve,
    to_follow_up,
    to_unacknowledge,
    unacknowledge,
)
from intelligentos.domain.alerts import Alert, Event, acknowledge, snooze
from intelligentos.domain.detection import Severity
from intelligentos.domain.formatting import plural
from intelligentos.domain.incidents import Incident, to_acknowledge
from intelligentos.services.check import change_alerts
from intelligentos.store import Store, StoreError

# A new alert pulses this long, then stays highlighted until acknowledged.
FLASH_SECONDS = 10.0


@dataclass(frozen=True)
class Notice:
    """Something to tell the user: a toast."""

    message: str
    title: str = ""
    critical: bool = False


def _unique(problems: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(problems))


@dataclass
class AlertService:
    """Lifecycle actions on a store: on the alerts given, in one transaction (an incident's
    alerts change together). A refused or failed action is a problem sentence, never an
    exception."""

    store: Store

    def acknowledge(
        self, alert_ids: Iterable[int], actor: str, note: str, now: datetime
    ) -> list[str]:
        return self._all(alert_ids, lambda alert: acknowledge(alert, actor, note, now))

    def snooze(
        self, alert_ids: Iterable[int], duration: timedelta, actor: str, now: datetime
    ) -> list[str]:
        return self._all(alert_ids, lambda alert: snooze(alert, duration, actor, None, now))

    def unacknowledge(
        self, alert_ids: Iterable[int], actor: str, note: str, now: datetime
    ) -> list[str]:
        return self._all(alert_ids, lambda alert: unacknowledge(alert, actor, note, now))

    def add_note(self, alert_ids: Iterable[int], actor: str, note: str, now: datetime) -> list[str]:
        return self._all(alert_ids, lambda alert: add_note(alert, actor, note, now))

    def assign(
        self, alert_ids: Iterable[int], agent_id: str, actor: str, now: datetime
    ) -> list[str]:
        try:
            agents = self.store.agent_ids()
        except StoreError as error:
            return [str(error)]
        return self._all(alert_ids, lambda alert: assign(alert, agent_id, agents, actor, now))

    def resolve(self, alert_ids: Iterable[int], actor: str, note: str, now: datetime) -> list[str]:
        return self._all(alert_ids, lambda alert: resolve(alert, actor, note, now))

    # An incident's forms: each applies to the incident's alerts it concerns (acknowledging
    # it acknowledges its firing alerts); an incident with none of those is one sentence.

    def acknowledge_incident(
        self, incident_id: int, actor: str, note: str, now: datetime
    ) -> list[str]:
        return self._incident(
            incident_id,
            to_acknowledge,
            "no firing alert to acknowledge",
            lambda ids: self.acknowledge(ids, actor, note, now),
        )

    def unacknowledge_incident(
        self, incident_id: int, actor: str, note: str, now: datetime
    ) -> list[str]:
        return self._incident(
            incident_id,
            to_unacknowledge,
            "no acknowledged or snoozed alert to take back",
            lambda ids: self.unacknowledge(ids, actor, note, now),
        )

    def add_note_incident(
        self, incident_id: int, actor: str, note: str, now: datetime
    ) -> list[str]:
        return self._incident(
            incident_id,
            to_follow_up,
            "no alert to add a note to",
            lambda ids: self.add_note(ids, actor, note, now),
        )

    def assign_incident(
        self, incident_id: int, agent_id: str, actor: str, now: datetime
    ) -> list[str]:
        # Its open alerts already assigned to the agent are left as they are.
        return self._incident(
            incident_id,
            lambda incident: [a for a in incident.open_alerts if a.assignee != agent_id],
            f"no open alert that is not already assigned to {agent_id}",
            lambda ids: self.assign(ids, agent_id, actor, now),
        )

    def resolve_incident(self, incident_id: int, actor: str, note: str, now: datetime) -> list[str]:
        return self._incident(
            incident_id,
            lambda incident: incident.open_alerts,
            "no open alert to resolve: it is already resolved",
            lambda ids: self.resolve(ids, actor, note, now),
        )

    def _incident(
        self,
        incident_id: int,
        pick: Callable[[Incident], Iterable[Alert]],
        none: str,
        action: Callable[[list[int]], list[str]],
    ) -> list[str]:
        try:
            incident = next((i for i in self.store.incidents() if i.id == incident_id), None)
        except StoreError as error:
            return [str(error)]
        if incident is None:
            return [f"there is no incident {incident_id}"]
        ids = [a.id for a in pick(incident) if a.id is not None]
        return action(ids) if ids else [f"incident {incident_id} has {none}"]

    def _all(
        self, alert_ids: Iterable[int], transition: Callable[[Alert], tuple[Alert, Event]]
    ) -> list[str]:
        """The transition on every alert in one transaction (see
        :func:`~intelligentos.services.check.change_alerts`): a sentence per refusal."""
        try:
            _, refused = change_alerts(self.store, list(alert_ids), transition)
        except StoreError as error:
            return [str(error)]
        return _unique(str(error) for error in refused)


@dataclass
class Announcer:
    """Remembers which alerts the user has been told about, and since when each has been
    asking for attention (the pulse lasts ``flash_seconds`` from then)."""

    clock: Callable[[], float]
    flash_seconds: float = FLASH_SECONDS
    announced: set[int] = field(default_factory=set)
    first_seen: dict[int, float] = field(default_factory=dict)
    rounds: int = 0

    def news(self, attention: list[Alert], name: Callable[[Alert], str]) -> Notice | None:
        """One notice for the alerts among ``attention`` that are new since the last call:
        the first call sums up everything that needs attention (the same count as the
        header's), later ones name what one change brought, however many alerts."""
        now = self.clock()
        fresh = [a for a in attention if a.id is not None and a.id not in self.announced]
        for alert in attention:
            if alert.id is not None:
                self.first_seen.setdefault(alert.id, now)
                self.announced.add(alert.id)
        self.rounds += 1
        if not fresh:
            return None
        critical = any(a.severity is Severity.CRITICAL for a in fresh)
        if self.rounds == 1:
            return Notice(
                f"{plural(len(fresh), 'alert')} need{'s' if len(fresh) == 1 else ''} attention: "
                "press a to review them.",
                critical=critical,
            )
        if len(fresh) == 1:
            return Notice(fresh[0].message, name(fresh[0]), critical)
        rules: dict[str, list[str]] = {}
        for alert in fresh:
            rules.setdefault(name(alert), []).append(alert.rule)
        listed = "; ".join(f"{subject} ({', '.join(found)})" for subject, found in rules.items())
        return Notice(f"{listed}. Press a to review them.", f"{len(fresh)} new alerts", critical)

    def pulsing(self, attention: Iterable[Alert]) -> frozenset[str]:
        """KPIs whose alert is new enough to still pulse."""
        now = self.clock()
        return frozenset(
            a.kpi_id
            for a in attention
            if a.kpi_id
            and a.id is not None
            and now - self.first_seen.get(a.id, now) < self.flash_seconds
        )
