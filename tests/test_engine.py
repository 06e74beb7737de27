"""End to end on tests/data: plan → compile → sandboxed DuckDB, expected values worked out by hand.

The fixtures are described in tests/data/README.md. Every expected number below is computed in
the comment next to it from the CSV rows, never by running the SQL under test.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from kpictl.engine import duckdb as engine
from kpictl.errors import DataError, KpiError, Location, SpecError
from kpictl.model import Config, Dimension, Kpi, Lookup, Source
from kpictl.sql import compiler, planner

J, F, M, A = (dt.date(2025, m, 1) for m in (1, 2, 3, 4))  # the four months of the fixtures


def kpi(name: str, formula: str, source: str | None = None, line: int = 1, **fields: Any) -> Kpi:
    at = Location("metrics/test.yml", line)
    return Kpi(name=name, formula=formula, file="metrics/test.yml", source=source, at=at, **fields)


KPIS = {
    k.name: k
    for k in [
        kpi("revenue", "sum(amount)", "orders", filters=("status = 'paid'",)),
        kpi("orders_n", "count(*)", "orders"),
        kpi("cancelled", "count(*) filter (where status = 'cancelled')", "orders"),
        kpi("refunded", "count(*)", "orders", filters=("status = 'refunded'",)),
        kpi("aov", "avg(amount)", "orders"),
        kpi("max_amount", "max(amount)", "orders"),
        kpi("paid_n", "count(*) filter (where status = 'paid')", "orders"),
        kpi("paid_share", "count(*) filter (where status = 'paid') / count(*)", "orders"),
        kpi("customers_n", "count(distinct customer_id)", "orders"),
        kpi(
            "sized",
            "count(*)",
            "orders",
            dimensions=(Dimension("size", "CASE WHEN amount >= 50 THEN 'large' ELSE 'small' END"),),
        ),
        kpi("cost", "sum(cost)", "shipments"),
        kpi("shipments_n", "count(*)", "shipments"),
        kpi("deliveries", "count(*)", "shipments", time="delivered_date"),
        kpi("on_time_rate", "count(*) filter (where on_time) / count(on_time)", "shipments"),
        kpi("returns_n", "count(*)", "returns"),
        kpi("returned", "sum(amount)", "returns"),
        kpi("cost_to_revenue", "cost / revenue"),
        kpi("cost_per_order", "cost / orders_n"),
        kpi("paid_ratio", "paid_n / orders_n"),
        kpi("customers_prior", "prior(customers_n)"),
        kpi("customers_rolling_3", "rolling(customers_n, 3)"),
        kpi("customers_rolling_2", "rolling(customers_n, 2)"),
        kpi("customers_cumulative", "cumulative(customers_n)"),
        kpi("customers_qtd", "to_date(customers_n, quarter)"),
        kpi("paid_share_prior", "prior(paid_share)"),
        kpi("paid_share_prior_2", "prior(paid_share, 2)"),
        kpi("paid_share_rolling_3", "rolling(paid_share, 3)"),
        kpi("paid_share_cumulative", "cumulative(paid_share)"),
        kpi("paid_share_qtd", "to_date(paid_share, 'quarter')"),
        kpi("paid_share_ytd", "to_date(paid_share, year)"),
        kpi("paid_ratio_rolling_3", "rolling(paid_ratio, 3)"),
        kpi("aov_rolling_2", "rolling(aov, 2)"),
        kpi("max_rolling_2", "rolling(max_amount, 2)"),
        kpi("revenue_cumulative", "cumulative(revenue)"),
        kpi("revenue_ytd", "to_date(revenue, year)"),
        kpi("revenue_growth", "revenue / prior(revenue) - 1"),
    ]
}


def make_config(folder: Path, fmt: str = "csv", **paths: str) -> Config:
    """The fixture project; ``paths`` replace a source's file (e.g. customers="customers_dup.csv")."""

    def source(name: str, time: str | None = None, **extra: Any) -> Source:
        path = paths.get(name, f"{name}.{fmt}" if name != "returns" else "returns_empty.csv")
        return Source(name, path, "csv" if path.endswith(".csv") else "parquet", time=time, **extra)

    sources = [
        source("customers", key="customer_id"),
        source("orders", "order_date", key="order_id", lookups=(Lookup("customers", "customer_id"),)),
        source("shipments", "ship_date", key="shipment_id"),
        source("returns", "return_date"),
    ]
    return Config(name="fixtures", root=str(folder), sources={s.name: s for s in sources})


