"""Incidents (the alerts about one problem, see :mod:`intelligentos.domain.incidents`) and
silences (:mod:`intelligentos.domain.silences`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from intelligentos.domain.incidents import Incident
from intelligentos.domain.silences import Matcher, Silence
from intelligentos.store.connection import StoreConnections


def _silence(row: Mapping[str, Any]) -> Silence:
    return Silence(
        Matcher(row["matcher"]),
        row["value"],
        row["starts_at"],
        row["ends_at"],
        row["who"],
        row["note"],
        id=row["id"],
        expired_at=row["expired_at"],
        expired_by=row["expired_by"],
    )


class IncidentQueries(StoreConnections):
    """Reading and writing incidents and silences."""

    def incidents(self, *, open_only: bool = False) -> list[Incident]:
        """Every incident (or the open ones) with its alerts, oldest first."""
        alerts: dict[int, list[Any]] = {}
        for alert in self.alerts():  # type: ignore[attr-defined]
            if alert.incident_id is not None:
                alerts.setdefault(alert.incident_id, []).append(alert)
        rows = self.query(
            "SELECT id, group_key FROM incidents WHERE (?1 = 0 OR resolved_at IS NULL) ORDER BY id",
            (int(open_only),),
        )
        return [
            Incident(
                row["id"],
                row["group_key"],
                tuple(sorted(alerts.get(row["id"], []), key=lambda a: (a.opened_at, a.id))),
            )
            for row in rows
        ]

    def save_incidents(self, incidents: Iterable[Incident]) -> dict[int, int]:
        """Write ``incidents``: a new one (``id`` None, or an id the store lacks) is
        inserted, a known one has its resolution updated; each of its alerts is tied to it.
        The ids given to new incidents, by the id they came with (or by position for None).
        Call inside :meth:`transaction`."""
        given: dict[int, int] = {}
        with self._read() as conn:
            for position, incident in enumerate(incidents):
                resolved = (
                    None
                    if any(a.is_open for a in incident.alerts)
                    else max((a.resolved_at or "" for a in incident.alerts), default=None)
                )
                held = (
                    conn.execute("SELECT id FROM incidents WHERE id = ?", (incident.id,)).fetchone()
                    if incident.id is not None
                    else None
                )
                if held is None:
                    cursor = conn.execute(
                        "INSERT INTO incidents (group_key, opened_at, resolved_at) "
                        "VALUES (?, ?, ?)",
                        (incident.group, incident.opened_at, resolved),
                    )
                    assert cursor.lastrowid is not None
                    new_id = cursor.lastrowid
                    given[incident.id if incident.id is not None else -position - 1] = new_id
                else:
                    new_id = held[0]
                    conn.execute(
                        "UPDATE incidents SET resolved_at = ? WHERE id = ?", (resolved, new_id)
                    )
                conn.executemany(
                    "UPDATE alerts SET incident_id = ? WHERE id = ?",
                    [(new_id, a.id) for a in incident.alerts if a.id is not None],
                )
        return given

    # --- silences --------------------------------------------------------------------------

    def silences(self, *, include_ended_before: str | None = None) -> list[Silence]:
        """Every silence, newest first; with ``include_ended_before`` (a stamp), only those
        still holding at that moment or later."""
        if include_ended_before is None:
            rows = self.query("SELECT * FROM silences ORDER BY starts_at DESC, id DESC")
        else:
            rows = self.query(
                "SELECT * FROM silences WHERE coalesce(min(ends_at, expired_at), ends_at) > ? "
                "ORDER BY starts_at DESC, id DESC",
                (include_ended_before,),
            )
        return [_silence(row) for row in rows]

    def add_silence(self, silence: Silence) -> Silence:
        """Save a new silence; call inside :meth:`transaction`."""
        with self._read() as conn:
            cursor = conn.execute(
                "INSERT INTO silences (matcher, value, starts_at, ends_at, who, note) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    silence.matcher.value,
                    silence.value,
                    silence.starts_at,
                    silence.ends_at,
                    silence.who,
                    silence.note,
                ),
            )
        return Silence(
            silence.matcher,
            silence.value,
            silence.starts_at,
            silence.ends_at,
            silence.who,
            silence.note,
            id=cursor.lastrowid,
        )

    def expire_silence(self, silence_id: int, who: str, at: str) -> bool:
        """End a silence now; False when there is none by that id, or it had ended. Call
        inside :meth:`transaction`."""
        with self._read() as conn:
            cursor = conn.execute(
                "UPDATE silences SET expired_at = ?, expired_by = ? WHERE id = ? "
                "AND expired_at IS NULL AND ends_at > ?",
                (at, who, silence_id, at),
            )
        return cursor.rowcount > 0
