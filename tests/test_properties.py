"""Property-based tests (hypothesis, derandomized): arbitrary rows never crash the importer
nor leave a partial import, and the detection rules never raise on arbitrary points."""

from __future__ import annotations

import csv
import io
import json
import math
import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from intelligentos.cli.main import app
from intelligentos.domain.catalog.models import Direction, Frequency, Kpi, Level, Unit
from intelligentos.domain.detection import anomaly, drift, evaluate_kpi, stale, target_band
from intelligentos.services.bootstrap import init_store
from intelligentos.store import Store

from .conftest import MINI_CATALOG, write_catalog
from .stores import copy_store

runner = CliRunner()
KPIS = ("revenue_growth", "win_rate")
SETTINGS = settings(
    derandomize=True,
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def mini_template(tmp_path_factory) -> Path:
    """A mini store with demo history (so generated rows overlap existing ones)."""
    directory = tmp_path_factory.mktemp("mini")
    catalog = write_catalog(directory / "catalog", MINI_CATALOG)
    path = directory / "mini.db"
    init_store(path, catalog, end=date(2026, 11, 27))
    Store.open(path).close()
    return path


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("prop")


def keys(db: Path) -> set[tuple[str, str]]:
    conn = sqlite3.connect(db)
    try:
        return set(conn.execute("SELECT kpi_id, period FROM observations"))
    finally:
        conn.close()


# --- strategies ----------------------------------------------------------------------------

hostile_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12
) | st.sampled_from(["", " ", "\x1b[31m", "\x1b]0;pwned\x07", "[bold]x[/]", "\x00", "NaN"])
valid_period = st.dates(date(2024, 6, 1), date(2027, 1, 31)).map(date.isoformat) | st.datetimes(
    datetime(2026, 1, 1), datetime(2026, 12, 31)
).map(lambda moment: moment.isoformat(sep="T", timespec="seconds"))
padded = st.sampled_from(["", " ", "\t"])
# Both KPIS are percentages: plausible from −10,000 % to 10,000 %.
valid_value = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False) | st.integers(
    -(10**4), 10**4
)
any_value = (
    valid_value
    | st.floats(-1e12, 1e12)
    | st.integers(-(10**9), 10**9)
    | st.floats()  # includes NaN and ±inf
    | st.sampled_from([1e308, -1e308, 10**400, "1e400", "inf", "-nan", "", " ", True, None])
    | hostile_text
)
source = st.none() | hostile_text


@st.composite
def valid_rows(draw) -> dict:
    return {
        "kpi_id": draw(padded) + draw(st.sampled_from(KPIS)) + draw(padded),
        "period": draw(padded) + draw(valid_period) + draw(padded),
        "value": draw(valid_value),
        "source": draw(st.none() | st.text(max_size=8)),
    }


@st.composite
def any_rows(draw) -> dict:
    return {
        "kpi_id": draw(st.sampled_from(KPIS) | hostile_text),
        "period": draw(valid_period | hostile_text),
        "value": draw(any_value),
        "source": draw(source),
    }


def render(rows: list[dict], fmt: str) -> bytes:
    if fmt == "jsonl":
        return "".join(json.dumps(row) + "\n" for row in rows).encode("utf-8")
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["kpi_id", "period", "value", "source"])
    for row in rows:
        writer.writerow(["" if row[k] is None else row[k] for k in row])
    return buffer.getvalue().encode("utf-8")


def import_rows(rows: list[dict], fmt: str, template: Path, workdir: Path):
    db = workdir / "store.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    copy_store(template, db)
    data = workdir / f"rows.{fmt}"
    data.write_bytes(render(rows, fmt))
    before = keys(db)
    result = runner.invoke(app, ["import", str(data), "--db", str(db)], catch_exceptions=True)
    return result, before, keys(db), db


