"""bulk: the judgement of many rows at once equals the reference, row by row.

The reference is what ``verdicts.judge`` did before it judged in bulk: ``targets.judge_rows`` per
grain, then ``forecast.annotate`` (copied below as :func:`reference`). The property test draws
targets (min, max, between; a deadline or not; a declared baseline or not; an absolute or a
relative tolerance; ``per`` overrides; a period for sizes; balances, sizes never scaled), series
(several KPIs and grains, breakdown values of every type, NULL and NaN values, incomplete rows,
duplicates) and a date, and asserts both give the same rows. The hand-computed cases write their numbers out.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import sys
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpictl import model, table
from kpictl.judge import bulk, forecast, targets, verdicts
from kpictl.model import Baseline, Bound, Judgement, Kpi, Row, Target

D = dt.date
SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, database=None)


def reference(
    rows: list[Row],
    kpis: dict[str, Kpi],
    *,
    grain_of: dict[str, str],
    sizes: Any,
    as_of: dt.date | None,
    companions: dict[str, Kpi] | None = None,
    year_start: int = 1,
) -> list[Row]:
    """``verdicts.judge`` as it was: a Python ``judge()`` and a least-squares line per row."""
    served = {companion.name: level for level, companion in (companions or {}).items()}

    def key(r: Row, kpi: str | None = None) -> tuple[Any, ...]:
        return (kpi or r.kpi, r.period, tuple(r.dims.items()))

    to_date = {key(r, served[r.kpi]): r.value for r in rows if r.kpi in served}
    shown = [r for r in rows if r.kpi not in served]
    standing_in = [dataclasses.replace(r, value=to_date[key(r)]) if key(r) in to_date else r for r in shown]
    groups: dict[str, list[Row]] = {}
    for row in standing_in:
        groups.setdefault(grain_of[row.kpi], []).append(row)
    if as_of is None:
        as_of = max(
            (
                targets.default_as_of(sorted({r.period for r in g if r.complete}), grain, year_start=year_start)
                for grain, g in groups.items()
            ),
            default=dt.date.today(),
        )
    judged = [
        r
        for grain, g in groups.items()
        for r in targets.judge_rows(g, kpis, as_of=as_of, grain=grain, sizes=sizes, year_start=year_start)
    ]
    judged = forecast.annotate(judged, kpis, grain_of, year_start=year_start)
    own = {key(r): r.value for r in shown}
    return [
        dataclasses.replace(r, value=own[key(r)], judgement=dataclasses.replace(r.judgement, judged_value=r.value))
        if key(r) in to_date and r.judgement is not None
        else r
        for r in judged
    ]


def same_number(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return type(a) is type(b) and math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300)


def assert_same(expected: list[Row], actual: list[Row]) -> None:
    assert len(actual) == len(expected)
    for e, a in zip(expected, actual, strict=True):
        where = (e.kpi, e.period, e.dims)
        assert (a.kpi, a.period, a.dims, a.complete, a.partial_window, a.through) == (
            e.kpi,
            e.period,
            e.dims,
            e.complete,
            e.partial_window,
            e.through,
        ), where
        assert same_number(e.value, a.value), where
        je, ja = e.judgement, a.judgement
        assert je is not None and ja is not None
        exact = ("status", "min", "max", "baseline_source", "reaches_on", "reaches_by_deadline", "note")
        assert [getattr(ja, f) for f in exact] == [getattr(je, f) for f in exact], (where, je, ja)
        assert [type(getattr(ja, f)) for f in exact] == [type(getattr(je, f)) for f in exact], (where, je, ja)
        for f in ("expected", "gap", "gap_relative", "judged_value"):
            assert same_number(getattr(je, f), getattr(ja, f)), (where, f, je, ja)


# -- the property test -----------------------------------------------------------------------

GRAINS = ("month", "quarter", "week", "day", "hour")
# Equal as dictionary keys but not as per keys (1, True, 1.0; 0.0, -0.0), and texts that read alike.
DIM_VALUES = (None, "a", "b", "1", "True", 1, True, 1.0, 0.0, -0.0, 2, D(2024, 1, 1), "2024-01-01")
PER_KEYS = ("a", "b", "1", "True", "1.0", "0.0", "-0.0", "2", "2024-01-01", "None")
NUMBERS = st.one_of(st.integers(0, 100).map(float), st.floats(-1000, 1000, allow_nan=False), st.integers(0, 100))
# A value: an integer or any float, sometimes NULL or NaN (both missing)
VALUES = st.integers(0, 11).flatmap(
    lambda k: (st.none(), st.just(math.nan), st.floats(-1e3, 1e3, allow_nan=False))[k] if k < 3 else st.integers(0, 100)
)
DAYS = st.dates(D(2023, 6, 1), D(2026, 6, 30))


@st.composite
def bounds(draw: Any) -> Bound:
    kind = draw(st.sampled_from(["min", "max", "between"]))
    a, b = draw(NUMBERS), draw(NUMBERS)
    if kind == "min":
        return Bound(min=a)
    if kind == "max":
        return Bound(max=a)
    return Bound(min=min(a, b), max=max(a, b))


@st.composite
def target_of(draw: Any) -> Target | None:
    if draw(st.integers(0, 5)) == 0:
        return None
    return Target(
        draw(bounds()),
        by=draw(st.none() | DAYS),
        baseline=draw(st.none() | st.builds(Baseline, NUMBERS, DAYS)),
        tolerance=draw(st.sampled_from([0, 0.0, 0.5, 2.0, 0.05, 0.1, 10.0])),
        tolerance_relative=draw(st.booleans()),
        per=draw(st.dictionaries(st.sampled_from(["c", "d"]), st.dictionaries(st.sampled_from(PER_KEYS), bounds()))),
        period=draw(
            st.sampled_from([None, "hour", "day", "week", "month", "quarter", "year", "year_to_date", "decade"])
        ),
    )


def aligned(day: dt.date, grain: str, year_start: int = 1) -> dt.date:
    if grain == "hour":  # an hour of that day: a datetime
        return dt.datetime(day.year, day.month, day.day, day.toordinal() % 24)
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    if grain == "quarter":  # the fiscal year's start, then whole quarters into it
        year = day.year if day.month >= year_start else day.year - 1
        into = (day.month - year_start) % 12 // 3 * 3
        return D(year + (year_start - 1 + into) // 12, (year_start - 1 + into) % 12 + 1, 1)
    return day


def following(day: dt.date, grain: str, year_start: int = 1) -> dt.date:
    if grain == "hour":
        return day + dt.timedelta(hours=1)
    return targets.period_end(day, grain, year_start) + dt.timedelta(days=1)


@st.composite
def cases(draw: Any, duplicates: bool = True) -> dict[str, Any]:
    """KPIs, their rows, the grain of each, the sizes and a date to judge at."""
    kpis, grain_of, sizes, rows, seen = {}, {}, {}, [], set()
    year_start = draw(st.sampled_from([1, 1, 2, 4, 7, 10, 12]))  # calendar years, or a fiscal year
    for k in range(draw(st.integers(1, 3))):
        name = f"k{k}"
        grain = draw(st.sampled_from(GRAINS))
        grain_of[name] = grain
        if draw(st.integers(0, 6)) > 0:  # else a KPI the catalog does not know
            kpis[name] = Kpi(name, "x", "m.yml", target=draw(target_of()))
        if draw(st.integers(0, 2)) == 0:  # a size, with its bound's grain; None: a balance
            sizes[name] = draw(st.sampled_from((*GRAINS, None)))
        shape = draw(st.sampled_from([(), ("c",), ("c", "d"), ("d", "c")]))
        for _ in range(draw(st.integers(1, 3))):
            values = {dim: draw(st.sampled_from(DIM_VALUES)) for dim in shape}
            period = aligned(draw(st.dates(D(2023, 6, 1), D(2025, 12, 31))), grain, year_start)
            # random values, or a straight line (its crossing of a bound falls on a whole day)
            line = draw(st.none() | st.tuples(st.integers(-50, 100), st.integers(-20, 20)))
            for i in range(draw(st.integers(1, 12))):
                dims = dict(reversed(values.items())) if draw(st.integers(0, 4)) == 0 else dict(values)
                value = draw(VALUES) if line is None or draw(st.integers(0, 9)) == 0 else float(line[0] + line[1] * i)
                row = Row(name, period, dims, value, complete=draw(st.integers(0, 11)) > 0)
                key = (name, period, tuple(sorted(dims.items(), key=lambda item: item[0])))
                if duplicates or key not in seen:
                    rows.append(row)
                    seen.add(key)
                if duplicates and draw(st.integers(0, 15)) == 0:  # the same period twice
                    rows.append(dataclasses.replace(row, value=draw(VALUES)))
                period = following(period, grain, year_start)
    order = draw(st.permutations(range(len(rows))))
    rows = [rows[i] for i in order]
    return {
        "rows": rows,
        "kpis": kpis,
        "grain_of": grain_of,
        "sizes": sizes if draw(st.booleans()) else set(sizes),
        "as_of": draw(st.none() | st.dates(D(2024, 1, 1), D(2026, 12, 31))),
        "year_start": year_start,
    }


@SETTINGS
@given(cases())
def test_bulk_judges_as_the_reference(case: dict[str, Any]) -> None:
    as_of = case["as_of"] or D(2025, 6, 30)
    common = {"grain_of": case["grain_of"], "sizes": case["sizes"], "as_of": as_of, "year_start": case["year_start"]}
    expected = reference(case["rows"], case["kpis"], **common)
    actual = bulk.judge_rows(case["rows"], case["kpis"], **common)
    assert_same(expected, actual)


@SETTINGS
@given(cases(), st.data())
def test_balances_judge_as_the_reference(case: dict[str, Any], data: Any) -> None:
    # cases() makes few balances (a size in 7, as a mapping): here half the KPIs are, the others a
    # size meant for their grain or a quarter, or a level; row by row and as a run's table.
    units = [None, None, None, None, "quarter", "level"]
    drawn = {name: data.draw(st.sampled_from([*units, grain])) for name, grain in case["grain_of"].items()}
    sizes = {name: unit for name, unit in drawn.items() if unit != "level"}
    as_of = case["as_of"] or D(2025, 6, 30)
    common = {"grain_of": case["grain_of"], "sizes": sizes, "as_of": as_of, "year_start": case["year_start"]}
    assert_same(reference(case["rows"], case["kpis"], **common), bulk.judge_rows(case["rows"], case["kpis"], **common))
    shape = tuple(case["rows"][0].dims)  # a run's table: one shape of breakdown, doubles, NaN as NULL
    rows = [
        dataclasses.replace(r, value=None if r.value is None or math.isnan(r.value) else float(r.value))
        for r in case["rows"]
        if tuple(r.dims) == shape
    ]
    judged = verdicts.judge_table(table.from_rows(rows, shape, judged=False), case["kpis"], **common).rows()
    groups = {g: i for i, g in enumerate(dict.fromkeys(case["grain_of"][r.kpi] for r in rows))}
    order = sorted(range(len(rows)), key=lambda i: groups[case["grain_of"][rows[i].kpi]])
    assert_same(reference(rows, case["kpis"], **common), [judged[i] for i in order])


@SETTINGS
@given(cases(), st.integers(1, 5))
def test_a_table_is_judged_as_its_rows(case: dict[str, Any], chunk: int) -> None:
    # A run's table has the same dimensions on every row: the rows of each shape are one table.
    as_of = case["as_of"] or D(2025, 6, 30)
    arguments = {"as_of": as_of, "grain_of": case["grain_of"], "sizes": case["sizes"], "year_start": case["year_start"]}
    shapes: dict[tuple[str, ...], list[Row]] = {}
    for row in case["rows"]:  # a run's values are doubles, NaN refused (engine.duckdb._check_finite): NULL here
        value = None if row.value is None or math.isnan(row.value) else float(row.value)
        row = dataclasses.replace(row, value=value)
        shapes.setdefault(tuple(row.dims), []).append(row)
    for rows in shapes.values():
        expected = bulk.judge_rows(rows, case["kpis"], **arguments)
        judged = bulk.judge_table(table.from_rows(rows, judged=False), case["kpis"], **arguments)
        actual = judged.rows()
        # judge_rows groups its rows by grain, in the order the grains first appear; a table keeps its order
        groups = {g: i for i, g in enumerate(dict.fromkeys(case["grain_of"][r.kpi] for r in rows))}
        order = sorted(range(len(rows)), key=lambda i: groups[case["grain_of"][rows[i].kpi]])
        assert_same(expected, [actual[i] for i in order])
        assert_same(actual, table.from_rows(actual).rows())  # and a judged table read back from its rows
        # judged a few rows at a time, each series whole in one piece: the same judgements
        pieces = bulk.judge_table(table.from_rows(rows, judged=False), case["kpis"], chunk=chunk, **arguments)
        assert_same(actual, pieces.rows())


@settings(max_examples=50, deadline=None, derandomize=True, database=None)
@given(cases(duplicates=False), st.data())
def test_verdicts_judge_as_the_reference_with_values_to_date(case: dict[str, Any], data: Any) -> None:
    # Some KPIs judged on a companion's values (their value to date), shown with their own. (No
    # row twice: the reference then showed the value of the last of them on both.)
    companions, extra = {}, []
    for name in data.draw(st.sets(st.sampled_from(sorted(case["kpis"])))) if case["kpis"] else ():
        companion = dataclasses.replace(case["kpis"][name], name=f"{name}__to_date", target=None)
        companions[name] = companion
        extra += [dataclasses.replace(r, kpi=companion.name, value=data.draw(VALUES)) for r in case["rows"]]
        extra = [r for r in extra if data.draw(st.integers(0, 5)) > 0]  # not every period has one
    rows = case["rows"] + extra
    sizes = dict.fromkeys(case["sizes"], "month") if not isinstance(case["sizes"], dict) else case["sizes"]
    arguments = {
        "grain_of": case["grain_of"],
        "sizes": sizes,
        "as_of": case["as_of"],
        "companions": companions,
        "year_start": case["year_start"],
    }
    expected = reference(rows, case["kpis"], **arguments)
    assert_same(expected, verdicts.judge(rows, case["kpis"], **arguments))
    # a run's table: one shape of breakdown (doubles, NaN as NULL), its rows in the order given
    shape = tuple(rows[0].dims) if rows else ()
    same_shape = [
        dataclasses.replace(r, value=None if r.value is None or math.isnan(r.value) else float(r.value))
        for r in rows
        if tuple(r.dims) == shape
    ]
    served = {c.name for c in companions.values()}
    shown = [r for r in same_shape if r.kpi not in served]
    groups = {g: i for i, g in enumerate(dict.fromkeys(case["grain_of"][r.kpi] for r in shown))}
    order = sorted(range(len(shown)), key=lambda i: groups[case["grain_of"][shown[i].kpi]])
    judged = verdicts.judge_table(table.from_rows(same_shape, shape, judged=False), case["kpis"], **arguments)
    actual = judged.rows()
    assert_same(verdicts.judge(same_shape, case["kpis"], **arguments), [actual[i] for i in order])
    with pytest.MonkeyPatch.context() as patch:  # and judged two rows at a time (bulk.judge_table's pieces)
        patch.setattr(bulk, "CHUNK", 2)
        pieces = verdicts.judge_table(table.from_rows(same_shape, shape, judged=False), case["kpis"], **arguments)
    assert_same(actual, pieces.rows())


# -- the pieces ------------------------------------------------------------------------------


def neumaier(terms: list[float]) -> float:
    """Python 3.12's sum() of floats, written out."""
    total, carry = 0 + terms[0], 0.0
    for term in terms[1:]:
        after = total + term
        carry += (total - after) + term if abs(total) >= abs(term) else (term - after) + total
        total = after
    return total + carry if carry and math.isfinite(carry) else total


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(st.lists(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=6), min_size=1))
def test_builtin_sum_adds_as_python(rows: list[list[float]]) -> None:
    terms = np.array([r + [0.0] * (6 - len(r)) for r in rows])
    count = np.array([len(r) for r in rows])
    assert bulk.builtin_sum(terms, count, compensated=False).tolist() == [math.fsum([]) + _fold(r) for r in rows]
    assert bulk.builtin_sum(terms, count, compensated=True).tolist() == [neumaier(r) for r in rows]
    this_python = sum if sys.version_info >= (3, 12) else _fold  # sum itself on every version
    assert bulk.builtin_sum(terms, count).tolist() == [sum(r) for r in rows] == [this_python(r) for r in rows]


