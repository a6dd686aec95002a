"""What the alerts screen asks and tells about one incident: the silence dialog (how long,
and why), and who was notified of it and why or why not."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message_pump import MessagePump
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from intelligentos.domain.alerts import check_note
from intelligentos.domain.formatting import literal
from intelligentos.domain.incidents import Incident
from intelligentos.domain.routing_policy import Decision
from intelligentos.domain.silences import Matcher, Silence, SilenceError, window
from intelligentos.tui.base import Cockpit
from intelligentos.tui.messages import SilenceAdded


@dataclass(frozen=True)
class SilenceAnswer:
    lasting: str  # "2h"
    note: str


def silence_target(incident: Incident) -> tuple[Matcher, str]:
    """What silencing an incident silences: its KPI, or its source system when a stale
    source is the problem (its group says which)."""
    kind, _, value = incident.group.partition(":")
    return (Matcher.SYSTEM, value) if kind == "system" else (Matcher.KPI, value)


class SilenceDialog(ModalScreen[SilenceAnswer | None]):
    """Ask how long (``2h``, at most 90 days) and why (required); Enter in the span goes on
    to the note, Enter in the note or the button answers, Esc cancels (``None``)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="silence-cancel")]

    def __init__(self, subject: str, hint: str, now: Callable[[], datetime]) -> None:
        super().__init__()
        self.subject = subject
        self.hint = hint
        self.now = now

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            title = Text("Silence ", style="bold")
            title.append(literal(self.subject))
            yield Static(title)
            yield Static(Text(literal(self.hint), style="dim"))
            yield Input(value="2h", placeholder="how long: 30m, 2h, 1d", id="span")
            yield Input(placeholder="Note, e.g. CRM migration tonight", id="note")
            yield Static(id="error")
            with Horizontal(classes="buttons"):
                yield Button("Silence", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    @on(Input.Submitted, "#span")
    def _span_given(self) -> None:
        self.query_one("#note", Input).focus()

    @on(Input.Submitted, "#note")
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        lasting = self.query_one("#span", Input).value.strip()
        note = self.query_one("#note", Input).value
        try:
            window(self.now(), lasting=lasting)  # the span's own sentence when it cannot be
            check_note(note)
        except ValueError as error:
            self.query_one("#error", Static).update(Text(literal(str(error)), style="bold red"))
            return
        self.dismiss(SilenceAnswer(lasting, note))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


def notified_text(
    decisions: Sequence[Decision], name: Callable[[str], str], silence: Silence | None
) -> Text:
    """A line per routed agent, notified or not, and why (those told or not for the same
    reason share one); a silence notifies no one."""
    text = Text("Notified of this incident", style="bold")
    if silence is not None:
        text.append(f"\n{'⊘'} no one: silenced ({silence.describe()}) until {silence.until} by ")
        text.append(literal(silence.who))
        text.append(": ")
        text.append(literal(silence.note))
    if not decisions:
        text.append("\nno agent is routed: nobody owns it in the catalog", style="dim")
    # Agents told (or not) for the same reason share a line: the pane stays short.
    grouped: dict[tuple[bool, str], list[str]] = {}
    for decision in decisions:
        notified = decision.notified and silence is None
        grouped.setdefault((notified, decision.why), []).append(decision.agent_id)
    for (notified, why), agents in grouped.items():
        text.append("\n✓ " if notified else "\n✗ ", style="bold" if notified else "dim")
        text.append(literal(", ".join(name(a) for a in agents)), style="" if notified else "dim")
        text.append(f": {literal(why)}", style="dim")
    return text


def ask_silence(app: Cockpit, incident: Incident, subject: str, reply_to: MessagePump) -> None:
    """Ask how long and why, then silence the incident's KPI (or source) as the acting
    user, off the event loop; ``reply_to`` gets :class:`SilenceAdded`."""
    if app.refuses_writes("silenced"):
        return
    matcher, value = silence_target(incident)
    hint = (
        f"as {app.user}: its alerts still open and are recorded, but notify no one and do "
        "not count as unacknowledged; how long (at most 90d), and why"
    )

    def save(answer: SilenceAnswer) -> None:
        from intelligentos.services.silences import SilenceRequest, add_silence

        store = app.services.store
        assert store is not None
        request = SilenceRequest(
            {matcher: value}, answer.note, app.user, app.clock(), answer.lasting
        )
        try:
            reply_to.post_message(SilenceAdded(add_silence(store, request)))
        except SilenceError as error:
            reply_to.post_message(SilenceAdded(None, str(error)))

    def chosen(answer: SilenceAnswer | None) -> None:
        if answer is not None and not app.refuses_writes("silenced"):
            app.run_worker(
                lambda: save(answer),
                name="silence",
                group="silence",
                thread=True,
                exit_on_error=False,
            )

    app.push_screen(SilenceDialog(f"{subject} ({matcher.value} {value})", hint, app.clock), chosen)
