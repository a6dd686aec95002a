"""What the ``okr`` commands and ``review`` print: tables, text and their JSON records."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from intelligentos.cli.render import line, print_json
from intelligentos.domain.formatting import plural

if TYPE_CHECKING:
    from intelligentos.services.okr.accept import Accepted


# --- okr propose -------------------------------------------------------------------------------


# --- okr accept --------------------------------------------------------------------------------


def _shown(value: float | None) -> str:
    return "none" if value is None else f"{value:g}"


def accept_record(accepted: Accepted) -> dict[str, Any]:
    """``okr accept --json``: the targets (before and after), the KPIs skipped, each file's
    diff, the quarter's cascade with the targets accepted and its warnings."""
    plan = accepted.plan
    return {
        "quarter": str(accepted.quarter),
        "written": accepted.written,
        "catalog": str(plan.directory),
        "targets": [
            {
                "id": t.kpi_id,
                "before": t.before,
                "after": t.after,
                "changed": t.changed,
                "source": t.source.value,
                "file": t.file,
            }
            for t in accepted.targets
        ],
        "skipped": [{"id": s.kpi_id, "reason": s.reason} for s in accepted.skipped],
        "files": [{"file": f.relative, "diff": f.diff} for f in accepted.files],
        "cascade": [
            {
                "parent": link.parent_id,
                "parent_target": link.parent_target,
                "implied_target": link.implied_target,
                "gap_p": link.gap_p,
                "consistent": link.consistent,
            }
            for link in accepted.cascade
        ],
        "warnings": accepted.warnings,
    }


def print_accepted(accepted: Accepted, *, as_json: bool = False) -> None:
    """What ``okr accept`` changed (or, for a dry run, would change, with each file's diff),
    one line per KPI as ``sync-catalog`` reports a change; the KPIs skipped; the warnings."""
    if as_json:
        print_json(accept_record(accepted))
        return
    plan = accepted.plan
    quarter = str(accepted.quarter)
    changed = [t for t in accepted.targets if t.changed]
    where = f"the store and the catalog at {plan.directory}"
    if accepted.written:
        head = f"Targets for {quarter} accepted into {where}: {plural(len(changed), 'change')}."
    else:
        head = (
            f"Dry run: nothing was written. Accepting would make "
            f"{plural(len(changed), 'change')} to {where}."
        )
    line(head)
    for target in accepted.targets:
        what = (
            f"{_shown(target.before)} → {_shown(target.after)}"
            if target.changed
            else f"{_shown(target.after)} (unchanged)"
        )
        line(f"  {target.kpi_id}: target {quarter} {what} ({target.file})")
    if accepted.skipped:
        # Grouped by the reason's first clause; --json gives each KPI's whole reason.
        grouped: dict[str, list[str]] = {}
        for skipped in accepted.skipped:
            grouped.setdefault(skipped.reason.split(": ", 1)[0], []).append(skipped.kpi_id)
        line(f"Skipped ({plural(len(accepted.skipped), 'KPI')} without a target to accept):")
        for reason, kpi_ids in grouped.items():
            line(f"  {reason}: {', '.join(kpi_ids)}")
    if not accepted.written:
        for edit in accepted.files:
            for text in edit.diff.splitlines():
                line(text)
    for warning in accepted.warnings:
        line(warning)


# --- okr grade ---------------------------------------------------------------------------------


# --- review ------------------------------------------------------------------------------------
