"""The store's schema: a public contract (docs/reference/store.md documents every table and
column).

``SCHEMA_VERSION`` lives in ``PRAGMA user_version``. ``MIGRATIONS[n]`` upgrades a store
from version ``n`` to ``n + 1``; opening an older store applies them in order.
"""

from __future__ import annotations

from intelligentos.domain.plausibility import PLAUSIBLE

APP_ID = "intelligentos-cockpit"
SCHEMA_VERSION = 7

CATALOG_TABLES = (
    "engines",
    "functions",
    "agents",
    "themes",
    "objectives",
    "kpis",
    "systems",
    "fields",
    "workflows",
    "steps",
    "lineage",
)

SCHEMA_V1 = """
CREATE TABLE store_meta (
    key   TEXT PRIMARY KEY,
    value TEXT
);
CREATE TABLE engines (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT,
    owners      TEXT,   -- JSON array of function or agent ids
    rollup_kpis TEXT,   -- JSON array of KPI ids
    position    INTEGER,
    source      TEXT
);
CREATE TABLE functions (
    id       TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    agent_id TEXT,
    position INTEGER,
    source   TEXT
);
CREATE TABLE agents (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    function_id TEXT,   -- NULL for the CEO agent
    owns        TEXT,   -- JSON array of KPI ids
    supports    TEXT,   -- JSON array of KPI ids
    rules       TEXT,   -- JSON array of strings
    position    INTEGER,
    source      TEXT
);
CREATE TABLE themes (
    id       TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    position INTEGER,
    source   TEXT
);
CREATE TABLE objectives (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    theme_id        TEXT REFERENCES themes(id),
    ceo_kpis        TEXT,   -- JSON array of KPI ids
    functional_kpis TEXT,   -- JSON array of KPI ids
    position        INTEGER,
    source          TEXT
);
CREATE TABLE kpis (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    short_name        TEXT,            -- optional name for narrow columns
    level             TEXT NOT NULL,   -- ceo | functional | leading
    unit              TEXT NOT NULL,
    direction         TEXT NOT NULL,   -- higher | lower | band
    target            REAL NOT NULL,
    warning           REAL NOT NULL,   -- adverse shortfall fraction that warns
    critical          REAL NOT NULL,   -- adverse shortfall fraction that is critical
    frequency         TEXT NOT NULL,   -- daily | weekly | monthly
    formula           TEXT NOT NULL,
    engine_id         TEXT REFERENCES engines(id),
    owner_function_id TEXT REFERENCES functions(id),
    owner_agent_id    TEXT REFERENCES agents(id),
    rolls_up_to       TEXT REFERENCES kpis(id),
    weight            REAL,
    description       TEXT,
    detection         TEXT,            -- JSON object of per-KPI rule overrides
    position          INTEGER,
    source            TEXT
);
CREATE TABLE systems (
    id       TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    kind     TEXT,
    position INTEGER,
    source   TEXT
);
CREATE TABLE fields (
    id         TEXT PRIMARY KEY,   -- system.table.field
    system_id  TEXT NOT NULL REFERENCES systems(id),
    table_name TEXT NOT NULL,
    field_name TEXT NOT NULL,
    position   INTEGER
);
CREATE TABLE workflows (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    owner_function_id TEXT REFERENCES functions(id),
    description       TEXT,
    position          INTEGER,
    source            TEXT
);
CREATE TABLE steps (
    id          TEXT PRIMARY KEY,   -- workflow.step
    workflow_id TEXT NOT NULL REFERENCES workflows(id),
    step_id     TEXT NOT NULL,
    name        TEXT NOT NULL,
    system_id   TEXT REFERENCES systems(id),
    position    INTEGER
);
CREATE TABLE lineage (
    kpi_id      TEXT NOT NULL REFERENCES kpis(id),
    link        INTEGER NOT NULL,   -- position of the lineage link within the KPI
    metric      TEXT NOT NULL,      -- operational metric
    workflow_id TEXT NOT NULL REFERENCES workflows(id),
    step_id     TEXT NOT NULL,
    field_id    TEXT NOT NULL REFERENCES fields(id),
    position    INTEGER NOT NULL,
    PRIMARY KEY (kpi_id, link, position)
);
CREATE INDEX lineage_by_field ON lineage(field_id);
CREATE TABLE observations (
    kpi_id      TEXT NOT NULL REFERENCES kpis(id),
    period      TEXT NOT NULL,   -- ISO-8601 date or datetime
    value       REAL,
    source      TEXT,
    ingested_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    PRIMARY KEY (kpi_id, period)
) WITHOUT ROWID;
CREATE TABLE alerts (
    id              INTEGER PRIMARY KEY,
    kpi_id          TEXT REFERENCES kpis(id),      -- the KPI, or NULL for a source alert
    system_id       TEXT REFERENCES systems(id),   -- the source system of a stale-source alert
    rule            TEXT NOT NULL,   -- target | anomaly | drift | stale | stale-source
    severity        TEXT NOT NULL,   -- info | warning | critical
    state           TEXT NOT NULL,   -- firing | acknowledged | snoozed | resolved
    period          TEXT,            -- observation period that triggered it
    value           REAL,            -- observed value
    expected        REAL,            -- target, median or centre line, by rule
    deviation       REAL,            -- shortfall fraction, robust z, σ distance or age (days)
    message         TEXT,
    opened_at       TEXT NOT NULL,   -- ISO-8601 UTC timestamps
    updated_at      TEXT NOT NULL,
    resolved_at     TEXT,
    acked_by        TEXT,
    acked_at        TEXT,
    ack_note        TEXT,
    snoozed_until   TEXT,
    parent_alert_id INTEGER REFERENCES alerts(id),  -- grouped under a stale-source alert
    CHECK ((kpi_id IS NULL) != (system_id IS NULL))
);
CREATE UNIQUE INDEX alerts_one_open_per_rule
    ON alerts(coalesce(kpi_id, ''), coalesce(system_id, ''), rule) WHERE state != 'resolved';
CREATE INDEX alerts_by_state ON alerts(state);
CREATE TABLE alert_events (
    id         INTEGER PRIMARY KEY,
    alert_id   INTEGER NOT NULL REFERENCES alerts(id),
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,   -- open | escalate | acknowledge | snooze | snooze-expired | resolve
    from_state TEXT,
    to_state   TEXT NOT NULL,
    note       TEXT,
    value      REAL
);
CREATE INDEX alert_events_by_alert ON alert_events(alert_id, id);
"""