def assert_no_crash(result) -> None:
    assert result.exit_code in (0, 1), (result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output
    assert "\x1b" not in result.output and "\x07" not in result.output


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@SETTINGS
@given(rows=st.lists(any_rows() | valid_rows(), min_size=0, max_size=8))
def test_arbitrary_rows_never_crash_nor_half_import(rows, fmt, mini_template, workdir):
    result, before, after, _ = import_rows(rows, fmt, mini_template, workdir)
    assert_no_crash(result)
    event(f"exit {result.exit_code}")
    if result.exit_code == 1:
        assert after == before, result.output
        assert "nothing was imported" in result.output or "Error:" in result.output
    else:
        wanted = {(row["kpi_id"].strip(), row["period"].strip()) for row in rows}
        assert after - before == wanted - before, result.output
        assert len(after) == len(before) + len(wanted - before)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@SETTINGS
@given(
    rows=st.lists(
        valid_rows(),
        min_size=1,
        max_size=8,
        unique_by=lambda row: (row["kpi_id"].strip(), row["period"].strip()),
    )
)
def test_valid_rows_always_import_exactly(rows, fmt, mini_template, workdir):
    result, before, after, db = import_rows(rows, fmt, mini_template, workdir)
    assert_no_crash(result)
    assert result.exit_code == 0, result.output
    wanted = {(row["kpi_id"].strip(), row["period"].strip()) for row in rows}
    assert after == before | wanted
    inserted = len(wanted - before)
    assert f"{inserted:,} {'was' if inserted == 1 else 'were'} inserted" in result.output
    conn = sqlite3.connect(db)
    try:
        for row in rows:
            stored = conn.execute(
                "SELECT value FROM observations WHERE kpi_id = ? AND period = ?",
                (row["kpi_id"].strip(), row["period"].strip()),
            ).fetchone()[0]
            assert math.isclose(stored, float(row["value"]), rel_tol=1e-12, abs_tol=0)
    finally:
        conn.close()


# --- detection rules -----------------------------------------------------------------------

point_value = (
    st.none()
    | st.floats()  # NaN, ±inf, huge, tiny, negative zero
    | st.sampled_from([0.0, -0.0, 1e308, -1e308, 5e-324, float("nan"), float("inf")])
    | st.integers(-(10**6), 10**6).map(float)
)


@st.composite
def kpis(draw) -> Kpi:
    target = draw(st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from([0.0, 1.0]))
    warning = draw(st.floats(0, 10))
    return Kpi(
        id="k",
        name="K",
        level=Level.FUNCTIONAL,
        unit=draw(st.sampled_from([Unit.PERCENT, Unit.CURRENCY, Unit.COUNT, Unit.RATIO])),
        direction=draw(st.sampled_from(list(Direction))),
        target=target,
        warning=warning,
        critical=warning + draw(st.floats(0, 10)),
        frequency=draw(st.sampled_from(list(Frequency))),
        formula="x",
        engine="growth",
    )


@st.composite
def point_lists(draw) -> list[tuple[str, float | None]]:
    values = draw(st.lists(point_value, min_size=0, max_size=60))
    end = draw(st.dates(date(2020, 1, 1), date(2027, 12, 31)))
    step = draw(st.sampled_from([1, 7, 30]))
    start = end - timedelta(days=step * max(len(values) - 1, 0))
    return [((start + timedelta(days=step * i)).isoformat(), v) for i, v in enumerate(values)]


@settings(derandomize=True, deadline=None, max_examples=300)
@given(kpi=kpis(), points=point_lists(), today=st.dates(date(2020, 1, 1), date(2028, 12, 31)))
def test_detection_rules_never_raise(kpi, points, today):
    for rule in (target_band, anomaly, drift):
        finding = rule(kpi, points)
        assert finding is None or isinstance(finding.message, str)
    stale(kpi, points, today)
    findings = evaluate_kpi(kpi, points, datetime.combine(today, datetime.min.time()))
    assert isinstance(findings, dict)
