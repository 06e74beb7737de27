"""The dashboard's data: run what the report shows, for ``report.html`` to lay out.

``collect`` makes the runs (the totals once; the breakdowns once per dimension, each for every
KPI broken down by it, so a source is scanned once per dimension and not once per KPI) and
compiles each KPI's SQL. ``Project.report`` calls it and builds the page: ``report.html`` works
on what it is given and never touches data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from kpictl.errors import Location, SpecError, suggest
from kpictl.model import Kpi, Row
from kpictl.report.html import Inputs, spans
from kpictl.table import Table

if TYPE_CHECKING:
    from kpictl.project import Project


def _feeding(selected: Sequence[str], kpis: dict[str, Kpi]) -> list[str]:
    """The source KPIs that ``selected`` reads, directly or through derived KPIs, in catalog order."""
    from kpictl.language import formula

    seen: set[str] = set()
    todo = list(selected)
    while todo:
        name = todo.pop()
        if name in seen or name not in kpis:
            continue
        seen.add(name)
        if kpis[name].derived:
            todo.extend(formula.kpi_refs(formula.parse(kpis[name].formula, "derived")))
    return [name for name, kpi in kpis.items() if name in seen and not kpi.derived]


def _dimension(name: str, kpis: dict[str, Kpi], by: str | None) -> str | None:
    """The dimension ``name`` is broken down by: ``by`` if the KPI has it, else its first one.

    A derived KPI has the dimensions its inputs share; "first" is then the first of them in
    the catalog's order, so the choice is stable from one run to the next.
    """
    from kpictl.language import checks

    kpi = kpis[name]
    if not kpi.derived:
        own = [d.name for d in kpi.dimensions]
    else:
        shared = checks.dimensions_of(name, kpis)
        own = list(dict.fromkeys(d.name for k in kpis.values() for d in k.dimensions if d.name in shared))
    if by is not None:
        return by if by in own else None
    return own[0] if own else None


def collect(
    project: Project,
    names: Sequence[str] | None = None,
    *,
    generated_at: dt.datetime,
    grain: str | None = None,
    by: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    as_of: dt.date | None = None,
) -> Inputs:
    """Run what the report shows: the totals once, one breakdown run per dimension, the SQL per KPI.

    ``by`` breaks every KPI that has that dimension down by it (the others say "not available");
    without it each KPI uses its first dimension, and KPIs sharing one are run together. Raises
    what ``project.run`` raises (InvalidProject, DataError).
    """
    from kpictl.judge import targets

    selected = project.select(names)
    kpis = project.kpis
    grain = grain or project.config.grain
    feeding = _feeding(selected, kpis)
    rows = project.run(list(dict.fromkeys([*selected, *feeding])), grain=grain, start=start, end=end, as_of=as_of)
    sources = {name: kpis[name].source or "" for name in feeding}
    if as_of is None:
        # What run judged at, but not past the data: the spine of a run over several sources
        # spans them all, and a date months after the last order would be a misleading header.
        # Rows up to the data's end get the same status either way (each is judged at its own
        # period's end), so the breakdowns, judged at this date, agree with the totals.
        year_start = project.config.calendar.year_start
        as_of = targets.default_as_of(sorted({r.period for r in rows if r.complete}), grain, year_start=year_start)
        ends = [targets.period_end(span[1], grain, year_start) for span in spans(rows, sources).values() if span]
        as_of = min(as_of, max(ends, default=as_of))
    groups: dict[str, list[str]] = {}
    for name in selected:
        dim = _dimension(name, kpis, by)
        if dim is not None:
            groups.setdefault(dim, []).append(name)
    if by is not None and not groups:  # a typo in --by must not quietly drop every breakdown
        known = {d.name for kpi in kpis.values() for d in kpi.dimensions}
        raise SpecError(
            f"no KPI of the report has the dimension '{by}'",
            at=Location("--by"),
            hint=suggest(by, known) or f"dimensions: {', '.join(sorted(known)) or 'none'}",
        )
    breakdowns: dict[str, tuple[str, Table | tuple[Row, ...]]] = {}
    for dim, group in groups.items():
        found = project.run_table(group, grain=grain, by=[dim], start=start, end=end, as_of=as_of)
        split = found if isinstance(found, Table) else tuple(found)  # the page builds the rows it shows
        breakdowns.update((name, (dim, split)) for name in group)
    return Inputs(
        project=project.config.name,
        kpis=tuple(kpis[n] for n in selected),
        rows=tuple(rows),
        grain=grain,
        as_of=as_of,
        generated_at=generated_at,
        breakdowns=breakdowns,
        sql={name: project.compile([name], grain=grain, start=start, end=end).sql for name in selected},
        sources=sources,
        by=by,
        start=start,
        end=end,
        reads={name: tuple(dict.fromkeys(kpis[k].source or "" for k in _feeding([name], kpis))) for name in selected},
        periods=project.bound_periods(),
        year_start=project.config.calendar.year_start,
    )
