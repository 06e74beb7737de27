"""The one resolver (``language.resolve``): what a name means, the same for validate and run.

Unit cases on hand-written schemas (what DESCRIBE would say), then end to end on small CSV
projects in tmp_path, where ``validate`` and ``run`` must agree. Expected values are counted
by hand from the rows written in each test.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kpictl.cli import cli
from kpictl.errors import InvalidProject, Location, SpecError
from kpictl.language.resolve import Resolver, cycles
from kpictl.model import Config, Kpi, Lookup, Source
from kpictl.project import Project

ORDERS = Source(
    "orders",
    "o.csv",
    "csv",
    time="order_date",
    lookups=(Lookup("customers", "customer_id"), Lookup("agents", "customer_id")),
)
CONFIG = Config(
    name="t",
    root=".",
    sources={
        "orders": ORDERS,
        "customers": Source("customers", "c.csv", "csv"),
        "agents": Source("agents", "a.csv", "csv"),
    },
)
SCHEMAS = {
    "orders": {"order_id": "BIGINT", "order_date": "DATE", "customer_id": "BIGINT", "amount": "DOUBLE"},
    "customers": {"customer_id": "BIGINT", "region": "VARCHAR", "signup": "TIMESTAMP", "score": "DOUBLE"},
    "agents": {"customer_id": "BIGINT", "region": "VARCHAR", "agent": "VARCHAR"},
}
AT = Location("m.yml", 3, 5)


def resolve(name: str, schemas: dict[str, dict[str, str]] | None = SCHEMAS) -> str:
    return Resolver(CONFIG, schemas).column(ORDERS, name, what="formula of k", at=AT)


def test_a_bare_name_is_the_sources_own_column_else_the_one_lookup_that_has_it() -> None:
    assert resolve("amount") == "orders"
    assert resolve("customer_id") == "orders"  # the source's own column wins over its lookups'
    assert resolve("agent") == "agents"
    assert resolve("customers.region") == "customers"
    assert resolve("orders.amount") == "orders"
    assert resolve("agent", schemas=None) == "orders"  # no data: the source's own, unchecked


@pytest.mark.parametrize(
    ("name", "message", "hint"),
    [
        (
            "region",
            "'region' in formula of k is a column of several lookups of 'orders': customers.region, agents.region",
            "write customers.region",
        ),
        (
            "amout",
            "unknown column 'amout' in formula of k: not in source 'orders' or its lookups (customers, agents)",
            "did you mean 'amount'?",
        ),
        (
            "vendors.region",
            "'vendors.region' in formula of k: 'vendors' is not 'orders' or one of its lookups",
            "use a column of 'orders' or of its lookups: customers, agents",
        ),
        (
            "customers.regoin",
            "unknown column 'customers.regoin' in formula of k: not in source 'orders' or its lookups"
            " (customers, agents)",
            "did you mean 'customers.region'?",
        ),
    ],
)
def test_a_name_that_does_not_resolve_says_why(name: str, message: str, hint: str) -> None:
    with pytest.raises(SpecError) as error:
        resolve(name)
    assert (error.value.message, error.value.hint, error.value.at) == (message, hint, AT)


@pytest.mark.parametrize(
    ("time", "relation", "problem"),
    [
        (None, "orders", None),  # the source's own time column
        ("signup", "customers", None),  # a date of a lookup buckets the KPI
        ("customers.signup", "customers", None),
        ("score", None, "time column 'score' of k is DOUBLE, not a date"),
        ("amount", None, "time column 'amount' of k is DOUBLE, not a date"),
        ("customer_id", None, "time column 'customer_id' of k is BIGINT, not a date"),
        ("agent", "agents", None),  # text such as '2025-01-31' casts to a date
        ("shipped", None, "time column 'shipped' of k is not in source 'orders' or its lookups (customers, agents)"),
    ],
)
def test_time_columns_resolve_like_any_column_and_must_hold_dates(
    time: str | None, relation: str | None, problem: str | None
) -> None:
    kpi = Kpi(name="k", formula="count(*)", file="m.yml", source="orders", time=time, at=AT)
    resolver = Resolver(CONFIG, SCHEMAS)
    if problem is None:
        assert resolver.time(kpi, ORDERS)[0] == relation
        return
    with pytest.raises(SpecError) as error:
        resolver.time(kpi, ORDERS)
    assert error.value.message == problem


def test_each_cycle_is_found_once_from_where_the_walk_meets_it() -> None:
    deps = {"a": ["b"], "b": ["a", "c"], "c": ["c"], "d": ["a"], "e": []}
    assert cycles(deps) == [["a", "b"], ["c"]]


# -- end to end: validate and run agree --------------------------------------------------------

ENV = {"NO_COLOR": "1", "COLUMNS": "100", "KPICTL_DEBUG": ""}
PROJECT = """\
name: logistics
sources:
  orders: {path: data/orders.csv, key: order_id, time: order_date}
  shipments:
    path: data/shipments.csv
    key: shipment_id
    time: ship_date
    lookups: [{source: orders, on: order_id}]
