"""The alerts, their event log and their routes; an alert as it stood at a past moment."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from intelligentos.domain.agents import Route
from intelligentos.domain.alerts import OPEN_STATES, Alert, Event, State, by_severity, state_at
from intelligentos.domain.detection import Severity
from intelligentos.store.connection import Row, StoreConnections
from intelligentos.store.schema import ALERT_COLUMNS, INSERT_ALERT, UPDATE_ALERT


class AlertQueries(StoreConnections):
    """Reading and writing alerts, their events and their routes."""

    @staticmethod
    def _alert(row: Mapping[str, Any]) -> Alert:
        return Alert(
            **{
                **row,
                "severity": Severity(row["severity"]),
                "state": State(row["state"]),
                "message": row["message"] or "",
            }
        )

    def alerts(self, states: Iterable[str] | None = None, agent: str | None = None) -> list[Alert]:
        """Alerts, most severe and oldest first; optionally only some states, and only
        those routed to ``agent``."""
        wanted = json.dumps([str(s) for s in states]) if states is not None else None
        rows = self.query(
            "SELECT * FROM alerts WHERE (?1 IS NULL OR state IN (SELECT value FROM json_each(?1))) "
            "AND (?2 IS NULL OR id IN (SELECT alert_id FROM alert_routes WHERE agent_id = ?2)) "
            "ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, "
            "opened_at, id",
            (wanted, agent),
        )
        return [self._alert(row) for row in rows]

    def open_alerts(self, agent: str | None = None) -> list[Alert]:
        return self.alerts(OPEN_STATES, agent)

    def unfiled_alerts(self) -> list[Alert]:
        """The alerts in no incident yet (those an evaluation or a change just wrote),
        oldest first."""
        rows = self.query("SELECT * FROM alerts WHERE incident_id IS NULL ORDER BY opened_at, id")
        return [self._alert(row) for row in rows]

    def alert(self, alert_id: int) -> Alert | None:
        rows = self.query("SELECT * FROM alerts WHERE id = ?", (alert_id,))
        return self._alert(rows[0]) if rows else None

    def save_alert(self, alert: Alert) -> Alert:
        """Insert a new alert or update an existing one; call inside :meth:`transaction`."""
        values: dict[str, Any] = {c: getattr(alert, c) for c in ALERT_COLUMNS}
        values["severity"] = alert.severity.value
        values["state"] = alert.state.value
        with self._read() as conn:
            if alert.id is None:
                cursor = conn.execute(INSERT_ALERT, values)
                return replace(alert, id=cursor.lastrowid)
            conn.execute(UPDATE_ALERT, {**values, "id": alert.id})
        return alert

    def append_event(self, alert_id: int, event: Event) -> None:
        """Log a transition; call inside :meth:`transaction`, with the alert's change."""
        with self._read() as conn:
            conn.execute(
                "INSERT INTO alert_events (alert_id, at, actor, action, from_state, to_state, "
                "note, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    alert_id,
                    event.at,
                    event.actor,
                    event.action,
                    event.from_state.value if event.from_state else None,
                    event.to_state.value,
                    event.note,
                    event.value,
                ),
            )

    def record(
        self, alert: Alert, event: Event | None, routes: Sequence[Route] | None = None
    ) -> Alert:
        """Save an alert and log its transition together, with where it is routed when
        ``routes`` is given (a new alert's); call inside :meth:`transaction`."""
        saved = self.save_alert(alert)
        if event is not None:
            assert saved.id is not None
            self.append_event(saved.id, event)
        if routes is not None:
            assert saved.id is not None
            self.save_routes(saved.id, routes)
        return saved

    def save_routes(self, alert_id: int, routes: Sequence[Route]) -> None:
        """Set the agents an alert is routed to, in order (replacing any it had); call
        inside :meth:`transaction`."""
        with self._read() as conn:
            conn.execute("DELETE FROM alert_routes WHERE alert_id = ?", (alert_id,))
            conn.executemany(
                "INSERT INTO alert_routes (alert_id, agent_id, reason, position) "
                "VALUES (?, ?, ?, ?)",
                [(alert_id, r.agent_id, r.reason, i) for i, r in enumerate(routes)],
            )

    def routes_of(self, alert_ids: Iterable[int] | None = None) -> dict[int, list[Route]]:
        """Where each alert is routed, in route order: every given id (an alert routed
        nowhere has an empty list), or every routed alert when ``None``."""
        ids = None if alert_ids is None else sorted(set(alert_ids))
        found: dict[int, list[Route]] = {i: [] for i in ids or ()}
        rows = self.query(
            "SELECT alert_id, agent_id, reason FROM alert_routes WHERE ?1 IS NULL OR alert_id "
            "IN (SELECT value FROM json_each(?1)) ORDER BY alert_id, position, agent_id",
            (None if ids is None else json.dumps(ids),),
        )
        for r in rows:
            found.setdefault(r["alert_id"], []).append(Route(r["agent_id"], r["reason"]))
        return found

    def alert_events(self, alert_id: int | None = None) -> list[Event]:
        """The transitions of one alert (of every alert when ``None``), oldest first."""
        rows = self.query(
            "SELECT * FROM alert_events WHERE ?1 IS NULL OR alert_id = ?1 ORDER BY alert_id, id",
            (alert_id,),
        )
        return [event_from_row(r) for r in rows]

    def alert_rows(self) -> list[Row]:
        """Every alert as its plain row, by id (for export)."""
        return self.query("SELECT * FROM alerts ORDER BY id")

    def event_rows(self) -> list[Row]:
        """Every alert event as its plain row, by alert and order (for export)."""
        return self.query("SELECT * FROM alert_events ORDER BY alert_id, id")

    def alerts_as_of(self, moment: str) -> list[Alert]:
        """Every alert opened at or before ``moment`` (a store timestamp, or a day's upper
        bound from :func:`intelligentos.domain.clock.period_upper_bound`), as it stood then,
        replayed from the event log (:func:`intelligentos.domain.alerts.state_at`); most severe and
        oldest first. Alerts opened later did not exist yet; one resolved later was open."""
        rows = self.query("SELECT * FROM alerts WHERE opened_at <= ? ORDER BY id", (moment,))
        events: dict[int, list[Event]] = {}
        for r in self.query(
            # Later events too: a later escalation tells the severity before it.
            "SELECT * FROM alert_events WHERE alert_id IN "
            "(SELECT id FROM alerts WHERE opened_at <= ?) ORDER BY alert_id, id",
            (moment,),
        ):
            events.setdefault(r["alert_id"], []).append(event_from_row(r))
        past = (state_at(self._alert(row), events.get(row["id"], []), moment) for row in rows)
        return by_severity(alert for alert in past if alert is not None)


def event_from_row(r: Mapping[str, Any]) -> Event:
    return Event(
        at=r["at"],
        actor=r["actor"],
        action=r["action"],
        from_state=State(r["from_state"]) if r["from_state"] else None,
        to_state=State(r["to_state"]),
        note=r["note"],
        value=r["value"],
        alert_id=r["alert_id"],
    )
