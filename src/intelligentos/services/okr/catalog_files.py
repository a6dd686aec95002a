"""Quarterly targets written into the catalog's TOML files, keeping every comment, the order
of keys and tables, and the layout; and written atomically, with the store.

A KPI's target for a quarter goes in ``[kpi.<id>.targets]`` of the file that defines the KPI:
an existing key (in a table, an inline table or dotted keys) is updated where it stands; a
missing ``targets`` table is added right after the KPI's block (after its sub-tables and its
``[[kpi.<id>.lineage]]`` entries), so it reads as part of the KPI. tomlkit edits the parsed
document and writes everything else back as it was read.

Each file is remembered as it was read (:class:`Fingerprint`): just before the new text
replaces it, the file on disk must still be that file, so an edit made meanwhile (by hand, by
another ``okr accept``) is never overwritten.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import os
import stat
import tempfile
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import KeyType, SingleKey


class CatalogFileError(ValueError):
    """A catalog file that cannot be edited: one sentence saying which and why."""


@dataclass(frozen=True)
class Fingerprint:
    """What a file was when it was read: its modification time, size and text's digest."""

    mtime_ns: int
    size: int
    sha256: str

    @classmethod
    def of(cls, path: Path, text: str) -> Fingerprint:
        found = path.stat()
        return cls(found.st_mtime_ns, found.st_size, _digest(text))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _read(path: Path) -> str:
    """The file's text exactly, line endings as written."""
    with path.open(encoding="utf-8", newline="") as handle:
        return handle.read()


@dataclass(frozen=True)
class FileEdit:
    """One catalog file's text before and after its targets were written."""

    path: Path
    relative: str  # as the catalog names its files (``kpis/sales.toml``)
    before: str
    after: str
    read_as: Fingerprint

    @property
    def diff(self) -> str:
        """The change as a unified diff, paths relative to the catalog."""
        return "".join(
            difflib.unified_diff(
                self.before.splitlines(keepends=True),
                self.after.splitlines(keepends=True),
                fromfile=f"a/{self.relative}",
                tofile=f"b/{self.relative}",
            )
        )


def read_catalog_file(directory: Path, relative: str) -> tuple[Path, str, Fingerprint]:
    """A catalog file's path (a link followed: the file it names is the one replaced), its
    text and what it was when read; :class:`CatalogFileError` when it cannot be read."""
    path = (directory / relative).resolve()
    try:
        text = _read(path)
        fingerprint = Fingerprint.of(path, text)
    except (OSError, UnicodeDecodeError) as error:
        raise CatalogFileError(
            f"{relative} cannot be read ({error}); nothing was written."
        ) from error
    return path, text, fingerprint


def _writable(path: Path) -> bool:
    """Whether this user may write ``path``, and its permissions let anyone write it: a file
    (or directory) nobody may write is read-only, for root too, who could write it anyway."""
    return os.access(path, os.W_OK) and bool(path.stat().st_mode & 0o222)


def check_writable(path: Path, relative: str) -> None:
    """:class:`CatalogFileError` when the file, or its directory (its new text is written
    beside it, then moved over it), cannot be written."""
    if not _writable(path):
        raise CatalogFileError(f"{relative} is read-only; nothing was written.")
    if not _writable(path.parent):
        raise CatalogFileError(
            f"the directory of {relative} is read-only, so {relative} cannot be replaced; "
            "nothing was written."
        )


def with_targets(text: str, quarter: str, targets: Mapping[str, float]) -> str:
    """``text`` (a catalog file defining every KPI of ``targets``) with each KPI's target for
    ``quarter`` set, and nothing else changed. A value the file already holds is left as
    written."""
    document = tomlkit.parse(text)
    kpis: Any = document["kpi"]
    for kpi_id, value in targets.items():
        body = kpis[kpi_id]
        held = body.get("targets")
        if held is None:
            table = tomlkit.table()
            table.add(SingleKey(quarter, KeyType.Basic), value)
            table.add(tomlkit.nl())  # a blank line before whatever table follows
            body.add("targets", table)
        elif quarter in held:
            if held[quarter] != value:
                held[quarter] = value  # the key stays as written, where it is
        else:
            held[SingleKey(quarter, KeyType.Basic)] = value
    edited = tomlkit.dumps(document)
    # The blank line that separates the new table from the next one is not wanted at the end.
    if edited.endswith("\n\n") and not text.endswith("\n\n"):
        edited = edited.rstrip("\n") + "\n"
    _check_only_targets(text, edited, quarter, targets)
    return edited


