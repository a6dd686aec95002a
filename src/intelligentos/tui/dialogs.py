"""Modal dialogs: one prompt for a value (the acknowledgement note, a snooze's length) and
the event history of an alert. User text is shown as plain text, never as markup."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Static

from intelligentos.alerts import Event
from intelligentos.formatting import literal

T = TypeVar("T")


@dataclass(frozen=True)
class Prompt(Generic[T]):
    """What a :class:`PromptDialog` asks: ``parse`` turns the answer into the result or
    raises ValueError with a sentence for the user."""

    verb: str  # "Acknowledge", "Snooze"
    subject: str
    hint: str
    parse: Callable[[str], T]
    value: str = ""
    placeholder: str = ""


class PromptDialog(ModalScreen[T | None], Generic[T]):
    """Ask for one value; Enter or the button answers, Esc cancels (``None``)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog-cancel")]

    def __init__(self, prompt: Prompt[T]) -> None:
        super().__init__()
        self.prompt = prompt

    def compose(self) -> ComposeResult:
        prompt = self.prompt
        with Vertical(classes="dialog"):
            title = Text(f"{prompt.verb} ", style="bold")
            title.append(literal(prompt.subject))
            yield Static(title)
            yield Static(Text(literal(prompt.hint), style="dim"))
            yield Input(value=prompt.value, placeholder=prompt.placeholder, id="answer")
            yield Static(id="error")
            with Horizontal(classes="buttons"):
                yield Button(prompt.verb, variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        try:
            self.dismiss(self.prompt.parse(self.query_one("#answer", Input).value))
        except ValueError as error:
            self.query_one("#error", Static).update(Text(literal(str(error)), style="bold red"))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class EventsDialog(ModalScreen[None]):
    """Every transition of one alert, oldest first."""

    BINDINGS = [Binding("escape,e,q", "dismiss", "Close", id="dialog-close")]

    def __init__(self, title: str, events: Sequence[Event]) -> None:
        super().__init__()
        self.title_text = title
        self.events = events

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Static(Text(literal(self.title_text), style="bold"))
            table: DataTable[Text] = DataTable(id="events", cursor_type="row")
            table.add_columns("at", "who", "action", "from → to", "value", "note")
            for event in self.events:
                # Every cell is Text: a plain str cell would be parsed as markup, and the
                # event log is a public table that other tools may write.
                table.add_row(
                    Text(literal(event.at)),
                    Text(literal(event.actor)),
                    Text(literal(event.action)),
                    Text(
                        f"{event.from_state.value if event.from_state else '—'} → "
                        f"{event.to_state.value}"
                    ),
                    Text("" if event.value is None else f"{event.value:.4g}"),
                    Text(literal(event.note or "")),
                )
            yield table
