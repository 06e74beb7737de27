"""Smoke runs of every benchmark under bench/ at its smallest setting, so they cannot rot.

Nothing here checks a timing: each script runs end to end on tiny inputs (scale 0.01, 20 KPIs,
one run) and must succeed, which includes its own checks that kpictl's values equal the
hand-written SQL's. The MetricFlow comparison runs only where its virtual environment exists
(``bash bench/vs_metricflow/setup.sh``); its pure helpers are tested everywhere.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import balances, common, compile_scale, data, funnels, lookups, run_vs_sql, startup, wide  # noqa: E402
from bench.vs_metricflow import compare  # noqa: E402


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data cache of this test run only (the real one is ~/.cache/kpictl-bench)."""
    return tmp_path_factory.mktemp("bench-cache")


def test_data_is_generated_once_then_reused(cache: Path) -> None:
    folder = data.prepare(0.01, cache, quiet=True)
    orders = folder / "data" / "orders.parquet"
    made = orders.stat().st_mtime_ns
    assert (folder / "kpictl.yml").is_file() and (folder / "metrics" / "revenue.yml").is_file()
    assert data.rows(folder)["orders"] > 0
    assert data.prepare(0.01, cache, quiet=True) == folder
    assert orders.stat().st_mtime_ns == made  # cached, not regenerated


def test_data_regenerates_an_incomplete_folder(cache: Path) -> None:
    folder = data.prepare(0.01, cache, quiet=True)
    (folder / "data" / "COMPLETE").unlink()  # as after an interrupted run
    assert not data.is_complete(folder, 0.01)
    data.prepare(0.01, cache, quiet=True)
    assert data.is_complete(folder, 0.01)


def test_tiling_multiplies_rows_and_keeps_keys_unique_and_joined(cache: Path, tmp_path: Path) -> None:
    import duckdb

    base = data.prepare(0.01, cache, quiet=True) / "data"
    counts = data.tile(base, tmp_path, 3)
    con = duckdb.connect()

    def one(sql: str) -> Any:
        return con.execute(sql.replace("{base}", str(base)).replace("{out}", str(tmp_path))).fetchone()

    for table, base_rows in data.rows(base.parent).items():
        assert counts[table] == base_rows * (3 if table in data.TILED_IDS else 1), table
    for table, ids in data.TILED_IDS.items():
        assert one(f"SELECT count(DISTINCT {ids[0]}) FROM '{{out}}/{table}.parquet'")[0] == counts[table], table
    # the same values three times over, and every foreign key still finds its one row
    revenue = "SELECT sum(amount) FROM '{%s}/orders.parquet'"
    assert one(revenue % "out")[0] == 3 * one(revenue % "base")[0]
    for child, column, parent, key in (
        ("orders", "customer_id", "customers", "customer_id"),
        ("shipments", "order_id", "orders", "order_id"),
        ("customers", "referred_by", "customers", "customer_id"),
        ("tickets", "customer_id", "customers", "customer_id"),
    ):
        orphans = one(
            f"SELECT count(*) FROM '{{out}}/{child}.parquet' c ANTI JOIN '{{out}}/{parent}.parquet' p "
            f"ON c.{column} = p.{key}"
        )[0]
        nulls = one(f"SELECT count(*) FILTER (WHERE {column} IS NULL) FROM '{{out}}/{child}.parquet'")[0]
        assert orphans == nulls, (child, column)
    # ids stay in time order, as the generator numbers them
    assert one(
        "SELECT bool_and(order_date >= prev) FROM (SELECT order_date, "
        "lag(order_date) OVER (ORDER BY order_id) AS prev FROM '{out}/orders.parquet')"
    )[0]


def test_a_scale_above_the_tiled_one_must_be_a_multiple_of_it(cache: Path) -> None:
    with pytest.raises(ValueError, match="whole multiple"):
        data.prepare(2.5, cache, quiet=True)


@pytest.mark.parametrize("scale", ["2.5", "0", "-1", "abc", "inf"])
def test_a_scale_prepare_cannot_make_is_a_usage_error(scale: str, capsys: pytest.CaptureFixture[str]) -> None:
    for script in (data, run_vs_sql):
        with pytest.raises(SystemExit) as exit_:
            script.main(["--scale", scale])
        assert exit_.value.code == 2
        assert f"argument --scale: {scale}: a positive number" in capsys.readouterr().err


def test_a_generated_project_is_keyed_on_its_content(tmp_path: Path) -> None:
    """A bench whose KPIs changed gets a new project, not the one made for the old text."""
    tables = {"t.parquet": "SELECT range AS i FROM range(3)"}
    files = {"metrics/a.yml": "kpis: []\n", "kpictl.yml": "name: x\n"}
    first = common.generated("x", [3], tables, files, base=tmp_path)
    assert first.parent == tmp_path and first.name.startswith("x_3_")
    assert (first / "metrics" / "a.yml").read_text() == "kpis: []\n" and (first / "t.parquet").is_file()
    made = (first / "t.parquet").stat().st_mtime_ns
    assert common.generated("x", [3], dict(tables), dict(files), base=tmp_path) == first
    assert (first / "t.parquet").stat().st_mtime_ns == made  # reused, not made again
    changed = common.generated("x", [3], tables, {**files, "metrics/a.yml": "kpis: [b]\n"}, base=tmp_path)
    assert changed != first and (changed / "metrics" / "a.yml").read_text() == "kpis: [b]\n"
    other_data = common.generated("x", [3], {"t.parquet": "SELECT range AS i FROM range(4)"}, files, base=tmp_path)
    bigger = common.generated("x", [4], tables, files, base=tmp_path)
    assert len({first, changed, other_data, bigger}) == 4
    (first / "COMPLETE").unlink()  # as after a run interrupted while writing its data
    (first / "t.parquet").unlink()
    assert common.generated("x", [3], tables, files, base=tmp_path) == first
    assert (first / "COMPLETE").is_file() and (first / "t.parquet").is_file()


