"""Read a catalog directory of TOML files into a :class:`Catalog`, and re-sync a store's
catalog from one.

A catalog is any number of ``*.toml`` files (searched recursively, in sorted order). Each
top-level table names an entity kind (``[kpi.<id>]``, ``[engine.<id>]``, ...), so a company
can split its catalog into files however it likes.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from intelligentos.domain.catalog.changes import judged_differently
from intelligentos.domain.catalog.governance import Violation, validate_catalog
from intelligentos.domain.catalog.models import (
    Agent,
    Catalog,
    Engine,
    Function,
    Kpi,
    Objective,
    System,
    Theme,
    Workflow,
    _Entity,
)
from intelligentos.domain.derived import DerivedRun

if TYPE_CHECKING:
    from pydantic import TypeAdapter

    from intelligentos.store import Store
    from intelligentos.store.bulk import SyncReport

ENTITY_KINDS: dict[str, tuple[str, type[_Entity]]] = {
    "kpi": ("kpis", Kpi),
    "engine": ("engines", Engine),
    "function": ("functions", Function),
    "agent": ("agents", Agent),
    "theme": ("themes", Theme),
    "objective": ("objectives", Objective),
    "workflow": ("workflows", Workflow),
    "system": ("systems", System),
}


class CatalogError(Exception):
    """The catalog cannot be used; ``violations`` says where and why."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations
        first = violations[0] if violations else None
        count = len(violations)
        summary = f"{count} catalog problem{'' if count == 1 else 's'}"
        super().__init__(f"{summary}; first: {first}" if first else summary)


def _format_location(loc: Iterable[object]) -> str:
    return ".".join(str(part) for part in loc)


# pydantic words two errors differently for dataclasses than for its own models; catalog
# files keep the words they have always had.
_MODEL_WORDING = {
    "unexpected_keyword_argument": "Extra inputs are not permitted",
    "dataclass_type": "Input should be a valid dictionary or instance of {class_name}",
}


def _message(error_type: str, message: str, context: Mapping[str, Any] | None) -> str:
    wording = _MODEL_WORDING.get(error_type)
    if wording:
        return wording.format_map(context or {})
    # A rule of the catalog's own (a ``Checked`` ``after``) says what is wrong by itself.
    return message.removeprefix("Value error, ") if error_type == "value_error" else message


def _did_you_mean(kind: str, key: object) -> str:
    """`` (did you mean frequency?)`` for a key close to one of the entity's fields."""
    if not isinstance(key, str):
        return ""
    known = [f.name for f in dataclasses.fields(ENTITY_KINDS[kind][1]) if f.name != "source"]
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.75)
    return f" (did you mean {close[0]}?)" if close else ""


@cache
def _validator(kind: str) -> TypeAdapter[_Entity]:
    """Checks a catalog file's entity of ``kind`` against its model's fields and rules (see
    :mod:`intelligentos.domain.catalog.models`). pydantic is imported here, when a catalog file is
    read, and not by the cockpit, which reads the catalog from the store."""
    from pydantic import TypeAdapter

    return TypeAdapter(ENTITY_KINDS[kind][1])


_LINE = re.compile(r"Cannot overwrite a value \(at line (\d+),")
_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")


def _key_given_twice(text: str, error: str) -> str:
    """The dotted key a file gives twice (``kpi.win_rate.targets.2027Q1``), from tomllib's
    "Cannot overwrite a value (at line N, ...)"; "" for any other error."""
    found = _LINE.search(error)
    lines = text.splitlines()
    if found is None or not 0 < int(found[1]) <= len(lines):
        return ""
    number = int(found[1])
    key = lines[number - 1].split("=", 1)[0].strip().strip("\"'")
    table = next((m[1] for line in reversed(lines[: number - 1]) if (m := _HEADER.match(line))), "")
    return f"{table}.{key}" if table else key


