"""What the user set: the validated settings (loaded after the first paint), the theme and
the keymap, and the options given on the command line, which win over both."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING

from textual.app import SystemCommand
from textual.theme import Theme

from intelligentos.config.first_look import first_look
from intelligentos.config.paths import builtin_themes_dir
from intelligentos.store import StoreError
from intelligentos.tui.base import Cockpit
from intelligentos.tui.messages import NotificationsSent, SettingsLoaded
from intelligentos.tui.themes import DEFAULT_THEME, load_themes

# Imported where first needed, off the launch path: the first screen needs none of them.
if TYPE_CHECKING:
    from intelligentos.config.settings import CockpitSettings


class Preferences:
    def __init__(
        self,
        app: Cockpit,
        *,
        theme: str | None,
        user: str | None,
        bell: bool | None,
        forecasts: bool | None,
    ) -> None:
        self.app = app
        # The validated settings are loaded after the first paint (see :attr:`settings`);
        # the first screen is drawn with the theme and keymap read straight from the file.
        self.loaded: CockpitSettings | None = None
        self.first_look = first_look(app.config_path)
        self.requested_theme = theme
        self.requested_user = user
        self.requested_bell = bell
        self.requested_forecasts = forecasts
        # A theme the cockpit itself put on (at start, from the settings): shown, not chosen,
        # so not remembered. Any other change is the user's.
        self.theme_not_chosen: str | None = None
        self.themes: list[str] = []  # the cockpit's own themes, by name
        self.routing_checked = False  # the [routing] tables against the catalog, once

    @property
    def settings(self) -> CockpitSettings:
        """The validated settings. Loaded off the event loop after the first paint; asked
        for before that (a key pressed at once), they are loaded here and then."""
        if self.loaded is None:
            from intelligentos.config.settings import CockpitSettings

            self.apply(CockpitSettings.load(self.app.config_path))
        assert self.loaded is not None
        return self.loaded

    @property
    def user(self) -> str:
        """Who acknowledges: ``--user``, else the config's ``cockpit.user``, else the OS's."""
        from intelligentos.config.settings import acting_user

        return acting_user(self.requested_user, self.settings)

    @property
    def ring_bell(self) -> bool:
        return self.settings.cockpit.bell if self.requested_bell is None else self.requested_bell

    @property
    def forecasting(self) -> bool:
        if self.requested_forecasts is None:
            return self.settings.cockpit.forecasts
        return self.requested_forecasts

    def load(self) -> None:
        """In the first refresh's thread: the validated settings, and the notifier they
        configure, ready before the first evaluation (a sink seen for the first time is
        told only what happens from now on)."""
        from intelligentos.config.settings import CockpitSettings, config_file
        from intelligentos.services.notify import Notifier

        app = self.app
        settings = CockpitSettings.load(app.config_path)
        notifier = Notifier(
            list(settings.notify),
            source=str(config_file(app.config_path)),
            stop=app.stop_watching,
        )
        store = app.services.store
        try:
            if store is not None:
                notifier.prepare(store)
        except StoreError as error:
            app.post_message(NotificationsSent([], [f"Notifications are off: {error}"]))
        app.post_message(SettingsLoaded(settings, notifier))

    def loaded_off_the_loop(self, message: SettingsLoaded) -> None:
        if self.loaded is None:
            self.apply(message.settings)

    def apply(self, settings: CockpitSettings) -> None:
        """Take the validated settings; where the first screen was drawn otherwise (the
        file's theme or keymap could not be used as it is), they win."""
        app = self.app
        self.loaded = settings
        if settings.keymap != self.first_look.keymap:
            app.set_keymap(settings.keymap)
        wanted = self.requested_theme or settings.theme or DEFAULT_THEME
        if wanted != app.theme and wanted in app.available_themes:
            self.theme_not_chosen = wanted
            app.theme = wanted
        if settings.problem:
            app.notify(settings.problem, title="Settings", severity="warning", markup=False)
        self.check_routing()

    def check_routing(self) -> None:
        """Once both the settings and the catalog are known: a warning per
        ``[routing.agents.<id>]`` table naming an agent the catalog does not know."""
        app = self.app
        catalog = app.first_catalog
        if self.loaded is None or catalog is None or self.routing_checked:
            return
        self.routing_checked = True
        from intelligentos.config.settings import config_file
        from intelligentos.services.routing_policy import check_routing

        source = str(config_file(app.config_path))
        for problem in check_routing(self.loaded.routing.agents, catalog, source):
            app.notify(problem, title="Settings", severity="warning", markup=False)

    # --- themes ------------------------------------------------------------------------------

    def set_up(self) -> None:
        """The first screen's theme and keymap, from the file as it is (see first_look)."""
        app = self.app
        themes, problems = load_themes([builtin_themes_dir(), app.config_path / "themes"])
        for theme in themes:
            app.register_theme(theme)
        self.themes = list(dict.fromkeys(t.name for t in themes))
        for problem in problems:
            app.notify(problem, title="Theme file skipped", severity="warning", markup=False)
        wanted = self.requested_theme or self.first_look.theme or DEFAULT_THEME
        if wanted not in app.available_themes:
            app.notify(
                f"Unknown theme {wanted!r}; using {DEFAULT_THEME}.",
                severity="warning",
                markup=False,
            )
            wanted = DEFAULT_THEME
        self.theme_not_chosen = wanted
        app.theme = wanted
        app.theme_changed_signal.subscribe(app, self._theme_changed)
        app.set_keymap(self.first_look.keymap)

    def _theme_changed(self, theme: Theme) -> None:
        if theme.name == self.theme_not_chosen:
            self.theme_not_chosen = None
        else:
            self.save_theme(theme.name)
        # Status colours come from the theme: repaint what shows them.
        self.app.data_changed()

    def save_theme(self, name: str) -> None:
        """Remember the theme the user chose (in the state file: config.toml is the user's)."""
        try:
            self.settings.remember_theme(name)
        except OSError as error:
            self.app.notify(
                f"Could not save the theme choice: {error}", severity="warning", markup=False
            )

    def next_theme(self) -> None:
        app = self.app
        names = self.themes or [DEFAULT_THEME]
        index = names.index(app.theme) if app.theme in names else -1
        app.theme = names[(index + 1) % len(names)]
        app.notify(f"Theme: {app.theme}", timeout=2, markup=False)

    def palette_commands(self) -> Iterator[SystemCommand]:
        """One per cockpit theme (instead of Textual's theme picker, which would also offer
        themes the cockpit is not styled for)."""
        for name in self.themes:
            yield SystemCommand(
                f"Theme: {name}",
                "Switch the cockpit to this colour theme",
                partial(self._use_theme, name),
            )

    def _use_theme(self, name: str) -> None:
        self.app.theme = name