def _fold(terms: list[float]) -> float:
    total: float = 0
    for term in terms:
        total = total + term
    return total


@pytest.mark.parametrize("year_start", range(1, 13))
def test_period_ends_and_starts_as_targets(year_start: int) -> None:
    days = [D(1968, 1, 1) + dt.timedelta(days=i) for i in range(3 * 366)]  # before 1970 too: negative months
    days += [D(2023, 1, 1) + dt.timedelta(days=i) for i in range(3 * 366)]
    ordinals = np.array([d.toordinal() for d in days])
    for code, grain in enumerate(model.GRAINS):  # an hour's end is its day (its period here: 00:00)
        codes = np.full(len(days), code)
        ends = bulk.period_ends(ordinals, codes, year_start).tolist()
        assert ends == [targets.period_end(d, grain, year_start).toordinal() for d in days], grain
        starts = bulk.unit_starts(ordinals, codes, year_start).tolist()  # the day after the previous period's end
        assert all(D.fromordinal(s) <= d <= D.fromordinal(e) for s, d, e in zip(starts, days, ends, strict=True))
        before = [D.fromordinal(s - 1) for s in starts]
        assert all(targets.period_end(d, grain, year_start) == d for d in before), grain
        if grain in ("quarter", "year"):  # a fiscal period starts in a month year_start, +3, +6 or +9
            step = 3 if grain == "quarter" else 12
            assert {(D.fromordinal(s).month - year_start) % step for s in starts} == {0}, grain


