"""The compiler: golden SQL per case folder, and the properties every compiled query keeps.

A case is a folder of tests/cases/ with ``kpis.yml`` (a KPI file over the fixture project of
tests/data), ``case.yml`` (what to run) and ``expected.sql`` (golden: `pytest --update-golden`
rewrites it, review the diff). An ``expected.csv`` written by hand is compared with the rows of
that SQL, run on the fixtures (empty cells are NULL).
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from kpictl.engine import duckdb as engine
from kpictl.language import checks, spec
from kpictl.model import Config, Kpi
from kpictl.sql import compiler, dialects, planner

CASES = Path(__file__).parent / "cases"
NAMES = sorted(p.name for p in CASES.iterdir() if (p / "kpis.yml").is_file())


def load_case(name: str, data_dir: Path, tmp_path: Path) -> tuple[Config, dict[str, Kpi], dict[str, Any]]:
    """The fixture project with the case's KPI file, loaded and checked like `kpictl run` does."""
    root = tmp_path / name
    shutil.copytree(data_dir, root)
    (root / "metrics").mkdir()
    shutil.copy(CASES / name / "kpis.yml", root / "metrics" / "kpis.yml")
    config, raw, errors, _ = spec.load(root)
    assert config is not None and not errors, errors
    kpis, problems = checks.check(config, raw)
    assert not problems, problems
    options = yaml.safe_load((CASES / name / "case.yml").read_text(encoding="utf-8"))["run"]
    return config, kpis, options


def compile_case(config: Config, kpis: dict[str, Kpi], options: dict[str, Any]) -> compiler.CompiledQuery:
    columns = {name: engine.describe(config, name) for name in config.sources}
    selected = options.pop("kpis")
    return compiler.compile(planner.plan(config, kpis, selected, columns=columns, **options))


@pytest.mark.parametrize("name", NAMES)
def test_case(name: str, data_dir: Path, tmp_path: Path, golden: Callable[..., None]) -> None:
    config, kpis, options = load_case(name, data_dir, tmp_path)
    compiled = compile_case(config, kpis, options)
    golden(name, compiled.sql)
    expected_csv = CASES / name / "expected.csv"
    if expected_csv.exists():
        with expected_csv.open(encoding="utf-8", newline="") as handle:
            expected = [tuple(row.values()) for row in csv.DictReader(handle)]
        actual = [(r.kpi, r.period.isoformat(), *r.dims.values(), r.value) for r in engine.execute(compiled, config)]
        assert len(actual) == len(expected)
        for got, want in zip(actual, expected, strict=True):
            assert got[:-1] == tuple(v or None for v in want[:-1])
            assert got[-1] == (pytest.approx(float(want[-1])) if want[-1] else None), (got, want)


def test_a_fused_group_is_one_scan_in_one_statement(data_dir: Path, tmp_path: Path) -> None:
    config, kpis, options = load_case("fused_scan", data_dir, tmp_path)
    sql = compile_case(config, kpis, options).sql
    assert sql.count(" AS MATERIALIZED (") == 1 and sql.count('FROM "orders"') == 1
    assert sql.count("COUNT(*) AS") == 1  # shared by orders_n and paid_share
    import duckdb

    assert len(duckdb.connect().extract_statements(sql)) == 1


@pytest.mark.parametrize("name", NAMES)
def test_compiled_sql_is_deterministic_and_portable(name: str, data_dir: Path, tmp_path: Path) -> None:
    config, kpis, options = load_case(name, data_dir, tmp_path)
    first = compile_case(config, kpis, dict(options))
    again = compile_case(config, kpis, dict(options))
    assert first.sql == again.sql and first.params == again.params
    text = first.sql.upper()
    assert "GROUP BY ALL" not in text and "NOW()" not in text and "CURRENT_DATE" not in text
    assert sorted(set(_params(first.sql))) == sorted(first.params)
    assert all(isinstance(v, dt.date) for v in first.params.values())
    for line in first.sql.splitlines():  # every CTE starts with its comment line(s)
        if line.endswith(" AS (") or line.endswith(" AS MATERIALIZED ("):
            previous = first.sql.splitlines()[first.sql.splitlines().index(line) - 1]
            assert previous.startswith("-- "), line
    assert "SELECT" in dialects.to_dialect(first.sql, first.params, "postgres")


def _params(sql: str) -> list[str]:
    import re

    return re.findall(r"\$(\w+)", sql)


def test_templates_refuse_an_undefined_variable() -> None:
    from jinja2 import UndefinedError

    with pytest.raises(UndefinedError):
        compiler._render("spine.sql.j2", name="spine_1")


def test_identifiers_are_quoted_and_escaped() -> None:
    from kpictl.sql.quoting import identifier, literal

    assert identifier('we"ird') == '"we""ird"'
    assert literal("it's") == "'it''s'"
    assert literal(Path("/tmp/it's.parquet")) == "'/tmp/it''s.parquet'"  # paths for read_parquet/COPY


def test_nothing_to_compile_is_an_error() -> None:
    from kpictl.errors import SpecError

    with pytest.raises(SpecError):
        compiler.compile(planner.Plan(scans=(), derived=(), outputs=()))


