"""Accepting a quarter's targets: into the store and the catalog's TOML files (their comments,
order and layout kept), both or neither; every refusal writes nothing."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from intelligentos.config.paths import builtin_catalog_dir
from intelligentos.domain.forecast.results import Forecast, ForecastPoint
from intelligentos.domain.okr.targets import TargetSource
from intelligentos.domain.quarters import Quarter
from intelligentos.services.bootstrap import init_store
from intelligentos.services.catalog import sync_store_catalog
from intelligentos.services.okr.accept import (
    AcceptChoice,
    AcceptRequest,
    accept_targets,
    apply_accept,
    parse_assignment,
    plan_accept,
)
from intelligentos.services.okr.propose import OkrError
from intelligentos.store import Store, StoreError

from .conftest import MINI_CATALOG, write_catalog
from .stores import store_content

TODAY = date(2026, 12, 7)
Q1 = Quarter(2027, 1)
AT = "2026-12-07T10:00:00Z"


def hand(values: dict[str, float], **changes) -> AcceptRequest:
    request = AcceptRequest(
        quarter=Q1,
        choice=AcceptChoice.VALUES,
        note="board plan",
        who="alice",
        at=AT,
        as_of=TODAY,
        values=values,
    )
    return replace(request, **changes)


@pytest.fixture
def mini(tmp_path: Path) -> tuple[Path, Path]:
    """A store made from the mini catalog (no history), and that catalog's directory."""
    catalog = write_catalog(tmp_path / "catalog", MINI_CATALOG)
    db = tmp_path / "mini.db"
    init_store(db, catalog, demo=False)
    return db, catalog


@pytest.fixture
def builtin(tmp_path: Path) -> tuple[Path, Path]:
    """A store made from a copy of the built-in catalog (no history), and that copy."""
    catalog = tmp_path / "catalog"
    shutil.copytree(builtin_catalog_dir(), catalog)
    db = tmp_path / "builtin.db"
    init_store(db, catalog, demo=False)
    return db, catalog


def texts(catalog: Path) -> dict[str, str]:
    return {p.relative_to(catalog).as_posix(): p.read_text() for p in catalog.rglob("*.toml")}


# --- the TOML files keep everything but the new targets --------------------------------------


def test_accept_round_trips_a_catalog_file_changing_only_its_targets(builtin):
    db, catalog = builtin
    sales = catalog / "kpis" / "sales.toml"
    before = sales.read_text().splitlines()
    others = {k: v for k, v in texts(catalog).items() if k != "kpis/sales.toml"}
    with Store.open(db) as store:
        accepted = accept_targets(store, hand({"win_rate": 30.0}))
    after = sales.read_text().splitlines()
    # Win Rate's block ends with its lineage entry and the blank line before Forecast
    # Accuracy: the new table comes there, the blank line kept before the next KPI.
    at = before.index("[kpi.forecast_accuracy]")
    assert after == [*before[:at], "[kpi.win_rate.targets]", '"2027Q1" = 30.0', "", *before[at:]]
    assert before[0].startswith("# Sales KPIs")  # the comments are still there, unchanged
    assert {k: v for k, v in texts(catalog).items() if k != "kpis/sales.toml"} == others
    assert [(t.kpi_id, t.before, t.after, t.file) for t in accepted.targets] == [
        ("win_rate", None, 30.0, "kpis/sales.toml")
    ]
    assert accepted.written


def test_a_second_accept_updates_the_key_where_it_stands(builtin):
    db, catalog = builtin
    sales = catalog / "kpis" / "sales.toml"
    with Store.open(db) as store:
        accept_targets(store, hand({"win_rate": 30.0}))
        first = sales.read_text().splitlines()
        accepted = accept_targets(store, hand({"win_rate": 31.5}, note="raised"))
        second = sales.read_text().splitlines()
        changes = store.target_changes(["win_rate"])
    assert len(first) == len(second)
    differing = [(a, b) for a, b in zip(first, second, strict=True) if a != b]
    assert differing == [('"2027Q1" = 30.0', '"2027Q1" = 31.5')]
    assert [(t.before, t.after) for t in accepted.targets] == [(30.0, 31.5)]
    assert [(c.before, c.after, c.note) for c in changes] == [
        (None, 30.0, "board plan"),
        (30.0, 31.5, "raised"),
    ]


