"""The outbox: each incident notice as the store keeps it, and one delivery per notice and
sink, with its state and the backoff between its attempts.

Pure Python: no SQL, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from intelligentos.domain.detection import Severity

# A delivery that did not get through is tried again FIRST_BACKOFF after its first attempt,
# BACKOFF_FACTOR times longer after each further one, at most MAX_BACKOFF apart; after
# MAX_ATTEMPTS attempts it is dead: only `notify resend` sends it again. In all: 30 s, 2 min,
# 8 min, 32 min, 2 h 8 min, then 6 h twice, about 15 hours from the first attempt to the last.
FIRST_BACKOFF_SECONDS = 30
BACKOFF_FACTOR = 4
MAX_BACKOFF_SECONDS = 6 * 3600
MAX_ATTEMPTS = 8

PENDING, SENDING, DELIVERED, DEAD = "pending", "sending", "delivered", "dead"


def backoff_seconds(attempts: int) -> int:
    """How long a delivery waits after its ``attempts``-th failed attempt."""
    if attempts < 1:
        return 0
    wait: int = FIRST_BACKOFF_SECONDS * BACKOFF_FACTOR ** min(attempts - 1, 16)
    return min(wait, MAX_BACKOFF_SECONDS)


@dataclass(frozen=True)
class StoredNotice:
    """One notified change of an incident, as the store keeps it: what happened, who did it,
    the routing decisions (``decisions``: agent, route, notified, why) and what a message
    needs (``snapshot``: the face alert, the alerts, subject and owner), or the silence that
    held it back."""

    id: int
    incident_id: int
    kind: str  # a domain.incidents.Notice value
    at: str
    actor: str
    note: str | None
    severity: Severity
    rule: str
    silence_id: int | None
    snapshot: dict[str, Any]
    decisions: list[dict[str, Any]]

    @property
    def notified(self) -> list[str]:
        """The agents the notice notifies, in routing order."""
        return [d["agent_id"] for d in self.decisions if d.get("notified")]


@dataclass(frozen=True)
class OutboxEntry:
    """One notice's delivery to one sink (by its label)."""

    id: int
    notice_id: int
    sink: str
    state: str  # PENDING, SENDING, DELIVERED or DEAD
    attempts: int
    next_at: str | None
    last_error: str | None
    updated_at: str
