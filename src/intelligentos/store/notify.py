"""The notice log and the outbox: each notified change of an incident, and its delivery to
each notification sink.

A **notice** is written in the transaction of the change that caused it (an evaluation, a
person's acknowledgement): it is never lost, whatever happens to the process after.

The **outbox** holds one row per notice and sink (``UNIQUE (notice_id, sink)``), made by
:meth:`NotifyQueries.fan_out` after the change commits. A sink is known by its label
(masked, see :attr:`intelligentos.domain.notify.NotifySink.label`) and has a watermark in
``store_meta`` (``outbox.after:<label>``): the id of the last notice it was considered for.
It is set, when the sink is first seen, to the latest notice then, so that a sink added to
the config gets the notices from then on, never the store's history.

A delivery is sent by one process only: :meth:`NotifyQueries.claim_delivery` moves it from
``pending`` (or ``dead``, when re-sent by hand) to ``sending`` in a transaction of its own,
and only the process whose update did so sends it. One left ``sending`` by a process that
died is not sent again unless asked (``notify resend ID``): at most once.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from intelligentos.domain.detection import Severity
from intelligentos.domain.outbox import PENDING, SENDING, OutboxEntry, StoredNotice
from intelligentos.store.connection import StoreConnections

WATERMARK_PREFIX = "outbox.after:"
STORE_ID_KEY = "store.id"

INSERT_NOTICE = (
    "INSERT INTO notices (incident_id, kind, at, actor, note, severity, rule, silence_id, "
    "snapshot, decisions) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
SELECT_NOTICES_AFTER = "SELECT * FROM notices WHERE id > ? ORDER BY id LIMIT ?"
SELECT_NOTICE = "SELECT * FROM notices WHERE id = ?"
SELECT_LATEST_NOTICE = "SELECT coalesce(max(id), 0) FROM notices"
# ?1: the incidents asked about, as a JSON array.
SELECT_LAST_NOTICE_OF = (
    "SELECT * FROM notices WHERE id IN (SELECT max(id) FROM notices "
    "WHERE incident_id IN (SELECT value FROM json_each(?1)) GROUP BY incident_id)"
)
REGISTER_SINK = "INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING"
ADVANCE_WATERMARK = (
    "INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
    "SET value = excluded.value WHERE CAST(value AS INTEGER) < CAST(excluded.value AS INTEGER)"
)
INSERT_DELIVERY = (
    "INSERT INTO outbox (notice_id, sink, state, attempts, next_at, last_error, updated_at) "
    "VALUES (?, ?, ?, 0, ?, NULL, ?) ON CONFLICT (notice_id, sink) DO NOTHING"
)
SELECT_OUTBOX = "SELECT * FROM outbox ORDER BY notice_id, sink"
# ?1: a sink's label; ?2: the incidents asked about, as a JSON array.
SELECT_INCIDENTS_QUEUED = (
    "SELECT DISTINCT n.incident_id FROM outbox o JOIN notices n ON n.id = o.notice_id "
    "WHERE o.sink = ?1 AND n.incident_id IN (SELECT value FROM json_each(?2))"
)
# ?1: the states wanted, as a JSON array (the table keeps every delivery that went through).
SELECT_OUTBOX_IN = (
    "SELECT * FROM outbox WHERE state IN (SELECT value FROM json_each(?1)) ORDER BY notice_id, sink"
)
CLAIM_DELIVERY = (
    "UPDATE outbox SET state = ?, updated_at = ? WHERE id = ? AND state = ? AND attempts = ?"
)
FINISH_DELIVERY = (
    "UPDATE outbox SET state = ?, attempts = ?, next_at = ?, last_error = ?, updated_at = ? "
    "WHERE id = ?"
)


def _notice(row: Mapping[str, Any]) -> StoredNotice:
    return StoredNotice(
        id=row["id"],
        incident_id=row["incident_id"],
        kind=row["kind"],
        at=row["at"],
        actor=row["actor"],
        note=row["note"],
        severity=Severity(row["severity"]),
        rule=row["rule"],
        silence_id=row["silence_id"],
        snapshot=json.loads(row["snapshot"]),
        decisions=json.loads(row["decisions"]),
    )


class NotifyQueries(StoreConnections):
    """Reading and writing notices and the outbox."""

    def add_notice(
        self,
        incident_id: int,
        kind: str,
        at: str,
        actor: str,
        note: str | None,
        severity: Severity,
        rule: str,
        silence_id: int | None,
        snapshot: Mapping[str, Any],
        decisions: Iterable[Mapping[str, Any]],
    ) -> int:
        """Log a notice; call inside the :meth:`transaction` of the change that caused it."""
        with self._read() as conn:
            cursor = conn.execute(
                INSERT_NOTICE,
                (
                    incident_id,
                    kind,
                    at,
                    actor,
                    note,
                    severity.value,
                    rule,
                    silence_id,
                    json.dumps(snapshot, ensure_ascii=False),
                    json.dumps(list(decisions), ensure_ascii=False),
                ),
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def notices(self, after: int = 0, limit: int = 500) -> list[StoredNotice]:
        """The notices logged after the id ``after``, oldest first."""
        return [_notice(row) for row in self.query(SELECT_NOTICES_AFTER, (after, limit))]

    def notice(self, notice_id: int) -> StoredNotice | None:
        rows = self.query(SELECT_NOTICE, (notice_id,))
        return _notice(rows[0]) if rows else None

    def last_notices(self, incident_ids: Iterable[int]) -> dict[int, StoredNotice]:
        """The latest notice of each of ``incident_ids`` that has one, by incident."""
        wanted = json.dumps(sorted(set(incident_ids)))
        found = [_notice(row) for row in self.query(SELECT_LAST_NOTICE_OF, (wanted,))]
        return {n.incident_id: n for n in found}

    def store_id(self) -> str:
        """The store's own random id (``store.id`` in ``store_meta``), made when first
        asked for: it keeps two stores' incidents apart at a sink (PagerDuty's dedup key)."""
        found = self.meta().get(STORE_ID_KEY)  # type: ignore[attr-defined]
        if found is None and not self.readonly:
            with self.transaction() as conn:
                conn.execute(REGISTER_SINK, (STORE_ID_KEY, uuid.uuid4().hex))
            found = self.meta().get(STORE_ID_KEY)  # type: ignore[attr-defined]
        return found or "unsaved"

    def watermarks(self) -> dict[str, int]:
        """Each known sink's watermark (a notice id), by label."""
        found = {}
        for key, value in self.meta().items():  # type: ignore[attr-defined]
            if key.startswith(WATERMARK_PREFIX):
                try:
                    found[key.removeprefix(WATERMARK_PREFIX)] = int(value)
                except ValueError:
                    continue  # store_meta is public: another tool may have written anything
        return found

    def register_sinks(self, labels: Iterable[str]) -> dict[str, int]:
        """Give every sink not seen before the latest notice as its watermark; return every
        given sink's watermark."""
        wanted = list(dict.fromkeys(labels))
        known = self.watermarks()
        if any(label not in known for label in wanted):
            with self.transaction() as conn:
                latest = conn.execute(SELECT_LATEST_NOTICE).fetchone()[0]
                for label in wanted:
                    # Another process may have registered it meanwhile: its mark stays.
                    conn.execute(REGISTER_SINK, (WATERMARK_PREFIX + label, str(latest)))
            known = self.watermarks()
        return {label: known[label] for label in wanted if label in known}

    def fan_out(self, label: str, notice_ids: Collection[int], upto: int, at: str) -> None:
        """Queue the notices ``notice_ids`` for the sink ``label`` (due at ``at``) and move
        its watermark up to ``upto``, in one transaction."""
        with self.transaction() as conn:
            for notice_id in sorted(notice_ids):
                conn.execute(INSERT_DELIVERY, (notice_id, label, PENDING, at, at))
            conn.execute(ADVANCE_WATERMARK, (WATERMARK_PREFIX + label, str(upto)))

    def incidents_queued(self, label: str, incident_ids: Collection[int]) -> set[int]:
        """Those of ``incident_ids`` a notice of which was queued for the sink ``label``."""
        wanted = json.dumps(sorted(incident_ids))
        found = self.query(SELECT_INCIDENTS_QUEUED, (label, wanted))
        return {row["incident_id"] for row in found}

    def outbox(self, states: Collection[str] | None = None) -> list[OutboxEntry]:
        """Every delivery (in one of ``states``), by notice and sink."""
        if states is None:
            return [OutboxEntry(**row) for row in self.query(SELECT_OUTBOX)]
        wanted = json.dumps(sorted(states))
        return [OutboxEntry(**row) for row in self.query(SELECT_OUTBOX_IN, (wanted,))]

    def claim_delivery(self, entry: OutboxEntry, at: str) -> bool:
        """Take a delivery for sending, as ``entry`` found it; False when it changed
        meanwhile (another process has it, or it went through)."""
        with self.transaction() as conn:
            cursor = conn.execute(
                CLAIM_DELIVERY, (SENDING, at, entry.id, entry.state, entry.attempts)
            )
        return cursor.rowcount == 1

    def finish_delivery(
        self,
        entry_id: int,
        state: str,
        attempts: int,
        next_at: str | None,
        last_error: str | None,
        at: str,
    ) -> None:
        """Record how a claimed delivery ended: delivered, pending (due again at
        ``next_at``) or dead, after ``attempts`` attempts in all."""
        with self.transaction() as conn:
            conn.execute(FINISH_DELIVERY, (state, attempts, next_at, last_error, at, entry_id))