@pytest.mark.parametrize("year_start", [1, 4])
def test_period_ends_of_many_rows_are_computed_once_per_day_and_grain(year_start: int) -> None:
    # over 4,096 rows, each distinct (day, grain) is computed once and spread back: same answers
    rng = np.random.default_rng(year_start)
    days = [D(1969, 6, 1) + dt.timedelta(days=int(i)) for i in rng.integers(0, 2000, 20_000)]
    grains = rng.integers(0, len(model.GRAINS), len(days))
    ordinals = np.array([d.toordinal() for d in days])
    ends = bulk.period_ends(ordinals, grains, year_start).tolist()
    names = model.GRAINS  # codes are their index: an hour (0) ends on its day
    assert ends == [targets.period_end(d, names[g], year_start).toordinal() for d, g in zip(days, grains, strict=True)]
    starts = bulk.unit_starts(ordinals, grains, year_start).tolist()
    assert starts == bulk._unit_starts(ordinals, grains, year_start).tolist()  # row by row: the test above


# -- hand-computed cases ---------------------------------------------------------------------


def kpi(name: str, target: Target | None) -> Kpi:
    return Kpi(name, "x", "m.yml", target=target)


def test_half_way_along_a_declared_trajectory() -> None:
    # min 90 by Apr 11, from 80 on Jan 1: 100 days, +0.1 a day. Feb 20 is day 50: expected 85.
    target = Target(Bound(min=90), by=D(2025, 4, 11), baseline=Baseline(80, D(2025, 1, 1)), tolerance=2)
    rows = [
        Row("otd", D(2025, 2, 20), {}, 86.0),  # 86 - 85 = +1: on track
        Row("otd", D(2025, 2, 21), {}, 84.0),  # day 51: 85.1, gap -1.1 within 2: at risk
        Row("otd", D(2025, 2, 22), {}, 99.0),  # after as_of: not judged yet, the bound still shown
    ]
    judged = bulk.judge_rows(rows, {"otd": kpi("otd", target)}, as_of=D(2025, 2, 21), grain_of={"otd": "day"})
    first, second, third = (r.judgement for r in judged)
    assert (first.status, first.expected, first.gap, first.baseline_source) == ("on_track", 85.0, 1.0, "declared")
    assert first.gap_relative == pytest.approx(1 / 85)
    assert first.min == 90 and first.max is None
    assert (first.reaches_on, first.reaches_by_deadline) == (None, None)  # one point: no line
    assert (second.status, second.expected, second.gap) == ("at_risk", pytest.approx(85.1), pytest.approx(-1.1))
    # 86 then 84: -2 a day, heading away from 90: never, so not by the deadline
    assert (second.reaches_on, second.reaches_by_deadline) == (None, False)
    assert third == Judgement("no_data", 90, None)


