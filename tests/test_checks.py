"""Semantic checks: names, references, cycles, dimensions, targets, tests, and columns against a
hand-given ``schemas`` dict (what DESCRIBE of the sources would say), so no DuckDB is needed."""

from __future__ import annotations

import textwrap

import pytest

from kpictl.errors import KpiError
from kpictl.language import checks, document, spec
from kpictl.model import Config, Kpi

PROJECT = """\
name: acme
sources:
  customers: {path: data/customers.parquet, key: customer_id}
  orders:
    path: data/orders.parquet
    key: order_id
    time: order_date
    lookups: [{source: customers, on: customer_id}]
  shipments: {path: "data/shipments/*.csv", time: ship_date}
vars: {start: 2025-04-01}
"""

SCHEMAS = {
    "customers": {"customer_id": "INTEGER", "region": "VARCHAR", "segment": "VARCHAR"},
    "orders": {
        "order_id": "INTEGER",
        "order_date": "DATE",
        "customer_id": "INTEGER",
        "amount": "DOUBLE",
        "status": "VARCHAR",
        "channel": "VARCHAR",
        "region": "VARCHAR",
    },
    "shipments": {"ship_date": "DATE", "on_time": "BOOLEAN", "carrier": "VARCHAR", "cost": "DOUBLE"},
}


def config(text: str = PROJECT) -> Config:
    doc, errors = document.load_text(text, "kpictl.yml")
    assert not errors and not spec.check_shape(doc, "project")
    return spec.build_config(doc, ".")


def kpis(text: str, file: str = "metrics/x.yml") -> list[Kpi]:
    doc, errors = document.load_text(textwrap.dedent(text), file)
    assert not errors
    assert not spec.check_shape(doc, "kpis"), spec.check_shape(doc, "kpis")
    built, errors = spec.build_kpis(doc)
    assert not errors
    return built


def problems(text: str, schemas: dict[str, dict[str, str]] | None = None, project: str = PROJECT) -> list[str]:
    """Every problem as 'line:col: message (hint)', sorted like the CLI prints them."""
    _, errors = checks.check(config(project), kpis(text), schemas=schemas)
    return [str(e).removeprefix("metrics/x.yml:") for e in sorted(errors, key=KpiError.sort_key)]


SALES = """\
kpis:
  - name: revenue
    source: orders
    formula: sum(amount)
    dimensions: [region, channel]
  - name: order_count
    source: orders
    formula: count(*)
    dimensions: [region]
"""


def test_a_valid_project_has_no_problems_and_renders_jinja() -> None:
    text = (
        SALES
        + """\
  - name: aov
    formula: revenue / order_count
  - name: recent_revenue
    source: orders
    formula: sum(amount)
    filter: "order_date >= '{{ var('start') }}'"
"""
    )
    rendered, errors = checks.check(config(), kpis(text), schemas=SCHEMAS)
    assert errors == []
    assert list(rendered) == ["revenue", "order_count", "aov", "recent_revenue"]
    assert rendered["recent_revenue"].filters == ("order_date >= '2025-04-01'",)


def test_duplicate_names_name_both_places() -> None:
    first = kpis(SALES, "metrics/a.yml")
    second = kpis("kpis:\n  - name: revenue\n    source: orders\n    formula: sum(net)\n", "metrics/b.yml")
    _, errors = checks.check(config(), first + second)
    assert [str(e) for e in errors] == [
        "metrics/b.yml:2:11: duplicate KPI name 'revenue' "
        "(first defined at metrics/a.yml:2:11; KPI names are unique in a project)"
    ]


def test_unknown_source_and_kpi_suggest_names() -> None:
    text = """\
kpis:
  - name: revenue
    source: order
    formula: sum(amount)
  - name: aov
    formula: revenu / 2
"""
    assert problems(text) == [
        "3:13: unknown source 'order' in KPI 'revenue' (did you mean 'orders'?)",
        "6:14: unknown KPI 'revenu' in formula of aov (did you mean 'revenue'?)",
    ]


def test_a_broken_kpi_is_not_reported_as_unknown_by_its_users() -> None:
    text = """\
kpis:
  - name: revenue
    source: orders
    formula: sum(amount
  - name: aov
    formula: revenue / 2
"""
    assert problems(text) == ["4:24: invalid SQL: missing ')' at the end"]


