"""Sizes and levels: which KPIs' targets are per total and per period (aggregates.is_size)."""

from __future__ import annotations

import pytest

from kpictl.sql.aggregates import is_size

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