# Statements built from fixed identifiers live here, so the rest of the store only ever
# passes values as parameters (a test enforces it).
SELECT_CATALOG_TABLE = {
    table: f"SELECT * FROM {table} ORDER BY position"
    for table in CATALOG_TABLES
    if table != "lineage"
} | {"lineage": "SELECT * FROM lineage ORDER BY kpi_id, link, position"}

DELETE_CATALOG_TABLE = {table: f"DELETE FROM {table}" for table in CATALOG_TABLES}
ALERT_COLUMNS = (
    "kpi_id",
    "system_id",
    "rule",
    "severity",
    "state",
    "period",
    "value",
    "expected",
    "deviation",
    "message",
    "opened_at",
    "updated_at",
    "resolved_at",
    "acked_by",
    "acked_at",
    "ack_note",
    "snoozed_until",
    "parent_alert_id",
    "assignee",
)
INSERT_ALERT = (
    f"INSERT INTO alerts ({', '.join(ALERT_COLUMNS)}) "
    f"VALUES ({', '.join(':' + c for c in ALERT_COLUMNS)})"
)
UPDATE_ALERT = f"UPDATE alerts SET {', '.join(f'{c} = :{c}' for c in ALERT_COLUMNS)} WHERE id = :id"


# Readers rarely wait in WAL mode; the writer waits in short slices so that closing the
# store can stop it between two attempts.
READER_BUSY_TIMEOUT_MS = 5000
WRITER_BUSY_TIMEOUT_MS = 20
SET_BUSY_TIMEOUT = f"PRAGMA busy_timeout = {READER_BUSY_TIMEOUT_MS}"
SET_WRITER_BUSY_TIMEOUT = f"PRAGMA busy_timeout = {WRITER_BUSY_TIMEOUT_MS}"
TABLE_NAMES = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"


def count_rows(table: str) -> str:
    """``SELECT count(*)`` of a table named by the schema itself (never by user input)."""
    return f'SELECT count(*) FROM "{table.replace(chr(34), chr(34) * 2)}"'


def set_user_version(version: int) -> str:
    return f"PRAGMA user_version = {int(version)}"


