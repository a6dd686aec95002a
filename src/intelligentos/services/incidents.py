"""Filing alerts into incidents, inside the transaction that wrote them."""

from __future__ import annotations

from collections.abc import Iterable

from intelligentos.domain.alerts import Alert
from intelligentos.domain.incidents import Incident, IncidentState, group_of, incident_for
from intelligentos.store import Store


def file_alerts(
    store: Store, before: dict[int, Incident]
) -> list[tuple[Incident | None, Incident]]:
    """Put every alert without an incident into the open incident of its group, or a new
    one, and record each open incident's resolution; call inside the transaction that wrote
    the alerts. ``before``: the open incidents as they stood when it began, by id. Each
    incident touched, as it was and as it is (None before: it is new), for what is notified
    (:func:`intelligentos.domain.incidents.notice`)."""
    # Only the alerts not filed yet are read (a store's history of alerts is not), and the
    # stale-source alerts some of them are grouped under.
    loose = store.unfiled_alerts()
    parents = {
        parent.id: parent
        for parent_id in {a.parent_alert_id for a in loose if a.parent_alert_id is not None}
        if (parent := store.alert(parent_id)) is not None
        and parent.kpi_id is None
        and parent.id is not None
    }
    held = {i.id: i for i in store.incidents(open_only=True)}
    open_now = list(held.values())
    new: list[Incident] = []
    for alert in loose:
        group = group_of(alert, parents)
        found = incident_for([*open_now, *new], group)
        if found is None:
            new.append(Incident(None, group, (alert,)))
            continue
        grown = Incident(found.id, group, (*found.alerts, alert))
        if found.id is None:
            new[new.index(found)] = grown
        else:
            open_now[open_now.index(found)] = grown
    # Only what changed is written: an evaluation without news writes nothing. The
    # incidents resolved here first: a group's new incident may open in the same
    # transaction, and only one of a group may be open.
    touched = [
        i
        for i in open_now
        if i is not held.get(i.id)
        or i.state is IncidentState.RESOLVED
        or i.id not in before
        or _moved(before[i.id], i)
    ]
    store.save_incidents(touched)
    given = store.save_incidents(new)
    changes: list[tuple[Incident | None, Incident]] = [
        (before.get(i.id) if i.id is not None else None, i) for i in touched
    ]
    for position, incident in enumerate(new):
        changes.append((None, Incident(given[-position - 1], incident.group, incident.alerts)))
    return changes


def _moved(before: Incident, after: Incident) -> bool:
    """Whether an incident's alerts changed state or severity since ``before``."""
    return [(a.id, a.state, a.severity) for a in before.alerts] != [
        (a.id, a.state, a.severity) for a in after.alerts
    ]


# --- listing incidents (``alerts``) -----------------------------------------------------------


def listed_incidents(
    store: Store, alerts: Iterable[Alert], moment: str | None = None
) -> list[Incident]:
    """The incidents ``alerts`` belong to, each with all of its alerts (as they stood at
    ``moment``, a store timestamp, when given: replayed from the log), most severe first,
    then oldest first."""
    wanted = {a.incident_id for a in alerts if a.incident_id is not None}
    found = [i for i in store.incidents() if i.id in wanted]
    if moment is not None:
        past = {a.id: a for a in store.alerts_as_of(moment)}
        found = [
            Incident(i.id, i.group, tuple(past[a.id] for a in i.alerts if a.id in past))
            for i in found
        ]
    found = [i for i in found if i.alerts]
    return sorted(found, key=lambda i: (-i.severity.rank, i.opened_at, i.id or 0))
