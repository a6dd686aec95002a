"""Read a catalog directory of TOML files into a :class:`Catalog`.

A catalog is any number of ``*.toml`` files (searched recursively, in sorted order). Each
top-level table names an entity kind (``[kpi.<id>]``, ``[engine.<id>]``, ...), so a company
can split its catalog into files however it likes.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path

from pydantic import ValidationError

from intelligentos.catalog.governance import Violation, validate_catalog
from intelligentos.catalog.models import (
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
        summary = f"{len(violations)} catalog problem(s)"
        super().__init__(f"{summary}; first: {first}" if first else summary)


def _format_location(loc: Iterable[object]) -> str:
    return ".".join(str(part) for part in loc)


def parse_catalog(directory: Path) -> tuple[Catalog, list[Violation]]:
    """Parse every TOML file; return the catalog built from the valid entities and all
    shape problems (syntax, unknown keys, wrong types, duplicate ids)."""
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
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            problems.append(Violation("syntax", relative, "", f"not valid TOML: {error}"))
            continue
        for kind, entries in document.items():
            if kind not in ENTITY_KINDS:
                known = ", ".join(ENTITY_KINDS)
                problems.append(
                    Violation("schema", relative, kind, f"unknown table; expected one of {known}")
                )
                continue
            attr, model = ENTITY_KINDS[kind]
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
                    entity = model.model_validate({**body, "id": entity_id, "source": relative})
                except ValidationError as error:
                    for item in error.errors():
                        where = _format_location(item["loc"])
                        problems.append(
                            Violation(
                                "schema",
                                relative,
                                f"{key}.{where}" if where else key,
                                item["msg"],
                            )
                        )
                    continue
                collected[attr][entity_id] = entity
    # Keyed by attribute name at run time, so pydantic (not the type checker) matches each
    # dict to its field; every dict only ever holds instances of that field's model.
    return Catalog.model_validate(collected), problems


def load_catalog(directory: Path) -> Catalog:
    """Parse and validate; raise :class:`CatalogError` listing every problem."""
    catalog, problems = parse_catalog(directory)
    problems += validate_catalog(catalog)
    if problems:
        raise CatalogError(problems)
    return catalog


def check_catalog(directory: Path) -> list[Violation]:
    catalog, problems = parse_catalog(directory)
    return problems + validate_catalog(catalog)