def test_the_store_records_who_when_from_where_and_why(mini):
    db, _ = mini
    with Store.open(db) as store:
        accept_targets(store, hand({"win_rate": 30.0}))
        [target] = store.quarter_targets(["win_rate"])
        catalog = store.read_catalog()
    assert (target.quarter, target.value, target.source) == (Q1, 30.0, TargetSource.HAND)
    assert (target.who, target.at, target.note) == ("alice", AT, "board plan")
    assert catalog.kpis["win_rate"].targets == {"2027Q1": 30.0}


def test_sync_catalog_afterwards_changes_nothing_and_keeps_who_set_it(builtin):
    db, _ = builtin
    with Store.open(db) as store:
        accept_targets(store, hand({"win_rate": 30.0, "churn_rate": 4.5}))
        kept = store.quarter_targets()
        synced = sync_store_catalog(store, None, datetime(2026, 12, 8, tzinfo=UTC), who="carol")
        assert synced.report.changes == []
        assert store.quarter_targets() == kept
    assert {(t.kpi_id, t.source, t.who, t.note) for t in kept} == {
        ("win_rate", TargetSource.HAND, "alice", "board plan"),
        ("churn_rate", TargetSource.HAND, "alice", "board plan"),
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # An inline table gains the key inside its braces.
        (
            '[kpi.a]\ntarget = 1.0\ntargets = { "2026Q4" = 2.0 }\n',
            # (tomlkit writes no space before the closing brace of an inline table it grew)
            '[kpi.a]\ntarget = 1.0\ntargets = { "2026Q4" = 2.0, "2027Q1" = 3.0}\n',
        ),
        # Dotted keys gain a dotted key.
        (
            '[kpi.a]\ntarget = 1.0\ntargets."2026Q4" = 2.0 # kept\n',
            '[kpi.a]\ntarget = 1.0\ntargets."2026Q4" = 2.0 # kept\ntargets."2027Q1" = 3.0\n',
        ),
        # A bare key already there keeps its spelling and its comment.
        (
            "[kpi.a.targets]\n2027Q1 = 2   # why\n",
            "[kpi.a.targets]\n2027Q1 = 3.0   # why\n",
        ),
        # After a sub-table of the KPI, before the next table of the file.
        (
            '[kpi.a]\ntarget = 1.0\n\n[kpi.a.detection]\nrule = "x"\n\n[engine.e]\nname = "E"\n',
            '[kpi.a]\ntarget = 1.0\n\n[kpi.a.detection]\nrule = "x"\n\n'
            '[kpi.a.targets]\n"2027Q1" = 3.0\n\n[engine.e]\nname = "E"\n',
        ),
        # The last KPI of the file: no blank line left at the end.
        (
            '# head\n[kpi.a]\ntarget = 1.0\n[[kpi.a.lineage]]\nmetric = "m"\n# tail\n',
            '# head\n[kpi.a]\ntarget = 1.0\n[[kpi.a.lineage]]\nmetric = "m"\n# tail\n\n'
            '[kpi.a.targets]\n"2027Q1" = 3.0\n',
        ),
    ],
)
def test_a_target_goes_where_the_kpis_layout_puts_it(text, expected):
    from intelligentos.services.okr.catalog_files import with_targets

    assert with_targets(text, "2027Q1", {"a": 3.0}) == expected


def test_a_value_the_file_already_holds_leaves_it_as_written():
    from intelligentos.services.okr.catalog_files import with_targets

    text = '[kpi.a.targets]\n"2027Q1" = 3   # an integer, kept\n'
    assert with_targets(text, "2027Q1", {"a": 3.0}) == text