def test_run_vs_sql(cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_vs_sql.main(["--scale", "0.01", "--runs", "1", "--cache", str(cache)]) == 0
    out, err = capsys.readouterr()
    assert "values equal to the hand-written SQL" in err
    assert "| kpictl API |" in out and "| hand SQL process |" in out


def test_compare_reports_every_difference() -> None:
    key = ("revenue", dt.date(2025, 1, 1))
    assert run_vs_sql.compare({key: 1.0}, {key: 1.0 + 1e-12}) == []
    assert run_vs_sql.compare({key: 1.0}, {key: 1.1}) == ["revenue 2025-01-01: kpictl 1.0 vs hand SQL 1.1"]
    assert run_vs_sql.compare({key: None}, {key: 0.0}) != []
    assert run_vs_sql.compare({key: 1.0}, {}) == ["only in kpictl: revenue 2025-01-01"]


def test_compile_scale(capsys: pytest.CaptureFixture[str]) -> None:
    assert compile_scale.main(["--kpis", "20", "--runs", "1"]) == 0
    assert "| 20 |" in capsys.readouterr().out


def test_lookups(capsys: pytest.CaptureFixture[str]) -> None:
    assert lookups.main(["--rows", "20000", "--rounds", "1"]) == 0  # every value equal to the hand-written joins
    assert "values equal: True" in capsys.readouterr().out


def test_balances(capsys: pytest.CaptureFixture[str]) -> None:
    assert balances.main(["--rows", "20000", "--rounds", "1"]) == 0  # every value equal to the hand-written SQL
    assert "values equal: True" in capsys.readouterr().out


def test_funnels(capsys: pytest.CaptureFixture[str]) -> None:
    assert funnels.main(["--rows", "20000", "--rounds", "1"]) == 0  # every value equal to the hand-written SQL
    assert "values equal: True" in capsys.readouterr().out


def test_wide(capsys: pytest.CaptureFixture[str]) -> None:
    assert wide.main(["--rows", "20000", "--customers", "200", "--rounds", "1", "--formats", "csv"]) == 0
    out = capsys.readouterr().out
    assert "values equal: True (9,600 rows" in out  # 2 KPIs x 200 customers x 24 months
    assert "| format | COPY of the SQL's 4 columns s |" in out and "\n| csv | " in out  # the content floor


def test_startup(capsys: pytest.CaptureFixture[str]) -> None:
    assert startup.main(["--runs", "1", "--rows", "20000"]) == 0
    out = capsys.readouterr().out
    assert "kpictl --version" in out and "values equal to the hand SQL" in out


def test_metricflow_disagreements_are_explained_or_reported() -> None:
    day, later = dt.date(2025, 1, 1), dt.date(2025, 2, 1)
    problems, explained = compare.explain({(day,): 2.0, (later,): 0}, {(day,): 2.0})
    assert problems == [] and explained == {"spine": 1, "join": 0}  # an empty month only kpictl shows
    problems, explained = compare.explain({(day,): 2.0}, {(day,): 2.0, (later,): None})
    assert problems == [] and explained == {"spine": 0, "join": 1}  # another metric's month in MetricFlow
    problems, _ = compare.explain({(day,): 2.0}, {(day,): 3.0, (later,): 1.0})
    assert len(problems) == 2


def test_metricflow_project_covers_the_catalog() -> None:
    from kpictl import Project

    catalog = [name for name in Project.load(ROOT).kpis if name not in compare.NOT_IN_METRICFLOW]
    assert list(compare.BY) == catalog, (
        "metrics/ changed: declare the KPI in bench/vs_metricflow/dbt_project and compare.BY, "
        "and in bench/hand_written.sql"
    )
    assert "formula: sum(amount)" in compare.minimal_catalog(ROOT, ["revenue"])


@pytest.mark.skipif(not compare.MF.exists(), reason="MetricFlow not installed (bench/vs_metricflow/setup.sh)")
def test_vs_metricflow(capsys: pytest.CaptureFixture[str]) -> None:
    assert compare.main(["--scale", "0.01", "--kpis", "1", "--runs", "0", "--no-by"]) == 0
    assert "every value both sides return agrees" in capsys.readouterr().out


def test_spark_bench_compares_every_value() -> None:
    # the Spark run itself takes a minute even at scale 0.01 (bench/README.md §6): only the
    # comparison that decides its exit code is checked here, on hand-made values
    from bench import spark

    period = dt.date(2025, 1, 1)
    duck = {("a", period, ()): 3.0, ("b", period, ()): 0.1 + 0.2, ("c", period, ()): None}
    assert spark.differences(duck, {("a", period, ()): 3.0, ("b", period, ()): 0.3, ("c", period, ()): None}) == []
    found = spark.differences(duck, {("a", period, ()): 4.0, ("b", period, ()): 0.3, ("d", period, ()): 1.0})
    assert found == [
        "only on DuckDB: ('c', datetime.date(2025, 1, 1), ())",
        "only on Spark: ('d', datetime.date(2025, 1, 1), ())",
        "('a', datetime.date(2025, 1, 1), ()): DuckDB 3.0 vs Spark 4.0",
    ]
