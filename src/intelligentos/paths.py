"""Where things live: built-in resources, the default store, the user's config."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import platformdirs

APP_NAME = "intelligentos"
_PACKAGE_DIR = Path(__file__).resolve().parent
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


def write_atomically(path: Path, text: str, mode: int | None = None) -> int:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file in the same directory,
    renamed into place: a reader sees the old file or the whole new one, never a part.
    The file keeps the temporary file's 0600 unless ``mode`` says otherwise. Returns the
    bytes written; raises OSError, leaving nothing behind."""
    data = text.encode("utf-8")
    # mkstemp's name is unique, so concurrent writers never write into each other's file.
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        if mode is not None:
            os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return len(data)
