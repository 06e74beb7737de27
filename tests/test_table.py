"""A run's table (kpictl/table.py): the column-wise order, grouping and latest rows say what the
row-by-row rules of before say (Python's sorted, dict keys, targets.current), on hostile values."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kpictl import Project, table
from kpictl.judge import targets
from kpictl.model import Judgement, Row

ROOT = Path(__file__).resolve().parent.parent
DIMS = st.one_of(
    st.none(), st.sampled_from(["a", "b", "B", "10", "9", "None", "é"]), st.integers(-3, 12), st.booleans()
)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    st.lists(st.tuples(st.sampled_from(["x", "y", "z"]), st.integers(0, 3), DIMS, DIMS), max_size=30),
    st.sampled_from(["as drawn", "in order", "in order but two"]),
)
def test_the_order_is_pythons_sorted_by_kpi_period_and_breakdown_text(cells: list[tuple[Any, ...]], given: str) -> None:
    rows = [Row(k, dt.date(2025, 1 + p, 1), {"c": c, "d": d}, 1.0) for k, p, c, d in cells]
    kpi_order = {"z": 0, "x": 1, "y": 2}
    key = lambda r: (kpi_order[r.kpi], r.period, tuple(str(v) for v in r.dims.values()))  # noqa: E731
    if given != "as drawn":  # rows as a run fetches them: already in order (ties as drawn), or nearly
        rows = sorted(rows, key=key)
        if given == "in order but two" and len(rows) > 1:
            i = len(rows) // 2
            rows[i - 1], rows[i] = rows[i], rows[i - 1]
    expected = sorted(rows, key=key)
    t = table.from_rows(rows, ("c", "d"), judged=False)
    actual = t.take(table.sort_order(t, kpi_order)).rows()
    assert [(r.kpi, r.period, r.dims) for r in actual] == [(r.kpi, r.period, r.dims) for r in expected]
    # rows whose texts tie (True and "True", 10 and "10") keep the order given, as sorted() keeps them
    assert [id(r) for r in expected] == [id(rows[i]) for i in table.sort_order(t, kpi_order).tolist()]


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    st.lists(st.one_of(DIMS, st.just(float("nan")), st.just(1.0), st.just(-0.0), st.just(0.0)), max_size=40),
    st.booleans(),
)
def test_factorize_groups_as_dictionary_keys(values: list[Any], sort: bool) -> None:
    if sort:  # long runs of equal values: read by runs
        values = sorted(values, key=lambda v: (type(v).__name__, str(v)))
        values = [v for v in values for _ in range(9)]
    column = table.objects(values)
    codes, distinct = table.factorize(column)
    seen: dict[Any, int] = {}
    for v in values:
        seen.setdefault(v, len(seen))
    assert codes.tolist() == [seen[v] for v in values]
    assert [repr(v) for v in distinct] == [repr(v) for v in seen]
    exact_codes, exact = table.factorize(column, exact=True)
    for i, v in enumerate(values):  # exact: same type and same text, nothing else
        w = exact[exact_codes[i]]
        assert type(w) is type(v) and repr(w) == repr(v)


def test_the_latest_rows_of_a_table_are_those_of_targets_current() -> None:
    rng = random.Random(7)
    statuses = ["achieved", "on_track", "at_risk", "off_track", "no_data", "no_target"]
    rows = []
    for _ in range(400):
        value = rng.choice([None, 1.0, 2.5, float("nan")])
        judgement = Judgement(rng.choice(statuses))
        rows.append(
            Row(
                rng.choice("pq"),
                dt.date(2025, rng.randint(1, 6), 1),
                {"c": rng.choice([None, "a", "b", 1])},
                value,
                judgement,
            )
        )
    t = table.from_rows(rows, ("c",))
    expected = targets.current(rows)
    actual = table.current(t)
    assert [(r.kpi, r.period, r.dims, r.status) for r in actual] == [
        (r.kpi, r.period, r.dims, r.status) for r in expected
    ]


def test_the_catalog_as_a_table_is_its_rows() -> None:
    project = Project.load(ROOT)
    names = ["revenue", "churn_rate", "csat", "otif_rate", "transport_cost", "resolution_time_p90"]  # sizes, levels
    found = project.run_table(names, by=("region",), start=dt.date(2025, 1, 1))
    assert isinstance(found, table.Table)
    rows = project.run(names, by=("region",), start=dt.date(2025, 1, 1))
    assert found.rows() == rows
    assert project.breaches(found, "at_risk") == project.breaches(rows, "at_risk")
    assert len(project.breaches(rows, "at_risk")) > 0  # the gate has something to find
    # grouped by KPI, each KPI's rows by period then the region's text
    kpis = list(dict.fromkeys(r.kpi for r in rows))
    assert [r.kpi for r in rows] == [k for k in kpis for r in rows if r.kpi == k]
    for k in kpis:
        mine = [(r.period, str(r.dims["region"])) for r in rows if r.kpi == k]
        assert mine == sorted(mine)