def run(
    config: Config, selected: list[str], *, kpis: dict[str, Kpi] = KPIS, **options: Any
) -> dict[tuple[Any, ...], Any]:
    """{(kpi, period, *dims): value} of a run, through planner → compiler → engine."""
    columns = {}
    for name in config.sources:
        try:
            columns[name] = engine.describe(config, name)
        except DataError:
            continue  # a source this test does not provide
    compiled = compiler.compile(planner.plan(config, kpis, selected, columns=columns, **options))
    return {(r.kpi, r.period, *r.dims.values()): r.value for r in engine.execute(compiled, config)}


def series(kpi: str, *values: Any, months: tuple[dt.date, ...] = (J, F, M, A)) -> dict[tuple[Any, ...], Any]:
    return {(kpi, month): value for month, value in zip(months, values, strict=True)}


@pytest.fixture(params=["csv", "parquet"])
def config(request: pytest.FixtureRequest, data_dir: Path) -> Config:
    return make_config(data_dir, request.param)


# -- source KPIs: sums, counts, filters, ratios, empty periods --------------------------------


def test_sum_with_filter_is_zero_in_a_period_without_rows(config: Config) -> None:
    # paid amounts: Jan 100 + 50 (order 3 cancelled); no order in Feb; Mar 80 + 20 + NULL; Apr 40
    assert run(config, ["revenue"]) == series("revenue", 150, 0, 100, 40)


def test_counts_and_a_filter_matching_no_row_are_zero_never_null(config: Config) -> None:
    result = run(config, ["orders_n", "cancelled", "refunded"])
    assert result == {
        **series("orders_n", 3, 0, 3, 1),
        **series("cancelled", 1, 0, 0, 0),  # Mar and Apr have rows, none cancelled: 0
        **series("refunded", 0, 0, 0, 0),  # a KPI filter that matches nothing at all
    }


def test_ratios_and_averages_are_null_in_empty_periods(config: Config) -> None:
    result = run(config, ["aov", "paid_share", "max_amount"])
    assert result == pytest.approx(
        {
            **series("aov", 60, None, 50, 40),  # Jan (100+50+30)/3; Mar (80+20)/2, NULL amount skipped
            **series("paid_share", 2 / 3, None, 1, 1),  # Feb: 0/0 is NULL, not an error, not inf
            **series("max_amount", 100, None, 80, 40),
        }
    )


def test_null_dimension_is_its_own_group_in_every_period(config: Config) -> None:
    # channels seen: web, shop, and NULL (order 4): every one appears in every month
    result = run(config, ["orders_n"], by=["channel"])
    # fmt: off
    assert result == {
        ("orders_n", J, "web"): 2, ("orders_n", J, "shop"): 1, ("orders_n", J, None): 0,
        ("orders_n", F, "web"): 0, ("orders_n", F, "shop"): 0, ("orders_n", F, None): 0,
        ("orders_n", M, "web"): 1, ("orders_n", M, "shop"): 1, ("orders_n", M, None): 1,
        ("orders_n", A, "web"): 1, ("orders_n", A, "shop"): 0, ("orders_n", A, None): 0,
    }
    # fmt: on


def test_dimension_declared_as_an_expression(config: Config) -> None:
    # large: amount >= 50; small otherwise, NULL amount included (CASE falls to ELSE)
    result = run(config, ["sized"], by=["size"])
    # fmt: off
    assert result == {
        ("sized", J, "large"): 2, ("sized", J, "small"): 1,
        ("sized", F, "large"): 0, ("sized", F, "small"): 0,
        ("sized", M, "large"): 1, ("sized", M, "small"): 2,
        ("sized", A, "large"): 0, ("sized", A, "small"): 1,
    }
    # fmt: on


def test_each_kpi_is_bucketed_by_its_own_time_column(config: Config) -> None:
    # by ship month: Jan 3, Feb 1, Mar 1, Apr 1; by delivery month: Jan 2 (1, 3), Feb 1 (2),
    # Mar 2 (4, 5); shipment 6 is not delivered (NULL date): in no period
    result = run(config, ["shipments_n", "deliveries"])
    assert result == {**series("shipments_n", 3, 1, 1, 1), **series("deliveries", 2, 1, 2, 0)}
    assert run(config, ["deliveries"]) == series("deliveries", 2, 1, 2, months=(J, F, M))


def test_filtered_count_over_count_of_a_nullable_column(config: Config) -> None:
    # on_time: Jan T F T → 2/3; Feb T → 1; Mar F → 0; Apr NULL only → 0/0 → NULL
    assert run(config, ["on_time_rate"]) == pytest.approx(series("on_time_rate", 2 / 3, 1, 0, None))


def test_where_restricts_the_rows_of_every_kpi(config: Config) -> None:
    assert run(config, ["orders_n"], where="channel = 'web'") == series("orders_n", 2, 0, 1, 1)


# -- lookups -----------------------------------------------------------------------------------


