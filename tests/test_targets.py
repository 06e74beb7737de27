"""targets: statuses, trajectories, periods, projections and gates, as tables of hand-made cases.

Every expected number is worked out by hand in the table (the arithmetic is written out where it
helps), never by calling the code under test.
"""

from __future__ import annotations

import datetime as dt
import doctest
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpictl.judge import targets
from kpictl.judge.forecast import Forecast, forecast
from kpictl.judge.targets import default_as_of, judge, judge_rows, period_end, worst
from kpictl.model import Baseline, Bound, Judgement, Kpi, Row, Target

D = dt.date
START = D(2025, 1, 1)  # the baseline date of most cases
BY = D(2025, 4, 11)  # START + 100 days (Jan 31 + Feb 28 + Mar 31 + 10)
MID = D(2025, 2, 20)  # START + 50 days: half-way
QUARTER = D(2025, 1, 26)  # START + 25 days
AFTER = D(2025, 5, 1)  # past the deadline

MIN = Target(Bound(min=90), by=BY, baseline=Baseline(80, START), tolerance=2)  # 80 → 90: +0.1 a day
MAX = Target(Bound(max=10), by=BY, baseline=Baseline(20, START), tolerance=1)  # 20 → 10: −0.1 a day
BETWEEN = Target(Bound(min=40, max=60), by=BY, baseline=Baseline(20, START), tolerance=5)  # 20 → 40 (lo)
INSIDE = Target(Bound(min=40, max=60), by=BY, baseline=Baseline(50, START), tolerance=5)
ZERO_LENGTH = Target(Bound(min=90), by=START, baseline=Baseline(80, START), tolerance=2)
AT_BOUND = Target(Bound(min=90), by=BY, baseline=Baseline(90, START), tolerance=2)
PAST_BOUND = Target(Bound(min=90), by=BY, baseline=Baseline(95, START), tolerance=2)
NO_DEADLINE = Target(Bound(min=90), tolerance=2)
NO_BASELINE = Target(Bound(min=90), by=BY, tolerance=2)
PER = Target(Bound(min=90), tolerance=2, per={"region": {"EU": Bound(min=95)}, "carrier": {"DHL": Bound(max=99)}})
RELATIVE = Target(Bound(min=200), tolerance=0.05, tolerance_relative=True)  # 5% of 200 = 10
RELATIVE_MAX = Target(Bound(max=50), tolerance=0.1, tolerance_relative=True)  # 10% of 50 = 5
# A realistic ratio: 0.88 → 0.95 over 100 days, half-way at 0.915; 0.895 sits on the tolerance edge.
RATIO = Target(Bound(min=0.95), by=D(2026, 4, 11), baseline=Baseline(0.88, D(2026, 1, 1)), tolerance=0.02)

