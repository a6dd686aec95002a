"""The SQLite KPI store. The only place in the product that knows SQL.

Opening never modifies a file that is not ours: identity (SQLite header, our ``store_meta``
marker, the schema version) is checked on a read-only connection first.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from intelligentos.alerts import Alert, Event, State
from intelligentos.catalog.models import (
    Agent,
    Catalog,
    Engine,
    Function,
    Kpi,
    LineageLink,
    Objective,
    Step,
    System,
    Theme,
    Workflow,
)
from intelligentos.detection import Severity
from intelligentos.store.schema import (
    ALERT_COLUMNS,
    APP_ID,
    INSERT_ALERT,
    MIGRATIONS,
    SCHEMA_V1,
    SCHEMA_VERSION,
    SELECT_CATALOG_TABLE,
    SET_BUSY_TIMEOUT,
    UPDATE_ALERT,
    set_user_version,
)

SQLITE_HEADER = b"SQLite format 3\x00"
LOCK_PATIENCE_SECONDS = 60.0


class StoreError(Exception):
    """A store cannot be opened or written; the message is one sentence for the user."""


@dataclass(frozen=True)
class Observation:
    kpi_id: str
    period: str
    value: float | None
    source: str | None = None


def _describe_sqlite_error(path: Path, error: sqlite3.Error) -> str:
    text = str(error)
    if "not a database" in text or "malformed" in text:
        return f"{path} is damaged or is not a SQLite database ({text}); it was left untouched."
    return f"{path} could not be read as a KPI store ({text}); it was left untouched."


def identify_store(path: Path) -> int:
    """Return the schema version of our store at ``path`` or raise :class:`StoreError`.

    Uses a read-only connection, so a foreign or broken file is never modified.
    """
    path = Path(path)
    if not path.exists():
        raise StoreError(f"No KPI store at {path}; create one with `intelligentos-tui init`.")
    if path.is_dir():
        raise StoreError(f"{path} is a directory, not a KPI store file.")
    try:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as error:
        raise StoreError(f"{path} cannot be read: {error.strerror}.") from error
    if header != SQLITE_HEADER:
        what = "an empty file" if not header else "not a SQLite database"
        raise StoreError(
            f"{path} is {what}, not an IntelligentOS KPI store; it was left untouched."
        )
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise StoreError(_describe_sqlite_error(path, error)) from error
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        has_meta = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'store_meta'"
        ).fetchone()
        app = (
            conn.execute("SELECT value FROM store_meta WHERE key = 'app'").fetchone()
            if has_meta
            else None
        )
    except sqlite3.Error as error:
        raise StoreError(_describe_sqlite_error(path, error)) from error
    finally:
        conn.close()
    if not app or app[0] != APP_ID:
        raise StoreError(
            f"{path} is a SQLite database of another application, not an IntelligentOS KPI "
            "store; it was left untouched."
        )
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} was written by a newer IntelligentOS (schema {version}, this version "
            f"reads up to {SCHEMA_VERSION}); upgrade intelligentos-cockpit to open it."
        )
    return version


class Store:
    """A connection to one store file. Thread-safe: calls are serialised by a lock."""

    def __init__(self, path: Path, conn: sqlite3.Connection, readonly: bool):
        self.path = Path(path)
        self.readonly = readonly
        self._conn = conn
        self._lock = threading.RLock()

    @functools.cached_property
    def db(self):
        """A sqlite-utils view of the same connection (imported on first use: the cockpit's
        start-up does not need it)."""
        import sqlite_utils

        return sqlite_utils.Database(self._conn, recursive_triggers=False, execute_plugins=False)

    # --- opening -----------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, *, readonly: bool = False) -> Store:
        path = Path(path)
        version = identify_store(path)
        if not readonly and not os.access(path, os.W_OK):
            readonly = True
        uri = f"{path.resolve().as_uri()}?mode={'ro' if readonly else 'rw'}"
        try:
            conn = sqlite3.connect(
                uri, uri=True, isolation_level=None, check_same_thread=False, timeout=5.0
            )
            conn.execute(SET_BUSY_TIMEOUT)
            if not readonly:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as error:
            raise StoreError(_describe_sqlite_error(path, error)) from error
        store = cls(path, conn, readonly)
        if version < SCHEMA_VERSION:
            if readonly:
                raise StoreError(
                    f"{path} uses schema {version} and needs an upgrade, but it is read-only."
                )
            store._migrate(version)
        return store

    def _migrate(self, version: int) -> None:
        with self.transaction():
            while version < SCHEMA_VERSION:
                for statement in MIGRATIONS[version].split(";\n"):
                    if statement.strip():
                        self._conn.execute(statement)
                version += 1
                self._conn.execute(set_user_version(version))

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction. BEGIN IMMEDIATE takes the write lock up front; when
        another process holds it past the busy timeout, retry with backoff rather than
        surface "database is locked" to the user."""
        if self.readonly:
            raise StoreError(f"{self.path} is read-only; the change cannot be saved.")
        with self._lock:
            self._begin_immediate()
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")

    def _begin_immediate(self) -> None:
        delay = 0.05
        deadline = time.monotonic() + LOCK_PATIENCE_SECONDS
        while True:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                busy = "locked" in str(error) or "busy" in str(error)
                if not busy or time.monotonic() > deadline:
                    if busy:
                        raise StoreError(
                            f"{self.path} stayed locked by another process for "
                            f"{LOCK_PATIENCE_SECONDS:.0f} s; try again."
                        ) from error
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    def _query(self, sql: str, params: Sequence | dict = ()) -> list[sqlite3.Row]:
        with self._lock:
            cursor = self._conn.execute(sql, params)
            columns = [c[0] for c in cursor.description or ()]
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    # --- metadata ----------------------------------------------------------------------

    def data_version(self) -> int:
        """Changes whenever another connection commits to the file (cheap to poll)."""
        with self._lock:
            return self._conn.execute("PRAGMA data_version").fetchone()[0]

    def meta(self) -> dict[str, str]:
        return {
            row["key"]: row["value"] for row in self._query("SELECT key, value FROM store_meta")
        }

    def table_counts(self) -> dict[str, int]:
        with self._lock:
            return {
                name: self.db[name].count for name in self.db.table_names() if name != "store_meta"
            }

    # --- catalog -----------------------------------------------------------------------

    def read_catalog(self) -> Catalog:
        def rows(table: str) -> list[dict]:
            return self._query(SELECT_CATALOG_TABLE[table])

        def loads(text: str | None) -> list:
            return json.loads(text) if text else []

        lineage: dict[str, dict[int, dict]] = {}
        for row in self._query("SELECT * FROM lineage ORDER BY kpi_id, link, position"):
            link = lineage.setdefault(row["kpi_id"], {}).setdefault(
                row["link"],
                {
                    "metric": row["metric"],
                    "workflow": row["workflow_id"],
                    "step": row["step_id"],
                    "fields": [],
                },
            )
            link["fields"].append(row["field_id"])
        steps: dict[str, list[Step]] = {}
        for row in rows("steps"):
            steps.setdefault(row["workflow_id"], []).append(
                Step(id=row["step_id"], name=row["name"], system=row["system_id"])
            )
        tables: dict[str, dict[str, list[str]]] = {}
        for row in rows("fields"):
            tables.setdefault(row["system_id"], {}).setdefault(row["table_name"], []).append(
                row["field_name"]
            )
        return Catalog(
            engines={
                r["id"]: Engine(
                    id=r["id"],
                    name=r["name"],
                    description=r["description"] or "",
                    owners=loads(r["owners"]),
                    rollup_kpis=loads(r["rollup_kpis"]),
                    source=r["source"] or "",
                )
                for r in rows("engines")
            },
            functions={
                r["id"]: Function(
                    id=r["id"], name=r["name"], agent=r["agent_id"], source=r["source"] or ""
                )
                for r in rows("functions")
            },
            agents={
                r["id"]: Agent(
                    id=r["id"],
                    name=r["name"],
                    function=r["function_id"],
                    owns=loads(r["owns"]),
                    supports=loads(r["supports"]),
                    rules=loads(r["rules"]),
                    source=r["source"] or "",
                )
                for r in rows("agents")
            },
            themes={
                r["id"]: Theme(id=r["id"], name=r["name"], source=r["source"] or "")
                for r in rows("themes")
            },
            objectives={
                r["id"]: Objective(
                    id=r["id"],
                    name=r["name"],
                    theme=r["theme_id"],
                    ceo_kpis=loads(r["ceo_kpis"]),
                    functional_kpis=loads(r["functional_kpis"]),
                    source=r["source"] or "",
                )
                for r in rows("objectives")
            },
            workflows={
                r["id"]: Workflow(
                    id=r["id"],
                    name=r["name"],
                    owner_function=r["owner_function_id"],
                    description=r["description"] or "",
                    steps=steps.get(r["id"], []),
                    source=r["source"] or "",
                )
                for r in rows("workflows")
            },
            systems={
                r["id"]: System(
                    id=r["id"],
                    name=r["name"],
                    kind=r["kind"] or "",
                    tables=tables.get(r["id"], {}),
                    source=r["source"] or "",
                )
                for r in rows("systems")
            },
            kpis={
                r["id"]: Kpi(
                    id=r["id"],
                    name=r["name"],
                    short_name=r["short_name"] or "",
                    level=r["level"],
                    unit=r["unit"],
                    direction=r["direction"],
                    target=r["target"],
                    warning=r["warning"],
                    critical=r["critical"],
                    frequency=r["frequency"],
                    formula=r["formula"],
                    engine=r["engine_id"],
                    owner_function=r["owner_function_id"],
                    owner_agent=r["owner_agent_id"],
                    rolls_up_to=r["rolls_up_to"],
                    weight=r["weight"] if r["weight"] is not None else 1.0,
                    description=r["description"] or "",
                    lineage=[
                        LineageLink(**link) for _, link in sorted(lineage.get(r["id"], {}).items())
                    ],
                    detection=json.loads(r["detection"]) if r["detection"] else {},
                    source=r["source"] or "",
                )
                for r in rows("kpis")
            },
        )

    # --- observations ------------------------------------------------------------------

    def latest_windows(
        self, size: int, kpi_ids: Iterable[str] | None = None, until: str | None = None
    ) -> dict[str, list[tuple[str, float | None]]]:
        """The latest ``size`` observations of each KPI, oldest first.

        One indexed range scan per KPI (the primary key is ``(kpi_id, period)``), so the
        cost grows with what is shown, not with the length of the history.
        """
        ids = (
            list(kpi_ids)
            if kpi_ids is not None
            else [r["id"] for r in self._query("SELECT id FROM kpis ORDER BY position")]
        )
        upper = until or "\uffff"
        windows: dict[str, list[tuple[str, float | None]]] = {}
        with self._lock:
            for kpi_id in ids:
                rows = self._conn.execute(
                    "SELECT period, value FROM observations WHERE kpi_id = ? AND period <= ? "
                    "ORDER BY period DESC LIMIT ?",
                    (kpi_id, upper, size),
                ).fetchall()
                rows.reverse()
                windows[kpi_id] = rows
        return windows

    def history(self, kpi_id: str, limit: int = 100_000) -> list[tuple[str, float | None]]:
        return self.latest_windows(limit, [kpi_id])[kpi_id]

    def integrity_verdict(self) -> str:
        """``PRAGMA quick_check`` on a separate read-only connection, so a long check (it is
        linear in the file's size) never holds this store's lock."""
        try:
            conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
        except sqlite3.Error as error:
            return str(error)
        try:
            return conn.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.DatabaseError as error:
            return str(error)
        finally:
            conn.close()

    def ensure_intact(self, consequence: str = "nothing was written") -> None:
        """Never write into a damaged file: a structural check (``PRAGMA quick_check``,
        linear in the file's size) before a write that was not asked for interactively."""
        with self._lock:
            try:
                verdict = self._conn.execute("PRAGMA quick_check").fetchone()[0]
            except sqlite3.DatabaseError as error:
                verdict = str(error)
        if verdict != "ok":
            raise StoreError(
                f"{self.path} is damaged ({verdict}); {consequence} and the file was left "
                "untouched."
            )

    def probe(self) -> None:
        """Touch the catalog and the observation index: a damaged file fails here."""
        self._query("SELECT count(*) AS n FROM kpis")
        self._query("SELECT kpi_id, period FROM observations ORDER BY kpi_id DESC LIMIT 1")

    def upsert_observations(self, observations: Iterable[Observation]) -> int:
        """Insert or update observations in one transaction; return how many were written."""
        written = 0
        with self.transaction() as conn:
            for obs in observations:
                conn.execute(
                    "INSERT INTO observations (kpi_id, period, value, source) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (kpi_id, period) DO UPDATE SET value = excluded.value, "
                    "source = excluded.source, ingested_at = excluded.ingested_at",
                    (obs.kpi_id, obs.period, obs.value, obs.source),
                )
                written += 1
        return written

    # --- alerts ----------------------------------------------------------------------------

    @staticmethod
    def _alert(row: dict) -> Alert:
        return Alert(
            **{
                **row,
                "severity": Severity(row["severity"]),
                "state": State(row["state"]),
                "message": row["message"] or "",
            }
        )

    def alerts(self, states: Iterable[str] | None = None) -> list[Alert]:
        """Alerts, most severe and oldest first; optionally only some states."""
        wanted = json.dumps(list(states)) if states is not None else None
        rows = self._query(
            "SELECT * FROM alerts WHERE ?1 IS NULL OR state IN (SELECT value FROM json_each(?1)) "
            "ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, "
            "opened_at, id",
            (wanted,),
        )
        return [self._alert(row) for row in rows]

    def open_alerts(self) -> list[Alert]:
        return self.alerts(["firing", "acknowledged", "snoozed"])

    def alert(self, alert_id: int) -> Alert | None:
        rows = self._query("SELECT * FROM alerts WHERE id = ?", (alert_id,))
        return self._alert(rows[0]) if rows else None

    def save_alert(self, alert: Alert) -> Alert:
        """Insert a new alert or update an existing one; call inside :meth:`transaction`."""
        values = {c: getattr(alert, c) for c in ALERT_COLUMNS}
        values["severity"] = alert.severity.value
        values["state"] = alert.state.value
        with self._lock:
            if alert.id is None:
                cursor = self._conn.execute(INSERT_ALERT, values)
                return replace(alert, id=cursor.lastrowid)
            self._conn.execute(UPDATE_ALERT, {**values, "id": alert.id})
            return alert

    def append_event(self, alert_id: int, event: Event) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO alert_events (alert_id, at, actor, action, from_state, to_state, "
                "note, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    alert_id,
                    event.at,
                    event.actor,
                    event.action,
                    event.from_state.value if event.from_state else None,
                    event.to_state.value,
                    event.note,
                    event.value,
                ),
            )

    def alert_events(self, alert_id: int) -> list[Event]:
        rows = self._query("SELECT * FROM alert_events WHERE alert_id = ? ORDER BY id", (alert_id,))
        return [
            Event(
                at=r["at"],
                actor=r["actor"],
                action=r["action"],
                from_state=State(r["from_state"]) if r["from_state"] else None,
                to_state=State(r["to_state"]),
                note=r["note"],
                value=r["value"],
                alert_id=r["alert_id"],
            )
            for r in rows
        ]