def test_lookup_dimension_by_bare_and_qualified_name(config: Config) -> None:
    # customers 10 and 12 are EU, 11 US, 13 unknown (NULL region); order 6 (13) has no amount
    # fmt: off
    expected = {
        ("revenue", J, "EU"): 100, ("revenue", J, "US"): 50, ("revenue", J, None): 0,
        ("revenue", F, "EU"): 0, ("revenue", F, "US"): 0, ("revenue", F, None): 0,
        ("revenue", M, "EU"): 100, ("revenue", M, "US"): 0, ("revenue", M, None): None,
        ("revenue", A, "EU"): 0, ("revenue", A, "US"): 40, ("revenue", A, None): 0,
    }
    # fmt: on
    assert run(config, ["revenue"], by=["region"]) == expected
    assert run(config, ["revenue"], by=["customers.region"]) == expected


def test_duplicated_lookup_key_is_refused_with_the_keys_named(data_dir: Path) -> None:
    config = make_config(data_dir, customers="customers_dup.csv")
    with pytest.raises(DataError) as error:
        run(config, ["revenue"], by=["region"])
    assert "not unique" in error.value.message and "10, 11" in error.value.message
    assert error.value.exit_code == 3


def test_breakdown_a_source_lacks_is_a_spec_error_at_the_kpi(config: Config) -> None:
    with pytest.raises(SpecError, match="cannot break down revenue by carrier"):
        run(config, ["revenue"], by=["carrier"])
    with pytest.raises(SpecError, match="cost_to_revenue by carrier: its input 'revenue'") as error:
        run(config, ["cost_to_revenue"], by=["carrier"])
    assert error.value.at.file == "metrics/test.yml"


# -- derived KPIs over two sources: no fan-out --------------------------------------------------


def test_ratio_over_two_sources_aggregates_each_before_joining(config: Config) -> None:
    # Jan has 3 orders and 3 shipments: joining the rows would count revenue 3 times (450).
    # cost Jan 10+5+2 = 17, Feb 8, Mar 4, Apr 6; revenue 150, 0, 100, 40; orders 3, 0, 3, 1
    result = run(config, ["cost_to_revenue", "cost_per_order"])
    assert result == pytest.approx(
        {
            **series("cost_to_revenue", 17 / 150, None, 4 / 100, 6 / 40),  # Feb 8 / 0 → NULL
            **series("cost_per_order", 17 / 3, None, 4 / 3, 6 / 1),
        }
    )


def test_ratio_over_two_sources_by_a_shared_dimension(config: Config) -> None:
    # shipments by their own region column, orders by the customer's; shipment 6 has no region
    result = run(config, ["cost_to_revenue"], by=["region"])
    assert result[("cost_to_revenue", J, "EU")] == pytest.approx(12 / 100)
    assert result[("cost_to_revenue", J, "US")] == pytest.approx(5 / 50)
    assert result[("cost_to_revenue", A, "US")] == 0  # no US shipment in April: cost 0 / 40
    assert result[("cost_to_revenue", A, None)] is None  # cost 6 / revenue 0
    assert len(result) == 12  # 4 months x (EU, US, NULL)


# -- prior and windows: on partial aggregates, never by adding ratios -----------------------------


def test_windows_of_a_count_distinct_are_recomputed_over_the_rows(config: Config) -> None:
    # distinct customers: Jan {10, 11}, Feb {}, Mar {10, 12, 13}, Apr {11}
    result = run(
        config,
        ["customers_prior", "customers_rolling_3", "customers_rolling_2", "customers_cumulative", "customers_qtd"],
    )
    assert result == {
        **series("customers_prior", None, 2, 0, 3),
        **series("customers_rolling_3", 2, 2, 4, 4),  # Mar: {10,11} ∪ {} ∪ {10,12,13} = 4, not 2+0+3
        **series("customers_rolling_2", 2, 2, 3, 4),  # Apr: {10,12,13} ∪ {11}
        **series("customers_cumulative", 2, 2, 4, 4),
        **series("customers_qtd", 2, 2, 4, 1),  # April starts Q2
    }


