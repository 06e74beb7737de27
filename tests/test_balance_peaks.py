"""Balances of a period's lowest or highest day: ``snapshot: {per: item, take: min|max}``.

A day's balance is the one of ``take: last`` at day grain (each item's last row of the day, then
the sum across items; an item without a row that day is not in it). ``max`` of a period is the
highest of those day values over the days that have rows, ``min`` the lowest: the balance of one
day, never each item's own peak added up. Counted by hand on the README's stock (fifteen rows of
three items, docs/examples/balances/data/stock.csv), then against plain Python on random rows.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpictl import Project
from kpictl.cli import cli

EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "examples" / "balances"

# Day values by hand (items a, b in EU; c in US):
#   Jan 2: a 10, b 5, c 9          → EU 15, US 9,    all 24
#   Jan 3: a 4, b 13 (its 17:00 row, not 12), c 7 → EU 17, US 7, all 24 (a tie with Jan 2)
#   Jan 4: a 8, c NULL (b has no row) → EU 8, US NULL, all 8
#   February: no row
#   Mar 10: a 6, b 6, c 3          → EU 12, US 3,    all 15
#   Mar 11: a 3, b 9, c 3          → EU 12, US 3,    all 15 (a tie again)


@pytest.fixture(scope="module")
def project() -> Project:
    return Project.load(EXAMPLE)


def values(project: Project, kpi: str, **options: Any) -> dict[tuple[object, ...], float | None]:
    return {(r.period.isoformat(), *r.dims.values()): r.value for r in project.run([kpi], **options)}


def test_the_highest_and_lowest_day_of_each_month(project: Project) -> None:
    assert values(project, "peak_stock") == {
        ("2025-01-01",): 24,  # Jan 2 and Jan 3 tie; never a + b + c's own peaks (10 + 13 + 9 = 32)
        ("2025-02-01",): 0,  # no day: the sum over zero rows, as take: last gives
        ("2025-03-01",): 15,
    }
    assert values(project, "low_stock") == {("2025-01-01",): 8, ("2025-02-01",): 0, ("2025-03-01",): 15}
    assert values(project, "stock") == {("2025-01-01",): 8 + 13, ("2025-02-01",): 0, ("2025-03-01",): 15}


def test_each_region_has_its_own_peak_day(project: Project) -> None:
    peak = values(project, "peak_stock", by=["region"])
    assert peak[("2025-01-01", "EU")] == 17  # Jan 3
    assert peak[("2025-01-01", "US")] == 9  # Jan 2: the regions' peaks add up to 26, not the total's 24
    low = values(project, "low_stock", by=["region"])
    assert low[("2025-01-01", "EU")] == 8  # Jan 4, the day b has no row
    assert low[("2025-01-01", "US")] == 7  # Jan 3: Jan 4's NULL is no day of its own
    assert (peak[("2025-03-01", "EU")], low[("2025-03-01", "US")]) == (12, 3)


def test_coarser_grains_and_the_whole_range(project: Project) -> None:
    assert values(project, "peak_stock", grain="quarter") == {("2025-01-01",): 24}
    assert values(project, "low_stock", grain="quarter") == {("2025-01-01",): 8}
    assert values(project, "peak_stock", grain="year") == {("2025-01-01",): 24}
    weeks = values(project, "low_stock", grain="week")
    assert weeks[("2024-12-30",)] == 8 and weeks[("2025-03-10",)] == 15 and weeks[("2025-01-06",)] == 0
    everything = {k: v for k, v in values(project, "peak_stock", grain="all").items()}
    assert list(everything.values()) == [24]


def test_a_range_start_mid_period(project: Project) -> None:
    """--from only chooses the periods shown: January is still the peak of all its days; over the
    whole range (--grain all) only the days of the range count."""
    assert values(project, "peak_stock", start=dt.date(2025, 1, 4)) == {
        ("2025-01-01",): 24,
        ("2025-02-01",): 0,
        ("2025-03-01",): 15,
    }
    assert values(project, "peak_stock", grain="all", start=dt.date(2025, 1, 4)) == {("2025-01-04",): 15}
    assert values(project, "low_stock", grain="all", start=dt.date(2025, 1, 3), end=dt.date(2025, 1, 3)) == {
        ("2025-01-03",): 24
    }


def test_at_day_grain_min_and_max_are_last(project: Project) -> None:
    last = values(project, "stock", grain="day", by=["region"])
    assert values(project, "peak_stock", grain="day", by=["region"]) == last
    assert values(project, "low_stock", grain="day", by=["region"]) == last
    assert last[("2025-01-04", "US")] is None and last[("2025-01-04", "EU")] == 8


def test_prior_reads_the_peaks(project: Project) -> None:
    assert values(project, "peak_change") == {("2025-01-01",): None, ("2025-02-01",): -24, ("2025-03-01",): 15}


def test_windows_that_add_up_are_refused(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE, tmp_path, dirs_exist_ok=True)
    with (tmp_path / "metrics" / "stock.yml").open("a") as f:
        f.write('  - {name: k, formula: "rolling(peak_stock, 3)"}\n')
        f.write('  - {name: j, formula: "rolling_avg(peak_stock, 3)"}\n')
    result = CliRunner().invoke(cli, ["--project", str(tmp_path), "validate"], env={"NO_COLOR": "1"})
    assert result.exit_code == 2
    assert "metrics/stock.yml:6:25: rolling(peak_stock, 3): peak_stock is a balance (snapshot:)" in result.stderr
    assert ":7:" not in result.stderr  # an average of the peaks is fine


def test_a_peak_is_judged_as_the_last_balance_is(tmp_path: Path) -> None:
    """Judging does not depend on which day a balance takes: the same bound for the same target
    at every grain, on the total and on a breakdown row."""
    shutil.copytree(EXAMPLE, tmp_path, dirs_exist_ok=True)
    target = "grain: month, dimensions: [region], target: {min: 20, per: {region: {EU: {min: 15}}}}"
    (tmp_path / "metrics" / "stock.yml").write_text(
        "kpis:\n"
        f"  - {{name: last, source: stock, formula: sum(qty), snapshot: {{per: item}}, {target}}}\n"
        f"  - {{name: peak, source: stock, formula: sum(qty), snapshot: {{per: item, take: max}}, {target}}}\n"
    )
    project = Project.load(tmp_path)
    for grain, by in (("month", []), ("quarter", []), ("week", ["region"])):
        rows = project.run(["last", "peak"], grain=grain, by=by)
        bounds = {(r.kpi, r.period, *r.dims.values()): r.judgement and r.judgement.min for r in rows}
        assert {k[1:]: v for k, v in bounds.items() if k[0] == "last"} == {
            k[1:]: v for k, v in bounds.items() if k[0] == "peak"
        }


def test_diff_shows_a_change_of_take(tmp_path: Path) -> None:
    """Moving a balance from its last day to its highest moves its values: a changed definition."""
    from kpictl.workflows.diff import FieldChange, definitions

    shutil.copytree(EXAMPLE, tmp_path / "head")
    path = tmp_path / "head" / "metrics" / "stock.yml"
    path.write_text(path.read_text().replace("snapshot: {per: item}", "snapshot: {per: item, take: max}"))
    _, changes = definitions(Project.load(EXAMPLE), Project.load(tmp_path / "head"))
    stock = next(c for c in changes if c.name == "stock")
    assert stock.change == "changed"
    assert stock.fields == (FieldChange("snapshot", "per item, take last", "per item, take max"),)


@pytest.mark.parametrize(("take", "hint"), [("mx", "did you mean 'max'?"), ("median", "one of: last, first, min, max")])
def test_an_unknown_take_is_located(tmp_path: Path, take: str, hint: str) -> None:
    shutil.copytree(EXAMPLE, tmp_path, dirs_exist_ok=True)
    path = tmp_path / "metrics" / "stock.yml"
    path.write_text(path.read_text().replace("take: max", f"take: {take}"))
    result = CliRunner().invoke(cli, ["--project", str(tmp_path), "validate"], env={"NO_COLOR": "1"})
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"metrics/stock.yml:3:86: peak_stock.snapshot.take: '{take}' is not allowed ({hint})"
    )


# -- against plain Python on random snapshots ---------------------------------------------------

SETTINGS = settings(max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # hypothesis' report (test_properties)
REGION = {"a": "EU", "b": "EU", "c": "US", "d": "US"}
PROPERTY_KPIS = """\
kpis:
  - {name: hi, source: s, formula: sum(qty), snapshot: {per: item, take: max}, dimensions: [region]}
  - {name: lo, source: s, formula: sum(qty), snapshot: {per: item, take: min}, dimensions: [region]}
