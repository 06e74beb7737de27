"""A run's rows → judged rows: a status per row (``targets``), where its pace leads (``forecast``),
computed column-wise for all rows at once (``bulk``, the same numbers as those two).

One rule needs more values than the rows shown: a *level* (a rate, an average) whose target
names a period longer than the run's grain ("on-time delivery >= 95%, period: year") is judged
each month on its value since the start of the year, computed on the underlying rows like
``to_date(on_time_delivery_rate, year)`` (never an average of monthly rates). ``companions``
says which extra KPIs a run must compute for that; ``judge`` judges with their values standing
in and shows each period's own value, the judged one kept in ``Judgement.judged_value``. A
*size* (a sum, a count) instead scales its bound to the period (``targets.scoped``), except a
*balance* (``snapshot:``), whose bound holds at every grain (``aggregates.size_kpis``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from kpictl.errors import SpecError
from kpictl.judge import bulk, targets
from kpictl.language import formula
from kpictl.language.resolve import nested_window, to_date_unit
from kpictl.model import GRAINS, WHOLE, Kpi, Row

if TYPE_CHECKING:
    from kpictl.table import Table


def companions(
    kpis: Mapping[str, Kpi], selected: Sequence[str], *, grain: str | None, default_grain: str, sizes: Collection[str]
) -> dict[str, Kpi]:
    """The extra KPIs judging ``selected`` needs, by the name of the level each one serves.

    ``grain`` is the run's (None: each KPI's own, else ``default_grain``). A companion is a
    derived KPI ``to_date(level, unit)`` under a name no KPI of ``kpis`` has.
    """
    extra: dict[str, Kpi] = {}
    for name in selected:
        kpi = kpis[name]
        period = kpi.target.period if kpi.target else None
        unit = (period or "").removesuffix("_to_date")
        own = grain or kpi.grain or default_grain
        if own == WHOLE or kpi.snapshot is not None or formula.funnel_call(kpi.formula if kpi.derived else ""):
            continue  # the range, a balance, a funnel: judged on its own value
        if not period or name in sizes or unit not in GRAINS or own not in GRAINS:  # a custom grain: as it is
            continue
        if GRAINS.index(unit) <= GRAINS.index(own):
            continue
        if to_date_unit("", unit, own) is not None:  # a week is not within one month: judged as it is
            continue
        hidden = f"{name}__to_date"
        while hidden in kpis:
            hidden += "_"
        extra[name] = dataclasses.replace(
            kpi,
            name=hidden,
            formula=f"to_date({name}, {unit})",
            source=None,
            filters=(),
            dimensions=(),
            time=None,
            target=None,
            tests=(),
            filter_at=(),
        )
    return extra


def problems(kpis: Mapping[str, Kpi], companions: Mapping[str, Kpi], formulas: Mapping[str, Any]) -> list[SpecError]:
    """The levels whose value to date cannot be computed: a window of a KPI that windows itself.

    ``companions`` are those of every KPI at its own grain, ``formulas`` the checked formula
    trees by KPI name. Reported at the target, with the rule of ``resolve.nested_window``.
    """
    from sqlglot import exp

    def refs(name: str) -> set[str]:
        tree = formulas.get(name)
        return set() if tree is None else {c.name for c in tree.find_all(exp.Column)} & set(kpis)

    def windowed(name: str) -> bool:
        tree = formulas.get(name)
        return tree is not None and any(formula.derived_call(n) for n in tree.find_all(exp.Anonymous))

    found = []
    for level, companion in companions.items():
        problem = nested_window(companion.formula, level, kpis, refs, windowed)
        target = kpis[level].target
        if problem is not None and target is not None:
            found.append(
                SpecError(
                    f"target of {level} is judged on its value to date ({companion.formula}), which cannot be "
                    f"computed: {problem.message.split(': ', 1)[1]}",
                    at=target.at,
                    hint="remove period: to judge it per period, or set targets on the KPIs it is computed from",
                )
            )
    return found


def judge(
    rows: Sequence[Row],
    kpis: Mapping[str, Kpi],
    *,
    grain_of: Mapping[str, str],
    sizes: Mapping[str, str | None],
    as_of: dt.date | None,
    companions: Mapping[str, Kpi] | None = None,
    year_start: int = 1,
) -> list[Row]:
    """Every row judged against its KPI's target, rows of ``companions`` left out.

    ``grain_of`` gives each KPI's grain in this run; ``sizes`` the KPIs that measure a size,
    with the grain their bound is meant for (None: a balance, never scaled); ``as_of`` None
    judges at the end of the latest complete period of the rows (``targets.default_as_of``).
    Rows not ``complete`` are never judged (``no_data``, whatever ``as_of``) nor used as a
    baseline or a point of the pace. ``year_start`` is the month fiscal quarters and years
    start in.
    """
    served = {companion.name: level for level, companion in (companions or {}).items()}

    def key(r: Row, kpi: str | None = None) -> tuple[str, dt.date, tuple[tuple[str, Any], ...]]:
        return (kpi or r.kpi, r.period, tuple(r.dims.items()))

    to_date = {key(r, served[r.kpi]): r.value for r in rows if r.kpi in served}
    shown = [r for r in rows if r.kpi not in served] if served else rows
    # judged on its value to date, shown with its own (the judgement keeps the one judged)
    stand_in = {i: to_date[k] for i, r in enumerate(shown) if (k := key(r)) in to_date} if to_date else {}
    if as_of is None:
        as_of = _default_as_of(_complete_periods(shown), grain_of, year_start)
    return bulk.judge_rows(
        shown, kpis, as_of=as_of, grain_of=grain_of, sizes=sizes, stand_in=stand_in, year_start=year_start
    )


def _default_as_of(complete: Mapping[str, Iterable[dt.date]], grain_of: Mapping[str, str], year_start: int) -> dt.date:
    """The ``as_of`` of :func:`judge` and :func:`judge_table` when none is given: the latest of each
    grain's ``targets.default_as_of``. ``complete`` gives the complete periods of every KPI of
    the rows, row by row or column-wise: a KPI without any still counts (its grain's answer is
    then the day before today)."""
    by_grain: dict[str, set[dt.date]] = {}
    for name, periods in complete.items():
        by_grain.setdefault(grain_of[name], set()).update(periods)
    return max(
        (targets.default_as_of(sorted(periods), grain, year_start=year_start) for grain, periods in by_grain.items()),
        default=dt.date.today(),
    )


def _complete_periods(rows: Sequence[Row]) -> dict[str, set[dt.date]]:
    """The periods of each KPI's complete rows (every KPI of ``rows`` named, even with none)."""
    seen = {(r.kpi, r.period, r.complete) for r in rows}  # one pass over the rows, a few distinct
    found: dict[str, set[dt.date]] = {name: set() for name, _, _ in seen}
    for name, period, complete in seen:
        if complete:
            found[name].add(period)
    return found