def test_windows_of_a_ratio_divide_windowed_sums(config: Config) -> None:
    # paid / all orders per month: Jan 2/3, Feb 0/0, Mar 3/3, Apr 1/1
    result = run(
        config,
        [
            "paid_share_prior",
            "paid_share_prior_2",
            "paid_share_rolling_3",
            "paid_share_cumulative",
            "paid_share_qtd",
            "paid_share_ytd",
            "paid_ratio_rolling_3",
        ],
    )
    assert result == pytest.approx(
        {
            **series("paid_share_prior", None, 2 / 3, None, 1),
            **series("paid_share_prior_2", None, None, 2 / 3, None),
            **series("paid_share_rolling_3", 2 / 3, 2 / 3, 5 / 6, 4 / 4),  # Mar (2+0+3)/(3+0+3), not avg(2/3, 1)
            **series("paid_share_cumulative", 2 / 3, 2 / 3, 5 / 6, 6 / 7),
            **series("paid_share_qtd", 2 / 3, 2 / 3, 5 / 6, 1),
            **series("paid_share_ytd", 2 / 3, 2 / 3, 5 / 6, 6 / 7),
            **series("paid_ratio_rolling_3", 2 / 3, 2 / 3, 5 / 6, 4 / 4),  # rolling(a / b) = rolling(a) / rolling(b)
        }
    )


def test_windows_of_an_average_and_a_max(config: Config) -> None:
    # avg = sum / count of non-NULL amounts per month: Jan 180/3, Feb 0/0, Mar 100/2, Apr 40/1
    result = run(config, ["aov_rolling_2", "max_rolling_2"])
    assert result == pytest.approx(
        {
            **series("aov_rolling_2", 60, 60, 50, 140 / 3),  # Apr (100 + 40) / (2 + 1)
            **series("max_rolling_2", 100, 100, 80, 80),
        }
    )


def test_a_range_start_still_reads_what_prior_and_windows_need(config: Config) -> None:
    selected = [
        "customers_prior",
        "customers_rolling_3",
        "customers_cumulative",
        "revenue_cumulative",
        "revenue_ytd",
        "revenue_growth",
    ]
    result = run(config, selected, start="2025-03-15")  # snapped to the whole of March
    assert result == pytest.approx(
        {
            **series("customers_prior", 0, 3, months=(M, A)),  # February had no customer: 0, not unknown
            **series("customers_rolling_3", 4, 4, months=(M, A)),  # January read although before the range
            # cumulative runs from the first row of the data, whatever the range: the same 4 and 4
            # as the whole run (test above); revenue 150 + 0 + 100, then + 40
            **series("customers_cumulative", 4, 4, months=(M, A)),
            **series("revenue_cumulative", 250, 290, months=(M, A)),
            **series("revenue_ytd", 250, 290, months=(M, A)),  # year to date: 150 + 0 + 100, then + 40
            **series("revenue_growth", None, 40 / 100 - 1, months=(M, A)),  # Mar: 100 / 0 → NULL
        }
    )


def test_a_range_end_cuts_the_periods(config: Config) -> None:
    assert run(config, ["orders_n"], end="2025-02-10") == series("orders_n", 3, 0, months=(J, F))
    # the range shows periods of the data: December 2024 is before the first order, not 0 orders
    result = run(config, ["orders_n"], start="2024-12-01", end="2025-01-31")
    assert result == series("orders_n", 3, months=(J,))


# -- grains -------------------------------------------------------------------------------------


def test_every_grain(config: Config) -> None:
    assert run(config, ["orders_n"], grain="year") == {("orders_n", J): 7}
    assert run(config, ["orders_n"], grain="quarter") == {("orders_n", J): 6, ("orders_n", A): 1}
    days = run(config, ["orders_n"], grain="day")
    assert len(days) == 29 + 28 + 31 + 1  # Jan 3 … Apr 1, every day
    assert {day for (_, day), n in days.items() if n} == {
        dt.date(2025, 1, 3),
        dt.date(2025, 1, 15),
        dt.date(2025, 1, 20),
        dt.date(2025, 3, 2),
        dt.date(2025, 3, 5),
        dt.date(2025, 3, 28),
        dt.date(2025, 4, 1),
    }


def test_iso_weeks_start_on_monday(config: Config) -> None:
    weeks = run(config, ["orders_n"], grain="week")
    # Fri 2025-01-03 is in the week of Mon 2024-12-30; Sun 03-02 in the week of Mon 02-24
    assert min(weeks)[1] == dt.date(2024, 12, 30) and max(weeks)[1] == dt.date(2025, 3, 31)
    assert len(weeks) == 14 and all(week.weekday() == 0 for _, week in weeks)
    busy = {week: n for (_, week), n in weeks.items() if n}
    assert busy == {
        dt.date(2024, 12, 30): 1,
        dt.date(2025, 1, 13): 1,
        dt.date(2025, 1, 20): 1,
        dt.date(2025, 2, 24): 1,
        dt.date(2025, 3, 3): 1,
        dt.date(2025, 3, 24): 1,
        dt.date(2025, 3, 31): 1,
    }


# -- sources: CSV with a header only, missing files, globs, hive folders, in-memory rows ------------