def parse_catalog(directory: Path) -> tuple[Catalog, list[Violation]]:
    """Parse every TOML file; return the catalog built from the valid entities and all
    shape problems (syntax, unknown keys, wrong types, duplicate ids)."""
    from pydantic import ValidationError

    directory = Path(directory)
    problems: list[Violation] = []
    if not directory.is_dir():
        return Catalog(), [Violation("catalog", str(directory), "", "catalog directory not found")]
    files = sorted(directory.rglob("*.toml"))
    if not files:
        return Catalog(), [Violation("catalog", str(directory), "", "no *.toml files in catalog")]

    collected: dict[str, dict[str, _Entity]] = {attr: {} for attr, _ in ENTITY_KINDS.values()}
    for path in files:
        relative = path.relative_to(directory).as_posix()
        try:
            text = path.read_text(encoding="utf-8")
            document = tomllib.loads(text)
        except UnicodeDecodeError as error:
            problems.append(Violation("syntax", relative, "", f"not valid TOML: {error}"))
            continue
        except tomllib.TOMLDecodeError as error:
            key = _key_given_twice(text, str(error))
            message = f"{key} is given twice" if key else f"not valid TOML: {error}"
            problems.append(Violation("syntax", relative, key, message))
            continue
        for kind, entries in document.items():
            if kind not in ENTITY_KINDS:
                known = ", ".join(ENTITY_KINDS)
                problems.append(
                    Violation("schema", relative, kind, f"unknown table; expected one of {known}")
                )
                continue
            attr = ENTITY_KINDS[kind][0]
            if not isinstance(entries, dict):
                problems.append(Violation("schema", relative, kind, "must be a table of entities"))
                continue
            for entity_id, body in entries.items():
                key = f"{kind}.{entity_id}"
                if not isinstance(body, dict):
                    problems.append(Violation("schema", relative, key, "must be a table"))
                    continue
                if entity_id in collected[attr]:
                    other = collected[attr][entity_id].source
                    problems.append(
                        Violation("duplicate", relative, key, f"already defined in {other}")
                    )
                    continue
                try:
                    entity = _validator(kind).validate_python(
                        {**body, "id": entity_id, "source": relative}
                    )
                except ValidationError as error:
                    for item in error.errors():
                        where = _format_location(item["loc"])
                        message = _message(item["type"], item["msg"], item.get("ctx"))
                        if item["type"] in ("unexpected_keyword_argument", "extra_forbidden"):
                            message += _did_you_mean(kind, item["loc"][-1] if item["loc"] else "")
                        problems.append(
                            Violation(
                                "schema", relative, f"{key}.{where}" if where else key, message
                            )
                        )
                    continue
                collected[attr][entity_id] = entity
    # Keyed by field name, which the type checker cannot follow; every dict only ever holds
    # instances of its field's model.
    return Catalog(**cast("dict[str, Any]", collected)), problems


def _with_governance(catalog: Catalog, problems: list[Violation]) -> list[Violation]:
    """The parse problems and the governance rules' violations; a file that is not valid
    TOML is reported alone, since the entities it would have defined are missing from the
    catalog and every reference to them would be a follow-on violation."""
    syntax = [p for p in problems if p.rule == "syntax"]
    if syntax:
        return syntax
    return problems + validate_catalog(catalog)


def load_catalog(directory: Path) -> Catalog:
    """Parse and validate; raise :class:`CatalogError` listing every problem."""
    catalog, problems = parse_catalog(directory)
    problems = _with_governance(catalog, problems)
    if problems:
        raise CatalogError(problems)
    return catalog


def check_catalog(directory: Path) -> list[Violation]:
    catalog, problems = parse_catalog(directory)
    return _with_governance(catalog, problems)


# --- re-syncing a store's catalog ------------------------------------------------------------


class SyncError(Exception):
    """The catalog to sync cannot be found: one sentence saying how to give it."""


@dataclass(frozen=True)
class CatalogSync:
    """What a re-sync did: the store's side (``report``) and the open alerts judged again
    under the new definitions (``rejudged``), ``still_open`` of them afterwards."""

    directory: Path
    report: SyncReport
    rejudged: int = 0
    still_open: int = 0
    derived: DerivedRun = field(default_factory=DerivedRun)  # values computed after it


def recorded_catalog_dir(store: Store) -> Path:
    """The catalog directory ``store`` was built (or last synced) from, as ``store_meta``
    records it; a :class:`SyncError` when it does not say, or that directory is gone."""
    recorded = store.meta().get("catalog")
    if not recorded:
        raise SyncError(
            f"{store.path} does not record the catalog it was built from; give it with "
            "--catalog DIR."
        )
    directory = Path(recorded)
    if not directory.is_dir():
        raise SyncError(
            f"{store.path} was built from the catalog at {directory}, which is gone; give "
            "the catalog with --catalog DIR."
        )
    return directory


def sync_store_catalog(
    store: Store,
    directory: Path | None,
    now: datetime,
    *,
    prune: bool = False,
    force: bool = False,
    who: str = "",
) -> CatalogSync:
    """Re-sync the catalog at ``directory`` (by default the one the store records) into
    ``store``, keeping observations and alerts, then judge the open alerts of the KPIs it
    redefines under their new definitions, through the lifecycle: an alert that still holds
    keeps its state and who acknowledged it. Raises :class:`SyncError`, :class:`CatalogError`
    (nothing changed) or :class:`~intelligentos.store.StoreError`."""
    from intelligentos.services.check import evaluate_store
    from intelligentos.services.derived import compute_derived
    from intelligentos.store.bulk import sync_catalog

    directory = directory if directory is not None else recorded_catalog_dir(store)
    catalog = load_catalog(directory)
    report = sync_catalog(
        store,
        catalog,
        prune=prune,
        force=force,
        source=str(directory.resolve()),
        now=now,
        who=who,
    )
    # The history of a new or changed expression, made pending by the re-sync.
    derived = compute_derived(store, catalog, now)
    rejudged = judged_differently(report.changes)
    touched = [a for a in store.open_alerts() if a.kpi_id in rejudged]
    if not touched:
        return CatalogSync(directory, report, derived=derived)
    evaluate_store(store, catalog, now, redefined_kpis=rejudged)
    still_open = {a.id for a in store.open_alerts()}
    kept = sum(1 for a in touched if a.id in still_open)
    return CatalogSync(directory, report, len(touched), kept, derived)