# --- creating a store ------------------------------------------------------------------


def _catalog_rows(catalog: Catalog) -> dict[str, list[dict]]:
    def listed(items) -> str:
        return json.dumps(list(items))

    fields = []
    for system in catalog.systems.values():
        for table, names in system.tables.items():
            for name in names:
                fields.append(
                    {
                        "id": f"{system.id}.{table}.{name}",
                        "system_id": system.id,
                        "table_name": table,
                        "field_name": name,
                        "position": len(fields),
                    }
                )
    steps = [
        {
            "id": f"{w.id}.{s.id}",
            "workflow_id": w.id,
            "step_id": s.id,
            "name": s.name,
            "system_id": s.system,
            "position": i,
        }
        for w in catalog.workflows.values()
        for i, s in enumerate(w.steps)
    ]
    lineage = [
        {
            "kpi_id": k.id,
            "link": li,
            "metric": link.metric,
            "workflow_id": link.workflow,
            "step_id": link.step,
            "field_id": f,
            "position": fi,
        }
        for k in catalog.kpis.values()
        for li, link in enumerate(k.lineage)
        for fi, f in enumerate(link.fields)
    ]
    return {
        "engines": [
            {
                "id": e.id,
                "name": e.name,
                "description": e.description,
                "owners": listed(e.owners),
                "rollup_kpis": listed(e.rollup_kpis),
                "position": i,
                "source": e.source,
            }
            for i, e in enumerate(catalog.engines.values())
        ],
        "functions": [
            {"id": f.id, "name": f.name, "agent_id": f.agent, "position": i, "source": f.source}
            for i, f in enumerate(catalog.functions.values())
        ],
        "agents": [
            {
                "id": a.id,
                "name": a.name,
                "function_id": a.function,
                "owns": listed(a.owns),
                "supports": listed(a.supports),
                "rules": listed(a.rules),
                "position": i,
                "source": a.source,
            }
            for i, a in enumerate(catalog.agents.values())
        ],
        "themes": [
            {"id": t.id, "name": t.name, "position": i, "source": t.source}
            for i, t in enumerate(catalog.themes.values())
        ],
        "objectives": [
            {
                "id": o.id,
                "name": o.name,
                "theme_id": o.theme,
                "ceo_kpis": listed(o.ceo_kpis),
                "functional_kpis": listed(o.functional_kpis),
                "position": i,
                "source": o.source,
            }
            for i, o in enumerate(catalog.objectives.values())
        ],
        "systems": [
            {"id": s.id, "name": s.name, "kind": s.kind, "position": i, "source": s.source}
            for i, s in enumerate(catalog.systems.values())
        ],
        "fields": fields,
        "workflows": [
            {
                "id": w.id,
                "name": w.name,
                "owner_function_id": w.owner_function,
                "description": w.description,
                "position": i,
                "source": w.source,
            }
            for i, w in enumerate(catalog.workflows.values())
        ],
        "steps": steps,
        "kpis": [
            {
                "id": k.id,
                "name": k.name,
                "short_name": k.short_name,
                "level": k.level.value,
                "unit": k.unit.value,
                "direction": k.direction.value,
                "target": k.target,
                "warning": k.warning,
                "critical": k.critical,
                "frequency": k.frequency.value,
                "formula": k.formula,
                "engine_id": k.engine,
                "owner_function_id": k.owner_function,
                "owner_agent_id": k.owner_agent,
                "rolls_up_to": k.rolls_up_to,
                "weight": k.weight,
                "description": k.description,
                "detection": k.detection.model_dump_json(exclude_defaults=True),
                "position": i,
                "source": k.source,
            }
            for i, k in enumerate(catalog.kpis.values())
        ],
        "lineage": lineage,
    }