# --- proposals -------------------------------------------------------------------------------


def win_rate_forecast() -> Forecast:
    """Win Rate (weekly, higher is better) at 2027Q1's end: mean 30, 80 % interval 27.5 to
    32.5 (the week of 29 March 2027 holds 31 March)."""
    point = ForecastPoint("2027-03-29", 30.0, 27.5, 32.5, 26.0, 34.0)
    return Forecast("win_rate", "ets", True, 17, None, None, (point,), None, "hand-made")


def test_commit_and_stretch_accept_the_proposals_rounded(mini):
    db, catalog = mini
    with Store.open(db) as store:
        store.save_forecasts([win_rate_forecast()], AT)
        commit = accept_targets(store, hand({}, choice=AcceptChoice.COMMIT, dry_run=True))
        stretch = accept_targets(store, hand({}, choice=AcceptChoice.STRETCH))
    # Commit (P = 0.9) of a higher-is-better KPI is its 10 % quantile: the interval's low end.
    assert [(t.kpi_id, t.after, t.source) for t in commit.targets] == [
        ("win_rate", 27.5, TargetSource.PROPOSAL)
    ]
    # Stretch (P = 0.35) is the 65 % quantile: σ_hi = (32.5 − 30) / 1.281552 = 1.950740,
    # Φ⁻¹(0.65) = 0.385320, 30 + 0.385320 × 1.950740 = 30.75166, to 5 digits 30.752.
    assert [(t.kpi_id, t.after) for t in stretch.targets] == [("win_rate", 30.752)]
    # Revenue Growth has no forecast: skipped, with the reason.
    assert [(s.kpi_id, s.reason) for s in stretch.skipped] == [
        ("revenue_growth", "no stored forecast: run `intelligentos-tui forecast`")
    ]
    assert '"2027Q1" = 30.752' in (catalog / "kpis.toml").read_text()


def test_a_choice_with_no_number_proposed_is_refused(mini):
    db, catalog = mini
    before = store_content(db), texts(catalog)
    with Store.open(db) as store, pytest.raises(OkrError, match="no KPI has a commit target"):
        accept_targets(store, hand({}, choice=AcceptChoice.COMMIT))
    assert (store_content(db), texts(catalog)) == before


# --- the cascade -----------------------------------------------------------------------------


def test_a_target_that_makes_the_cascade_inconsistent_is_accepted_with_a_warning(mini):
    db, _ = mini
    with Store.open(db) as store:
        accepted = accept_targets(store, hand({"win_rate": 30.0}))
        consistent = accept_targets(store, hand({"revenue_growth": 33.0}))
    # Win Rate (weight 0.5, default 25) at 30 is 30 / 25 = 1.2 of its target: Revenue Growth
    # (target 30) moves by 0.5 × 0.2 = 10 %, to 33. Its own 30 asks 3 points less.
    [link] = accepted.cascade
    assert (link.parent_id, link.implied_target) == ("revenue_growth", pytest.approx(33.0))
    assert accepted.warnings == [
        "Warning: revenue_growth's target 30.0% asks less than its children's targets imply "
        "(33.0%), a gap of 3.0 pt."
    ]
    assert accepted.written
    # Raising the parent to 33 closes the gap.
    assert consistent.warnings == []
    assert consistent.cascade[0].consistent


# --- refusals: one sentence, nothing written ------------------------------------------------


def refused(db: Path, catalog: Path, request: AcceptRequest, match: str, **open_with) -> None:
    before = store_content(db), texts(catalog)
    with Store.open(db, **open_with) as store, pytest.raises(OkrError, match=match):
        accept_targets(store, request)
    assert (store_content(db), texts(catalog)) == before