def test_csv_with_a_header_only(data_dir: Path) -> None:
    config = make_config(data_dir)
    assert run(config, ["returns_n", "returned"]) == {}
    # no row, no period: a range does not invent months the source does not cover
    assert run(config, ["returns_n", "returned"], start="2025-01-01", end="2025-02-28") == {}
    assert set(engine.describe(config, "returns")) == {"return_id", "return_date", "order_id", "amount"}


def test_a_missing_file_is_a_data_error_naming_the_path(data_dir: Path) -> None:
    config = make_config(data_dir, orders="nowhere/orders.parquet")
    with pytest.raises(DataError, match=r"nowhere/orders\.parquet") as error:
        engine.describe(config, "orders")
    assert error.value.exit_code == 3


def test_a_parquet_glob_matching_nothing_is_a_data_error_naming_the_pattern(data_dir: Path) -> None:
    config = make_config(data_dir, orders="parts/*.parquet")
    compiled = compiler.compile(planner.plan(config, KPIS, ["orders_n"], grain="month"))
    with pytest.raises(DataError, match=r"no file matches 'parts/\*.parquet'"):
        engine.execute(compiled, config)


def test_hive_partitioned_folder_and_glob(data_dir: Path, tmp_path: Path) -> None:
    with duckdb.connect() as con:
        con.execute(
            f"COPY (SELECT * FROM read_csv('{data_dir / 'orders.csv'}')) TO '{tmp_path / 'hive'}' "
            "(FORMAT parquet, PARTITION_BY (status))"
        )
    shutil.copy(data_dir / "customers.csv", tmp_path / "customers.csv")
    for path in ("hive", "hive/*/*.parquet"):
        config = make_config(tmp_path, orders=path)
        orders = config.sources["orders"]
        config.sources["orders"] = Source(**{**vars(orders), "hive_partitioning": True, "format": "parquet"})
        result = run(config, ["orders_n"], by=["status"], grain="quarter")
        assert result == {
            ("orders_n", J, "paid"): 5,
            ("orders_n", J, "cancelled"): 1,
            ("orders_n", A, "paid"): 1,
            ("orders_n", A, "cancelled"): 0,
        }


def test_in_memory_rows_run_the_same_sql(data_dir: Path) -> None:
    config = make_config(data_dir)
    tables: dict[str, list[dict[str, Any]]] = {
        "orders": [  # dates as YAML gives them: text
            {"order_id": 1, "order_date": "2025-01-03", "customer_id": 10, "amount": 100.0, "status": "paid"},
            {"order_id": 2, "order_date": "2025-02-15", "customer_id": 11, "amount": 50, "status": "paid"},
            {"order_id": 3, "order_date": "2025-04-20", "customer_id": 12, "amount": None, "status": "paid"},
        ],
        "customers": [{"customer_id": 10, "region": "EU"}, {"customer_id": 11, "region": "US"}],
    }
    columns = {name: {c for row in rows for c in row} for name, rows in tables.items()}  # region: a lookup's
    compiled = compiler.compile(
        planner.plan(config, KPIS, ["revenue"], by=["region"], grain="quarter", columns=columns)
    )
    rows = engine.execute(compiled, config, tables=tables)
    assert {(r.period, r.dims["region"]): r.value for r in rows} == {
        (J, "EU"): 100,
        (J, "US"): 50,
        (J, None): 0,
        (A, "EU"): 0,
        (A, "US"): 0,
        (A, None): None,  # order 3 (customer 12: no region) has no amount: unknown, not 0
    }


def test_in_memory_rows_take_declared_types_for_missing_columns(data_dir: Path) -> None:
    config = make_config(data_dir)
    compiled = compiler.compile(planner.plan(config, KPIS, ["orders_n"], by=["channel"], grain="month"))
    tables = {"orders": [{"order_id": 1, "order_date": "2025-01-03"}]}
    types = {"orders": {"channel": "VARCHAR", "amount": "DOUBLE"}}
    rows = engine.execute(compiled, config, tables=tables, types=types)
    assert [(r.period, r.dims, r.value) for r in rows] == [(J, {"channel": None}, 1.0)]


# -- errors and the sandbox -------------------------------------------------------------------


def test_a_duckdb_error_points_at_the_kpi_with_the_sql_attached(data_dir: Path) -> None:
    config = make_config(data_dir)
    kpis = {**KPIS, "typo": kpi("typo", "sum(amout)", "orders", line=7)}
    compiled = compiler.compile(planner.plan(config, kpis, ["orders_n", "typo"], grain="month"))  # no schema
    with pytest.raises(DataError, match="amout") as error:
        engine.execute(compiled, config)
    assert error.value.at == Location("metrics/test.yml", 7)
    assert error.value.sql == compiled.sql and error.value.exit_code == 3


