"""The SQLite KPI store: schema, opening and identity checks, queries, writes."""

from intelligentos.domain.observations import Observation
from intelligentos.store.connection import StoreError
from intelligentos.store.schema import SCHEMA_VERSION
from intelligentos.store.store import Store, create_store, identify_store

__all__ = [
    "SCHEMA_VERSION",
    "Observation",
    "Store",
    "StoreError",
    "create_store",
    "identify_store",
]