@pytest.mark.parametrize(
    ("formulas", "expected"),
    [
        ({"a": "b + 1", "b": "a + 1"}, ["3:14: cycle between derived KPIs: a -> b -> a"]),
        ({"a": "b", "b": "c", "c": "a"}, ["3:14: cycle between derived KPIs: a -> b -> c -> a"]),
        ({"c": "a", "a": "b", "b": "c"}, ["3:14: cycle between derived KPIs: c -> a -> b -> c"]),
        (
            {"a": "a / prior(x) - 1", "x": "1 + 1"},
            ["3:14: KPI 'a' is computed from itself", "5:14: formula of x uses no KPI"],
        ),
        (
            {"a": "b", "b": "a", "c": "d", "d": "c"},
            ["3:14: cycle between derived KPIs: a -> b -> a", "7:14: cycle between derived KPIs: c -> d -> c"],
        ),
    ],
)
def test_cycles_are_printed_from_the_kpi_defined_first(formulas: dict[str, str], expected: list[str]) -> None:
    text = "kpis:\n" + "".join(f"  - name: {n}\n    formula: {f}\n" for n, f in formulas.items())
    assert [p.split(" (")[0] for p in problems(text)] == expected


def test_dimensions_of_a_derived_kpi_are_those_its_inputs_share() -> None:
    text = (
        SALES
        + """\
  - name: aov
    formula: revenue / order_count
  - name: aov_growth
    formula: aov / prior(aov) - 1
"""
    )
    rendered, _ = checks.check(config(), kpis(text))
    assert checks.dimensions_of("revenue", rendered) == {"region", "channel"}
    assert checks.dimensions_of("aov", rendered) == {"region"}
    assert checks.dimensions_of("aov_growth", rendered) == {"region"}


def test_derived_kpis_have_no_filter_dimensions_or_time() -> None:
    text = (
        SALES
        + """\
  - name: aov
    formula: revenue / order_count
    filter: region = 'EU'
    dimensions: [region]
    time: order_date
"""
    )
    assert [p.split(" (")[0] for p in problems(text)] == [
        "10:11: derived KPI 'aov' has no time column of its own",
        "12:13: derived KPI 'aov' cannot have a filter",
        "13:18: derived KPI 'aov' cannot declare dimensions",
    ]


def test_source_kpis_need_a_time_column_and_unique_dimensions() -> None:
    text = """\
kpis:
  - name: customer_count
    source: customers
    formula: count(*)
    dimensions: [segment, segment]
"""
    assert problems(text) == [
        "2:11: KPI 'customer_count' has no time column (add time: to the KPI or to source 'customers' in kpictl.yml)",
        "5:27: dimension 'segment' is listed twice in 'customer_count'",
    ]


def test_qualified_columns_must_name_the_source_or_a_lookup() -> None:
    text = """\
kpis:
  - name: eu_revenue
    source: orders
    formula: sum(orders.amount) filter (where customers.region = 'EU')
    dimensions: [customers.segment, shipments.carrier]
    filter: client.status = 'paid'
"""
    assert problems(text) == [
        "5:37: 'shipments.carrier' in dimension 'shipments.carrier' of eu_revenue: 'shipments' is not 'orders' or one"
        " of its lookups (add {source: shipments, on: ...} to the lookups of 'orders' in kpictl.yml)",
        "6:13: 'client.status' in filter of eu_revenue: 'client' is not 'orders' or one of its lookups"
        " (use a column of 'orders' or of its lookups: customers)",
    ]


def test_targets_and_tests_name_real_dimensions_and_sources() -> None:
    text = """\
kpis:
  - name: revenue
    source: orders
    formula: sum(amount)
    dimensions: [region]
    target: {min: 10, per: {regoin: {EU: {min: 5}}}}
    tests:
      - given: {order: [{amount: 1}]}
        by: [channel]
        expect: [{value: 1, carrier: DHL}]
"""
    assert problems(text) == [
        "6:13: target of revenue overrides by 'regoin', which is not one of its dimensions (did you mean 'region'?)",
        "8:9: test 'test_1' of revenue breaks down by 'channel', not a dimension of it",
        "8:9: test 'test_1' of revenue expects 'carrier', which is not in its by: list"
        " (expect rows name period, value, status and the by dimensions)",
        "8:9: test 'test_1' of revenue gives rows of unknown source 'order' (did you mean 'orders'?)",
    ]