def query(sql: str) -> compiler.CompiledQuery:
    return compiler.CompiledQuery(sql=sql, params={}, kpis=(), sources=("orders",))


@pytest.mark.parametrize(
    ("sql", "refusal"),
    [
        ("SELECT * FROM read_csv('/etc/passwd')", "outside the declared sources"),
        ("SELECT count(*) FROM read_parquet('{folder}/customers.parquet')", "outside the declared sources"),
        ("COPY orders TO '{folder}/orders.csv' (USE_TMP_FILE false)", "this SQL has COPY"),
        ("ATTACH '{folder}/x.duckdb'", "this SQL has ATTACH"),
        ("INSTALL httpfs", "this SQL has LOAD"),
        ("SELECT 1; COPY orders TO '{folder}/orders.csv' (USE_TMP_FILE false)", "this SQL has SELECT, COPY"),
        ("SET enable_external_access = true", "this SQL has SET"),
    ],
)
def test_the_sandbox_refuses(sql: str, refusal: str, data_dir: Path, tmp_path: Path) -> None:
    shutil.copy(data_dir / "orders.csv", tmp_path / "orders.csv")
    shutil.copy(data_dir / "customers.parquet", tmp_path / "customers.parquet")
    before = (tmp_path / "orders.csv").read_bytes()
    with pytest.raises(SpecError, match="refused") as error:
        engine.execute(query(sql.format(folder=tmp_path)), make_config(tmp_path))
    assert refusal in error.value.message
    assert (tmp_path / "orders.csv").read_bytes() == before


def test_a_runaway_query_is_stopped(data_dir: Path) -> None:
    runaway = query("SELECT count(*) FROM range(1000000000) AS a, range(1000000000) AS b")
    with pytest.raises(DataError, match=r"stopped after 0\.2 s"):
        engine.execute(runaway, make_config(data_dir), timeout=0.2)


def test_errors_are_kpi_errors() -> None:
    assert issubclass(DataError, KpiError) and issubclass(SpecError, KpiError)


def test_schemas_merge_the_files_with_given_rows(data_dir: Path) -> None:
    config = make_config(data_dir, shipments="missing.csv")
    found, unreadable = engine.schemas(config, {"orders": [{"order_id": 1, "coupon": "X"}], "extra": [{"a": 1.5}]})
    assert unreadable == []
    assert "shipments" not in found  # no file: skipped, `run` reports it
    assert found["orders"]["order_date"] == "DATE" and found["orders"]["coupon"] == "VARCHAR"
    assert found["extra"] == {"a": "DOUBLE"} and found["customers"]["region"] == "VARCHAR"


def test_a_broken_file_is_a_data_error_naming_the_source(tmp_path: Path) -> None:
    (tmp_path / "orders.parquet").write_bytes(b"not a parquet file")
    with pytest.raises(DataError, match="cannot read source 'orders'") as error:
        engine.describe(make_config(tmp_path, "parquet"), "orders")
    assert error.value.exit_code == 3


def test_in_memory_rows_without_the_lookup_rows_give_null_dimensions(data_dir: Path) -> None:
    config = make_config(data_dir)
    columns = {"orders": ["order_id", "order_date", "customer_id"], "customers": ["customer_id", "region"]}
    plan = planner.plan(config, KPIS, ["orders_n"], by=["region"], grain="month", columns=columns)
    tables = {"orders": [{"order_id": 1, "order_date": "2025-01-03", "customer_id": 10}]}
    with pytest.raises(DataError, match="region"):  # the lookup's key is there, its columns are not
        engine.execute(compiler.compile(plan), config, tables=tables)
    rows = engine.execute(compiler.compile(plan), config, tables=tables, types={"customers": {"region": "VARCHAR"}})
    assert [(r.period, r.dims, r.value) for r in rows] == [(J, {"region": None}, 1.0)]


