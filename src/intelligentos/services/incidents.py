"""Filing alerts into incidents, inside the transaction that wrote them."""

from __future__ import annotations

from intelligentos.domain.incidents import Incident, group_of, incident_for
from intelligentos.store import Store


def file_alerts(
    store: Store, before: dict[int, Incident]
) -> list[tuple[Incident | None, Incident]]:
    """Put every alert without an incident into the open incident of its group, or a new
    one, and record each open incident's resolution; call inside the transaction that wrote
    the alerts. ``before``: the open incidents as they stood when it began, by id. Each
    incident touched, as it was and as it is (None before: it is new), for what is notified
    (:func:`intelligentos.domain.incidents.notice`)."""
    alerts = store.alerts()
    parents = {a.id: a for a in alerts if a.kpi_id is None and a.id is not None}
    held = {i.id: i for i in store.incidents(open_only=True)}
    open_now = list(held.values())
    new: list[Incident] = []
    loose = (a for a in alerts if a.incident_id is None)
    for alert in sorted(loose, key=lambda a: (a.opened_at, a.id or 0)):
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
    # The incidents resolved in this transaction first: a group's new incident may open in
    # the same one, and only one of a group may be open.
    store.save_incidents(open_now)
    given = store.save_incidents(new)
    changes: list[tuple[Incident | None, Incident]] = [
        (before.get(i.id) if i.id is not None else None, i) for i in open_now
    ]
    for position, incident in enumerate(new):
        changes.append((None, Incident(given[-position - 1], incident.group, incident.alerts)))
    return changes