def judge_table(
    rows: Table,
    kpis: Mapping[str, Kpi],
    *,
    grain_of: Mapping[str, str],
    sizes: Mapping[str, str | None],
    as_of: dt.date | None,
    companions: Mapping[str, Kpi] | None = None,
    year_start: int = 1,
) -> Table:
    """:func:`judge` of a run's table (``table.Table``), column-wise: the companions' rows left
    out, their values standing in for the rows they serve (same KPI-to-serve, period and breakdown)."""
    import numpy as np

    from kpictl import table

    served = {companion.name: level for level, companion in (companions or {}).items()}
    stand_in = None
    if served:
        code = {name: i for i, name in enumerate(rows.names)}
        serves = np.array([code.get(served.get(name, ""), -1) for name in rows.names], dtype=np.int64)
        companion = np.array([name in served for name in rows.names], dtype=bool)[rows.kpi]
        extra = rows.take(companion)
        rows = rows.take(~companion)
        # the key of a row: the KPI served, period, breakdown; the last companion row of a key wins, as in judge()
        extra_keys = zip(
            serves[extra.kpi].tolist(),
            extra.moments().tolist(),
            *(c.tolist() for c in extra.dims.values()),
            strict=True,
        )
        values = [None if v != v else v for v in extra.value.tolist()]
        found = dict(zip(extra_keys, values, strict=True))
        if found:
            keys = zip(
                rows.kpi.tolist(), rows.moments().tolist(), *(c.tolist() for c in rows.dims.values()), strict=True
            )
            missing = object()
            looked = [found.get(key, missing) for key in keys]
            present = np.array([v is not missing for v in looked], dtype=bool)
            if present.any():
                stand_in = (present, table.objects([None if v is missing else v for v in looked]))
    if as_of is None:  # every KPI of the rows, even one without a complete period (as _complete_periods)
        present = np.flatnonzero(np.bincount(rows.kpi, minlength=len(rows.names))).tolist()
        complete: dict[str, set[dt.date]] = {rows.names[code]: set() for code in present}
        kpi, day = rows.kpi[rows.complete], rows.day[rows.complete]
        if len(day):  # each KPI's complete periods: a few distinct (KPI, period) pairs of many rows
            low = int(day.min())
            span = int(day.max()) - low + 1
            seen = np.zeros(len(rows.names) * span, dtype=bool)
            seen[kpi * span + (day - low)] = True
            for pair in np.flatnonzero(seen).tolist():
                complete[rows.names[pair // span]].add(dt.date.fromordinal(low + pair % span))
        as_of = _default_as_of(complete, grain_of, year_start)
    return bulk.judge_table(
        rows, kpis, as_of=as_of, grain_of=grain_of, sizes=sizes, stand_in=stand_in, year_start=year_start
    )