def test_a_sum_over_rows_that_are_all_null_is_null_not_0(data_dir: Path) -> None:
    """Issue 13, point 4: unknown amounts sum to unknown; 0 only where no row reaches the sum."""
    tables: dict[str, list[dict[str, Any]]] = {
        "orders": [
            {"order_id": 1, "order_date": "2025-01-03", "amount": None, "status": "paid"},
            {"order_id": 2, "order_date": "2025-01-20", "amount": None, "status": "paid"},
            # no order in February
            {"order_id": 3, "order_date": "2025-03-02", "amount": 10.0, "status": "paid"},
            {"order_id": 4, "order_date": "2025-04-09", "amount": None, "status": "cancelled"},
        ]
    }
    kpis = {
        k.name: k
        for k in [
            kpi("total", "sum(amount)", "orders"),
            kpi("paid", "sum(amount)", "orders", filters=("status = 'paid'",)),
            kpi("refunded", "sum(amount) filter (where status = 'refunded')", "orders"),
            kpi("total_2", "rolling(total, 2)"),
            kpi("total_cum", "cumulative(total)"),
            kpi("paid_cum", "cumulative(paid)"),
        ]
    }
    columns = {"orders": {"order_id", "order_date", "amount", "status"}}
    plan = planner.plan(make_config(data_dir), kpis, list(kpis), grain="month", columns=columns)
    rows = engine.execute(compiler.compile(plan), make_config(data_dir), tables=tables)
    assert {(r.kpi, r.period): r.value for r in rows} == {
        **series("total", None, 0, 10, None),  # Jan: two rows, both NULL; Feb: no row; Apr: one NULL
        **series("paid", None, 0, 10, 0),  # April has a row, but none paid: no row of the KPI
        **series("refunded", 0, 0, 0, 0),  # the sum's own filter matches no row
        **series("total_2", None, None, 10, 10),  # Feb's window holds January's NULL rows
        **series("total_cum", None, None, 10, 10),
        **series("paid_cum", None, None, 10, 10),
    }


def test_weekly_to_date_follows_the_iso_year_of_the_week_labels(data_dir: Path) -> None:
    """Issue 13, point 2: 2013-W01 starts on 2012-12-31 and 2014-W01 on 2013-12-30."""
    days = ["2012-12-31", "2013-01-02", "2013-01-07", "2013-12-23", "2013-12-30", "2014-01-01"]
    tables: dict[str, list[dict[str, Any]]] = {
        "orders": [{"order_id": i, "order_date": d, "amount": 1.0} for i, d in enumerate(days)]
    }
    kpis = {k.name: k for k in [kpi("orders_n", "count(*)", "orders"), kpi("ytd", "to_date(orders_n, year)")]}
    columns = {"orders": {"order_id", "order_date", "amount"}}
    config = make_config(data_dir)
    rows = engine.execute(
        compiler.compile(planner.plan(config, kpis, ["ytd"], grain="week", columns=columns)), config, tables=tables
    )
    values = {r.period.isocalendar()[:2]: r.value for r in rows}
    # ISO weeks (year, week): 2013-W01 holds Dec 31 and Jan 2; 2014-W01 holds Dec 30 and Jan 1
    assert values[(2013, 1)] == 2  # not 1: the week's Monday is in 2012, its label in 2013
    assert values[(2013, 2)] == 3
    assert values[(2013, 52)] == 4  # the last week of ISO year 2013 (starts 2013-12-23)
    assert values[(2014, 1)] == 2  # a new ISO year, not the whole of 2013
    assert len(values) == 53  # every week of ISO 2013 (52) and 2014-W01


@pytest.mark.parametrize("unit", ["month", "quarter"])
def test_weekly_to_date_of_a_month_or_quarter_is_refused(config: Config, unit: str) -> None:
    """Issue 13, point 2: a week can straddle two months, so a week is never 'month to date'."""
    kpis = {**KPIS, "mtd": kpi("mtd", f"to_date(orders_n, {unit})")}
    with pytest.raises(SpecError, match=f"to_date\\(orders_n, {unit}\\) is not defined at week grain") as error:
        run(config, ["mtd"], kpis=kpis, grain="week")
    assert error.value.hint and "year" in error.value.hint
    assert run(config, ["mtd"], kpis=kpis, grain="day")  # at day grain it is defined


def test_breakdowns_follow_the_declared_dimensions(config: Config) -> None:
    """Issue 13, point 7: a KPI that declares dimensions breaks down by those only — a column of
    the source, a lookup's column and an expression alike; one without declares none to check."""
    declared = (Dimension("status"), Dimension("region"), Dimension("size", "CASE WHEN amount >= 50 THEN 'l' END"))
    kpis = {**KPIS, "n": kpi("n", "count(*)", "orders", dimensions=declared), "share": kpi("share", "n / 2")}
    assert run(config, ["n"], kpis=kpis, by=["region"])[("n", J, "EU")] == 2  # a lookup's column, declared
    assert run(config, ["n"], kpis=kpis, by=["size"])[("n", J, "l")] == 2  # an expression, declared
    for name, hint in [("channel", "add 'channel' to the dimensions of n"), ("regoin", "did you mean 'region'?")]:
        with pytest.raises(SpecError, match=f"cannot break down n by {name}: '{name}' is not one of its dimensions"):
            run(config, ["n"], kpis=kpis, by=[name])
        with pytest.raises(SpecError, match=f"cannot break down share by {name}: its input 'n'") as error:
            run(config, ["share"], kpis=kpis, by=[name])
        assert error.value.hint == hint
    assert run(config, ["orders_n"], by=["channel"])  # no dimensions declared: any column


