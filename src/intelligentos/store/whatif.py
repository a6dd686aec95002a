"""The saved what-if scenarios: their levers, who saved them and when."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from intelligentos.domain.whatif.scenarios import SavedScenario
from intelligentos.store.connection import StoreConnections


class ScenarioQueries(StoreConnections):
    """Reading, saving and deleting saved scenarios."""

    @staticmethod
    def _scenario(row: Mapping[str, Any]) -> SavedScenario:
        levers = json.loads(row["levers"] or "[]")
        return SavedScenario(
            id=row["id"],
            name=row["name"],
            levers=tuple(str(lever) for lever in levers) if isinstance(levers, list) else (),
            created_by=row["created_by"],
            created_at=row["created_at"],
            note=row["note"],
            updated_by=row["updated_by"],
            updated_at=row["updated_at"],
        )

    def save_scenario(
        self, name: str, levers: Sequence[str], actor: str, at: str, note: str | None = None
    ) -> SavedScenario:
        """Save a scenario under ``name``, in one transaction: a new one records who created
        it and when; saving over an existing name replaces its levers and note and records
        who updated it and when (its creation is kept)."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO scenarios (name, levers, note, created_by, created_at) "
                "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (name) DO UPDATE SET "
                "levers = excluded.levers, note = excluded.note, "
                "updated_by = excluded.created_by, updated_at = excluded.created_at",
                (name, json.dumps(list(levers)), note, actor, at),
            )
            saved = self.scenario(name)
        assert saved is not None
        return saved

    def scenarios(self) -> list[SavedScenario]:
        """Every saved scenario, by name."""
        rows = self.query("SELECT * FROM scenarios ORDER BY name COLLATE NOCASE, name")
        return [self._scenario(row) for row in rows]

    def scenario(self, name: str) -> SavedScenario | None:
        rows = self.query("SELECT * FROM scenarios WHERE name = ?", (name,))
        return self._scenario(rows[0]) if rows else None

    def delete_scenario(self, name: str) -> bool:
        """Delete the scenario saved under ``name``; False when there was none."""
        with self.transaction() as conn:
            cursor = conn.execute("DELETE FROM scenarios WHERE name = ?", (name,))
        return cursor.rowcount > 0