@pytest.mark.parametrize(
    ("request_", "match"),
    [
        (hand({"win_rate": 30.0}, note="  \t"), "a note is required"),
        (hand({"win_rate": 30.0}, quarter=Quarter(2026, 3)), "2026Q3 ended on 2026-09-30"),
        (hand({}), "no targets given"),
        (hand({"win_rate": 30.0}, kpi_ids=("win_rate",)), "by hand .* or choose"),
        (hand({"win_rate": 30.0}, choice=AcceptChoice.COMMIT), "not both"),
        (hand({"nope": 1.0}), "unknown KPI 'nope'"),
        (hand({"win_rate": float("nan")}), "finite number"),
        (hand({"win_rate": float("inf")}), "finite number"),
    ],
)
def test_bad_input_is_refused_in_one_sentence(mini, request_, match):
    db, catalog = mini
    refused(db, catalog, request_, match)


def test_a_tracked_kpi_takes_no_target(tmp_path):
    files = dict(MINI_CATALOG)
    files["kpis.toml"] = files["kpis.toml"].replace("target = 25.0\n", "")
    catalog = write_catalog(tmp_path / "catalog", files)
    init_store(tmp_path / "t.db", catalog, demo=False)
    refused(tmp_path / "t.db", catalog, hand({"win_rate": 30.0}), "win_rate is tracked")


def test_a_read_only_store_is_refused(mini):
    db, catalog = mini
    refused(db, catalog, hand({"win_rate": 30.0}), "read-only", readonly=True)


def test_a_read_only_catalog_file_is_refused(mini):
    db, catalog = mini
    (catalog / "kpis.toml").chmod(0o444)
    try:
        refused(db, catalog, hand({"win_rate": 30.0}), r"^kpis.toml is read-only")
    finally:
        (catalog / "kpis.toml").chmod(0o644)


def test_a_read_only_catalog_directory_is_refused(mini):
    db, catalog = mini
    catalog.chmod(0o555)
    try:
        refused(db, catalog, hand({"win_rate": 30.0}), "the directory of kpis.toml is read-only")
        assert sorted(p.name for p in catalog.iterdir()) == ["kpis.toml", "org.toml"]
    finally:
        catalog.chmod(0o755)


def test_a_catalog_that_does_not_pass_its_checks_is_refused(mini, tmp_path):
    db, _ = mini
    broken = write_catalog(tmp_path / "broken", {"org.toml": MINI_CATALOG["org.toml"]})
    refused(db, broken, hand({"win_rate": 30.0}, catalog_dir=broken), "does not pass its checks")


def test_a_catalog_that_does_not_define_the_kpi_is_refused(tmp_path):
    """The store knows a KPI the catalog given does not define: it has nowhere to write."""
    extra = MINI_CATALOG["kpis.toml"].split("[kpi.win_rate]")[1]
    extra = "[kpi.win_rate_copy]" + extra.replace("kpi.win_rate.", "kpi.win_rate_copy.")
    both = write_catalog(tmp_path / "both", {**MINI_CATALOG, "extra.toml": extra})
    init_store(tmp_path / "both.db", both, demo=False)
    mini = write_catalog(tmp_path / "mini", MINI_CATALOG)
    request = hand({"win_rate_copy": 30.0}, catalog_dir=mini)
    refused(tmp_path / "both.db", mini, request, "win_rate_copy is not in the catalog at")


def test_a_file_changed_on_disk_since_it_was_read_is_refused(mini):
    """Between the plan (what the cockpit shows for confirmation, or --dry-run prints) and
    writing it, someone edits the file: writing refuses, and neither their edit nor the
    store is overwritten."""
    db, catalog = mini
    kpis = catalog / "kpis.toml"
    with Store.open(db) as store:
        plan = plan_accept(store, hand({"win_rate": 30.0}))
        edited = kpis.read_text().replace("target = 25.0", "target = 26.0")
        kpis.write_text(edited)
        before = store_content(db)
        with pytest.raises(OkrError) as caught:
            apply_accept(store, plan)
    assert str(caught.value) == "kpis.toml changed on disk since it was read; nothing was written."
    assert store_content(db) == before
    assert kpis.read_text() == edited
    assert sorted(p.name for p in catalog.iterdir()) == ["kpis.toml", "org.toml"]