def test_a_run_fetched_as_columns_codes_text_and_keeps_the_query_order(data_dir: Path) -> None:
    """``fetch_table`` fetches a text column as codes into its distinct values (each fetched once)
    and orders the rows by the codes: KPIs in the run's order, then period, then the text's bytes,
    NULL last (worked out by hand below); the values of ``execute``'s rows (ordered by the SQL:
    KPIs by name)."""
    config = make_config(data_dir)
    names = [None, "", "None", "B", "a", "é", "Z", 'a b,"c"\n']
    tables: dict[str, list[dict[str, Any]]] = {
        "orders": [
            {"order_id": i, "order_date": day, "customer_id": i, "amount": float(i), "status": name}
            for i, (day, name) in enumerate(
                [("2025-01-03", n) for n in names] + [("2025-02-03", "B"), ("2025-02-04", None)], start=1
            )
        ],
    }
    types = {"orders": {"status": "VARCHAR"}}
    columns = {name: {c for row in rows for c in row} for name, rows in tables.items()}
    plan = planner.plan(config, KPIS, ["max_amount", "aov"], by=["status"], grain="month", columns=columns)
    compiled = compiler.compile(plan)
    # by bytes: "" < "B" < "None" < "Z" < "a" < "a b,..." < "é", then NULL; the KPIs as selected
    in_order = ["", "B", "None", "Z", "a", 'a b,"c"\n', "é", None]
    amount = {n: float(names.index(n) + 1) for n in names}
    expected = []
    assert compiled.kpis == ("max_amount", "aov")
    for kpi_name in ("max_amount", "aov"):
        for month, extra in ((J, {"B": 9.0, None: 10.0}), (F, {"B": 9.0, None: 10.0})):
            for name in in_order:
                value = amount[name] if month == J else extra.get(name)
                expected.append((kpi_name, month, name, value))
    with engine.connect(config, compiled.sources, tables=tables, types=types) as con:
        found = engine.fetch_table(con, compiled)
    assert [(r.kpi, r.period, r.dims["status"], r.value) for r in found.rows()] == expected
    assert found.coded["status"][1] == in_order  # each distinct value once, in the query's order
    by_name = sorted(expected, key=lambda row: row[0])  # stable: aov's rows first, each KPI's in the same order
    assert [(r.kpi, r.period, r.dims["status"], r.value) for r in engine.execute(compiled, config, tables=tables)] == (
        by_name
    )


def test_a_run_fetched_as_columns_runs_only_one_select_statement(data_dir: Path) -> None:
    """The fetch wraps the compiled query in a CREATE TABLE of its own: the query itself must still
    be exactly one SELECT, or nothing runs (a second statement could write a declared source)."""
    import dataclasses

    config = make_config(data_dir)
    tables: dict[str, list[dict[str, Any]]] = {"orders": [{"order_id": 1, "order_date": "2025-01-03", "amount": 1.0}]}
    compiled = compiler.compile(planner.plan(config, KPIS, ["max_amount"], grain="month"))
    for extra in ("CREATE TABLE written AS SELECT 1; ", "COPY orders TO 'x.csv'; "):
        smuggled = dataclasses.replace(compiled, sql=extra + compiled.sql)
        with engine.connect(config, compiled.sources, tables=tables) as con:
            with pytest.raises(SpecError, match="refused to run: kpictl runs exactly one SELECT statement"):
                engine.fetch_table(con, smuggled)
            assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'written'").fetchone() == (0,)


def test_what_does_not_fit_in_memory_spills_into_a_private_folder_removed_after(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DuckDB's own default spill folder is ``.tmp`` in the working folder (the project's, often),
    left behind; the sandbox's is a private temporary folder, removed with the connection."""
    import gc
    import os

    monkeypatch.chdir(tmp_path)
    con = engine.connect(make_config(data_dir), [], memory_limit="64MB")
    spill = Path(str(con.execute("SELECT current_setting('temp_directory')").fetchone()[0]))  # type: ignore[index]
    con.execute("CREATE TEMP TABLE big AS SELECT i, repeat('x', 60) || i AS s FROM range(3000000) AS t(i)")
    spilled = con.execute("SELECT count(*) FROM duckdb_temporary_files()").fetchone()
    assert spilled is not None and spilled[0] > 0  # it did not fit: written to disk
    assert spill.is_dir() and any(spill.iterdir())
    assert not str(spill).startswith(str(tmp_path)) and not (tmp_path / ".tmp").exists()
    con.close()
    del con
    gc.collect()
    assert not spill.parent.exists()
    assert os.listdir(tmp_path) == []
