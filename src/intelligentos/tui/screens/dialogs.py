"""Modal dialogs: one prompt for a value (the acknowledgement note, a snooze's length) and
the event history of an alert. User text is shown as plain text, never as markup."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Static

from intelligentos.domain.alerts import Event
from intelligentos.domain.formatting import literal

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
    """Every transition of one alert, oldest first. Nothing is cut: the note (and any other
    long fact) wraps within the dialog's width, so a row grows taller instead."""

    BINDINGS = [Binding("escape,e,q", "dismiss", "Close", id="dialog-close")]
    COLUMNS = ("at", "who", "action", "from → to", "value", "note")
    # Wider cells wrap (rows grow taller), so that the note keeps room.
    CAPS = {"who": 16, "action": 14, "from → to": 14, "value": 12}
    # On a narrow terminal the other columns wrap down to these before the note shrinks
    # (a date, then its time; an action word stays whole).
    MINIMA = {"at": 10, "who": 8, "action": 11, "from → to": 8, "value": 5}
    NOTE_MINIMUM = 16
    NARROW = 100  # terminal columns below which the dialog fills the screen
    PADDING = 2  # DataTable's cell padding: one cell on each side
    SCROLLBAR = 2

    def __init__(
        self,
        title: str,
        events: Sequence[Event],
        value_text: Callable[[float | None], str] | None = None,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.events = events
        self.value_text = value_text or (lambda v: "" if v is None else f"{v:.4g}")
        self.laid_out_width = -1

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Static(Text(literal(self.title_text), style="bold"))
            yield DataTable(id="events", cursor_type="row")

    def _cells(self, event: Event) -> list[str]:
        return [
            literal(event.at),
            literal(event.actor),
            literal(event.action),
            f"{event.from_state.value if event.from_state else '—'} → {event.to_state.value}",
            self.value_text(event.value),
            literal(event.note or ""),
        ]

    def on_resize(self) -> None:
        self._fill()

    def on_mount(self) -> None:
        if self.app.size.width < self.NARROW:
            # Every cell counts on a small terminal: the dialog takes the whole screen.
            box = self.query_one(".dialog")
            box.styles.width = "100%"
            box.styles.height = "100%"
            box.styles.max_height = "100%"
            box.styles.padding = (0, 1)
        self.call_after_refresh(self._fill)

    def _fill(self) -> None:
        """(Re)build the table for its current width: widths must be known for the long
        cells to wrap rather than run off to the right."""
        table: DataTable[Text] = self.query_one(DataTable)
        width = table.size.width - self.SCROLLBAR
        if width <= 0 or width == self.laid_out_width:
            return
        self.laid_out_width = width
        rows = [self._cells(event) for event in self.events]
        natural = [
            max([cell_len(label), *(cell_len(row[i]) for row in rows)])
            for i, label in enumerate(self.COLUMNS)
        ]
        widths = [
            min(n, self.CAPS.get(label, n)) for n, label in zip(natural, self.COLUMNS, strict=True)
        ]
        room = width - self.PADDING * len(widths) - self.NOTE_MINIMUM
        minima = [self.MINIMA.get(label, 1) for label in self.COLUMNS[:-1]]
        while sum(widths[:-1]) > room:
            slack = [w - m for w, m in zip(widths, minima, strict=False)]
            if max(slack) <= 0:
                break
            widths[slack.index(max(slack))] -= 1
        fixed = sum(w + self.PADDING for w in widths[:-1])
        widths[-1] = max(width - fixed - self.PADDING, 1)
        table.clear(columns=True)
        for label, column_width in zip(self.COLUMNS, widths, strict=True):
            table.add_column(label, width=column_width)
        for row in rows:
            # Every cell is Text: a plain str cell would be parsed as markup, and the
            # event log is a public table that other tools may write. ``height=None``
            # lets a row grow to the wrapped height of its longest cell.
            table.add_row(*(Text(cell, overflow="fold") for cell in row), height=None)