def test_a_file_that_cannot_be_replaced_puts_back_the_others_and_rolls_back(builtin, monkeypatch):
    db, catalog = builtin
    before = store_content(db), texts(catalog)
    real_replace = os.replace
    refused_once = []

    def failing_replace(source, destination):
        # The second file accepted (sales.toml, after accounts.toml) cannot be replaced.
        if Path(destination).name == "sales.toml" and not refused_once:
            refused_once.append(destination)
            raise PermissionError(13, "Permission denied")
        return real_replace(source, destination)

    monkeypatch.setattr(os, "replace", failing_replace)
    cannot = r"^kpis/sales\.toml cannot be replaced"
    with Store.open(db) as store, pytest.raises(OkrError, match=cannot):
        accept_targets(store, hand({"win_rate": 30.0, "churn_rate": 4.5}))
    assert refused_once
    assert (store_content(db), texts(catalog)) == before
    assert not [p for p in catalog.rglob("*") if p.name.endswith(".tmp")]


def test_a_dry_run_writes_nothing_and_shows_the_diff(mini):
    db, catalog = mini
    before = store_content(db), texts(catalog)
    with Store.open(db) as store:
        accepted = accept_targets(store, hand({"win_rate": 30.0}, dry_run=True))
    assert (store_content(db), texts(catalog)) == before
    assert not accepted.written and accepted.changes == []
    [edit] = accepted.files
    assert edit.diff.splitlines()[:2] == ["--- a/kpis.toml", "+++ b/kpis.toml"]
    added = [x for x in edit.diff.splitlines() if x.startswith("+") and not x.startswith("+++")]
    assert added == ["+", "+[kpi.win_rate.targets]", '+"2027Q1" = 30.0']


@pytest.mark.parametrize(
    ("text", "expected"),
    [("win_rate=30", ("win_rate", 30.0)), (" churn_rate = 4.5 ", ("churn_rate", 4.5))],
)
def test_an_assignment_reads_id_and_value(text, expected):
    assert parse_assignment(text) == expected


@pytest.mark.parametrize(
    ("text", "match"),
    [("win_rate", "is not ID=VALUE"), ("=3", "is not ID=VALUE"), ("win_rate=abc", "finite")],
)
def test_a_bad_assignment_is_one_sentence(text, match):
    with pytest.raises(OkrError, match=match):
        parse_assignment(text)


def test_a_store_error_leaves_the_files_as_they_were(mini, monkeypatch):
    """The store refusing the targets (a failure inside the transaction) writes no file."""
    db, catalog = mini
    before = texts(catalog)
    with Store.open(db) as store:
        plan = plan_accept(store, hand({"win_rate": 30.0}))

        def refuse(targets):
            raise StoreError("the disk is full")

        monkeypatch.setattr(store, "set_quarter_targets", refuse)
        with pytest.raises(StoreError, match="disk is full"):
            apply_accept(store, plan)
    assert texts(catalog) == before


def test_a_read_only_file_that_already_holds_the_target_needs_no_writing(mini):
    db, catalog = mini
    kpis = catalog / "kpis.toml"
    with Store.open(db) as store:
        accept_targets(store, hand({"win_rate": 30.0}))
        text = kpis.read_text()
        kpis.chmod(0o444)
        try:
            again = accept_targets(store, hand({"win_rate": 30.0}, note="again"))
        finally:
            kpis.chmod(0o644)
        [target] = store.quarter_targets(["win_rate"])
    assert again.files == [] and again.changes == []
    assert [(t.before, t.after, t.changed) for t in again.targets] == [(30.0, 30.0, False)]
    assert kpis.read_text() == text
    assert target.note == "board plan"  # an equal value changes nothing, its note included


