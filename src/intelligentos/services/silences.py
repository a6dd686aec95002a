"""Adding, listing and expiring silences (see :mod:`intelligentos.domain.silences`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from intelligentos.domain.alerts import Alert
from intelligentos.domain.catalog.models import Catalog
from intelligentos.domain.clock import stamp
from intelligentos.domain.detection import Rule
from intelligentos.domain.lineage import LineageGraph
from intelligentos.domain.silences import (
    Matcher,
    Silence,
    SilenceError,
    overlapping,
    silenced_alerts,
    window,
)
from intelligentos.store import Store


@dataclass(frozen=True)
class SilenceRequest:
    matchers: dict[Matcher, str]  # exactly one: what it silences
    note: str
    who: str
    now: datetime
    lasting: str | None = None  # "2h"
    until: datetime | None = None


def _known(catalog: Catalog, matcher: Matcher, value: str) -> str | None:
    """Why ``value`` names nothing the silence could match (None: it does)."""
    known: dict[Matcher, tuple[str, ...]] = {
        Matcher.KPI: tuple(catalog.kpis),
        Matcher.AGENT: tuple(catalog.agents),
        Matcher.SYSTEM: tuple(catalog.systems),
        Matcher.RULE: tuple(rule.value for rule in Rule),
    }
    if value in known[matcher]:
        return None
    names = known[matcher]
    listed = ", ".join(names[:12]) + (", …" if len(names) > 12 else "")
    return f"unknown {matcher.value} {value!r}; known: {listed}."


def add_silence(store: Store, request: SilenceRequest) -> Silence:
    """Save a silence; :class:`SilenceError` (one sentence, nothing written) for a request
    naming no or several things, an unknown one, a blank note, a span that cannot be, or one
    overlapping a silence of the same thing."""
    if len(request.matchers) != 1:
        raise SilenceError("silence one thing: --kpi, --rule, --system or --agent.")
    [(matcher, value)] = request.matchers.items()
    if not any(ch.isprintable() and not ch.isspace() for ch in request.note):
        raise SilenceError("a note is required: say why (e.g. CRM migration tonight).")
    problem = _known(store.read_catalog(), matcher, value)
    if problem:
        raise SilenceError(problem)
    starts, ends = window(request.now, lasting=request.lasting, until=request.until)
    new = Silence(matcher, value, starts, ends, request.who, request.note)
    with store.transaction():
        held = overlapping(new, store.silences(include_ended_before=stamp(request.now)))
        if held is not None:
            raise SilenceError(
                f"{new.describe()} is already silenced until {held.until} (silence "
                f"{held.id}); expire it first or let it end."
            )
        return store.add_silence(new)


def expire_silence(store: Store, silence_id: int, who: str, now: datetime) -> None:
    """End a silence now; :class:`SilenceError` when there is none by that id or it ended."""
    with store.transaction():
        if not store.expire_silence(silence_id, who, stamp(now)):
            raise SilenceError(f"there is no silence {silence_id} still holding.")


def silenced_in(
    store: Store, alerts: Iterable[Alert], catalog: Catalog, now: datetime
) -> dict[int, Silence]:
    """The open alerts among ``alerts`` an active silence of ``store`` covers at ``now``, by
    alert id (see :func:`intelligentos.domain.silences.silenced_alerts`)."""
    held = store.silences(include_ended_before=stamp(now))
    if not held:
        return {}
    return silenced_alerts(alerts, held, now, catalog, LineageGraph(catalog))
