"""Who did what, from the alerts screen: take an acknowledgement back, add a note, assign to
an agent, resolve with a note; on an incident's alerts or one alert. A dialog asks, the
change is saved off the event loop as the acting user, a refresh follows (the app's
:class:`~intelligentos.tui.messages.LifecycleApplied`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from intelligentos.domain.alerts import Alert, check_note
from intelligentos.domain.formatting import literal
from intelligentos.services.alerts import AlertService
from intelligentos.tui.base import Cockpit
from intelligentos.tui.messages import LifecycleApplied

# An AlertService method: (the service, alert ids, actor, note, now) -> problems.
Change = Callable[[AlertService, list[int], str, str, datetime], list[str]]


@dataclass(frozen=True)
class NoteAction:
    """One action that takes a note: what the dialog says, and what it does."""

    verb: str  # "Take back"
    to: str  # what the note is required to do: "resolve"
    example: str
    done: str  # for the refusal: "taken back"
    change: Change


UNACKNOWLEDGE = NoteAction(
    "Take back",
    "take an acknowledgement back",
    "say why (e.g. not mine: handing back)",
    "taken back",
    AlertService.unacknowledge,
)
NOTE = NoteAction(
    "Add a note to",
    "add a note",
    "write what was found or done",
    "noted",
    AlertService.add_note,
)
RESOLVE = NoteAction(
    "Resolve",
    "resolve",
    "say what fixed it, or why it was a false alarm",
    "resolved",
    AlertService.resolve,
)


class AlertActions:
    """The dialogs and the saving, for one cockpit."""

    def __init__(self, app: Cockpit) -> None:
        self.app = app

    def with_note(self, action: NoteAction, alerts: Sequence[Alert], subject: str) -> None:
        app = self.app
        if app.refuses_writes(action.done):
            return
        ids = [a.id for a in alerts if a.id is not None]
        if not ids:
            app.notify(f"Nothing to be {action.done} here.", timeout=3, markup=False)
            return

        def chosen(note: str | None) -> None:
            if note is not None and not app.refuses_writes(action.done):
                self.apply(lambda service: action.change(service, ids, app.user, note, app.clock()))

        from intelligentos.tui.screens.dialogs import Prompt, PromptDialog

        prompt = Prompt(
            action.verb,
            subject + (f"  ({len(ids)} alerts)" if len(ids) > 1 else ""),
            f"as {app.user}; a note is required and kept in the store",
            parse=lambda text: check_note(text, action.to, action.example),
            placeholder=f"Note: {action.example}",
        )
        app.push_screen(PromptDialog(prompt), chosen)

    def assign(self, alerts: Sequence[Alert], subject: str) -> None:
        app = self.app
        if app.refuses_writes("assigned") or app.data is None:
            return
        ids = [a.id for a in alerts if a.id is not None and a.is_open]
        if not ids:
            app.notify("Nothing open to assign here.", timeout=3, markup=False)
            return
        agents = [(agent_id, agent.name) for agent_id, agent in app.data.catalog.agents.items()]

        def chosen(agent_id: str | None) -> None:
            if agent_id is not None and not app.refuses_writes("assigned"):
                self.apply(lambda service: service.assign(ids, agent_id, app.user, app.clock()))

        app.push_screen(AgentPicker(subject, agents), chosen)

    def apply(self, action: Callable[[AlertService], list[str]]) -> None:
        """Save off the event loop; the app tells what was refused and refreshes."""
        app = self.app

        def save() -> None:
            store = app.services.store
            assert store is not None
            app.post_message(LifecycleApplied(action(AlertService(store))))

        app.run_worker(
            save, name="alert_action", group="lifecycle", thread=True, exit_on_error=False
        )


class AgentPicker(ModalScreen[str | None]):
    """Pick the agent to assign to: ↑/↓ and Enter, Esc cancels (``None``)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="assign-cancel")]

    def __init__(self, subject: str, agents: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self.subject = subject
        self.agents = agents

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            title = Text("Assign ", style="bold")
            title.append(literal(self.subject))
            yield Static(title)
            yield Static(Text("to which agent? ↑/↓ and Enter; Esc cancels", style="dim"))
            yield OptionList(
                *(
                    Option(Text(literal(f"{name} ({agent_id})")), id=agent_id)
                    for agent_id, name in self.agents
                ),
                id="agents",
            )

    @on(OptionList.OptionSelected, "#agents")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
