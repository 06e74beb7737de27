"""The planner and its helpers: fusion into scans, partial aggregates, derived ordering, windows,
lookback, column resolution through lookups, and calendar arithmetic. No data is read here."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kpictl.errors import InvalidProject, Location, SpecError
from kpictl.model import Config, Dimension, Kpi, Lookup, Source
from kpictl.sql import periods, planner
from kpictl.sql.aggregates import decompose, empty_value, null_safe, tree_of
from kpictl.sql.derived import Ref, Window

NAMES = {
    "orders": ["order_id", "order_date", "customer_id", "amount", "status", "channel", "on_time"],
    "customers": ["customer_id", "region", "segment", "since"],
    "agents": ["customer_id", "region", "agent"],
    "shipments": ["shipment_id", "ship_date", "delivered_date", "cost", "region", "carrier"],
}
COLUMNS = {source: dict.fromkeys(names, "VARCHAR") for source, names in NAMES.items()}  # as engine.schemas


def kpi(name: str, formula: str, source: str | None = None, **fields: Any) -> Kpi:
    return Kpi(name=name, formula=formula, file="m.yml", source=source, at=Location("m.yml", 1), **fields)


CONFIG = Config(
    name="t",
    root=".",
    sources={
        "orders": Source("orders", "o.csv", "csv", time="order_date", lookups=(Lookup("customers", "customer_id"),)),
        "customers": Source("customers", "c.csv", "csv"),
        "shipments": Source("shipments", "s.csv", "csv", time="ship_date"),
    },
)
KPIS = {
    k.name: k
    for k in [
        kpi("revenue", "sum(amount)", "orders", filters=("status = 'paid'",)),
        kpi("orders_n", "count(*)", "orders"),
        kpi("aov", "avg(amount)", "orders"),
        kpi("paid_share", "count(*) filter (where on_time) / count(*)", "orders", filters=("status = 'paid'",)),
        kpi("customers_n", "count(distinct customer_id)", "orders"),
        kpi("cost", "sum(cost)", "shipments"),
        kpi("deliveries", "count(*)", "shipments", time="delivered_date"),
        kpi("cost_to_revenue", "cost / revenue"),
        kpi("cost_to_revenue_pct", "cost_to_revenue * 100"),
        kpi("growth", "revenue / prior(revenue) - 1"),
        kpi("rolling_ratio", "rolling(cost_to_revenue_pct, 3)"),
        kpi("quarterly", "to_date(revenue, quarter)"),
        kpi("yearly", "to_date(revenue, year) + cumulative(customers_n)"),
    ]
}


def make(selected: list[str], **options: Any) -> planner.Plan:
    options.setdefault("columns", COLUMNS)
    return planner.plan(CONFIG, KPIS, selected, grain=options.pop("grain", "month"), **options)


def test_kpis_of_one_source_grain_and_breakdown_share_one_scan() -> None:
    plan = make(["revenue", "orders_n", "aov", "paid_share", "customers_n"], by=["region"])
    (scan,) = plan.scans
    assert [m.kpi for m in scan.measures] == ["revenue", "orders_n", "aov", "paid_share", "customers_n"]
    assert [d.sql for d in scan.dims] == ['"customers"."region"']  # a lookup's column, by its bare name
    assert [j.lookup.source for j in scan.joins] == ["customers"]
    assert [(p.sql, p.combine, p.empty) for p in scan.partials] == [
        # a sum is NULL over rows whose amounts are all NULL, and 0 where its count of rows is 0
        ('SUM("orders"."amount") FILTER(WHERE "orders"."status" = \'paid\')', "sum", None),
        ('COUNT(*) FILTER(WHERE "orders"."status" = \'paid\')', "sum", "0"),  # shared by paid_share
        ("COUNT(*)", "sum", "0"),  # orders_n
        ('SUM("orders"."amount")', "sum", "0"),  # avg = sum / count: both add up over periods
        ('COUNT("orders"."amount")', "sum", "0"),
        ('COUNT(*) FILTER(WHERE "orders"."status" = \'paid\' AND "orders"."on_time")', "sum", "0"),
        ('COUNT(DISTINCT "orders"."customer_id")', "recompute", "0"),  # distinct counts do not add up
    ]
    aov = next(m for m in scan.measures if m.kpi == "aov")
    assert aov.expr.sql("duckdb") == '("aov__1" / NULLIF("aov__2", 0))'


def test_another_time_column_source_or_grain_is_another_scan() -> None:
    plan = make(["cost", "deliveries", "revenue"])
    assert [(s.source, s.time) for s in plan.scans] == [
        ("shipments", '"shipments"."ship_date"'),
        ("shipments", '"shipments"."delivered_date"'),
        ("orders", '"orders"."order_date"'),
    ]
    kpis = {**KPIS, "orders_q": kpi("orders_q", "count(*)", "orders", grain="quarter")}
    mixed = planner.plan(CONFIG, kpis, ["orders_n", "orders_q"], columns=COLUMNS)  # each KPI at its own grain
    assert [s.grain for s in mixed.scans] == ["month", "quarter"]
    assert mixed.outputs == (("orders_n", "month"), ("orders_q", "quarter"))


def test_a_dimension_declared_differently_splits_the_scan() -> None:
    size = Dimension("size", "CASE WHEN amount > 50 THEN 'large' END")
    kpis = {
        "a": kpi("a", "count(*)", "orders", dimensions=(size,)),
        "b": kpi("b", "sum(amount)", "orders", dimensions=(size,)),
        "c": kpi("c", "max(amount)", "orders", dimensions=(Dimension("size", "amount > 10"),)),
    }
    plan = planner.plan(CONFIG, kpis, ["a", "b", "c"], grain="month", by=["size"], columns=COLUMNS)
    assert [[m.kpi for m in s.measures] for s in plan.scans] == [["a", "b"], ["c"]]


def test_derived_kpis_come_after_their_inputs_which_are_planned_too() -> None:
    plan = make(["cost_to_revenue_pct"])
    assert [d.kpi for d in plan.derived] == ["cost_to_revenue", "cost_to_revenue_pct"]
    assert {m.kpi for s in plan.scans for m in s.measures} == {"cost", "revenue"}
    assert plan.outputs == (("cost_to_revenue_pct", "month"),)
    assert plan.derived[0].expr.sql("duckdb") == '"ref_1" / NULLIF("ref_2", 0)'


def test_prior_is_a_shifted_reference() -> None:
    (growth,) = make(["growth"]).derived
    assert growth.refs == (Ref("ref_1", "revenue"), Ref("ref_2", "revenue", shift=1))


def test_a_window_over_a_derived_kpi_applies_to_its_leaves() -> None:
    plan = make(["rolling_ratio"])
    (node,) = plan.derived
    assert node.expr.sql("duckdb") == '(("ref_1" / NULLIF("ref_2", 0)) * 100)'
    assert [(r.kpi, r.window) for r in node.refs] == [("cost", Window("rolling", 3)), ("revenue", Window("rolling", 3))]
    windows = {m.kpi: [w for w, _ in m.windows] for s in plan.scans for m in s.measures}
    assert windows == {"cost": [Window("rolling", 3)], "revenue": [Window("rolling", 3)]}


def test_a_to_date_unit_finer_than_the_grain_asked_is_an_error() -> None:
    """The KPIs come checked (checks: names, arguments, cycles); what the run's options
    decide is checked here, with the message validate gives at the KPI's own grain."""
    kpis = {**KPIS, "bad": kpi("bad", "to_date(revenue, month)")}
    with pytest.raises(SpecError) as error:
        planner.plan(CONFIG, kpis, ["bad"], grain="quarter", columns=COLUMNS)
    assert error.value.message == (
        "to_date(revenue, month): the unit must be one of year, quarter, month, week,"
        " not finer than the grain (quarter)"
    )


