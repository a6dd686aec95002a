"""The delivery log: which alert transitions went to which notification sink.

A sink is known by its label (masked, see :attr:`intelligentos.domain.notify.NotifySink.label`).
Each sink has a watermark in ``store_meta`` (``notify.after:<label>``): the id of the last
alert event it has no claim on. It is set, when a sink is first seen, to the latest event
then, so that a sink added to the config receives the transitions from then on, never the
store's history; and it moves up past events that are dealt with, so that finding what is
left to deliver reads only the events since.

An event goes to a sink at most once at a time: :meth:`Deliveries.claim` inserts the
``deliveries`` row (UNIQUE event and sink) as ``sending`` before anything is sent, and only
the process whose insert made the row sends. A delivery that did not get through is
``pending`` (its attempts and last error kept) until it is retried: :meth:`Deliveries.reclaim`
moves it back to ``sending`` for one process only. One left ``sending`` by a process that
died is never sent again (at most once).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from intelligentos.domain.alerts import Event
from intelligentos.store.alerts import event_from_row
from intelligentos.store.store import Store

WATERMARK_PREFIX = "notify.after:"
SENDING, PENDING, DELIVERED, FAILED = "sending", "pending", "delivered", "failed"


@dataclass(frozen=True)
class LoggedEvent:
    """An alert event with its id in the log."""

    id: int
    alert_id: int
    event: Event


@dataclass(frozen=True)
class Delivery:
    event_id: int
    sink: str
    attempts: int
    outcome: str
    detail: str | None
    at: str


@dataclass
class Deliveries:
    """The delivery log of one store. Every write is its own short transaction."""

    store: Store

    def watermarks(self) -> dict[str, int]:
        """Each known sink's watermark, by label."""
        found = {}
        for key, value in self.store.meta().items():
            if key.startswith(WATERMARK_PREFIX):
                try:
                    found[key.removeprefix(WATERMARK_PREFIX)] = int(value)
                except ValueError:
                    continue  # store_meta is public: another tool may have written anything
        return found

    def register(self, labels: Iterable[str]) -> dict[str, int]:
        """Give every sink not seen before the latest event as its watermark; return every
        given sink's watermark."""
        wanted = list(dict.fromkeys(labels))
        known = self.watermarks()
        if any(label not in known for label in wanted):
            with self.store.transaction() as conn:
                latest = conn.execute("SELECT coalesce(max(id), 0) FROM alert_events").fetchone()
                for label in wanted:
                    # Another process may have registered it meanwhile: keep its mark.
                    conn.execute(
                        "INSERT INTO store_meta (key, value) VALUES (?, ?) "
                        "ON CONFLICT (key) DO NOTHING",
                        (WATERMARK_PREFIX + label, str(latest[0])),
                    )
            known = self.watermarks()
        return {label: known[label] for label in wanted if label in known}

    def undelivered(self, label: str, after: int, limit: int = 500) -> list[LoggedEvent]:
        """Events after ``after`` without a delivery row for ``label``, oldest first."""
        rows = self.store.query(
            "SELECT * FROM alert_events AS e WHERE e.id > ? AND NOT EXISTS "
            "(SELECT 1 FROM deliveries AS d WHERE d.event_id = e.id AND d.sink = ?) "
            "ORDER BY e.id LIMIT ?",
            (after, label, limit),
        )
        return [LoggedEvent(row["id"], row["alert_id"], event_from_row(row)) for row in rows]

    def claim(self, event_id: int, label: str, at: str) -> bool:
        """Reserve the delivery of one event to one sink; False when another process (or an
        earlier run) has it already."""
        with self.store.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO deliveries (event_id, sink, attempts, outcome, detail, at) "
                "VALUES (?, ?, 0, ?, NULL, ?) ON CONFLICT (event_id, sink) DO NOTHING",
                (event_id, label, SENDING, at),
            )
        return cursor.rowcount == 1

    def retryable(
        self, label: str | None = None, *, failed_too: bool = False, event_id: int | None = None
    ) -> list[Delivery]:
        """The deliveries that did not get through and may be sent again (of one sink, of
        one event), oldest event first: those ``pending``, and with ``failed_too`` those
        given up on as well."""
        # A pending row with no attempt is a claim an older version left mid-send: it is
        # never sent again.
        rows = self.store.query(
            "SELECT event_id, sink, attempts, outcome, detail, at FROM deliveries "
            "WHERE ((outcome = ?3 AND attempts > 0) OR (?4 AND outcome = ?5)) "
            "AND (?1 IS NULL OR sink = ?1) AND (?2 IS NULL OR event_id = ?2) ORDER BY event_id",
            (label, event_id, PENDING, failed_too, FAILED),
        )
        return [Delivery(**row) for row in rows]

    def reclaim(self, delivery: Delivery, at: str) -> bool:
        """Take a delivery that did not get through back for sending; False when it changed
        meanwhile (another process has it, or it went through)."""
        with self.store.transaction() as conn:
            cursor = conn.execute(
                "UPDATE deliveries SET outcome = ?, at = ? WHERE event_id = ? "
                "AND sink = ? AND outcome = ? AND attempts = ? AND at = ?",
                (
                    SENDING,
                    at,
                    delivery.event_id,
                    delivery.sink,
                    delivery.outcome,
                    delivery.attempts,
                    delivery.at,
                ),
            )
        return cursor.rowcount == 1

    def transitions(self) -> dict[int, tuple[int, str]]:
        """Each delivered-or-not event's alert and action, by event id (for listing)."""
        rows = self.store.query(
            "SELECT e.id, e.alert_id, e.action FROM alert_events AS e "
            "WHERE e.id IN (SELECT event_id FROM deliveries)"
        )
        return {row["id"]: (row["alert_id"], row["action"]) for row in rows}

    def event(self, event_id: int) -> LoggedEvent | None:
        """One alert event of the log."""
        rows = self.store.query("SELECT * FROM alert_events WHERE id = ?", (event_id,))
        return (
            LoggedEvent(rows[0]["id"], rows[0]["alert_id"], event_from_row(rows[0]))
            if rows
            else None
        )

    def finish(
        self, event_id: int, label: str, attempts: int, outcome: str, detail: str | None, at: str
    ) -> None:
        """Record how a claimed delivery ended: delivered, pending (to be retried) or failed
        (given up on), after how many tries in all."""
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE deliveries SET attempts = ?, outcome = ?, detail = ?, at = ? "
                "WHERE event_id = ? AND sink = ?",
                (attempts, outcome, detail, at, event_id, label),
            )

    def advance(self, label: str, event_id: int) -> None:
        """Move the sink's watermark up to ``event_id`` (never down)."""
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
                "SET value = excluded.value WHERE CAST(value AS INTEGER) < CAST(excluded.value "
                "AS INTEGER)",
                (WATERMARK_PREFIX + label, str(event_id)),
            )

    def log(
        self, label: str | None = None, outcomes: Sequence[str] | None = None
    ) -> list[Delivery]:
        """Every delivery (of one sink; with one of ``outcomes``), by event."""
        rows = self.store.query(
            "SELECT event_id, sink, attempts, outcome, detail, at FROM deliveries "
            "WHERE ?1 IS NULL OR sink = ?1 ORDER BY event_id, sink",
            (label,),
        )
        found = [Delivery(**row) for row in rows]
        return found if outcomes is None else [d for d in found if d.outcome in outcomes]