def test_a_linked_catalog_file_is_written_through_its_link(mini, tmp_path):
    db, catalog = mini
    kept = tmp_path / "kept" / "kpis.toml"
    kept.parent.mkdir()
    (catalog / "kpis.toml").rename(kept)
    (catalog / "kpis.toml").symlink_to(kept)
    with Store.open(db) as store:
        accept_targets(store, hand({"win_rate": 30.0}))
    assert (catalog / "kpis.toml").is_symlink()
    assert '"2027Q1" = 30.0' in kept.read_text()


def test_every_kpi_of_the_built_in_catalog_only_gains_lines(builtin):
    """Every layout the built-in catalog uses (sub-tables, multi-line arrays, comments, the
    last KPI of a file) takes a new targets table by inserting lines, and nothing else."""
    import difflib
    import re

    db, catalog = builtin
    before = texts(catalog)
    with Store.open(db) as store:
        kpis = store.read_catalog().kpis.values()
        values = {k.id: k.target + 1 for k in kpis if k.target is not None}
        accepted = accept_targets(store, hand(values))
        synced = sync_store_catalog(store, None, datetime(2026, 12, 8, tzinfo=UTC))
    assert len(accepted.changes) == len(values) > 60
    assert synced.report.changes == []
    added = re.compile(r'^(|\[kpi\.\w+\.targets\]|"2027Q1" = [-\d.e+]+)$')
    for name, after in texts(catalog).items():
        old, new = before[name].splitlines(), after.splitlines()
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new).get_opcodes():
            assert tag in ("equal", "insert"), (name, old[i1:i2], new[j1:j2])
            assert all(added.match(text) for text in new[j1:j2] if tag == "insert"), new[j1:j2]


def test_the_built_in_catalog_is_copied_beside_the_store_and_never_edited(tmp_path):
    """A store made without --catalog (the demo's) follows the built-in catalog, part of the
    program: accepting copies it beside the store, writes the targets in the copy, and the
    store follows the copy from then on."""
    db = tmp_path / "demo.db"
    init_store(db, demo=False)
    shipped = builtin_catalog_dir()
    before = texts(shipped)
    with Store.open(db) as store:
        accepted = accept_targets(store, hand({"win_rate": 30.0}))
        copy = tmp_path / "demo-catalog"
        assert accepted.plan.adopt == copy.resolve()
        assert store.meta()["catalog"] == str(copy.resolve())
        synced = sync_store_catalog(store, None, datetime(2026, 12, 7, tzinfo=UTC))
    assert texts(shipped) == before
    assert synced.report.changes == []  # the copy holds what the store holds
    sales = (copy / "kpis" / "sales.toml").read_text(encoding="utf-8")
    assert '[kpi.win_rate.targets]\n"2027Q1" = 30.0' in sales
    assert (
        sales.replace('\n[kpi.win_rate.targets]\n"2027Q1" = 30.0\n', "")
        == before["kpis/sales.toml"]
    )
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_the_built_in_catalogs_copy_does_not_overwrite_a_directory(tmp_path):
    db = tmp_path / "demo.db"
    init_store(db, demo=False)
    (tmp_path / "demo-catalog").mkdir()
    refused(db, builtin_catalog_dir(), hand({"win_rate": 30.0}), "which exists")


def test_a_dry_run_on_the_built_in_catalog_copies_nothing(tmp_path):
    db = tmp_path / "demo.db"
    init_store(db, demo=False)
    with Store.open(db) as store:
        accepted = accept_targets(store, hand({"win_rate": 30.0}, dry_run=True))
    assert accepted.plan.adopt == (tmp_path / "demo-catalog").resolve()
    assert not (tmp_path / "demo-catalog").exists()


def test_targets_the_catalog_files_would_refuse_are_refused(mini):
    """The file no longer gives Win Rate a target (an edit not synced yet): a quarterly
    target there would break the catalog's rules, so nothing is written."""
    db, catalog = mini
    kpis = catalog / "kpis.toml"
    kpis.write_text(kpis.read_text().replace("target = 25.0\n", ""))
    refused(db, catalog, hand({"win_rate": 30.0}), "would not pass its checks")