CASES = [
    # id, value, target, on, keyword arguments, status, expected, gap
    ("min achieved half-way", 91, MIN, MID, {}, "achieved", 85, 6),
    ("min above the line", 86, MIN, MID, {}, "on_track", 85, 1),
    ("min on the line", 85, MIN, MID, {}, "on_track", 85, 0),
    ("min just under the line", 84, MIN, MID, {}, "at_risk", 85, -1),
    ("min on the tolerance edge", 83, MIN, MID, {}, "at_risk", 85, -2),
    ("min beyond the tolerance", 82.5, MIN, MID, {}, "off_track", 85, -2.5),
    ("min a quarter of the way", 82.5, MIN, QUARTER, {}, "on_track", 82.5, 0),
    ("min at the baseline date", 80, MIN, START, {}, "on_track", 80, 0),
    ("min before the baseline: the bound only", 89, MIN, D(2024, 12, 1), {}, "at_risk", 90, -1),
    ("min at the deadline, met", 90, MIN, BY, {}, "achieved", 90, 0),
    ("min at the deadline, within tolerance", 89, MIN, BY, {}, "at_risk", 90, -1),
    ("min at the deadline, beyond tolerance", 87, MIN, BY, {}, "off_track", 90, -3),
    ("min after the deadline, met", 95, MIN, AFTER, {}, "achieved", 90, 5),
    ("min after the deadline, within tolerance", 89, MIN, AFTER, {}, "off_track", 90, -1),
    ("max achieved", 9, MAX, MID, {}, "achieved", 15, 6),
    ("max under the line", 14, MAX, MID, {}, "on_track", 15, 1),
    ("max within tolerance above the line", 16, MAX, MID, {}, "at_risk", 15, -1),
    ("max beyond tolerance", 17, MAX, MID, {}, "off_track", 15, -2),
    ("max after the deadline", 10.5, MAX, D(2025, 6, 1), {}, "off_track", 10, -0.5),
    ("between inside: the climbing edge reports", 50, BETWEEN, MID, {}, "achieved", 30, 20),
    ("between above the line to lo", 35, BETWEEN, MID, {}, "on_track", 30, 5),
    ("between under the line to lo", 27, BETWEEN, MID, {}, "at_risk", 30, -3),
    ("between over hi, within tolerance", 63, BETWEEN, MID, {}, "at_risk", 60, -3),
    ("between over hi, beyond tolerance", 70, BETWEEN, MID, {}, "off_track", 60, -10),
    ("between, baseline inside, under lo", 38, INSIDE, MID, {}, "at_risk", 40, -2),
    ("between, baseline inside, inside: nearer edge", 55, INSIDE, MID, {}, "achieved", 60, 5),
    ("zero-length trajectory, within tolerance", 89, ZERO_LENGTH, START, {}, "at_risk", 90, -1),
    ("zero-length trajectory, beyond tolerance", 85, ZERO_LENGTH, START, {}, "off_track", 90, -5),
    ("zero-length trajectory, later", 91, ZERO_LENGTH, MID, {}, "achieved", 90, 1),
    ("baseline equal to the bound, met", 90, AT_BOUND, MID, {}, "achieved", 90, 0),
    ("baseline equal to the bound, within tolerance", 89, AT_BOUND, MID, {}, "at_risk", 90, -1),
    ("baseline equal to the bound, beyond", 87, AT_BOUND, MID, {}, "off_track", 90, -3),
    ("baseline past the bound: hold it", 89, PAST_BOUND, MID, {}, "at_risk", 90, -1),
    ("NULL value", None, MIN, MID, {}, "no_data", 85, None),
    ("NaN value", math.nan, MIN, MID, {}, "no_data", 85, None),
    ("no target", 50, None, MID, {}, "no_target", None, None),
    ("no bound", 50, Target(Bound(), by=BY), MID, {}, "no_target", None, None),
    ("no deadline, met", 90, NO_DEADLINE, MID, {}, "achieved", 90, 0),
    ("no deadline, within tolerance", 89, NO_DEADLINE, MID, {}, "at_risk", 90, -1),
    ("no deadline, beyond", 87, NO_DEADLINE, MID, {}, "off_track", 90, -3),
    ("no deadline ignores a baseline", 85, NO_DEADLINE, MID, {"baseline": (80, START)}, "off_track", 90, -5),
    ("no baseline: flat at the bound", 89, NO_BASELINE, MID, {}, "at_risk", 90, -1),
    ("no baseline: flat, beyond", 85, NO_BASELINE, MID, {}, "off_track", 90, -5),
    ("data baseline draws the line", 85, NO_BASELINE, MID, {"baseline": (80, START)}, "on_track", 85, 0),
    ("declared baseline wins over data", 85, MIN, MID, {"baseline": (0, START)}, "on_track", 85, 0),
    ("per override: EU must reach 95", 94, PER, MID, {"dims": {"region": "EU"}}, "at_risk", 95, -1),
    ("per override: US keeps the bound", 94, PER, MID, {"dims": {"region": "US"}}, "achieved", 90, 4),
    ("per override: first match wins", 94, PER, MID, {"dims": {"region": "EU", "carrier": "DHL"}}, "at_risk", 95, -1),
    ("per override replaces the whole bound", 80, PER, MID, {"dims": {"carrier": "DHL"}}, "achieved", 99, 19),
    ("per override: NULL breakdown", 94, PER, MID, {"dims": {"region": None}}, "achieved", 90, 4),
    ("relative tolerance: on the edge", 190, RELATIVE, MID, {}, "at_risk", 200, -10),
    ("relative tolerance: beyond", 189, RELATIVE, MID, {}, "off_track", 200, -11),
    ("relative tolerance of a max", 55, RELATIVE_MAX, MID, {}, "at_risk", 50, -5),
    ("ratio half-way, float edge", 0.895, RATIO, D(2026, 2, 20), {}, "at_risk", 0.915, -0.02),
    ("ratio half-way, beyond", 0.894, RATIO, D(2026, 2, 20), {}, "off_track", 0.915, -0.021),
]