def test_data_baseline_and_the_pace_towards_the_bound() -> None:
    # No declared baseline: the first value, 10 on Jan 1, is it. min 100 by Mar 31 (89 days later).
    target = Target(Bound(min=100), by=D(2025, 3, 31), tolerance=1)
    rows = [Row("k", D(2025, 1, 1), {}, 10.0), Row("k", D(2025, 1, 11), {}, 20.0)]
    judged = bulk.judge_rows(rows, {"k": kpi("k", target)}, as_of=D(2025, 1, 31), grain_of={"k": "day"})
    first, second = (r.judgement for r in judged)
    assert (first.status, first.expected, first.gap, first.baseline_source) == ("on_track", 10.0, 0.0, "data")
    # Jan 11 is day 10 of 89: 10 + 90 * 10/89 = 20.11; 20 is 0.11 under, within the tolerance of 1
    assert (second.status, second.expected) == ("at_risk", pytest.approx(10 + 900 / 89))
    assert second.gap == pytest.approx(-0.1 * 100 / 89)
    # +1 a day from 10 on Jan 1 reaches 100 on day 90: Apr 1, a day after the deadline
    assert (second.reaches_on, second.reaches_by_deadline) == (D(2025, 4, 1), False)


def test_sizes_scaled_to_the_period_and_scoped_to_the_breakdown() -> None:
    # max 900 a quarter: 900 * 31/90 = 310 for January, 900 * 28/90 = 280 for February (Q1: 90 days)
    target = Target(Bound(max=900), period="quarter", per={"region": {"EU": Bound(max=100)}})
    rows = [
        Row("revenue", D(2025, 1, 1), {}, 300.0),
        Row("revenue", D(2025, 2, 1), {}, 290.0),
        Row("revenue", D(2025, 1, 1), {"region": "EU"}, 120.0),  # its override, as written
        Row("revenue", D(2025, 1, 1), {"region": "US"}, 120.0),  # no override: no target
    ]
    judged = bulk.judge_rows(
        rows,
        {"revenue": kpi("revenue", target)},
        as_of=D(2025, 3, 31),
        grain_of={"revenue": "month"},
        sizes={"revenue": "month"},
    )
    jan, feb, eu, us = (r.judgement for r in judged)
    assert (jan.status, jan.max, jan.expected, jan.gap) == ("achieved", pytest.approx(310), pytest.approx(310), 10)
    assert (feb.status, feb.max, feb.gap) == ("off_track", pytest.approx(280), pytest.approx(-10))
    assert (eu.status, eu.max, eu.expected, eu.gap) == ("off_track", 100, 100, -20)
    assert us == Judgement("no_target")


