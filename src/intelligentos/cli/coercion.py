"""The command line's values coerced without pydantic where that gives the same result.

Typer coerces the value of every parameter of the command that runs, given or not, through a
pydantic ``TypeAdapter`` it builds on first use: importing pydantic and building the adapters
costs each command about 100 ms before it starts, more than a read command's own work. This
command line's values are strings, paths, whole numbers and flags, for which the result is
plain Python's: :func:`install` gives each parameter a coercion that returns those directly and
hands anything else (a value it does not recognise, a type not listed here, a bad value whose
error message is Typer's) to Typer's own coercion, built only then.

Typer's coercion is internal to Typer: with a Typer that lacks it, :func:`install` changes
nothing and every value goes through Typer's own coercion, as before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    from typer._click.exceptions import BadParameter
    from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param
    from typer._param_types import coerce_cli_path
except ImportError:  # another Typer: its own coercion applies
    INTERNALS = False
else:
    INTERNALS = True

# Whole numbers as pydantic parses them to the same int; anything else (spaces, underscores,
# "12.0", other scripts' digits) goes to Typer's coercion.
WHOLE = re.compile(r"[+-]?[0-9]{1,18}")


class Unhandled(Exception):
    """A value this module leaves to Typer's coercion."""


def install(command: Any) -> None:
    """Give every parameter of ``command`` (a click command of Typer's) and of its
    subcommands, at any depth, the coercion of this module."""
    if not INTERNALS:
        return
    # A context as the command's would be (none of this app's sets help options of its own),
    # for its --help option, which click makes on first use and keeps.
    params = command.get_params(command.context_class(command))
    for param in params:
        descriptor = getattr(param, "type_descriptor", None)
        if isinstance(descriptor, TypeDescriptor) and hasattr(param, "_runtime_param"):
            param._runtime_param = PlainValues(
                descriptor.parameter_info, descriptor.annotation, descriptor
            )
    for sub in getattr(command, "commands", {}).values():
        install(sub)


if INTERNALS:

    @dataclass(frozen=True)
    class PlainValues(RuntimeParam):
        """A parameter's coercion: strings, paths, whole numbers and flags directly, the
        rest by Typer's (None and the multiple-value checks are ``RuntimeParam``'s)."""

        descriptor: TypeDescriptor
        typers: list[RuntimeParam] = field(default_factory=list)

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            try:
                return self._plain(value)
            except Unhandled:
                return self._typer()._coerce_value(value, param=param, ctx=ctx)

        def _typer(self) -> RuntimeParam:
            if not self.typers:
                self.typers.append(build_runtime_param(self.descriptor))
            return self.typers[0]

        def _plain(self, value: Any) -> Any:
            annotation = self.descriptor.annotation
            if self.descriptor.is_list:
                # Typer's list adapter: a lone value becomes a list of one; a list of the
                # coerced items either way.
                if not isinstance(value, list | tuple):
                    value = [value]
                (item_type,) = getattr(annotation, "__args__", (None,))
                return [self._one(item_type, item) for item in value]
            return self._one(annotation, value)

        def _one(self, annotation: Any, value: Any) -> Any:
            info = self.parameter_info
            if info.parser is not None or self.descriptor.is_file:
                raise Unhandled
            if annotation is str and type(value) is str:
                return value
            if annotation is bool and type(value) is bool:
                return value
            if annotation is int and info.clamp is not True:
                return self._whole(value)
            if annotation is Path and info.path_type is None and not info.allow_dash:
                return self._path(value)
            raise Unhandled

        def _whole(self, value: Any) -> int:
            if type(value) is int:
                number = value
            elif type(value) is str and WHOLE.fullmatch(value):
                number = int(value)
            else:
                raise Unhandled
            info = self.parameter_info
            if (info.min is not None and number < info.min) or (
                info.max is not None and number > info.max
            ):
                raise Unhandled  # out of range: Typer's error message
            return number

        def _path(self, value: Any) -> Any:
            if not isinstance(value, str | Path):
                raise Unhandled
            # Typer's own checks (a path that exists must be readable, ...), given a Path so
            # that they need no pydantic; a failed one is left to Typer to word.
            try:
                return coerce_cli_path(Path(value), self.parameter_info, path_type=Path)
            except BadParameter as error:
                raise Unhandled from error