@pytest.mark.parametrize(
    ("value", "target", "on", "kwargs", "status", "expected", "gap"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_judge(value, target, on, kwargs, status, expected, gap):
    judgement = judge(value, target, on, **kwargs)
    assert judgement.status == status
    assert judgement.expected == (None if expected is None else pytest.approx(expected))
    assert judgement.gap == (None if gap is None else pytest.approx(gap))


def test_judgement_carries_bound_relative_gap_and_baseline_source():
    assert judge(86, MIN, MID) == Judgement("on_track", 90, None, 85, 1, 1 / 85, "declared")
    assert judge(94, PER, MID, dims={"region": "EU"}) == Judgement("at_risk", 95, None, 95, -1, -1 / 95, None)
    data = judge(85, NO_BASELINE, MID, baseline=(80, START))
    assert (data.baseline_source, data.min, data.max) == ("data", 90, None)
    assert judge(89, NO_BASELINE, MID).baseline_source is None
    assert judge(None, BETWEEN, MID) == Judgement("no_data", 40, 60, 30, None, None, "declared")


def test_gap_relative_is_none_when_expected_is_zero():
    judgement = judge(0.5, Target(Bound(max=0), tolerance=1), MID)
    assert (judgement.status, judgement.expected, judgement.gap, judgement.gap_relative) == ("at_risk", 0, -0.5, None)


def test_docstring_examples():
    assert doctest.testmod(targets).failed == 0


@pytest.mark.parametrize(
    ("start", "grain", "end"),
    [
        (D(2025, 3, 15), "day", D(2025, 3, 15)),
        (D(2025, 1, 6), "week", D(2025, 1, 12)),  # Monday → Sunday
        (D(2025, 1, 1), "week", D(2025, 1, 5)),  # a Wednesday: the ISO week runs to Sunday
        (D(2025, 12, 29), "week", D(2026, 1, 4)),  # ISO week 1 of 2026 starts in 2025
        (D(2024, 2, 1), "month", D(2024, 2, 29)),  # leap year
        (D(2025, 2, 1), "month", D(2025, 2, 28)),
        (D(2025, 12, 1), "month", D(2025, 12, 31)),
        (D(2025, 4, 1), "quarter", D(2025, 6, 30)),
        (D(2025, 11, 15), "quarter", D(2025, 12, 31)),
        (D(2025, 1, 1), "quarter", D(2025, 3, 31)),
        (D(2025, 1, 1), "year", D(2025, 12, 31)),
    ],
)
def test_period_end(start, grain, end):
    assert period_end(start, grain) == end


def test_period_end_rejects_an_unknown_grain():
    with pytest.raises(ValueError, match="unknown grain 'fortnight'"):
        period_end(START, "fortnight")


@given(
    st.dates(min_value=D(1900, 1, 1), max_value=D(2999, 12, 1)),
    st.sampled_from(["day", "week", "month", "quarter", "year"]),
)
def test_period_end_is_the_last_day_of_the_period(day, grain):
    end = period_end(day, grain)
    after = end + dt.timedelta(days=1)
    assert end >= day
    assert period_end(end, grain) == end
    assert {
        "day": True,
        "week": after.weekday() == 0,
        "month": after.day == 1,
        "quarter": after.day == 1 and after.month in (1, 4, 7, 10),
        "year": (after.month, after.day) == (1, 1),
    }[grain]


MONTHS = [D(2025, 1, 1), D(2025, 2, 1), D(2025, 3, 1)]


@pytest.mark.parametrize(
    ("periods", "grain", "today", "as_of"),
    [
        (MONTHS, "month", D(2025, 3, 15), D(2025, 2, 28)),  # March is still running
        (MONTHS, "month", D(2025, 3, 31), D(2025, 2, 28)),  # … until its last day is over
        (MONTHS, "month", D(2025, 4, 1), D(2025, 3, 31)),
        (MONTHS, "month", D(2026, 11, 27), D(2025, 3, 31)),  # historical data: the same answer next year
        ([D(2025, 3, 1)], "month", D(2025, 3, 15), D(2025, 3, 14)),  # nothing complete: yesterday
        ([], "month", D(2025, 3, 15), D(2025, 3, 14)),
        ([D(2025, 1, 6), D(2025, 1, 13)], "week", D(2025, 1, 20), D(2025, 1, 19)),
        ([D(2024, 1, 1), D(2025, 1, 1)], "year", D(2025, 6, 1), D(2024, 12, 31)),
    ],
)
def test_default_as_of(periods, grain, today, as_of):
    assert default_as_of(periods, grain, today=today) == as_of


def _row(kpi, period, value, **dims):
    return Row(kpi, period, dims, value)


def test_judge_rows_uses_the_first_value_as_baseline_and_caps_at_as_of():
    # Baseline from the data: 80 at the end of January; deadline 100 days later (May 11); as of April 15.
    kpis = {"otd": Kpi("otd", "x", "m.yml", target=Target(Bound(min=90), by=D(2025, 5, 11), tolerance=2))}
    rows = [
        _row("otd", D(2025, 2, 1), 85),  # judged on Feb 28, 28 days in: 80 + 10 * 28/100 = 82.8
        _row("otd", D(2025, 1, 1), 80),  # the baseline itself: on the line
        _row("otd", D(2025, 3, 1), None),  # Mar 31, 59 days in: 80 + 5.9 = 85.9
        _row("otd", D(2025, 4, 1), 70),  # April still running: judged on Apr 15, 74 days in: 87.4
        _row("otd", D(2025, 5, 1), 95),  # after as_of: not judged yet
    ]
    judged = judge_rows(rows, kpis, as_of=D(2025, 4, 15), grain="month")
    assert [r.period for r in judged] == [r.period for r in rows]  # order kept
    assert [r.status for r in judged] == ["on_track", "on_track", "no_data", "off_track", "no_data"]
    assert [r.judgement.expected for r in judged] == pytest.approx([82.8, 80, 85.9, 87.4, None])
    assert [r.judgement.gap for r in judged] == [pytest.approx(2.2), 0, None, pytest.approx(-17.4), None]
    assert {r.judgement.baseline_source for r in judged[:4]} == {"data"}
    assert judged[4].judgement == Judgement("no_data", 90, None)


def test_judge_rows_reads_one_baseline_per_breakdown():
    kpis = {"nps": Kpi("nps", "x", "m.yml", target=Target(Bound(min=50), by=D(2025, 5, 30), tolerance=4))}
    rows = [
        _row("nps", D(2025, 1, 1), 20, region="EU"),  # EU: 20 on Jan 31 → 50 on May 30 (119 days)
        _row("nps", D(2025, 1, 1), None, region="US"),
        _row("nps", D(2025, 2, 1), 40, region="US"),  # US: its first value, on the line
        _row("nps", D(2025, 3, 1), 40, region="US"),  # 40 → 50 over Feb 28 … May 30 (91 days): 31 in, 43.4
    ]
    judged = judge_rows(rows, kpis, as_of=D(2025, 3, 31), grain="month")
    assert [r.status for r in judged] == ["on_track", "no_data", "on_track", "at_risk"]
    assert judged[1].judgement.expected == 50  # before US's own baseline date: the bound, not EU's line
    assert judged[3].judgement.expected == pytest.approx(40 + 10 * 31 / 91)
    assert judged[3].judgement.gap == pytest.approx(-10 * 31 / 91)


def test_judge_rows_without_a_target():
    kpis = {"revenue": Kpi("revenue", "sum(x)", "m.yml")}
    rows = [
        _row("revenue", D(2025, 1, 1), 5.0),
        _row("unknown", D(2025, 1, 1), 1.0),
        _row("revenue", D(2025, 9, 1), 5.0),
    ]
    judged = judge_rows(rows, kpis, as_of=D(2025, 3, 31), grain="month")
    assert [r.judgement for r in judged] == [Judgement("no_target")] * 3


def test_judge_rows_with_a_declared_baseline_and_weeks():
    kpis = {"k": Kpi("k", "x", "m.yml", target=MIN)}
    rows = [_row("k", D(2025, 2, 17), 84)]  # ISO week of Feb 17 ends Sunday Feb 23: 53 days in, 85.3
    [row] = judge_rows(rows, kpis, as_of=D(2025, 3, 31), grain="week")
    assert (row.status, row.judgement.baseline_source) == ("at_risk", "declared")
    assert row.judgement.expected == pytest.approx(85.3)


P = [D(2025, 1, 1), D(2025, 1, 11), D(2025, 1, 21), D(2025, 1, 31)]  # every 10 days


def _series(values):
    return [(P[i], value) for i, value in enumerate(values)]


@pytest.mark.parametrize(
    ("points", "target", "kwargs", "expected"),
    [
        # 10, 20, 30: one a day from 10 on Jan 1; 100 is reached 90 days in, on Apr 1.
        (_series([10, 20, 30]), Target(Bound(min=100), by=D(2025, 4, 1)), {}, Forecast(1, D(2025, 4, 1), True, 100)),
        (_series([10, 20, 30]), Target(Bound(min=100), by=D(2025, 3, 31)), {}, Forecast(1, D(2025, 4, 1), False, 99)),
        (_series([10, 20, 30]), Target(Bound(min=100)), {}, Forecast(1, D(2025, 4, 1), None, None)),
        # 50, 40, 30: minus one a day from 50; max 0 is reached 50 days in, on Feb 20.
        (_series([50, 40, 30]), Target(Bound(max=0), by=D(2025, 6, 1)), {}, Forecast(-1, D(2025, 2, 20), True, -101)),
        # moving away from the bound: never.
        (_series([50, 40, 30]), Target(Bound(min=100), by=D(2025, 6, 1)), {}, Forecast(-1, None, False, -101)),
        # already there: the last point's date.
        (
            _series([50, 40, 30]),
            Target(Bound(max=35), by=D(2025, 6, 1)),
            {},
            Forecast(-1, D(2025, 1, 21), True, -101),
        ),
        # between [60, 80], climbing one a day from 10: enters at 60, 50 days in.
        (_series([10, 20, 30]), Target(Bound(min=60, max=80)), {}, Forecast(1, D(2025, 2, 20), None, None)),
        # 1000 then 10, 20, 30: only the last three count; 10 on Jan 11, 100 is 90 days later.
        (_series([1000, 10, 20, 30]), Target(Bound(min=100)), {"last_n": 3}, Forecast(1, D(2025, 4, 11), None, None)),
        # 0 then 3 two days later: 1.5 a day; 10 is crossed at day 6.67, so the first whole day is day 7.
        (
            [(D(2025, 1, 1), 0), (D(2025, 1, 3), 3)],
            Target(Bound(min=10)),
            {},
            Forecast(1.5, D(2025, 1, 8), None, None),
        ),
        # NULLs are skipped; a flat line below the bound never gets there.
        ([(P[0], 5), (P[1], None), (P[2], 5)], Target(Bound(min=10), by=BY), {}, Forecast(0, None, False, 5)),
        # one point: no line, so no answer about the deadline.
        ([(P[0], 5)], Target(Bound(min=10), by=BY), {}, Forecast(None, None, None, None)),
        ([(P[0], 15)], Target(Bound(min=10), by=BY), {}, Forecast(None, P[0], True, None)),
        ([], Target(Bound(min=10), by=BY), {}, Forecast(None, None, None, None)),
        (_series([10, 20, 30]), None, {}, Forecast(1, None, None, None)),
        # a per-dimension bound is used when the breakdown is given.
        (
            _series([10, 20, 30]),
            Target(Bound(min=100), per={"region": {"EU": Bound(min=40)}}),
            {"dims": {"region": "EU"}},
            Forecast(1, D(2025, 1, 31), None, None),
        ),
    ],
)
def test_forecast(points, target, kwargs, expected):
    result = forecast(points, target, **kwargs)
    assert result.reaches_on == expected.reaches_on
    assert result.reaches_by_deadline == expected.reaches_by_deadline
    for got, want in [(result.slope_per_day, expected.slope_per_day), (result.at_deadline, expected.at_deadline)]:
        assert got == (None if want is None else pytest.approx(want))


def test_forecast_never_overflows_the_calendar():
    points = [(D(2025, 1, 1), 0), (D(2025, 1, 2), 1e-12)]
    assert forecast(points, Target(Bound(min=1e6), by=BY)) == Forecast(
        pytest.approx(1e-12), None, False, pytest.approx(1e-10)
    )


def test_forecast_needs_two_points():
    with pytest.raises(ValueError, match="last_n"):
        forecast([], None, last_n=1)


@given(st.integers(-50, 50), st.integers(-1000, 1000), st.integers(1, 200))
def test_forecast_finds_the_exact_day_on_an_exact_line(slope, intercept, days_ahead):
    points = [(START + dt.timedelta(days=10 * i), float(intercept + slope * 10 * i)) for i in range(4)]
    last_x = 30
    bound_value = intercept + slope * (last_x + days_ahead)
    target = Target(Bound(min=bound_value) if slope >= 0 else Bound(max=bound_value))
    result = forecast(points, target)
    assert result.slope_per_day == pytest.approx(slope)
    expected_day = last_x + days_ahead if slope != 0 else last_x  # a flat line is already at the bound
    assert result.reaches_on == START + dt.timedelta(days=expected_day)


STATUS_ROWS = [
    Row("k", START, {}, 1.0, Judgement(status))
    for status in ("achieved", "off_track", "on_track", "at_risk", "no_data")
] + [Row("k", START, {}, None)]


@pytest.mark.parametrize(
    ("fail_on", "statuses"),
    [
        ("off_track", ["off_track"]),
        ("at_risk", ["off_track", "at_risk"]),
        ("on_track", ["off_track", "on_track", "at_risk"]),
    ],
)
def test_worst(fail_on, statuses):
    assert [r.status for r in worst(STATUS_ROWS, fail_on)] == statuses


@pytest.mark.parametrize("fail_on", ["achieved", "no_data", "no_target", "bogus"])
def test_worst_rejects_a_status_that_cannot_breach(fail_on):
    with pytest.raises(ValueError, match="expected one of on_track, at_risk, off_track"):
        worst(STATUS_ROWS, fail_on)


# -- scoping a size's target to the total and to the target's period ------------------------------

_QUARTERLY = Target(
    bound=Bound(min=20.0),
    by=dt.date(2025, 12, 31),
    baseline=Baseline(9.0, dt.date(2024, 12, 31)),
    tolerance=1.5,
    period="quarter",
    per={"region": {"EU": Bound(min=8.0)}},
)


def test_a_level_target_applies_as_written() -> None:
    row = Row("rate", dt.date(2025, 1, 1), {"region": "NA"}, 0.5)
    assert targets.scoped(_QUARTERLY, row, "month", size=False, unit=None) is _QUARTERLY


def test_a_part_of_a_size_has_no_target_without_an_override() -> None:
    row = Row("referrals", dt.date(2025, 1, 1), {"region": "NA"}, 2.0)
    assert targets.scoped(_QUARTERLY, row, "month", size=True, unit="month") is None


def test_a_part_of_a_size_takes_its_override() -> None:
    row = Row("referrals", dt.date(2025, 1, 1), {"region": "EU"}, 2.0)
    scoped = targets.scoped(_QUARTERLY, row, "month", size=True, unit="month")
    assert scoped is not None
    assert scoped.bound == Bound(min=8.0)
    assert scoped.baseline is None  # the declared baseline is the total's


def test_a_size_per_quarter_judged_by_month_is_scaled_by_days() -> None:
    # January has 31 of the 90 days of Q1 2025 (31 + 28 + 31)
    row = Row("referrals", dt.date(2025, 1, 1), {}, 6.0)
    scoped = targets.scoped(_QUARTERLY, row, "month", size=True, unit="month")
    assert scoped is not None
    assert scoped.bound.min == pytest.approx(20 * 31 / 90)
    assert scoped.baseline is not None and scoped.baseline.value == pytest.approx(9 * 31 / 90)
    assert scoped.tolerance == pytest.approx(1.5 * 31 / 90)


def test_a_size_per_year_judged_by_quarter() -> None:
    # Q2 2024: 91 days of 366 (leap year)
    yearly = Target(bound=Bound(max=3_660_000.0), tolerance=0.05, tolerance_relative=True, period="year")
    row = Row("transport_cost", dt.date(2024, 4, 1), {}, 900_000.0)
    scoped = targets.scoped(yearly, row, "quarter", size=True, unit="quarter")
    assert scoped is not None
    assert scoped.bound.max == pytest.approx(910_000.0)
    assert scoped.tolerance == 0.05  # relative: unchanged


def test_judge_rows_scopes_sizes_only() -> None:
    kpi = Kpi(name="referrals", formula="count(*)", file="k.yml", source="customers", target=_QUARTERLY)
    jan = dt.date(2025, 1, 1)
    rows = [Row("referrals", jan, {}, 7.0), Row("referrals", jan, {"region": "NA"}, 3.0)]
    total, part = targets.judge_rows(
        rows, {"referrals": kpi}, as_of=dt.date(2025, 12, 31), grain="month", sizes={"referrals"}
    )
    assert total.judgement is not None and total.judgement.min == pytest.approx(20 * 31 / 90)
    assert part.status == "no_target"


def test_a_size_without_period_is_meant_for_the_kpis_own_grain() -> None:
    monthly = Target(bound=Bound(min=31.0))
    row = Row("orders", dt.date(2025, 4, 1), {}, 100.0)  # Q2 2025: 30 + 31 + 30 = 91 days; April has 30
    scoped = targets.scoped(monthly, row, "quarter", size=True, unit="month")
    assert scoped is not None and scoped.bound.min == pytest.approx(31 * 91 / 30)
    assert targets.scoped(monthly, row, "quarter", size=True, unit="quarter") is monthly  # the row's own grain


def test_current_is_the_latest_judged_row_of_each_series() -> None:
    j = {s: Judgement(s) for s in ("off_track", "achieved", "no_data")}
    rows = [
        Row("k", dt.date(2025, 1, 1), {}, 1.0, j["off_track"]),
        Row("k", dt.date(2025, 2, 1), {}, 2.0, j["achieved"]),
        Row("k", dt.date(2025, 3, 1), {}, None, j["no_data"]),  # no value: not where it stands
        Row("k", dt.date(2025, 1, 1), {"region": "EU"}, 1.0, j["off_track"]),
    ]
    assert targets.current(rows) == [rows[1], rows[3]]
    assert worst(targets.current(rows), "off_track") == [rows[3]]


def test_annotate_projects_each_judged_row_from_its_series_so_far() -> None:
    from kpictl.judge.forecast import annotate

    target = Target(Bound(min=100), by=dt.date(2025, 1, 9))
    kpi = Kpi(name="k", formula="sum(x)", file="k.yml", source="s", target=target)
    judged = Judgement("off_track", 100.0, None)
    rows = [Row("k", dt.date(2025, 1, d), {}, v, judged) for d, v in ((3, 30.0), (1, 10.0), (2, 20.0))]
    out = annotate(rows, {"k": kpi}, {"k": "day"})
    # the order given is kept; Jan 3 sees 10, 20, 30 (ten a day): 100 on Jan 10, after the deadline
    assert [r.period.day for r in out] == [3, 1, 2]
    assert out[0].judgement is not None
    assert (out[0].judgement.reaches_on, out[0].judgement.reaches_by_deadline) == (dt.date(2025, 1, 10), False)
    # Jan 1 alone draws no line; Jan 2 sees 10, 20: also Jan 10
    assert out[1].judgement is not None and out[1].judgement.reaches_on is None
    assert out[2].judgement is not None and out[2].judgement.reaches_on == dt.date(2025, 1, 10)


def test_annotate_keeps_only_the_last_points_and_matches_forecast_over_the_whole_history() -> None:
    """The bounded history (linear time) gives what forecast() over every earlier point gives."""
    import random

    from kpictl.judge.forecast import annotate, forecast

    rnd = random.Random(17)
    target = Target(Bound(min=50), by=dt.date(2025, 3, 1))
    kpi = Kpi(name="k", formula="sum(x)", file="k.yml", source="s", target=target)
    judged = Judgement("off_track", 50.0, None)
    start = dt.date(2025, 1, 1)
    values = [None if rnd.random() < 0.2 else rnd.uniform(0, 60) for _ in range(40)]
    rows = [Row("k", start + dt.timedelta(days=i), {}, v, judged) for i, v in enumerate(values)]
    out = annotate(rows, {"k": kpi}, {"k": "day"}, last_n=4)
    for i, row in enumerate(out):
        whole = [(start + dt.timedelta(days=d), values[d]) for d in range(i + 1)]  # every point so far
        pace = forecast(whole, Target(Bound(min=50), by=target.by), last_n=4)
        assert row.judgement is not None
        assert (row.judgement.reaches_on, row.judgement.reaches_by_deadline) == (
            pace.reaches_on,
            pace.reaches_by_deadline,
        )


@pytest.mark.parametrize(
    ("period", "size_unit", "expected"),
    [
        (None, "month", "month"),  # a size without period: its bound is meant for its grain
        ("year", "month", "year"),
        (None, None, None),  # a level holds in every period: nothing to say
        ("year_to_date", None, "year_to_date"),
    ],
)
def test_bound_period(period: str | None, size_unit: str | None, expected: str | None) -> None:
    target = Target(Bound(min=1), period=period)
    assert targets.bound_period(target, size_unit) == expected
    assert targets.bound_period(None, size_unit) is None