def test_unknown_selection_is_an_error() -> None:
    with pytest.raises(SpecError, match="unknown KPI 'revenu'") as error:
        make(["revenu"])
    assert error.value.hint == "did you mean 'revenue'?"


def test_a_kpi_can_be_bucketed_by_a_date_of_a_lookup() -> None:
    kpis = {**KPIS, "by_signup": kpi("by_signup", "count(*)", "orders", time="since")}
    (scan,) = planner.plan(CONFIG, kpis, ["by_signup"], grain="month", columns=COLUMNS).scans
    assert scan.time == '"customers"."since"'
    assert [j.lookup.source for j in scan.joins] == ["customers"]


def test_several_problems_are_reported_together() -> None:
    with pytest.raises(InvalidProject) as error:
        make(["revenu", "cost"], by=["segment"])  # an unknown KPI, and shipments has no segment
    assert [e.message for e in error.value.errors] == [
        "unknown KPI 'revenu'",  # no location: sorted first
        "cannot break down cost by segment: unknown column 'segment' in --by: not in source 'shipments'",
    ]


def test_a_breakdown_an_input_lacks_names_the_input() -> None:
    with pytest.raises(SpecError) as error:
        make(["cost_to_revenue_pct"], by=["carrier"])
    assert error.value.message == (
        "cannot break down cost_to_revenue_pct by carrier: its input 'revenue': "
        "unknown column 'carrier' in --by: not in source 'orders' or its lookups (customers)"
    )
    with pytest.raises(SpecError, match="did you mean 'region'"):
        make(["cost"], by=["regoin"])


