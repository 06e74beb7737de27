"""KPI unit tests (`tests:` in the YAML, `kpictl test`): each kind passes and fails readably.

Expected values are computed by hand in the YAML below (comments say how); the tests run the
real compiled SQL on the given rows in a sandboxed DuckDB, never on the sources' files.
"""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner

from kpictl.cli import cli

ENV = {"NO_COLOR": "1", "COLUMNS": "100"}

PROJECT = """\
name: t
sources:
  orders: {path: orders.csv, time: order_date}
  shipments: {path: shipments.csv, time: ship_date}
"""

# The source files hold one row each: the tests must not read them (January would be 1 order).
ORDERS = "order_date,amount,region,paid\n2025-01-05,100,EU,true\n"
SHIPMENTS = "ship_date,cost,on_time\n2025-01-06,5,true\n"

# orders_n: count per month, 0 in the empty February (time spine); by region 1 and 1.
# paid_share: 1 of 3 paid. cost_to_sales: (10 + 10 + 20) / (100 + 300) = 0.1 although three
# shipments meet two orders (a join of rows would count each order three times).
# revenue_growth: 200 / 100 - 1 = 1, none before January. revenue_3m: 100, 100 + 200,
# 100 + 200 + 0 (March empty), 200 + 0 + 50.
KPIS = """\
kpis:
  - name: orders_n
    source: orders
    formula: count(*)
    dimensions: [region]
    tests:
      - name: two_in_january_one_in_march
        given:
          orders:
            - {order_date: 2025-01-05, region: EU}
            - {order_date: 2025-01-20, region: NA}
            - {order_date: 2025-03-02, region: EU}
        expect:
          - {period: 2025-01-01, value: 2}
          - {period: 2025-02-01, value: 0}
          - {period: 2025-03-01, value: 1}
      - name: by_region
        by: [region]
        given:
          orders:
            - {order_date: 2025-01-05, region: EU}
            - {order_date: 2025-01-20, region: NA}
        expect:
          - {period: 2025-01-01, region: EU, value: 1}
          - {period: 2025-01-01, region: NA, value: 1}
  - name: paid_share
    source: orders
    formula: count(*) filter (where paid) / count(*)
    tests:
      - name: one_of_three
        given:
          orders:
            - {order_date: 2025-01-05, paid: true}
            - {order_date: 2025-01-06, paid: false}
            - {order_date: 2025-01-07, paid: false}
        expect: [{value: 0.3333333333, status: no_target}]
        tolerance: 0.000001
  - name: revenue
    source: orders
    formula: sum(amount)
  - name: transport_cost
    source: shipments
    formula: sum(cost)
  - name: cost_to_sales
    formula: transport_cost / revenue
    tests:
      - name: two_sources_no_fan_out
        given:
          orders:
            - {order_date: 2025-01-05, amount: 100}
            - {order_date: 2025-01-09, amount: 300}
          shipments:
            - {ship_date: 2025-01-06, cost: 10}
            - {ship_date: 2025-01-07, cost: 10}
            - {ship_date: 2025-01-08, cost: 20}
        expect: [{period: 2025-01-01, value: 0.1}]
  - name: revenue_growth
    formula: revenue / prior(revenue) - 1
    tests:
      - name: doubles
        given:
          orders:
            - {order_date: 2025-01-05, amount: 100}
            - {order_date: 2025-02-05, amount: 200}
        expect:
          - {period: 2025-01-01, value: null}
          - {period: 2025-02-01, value: 1.0}
  - name: revenue_3m
    formula: rolling(revenue, 3)
    tests:
      - name: three_months
        given:
          orders:
            - {order_date: 2025-01-05, amount: 100}
            - {order_date: 2025-02-05, amount: 200}
            - {order_date: 2025-04-05, amount: 50}
        expect:
          - {period: 2025-01-01, value: 100}
          - {period: 2025-02-01, value: 300}
          - {period: 2025-03-01, value: 300}
          - {period: 2025-04-01, value: 250}
"""


def make(tmp_path: Path, kpis: str = KPIS) -> Path:
    (tmp_path / "metrics").mkdir()
    (tmp_path / "kpictl.yml").write_text(PROJECT)
    (tmp_path / "orders.csv").write_text(ORDERS)
    (tmp_path / "shipments.csv").write_text(SHIPMENTS)
    (tmp_path / "metrics" / "k.yml").write_text(kpis)
    return tmp_path