# -- columns, against a hand-given schema --------------------------------------------------------


def test_columns_of_the_source_and_its_lookups_are_known() -> None:
    text = """\
kpis:
  - name: eu_revenue
    source: orders
    formula: sum(amount) filter (where customers.region = 'EU' and segment = 'b2b')
    dimensions: [channel, customers.segment, {name: big, expr: amount > 100}]
    filter: orders.status = 'paid'
"""
    assert problems(text, SCHEMAS) == []


def test_unknown_columns_are_reported_at_their_token() -> None:
    text = """\
kpis:
  - name: revenue
    source: orders
    formula: sum(amout) filter (where customers.regoin = 'EU')
    filter: stauts = 'paid'
    dimensions: [chanel, {name: size, expr: "case when qty > 1 then 'n' end"}]
"""
    assert problems(text, SCHEMAS) == [
        "4:18: unknown column 'amout' in formula of revenue: not in source 'orders' or its lookups (customers)"
        " (did you mean 'amount'?)",
        "4:39: unknown column 'customers.regoin' in formula of revenue: not in source 'orders' or its lookups"
        " (customers) (did you mean 'customers.region'?)",
        "5:13: unknown column 'stauts' in filter of revenue: not in source 'orders' or its lookups (customers)"
        " (did you mean 'status'?)",
        "6:18: unknown dimension 'chanel' of revenue: not a column of source 'orders' or its lookups (customers)"
        " (did you mean 'channel'?)",
        "6:56: unknown column 'qty' in dimension 'size' of revenue: not in source 'orders' or its lookups (customers)",
    ]


def test_time_key_and_lookup_columns_are_checked() -> None:
    project = PROJECT.replace("key: order_id", "key: order_no").replace("on: customer_id", "on: client_id")
    text = "kpis:\n  - name: shipped\n    source: shipments\n    formula: count(*)\n    time: shipped_at\n"
    assert [p for p in problems(text, SCHEMAS, project) if not p.startswith("kpictl.yml")] == [
        "2:11: time column 'shipped_at' of shipped is not in source 'shipments' (did you mean 'ship_date'?)",
    ]
    _, errors = checks.check(config(project), [], schemas=SCHEMAS)
    assert sorted(str(e) for e in errors) == [
        "kpictl.yml:4:3: key column 'order_no' is not a column of source 'orders' (did you mean 'order_id'?)",
        "kpictl.yml:8:15: lookup column 'client_id' is not a column of source 'customers'",
        "kpictl.yml:8:15: lookup column 'client_id' is not a column of source 'orders'",
    ]


def test_sources_missing_from_schemas_are_not_checked() -> None:
    """A source whose files do not exist yet has no schema: its columns cannot be checked."""
    text = "kpis:\n  - name: r\n    source: orders\n    formula: sum(anything)\n"
    assert problems(text, {"customers": SCHEMAS["customers"]}) == []


def test_test_rows_name_real_columns() -> None:
    text = """\
kpis:
  - name: revenue
    source: orders
    formula: sum(amount)
    tests:
      - name: one
        given: {orders: [{order_date: 2025-01-01, amout: 3}]}
        expect: [{period: 2025-01-01, value: 3}]
"""
    assert problems(text, SCHEMAS) == [
        "6:9: test 'one' of revenue: 'amout' is not a column of 'orders' (did you mean 'amount'?)",
    ]


def test_lookup_problems_without_data() -> None:
    project = PROJECT.replace(
        "lookups: [{source: customers, on: customer_id}]",
        "lookups: [{source: orders, on: x}, {source: customer, on: x}, {source: shipments, on: x},"
        " {source: shipments, on: y}]",
    )
    _, errors = checks.check(config(project), [])
    assert [str(e) for e in errors] == [
        "kpictl.yml:8:15: source 'orders' cannot look itself up",
        "kpictl.yml:8:40: unknown source 'customer' in lookups of 'orders' (did you mean 'customers'?)",
        "kpictl.yml:8:95: source 'orders' looks up 'shipments' twice"
        " (keep one lookup per source, or give each a role with as:)",
    ]