def test_unknown_dialect_is_a_spec_error() -> None:
    from kpictl.errors import SpecError

    with pytest.raises(SpecError, match="nosuchdialect"):
        dialects.to_dialect("SELECT 1", {}, "nosuchdialect")


def test_lookups_golden(golden: Callable[..., None]) -> None:
    """Every kind of lookup in one scan (docs/examples/flights): two roles of one source, a chain
    of three, a history, a snapshot, and computed columns read by the time, a formula and --by."""
    from kpictl import Project

    project = Project.load(Path(__file__).parent.parent / "docs" / "examples" / "flights")
    by = ["origin_airport.city", "dest_airport.city", "country", "alliance", "conditions"]
    golden("lookups", project.compile(["flights", "delayed_share"], by=by).sql)


def test_offsets_golden(golden: Callable[..., None]) -> None:
    """A year earlier at week grain (ISO weeks), and at month grain with moving averages and
    full windows (docs/examples/offsets; values in tests/test_offsets.py)."""
    from kpictl import Project

    project = Project.load(Path(__file__).parent.parent / "docs" / "examples" / "offsets")
    golden("offsets", project.compile(["sales_last_year"], grain="week").sql, "week.sql")
    month = ["growth", "sales_3_full", "ticket_avg_3", "ticket_avg_3_full"]
    golden("offsets", project.compile(month, grain="month").sql, "month.sql")


def test_whole_range_golden(golden: Callable[..., None]) -> None:
    """--grain all: the rows of the range in one period, a ratio of two sources by channel."""
    from kpictl import Project

    project = Project.load(Path(__file__).parent.parent)
    sql = project.compile(
        ["conversion_rate"], grain="all", by=["channel"], start=dt.date(2025, 7, 1), end=dt.date(2025, 9, 30)
    ).sql
    golden("whole_range", sql)


def test_balances_golden(golden: Callable[..., None]) -> None:
    """A balance: each account's last row of the month kept by a join, then the sums (docs/examples/balances)."""
    from kpictl import Project

    project = Project.load(Path(__file__).parent.parent / "docs" / "examples" / "balances")
    golden("balances", project.compile(["balance", "opening"], by=["region"]).sql)


def test_balance_peaks_golden(golden: Callable[..., None]) -> None:
    """Balances of min/max: each item's last row of each day kept by a join, the sums by day,
    then each KPI's lowest (highest) day of the month (docs/examples/balances; test_balance_peaks)."""
    from kpictl import Project

    project = Project.load(Path(__file__).parent.parent / "docs" / "examples" / "balances")
    golden("balance_peaks", project.compile(["peak_stock", "low_stock"], by=["region"]).sql)


def test_funnels_golden(golden: Callable[..., None]) -> None:
    """A funnel: its events read once, each conversion credited to the latest base event, then
    the entities counted by period and breakdown (docs/examples/funnels; values in test_funnels)."""
    from kpictl import Project

    project = Project.load(Path(__file__).parent.parent / "docs" / "examples" / "funnels")
    golden("funnels", project.compile(["signup_rate", "same_channel_rate"], by=["channel"]).sql)


def test_fiscal_golden(golden: Callable[..., None]) -> None:
    """A fiscal year from April (docs/examples/fiscal; values in tests/test_fiscal.py): years cut
    at April 1 (the day moved 3 months back, truncated, moved forward), the range's bounds as
    fiscal periods, and to-date windows from April 1, summed and recomputed (distinct counts);
    weeks in the fiscal year of their Thursday."""
    from kpictl import Project

    project = Project.load(Path(__file__).parent.parent / "docs" / "examples" / "fiscal")
    year = project.compile(["revenue"], grain="year", by=["region"], start=dt.date(2024, 5, 1)).sql
    golden("fiscal", year, "year.sql")
    golden("fiscal", project.compile(["revenue_ytd", "regions_ytd"], grain="month").sql, "month.sql")
    golden("fiscal", project.compile(["regions_ytd"], grain="week").sql, "week.sql")


def test_hours_golden(golden: Callable[..., None]) -> None:
    """Hours (docs/examples/hourly; values in tests/test_hours.py): the period a TIMESTAMP truncated
    to its hour, an hourly spine, --from/--to as the first and last hour of their days, a rolling
    window of hours recomputed for a distinct count, and the same hour a day earlier."""
    from kpictl import Project

    project = Project.load(Path(__file__).parent.parent / "docs" / "examples" / "hourly")
    names = ["revenue_3h", "channels_3h", "revenue_day_before"]
    sql = project.compile(names, by=["channel"], start=dt.date(2025, 1, 2), end=dt.date(2025, 1, 2)).sql
    golden("hours", sql, "hours.sql")


def test_calendar_table_golden(golden: Callable[..., None]) -> None:
    """A calendar table's grain (docs/examples/retail; values in tests/test_calendar_table.py): each
    date's period read from the table (its first date), the spine of the calendar's periods,
    --from/--to as days, a rolling window of periods recomputed for a distinct count, and the
    period before by the calendar's order."""
    from kpictl import Project

    project = Project.load(Path(__file__).parent.parent / "docs" / "examples" / "retail")
    names = ["revenue_2", "regions_2", "revenue_before"]
    sql = project.compile(names, by=["region"], start=dt.date(2025, 1, 27), end=dt.date(2025, 3, 31)).sql
    golden("calendar_table", sql, "retail_month.sql")
