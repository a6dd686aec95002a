"""Creating stores from catalogs, finding (or making) the store a command works on, and
opening it (upgrading an older one)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING

from intelligentos.config.paths import builtin_catalog_dir, default_db_path
from intelligentos.domain.agents import routes
from intelligentos.domain.clock import utc_today
from intelligentos.domain.lineage import LineageGraph
from intelligentos.store import Observation, Store, StoreError, create_store
from intelligentos.store.schema import INCIDENTS_VERSION, ROUTING_VERSION

if TYPE_CHECKING:
    from intelligentos.domain.catalog import Catalog

# In ``store_meta`` of a store made with demo history (its seed): the store is a demo.
DEMO_SEED_KEY = "demo_seed"


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
    from intelligentos.domain.catalog import validate_catalog
    from intelligentos.domain.demo import DEFAULT_SEED, HISTORY_DAYS, demo_observations
    from intelligentos.services.catalog import CatalogError, load_catalog

    seed = DEFAULT_SEED if seed is None else seed
    history_days = HISTORY_DAYS if history_days is None else history_days

    catalog_dir = Path(catalog_dir) if catalog_dir else builtin_catalog_dir()
    catalog = load_catalog(catalog_dir)
    if scale_kpis:
        from intelligentos.domain.scale import scaled_catalog  # rarely needed: off the launch path

        catalog = scaled_catalog(catalog, scale_kpis)
        problems = validate_catalog(catalog)
        if problems:
            raise CatalogError(problems)
    end = end or utc_today()
    observations: Iterable[Observation] = (
        demo_observations(catalog, end, seed, days=history_days) if demo else ()
    )
    derived = {kpi.id for kpi in catalog.kpis.values() if kpi.derived}
    if derived:
        # A derived KPI's history is computed from its inputs', never taken as made up.
        observations = [o for o in observations if o.kpi_id not in derived]
    meta = {"catalog": str(catalog_dir.resolve()), "created": end.isoformat()}
    if demo:
        meta |= {DEMO_SEED_KEY: str(seed), "demo_end": end.isoformat()}
    create_store(path, catalog, observations, meta=meta, force=force, make_parents=make_parents)
    if derived and demo:
        from intelligentos.services.derived import compute_derived

        with open_store(path) as store:
            # Stamped as the demo's rows are: the day each value is for, not the clock.
            compute_derived(store, catalog, datetime.combine(end, time(23)))
    return catalog


def is_demo(meta: Mapping[str, str]) -> bool:
    """Whether a store (its ``store_meta``) holds demo history: made-up values and alerts."""
    return DEMO_SEED_KEY in meta


def resolve_store(db: Path | None, *, create_demo: bool = False) -> tuple[Path, bool]:
    """The store a command should use, and whether a demo store was just created for it.

    Only the interactive cockpit (``create_demo``) creates a store on its own, a demo
    store at the default location; for anything else, no store there is an error naming
    the location and ``init``. An explicit path that does not exist is an error reported
    by the store.
    """
    if db is not None:
        return Path(db).expanduser(), False
    path = default_db_path()
    if path.exists():
        return path, False
    if not create_demo:
        raise StoreError(
            f"there is no KPI store at {path} (the default location); create one with "
            "`intelligentos-tui init` (--catalog DIR for your own catalog, --no-demo for "
            "no demo history), or name one with --db PATH."
        )
    from intelligentos.services.catalog import CatalogError

    try:
        init_store(path, demo=True, make_parents=True)
    except CatalogError as error:
        raise StoreError(f"Could not create the demo KPI store at {path}: {error}") from error
    return path, True


def open_store(path: Path, *, readonly: bool = False) -> Store:
    """Open the store at ``path`` as the product does: an older store is upgraded whole, its
    schema and the data only the domain can derive, in one transaction (see
    :meth:`intelligentos.store.Store.open`); raises :class:`StoreError`."""
    return Store.open(path, readonly=readonly, upgrade=upgrade_data)


def upgrade_data(store: Store, version: int) -> None:
    """The data a store at schema ``version`` lacks, added inside its upgrade's transaction:
    a store older than routing has its alerts routed by its catalog (every alert, resolved
    ones too, so that ``--agent`` finds its history); a store older than incidents has its
    alerts grouped into incidents."""
    if version < INCIDENTS_VERSION:
        # Every alert, resolved ones too, in the incident it would have opened or joined.
        from intelligentos.domain.incidents import build

        store.save_incidents(build(store.alerts()))
    if version >= ROUTING_VERSION:
        return
    catalog = store.read_catalog()
    graph = LineageGraph(catalog)
    for alert in store.alerts():
        assert alert.id is not None  # read from the store
        store.save_routes(alert.id, routes(alert.kpi_id, alert.system_id, catalog, graph))
