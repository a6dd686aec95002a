"""Silences and maintenance windows: alerts that still open and are recorded, but notify no
one and do not count as unacknowledged, for a span of time.

A silence matches on one thing: a KPI (``kpi``), an alert rule (``rule``), a source system
(``system``: a stale-source alert of that system, and every alert of a KPI whose lineage
reads it) or an agent (``agent``: the alerts routed to it). It lasts from ``starts_at`` to
``ends_at`` (at most :data:`LONGEST`: a maintenance window longer than that is a catalog
change), or until it is expired by hand. Two silences on the same thing whose spans overlap
are refused: extend the one there is. Every silence is an event, with who and why.

Pure Python: no SQL, no I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from intelligentos.domain.agents import routes
from intelligentos.domain.alerts import Alert, parse_duration
from intelligentos.domain.catalog.models import Catalog
from intelligentos.domain.clock import stamp
from intelligentos.domain.lineage import LineageGraph

LONGEST = timedelta(days=90)
_TOO_LONG = "a silence lasts at most 90 days; for longer, change the catalog or the routing"


class SilenceError(ValueError):
    """A silence that cannot be; the message is one sentence for the user."""


class Matcher(StrEnum):
    KPI = "kpi"
    RULE = "rule"
    SYSTEM = "system"
    AGENT = "agent"


@dataclass(frozen=True)
class Silence:
    matcher: Matcher
    value: str
    starts_at: str  # ISO-8601 UTC stamps (domain.clock.stamp)
    ends_at: str
    who: str
    note: str
    id: int | None = None
    expired_at: str | None = None  # expired by hand before its end
    expired_by: str | None = None  # who expired it

    @property
    def until(self) -> str:
        """When it stops: its end, or when it was expired, whichever came first."""
        return min(self.ends_at, self.expired_at) if self.expired_at else self.ends_at

    def active(self, now: datetime) -> bool:
        moment = stamp(now)
        return self.starts_at <= moment < self.until

    def describe(self) -> str:
        return f"{self.matcher.value} {self.value}"


def window(
    now: datetime, *, lasting: str | None = None, until: datetime | None = None
) -> tuple[str, str]:
    """The span of a silence starting ``now``: ``lasting`` a duration (``2h``), or ``until``
    a moment; exactly one. :class:`SilenceError` for anything else."""
    if (lasting is None) == (until is None):
        raise SilenceError("say how long the silence lasts: --for 2h or --until a time.")
    if lasting is not None:
        try:
            span = parse_duration(lasting, what="a silence", longest=LONGEST, why=_TOO_LONG)
        except ValueError as error:
            raise SilenceError(f"{error}.") from error
        return stamp(now), stamp(now + span)
    assert until is not None
    if until <= now:
        raise SilenceError(f"{stamp(until)} has passed: a silence ends after it starts.")
    if until - now > LONGEST:
        raise SilenceError(f"{stamp(until)} is too far: {_TOO_LONG}.")
    return stamp(now), stamp(until)


def matches(
    silence: Silence, alert: Alert, agents: Collection[str], systems: Collection[str]
) -> bool:
    """Whether ``silence`` covers ``alert``, routed to ``agents``, its KPI reading
    ``systems`` (its lineage's source systems)."""
    if silence.matcher is Matcher.KPI:
        return alert.kpi_id == silence.value
    if silence.matcher is Matcher.RULE:
        return alert.rule == silence.value
    if silence.matcher is Matcher.SYSTEM:
        return alert.system_id == silence.value or silence.value in systems
    return silence.value in agents


def silencing(
    silences: Iterable[Silence],
    alert: Alert,
    now: datetime,
    agents: Collection[str] = (),
    systems: Collection[str] = (),
) -> Silence | None:
    """The first active silence covering ``alert`` at ``now`` (None: it is not silenced)."""
    return next((s for s in silences if s.active(now) and matches(s, alert, agents, systems)), None)


def overlapping(new: Silence, silences: Iterable[Silence]) -> Silence | None:
    """A silence on the same thing whose span overlaps ``new``'s: refused, so that one
    silence says when the thing speaks again."""
    for held in silences:
        same = (held.matcher, held.value) == (new.matcher, new.value)
        if same and held.starts_at < new.until and new.starts_at < held.until:
            return held
    return None


# --- silences' effects: which alerts they hush, and the log of each --------------------------


def silenced_alerts(
    alerts: Iterable[Alert],
    silences: Iterable[Silence],
    now: datetime,
    catalog: Catalog,
    graph: LineageGraph,
) -> dict[int, Silence]:
    """The open alerts among ``alerts`` an active silence covers at ``now``, by alert id,
    with the silence (the first that covers it, newest first as the store lists them).
    Such an alert still opens and is recorded, but does not count as unacknowledged: it
    neither flashes nor makes ``check`` fail. An agent silence covers the alerts routed to
    the agent as the catalog says now; a system silence, the KPIs whose lineage reads it."""
    holding = [s for s in silences if s.active(now)]
    if not holding:
        return {}
    by_agent = any(s.matcher is Matcher.AGENT for s in holding)
    by_system = any(s.matcher is Matcher.SYSTEM for s in holding)
    found: dict[int, Silence] = {}
    for alert in alerts:
        if alert.id is None or not alert.is_open:
            continue
        agents = (
            [r.agent_id for r in routes(alert.kpi_id, alert.system_id, catalog, graph)]
            if by_agent
            else []
        )
        kpi = alert.kpi_id
        systems = graph.systems_of(kpi) if by_system and kpi and kpi in catalog.kpis else []
        silence = silencing(holding, alert, now, agents, systems)
        if silence is not None:
            found[alert.id] = silence
    return found


@dataclass(frozen=True)
class SilenceEntry:
    """One line of a silence's log: added, expired by hand, or ended on its own."""

    at: str
    actor: str  # who; "" when it ended on its own
    action: str  # "silenced", "silence expired", "silence ended"
    silence: Silence

    def describe(self) -> str:
        """The line as a person reads it, e.g. "silenced by ana until 12:00Z: CRM migration
        (silence 3, kpi win_rate)"."""
        what = f"(silence {self.silence.id}, {self.silence.describe()})"
        if self.action == "silenced":
            return (
                f"silenced by {self.silence.who} until {self.silence.ends_at}: "
                f"{self.silence.note} {what}"
            )
        if self.action == "silence expired":
            return f"silence expired by {self.actor} {what}"
        return f"silence ended {what}"


def log_of(silence: Silence, now: datetime) -> list[SilenceEntry]:
    """What happened to ``silence`` up to ``now``: added (by whom, why), then expired by
    hand (by whom) or ended on its own, when it has."""
    entries = [SilenceEntry(silence.starts_at, silence.who, "silenced", silence)]
    moment = stamp(now)
    if silence.expired_at is not None and silence.expired_at <= moment:
        entries.append(
            SilenceEntry(silence.expired_at, silence.expired_by or "", "silence expired", silence)
        )
    elif silence.ends_at <= moment:
        entries.append(SilenceEntry(silence.ends_at, "", "silence ended", silence))
    return entries


def silences_of(
    alert: Alert,
    silences: Iterable[Silence],
    now: datetime,
    agents: Collection[str] = (),
    systems: Collection[str] = (),
) -> list[SilenceEntry]:
    """The log of every silence that covered ``alert`` at some moment of its life (from
    its opening to its resolution, or ``now``), oldest first: what an alert's history shows
    besides its own transitions."""
    end = alert.resolved_at or stamp(now)
    covering = [
        s
        for s in silences
        if s.starts_at < end and alert.opened_at < s.until and matches(s, alert, agents, systems)
    ]
    entries = [entry for s in covering for entry in log_of(s, now)]
    return sorted(entries, key=lambda e: (e.at, e.silence.id or 0))