# Version 2: forecasts, with the backtest that chose each one's model.
SCHEMA_V2_FORECASTS = """
CREATE TABLE forecasts (
    kpi_id              TEXT PRIMARY KEY REFERENCES kpis(id),
    model               TEXT NOT NULL,     -- ets | theta | seasonal_naive | naive | none
    reliable            INTEGER NOT NULL,  -- 1 when a model clearly beat both baselines
    horizon             INTEGER NOT NULL,  -- periods ahead
    season              INTEGER,           -- season length used, or NULL
    based_on            TEXT,              -- the latest observation period it starts from
    made_at             TEXT NOT NULL,     -- when it was computed (ISO-8601 UTC)
    note                TEXT NOT NULL,     -- the verdict in words
    backtest_origins    INTEGER,           -- rolling origins evaluated
    backtest_mase       REAL,              -- chosen model's MAE / seasonal naive's MAE
    backtest_coverage80 REAL,              -- share of actuals inside the 80 % interval
    backtest_scores     TEXT               -- JSON object: candidate model -> MAE ratio
);
CREATE TABLE forecast_points (
    kpi_id TEXT NOT NULL REFERENCES kpis(id),
    period TEXT NOT NULL,   -- ISO-8601 date of the forecast period
    mean   REAL NOT NULL,
    lo80   REAL NOT NULL,
    hi80   REAL NOT NULL,
    lo95   REAL NOT NULL,
    hi95   REAL NOT NULL,
    PRIMARY KEY (kpi_id, period)
) WITHOUT ROWID
"""

# Version 3: saved what-if scenarios (lever texts, with who saved them and when).
SCHEMA_V3_SCENARIOS = """
CREATE TABLE scenarios (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    levers     TEXT NOT NULL,   -- JSON array of lever texts, e.g. ["win_rate+=3"]
    note       TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,   -- ISO-8601 UTC
    updated_by TEXT,
    updated_at TEXT
)
"""

# Version 4: where each alert is routed (agents, with the reason), and every attempt to
# deliver an alert's transition to a notification sink.
SCHEMA_V4_ROUTING = """
CREATE TABLE alert_routes (
    alert_id INTEGER NOT NULL REFERENCES alerts(id),
    agent_id TEXT NOT NULL,
    reason   TEXT NOT NULL,     -- owner, rolls up to <KPI>, supports <KPI>, CEO KPI, fed by …
    position INTEGER NOT NULL,  -- route order: the owner first
    PRIMARY KEY (alert_id, agent_id)
) WITHOUT ROWID;
CREATE INDEX alert_routes_by_agent ON alert_routes(agent_id, alert_id);
CREATE TABLE deliveries (
    id        INTEGER PRIMARY KEY,
    event_id  INTEGER NOT NULL REFERENCES alert_events(id),  -- the transition delivered
    sink      TEXT NOT NULL,    -- the sink as shown (a webhook's token masked)
    attempts  INTEGER NOT NULL, -- tries so far
    outcome   TEXT NOT NULL,    -- pending | delivered | failed (after the last retry)
    detail    TEXT,             -- the last error, or the HTTP status
    at        TEXT NOT NULL,    -- the last attempt (ISO-8601 UTC)
    UNIQUE (event_id, sink)     -- one delivery per transition and sink, never two
)
"""

# Version 5: a KPI may have no target (it is tracked), and may be derived (``compute``, an
# expression over other KPIs) or give its roll-up edge a ``sensitivity``. SQLite cannot drop
# a NOT NULL constraint in place: the table is rebuilt (no foreign keys are enforced, and
# other tables name ``kpis`` by name, which the rename keeps).
SCHEMA_V5_KPIS = """
CREATE TABLE kpis_v5 (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    short_name        TEXT,
    level             TEXT NOT NULL,
    unit              TEXT NOT NULL,
    direction         TEXT NOT NULL,
    target            REAL,            -- NULL: tracked, no target
    warning           REAL NOT NULL,
    critical          REAL NOT NULL,
    frequency         TEXT NOT NULL,
    formula           TEXT NOT NULL,
    engine_id         TEXT REFERENCES engines(id),
    owner_function_id TEXT REFERENCES functions(id),
    owner_agent_id    TEXT REFERENCES agents(id),
    rolls_up_to       TEXT REFERENCES kpis(id),
    weight            REAL,
    description       TEXT,
    detection         TEXT,
    position          INTEGER,
    source            TEXT,
    compute           TEXT,            -- expression over KPI ids: a derived KPI
    sensitivity       REAL             -- parent units per unit of this KPI, on its roll-up edge
);
INSERT INTO kpis_v5 (id, name, short_name, level, unit, direction, target, warning, critical,
    frequency, formula, engine_id, owner_function_id, owner_agent_id, rolls_up_to, weight,
    description, detection, position, source)
SELECT id, name, short_name, level, unit, direction, target, warning, critical, frequency,
    formula, engine_id, owner_function_id, owner_agent_id, rolls_up_to, weight, description,
    detection, position, source
FROM kpis;
DROP TABLE kpis;
ALTER TABLE kpis_v5 RENAME TO kpis
"""

