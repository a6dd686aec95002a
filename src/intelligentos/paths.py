"""Where things live: built-in resources, the default store, the user's config."""

from __future__ import annotations

import os
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