def _check_only_targets(text: str, edited: str, quarter: str, targets: Mapping[str, float]) -> None:
    """The edited text must mean the same as the original with the new targets in it, and
    nothing else: a guard against a layout the editor might mishandle."""
    expected = tomllib.loads(text)
    for kpi_id, value in targets.items():
        expected["kpi"][kpi_id].setdefault("targets", {})[quarter] = value
    if tomllib.loads(edited) != expected:
        raise CatalogFileError(
            "the targets could not be written without changing something else in the file; "
            "nothing was written."
        )


# --- writing ---------------------------------------------------------------------------------


def unchanged_since_read(edit: FileEdit) -> bool:
    """Whether the file on disk is still the one that was read."""
    try:
        text = _read(edit.path)
        return Fingerprint.of(edit.path, text) == edit.read_as
    except (OSError, UnicodeDecodeError):
        return False


def _write_beside(path: Path, text: str) -> Path:
    """A new file beside ``path`` (same directory, so that moving it over ``path`` is atomic)
    holding ``text``, with ``path``'s permissions, flushed to disk."""
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temporary = Path(name)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(OSError):
            os.chmod(temporary, stat.S_IMODE(path.stat().st_mode))
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


class StagedFiles:
    """The new texts written beside their files, ready to move over them. :meth:`replace`
    moves them; :meth:`restore` puts the old texts back (after a failure once some were
    moved); leaving the ``with`` block removes what was not moved."""

    def __init__(self, edits: list[FileEdit]) -> None:
        self.edits = edits
        self.staged: dict[Path, Path] = {}
        self.replaced: list[FileEdit] = []

    def __enter__(self) -> StagedFiles:
        try:
            for edit in self.edits:
                self.staged[edit.path] = _write_beside(edit.path, edit.after)
        except OSError as error:
            self._clean()
            raise CatalogFileError(
                f"the new text of {edit.relative} cannot be written beside it ({error}); "
                "nothing was written."
            ) from error
        return self

    def __exit__(self, *exc: object) -> None:
        self._clean()

    def _clean(self) -> None:
        for temporary in self.staged.values():
            temporary.unlink(missing_ok=True)

    def check_unchanged(self) -> None:
        """:class:`CatalogFileError` for the first file changed on disk since it was read."""
        for edit in self.edits:
            if not unchanged_since_read(edit):
                raise CatalogFileError(
                    f"{edit.relative} changed on disk since it was read; nothing was written."
                )

    def replace(self) -> None:
        """Move each new text over its file; :class:`CatalogFileError` for one that cannot
        be (the caller puts back those already moved, with :meth:`restore`)."""
        for edit in self.edits:
            try:
                os.replace(self.staged[edit.path], edit.path)
            except OSError as error:
                raise CatalogFileError(
                    f"{edit.relative} cannot be replaced ({error}); nothing was written."
                ) from error
            del self.staged[edit.path]
            self.replaced.append(edit)

    def restore(self) -> None:
        """The old text back in every file already replaced (best effort: each one tried)."""
        for edit in self.replaced:
            with contextlib.suppress(OSError):
                os.replace(_write_beside(edit.path, edit.before), edit.path)
        self.replaced = []


@contextlib.contextmanager
def catalog_with(directory: Path, edits: list[FileEdit]) -> Iterator[Path]:
    """A private copy of the catalog's ``*.toml`` files with the edited texts in place, to
    validate the catalog as it would be before anything is written."""
    with tempfile.TemporaryDirectory(prefix="intelligentos-catalog-") as scratch:
        copy = Path(scratch)
        new = {edit.relative: edit.after for edit in edits}
        for path in sorted(directory.rglob("*.toml")):
            relative = path.relative_to(directory).as_posix()
            target = copy / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            text = new.get(relative)
            target.write_text(_read(path) if text is None else text, encoding="utf-8")
        yield copy