# The first version whose alerts are routed: an upgrade from before it routes them all (the
# product's upgrade does, see intelligentos.services.bootstrap.upgrade_data).
ROUTING_VERSION = 4

# Version 5, after SCHEMA_V5_KPIS (which adds the KPI's expression and its edge's
# sensitivity): observations a derived KPI's expression computed (``computed`` = 1, never
# imported); the inputs each expression reads, the periods whose derived values must be
# computed again, and the periods a derived KPI has no value for although every input has
# one (with why).
SCHEMA_V5_DERIVED = """
ALTER TABLE observations ADD COLUMN computed INTEGER NOT NULL DEFAULT 0;
CREATE TABLE derived_inputs (
    kpi_id   TEXT NOT NULL REFERENCES kpis(id),  -- the derived KPI
    input_id TEXT NOT NULL,                      -- a KPI id its expression reads
    position INTEGER NOT NULL,                   -- order of first appearance in the expression
    PRIMARY KEY (kpi_id, input_id)
) WITHOUT ROWID;
CREATE INDEX derived_inputs_by_input ON derived_inputs(input_id);
CREATE TABLE derived_pending (
    period TEXT PRIMARY KEY   -- a period whose derived values must be computed again
) WITHOUT ROWID;
CREATE TABLE derived_gaps (
    kpi_id TEXT NOT NULL REFERENCES kpis(id),  -- the derived KPI
    period TEXT NOT NULL,
    reason TEXT NOT NULL,                      -- why its expression has no value there
    PRIMARY KEY (kpi_id, period)
) WITHOUT ROWID
"""

# While the catalog has derived KPIs, every write to an observation of one of their inputs
# (or of a derived KPI itself, written around the importer), by any process, records its
# period as pending; the next computation (an import, `check`, the cockpit's refresh) empties
# it. Computed rows (``computed`` = 1) are written by that computation, which handles their
# periods itself. Without derived KPIs there are no triggers: an import pays nothing for them.
DERIVED_TRIGGER_NAMES = (
    "derived_pending_on_insert",
    "derived_pending_on_update",
    "derived_pending_on_delete",
)
_READ_BY_AN_EXPRESSION = (
    "(EXISTS (SELECT 1 FROM derived_inputs WHERE input_id = {row}.kpi_id) "
    "OR EXISTS (SELECT 1 FROM derived_inputs WHERE kpi_id = {row}.kpi_id))"
)
# Inserted only when absent, never by OR IGNORE: the statement that fires a trigger (an
# import's upsert) imposes its own conflict policy on the trigger's statements.
_MARK = (
    "INSERT INTO derived_pending (period) SELECT {row}.period WHERE NOT EXISTS "
    "(SELECT 1 FROM derived_pending WHERE period = {row}.period);"
)
CREATE_DERIVED_TRIGGERS = (
    "CREATE TRIGGER IF NOT EXISTS derived_pending_on_insert AFTER INSERT ON observations "
    f"WHEN NEW.computed = 0 AND {_READ_BY_AN_EXPRESSION.format(row='NEW')} "
    f"BEGIN {_MARK.format(row='NEW')} END",
    "CREATE TRIGGER IF NOT EXISTS derived_pending_on_update AFTER UPDATE ON observations "
    f"WHEN NEW.computed = 0 AND ({_READ_BY_AN_EXPRESSION.format(row='NEW')} "
    f"OR {_READ_BY_AN_EXPRESSION.format(row='OLD')}) "
    f"BEGIN {_MARK.format(row='OLD')} {_MARK.format(row='NEW')} END",
    "CREATE TRIGGER IF NOT EXISTS derived_pending_on_delete AFTER DELETE ON observations "
    f"WHEN {_READ_BY_AN_EXPRESSION.format(row='OLD')} "
    f"BEGIN {_MARK.format(row='OLD')} END",
)
DROP_DERIVED_TRIGGERS = tuple(f"DROP TRIGGER IF EXISTS {name}" for name in DERIVED_TRIGGER_NAMES)

