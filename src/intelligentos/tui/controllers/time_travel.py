"""Time travel: the cockpit as of an earlier date, read-only; and every write refused,
before it asks anything, while it shows the past or when the store is read-only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from intelligentos.tui.base import Cockpit


class TimeTravel:
    def __init__(self, app: Cockpit, refresh: Callable[[], None]) -> None:
        self.app = app
        self.refresh = refresh  # paused or not: the date shown and the data must agree

    def travel(self, days: int) -> None:
        """Step the as-of date by ``days`` (from today when live)."""
        start = self.app.services.fixed_as_of or self.app.clock().date()
        self.travel_to(start + timedelta(days=days))

    def travel_to(self, day: date | None) -> None:
        """Show the cockpit as of the end of ``day``: values up to it, staleness judged on
        it, alerts as they stood then (from the event log); nothing is written meanwhile.
        Today or later, or ``None``, is live again. Not before the first observation."""
        app = self.app
        services = app.services
        if day is not None and day >= app.clock().date():
            day = None
        first = services.first_day
        if day is not None and first is not None and day < first:
            if services.fixed_as_of == first:
                app.notify(f"No data before {first.isoformat()}.", timeout=3, markup=False)
                return
            day = first
        if day == services.fixed_as_of:
            if day is None:
                app.notify("Already live.", timeout=2)
            return
        was_live = services.fixed_as_of is None
        services.set_as_of(day)
        self.show_as_of()
        app.refresh_bindings()
        if day is None:
            app.notify("Live again: as of now.", timeout=2)
        elif was_live:
            app.notify(
                f"As of {day.isoformat()}: the past, read-only. < > step a week, {{ }} a day, "
                "L returns to live.",
                timeout=4,
                markup=False,
            )
        self.refresh()

    def show_as_of(self) -> None:
        services = self.app.services
        past = services.fixed_as_of
        self.app.as_of_text = f"{past.isoformat()} (past)" if past else services.as_of.isoformat()

    def refuses_writes(self, what: str) -> bool:
        """While viewing the past, or on a read-only store, nothing is written: say so
        (before asking anything) and return True."""
        refusal = self.past_refusal(what)
        if refusal is None:
            return False
        title = "Read-only" if self.app.read_only else "Viewing the past"
        self.app.notify(refusal, title=title, severity="warning", timeout=5, markup=False)
        return True

    def past_refusal(self, what: str) -> str | None:
        """Why nothing can be ``what`` (acknowledged, saved…) now, or ``None`` when it can:
        the store is read-only, or the cockpit shows the past."""
        if self.app.read_only:
            return f"Not {what}: {self.app.store_path.name} is read-only: nothing can be saved."
        past = self.app.services.fixed_as_of
        if past is None:
            return None
        return (
            f"Not {what}: the cockpit shows {past.isoformat()}, the past, where nothing is "
            "written. L returns to live."
        )
