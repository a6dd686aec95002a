"""The cockpit's footer: Textual's, without restyling every key twice on each screen change."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class CockpitFooter(Footer):
    """:class:`~textual.widgets.Footer`, whose keys start as compact as the footer is.

    Textual makes each key compact, then binds it to the footer's setting (not compact): every
    key's styles are worked out twice, for every key, each time the footer recomposes (on
    every screen change, every change of focus). Starting each key with the footer's setting
    makes the binding a no-op: the same footer, drawn once."""

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            # The command palette's key is not bound to the footer's setting: left as it is.
            if isinstance(widget, FooterKey) and not widget.has_class("-command-palette"):
                widget.set_reactive(FooterKey.compact, self.compact)
            yield widget
