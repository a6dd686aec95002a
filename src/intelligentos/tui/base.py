"""Typed access to the cockpit app from its screens and widgets."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.dom import DOMNode
from textual.screen import Screen

if TYPE_CHECKING:
    from intelligentos.services.data import CockpitData
    from intelligentos.tui.app import CockpitApp


def cockpit_of(node: DOMNode) -> CockpitApp:
    """The cockpit app a node belongs to."""
    return cast("CockpitApp", node.app)


class CockpitScreen(Screen[None]):
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
