"""The user's settings: ``config.toml`` in the config directory, plus environment overrides.

Values come from, highest priority first: keyword arguments, ``INTELLIGENTOS_*``
environment variables (``__`` separates a section from its key, e.g.
``INTELLIGENTOS_THEME=nord`` or ``INTELLIGENTOS_COCKPIT__BELL=true``), then the file;
tables merge key by key across sources::

    theme = "nord"

    [keymap]             # binding id -> comma-separated keys
    alerts = "ctrl+a"

    [cockpit]
    bell = true          # ring the terminal bell on new alerts
    user = "alice"       # who acknowledges alerts; the OS user when absent
    act_as = ["alice"]   # whom else the OS user may act as ("*": anyone)

    [okr]                # the probabilities `okr propose` targets are hit with
    commit = 0.9
    stretch = 0.35       # below commit

    [[notify]]           # any number: a webhook or a command, see intelligentos.domain.notify
    webhook = "https://hooks.example.com/services/T0/B0/XXXX"
    min_severity = "critical"

Keys the cockpit does not know are ignored, so the file can carry settings for newer
versions. The cockpit never writes this file: what it remembers from the user's keys (the
theme picked with ``t``, the agent focused on) is kept in a state file of its own, and the
theme picked there wins over the configured one until that is changed
(:mod:`intelligentos.config.state` gives the whole order).
"""

from __future__ import annotations

import copy
import getpass
import os
import tomllib
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from pydantic import (
    BaseModel,
    Field,
    PrivateAttr,
    ValidationError,
    ValidatorFunctionWrapHandler,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from intelligentos.config import state
from intelligentos.config.first_look import CONFIG_FILE_NAME
from intelligentos.config.paths import config_dir
from intelligentos.domain.notify import NotifySink
from intelligentos.domain.okr.propose import COMMIT, STRETCH
from intelligentos.domain.routing_policy import AgentAttention

ENV_PREFIX = "INTELLIGENTOS_"

# Everything that can go wrong reading the file or the environment: tomllib, UTF-8 and
# pydantic(-settings) errors are all ValueErrors, an unreadable file is an OSError.
_LOAD_ERRORS = (OSError, ValueError)


def current_user() -> str:
    """The OS login, the default actor for acknowledgements: the account the process runs
    as (not ``$USER`` or ``$LOGNAME``, which anyone can set: the login decides whom else one
    may act as, see :func:`permitted_user`); where there is no such account database, the
    name the environment gives."""
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError, AttributeError):
        pass
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def config_file(directory: Path | None = None) -> Path:
    """``config.toml`` in ``directory``, by default the user's config directory."""
    return (config_dir() if directory is None else directory) / CONFIG_FILE_NAME


class CockpitSection(BaseModel):
    """The ``[cockpit]`` table."""

    bell: bool = False
    user: str | None = None
    # Whom the OS login may act as (``--user``, ``user``); ``"*"``: anyone.
    act_as: list[str] = Field(default_factory=list)
    # Keep stored forecasts current in the background (processes at a lower priority).
    forecasts: bool = True


class OkrSection(BaseModel):
    """The ``[okr]`` table: the probability the proposed commit target is hit with, and the
    stretch target's (lower: a stretch is harder). Each lies strictly between 0 and 1, and
    stretch below commit; :class:`CockpitSettings` drops a key that breaks the order."""

    commit: float = Field(default=COMMIT, gt=0, lt=1)
    stretch: float = Field(default=STRETCH, gt=0, lt=1)


class RoutingSection(BaseModel):
    """The ``[routing]`` table: what each agent wants to be notified of
    (``[routing.agents.<id>]``, see :mod:`intelligentos.domain.routing_policy`)."""

    agents: dict[str, AgentAttention] = Field(default_factory=dict)


@dataclass(frozen=True)
class _Sources:
    # The config file's document, as read (and trimmed of its bad keys) by ``load``.
    document: dict[str, Any] | None = None
    environment: bool = True


# Direct construction: keyword arguments and the environment, never the user's file.
_DIRECT = _Sources()
# Which sources the next construction reads. A context variable rather than a class
# attribute: it is private to the current thread / asyncio task, so concurrent loads of
# different directories cannot see each other's file.
_SOURCES: ContextVar[_Sources] = ContextVar("intelligentos_settings_sources", default=_DIRECT)


