"""Creating stores from catalogs, and finding (or making) the store a command works on."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from intelligentos.clock import utc_today
from intelligentos.paths import builtin_catalog_dir, default_db_path
from intelligentos.store import StoreError, create_store

if TYPE_CHECKING:
    from intelligentos.catalog import Catalog


def init_store(
    path: Path,
    catalog_dir: Path | None = None,
    *,
    demo: bool = True,
    seed: int | None = None,
    end: date | None = None,
    force: bool = False,
    make_parents: bool = False,
    scale_kpis: int | None = None,
    history_days: int | None = None,
) -> Catalog:
    """Create a store at ``path`` from a catalog directory, with or without demo history.

    ``scale_kpis`` grows the catalog with synthetic KPIs (an enterprise-scale store).
    ``seed`` and ``history_days`` default to the demo's own.
    """
    # Here, not at the top: finding the store is on the cockpit's launch path; making one
    # (the catalog files, the demo history) is not.
    from intelligentos.catalog import CatalogError, load_catalog, validate_catalog
    from intelligentos.demo import DEFAULT_SEED, HISTORY_DAYS, demo_observations

    seed = DEFAULT_SEED if seed is None else seed
    history_days = HISTORY_DAYS if history_days is None else history_days

    catalog_dir = Path(catalog_dir) if catalog_dir else builtin_catalog_dir()
    catalog = load_catalog(catalog_dir)
    if scale_kpis:
        from intelligentos.scale import scaled_catalog  # rarely needed: off the launch path

        catalog = scaled_catalog(catalog, scale_kpis)
        problems = validate_catalog(catalog)
        if problems:
            raise CatalogError(problems)
    end = end or utc_today()
    observations = demo_observations(catalog, end, seed, days=history_days) if demo else ()
    meta = {"catalog": str(catalog_dir.resolve()), "created": end.isoformat()}
    if demo:
        meta |= {"demo_seed": str(seed), "demo_end": end.isoformat()}
    create_store(path, catalog, observations, meta=meta, force=force, make_parents=make_parents)
    return catalog


def resolve_store(db: Path | None) -> tuple[Path, bool]:
    """The store a command should use, and whether a demo store was just created for it.

    Only the default location is created on demand (the first launch); an explicit path
    that does not exist is an error reported by the store.
    """
    if db is not None:
        return Path(db).expanduser(), False
    path = default_db_path()
    if path.exists():
        return path, False
    from intelligentos.catalog import CatalogError

    try:
        init_store(path, demo=True, make_parents=True)
    except CatalogError as error:
        raise StoreError(f"Could not create the demo KPI store at {path}: {error}") from error
    return path, True
