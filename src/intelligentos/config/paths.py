"""Where things live: built-in resources, the default store, the user's config, and what the
cockpit remembers between runs."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import platformdirs

APP_NAME = "intelligentos"
_PACKAGE_DIR = Path(__file__).resolve().parent.parent
_SOURCE_ROOT = _PACKAGE_DIR.parent.parent


def _resource(installed: str, in_checkout: str) -> Path:
    # A wheel carries the resources inside the package; a source checkout (or an
    # editable install) keeps them at the repository's top level.
    packaged = _PACKAGE_DIR / installed
    return packaged if packaged.is_dir() else _SOURCE_ROOT / in_checkout


def builtin_catalog_dir() -> Path:
    return _resource("_data", "data") / "catalog"


def builtin_themes_dir() -> Path:
    return _resource("_themes", "themes")


def default_db_path() -> Path:
    env = os.environ.get("INTELLIGENTOS_DB")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME)) / "kpi-store.db"


def config_dir() -> Path:
    env = os.environ.get("INTELLIGENTOS_CONFIG_DIR")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME))


def state_dir() -> Path:
    """Where the cockpit keeps what it remembers (:mod:`intelligentos.config.state`):
    ``$INTELLIGENTOS_STATE_DIR``, else the platform's user state directory
    (``$XDG_STATE_HOME/intelligentos``, by default ``~/.local/state/intelligentos``)."""
    env = os.environ.get("INTELLIGENTOS_STATE_DIR")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_state_dir(APP_NAME))


@contextlib.contextmanager
def atomic_file(path: Path, *, private: bool) -> Iterator[BinaryIO]:
    """A binary file that becomes ``path`` when the block ends: written to a temporary file
    in the same directory and renamed into place, so a reader sees the old file or the whole
    new one, never a part. If the block (or the write) raises, ``path`` is untouched and the
    temporary file is gone.

    ``private``: mode 0600 (the file may hold secrets). Otherwise the file gets the mode a
    new file gets (0666 less the umask), or, when it replaces one, that file's mode."""
    temp, handle = _new_temp(path, 0o600 if private else 0o666)
    try:
        with os.fdopen(handle, "wb") as file:
            yield file
            file.flush()
            if not private:
                with contextlib.suppress(FileNotFoundError):
                    os.fchmod(file.fileno(), os.stat(path).st_mode & 0o777)
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def write_atomically(path: Path, text: str, *, private: bool) -> int:
    """Write ``text`` (UTF-8) to ``path`` through :func:`atomic_file` (see it for the mode).
    Returns the bytes written; raises OSError, leaving nothing behind."""
    data = text.encode("utf-8")
    with atomic_file(path, private=private) as file:
        file.write(data)
    return len(data)


def _new_temp(path: Path, mode: int) -> tuple[Path, int]:
    # Created here rather than with tempfile.mkstemp, whose 0600 would hide the umask; the
    # kernel applies the umask to ``mode``. A random name, so that concurrent writers never
    # write into each other's file.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.partial")
        try:
            return temp, os.open(temp, flags, mode)
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary file name", str(path.parent))