def test_a_balance_is_scoped_to_the_breakdown_but_never_scaled() -> None:
    # min 20 meant for a month, period: quarter, hour grain: a stock of 20 holds at every grain
    kpis = {
        "stock": kpi("stock", Target(Bound(min=20), per={"region": {"EU": Bound(min=8)}}, tolerance=3)),
        "held": kpi("held", Target(Bound(min=20), period="quarter", baseline=Baseline(10, D(2024, 12, 31)))),
    }
    rows = [
        Row("stock", D(2025, 1, 1), {}, 18.0),  # within the tolerance of 3: at risk
        Row("stock", D(2025, 1, 1), {"region": "EU"}, 9.0),  # its override, as written
        Row("stock", D(2025, 1, 1), {"region": "US"}, 9.0),  # no override: no target
        Row("held", dt.datetime(2025, 1, 1, 13), {}, 21.0),  # an hour: 20, not 20 / 24 / 90
    ]
    for grain in ("quarter", "day"):
        judged = bulk.judge_rows(
            rows,
            kpis,
            as_of=D(2025, 3, 31),
            grain_of={"stock": grain, "held": "hour"},
            sizes={"stock": None, "held": None},
        )
        by_key = {(r.kpi, r.dims.get("region")): r for r in judged}
        total, eu, us, hour = (by_key[k] for k in (("stock", None), ("stock", "EU"), ("stock", "US"), ("held", None)))
        assert (total.status, total.judgement.min, total.judgement.gap) == ("at_risk", 20, -2.0)
        assert (eu.status, eu.judgement.min) == ("achieved", 8)
        assert us.judgement == Judgement("no_target")
        assert (hour.status, hour.judgement.min, hour.judgement.expected) == ("achieved", 20, 20.0)
        assert judged == verdicts.judge(
            rows,
            kpis,
            grain_of={"stock": grain, "held": "hour"},
            sizes={"stock": None, "held": None},
            as_of=D(2025, 3, 31),
        )