def run(root: Path, *args: str) -> object:
    return CliRunner().invoke(cli, ["--project", str(root), "test", *args], env=ENV)


def test_every_kind_passes(tmp_path: Path) -> None:
    result = run(make(tmp_path))
    assert result.exit_code == 0, result.output
    assert result.stdout == "......\n6 passed, 0 failed\n"


@pytest.mark.parametrize(
    ("old", "new", "failure"),
    [
        # a source KPI: February is 0 (not missing) and March is 1
        (
            "          - {period: 2025-03-01, value: 1}\n",
            "          - {period: 2025-03-01, value: 3}\n",
            "  wrong  2025-03-01  3         1",
        ),
        # a ratio
        (
            "expect: [{value: 0.3333333333, status: no_target}]",
            "expect: [{value: 0.5, status: no_target}]",
            "  wrong  2025-01-01  0.5       0.3333333333",
        ),
        # a derived KPI over two sources
        (
            "expect: [{period: 2025-01-01, value: 0.1}]",
            "expect: [{period: 2025-01-01, value: 0.3}]",
            "  wrong  2025-01-01  0.3       0.1",
        ),
        # prior(): January has no earlier month
        (
            "          - {period: 2025-01-01, value: null}\n",
            "          - {period: 2025-01-01, value: 0}\n",
            "  wrong  2025-01-01  0         NULL",
        ),
        # rolling(): a missing expected row is an extra actual one
        ("          - {period: 2025-04-01, value: 250}\n", "", "  extra  2025-04-01  —         250"),
    ],
)
def test_a_wrong_expectation_fails_with_a_table(tmp_path: Path, old: str, new: str, failure: str) -> None:
    assert old in KPIS
    result = run(make(tmp_path, KPIS.replace(old, new)))
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0].count("F") == 1
    assert failure in result.stdout.splitlines()
    assert result.stdout.endswith("5 passed, 1 failed\n")


def test_a_broken_formula_makes_its_test_fail(tmp_path: Path) -> None:
    result = run(make(tmp_path, KPIS.replace("formula: transport_cost / revenue", "formula: revenue / transport_cost")))
    assert result.exit_code == 1
    assert "cost_to_sales › two_sources_no_fan_out" in result.stdout
    assert "  wrong  2025-01-01  0.1       10" in result.stdout.splitlines()


def test_select_kpis_and_write_junit(tmp_path: Path) -> None:
    root = make(tmp_path, KPIS.replace("value: 0.1}]", "value: 0.2}]"))
    junit = tmp_path / "out" / "junit.xml"
    junit.parent.mkdir()
    result = run(root, "cost_to_sales", "orders_n", "--junit", str(junit))
    assert result.exit_code == 1
    suite = ElementTree.parse(junit).getroot()
    assert (suite.tag, suite.get("tests"), suite.get("failures")) == ("testsuite", "3", "1")
    cases = {(c.get("classname"), c.get("name")): c for c in suite.iter("testcase")}
    assert set(cases) == {
        ("orders_n", "two_in_january_one_in_march"),
        ("orders_n", "by_region"),
        ("cost_to_sales", "two_sources_no_fan_out"),
    }
    failure = cases[("cost_to_sales", "two_sources_no_fan_out")].find("failure")
    assert failure is not None and "0.2" in (failure.text or "")
    assert cases[("orders_n", "by_region")].find("failure") is None


def test_bad_test_blocks_are_validation_errors(tmp_path: Path) -> None:
    bad = KPIS.replace(
        "        given:\n          orders:\n            - {order_date: 2025-01-05, paid: true}",
        "        given:\n          order:\n            - {order_date: 2025-01-05, paid: true}",
    )
    bad = bad.replace(
        "          - {period: 2025-01-01, region: EU, value: 1}",
        "          - {period: 2025-01-01, carrier: EU, value: 1}",
    )
    bad = bad.replace(
        "            - {ship_date: 2025-01-06, cost: 10}", "            - {ship_date: 2025-01-06, kost: 10}"
    )
    result = CliRunner().invoke(cli, ["--project", str(make(tmp_path, bad)), "validate"], env=ENV)
    assert result.exit_code == 2
    errors = result.stderr
    assert "test 'one_of_three' of paid_share gives rows of unknown source 'order' (did you mean 'orders'?)" in errors
    assert "test 'by_region' of orders_n expects 'carrier', which is not in its by: list" in errors
    assert "test 'two_sources_no_fan_out' of cost_to_sales: 'kost' is not a column of 'shipments'" in errors
