"""A value depends only on the definitions and the data, never on ``--from``/``--to`` (issue 13, 1).

The property, over every KPI of the shipped catalog: a run restricted to a range [A, B] gives,
row for row, the rows of the whole run whose period lies in [A, B] — the same periods, the same
breakdown groups, the same values and the same statuses. Cumulative values count from the first
row of the data, and rolling, prior and to-date values read the periods before the first one
shown. The expected rows are the whole run's, filtered in plain Python; the ranges are drawn
at random (seeded, so a failure reproduces) and include ones reaching outside the data.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from pathlib import Path
from typing import Any

import pytest

from kpictl import Project
from kpictl.model import Kpi, Row
from kpictl.sql import periods

ROOT = Path(__file__).resolve().parent.parent
FIRST, LAST = dt.date(2023, 10, 1), dt.date(2026, 3, 31)  # the sample data covers 2024-2025
RANGES_PER_CASE = 2


#: Windows and prior() of every source KPI of the catalog, added to it (the catalog has few).
WINDOWS = {
    "cumulative": "cumulative({k})",
    "rolling_3": "rolling({k}, 3)",
    "ytd": "to_date({k}, year)",
    "qtd": "to_date({k}, quarter)",
    "change_2": "{k} - prior({k}, 2)",
}


@pytest.fixture(scope="module")
def project() -> Project:
    shipped = Project.load(ROOT)
    extra = [
        Kpi(
            name=f"{name}__{suffix}",
            formula=formula.format(k=name),
            file="metrics/windows.yml",
        )
        for name, k in shipped.kpis.items()
        if not k.derived and k.snapshot is None  # a balance has no window (test_balances)
        for suffix, formula in WINDOWS.items()
    ]
    return Project(shipped.config, [*shipped.kpis.values(), *extra])


def keyed(rows: list[Row]) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    return {
        (r.kpi, r.period, tuple(r.dims.items())): (r.value, r.judgement and r.judgement.judged_value, r.status)
        for r in rows
    }


def random_range(rng: random.Random) -> tuple[dt.date, dt.date]:
    days = (LAST - FIRST).days
    a, b = sorted(FIRST + dt.timedelta(days=rng.randrange(days)) for _ in range(2))
    return a, b


def same(got: dict[tuple[Any, ...], tuple[Any, ...]], want: dict[tuple[Any, ...], tuple[Any, ...]]) -> None:
    assert got.keys() == want.keys(), (sorted(got.keys() - want.keys())[:5], sorted(want.keys() - got.keys())[:5])
    for key, expected in want.items():
        assert all(close(a, b) for a, b in zip(got[key], expected, strict=True)), (key, got[key], expected)


def close(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)


@pytest.mark.parametrize(
    ("grain", "by", "seed"),
    [
        ("month", "", 1),
        ("week", "", 2),
        ("quarter", "", 3),
        ("month", "region", 5),
        ("week", "channel", 6),
    ],
)
def test_values_do_not_depend_on_from_and_to(project: Project, grain: str, by: str, seed: int) -> None:
    declared = {n: {d.name for d in k.dimensions} for n, k in project.kpis.items()}
    names = [n for n in project.kpis if not by or by in declared[n.split("__")[0]]]
    if grain == "week":  # refused at week grain (a week straddles two quarters): tested in test_engine
        names = [n for n in names if not n.endswith("__qtd")]
    assert names, by
    whole = keyed(project.run(names, grain=grain, by=[by] if by else []))
    rng = random.Random(seed)
    for start, end in [random_range(rng) for _ in range(RANGES_PER_CASE)]:
        first, last = periods.start(grain, start), periods.start(grain, end)
        want = {key: value for key, value in whole.items() if first <= key[1] <= last}
        got = keyed(project.run(names, grain=grain, by=[by] if by else [], start=start, end=end))
        same(got, want)


def test_cumulative_from_equal_to_is_the_running_total(project: Project) -> None:
    # the example: with --from equal to --to, a cumulative value was 0
    day = dt.date(2025, 3, 1)
    names = [n for n in project.kpis if n.endswith("__cumulative")]
    whole = keyed(project.run(names))
    same(keyed(project.run(names, start=day, end=day)), {k: v for k, v in whole.items() if k[1] == day})