"""
ORDERS_CSV = "order_id,order_date,amount\n1,2025-01-30,100\n2,2025-02-02,50\n"
# order 1 (January) ships twice in February, order 2 (February) once
SHIPMENTS_CSV = "shipment_id,order_id,ship_date,cost\n10,1,2025-02-01,7\n11,2,2025-02-03,5\n12,1,2025-02-05,3\n"


def project(tmp_path: Path, kpis: str) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "metrics").mkdir()
    (tmp_path / "kpictl.yml").write_text(PROJECT, encoding="utf-8")
    (tmp_path / "data" / "orders.csv").write_text(ORDERS_CSV, encoding="utf-8")
    (tmp_path / "data" / "shipments.csv").write_text(SHIPMENTS_CSV, encoding="utf-8")
    (tmp_path / "metrics" / "logistics.yml").write_text(kpis, encoding="utf-8")
    return tmp_path


def invoke(root: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--project", str(root), *args], env=ENV)


def test_a_lookup_time_column_passes_validate_and_runs(tmp_path: Path) -> None:
    """13.5: `time:` naming a lookup's column was valid for validate and refused by run."""
    root = project(
        tmp_path,
        "kpis:\n"
        "  - name: shipping_cost_by_order_month\n    source: shipments\n    formula: sum(cost)\n    time: order_date\n"
        "  - name: shipping_cost\n    source: shipments\n    formula: sum(cost)\n",
    )
    assert invoke(root, "validate").exit_code == 0
    result = invoke(root, "run", "--format", "json")
    assert result.exit_code == 0, result.stderr
    values = {(r["kpi"], r["period"]): r["value"] for r in json.loads(result.stdout)["rows"]}
    assert values == {
        # by the order's month: order 1 (January) cost 7 + 3, order 2 (February) 5
        ("shipping_cost_by_order_month", "2025-01-01"): 10,
        ("shipping_cost_by_order_month", "2025-02-01"): 5,
        # by the shipment's own date: every shipment left in February
        ("shipping_cost", "2025-01-01"): 0,
        ("shipping_cost", "2025-02-01"): 15,
    }


def test_every_problem_in_one_run(tmp_path: Path) -> None:
    """13.6: an unknown field in one KPI does not hide another KPI's unknown column."""
    root = project(
        tmp_path,
        "kpis:\n"
        "  - name: cost\n    source: shipments\n    fromula: sum(cost)\n"
        "  - name: heavy\n    source: shipments\n    formula: count(*)\n    filter: weigth > 10\n",
    )
    expected = [
        "metrics/logistics.yml:4:5: cost: unknown field 'fromula' (did you mean 'formula'?)",
        "metrics/logistics.yml:8:13: unknown column 'weigth' in filter of heavy: not in source 'shipments'"
        " or its lookups (orders)",
        "2 problems found",
    ]
    for command in (["validate"], ["compile"], ["run"]):
        result = invoke(root, *command)
        assert (result.exit_code, result.stderr.splitlines()) == (2, expected), command
    with pytest.raises(InvalidProject) as error:
        Project.load(root)
    assert [str(e) for e in error.value.errors] == expected[:2]
    partial = Project.load(root, partial=True)
    assert list(partial.kpis) == ["heavy"]
    assert [str(e) for e in partial.validate()] == expected[:2]
    assert [str(e) for e in partial.validate(data=False)] == expected[:1]


def test_a_derived_kpi_using_a_kpi_of_a_broken_file_is_not_told_it_is_unknown(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        "kpis:\n"
        "  - name: cost\n    source: shipments\n    formula: sum(cost)\n    dimensoins: [order_id]\n"
        "  - name: cost_share\n    formula: cost / total\n",
    )
    assert invoke(root, "validate").stderr.splitlines() == [
        "metrics/logistics.yml:5:5: cost: unknown field 'dimensoins' (did you mean 'dimensions'?)",
        "metrics/logistics.yml:7:21: unknown KPI 'total' in formula of cost_share"
        " (no KPI has this name in the project)",
        "2 problems found",
    ]