class CockpitSettings(BaseSettings):
    """The cockpit's settings.

    ``CockpitSettings.load(directory)`` reads keyword overrides, the environment and
    ``config.toml``. Loading never fails because of the file or the environment. A file
    that cannot be read at all (bad TOML, not UTF-8, unreadable) is skipped whole; a key
    of the file with a bad value costs that key only (its default is used), and every
    other key and ``[[notify]]`` table still applies; environment variables with a bad
    value are skipped together. ``settings.problem`` says what was ignored, one sentence
    per ignored file, key or environment, naming the file's path and the key; it is None
    when everything was used.

    Constructing directly, ``CockpitSettings(theme="nord")``, reads keyword arguments and
    the environment but never the file, so it cannot pick up the user's real config.

    A new section is a field whose type is a pydantic model (a ``[table]``) or a list of
    models (an ``[[array of tables]]``); loading needs no other change.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        # INTELLIGENTOS_DB, INTELLIGENTOS_CONFIG_DIR and keys from newer versions share the
        # prefix and the file; they are not settings of this model.
        extra="ignore",
        # `INTELLIGENTOS_THEME=` in a shell means "unset", not a theme named "".
        env_ignore_empty=True,
    )

    theme: str | None = None
    keymap: dict[str, str] = Field(default_factory=dict)
    cockpit: CockpitSection = Field(default_factory=CockpitSection)
    # The [[notify]] tables that are valid; a bad one is skipped (see ``skipped_sinks``).
    notify: list[NotifySink] = Field(default_factory=list)
    okr: OkrSection = Field(default_factory=OkrSection)
    routing: RoutingSection = Field(default_factory=RoutingSection)

    _ignored: list[str] = PrivateAttr(default_factory=list)
    _configured_theme: str | None = PrivateAttr(default=None)
    _state_directory: Path | None = PrivateAttr(default=None)
    _skipped_sinks: list[str] = PrivateAttr(default_factory=list)
    _okr_problems: list[str] = PrivateAttr(default_factory=list)

    @property
    def problem(self) -> str | None:
        """Why ``load()`` ignored the config file, keys of it or the environment, and
        which ``[[notify]]`` tables it skipped, or None."""
        return " ".join(self.problems) or None

    @property
    def problems(self) -> list[str]:
        """:attr:`problem` as sentences: the ignored sources' and keys', then one per
        skipped sink, then one per ``[okr]`` key out of order."""
        return [*self._ignored, *self._skipped_sinks, *self._okr_problems]

    @property
    def skipped_sinks(self) -> list[str]:
        """One sentence per ``[[notify]]`` table that was skipped, naming it and its key."""
        return list(self._skipped_sinks)

    @model_validator(mode="wrap")
    @classmethod
    def _skip_bad_sinks(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        # One bad [[notify]] table must not cost the whole file (the theme, the other
        # sinks): each is validated alone and a bad one is left out, with the reason.
        skipped: list[str] = []
        tables = data.get("notify") if isinstance(data, dict) else None
        if isinstance(tables, list):
            kept = []
            for number, table in enumerate(tables, 1):
                try:
                    kept.append(NotifySink.model_validate(table))
                except ValidationError as error:
                    skipped.append(f"[[notify]] table {number} in {{file}}: {_sink_problem(error)}")
            data = {**data, "notify": kept}
        settings = handler(data)
        if isinstance(settings, CockpitSettings):
            settings._skipped_sinks = skipped
            settings._okr_problems = settings._order_okr()
        return settings

    def _order_okr(self) -> list[str]:
        """Each ``[okr]`` key that breaks "stretch below commit", back to its default, with
        the reason (the stretch first when it was given: the commit is the anchor)."""
        okr = self.okr
        if okr.stretch < okr.commit:
            return []
        given = okr.model_fields_set
        document = _SOURCES.get().document or {}
        table = document.get("okr")
        in_file: dict[str, Any] = table if isinstance(table, dict) else {}
        order = ["stretch", "commit"] if "stretch" in given else ["commit", "stretch"]
        problems = []
        for key in order:
            if key not in given or okr.stretch < okr.commit:
                continue
            other = "commit" if key == "stretch" else "stretch"
            where = " in {file}" if key in in_file else ""
            problems.append(
                f"Ignored okr.{key}{where}, which must be "
                f"{'below' if key == 'stretch' else 'above'} okr.{other} "
                f"({getattr(okr, other):g}); its default is used."
            )
            okr = okr.model_copy(update={key: OkrSection.model_fields[key].default})
        self.okr = okr
        return problems

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # No .env or secrets directory: a .env in whatever directory the cockpit is started
        # from must not change its behaviour.
        chosen = _SOURCES.get()
        sources = [init_settings]
        if chosen.environment:
            sources.append(env_settings)
        if chosen.document is not None:
            sources.append(InitSettingsSource(settings_cls, init_kwargs=chosen.document))
        return tuple(sources)

    @classmethod
    def load(
        cls, directory: Path | None = None, *, state_directory: Path | None = None, **overrides: Any
    ) -> Self:
        """Settings from ``overrides``, the environment and ``config.toml`` in ``directory``
        (by default the user's config directory), in that priority; the theme last picked in
        the cockpit, remembered in ``state_directory`` (by default the user's state
        directory), replaces the configured one as :mod:`intelligentos.config.state` says,
        unless ``overrides`` name a theme. A damaged state file's problems are among
        :attr:`problems`.

        Raises only if ``overrides`` themselves are invalid.
        """
        settings = cls._configured(config_file(directory), overrides)
        remembered, problems = state.load_state(state_directory)
        settings._configured_theme = settings.theme
        settings._state_directory = state_directory
        if "theme" not in overrides:
            settings.theme = remembered.theme_over(settings.theme)
        settings._ignored += problems
        return settings

    def remember_theme(self, name: str) -> Path:
        """Remember ``name`` as the theme picked in the cockpit, to be shown at the next
        launch, and make it :attr:`theme`; the state file's path. ``config.toml`` is not
        touched. Raises OSError if the state file cannot be written."""
        path = state.remember_theme(name, self._configured_theme, self._state_directory)
        self.theme = name
        return path

    def remember_agent(self, agent: str | None) -> Path:
        """Remember ``agent`` as the agent focused on in the cockpit (None: no focus), to be
        focused on again at the next launch; the state file's path. Raises OSError if the
        state file cannot be written."""
        return state.remember_agent(agent, self._state_directory)

    @property
    def configured_theme(self) -> str | None:
        """The theme the environment or ``config.toml`` names, before the remembered pick."""
        return self._configured_theme

    @classmethod
    def _configured(cls, path: Path, overrides: dict[str, Any]) -> Self:
        """Settings from ``overrides``, the environment and the config file at ``path``."""
        ignored: list[str] = []
        try:
            document: dict[str, Any] = _read_document(path)
        except (OSError, ValueError) as error:  # unreadable, not UTF-8, not TOML
            document = {}
            ignored.append(_file_problem(path, error))
        everything = cls._try(_Sources(document, environment=True), overrides)
        if not isinstance(everything, Exception):
            everything._ignored = ignored
            return cls._with_sink_problems(everything, path)
        # The file's keys are judged alone first: a bad one is left out (its default is
        # used) and named; then the environment, all or nothing, on top of what is left.
        document, bad_keys = cls._without_bad_keys(document, overrides)
        ignored += [
            f"Ignored {key} in {path}, which {problem}; its default is used."
            for key, problem in bad_keys
        ]
        settings = cls._try(_Sources(document, environment=True), overrides)
        if isinstance(settings, Exception):
            ignored.append(_env_problem(settings))
            settings = cls._build(_Sources(document, environment=False), overrides)
        settings._ignored = ignored
        return cls._with_sink_problems(settings, path)

    @classmethod
    def _without_bad_keys(
        cls, document: dict[str, Any], overrides: dict[str, Any]
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """``document`` without the keys whose values the settings refuse, and each such
        key (dotted, as ``cockpit.bell``) with what is wrong with it."""
        document = copy.deepcopy(document)
        bad: list[tuple[str, str]] = []
        # Each round leaves out at least one key, so this ends.
        while True:
            found = cls._try(_Sources(document, environment=False), overrides)
            if not isinstance(found, ValidationError):
                return document, bad
            dropped = False
            for error in found.errors(include_url=False, include_input=False):
                key = _drop_key(document, error["loc"])
                if key is not None:
                    bad.append((key, _what_is_wrong(error)))
                    dropped = True
            if not dropped:
                return document, bad  # a keyword override is at fault: _build raises

    @classmethod
    def _with_sink_problems(cls, settings: Self, path: Path) -> Self:
        settings._skipped_sinks = [table.format(file=path) for table in settings._skipped_sinks]
        settings._okr_problems = [text.format(file=path) for text in settings._okr_problems]
        return settings

    @classmethod
    def _build(cls, sources: _Sources, overrides: dict[str, Any]) -> Self:
        token = _SOURCES.set(sources)
        try:
            return cls(**overrides)
        finally:
            _SOURCES.reset(token)

    @classmethod
    def _try(cls, sources: _Sources, overrides: dict[str, Any]) -> Self | Exception:
        try:
            return cls._build(sources, overrides)
        except _LOAD_ERRORS as error:
            return error


# Existing callers say `Settings.load(directory).theme`.
Settings = CockpitSettings


def _read_document(path: Path) -> dict[str, Any]:
    """The config file's document; {} when there is none. Raises OSError when it cannot be
    read, UnicodeDecodeError or TOMLDecodeError (ValueErrors) when it is not UTF-8 TOML."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    return tomllib.loads(raw.decode("utf-8"))


def _file_problem(path: Path, error: Exception) -> str:
    if isinstance(error, tomllib.TOMLDecodeError):
        return f"Ignored {path}, which is not valid TOML: {error}."
    if isinstance(error, UnicodeDecodeError):
        return f"Ignored {path}, which is not UTF-8 text."
    if isinstance(error, OSError):
        return f"Ignored {path}, which cannot be read: {error.strerror or error}."
    if isinstance(error, ValidationError):
        return f"Ignored {path}, which has {_describe(error)}."
    return f"Ignored {path}: {error}."


def _drop_key(document: dict[str, Any], loc: tuple[int | str, ...]) -> str | None:
    """Remove from ``document`` the deepest key on the error's path that is in it, and
    return that key dotted; None when the path is not in the document at all."""
    node: object = document
    found: tuple[dict[str, Any], str] | None = None
    dotted: list[str] = []
    for part in loc:
        if not (isinstance(node, dict) and isinstance(part, str) and part in node):
            break
        found = (node, part)
        dotted.append(part)
        node = node[part]
    if found is None:
        return None
    table, key = found
    del table[key]
    return ".".join(dotted)


def _what_is_wrong(error: Any) -> str:
    # Never the offending value itself: the config may hold secrets and problems are shown.
    message = str(error["msg"])
    return f"has a bad value ({message[:1].lower()}{message[1:]})"


def _env_problem(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return f"Ignored the {ENV_PREFIX}* environment variables, which have {_describe(error)}."
    return f"Ignored the {ENV_PREFIX}* environment variables: {error}."


def _describe(error: ValidationError) -> str:
    # Never the offending value itself: the config may hold secrets and problems are shown.
    errors = error.errors(include_url=False, include_input=False)
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"])
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"a bad value for {where}: {first['msg']}{more}"


def _sink_problem(error: ValidationError) -> str:
    # Never the value itself: a webhook URL may hold a token.
    problems = []
    for found in error.errors(include_url=False, include_input=False):
        key = ".".join(str(part) for part in found["loc"])
        message = str(found["msg"]).removeprefix("Value error, ")
        problems.append(f"{key}: {message}" if key else message)
    return f"{'; '.join(problems)}; it was skipped.".replace("{", "{{").replace("}", "}}")


def acting_user(explicit: str | None = None, settings: CockpitSettings | None = None) -> str:
    """Who acknowledges or snoozes: the user named on the command line, else the config's
    ``cockpit.user``, else the OS user."""
    configured = (settings or CockpitSettings.load()).cockpit.user
    return explicit or configured or current_user()


class ActingUserError(ValueError):
    """``--user`` (or ``[cockpit] user``) names someone the config does not let the OS
    login act as."""


def permitted_user(explicit: str | None = None, settings: CockpitSettings | None = None) -> str:
    """:func:`acting_user`, allowed: the OS login may always act as itself; naming anyone
    else (``--user``, else ``[cockpit] user``) needs ``[cockpit] act_as`` to list them (or
    ``"*"``). This keeps the log honest about who did what; it is not a security boundary
    (whoever can edit config.toml can change it). Raises :class:`ActingUserError`."""
    settings = settings or CockpitSettings.load()
    name = acting_user(explicit, settings)
    login = current_user()
    allowed = settings.cockpit.act_as
    if name == login or name in allowed or "*" in allowed:
        return name
    named = f"--user {name}" if explicit else f'config.toml\'s [cockpit] user = "{name}"'
    raise ActingUserError(
        f"{named} is not allowed: config.toml's [cockpit] act_as does not list {name}; "
        f'add act_as = ["{name}"] to its [cockpit] table to let {login} act as {name}, '
        f"or leave the name out to act as {login}."
    )