def test_per_overrides_match_values_of_any_type_as_python_does() -> None:
    # 1, True and 1.0 are one dictionary key, but "1", "True" and "1.0" are three texts
    per = {"c": {"1": Bound(min=5), "True": Bound(min=7), "2024-01-01": Bound(min=9)}}
    target = Target(Bound(min=50), per=per)
    values = [1, True, 1.0, "1", D(2024, 1, 1), None, "x"]
    rows = [Row("k", D(2025, 1, 1), {"c": value}, 60.0) for value in values]
    judged = bulk.judge_rows(rows, {"k": kpi("k", target)}, as_of=D(2025, 1, 31), grain_of={"k": "month"})
    assert [r.judgement.min for r in judged] == [5, 7, 50, 5, 9, 50, 50]


def test_a_series_with_a_target_on_some_rows_is_judged_whole() -> None:
    # 1 and True are one series (one dictionary key) but only True matches the override "True":
    # the size's row of 1 has no target. Rows without one are left out of the judging, but the
    # series stays whole: February's row (min 100 by Mar 31, the override's) starts its
    # trajectory from the series' first value, January's 10 (no target of its own), not its own.
    target = Target(Bound(), per={"c": {"True": Bound(min=100)}}, by=D(2025, 3, 31))
    rows = [Row("s", D(2025, 1, 1), {"c": 1}, 10.0), Row("s", D(2025, 2, 1), {"c": True}, 40.0)]
    rows += [Row("s", D(2025, 1, 1), {"c": "x"}, 1.0)]  # another series, without a target
    arguments = {"as_of": D(2025, 3, 31), "grain_of": {"s": "month"}, "sizes": {"s": "month"}}
    judged = bulk.judge_rows(rows, {"s": kpi("s", target)}, **arguments)
    assert [r.judgement for r in judged[::2]] == [Judgement("no_target")] * 2
    # from 10 at Jan 31 (the end of its period) to 100 at Mar 31 (59 days): Feb 28 is 28 days on
    assert judged[1].judgement.expected == pytest.approx(10 + 90 * 28 / 59)
    assert judged[1].judgement.baseline_source == "data"
    as_table = bulk.judge_table(table.from_rows(rows, judged=False), {"s": kpi("s", target)}, **arguments)
    assert_same(judged, as_table.rows())