# Version 6: targets by quarter. ``kpi_targets`` holds each KPI's target for a quarter, the
# one in force from the quarter's first day until a later quarter's; ``target_changes`` logs
# every change to it (append-only), with who made it, when, from where and why.
SCHEMA_V6_TARGETS = """
CREATE TABLE kpi_targets (
    kpi_id  TEXT NOT NULL REFERENCES kpis(id),
    quarter TEXT NOT NULL,   -- YYYYQn
    value   REAL NOT NULL,
    source  TEXT NOT NULL,   -- catalog | proposal | hand
    who     TEXT NOT NULL,   -- who set it ('' for a store built from the catalog)
    at      TEXT NOT NULL,   -- when (ISO-8601 UTC)
    note    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (kpi_id, quarter)
) WITHOUT ROWID;
CREATE TABLE target_changes (
    id      INTEGER PRIMARY KEY,
    kpi_id  TEXT NOT NULL,
    quarter TEXT NOT NULL,
    before  REAL,            -- NULL: the quarter had no target of its own
    after   REAL,            -- NULL: its target was removed
    source  TEXT NOT NULL,
    who     TEXT NOT NULL,
    at      TEXT NOT NULL,
    note    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX target_changes_by_kpi ON target_changes(kpi_id, at)
"""

BUMP_CATALOG_VERSION = (
    "INSERT INTO store_meta (key, value) VALUES ('catalog_version', '1') "
    "ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
)
SELECT_KPI_TARGETS = "SELECT * FROM kpi_targets ORDER BY kpi_id, quarter"
UPSERT_KPI_TARGET = (
    "INSERT INTO kpi_targets (kpi_id, quarter, value, source, who, at, note) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kpi_id, quarter) DO UPDATE SET "
    "value = excluded.value, source = excluded.source, who = excluded.who, "
    "at = excluded.at, note = excluded.note"
)
INSERT_TARGET_CHANGE = (
    "INSERT INTO target_changes (kpi_id, quarter, before, after, source, who, at, note) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)

# Version 7: incidents (the alerts about one problem, notified and acknowledged as one: see
# intelligentos.domain.incidents) and silences. At most one incident of a group is open.
SCHEMA_V7_INCIDENTS = """
CREATE TABLE incidents (
    id         INTEGER PRIMARY KEY,
    group_key  TEXT NOT NULL,      -- kpi:<id> or system:<id>
    opened_at  TEXT NOT NULL,
    resolved_at TEXT               -- NULL while one of its alerts is open
);
CREATE UNIQUE INDEX incidents_open_by_group ON incidents(group_key) WHERE resolved_at IS NULL;
ALTER TABLE alerts ADD COLUMN incident_id INTEGER REFERENCES incidents(id);
CREATE INDEX alerts_by_incident ON alerts(incident_id);
CREATE TABLE silences (
    id         INTEGER PRIMARY KEY,
    matcher    TEXT NOT NULL,      -- kpi | rule | system | agent
    value      TEXT NOT NULL,
    starts_at  TEXT NOT NULL,
    ends_at    TEXT NOT NULL,
    who        TEXT NOT NULL,
    note       TEXT NOT NULL,
    expired_at TEXT,               -- expired by hand before its end
    expired_by TEXT
);
CREATE INDEX silences_by_end ON silences(ends_at)
"""

# Also version 7, who did what: the agent an alert is assigned to (by a person).
SCHEMA_V7_WHO = """
ALTER TABLE alerts ADD COLUMN assignee TEXT
"""

# The first version with incidents: an upgrade from before it groups the store's alerts
# into incidents (intelligentos.services.bootstrap.upgrade_data).
INCIDENTS_VERSION = 7

# MIGRATIONS[n] is the SQL that upgrades a store at version n to n + 1; a new store is
# SCHEMA_V1 followed by every migration, so both paths give the same schema.
MIGRATIONS: dict[int, str] = {
    1: SCHEMA_V2_FORECASTS,
    2: SCHEMA_V3_SCENARIOS,
    3: SCHEMA_V4_ROUTING,
    4: SCHEMA_V5_KPIS.rstrip() + ";\n" + SCHEMA_V5_DERIVED.lstrip(),
    5: SCHEMA_V6_TARGETS,
    6: SCHEMA_V7_INCIDENTS.rstrip() + ";\n" + SCHEMA_V7_WHO.lstrip(),
}


# --- forecasts at a day ------------------------------------------------------------------------

# Of each stored forecast (?1: the KPI ids as a JSON array, NULL for all), only two points: its
# last on or before ?2 (the upper bound of a day's periods) and its last of all: what a
# forecast says at a quarter's end and where it stops, without reading every point (2,000
# daily forecasts to a quarter's end hold over 200,000).
# CROSS JOIN keeps the forecasts as the outer loop: each looks up its two points by the
# primary key (2,000 forecasts: 20 ms; joined the other way, every point was scanned: 650 ms).
SELECT_FORECAST_POINTS_AT = (
    "SELECT p.* FROM (SELECT f.kpi_id AS kpi_id, "
    "(SELECT max(period) FROM forecast_points WHERE kpi_id = f.kpi_id AND period <= ?2) AS at, "
    "(SELECT max(period) FROM forecast_points WHERE kpi_id = f.kpi_id) AS last "
    "FROM forecasts AS f WHERE ?1 IS NULL OR f.kpi_id IN (SELECT value FROM json_each(?1))) AS e "
    "CROSS JOIN forecast_points AS p ON p.kpi_id = e.kpi_id AND p.period IN (e.at, e.last) "
    "ORDER BY p.kpi_id, p.period"
)

# --- observations as values ------------------------------------------------------------------

# A period whose first ten characters are a real calendar date, YYYY-MM-DD: SQLite gives
# the date back unchanged only then (2026-02-30 comes back as 2026-03-02, 07/12/2026 as
# NULL). Rows written around the importer with any other period are never read as values
# (the domain could not place them in time); `check` names them.
READABLE_PERIOD = "date(substr(period, 1, 10), '+0 days') IS substr(period, 1, 10)"

SELECT_LATEST_WINDOW = (
    "SELECT period, value FROM observations WHERE kpi_id = ? AND period <= ? "
    f"AND {READABLE_PERIOD} ORDER BY period DESC LIMIT ?"
)
SELECT_WINDOW_BETWEEN = (
    "SELECT period, value FROM observations WHERE kpi_id = ? AND period > ? AND period <= ? "
    f"AND {READABLE_PERIOD} ORDER BY period"
)
SELECT_FIRST_PERIOD_OF = (
    "SELECT period FROM observations WHERE kpi_id = ? AND value IS NOT NULL "
    f"AND {READABLE_PERIOD} ORDER BY period LIMIT 1"
)
SELECT_LATER_PERIOD = (
    "SELECT period FROM observations WHERE kpi_id = ? AND period > ? "
    f"AND {READABLE_PERIOD} ORDER BY period DESC LIMIT 1"
)
SELECT_FIRST_PERIOD = (
    "SELECT min(first) AS first FROM (SELECT (SELECT period FROM observations "
    f"WHERE kpi_id = kpis.id AND {READABLE_PERIOD} ORDER BY period LIMIT 1) AS first "
    "FROM kpis)"
)
SELECT_UNKNOWN_KPI_ROWS = (
    "SELECT o.kpi_id AS kpi_id, count(*) AS n FROM observations o "
    "WHERE NOT EXISTS (SELECT 1 FROM kpis k WHERE k.id = o.kpi_id) "
    "GROUP BY o.kpi_id ORDER BY o.kpi_id"
)
SELECT_UNREADABLE_PERIODS = (
    "SELECT kpi_id, period, count(*) OVER () AS total FROM observations "
    f"WHERE NOT ({READABLE_PERIOD}) ORDER BY kpi_id, period LIMIT ?"
)
# Bound parameters: the end of today (the caller's clock, never SQLite's), then the limit.
# Rows of KPIs the catalog does not know are reported as such already.
SELECT_FUTURE_ROWS = (
    "SELECT o.kpi_id AS kpi_id, o.period AS period, count(*) OVER () AS total "
    f"FROM observations o WHERE o.period > ? AND {READABLE_PERIOD} "
    "AND EXISTS (SELECT 1 FROM kpis k WHERE k.id = o.kpi_id) "
    "ORDER BY o.kpi_id, o.period LIMIT ?"
)
# Bound parameters: (unit, low, high) for every unit, then the limit.
SELECT_IMPLAUSIBLE_VALUES = (
    "SELECT o.kpi_id AS kpi_id, o.period AS period, o.value AS value, k.unit AS unit, "
    "count(*) OVER () AS total FROM observations o JOIN kpis k ON k.id = o.kpi_id WHERE "
    + " OR ".join("(k.unit = ? AND (o.value < ? OR o.value > ?))" for _ in PLAUSIBLE)
    + " ORDER BY o.kpi_id, o.period LIMIT ?"
)
