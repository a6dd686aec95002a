"""Typed access to the cockpit app from its screens and widgets."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.dom import DOMNode
from textual.screen import Screen
from textual.worker import Worker, WorkerState

if TYPE_CHECKING:
    from intelligentos.services.snapshots import CockpitData
    from intelligentos.tui.app import CockpitApp


def cockpit_of(node: DOMNode) -> CockpitApp:
    """The cockpit app a node belongs to."""
    return cast("CockpitApp", node.app)


class ReportsFailedWorkers:
    """For every node of the cockpit that starts workers (the app, its screens).

    Textual posts a worker's state changes to the node that started it, and they do not
    bubble; a worker started with ``exit_on_error=False`` that fails would end unseen. Such
    a node hands the failure to the app, which tells the user and goes on
    (:meth:`intelligentos.tui.app.CockpitApp.worker_failed`)."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            cockpit_of(cast("DOMNode", self)).worker_failed(event.worker)


class CockpitScreen(ReportsFailedWorkers, Screen[None]):
    """A full screen of the cockpit."""

    @property
    def cockpit(self) -> CockpitApp:
        return cockpit_of(self)

    @property
    def data(self) -> CockpitData | None:
        return self.cockpit.data

    def data_changed(self) -> None:
        """The app has a new :class:`CockpitData`: show it (when this screen is visible,
        or when it next becomes visible)."""
