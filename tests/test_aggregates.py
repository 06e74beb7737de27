"""Sizes and levels: which KPIs' targets are per total and per period (aggregates.is_size), and
which sizes are balances, per total but not per period (aggregates.size_kpis)."""

from __future__ import annotations

import pytest

from kpictl.model import Kpi, Snapshot
from kpictl.sql.aggregates import is_size, size_kpis

CASES = [
    ("sum(amount)", False, {}, True),
    ("count(*)", False, {}, True),
    ("count(distinct visitor_id)", False, {}, True),
    ("sum(amount) filter (where paid) - sum(refund)", False, {}, True),
    ("sum(amount / 100)", False, {}, True),  # a division inside the aggregate is still a sum
    ("count(*) filter (where on_time) / count(*)", False, {}, False),
    ("avg(amount)", False, {}, False),
    ("quantile_cont(hours, 0.9)", False, {}, False),
    ("max(amount)", False, {}, False),
    ("transport_cost / revenue", True, {"transport_cost": True, "revenue": True}, False),
    ("cumulative(revenue)", True, {"revenue": True}, True),
    ("to_date(revenue, year)", True, {"revenue": True}, True),
    ("revenue + margin_rate", True, {"revenue": True, "margin_rate": False}, False),
]


@pytest.mark.parametrize(("formula", "derived", "inputs", "expected"), CASES)
def test_is_size(formula: str, derived: bool, inputs: dict[str, bool], expected: bool) -> None:
    assert is_size(formula, derived, inputs) is expected


def test_a_balance_and_what_reads_it_do_not_add_up_over_time() -> None:
    def source(name: str, formula: str, snapshot: bool = False) -> Kpi:
        return Kpi(name, formula, "m.yml", source="s", snapshot=Snapshot(("account",)) if snapshot else None)

    def derived(name: str, formula: str) -> Kpi:
        return Kpi(name, formula, "m.yml")

    kpis = [
        source("balance", "sum(amount)", snapshot=True),
        source("accounts", "count(*)", snapshot=True),
        source("share", "sum(amount) / count(*)", snapshot=True),  # a level: neither
        source("deposits", "sum(amount)"),
        derived("change", "balance - prior(balance)"),
        derived("average", "rolling_avg(balance, 3)"),
        derived("of_average", "average * 2"),  # through another derived KPI
        derived("mixed", "balance + deposits"),  # reads one balance: held at a point in time
        derived("per_account", "balance / accounts"),  # a level
        derived("recent", "rolling_avg(deposits, 3)"),
    ]
    assert size_kpis({k.name: k for k in kpis}) == {
        "balance": False,
        "accounts": False,
        "deposits": True,
        "change": False,
        "average": False,
        "of_average": False,
        "mixed": False,
        "recent": True,
    }
