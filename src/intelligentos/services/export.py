"""Writing observations and alerts out as CSV, JSON or JSON Lines, streamed."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, TextIO

from intelligentos.store import Store
from intelligentos.store.bulk import alerts_with_events

FORMATS = ("csv", "json", "jsonl")
OBSERVATION_COLUMNS = ["kpi_id", "period", "value", "source"]


def is_period(text: str) -> bool:
    """An ISO-8601 date or date-time, as periods are written."""
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def write_records(
    records: Iterable[Mapping[str, Any]], fieldnames: list[str], fmt: str, handle: TextIO
) -> int:
    """Write ``records`` to ``handle`` in ``fmt`` (a CSV with ``fieldnames`` as its header);
    how many were written."""
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(handle, fieldnames=fieldnames, extrasaction="ignore")
        writer.writeheader()
        for record in records:
            writer.writerow(record)
            count += 1
    elif fmt == "jsonl":
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    else:
        handle.write("[")
        for record in records:
            handle.write(("," if count else "") + "\n" + json.dumps(record, ensure_ascii=False))
            count += 1
        handle.write("\n]\n")
    return count


def alert_records(store: Store, fmt: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Every alert of ``store`` with its events, as records to write in ``fmt``, and a CSV's
    columns: in CSV, one row per event, the alert's fields as ``alert_*`` and the event's as
    ``event_*``; otherwise one record per alert, its events nested."""
    alerts = alerts_with_events(store)
    if fmt != "csv":
        return alerts, []
    rows = [
        {
            **{f"alert_{k}": v for k, v in alert.items() if k != "events"},
            **{f"event_{k}": v for k, v in event.items()},
        }
        for alert in alerts
        for event in alert["events"]
    ]
    return rows, list(rows[0]) if rows else ["alert_id"]
