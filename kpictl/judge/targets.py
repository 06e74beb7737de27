"""SMART target judgement: a KPI value, its target and a date → a status; pure functions, no SQL.

This module never reads data, never prints and never imports DuckDB: the engine hands it values,
it hands back :class:`~kpictl.model.Judgement` values (the README's "SMART targets").

**The bound.** ``min`` (higher is better), ``max`` (lower is better) or ``between: [lo, hi]``
(both: inside is achieved). A ``per`` override replaces the whole bound for the rows whose
breakdown matches (``per: {region: {EU: {min: 0.97}}}``); when several dimensions match, the
first one written wins. A ``between`` bound is judged as its two edges, each on its own, and the
row gets the worse of the two (so a value above ``hi`` is judged against ``hi`` even while the
trajectory climbs towards ``lo``).

**The trajectory.** With a deadline ``by`` and a baseline ``(value, at)`` that falls short of an
edge, the expected value on a date is the straight line from the baseline (at its date) to the
edge (at the deadline). Everywhere else the trajectory is flat at the edge: before the baseline
date, after the deadline, with no deadline, with no baseline, with a zero-length line (baseline
date on or after the deadline), and when the baseline already meets the edge (the objective is
then to hold it, not to walk back towards it). The declared baseline wins over one read from
the data; ``Judgement.baseline_source`` says which one was used ("declared" | "data" | None).

**The status** of a value, edge by edge (tolerance: absolute, or with ``tolerance_relative`` a
fraction of the edge's magnitude):

=================================================  ===========
the value …                                         status
=================================================  ===========
meets the edge                                      achieved
is past the deadline and does not meet it           off_track
is on or better than the line                       on_track
is worse than the line by at most the tolerance     at_risk
is worse than that                                  off_track
=================================================  ===========

On a flat trajectory "on the line" means "meets the edge", so without a deadline or a baseline
a value is achieved, at_risk or off_track, never on_track. No target (or a bound with neither
``min`` nor ``max``) is ``no_target``; a NULL or NaN value is ``no_data`` (with the bound and the
expected value still filled in). ``gap`` is signed so that positive is better than expected;
``gap_relative`` is ``gap / |expected|`` (None when expected is 0). Comparisons forgive float
noise of one part in 10⁹, so that 0.93 sits exactly at a tolerance of 0.02 below 0.95.

**Rows.** :func:`judge_rows` judges each row at the end of its period, capped at ``as_of`` (a
period still running is judged as far as it has gone); a row whose period starts after
``as_of`` is in the future of the judgement and gets ``no_data``. Without a declared baseline,
the first non-null value of the same KPI and breakdown (up to ``as_of``) is the baseline, at
its period's end: that first row is then on its own trajectory (on_track, or achieved). Declare
a baseline when the status must not depend on where the run's date range starts.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from dataclasses import replace
from typing import Any, NamedTuple

from kpictl.model import GRAINS, SEVERITY, Bound, Judgement, Kpi, Row, Target, is_custom_grain
from kpictl.sql import calendars, periods

_EPS = 1e-9


class Edge(NamedTuple):
    value: float
    sense: int  # +1: at least ``value`` (a min); -1: at most ``value`` (a max)


def tiny(x: float) -> float:
    return _EPS * max(1.0, abs(x))


def edges_of(bound: Bound) -> list[Edge]:
    edges = []
    if bound.min is not None:
        edges.append(Edge(float(bound.min), 1))
    if bound.max is not None:
        edges.append(Edge(float(bound.max), -1))
    return edges


def meets(value: float, edge: Edge) -> bool:
    return edge.sense * (value - edge.value) >= -tiny(edge.value)


def bound_in_force(target: Target, dims: Mapping[str, Any] | None) -> Bound:
    """The target's bound, or the ``per`` override matching the row's breakdown."""
    for dim, overrides in target.per.items():
        if not dims or dims.get(dim) is None:
            continue
        value = dims[dim]
        for key, bound in overrides.items():
            if key == value or str(key) == str(value):
                return bound
    return target.bound


def is_missing(value: Any) -> bool:
    return value is None or bool(value != value)  # NaN is the one value unequal to itself


def _expected(edge: Edge, on: dt.date, by: dt.date | None, base: tuple[float, dt.date] | None) -> float:
    """The value on the trajectory towards ``edge`` at ``on`` (the edge itself when flat)."""
    if by is None or base is None:
        return edge.value
    start, since = base
    if meets(start, edge) or since >= by or on < since or on >= by:
        return edge.value
    return start + (edge.value - start) * (on - since).days / (by - since).days


class _Verdict(NamedTuple):
    status: str
    expected: float
    gap: float | None
    key: tuple[int, bool, float]  # what makes an edge's verdict the deciding one


def _verdict(
    value: float | None, edge: Edge, on: dt.date, target: Target, base: tuple[float, dt.date] | None
) -> _Verdict:
    expected = _expected(edge, on, target.by, base)
    moving = base is not None and not meets(base[0], edge)
    if value is None or is_missing(value):
        return _Verdict("no_data", expected, None, (-1, moving, 0.0))
    gap = edge.sense * (float(value) - expected)
    tolerance = target.tolerance * abs(edge.value) if target.tolerance_relative else target.tolerance
    if meets(float(value), edge):
        status = "achieved"
    elif target.by is not None and on > target.by:
        status = "off_track"
    elif gap >= -tiny(expected):
        status = "on_track"
    elif gap >= -(tolerance + tiny(expected)):
        status = "at_risk"
    else:
        status = "off_track"
    return _Verdict(status, expected, gap, (SEVERITY[status], moving, -gap))


def judge(
    value: float | None,
    target: Target | None,
    on: dt.date,
    *,
    dims: Mapping[str, Any] | None = None,
    baseline: tuple[float, dt.date] | None = None,
) -> Judgement:
    """Judge ``value``, the KPI's value for the period that ends on ``on``, against ``target``.

    ``dims`` is the row's breakdown (for ``per`` overrides); ``baseline`` a ``(value, date)`` read
    from the data, used only when the target declares none. The rules are in the module docstring.

    >>> from kpictl.model import Baseline, Bound, Target
    >>> t = Target(Bound(min=90), by=dt.date(2025, 4, 11), baseline=Baseline(80, dt.date(2025, 1, 1)))
    >>> j = judge(86, t, dt.date(2025, 2, 20))   # half-way: expected 85
    >>> j.status, j.expected, j.gap
    ('on_track', 85.0, 1.0)
    """
    if target is None:
        return Judgement("no_target")
    bound = bound_in_force(target, dims)
    edges = edges_of(bound)
    if not edges:
        return Judgement("no_target")
    base, source = None, None
    if target.baseline is not None:
        base, source = (float(target.baseline.value), target.baseline.at), "declared"
    elif baseline is not None and not is_missing(baseline[0]):
        base, source = (float(baseline[0]), baseline[1]), "data"
    if target.by is None:
        source = None  # a baseline only matters for a trajectory, which needs a deadline

    verdicts = [_verdict(value, edge, on, target, base) for edge in edges]
    # The worse edge decides; on a tie, the edge the trajectory climbs to, then the nearer edge.
    status, expected, gap = max(verdicts, key=lambda v: v.key)[:3]
    relative = gap / abs(expected) if gap is not None and expected != 0 else None
    return Judgement(status, bound.min, bound.max, expected, gap, relative, source)


def period_end(start: dt.date, grain: str, year_start: int = 1) -> dt.date:
    """The last day of the ``grain`` period that contains ``start`` (weeks are ISO: Monday–Sunday;
    ``year_start``: the month fiscal quarters and years start in).

    >>> period_end(dt.date(2025, 12, 29), "week"), period_end(dt.date(2025, 5, 2), "year", 4)
    (datetime.date(2026, 1, 4), datetime.date(2026, 3, 31))

    An hour (a datetime) ends on its own day: judging, deadlines and ``as_of`` are dates, so an
    hour is judged as its day (an hour of today is not complete; one of yesterday is).
    """
    start = periods.as_day(start)
    if grain in ("hour", "day"):
        return start
    if is_custom_grain(grain):  # a calendar table's period: the day before the next one starts
        return calendars.end(grain, start)
    if grain == "week":
        return start + dt.timedelta(days=6 - start.weekday())
    if grain == "month":
        return start.replace(day=calendar.monthrange(start.year, start.month)[1])
    if grain in ("quarter", "year"):
        length = 3 if grain == "quarter" else 12
        first = periods.start(grain, start, year_start)
        year, month = divmod(first.year * 12 + first.month - 1 + length - 1, 12)  # its last month
        if year > dt.MAXYEAR:  # a fiscal year that would end after 9999
            return dt.date.max
        return dt.date(year, month + 1, calendar.monthrange(year, month + 1)[1])
    raise ValueError(f"unknown grain {grain!r}: expected one of {', '.join(GRAINS)}")


def default_as_of(periods: Iterable[dt.date], grain: str, today: dt.date | None = None, year_start: int = 1) -> dt.date:
    """The date statuses are judged at by default: the end of the latest complete period.

    A period is complete when it ends before ``today`` (default: the wall clock). On fixed
    historical data that is the last period's end, so a rerun next month gives the same answer.
    When no period is complete yet (or there is none), the day before ``today``.
    """
    today = today or dt.date.today()
    complete = [end for end in (period_end(p, grain, year_start) for p in periods) if end < today]
    return max(complete) if complete else today - dt.timedelta(days=1)


def bound_period(target: Target | None, size_unit: str | None) -> str | None:
    """The period a target's bound is meant for, to show next to it ("≤ €2.6M per year").

    A size's bound is meant for its target's ``period``, else for ``size_unit`` (the KPI's own
    grain: :func:`scoped` scales it from there to each row's period); a level's bound, and a
    balance's (``size_unit`` None: ``Project.sizes``), holds in every period, so only a
    ``period`` its target names (``year_to_date``) is shown. None: no target, or nothing to say.
    """
    if target is None:
        return None
    if size_unit is not None:
        return target.period or size_unit
    return target.period


def series_key(row: Row) -> tuple[str, tuple[tuple[str, Any], ...]]:
    """What identifies a series: the KPI and its breakdown values, sorted by dimension name."""
    return row.kpi, tuple(sorted(row.dims.items(), key=lambda item: item[0]))


def _days(start: dt.date, grain: str, year_start: int = 1) -> float:
    """The length of a period in days: an hour is 1/24 of one (a bound per day, 10 an hour for 240)."""
    if grain == "hour":
        return 1 / 24
    start = periods.as_day(start)
    return (period_end(start, grain, year_start) - start).days + 1


def time_unit(sizes: Collection[str] | Mapping[str, str | None], name: str, grain: str) -> str | None:
    """The grain the bound of the size ``name`` is meant for when its target names no period:
    its value in ``sizes`` as a mapping (``Project.sizes``: None for a balance), else ``grain``."""
    return sizes[name] if isinstance(sizes, Mapping) else grain


def scaled_from(target: Target, grain: str, unit: str | None) -> str | None:
    """The grain a size's bound is scaled from to a row of ``grain``: its target's ``period``
    (``year_to_date``: a year), else ``unit`` (:func:`time_unit`). None when it is not scaled: a
    balance (``unit`` None: its bound holds at every grain, whatever ``period`` says), a bound
    meant for ``grain`` itself, or a period that is no grain."""
    if unit is None:
        return None
    unit = (target.period or "").removesuffix("_to_date") or unit
    return unit if unit in GRAINS and unit != grain else None


def for_breakdown(target: Target | None, dims: Mapping[str, Any], size: bool) -> Target | None:
    """The target of a row of breakdown ``dims``: a size's bound is meant for the total, so a
    breakdown row (revenue of one region) is judged only by a ``per`` override of its dimension
    (its bound, without the total's declared baseline), else it has no target (None). A level's
    target, and the total row's, as written."""
    if target is None or not size or not dims:
        return target
    for dim, overrides in target.per.items():
        value = dims.get(dim)
        if value is not None and str(value) in overrides:
            return replace(target, bound=overrides[str(value)], per={}, baseline=None)
    return None


def scoped(
    target: Target | None, row: Row, grain: str, size: bool, unit: str | None, year_start: int = 1
) -> Target | None:
    """The target as it applies to one row: sizes are bounded for the whole and per period.

    A KPI that measures a size (revenue, a count: ``size`` true) has a bound meant for the
    total (:func:`for_breakdown`) and for the target's ``period``, else for ``unit``: a total row
    of another grain (a month, against a bound per quarter) is judged against the bound scaled
    by the ratio of the periods' lengths in days (31/92 of the quarter's bound for January),
    baseline and absolute tolerance alike (:func:`scaled_from`). ``unit`` None is a balance: a
    level in time, never scaled. A level (a rate, an average) holds in every group and period:
    its target applies as written. ``year_start`` is the month fiscal quarters and years start
    in (a fiscal year's bound: 30/365 of it for April).
    """
    if target is None or not size or row.dims:
        return for_breakdown(target, row.dims, size)
    unit = scaled_from(target, grain, unit)
    if unit is None:
        return target
    start = periods.start(unit, row.period, year_start)
    factor = _days(row.period, grain, year_start) / _days(start, unit, year_start)

    def scale(x: float | None) -> float | None:
        return None if x is None else x * factor

    baseline = replace(target.baseline, value=target.baseline.value * factor) if target.baseline else None
    return replace(
        target,
        bound=Bound(scale(target.bound.min), scale(target.bound.max)),
        baseline=baseline,
        tolerance=target.tolerance if target.tolerance_relative else target.tolerance * factor,
    )


def judge_rows(
    rows: Iterable[Row],
    kpis: Mapping[str, Kpi],
    *,
    as_of: dt.date,
    grain: str,
    sizes: Collection[str] | Mapping[str, str | None] = (),
    year_start: int = 1,
) -> list[Row]:
    """Every row with its judgement, in the order given (``kpis``: the KPIs by name).

    Each row is judged at the end of its ``grain`` period, capped at ``as_of``; the data baseline
    and the rows after ``as_of`` follow the rules of the module docstring. A row of a KPI that is
    not in ``kpis`` or has no target is ``no_target``. ``sizes`` names the KPIs that measure
    a size, whose targets are scoped to the total and the target's period (:func:`scoped`); as
    a mapping, it also gives the grain each one's bound is meant for when the target names none
    (None: a balance, never scaled). ``year_start`` is the month fiscal quarters and years start in.
    """
    rows = list(rows)
    firsts: dict[tuple[str, tuple[tuple[str, Any], ...]], Row] = {}
    for row in rows:  # an hour's period is a datetime: compared with the date as_of by its day
        if periods.as_day(row.period) > as_of or not row.complete or is_missing(row.value):
            continue
        key = series_key(row)
        if key not in firsts or row.period < firsts[key].period:
            firsts[key] = row
    judged = []
    for row in rows:
        kpi = kpis.get(row.kpi)
        size = row.kpi in sizes
        unit = time_unit(sizes, row.kpi, grain) if size else None
        target = scoped(kpi.target, row, grain, size, unit, year_start) if kpi is not None else None
        if target is not None and (periods.as_day(row.period) > as_of or not row.complete):  # not judged: no data yet
            bound = bound_in_force(target, row.dims)
            judgement = Judgement("no_data", bound.min, bound.max) if edges_of(bound) else Judgement("no_target")
        else:
            first = firsts.get(series_key(row))
            baseline = None
            if first is not None and first.value is not None:
                baseline = (float(first.value), min(period_end(first.period, grain, year_start), as_of))
            on = min(period_end(row.period, grain, year_start), as_of)
            judgement = judge(row.value, target, on, dims=row.dims, baseline=baseline)
        judged.append(replace(row, judgement=judgement))
    return judged


def worst(rows: Iterable[Row], fail_on: str) -> list[Row]:
    """The rows whose status is ``fail_on`` or worse (``model.SEVERITY``), in the order given.

    ``fail_on`` is one of ``model.FAIL_ON`` (on_track too): the statuses that can breach a gate.
    """
    threshold = SEVERITY.get(fail_on, 0)
    if threshold == 0:
        gates = ", ".join(sorted((s for s in SEVERITY if SEVERITY[s] > 0), key=lambda s: SEVERITY[s]))
        raise ValueError(f"cannot fail on {fail_on!r}: expected one of {gates}")
    return [row for row in rows if SEVERITY[row.status] >= threshold]


def current(rows: Iterable[Row]) -> list[Row]:
    """The latest judged row of each KPI and breakdown: where each series stands now.

    A CI gate (``run --fail-on``) asks whether a KPI is off track today, not whether it was in
    some past month of the range; rows without data (NULL, or after ``as_of``) are skipped.
    """
    latest: dict[tuple[str, tuple[tuple[str, Any], ...]], Row] = {}
    for row in rows:
        if row.status == "no_data" or is_missing(row.value):
            continue
        key = series_key(row)
        if key not in latest or row.period > latest[key].period:
            latest[key] = row
    return list(latest.values())