def test_rows_come_back_grouped_by_grain_in_order() -> None:
    rows = [
        Row("m", D(2025, 1, 1), {}, 1.0),
        Row("w", D(2025, 1, 6), {}, 2.0),
        Row("m", D(2025, 2, 1), {}, 3.0),
        Row("w", D(2025, 1, 13), {}, 4.0),
    ]
    judged = bulk.judge_rows(rows, {}, as_of=D(2025, 3, 31), grain_of={"m": "month", "w": "week"})
    assert [r.value for r in judged] == [1.0, 3.0, 2.0, 4.0]
    assert {r.judgement for r in judged} == {Judgement("no_target")}


def test_a_level_judged_on_its_value_to_date_shows_its_own() -> None:
    level = kpi("otd", Target(Bound(min=90), tolerance=2, period="year"))
    companion = dataclasses.replace(level, name="otd__to_date", target=None)
    rows = [Row("otd", D(2025, 2, 1), {}, 95.0), Row("otd__to_date", D(2025, 2, 1), {}, 89.0)]
    [row] = verdicts.judge(
        rows,
        {"otd": level},
        grain_of={"otd": "month"},
        sizes={},
        as_of=D(2025, 2, 28),
        companions={"otd": companion},
    )
    assert (row.value, row.status, row.judgement.judged_value, row.judgement.gap) == (95.0, "at_risk", 89.0, -1.0)


def test_no_rows() -> None:
    assert bulk.judge_rows([], {}, as_of=D(2025, 1, 1), grain_of={}) == []
    assert verdicts.judge([], {}, grain_of={}, sizes={}, as_of=None) == []


def test_a_baseline_is_read_up_to_as_of_only() -> None:
    # January has no value; February's is after as_of: no baseline, so no trajectory yet.
    target = Target(Bound(min=90), by=D(2025, 6, 30), tolerance=2)
    rows = [Row("k", D(2025, 1, 1), {}, math.nan), Row("k", D(2025, 2, 1), {}, 80.0)]
    jan, feb = (
        r.judgement
        for r in bulk.judge_rows(rows, {"k": kpi("k", target)}, as_of=D(2025, 1, 31), grain_of={"k": "month"})
    )
    assert (jan.status, jan.expected, jan.gap, jan.baseline_source) == ("no_data", 90.0, None, None)
    assert feb == Judgement("no_data", 90, None)


def test_distinct_rows_survive_a_hash_collision() -> None:
    # (1, 0) and (0, 1000003) hash alike (1 * 1000003 + 0): the rows are then compared whole
    table = np.array([[1, 0], [0, 1_000_003], [1, 0]])
    distinct, inverse = bulk._distinct_rows(np, table)
    assert distinct.tolist() == [[0, 1_000_003], [1, 0]]
    assert distinct[inverse].tolist() == table.tolist()
