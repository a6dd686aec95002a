"""Find: a command-palette provider that jumps to any KPI, engine, workflow, system or field."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.markup import escape

from intelligentos.domain.formatting import literal
from intelligentos.tui.base import cockpit_of


class FindProvider(Provider):
    def _entries(self) -> list[tuple[str, str, str]]:
        data = cockpit_of(self.app).data
        if data is None:
            return []
        catalog = data.catalog
        entries = [("KPI", k.id, k.name) for k in catalog.kpis.values()]
        entries += [("Engine", e.id, e.name) for e in catalog.engines.values()]
        entries += [("Workflow", w.id, w.name) for w in catalog.workflows.values()]
        entries += [("System", s.id, s.name) for s in catalog.systems.values()]
        entries += [("Field", f, f.replace(".", " · ")) for f in sorted(catalog.field_ids())]
        return entries

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for kind, entity_id, name in self._entries():
            # The palette parses hit texts as markup: escape user text first.
            text = f"{kind}: {escape(literal(name))}"
            score = max(matcher.match(text), matcher.match(f"{kind}: {entity_id}"))
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(text),
                    partial(cockpit_of(self.app).navigator.jump_to, kind.lower(), entity_id),
                    help=f"Go to {kind.lower()} {escape(literal(entity_id))}",
                )

    async def discover(self) -> Hits:
        for kind, entity_id, name in self._entries():
            if kind in ("KPI", "Engine"):
                yield DiscoveryHit(
                    f"{kind}: {escape(literal(name))}",
                    partial(cockpit_of(self.app).navigator.jump_to, kind.lower(), entity_id),
                    help=f"Go to {kind.lower()} {escape(literal(entity_id))}",
                )
