"""Where the recent pace leads: a least-squares line through a KPI's last values, and when it
meets the bound. Pure Python (no numpy), no SQL; ``targets`` judges, this module forecasts.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from kpictl.judge.targets import _EPS, Edge, bound_in_force, edges_of, is_missing, meets, period_end, series_key
from kpictl.model import TRAJECTORY_STATUSES, Bound, Kpi, Row, Target
from kpictl.sql import periods


@dataclass(frozen=True)
class Forecast:
    """Where the recent pace leads: a least-squares line through the last points (:func:`forecast`).

    ``reaches_on`` is the first day the line is inside the bound (the last point's date when its
    value already is), None when the line never gets there; ``reaches_by_deadline`` is None when
    there is no deadline or too few points to draw a line; ``at_deadline`` is the line's value on
    the deadline.
    """

    slope_per_day: float | None = None
    reaches_on: dt.date | None = None
    reaches_by_deadline: bool | None = None
    at_deadline: float | None = None


def _fit(points: list[tuple[dt.date, float]]) -> tuple[float, float] | None:
    """Least squares ``value = intercept + slope * days since the first point``; None if vertical."""
    origin = points[0][0]
    xs = [float((d - origin).days) for d, _ in points]
    ys = [v for _, v in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mean_x) ** 2 for x in xs)
    if sxx == 0:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sxx
    return slope, mean_y - slope * mean_x


def _entry_day(edges: list[Edge], slope: float, intercept: float, after: float) -> float | None:
    """The first day ``>= after`` on which the line meets every edge, or None if never."""
    start, end = after, math.inf
    for edge in edges:
        if slope == 0:
            if not meets(intercept, edge):
                return None
            continue
        crossing = (edge.value - intercept) / slope
        if edge.sense * slope > 0:  # heading into the bound: inside from the crossing on
            start = max(start, crossing)
        else:  # heading out of it: inside until the crossing
            end = min(end, crossing)
    return start if start <= end + _EPS else None


def forecast(
    points: Iterable[tuple[dt.date, float | None]],
    target: Target | None,
    *,
    last_n: int = 6,
    dims: Mapping[str, Any] | None = None,
) -> Forecast:
    """At the current pace, will the bound be reached by the deadline, and when?

    ``points`` are ``(date, value)`` pairs, e.g. each period's end and value (NULLs are skipped);
    the line goes through the last ``last_n`` of them. Pure Python, no numpy.

    >>> from kpictl.model import Bound, Target
    >>> pts = [(dt.date(2025, 1, 1), 10.0), (dt.date(2025, 1, 11), 20.0)]
    >>> forecast(pts, Target(Bound(min=100))).reaches_on     # one a day, from 10 on Jan 1
    datetime.date(2025, 4, 1)
    """
    if last_n < 2:
        raise ValueError("a line needs last_n >= 2 points")
    kept = sorted((d, float(v)) for d, v in points if v is not None and not is_missing(v))[-last_n:]
    fit = _fit(kept) if kept else None
    slope, intercept = fit if fit is not None else (None, 0.0)
    edges = edges_of(bound_in_force(target, dims)) if target is not None else []
    by = target.by if target is not None else None
    at_deadline = None
    if slope is not None and by is not None:
        at_deadline = intercept + slope * (by - kept[0][0]).days
    if not edges or not kept:
        return Forecast(slope, None, None, at_deadline)
    last_date, last_value = kept[-1]
    reaches_on: dt.date | None = None
    if all(meets(last_value, edge) for edge in edges):
        reaches_on = last_date
    elif slope is not None:
        day = _entry_day(edges, slope, intercept, float((last_date - kept[0][0]).days))
        if day is not None and kept[0][0].toordinal() + math.ceil(day - _EPS) <= dt.date.max.toordinal():
            reaches_on = kept[0][0] + dt.timedelta(days=math.ceil(day - _EPS))
    if by is None or (reaches_on is None and slope is None):
        return Forecast(slope, reaches_on, None, at_deadline)
    return Forecast(slope, reaches_on, reaches_on is not None and reaches_on <= by, at_deadline)


def annotate(
    rows: Sequence[Row],
    kpis: Mapping[str, Kpi],
    grain_of: Mapping[str, str],
    *,
    last_n: int = 6,
    year_start: int = 1,
) -> list[Row]:
    """Every judged row with where its pace leads (``Judgement.reaches_on``/``reaches_by_deadline``).

    The line goes through the last ``last_n`` values of the same KPI and breakdown up to the
    row, each at its period's end, towards the bound in force for that row (a size's bound
    scaled to the row's period). Rows that already meet their bound, or have no target or no
    value, are left as they are. ``year_start``: the month fiscal quarters and years start in.
    """
    history: dict[tuple[str, tuple[tuple[str, Any], ...]], list[tuple[dt.date, float | None]]] = {}
    out = list(rows)
    order = sorted(range(len(out)), key=lambda i: periods.hours(out[i].period))  # a date and an hour compare
    for i in order:  # each row sees its series so far
        row = out[i]
        key = series_key(row)
        points = history.setdefault(key, [])
        if row.complete and row.value is not None and not is_missing(row.value):  # the last last_n values
            points.append((period_end(row.period, grain_of.get(row.kpi, "month"), year_start), row.value))
            del points[:-last_n]  # so each row costs the same, however long its series (was quadratic)
        j, kpi = row.judgement, kpis.get(row.kpi)
        if j is None or kpi is None or kpi.target is None or j.status not in TRAJECTORY_STATUSES:
            continue
        pace = forecast(points, Target(Bound(j.min, j.max), by=kpi.target.by), last_n=last_n)
        out[i] = replace(
            row, judgement=replace(j, reaches_on=pace.reaches_on, reaches_by_deadline=pace.reaches_by_deadline)
        )
    return out