"""

rows_strategy = st.lists(
    st.tuples(
        st.sampled_from("abcd"),
        st.integers(0, 120),  # days after 2025-01-01: two quarters
        st.integers(0, 2),  # hour: an item often has several rows in a day
        st.one_of(st.none(), st.integers(-5, 50)),
    ),
    min_size=1,
    max_size=60,
    unique_by=lambda r: (r[0], r[1], r[2]),  # two rows of one item at one time are a data error
)


def _start(grain: str, day: dt.date) -> dt.date:
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)


def _next(grain: str, period: dt.date) -> dt.date:
    if grain == "week":
        return period + dt.timedelta(days=7)
    months = period.month - 1 + (1 if grain == "month" else 3)
    return period.replace(year=period.year + months // 12, month=months % 12 + 1)


def _expected(rows: list[tuple[str, int, int, int | None]], grain: str, by_region: bool) -> dict[tuple[Any, ...], Any]:
    """Each item's last row of each day, the sum per day (NULL when every value is), then the
    highest and lowest non-NULL day per period and group; 0 for a period without days."""
    last: dict[tuple[dt.date, str], tuple[int, int | None]] = {}
    for item, offset, hour, qty in rows:
        day = dt.date(2025, 1, 1) + dt.timedelta(days=offset)
        if (day, item) not in last or last[(day, item)][0] < hour:
            last[(day, item)] = (hour, qty)
    groups = sorted({REGION[item] for item, *_ in rows}) if by_region else [None]
    days: dict[tuple[dt.date, str | None], list[int | None]] = {}
    for (day, item), (_, qty) in last.items():
        days.setdefault((day, REGION[item] if by_region else None), []).append(qty)
    day_values = {
        k: (sum(q for q in qs if q is not None) if any(q is not None for q in qs) else None) for k, qs in days.items()
    }
    first = min(_start(grain, d) for d, _ in days)
    end = max(_start(grain, d) for d, _ in days)
    expected = {}
    period = first
    while period <= end:
        for group in groups:
            inside = [(d, v) for (d, g), v in day_values.items() if g == group and _start(grain, d) == period]
            known = [v for _, v in inside if v is not None]
            for name, pick in (("hi", max), ("lo", min)):
                value = (pick(known) if known else None) if inside else 0
                expected[(name, period.isoformat(), *([group] if by_region else []))] = value
        period = _next(grain, period)
    return expected


@SETTINGS
@given(rows_strategy, st.sampled_from(["week", "month", "quarter"]), st.booleans())
def test_peaks_match_plain_python(rows: list[tuple[str, int, int, int | None]], grain: str, by_region: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "kpictl.yml").write_text("name: p\nsources:\n  s: {path: s.csv, time: t, columns: {qty: integer}}\n")
        lines = ["t,item,region,qty"] + [
            f"{dt.date(2025, 1, 1) + dt.timedelta(days=o)} {h:02d}:00:00,{i},{REGION[i]},{'' if q is None else q}"
            for i, o, h, q in rows
        ]
        (root / "s.csv").write_text("\n".join(lines) + "\n")
        (root / "metrics").mkdir()
        (root / "metrics" / "a.yml").write_text(PROPERTY_KPIS)
        by = ["region"] if by_region else []
        got = {
            (r.kpi, r.period.isoformat(), *r.dims.values()): r.value
            for r in Project.load(root).run(["hi", "lo"], grain=grain, by=by)
        }
    assert got == _expected(rows, grain, by_region)