def test_column_resolution_through_lookups() -> None:
    config = Config(
        name="t",
        root=".",
        sources={
            "orders": Source(
                "orders",
                "o.csv",
                "csv",
                time="order_date",
                lookups=(Lookup("customers", "customer_id"), Lookup("agents", "customer_id")),
            ),
            "customers": Source("customers", "c.csv", "csv"),
            "agents": Source("agents", "a.csv", "csv"),
        },
    )
    kpis = {"n": kpi("n", "count(*)", "orders"), "segments": kpi("segments", "count(distinct segment)", "orders")}

    def dims(*by: str, columns: Any = COLUMNS) -> list[str]:
        plan = planner.plan(config, kpis, ["n"], grain="month", by=by, columns=columns)
        return [d.sql for d in plan.scans[0].dims]

    assert dims("agent") == ['"agents"."agent"']  # the one lookup that has it
    assert dims("customer_id") == ['"orders"."customer_id"']  # the source's own column wins
    assert dims("customers.region", "agents.region") == ['"customers"."region"', '"agents"."region"']
    with pytest.raises(SpecError, match="several lookups") as error:
        dims("region")
    assert error.value.hint == "write customers.region"
    assert dims("agent", columns=None) == ['"orders"."agent"']  # no schema known: the source's own
    plan = planner.plan(config, kpis, ["segments"], grain="month", columns=COLUMNS)
    assert plan.scans[0].partials[0].sql == 'COUNT(DISTINCT "customers"."segment")'
    assert [j.lookup.source for j in plan.scans[0].joins] == ["customers"]


def test_where_is_qualified_per_scan() -> None:
    plan = make(["cost", "revenue"], where="region = 'EU'")
    assert [s.where for s in plan.scans] == [('"shipments"."region" = \'EU\'',), ('"customers"."region" = \'EU\'',)]


def test_a_range_does_not_change_what_is_read() -> None:
    # cumulative, to_date, rolling and prior read the periods before the first one shown, and the
    # breakdown groups are the data's: --from/--to only choose the periods shown (issue 13, point 1)
    names = ["growth", "rolling_ratio", "quarterly", "yearly"]
    assert make(names, start="2025-05-20").scans == make(names).scans
    assert make(names, start="2025-05-20", end="2025-06-01").scans == make(names).scans
    with pytest.raises(SpecError, match="not YYYY-MM-DD"):
        make(["cost"], start="May 2025")


# -- aggregates -------------------------------------------------------------------------------


def split(formula: str, *filters: str) -> tuple[str, list[tuple[str, str, str | None]]]:
    post, specs = decompose(null_safe(tree_of(formula, Location())), [tree_of(f, Location()) for f in filters])
    return post.sql("duckdb"), [(s.sql, s.combine, s.empty) for s in specs]


