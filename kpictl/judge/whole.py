"""``--grain all``: one value per KPI and breakdown over the whole range, and its judgement.

The compiler puts every row of the range in one period; here that period gets its name (the
range's first day: ``--from``, else the first day of the data the KPI reads) and its end
(``--to``, else the last day of that data). A target is meant for a period (a size's bound for
its ``period:`` or the KPI's grain, a level's and a balance's for its ``period:`` if it names
one): the value is judged only when the range is exactly one such period (a calendar year, a
quarter…; for ``year_to_date``, from the year's first day to a day within it), else it is
``no_target`` and ``Judgement.note`` says why. A level whose target names no period holds
over any range: it is judged, and so is a balance (its bound is for the total: a breakdown row
only by a ``per`` override). A range whose data does not run through its last day is
incomplete: ``no_data``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence

from kpictl.judge import targets
from kpictl.model import Judgement, Kpi, Row
from kpictl.sql import periods


def name_and_judge(
    rows: Sequence[Row],
    kpis: Mapping[str, Kpi],
    sizes: Mapping[str, str | None],
    spans: Mapping[str, tuple[dt.date, dt.date]],
    complete: Mapping[str, bool],
    as_of: dt.date | None,
    year_start: int = 1,
) -> list[Row]:
    """``rows`` of a ``--grain all`` run, each named by its range's first day and judged.

    ``spans`` gives each KPI's range (first day, last day), ``complete`` whether its sources
    have data through the last day, ``sizes`` the KPIs that measure a size with the grain their
    bound is meant for when their target names no period (None: a balance); ``year_start`` the month fiscal
    quarters and years start in (a range is then one fiscal year, not a calendar one).
    """
    out = []
    for row in rows:
        first, last = spans[row.kpi]
        row = dataclasses.replace(row, period=first, through=last, complete=complete.get(row.kpi, True))
        kpi = kpis.get(row.kpi)
        judgement = (
            _judge(row, kpi, sizes, (first, last), as_of, year_start) if kpi is not None else Judgement("no_target")
        )
        out.append(dataclasses.replace(row, judgement=judgement))
    return out


def _judge(
    row: Row,
    kpi: Kpi,
    sizes: Mapping[str, str | None],
    span: tuple[dt.date, dt.date],
    as_of: dt.date | None,
    year_start: int,
) -> Judgement:
    first, last = span
    target = kpi.target
    if target is None:
        return Judgement("no_target")
    size = row.kpi in sizes
    period = target.period or sizes.get(row.kpi) or ""
    unit = period.removesuffix("_to_date")
    if unit:
        begins = periods.start(unit, first, year_start) == first
        end = targets.period_end(first, unit, year_start)
        fits = last <= end if period.endswith("_to_date") else last == end
        if not (begins and fits):
            note = f"its target is meant for one {period.replace('_', ' ')}; {first} to {last} is not one"
            return Judgement("no_target", note=note)
    scoped = targets.for_breakdown(target, row.dims, size)  # the range is one period: never scaled
    if scoped is None:  # a size's breakdown without a per override: its bound is for the total
        return Judgement("no_target")
    if not row.complete:
        bound = targets.bound_in_force(scoped, row.dims)
        return Judgement("no_data", bound.min, bound.max)
    return targets.judge(row.value, scoped, min(last, as_of or last), dims=row.dims)
