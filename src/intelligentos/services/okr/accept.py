"""Accepting a quarter's targets: into the store and into the catalog's TOML files, both or
neither.

The targets are the proposals' commit or stretch values (``okr propose``), or values set by
hand. Each is written to the store (``kpi_targets``, with who, when, from where and why) and to
``[kpi.<id>.targets]`` of the catalog file that defines the KPI
(:mod:`~intelligentos.services.okr.catalog_files`), so that the catalog stays the source of
truth and a later ``sync-catalog`` changes nothing.

:func:`plan_accept` checks everything and computes the new file texts, writing nothing (what
``--dry-run`` shows, and what the cockpit asks to confirm); :func:`apply_accept` writes a plan:
the new texts beside their files, then in one store transaction the targets, a check that no
file changed on disk since it was read, and the files moved into place. A failure after a
file was moved puts its old text back and rolls the transaction back.
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from pathlib import Path

from intelligentos.domain.catalog.models import Catalog
from intelligentos.domain.okr.cascade import CascadeLink, quarter_cascade
from intelligentos.domain.okr.propose import COMMIT, STRETCH
from intelligentos.domain.okr.targets import QuarterTarget, TargetChange, TargetSource
from intelligentos.domain.quarters import Quarter
from intelligentos.services.catalog import (
    CatalogError,
    SyncError,
    load_catalog,
    recorded_catalog_dir,
)
from intelligentos.services.okr.catalog_files import (
    CatalogFileError,
    FileEdit,
    StagedFiles,
    catalog_with,
    check_writable,
    read_catalog_file,
    with_targets,
)
from intelligentos.services.okr.propose import (
    OkrError,
    Proposals,
    ProposeRequest,
    check_quarter_ahead,
    propose_targets,
)
from intelligentos.store import Store

# A proposed target is written with this many significant digits: a catalog reads "31.284",
# not "31.28374829183"; the probability of hitting it moves by far less than the forecast
# knows.
PROPOSAL_DIGITS = 5


class AcceptChoice(StrEnum):
    COMMIT = "commit"  # each proposal's commit target
    STRETCH = "stretch"  # each proposal's stretch target
    VALUES = "values"  # the values given by hand


@dataclass(frozen=True)
class AcceptRequest:
    quarter: Quarter
    choice: AcceptChoice
    note: str  # why: required, not blank
    who: str  # the acting user (config.settings.acting_user)
    at: str  # when, a UTC stamp (domain.clock.stamp)
    as_of: date  # today: a quarter that has ended is refused
    values: Mapping[str, float] = field(default_factory=dict)  # VALUES: KPI id -> target
    kpi_ids: tuple[str, ...] = ()  # COMMIT/STRETCH: only these KPIs (none: every proposal)
    catalog_dir: Path | None = None  # none: the catalog the store records
    dry_run: bool = False
    commit: float = COMMIT  # the probabilities of the proposals' commit and stretch
    stretch: float = STRETCH


@dataclass(frozen=True)
class AcceptedTarget:
    """One KPI's target for the quarter: ``before`` the store's own target for the quarter
    (None: it had none), ``after`` the accepted one, written in ``file``."""

    kpi_id: str
    quarter: Quarter
    before: float | None
    after: float
    source: TargetSource
    file: str  # the catalog file defining the KPI, relative to the catalog

    @property
    def changed(self) -> bool:
        return self.before != self.after


@dataclass(frozen=True)
class Skipped:
    """A KPI the choice gave no number for, and why."""

    kpi_id: str
    reason: str


@dataclass(frozen=True)
class AcceptPlan:
    """Everything :func:`apply_accept` will write, checked; nothing written yet."""

    request: AcceptRequest
    directory: Path  # the catalog directory edited
    targets: list[AcceptedTarget]  # in catalog order
    skipped: list[Skipped]
    files: list[FileEdit]  # the files whose text changes (none when they hold the values)
    cascade: list[CascadeLink]  # the quarter's cascade with the targets accepted
    warnings: list[str]  # an inconsistent link the accepted targets touch, naming the gap
    # The built-in catalog is never edited: it is copied here (beside the store), the copy
    # takes the targets, and the store follows the copy from then on.
    adopt: Path | None = None

    @property
    def catalog_dir(self) -> Path:
        """The catalog the targets are written in."""
        return self.adopt or self.directory


@dataclass(frozen=True)
class Accepted:
    """What accepting did (``written`` False for a dry run: nothing was)."""

    plan: AcceptPlan
    written: bool
    changes: list[TargetChange]  # the store's changes, as logged (none for a dry run)

    @property
    def quarter(self) -> Quarter:
        return self.plan.request.quarter

    @property
    def targets(self) -> list[AcceptedTarget]:
        return self.plan.targets

    @property
    def skipped(self) -> list[Skipped]:
        return self.plan.skipped

    @property
    def files(self) -> list[FileEdit]:
        return self.plan.files

    @property
    def cascade(self) -> list[CascadeLink]:
        return self.plan.cascade

    @property
    def warnings(self) -> list[str]:
        return self.plan.warnings


def parse_assignment(text: str) -> tuple[str, float]:
    """``win_rate=30`` as ``("win_rate", 30.0)``; :class:`OkrError` for anything else (no
    ``=``, no id, a value that is not a finite number)."""
    kpi_id, equals, value = text.partition("=")
    kpi_id, value = kpi_id.strip(), value.strip()
    if not equals or not kpi_id:
        raise OkrError(f"{text!r} is not ID=VALUE (e.g. win_rate=30).")
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise OkrError(f"{kpi_id}'s target must be a finite number, not {value!r}.")
    return kpi_id, number


def check_accept_note(note: str) -> str:
    """The note, if it has something to read; :class:`OkrError` for a blank one: a target
    changed without a reason tells the next person nothing."""
    if not any(ch.isprintable() and not ch.isspace() for ch in note):
        raise OkrError("a note is required to accept targets: say why (--note TEXT).")
    return note


def accept_targets(
    store: Store, request: AcceptRequest, *, proposals: Proposals | None = None
) -> Accepted:
    """Plan, then (unless ``request.dry_run``) write: :func:`plan_accept` and
    :func:`apply_accept`. Raises :class:`OkrError` (one sentence, nothing written) or
    :class:`~intelligentos.store.StoreError`."""
    plan = plan_accept(store, request, proposals=proposals)
    if request.dry_run:
        return Accepted(plan, written=False, changes=[])
    return apply_accept(store, plan)


def plan_accept(
    store: Store, request: AcceptRequest, *, proposals: Proposals | None = None
) -> AcceptPlan:
    """Check the request and compute every target and file text; write nothing.
    ``proposals``: those the user saw (the cockpit), else computed now. Raises
    :class:`OkrError`."""
    check_accept_note(request.note)
    check_quarter_ahead(request.quarter, request.as_of)
    if store.readonly:
        raise OkrError(f"{store.path} is read-only; nothing was written.")
    catalog = store.read_catalog()
    values, source, skipped = _chosen_values(store, request, catalog, proposals)
    try:
        directory = request.catalog_dir or recorded_catalog_dir(store)
        adopt = _adoption(store, directory)
        files_catalog = load_catalog(directory)
    except SyncError as error:
        raise OkrError(str(error)) from error
    except CatalogError as error:
        raise OkrError(
            f"the catalog at {directory} does not pass its checks ({error}); fix it "
            "(`intelligentos-tui validate`) before accepting targets; nothing was written."
        ) from error
    missing = [k for k in values if k not in files_catalog.kpis]
    if missing:
        raise OkrError(
            f"{missing[0]} is not in the catalog at {directory}; sync the store's catalog "
            "first, or give the catalog with --catalog DIR."
        )
    quarter = str(request.quarter)
    held = {t.kpi_id: t.value for t in store.quarter_targets(values) if str(t.quarter) == quarter}
    by_file: dict[str, dict[str, float]] = {}
    for kpi_id, value in values.items():
        by_file.setdefault(files_catalog.kpis[kpi_id].source, {})[kpi_id] = value
    edits = []
    try:
        for relative, targets in by_file.items():
            path, text, read_as = read_catalog_file(directory, relative)
            new = with_targets(text, quarter, targets)
            if new != text:
                if adopt is None:
                    check_writable(path, relative)
                edits.append(FileEdit(path, relative, text, new, read_as))
    except CatalogFileError as error:
        raise OkrError(str(error)) from error
    if edits:
        _check_edited(directory, edits)
    accepted = [
        AcceptedTarget(
            kpi_id,
            request.quarter,
            held.get(kpi_id),
            value,
            source,
            files_catalog.kpis[kpi_id].source,
        )
        for kpi_id, value in values.items()
    ]
    links, warnings = _cascade_after(catalog, request.quarter, values)
    return AcceptPlan(request, directory, accepted, skipped, edits, links, warnings, adopt)


def _check_edited(directory: Path, edits: list[FileEdit]) -> None:
    """:class:`OkrError` unless the catalog, with the edited texts, passes its checks."""
    try:
        with catalog_with(directory, edits) as edited:
            load_catalog(edited)
    except CatalogError as error:
        raise OkrError(
            f"the catalog would not pass its checks with these targets ({error}); "
            "nothing was written."
        ) from error
    except OSError as error:
        raise OkrError(
            f"the edited catalog could not be checked ({error}); nothing was written."
        ) from error


def _adoption(store: Store, directory: Path) -> Path | None:
    """Where the built-in catalog is copied to take targets: it is part of the program
    (shared by every store made without --catalog, the demo's) and never edited. None for a
    catalog of the user's own. :class:`OkrError` when the copy's place is taken."""
    from intelligentos.config.paths import builtin_catalog_dir

    if directory.resolve() != builtin_catalog_dir().resolve():
        return None
    destination = store.path.resolve().with_name(f"{store.path.stem}-catalog")
    if destination.exists():
        raise OkrError(
            f"{store.path} follows the built-in catalog, which is not edited, and its copy "
            f"would go to {destination}, which exists: sync the store from it "
            f"(`intelligentos-tui sync-catalog --catalog {destination}`) or move it away; "
            "nothing was written."
        )
    if not os.access(destination.parent, os.W_OK):
        raise OkrError(
            f"the built-in catalog is not edited, and {destination.parent} is read-only, so "
            "it cannot be copied there; nothing was written."
        )
    return destination


def _apply_adopting(store: Store, plan: AcceptPlan, targets: list[QuarterTarget]) -> Accepted:
    """The built-in catalog copied beside the store with the new texts, the store's targets
    and its catalog (the copy) in one transaction; the copy moved into place before it
    commits, and removed again if it does not."""
    assert plan.adopt is not None
    destination = plan.adopt
    scratch = destination.with_name(f".{destination.name}.{os.getpid()}.tmp")
    moved = False
    try:
        shutil.copytree(plan.directory, scratch)
        for edit in plan.files:
            with (scratch / edit.relative).open("w", encoding="utf-8", newline="") as handle:
                handle.write(edit.after)
        with store.transaction():
            changes = store.set_quarter_targets(targets)
            store.set_meta("catalog", str(destination))
            os.rename(scratch, destination)
            moved = True
    except OSError as error:
        if moved:
            shutil.rmtree(destination, ignore_errors=True)
        raise OkrError(
            f"the built-in catalog could not be copied to {destination} ({error}); nothing "
            "was written."
        ) from error
    except BaseException:
        if moved:
            shutil.rmtree(destination, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return Accepted(plan, written=True, changes=changes)


def _chosen_values(
    store: Store, request: AcceptRequest, catalog: Catalog, proposals: Proposals | None
) -> tuple[dict[str, float], TargetSource, list[Skipped]]:
    """The target of each KPI the request chooses, in catalog order; where they come from;
    the KPIs skipped (no number proposed, or the proposal is the target already in force)."""
    if request.choice is AcceptChoice.VALUES:
        if request.kpi_ids:
            raise OkrError("give targets by hand (ID=VALUE) or choose --commit or --stretch.")
        if not request.values:
            raise OkrError("no targets given: choose --commit, --stretch or --kpi ID=VALUE.")
        for kpi_id, value in request.values.items():
            kpi = catalog.kpis.get(kpi_id)
            if kpi is None:
                raise OkrError(f"unknown KPI {kpi_id!r}; `intelligentos-tui kpis` lists them.")
            if kpi.tracked:
                raise OkrError(f"{kpi_id} is tracked, not judged: it takes no target.")
            if not math.isfinite(value):
                raise OkrError(f"{kpi_id}'s target must be a finite number, not {value!r}.")
        order = list(catalog.kpis)
        given = {k: float(request.values[k]) for k in sorted(request.values, key=order.index)}
        return given, TargetSource.HAND, []
    if request.values:
        raise OkrError("choose --commit, --stretch or targets by hand (--kpi ID=VALUE), not both.")
    if proposals is None or proposals.quarter != request.quarter:
        proposals = propose_targets(
            store,
            ProposeRequest(
                request.quarter, request.as_of, request.kpi_ids, request.commit, request.stretch
            ),
            catalog,
        )
    wanted = set(request.kpi_ids)
    unknown = sorted(wanted - set(catalog.kpis))
    if unknown:
        raise OkrError(f"unknown KPI {unknown[0]!r}; `intelligentos-tui kpis` lists them.")
    chosen: dict[str, float] = {}
    skipped: list[Skipped] = []
    for proposal in proposals.proposals:
        if wanted and proposal.kpi.id not in wanted:
            continue
        proposed = proposal.commit if request.choice is AcceptChoice.COMMIT else proposal.stretch
        if proposed is None:
            skipped.append(Skipped(proposal.kpi.id, proposal.reason or "no number proposed"))
            continue
        value = float(f"{proposed:.{PROPOSAL_DIGITS}g}")
        if value == proposal.current_target:
            skipped.append(Skipped(proposal.kpi.id, f"keeps the target in force ({value:g})"))
            continue
        chosen[proposal.kpi.id] = value
    if not chosen:
        raise OkrError(
            f"no KPI has a {request.choice.value} target proposed for {request.quarter} "
            "(a reliable forecast reaching its end is needed: `intelligentos-tui forecast`); "
            "nothing was written."
        )
    return chosen, TargetSource.PROPOSAL, skipped


def _cascade_after(
    catalog: Catalog, quarter: Quarter, values: Mapping[str, float]
) -> tuple[list[CascadeLink], list[str]]:
    """The quarter's cascade with ``values`` accepted, and a warning for each inconsistent
    link whose parent or one of whose children is among them."""
    kpis = {
        kpi_id: replace(kpi, targets={**kpi.targets, str(quarter): values[kpi_id]})
        if kpi_id in values
        else kpi
        for kpi_id, kpi in catalog.kpis.items()
    }
    after = replace(catalog, kpis=kpis)
    links = quarter_cascade(after, quarter)
    children: dict[str, set[str]] = {}
    for kpi in after.kpis.values():
        if kpi.rolls_up_to is not None:
            children.setdefault(kpi.rolls_up_to, set()).add(kpi.id)
    warnings = [
        cascade_warning(link, after)
        for link in links
        if not link.consistent
        and (link.parent_id in values or children.get(link.parent_id, set()) & values.keys())
    ]
    return links, warnings


def cascade_warning(link: CascadeLink, catalog: Catalog) -> str:
    """One sentence naming an inconsistent link's gap: ``Warning: revenue_growth's target
    40.0% asks more than its children's targets imply (35.8%), a gap of 4.2 pt.``"""
    from intelligentos.domain.formatting import format_value
    from intelligentos.domain.units import Unit

    parent = catalog.kpis[link.parent_id]
    target = format_value(link.parent_target, parent.unit)
    if link.implied_target is None:
        return (
            f"Warning: {link.parent_id}'s target {target} cannot be checked against its "
            f"children's targets: {link.reason}."
        )
    difference = abs(link.parent_target - link.implied_target)
    gap = (
        f"{difference:.1f} pt"
        if Unit(parent.unit) in (Unit.PERCENT, Unit.SCORE)
        else format_value(difference, parent.unit)
    )
    asks = "more" if (link.gap_p or 0) > 0 else "less"
    return (
        f"Warning: {link.parent_id}'s target {target} asks {asks} than its children's "
        f"targets imply ({format_value(link.implied_target, parent.unit)}), a gap of {gap}."
    )


def apply_accept(store: Store, plan: AcceptPlan) -> Accepted:
    """Write ``plan``: the store's targets and the catalog files, both or neither. Raises
    :class:`OkrError` (a file changed on disk since it was read, or cannot be written:
    nothing written) or :class:`~intelligentos.store.StoreError` (rolled back, the files put
    back)."""
    request = plan.request
    if store.readonly:
        raise OkrError(f"{store.path} is read-only; nothing was written.")
    targets = [
        QuarterTarget(t.kpi_id, t.quarter, t.after, t.source, request.who, request.at, request.note)
        for t in plan.targets
    ]
    if plan.adopt is not None:
        return _apply_adopting(store, plan, targets)
    try:
        with StagedFiles(plan.files) as staged:
            try:
                with store.transaction():
                    changes = store.set_quarter_targets(targets)
                    staged.check_unchanged()
                    staged.replace()
            except BaseException:
                staged.restore()
                raise
    except CatalogFileError as error:
        raise OkrError(str(error)) from error
    return Accepted(plan, written=True, changes=changes)