def test_partial_aggregates_and_their_value_over_zero_rows() -> None:
    assert split("min(x) + max(x)") == ('"__p0" + "__p1"', [("MIN(x)", "min", None), ("MAX(x)", "max", None)])
    assert split("quantile_cont(x, 0.5)") == ('"__p0"', [("QUANTILE_CONT(x, 0.5)", "recompute", None)])
    # a sum is NULL over rows whose values are all NULL, 0 over no rows: the row count decides
    assert split("sum(distinct x)") == (
        '(CASE WHEN "__p1" = 0 THEN 0 ELSE "__p0" END)',
        [("SUM(DISTINCT x)", "recompute", None), ("COUNT(*)", "sum", "0")],
    )
    assert split("approx_count_distinct(x)")[1] == [("APPROX_COUNT_DISTINCT(x)", "recompute", "0")]
    assert split("count(*) filter (where a or b)", "c") == (
        '"__p0"',
        [("COUNT(*) FILTER(WHERE c AND (a OR b))", "sum", "0")],
    )
    assert split("avg(x) filter (where y)") == (
        '("__p0" / NULLIF("__p1", 0))',
        [("SUM(x) FILTER(WHERE y)", "sum", "0"), ("COUNT(x) FILTER(WHERE y)", "sum", "0")],
    )


def test_every_division_is_null_safe_but_by_a_nonzero_constant() -> None:
    assert (
        null_safe(tree_of("sum(a / b) / count(*)", Location())).sql() == "SUM(a / NULLIF(b, 0)) / NULLIF(COUNT(*), 0)"
    )
    assert null_safe(tree_of("x / 100 + y % z + y // z", Location())).sql("duckdb") == (
        "x / 100 + y % NULLIF(z, 0) + y // NULLIF(z, 0)"
    )
    assert null_safe(tree_of("x / 0", Location())).sql() == "x / NULLIF(0, 0)"


def test_empty_value_evaluates_a_formula_over_zero_rows() -> None:
    def tree(sql: str) -> Any:
        return tree_of(sql, Location())

    assert empty_value(tree('"a" / NULLIF("b", 0)'), {"a": "0", "b": "0"}) is None  # a ratio: NULL
    assert empty_value(tree('"a" - "b" * 2'), {"a": "0", "b": "0"}) == "0"  # sums: 0
    assert empty_value(tree('"a" + "m"'), {"a": "0", "m": None}) is None  # with a max: NULL
    assert empty_value(tree('COALESCE("m", 0)'), {"m": None}) == "COALESCE(NULL, 0)"  # left to SQL


# -- calendar ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("grain", "day", "start", "next_start", "before_start"),
    [
        ("day", dt.date(2024, 2, 29), dt.date(2024, 2, 29), dt.date(2024, 3, 1), dt.date(2024, 2, 28)),
        ("week", dt.date(2025, 1, 1), dt.date(2024, 12, 30), dt.date(2025, 1, 6), dt.date(2024, 12, 23)),
        ("week", dt.date(2025, 3, 2), dt.date(2025, 2, 24), dt.date(2025, 3, 3), dt.date(2025, 2, 17)),
        ("month", dt.date(2025, 1, 31), dt.date(2025, 1, 1), dt.date(2025, 2, 1), dt.date(2024, 12, 1)),
        ("quarter", dt.date(2025, 11, 15), dt.date(2025, 10, 1), dt.date(2026, 1, 1), dt.date(2025, 7, 1)),
        ("year", dt.date(2025, 6, 30), dt.date(2025, 1, 1), dt.date(2026, 1, 1), dt.date(2024, 1, 1)),
    ],
)
def test_periods(grain: str, day: dt.date, start: dt.date, next_start: dt.date, before_start: dt.date) -> None:
    assert periods.start(grain, day) == start
    assert periods.shift(grain, start, 1) == next_start
    assert periods.shift(grain, start, -1) == before_start
    assert periods.shift(grain, start, 0) == start


def test_intervals() -> None:
    assert [periods.interval(g, 2) for g in periods.GRAINS] == [
        "INTERVAL 2 HOUR",
        "INTERVAL 2 DAY",
        "INTERVAL 14 DAY",
        "INTERVAL 2 MONTH",
        "INTERVAL 6 MONTH",
        "INTERVAL 2 YEAR",
    ]