def _refuse_to_replace(path: Path, force: bool) -> None:
    if not path.exists():
        return
    try:
        identify_store(path)
    except StoreError as error:
        raise StoreError(f"Refusing to replace {path}: {error}") from error
    if not force:
        raise StoreError(f"A KPI store already exists at {path}; pass --force to replace it.")


def create_store(
    path: Path,
    catalog: Catalog,
    observations: Iterable[Observation] = (),
    *,
    meta: dict[str, str] | None = None,
    force: bool = False,
    make_parents: bool = False,
) -> Path:
    """Build a new store beside ``path`` and move it into place atomically.

    An existing file is only replaced when it is one of our stores and ``force`` is set;
    anything else (another app's database, a text file, a broken file) is refused.
    """
    path = Path(path)
    _refuse_to_replace(path, force)
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    elif not path.parent.is_dir():
        raise StoreError(f"The directory {path.parent} does not exist.")
    temp = path.with_name(f".{path.name}.{os.getpid()}.building")
    try:
        os.close(os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except OSError as error:
        raise StoreError(f"Cannot create {path}: {error.strerror}.") from error
    try:
        conn = sqlite3.connect(temp, isolation_level=None)
        try:
            conn.executescript(SCHEMA_V1)
            import sqlite_utils

            db = sqlite_utils.Database(conn, recursive_triggers=False, execute_plugins=False)
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT INTO store_meta (key, value) VALUES (?, ?)",
                [("app", APP_ID), *sorted((meta or {}).items())],
            )
            for table, rows in _catalog_rows(catalog).items():
                if rows:
                    db[table].insert_all(rows)
            conn.executemany(
                "INSERT INTO observations (kpi_id, period, value, source, ingested_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    (o.kpi_id, o.period, o.value, o.source, f"{o.period[:10]}T23:00:00Z")
                    for o in observations
                ),
            )
            conn.execute(set_user_version(SCHEMA_VERSION))
            conn.execute("COMMIT")
            # Set WAL now, so the first open of the new store does not rewrite its header.
            conn.execute("PRAGMA journal_mode = WAL")
        finally:
            conn.close()
        for suffix in ("-wal", "-shm"):
            # A stale WAL from the replaced store would be replayed into the new file.
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return path
