"""Custom grains read from a calendar table: their SQL, their checks, and their periods once read.

A calendar table (``calendar: {table, date, grains}``) maps each date to a period label per
custom grain (``retail_month: 2025-P01``). A period is named by its FIRST date, as every built-in
period is, so the outputs and the day arithmetic of judging treat it as any other; its label is
the calendar's value. Periods are ordered by first date and are runs of consecutive dates, so a
period ends the day before the next one starts. The compiler writes the SQL below (pure text,
no data); the engine runs :func:`check_sql` and :func:`periods_sql` and hands the periods to
:func:`use`, from which ``periods.start``, ``targets.period_end``, the bulk judge and the labels
read them for the rest of the run (a custom period's end is data: it cannot be computed).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from kpictl.errors import DataError
from kpictl.model import RUN_GRAINS, Calendar, is_custom_grain
from kpictl.sql.quoting import identifier, literal


def days_name(grain: str) -> str:
    """The CTE mapping each date to the first date of its ``grain`` period (names are identifiers)."""
    return f"calendar_{grain}"


def periods_name(grain: str) -> str:
    """The CTE of the ``grain`` periods in order, ``index_`` counting them from 1."""
    return f"calendar_periods_{grain}"


def before(grain: str, period: str, n: int) -> str:
    """SQL: the period ``n`` periods before ``period`` (NULL before the calendar's first)."""
    p = periods_name(grain)
    return (
        f"(SELECT b_.period_ FROM {p} AS a_ JOIN {p} AS b_ ON b_.index_ = a_.index_ - {n} WHERE a_.period_ = {period})"
    )


def window_start(grain: str, period: str, n: int) -> str:
    """SQL: the first period of the ``n`` periods ending with ``period`` (at most back to the calendar's first)."""
    p = periods_name(grain)
    return (
        f"(SELECT min(b_.period_) FROM {p} AS a_ JOIN {p} AS b_ "
        f"ON b_.index_ BETWEEN a_.index_ - {n - 1} AND a_.index_ WHERE a_.period_ = {period})"
    )


def spine(grain: str, lo: str, hi: str) -> str:
    """SQL: the ``grain`` periods from ``lo`` to ``hi``, empty ones included (the calendar's, not the data's)."""
    return f"(SELECT period_ FROM {periods_name(grain)} WHERE period_ BETWEEN {lo} AND {hi})"


def check_sql(calendar: Calendar) -> str:
    """SQL: the first problem of the calendar table, if any: (date, kind, grain, label, date before).

    Kinds: ``duplicate`` (two rows for a date), ``gap`` (dates missing before it), ``null`` (no
    label), ``split`` (a label that comes back after another one: not one run of dates).
    """
    date = f"CAST({identifier(calendar.date or '')} AS DATE)"
    names = list(calendar.grains)
    columns = ", ".join(f"{identifier(c)} AS g{i}_" for i, c in enumerate(calendar.grains.values()))
    cases = [
        "WHEN count(*) OVER (PARTITION BY day_) > 1 THEN 'duplicate'",
        "WHEN lag(day_) OVER w_ < day_ - 1 THEN 'gap'",
    ]
    for i, grain in enumerate(names):
        g = f"g{i}_"
        cases.append(f"WHEN {g} IS NULL THEN 'null' || {literal(':' + grain)}")
        cases.append(
            f"WHEN min(day_) OVER (PARTITION BY {g}) < day_ AND lag({g}) OVER w_ IS DISTINCT FROM {g} "
            f"THEN 'split' || {literal(':' + grain)}"
        )
    labels = ", ".join(f"CAST(g{i}_ AS VARCHAR)" for i in range(len(names)))
    return (
        f"SELECT day_, why_, [{labels}] AS labels_, prev_ FROM (\n"
        f"  SELECT day_, g.*, lag(day_) OVER w_ AS prev_, CASE {' '.join(cases)} END AS why_\n"
        f"  FROM (SELECT {date} AS day_, {columns} FROM {identifier(calendar.table or '')} "
        f"WHERE {identifier(calendar.date or '')} IS NOT NULL) AS g\n"
        "  WINDOW w_ AS (ORDER BY day_)\n"
        ") AS c WHERE why_ IS NOT NULL ORDER BY day_ LIMIT 1"
    )


def check_error(calendar: Calendar, found: Sequence[Any]) -> DataError:
    """The data error for the first problem :func:`check_sql` found."""
    day, why, labels, prev = found
    kind, _, grain = str(why).partition(":")
    table = f"calendar table '{calendar.table}'"
    at = calendar.table_at
    if kind == "duplicate":
        return DataError(f"{table}: {day} has more than one row", at=at, hint="keep one row per date")
    if kind == "gap":
        missing = prev + dt.timedelta(days=1)
        return DataError(
            f"{table}: no row for {missing} (dates missing between {prev} and {day})",
            at=at,
            hint="a calendar table lists every date from its first to its last",
        )
    column = calendar.grains[grain]
    if kind == "null":
        return DataError(f"{table}: {day} has no {grain} period ({column} is NULL)", at=at, hint="label every date")
    label = labels[list(calendar.grains).index(grain)]
    return DataError(
        f"{table}: {grain} period {label!r} is not one run of dates: it starts again on {day}",
        at=at,
        hint=f"give each run of consecutive dates its own label in {column}",
    )


def periods_sql(calendar: Calendar, grain: str) -> str:
    """SQL: each ``grain`` period as (first date, last date, label), in order."""
    date = f"CAST({identifier(calendar.date or '')} AS DATE)"
    column = identifier(calendar.grains[grain])
    return (
        f"SELECT min({date}), max({date}), CAST({column} AS VARCHAR) FROM {identifier(calendar.table or '')} "
        f"WHERE {identifier(calendar.date or '')} IS NOT NULL GROUP BY {column} ORDER BY 1"
    )


def coverage_error(calendar: Calendar, kpis: str, first: dt.date, at: Any) -> DataError:
    """A row dated outside the calendar table: it has no custom period (never dropped silently)."""
    return DataError(
        f"{kpis}: a row is dated {first}, outside calendar table '{calendar.table}'",
        at=at,
        hint=f"extend '{calendar.table}' to cover every date of the data, or filter those rows out",
    )


# -- the periods of a run ----------------------------------------------------------------------


@dataclass(frozen=True)
class Periods:
    """The periods of one custom grain, in order: first dates, last dates, labels."""

    starts: tuple[dt.date, ...]
    ends: tuple[dt.date, ...]
    labels: tuple[str, ...]

    @classmethod
    def of(cls, rows: Sequence[Sequence[Any]]) -> Periods:
        """From :func:`periods_sql`'s rows; a period ends the day before the next one starts."""
        starts = tuple(r[0] for r in rows)
        ends = tuple(b - dt.timedelta(days=1) for b in starts[1:]) + tuple(r[1] for r in rows[-1:])
        return cls(starts, ends, tuple(str(r[2]) for r in rows))

    def index(self, day: dt.date) -> int:
        """The period containing ``day`` (before the first: the first; after the last: the last)."""
        return max(bisect.bisect_right(self.starts, day) - 1, 0)


_LOADED: ContextVar[Mapping[str, Periods] | None] = ContextVar("kpictl_calendar_periods", default=None)
_KPI_GRAINS: ContextVar[Mapping[str, str] | None] = ContextVar("kpictl_calendar_kpi_grains", default=None)


def use(found: Mapping[str, Periods], grain_of: Mapping[str, str] | None = None) -> None:
    """Make ``found`` the custom periods of what follows in this context (a run, its outputs),
    and ``grain_of`` (KPI → grain) the grain of each KPI run at a custom one.

    Set by each run (``Project.run``), empty for a project without a calendar table, so that
    judging and labels, which know a grain by its name only (or, for a table of rows, not at
    all: it is told from the spacing of periods, which a calendar's are not), find the periods
    the run read. A ``ContextVar``, not a parameter: ``year_start`` shows what threading one
    value through every judge and view costs (a follow-up could carry both in one value).
    """
    _LOADED.set(dict(found))
    _KPI_GRAINS.set(
        {kpi: grain for kpi, grain in (grain_of or {}).items() if is_custom_grain(grain) and grain in found}
    )


def grain_of(kpi: str) -> str | None:
    """The custom grain ``kpi`` was last run at in this context, if any."""
    return (_KPI_GRAINS.get() or {}).get(kpi)


def loaded(grain: str) -> Periods:
    """The periods of custom ``grain`` read by the current run."""
    found = (_LOADED.get() or {}).get(grain)
    if found is None or not found.starts:
        raise ValueError(f"unknown grain {grain!r}: expected one of {', '.join(RUN_GRAINS)} or a calendar table's")
    return found


def custom_grains() -> tuple[str, ...]:
    """The custom grains the current run read, in a fixed order (the bulk judge's codes)."""
    return tuple(_LOADED.get() or {})


def start(grain: str, day: dt.date) -> dt.date:
    """The first date of the ``grain`` period containing ``day``."""
    found = loaded(grain)
    return found.starts[found.index(day)]


def end(grain: str, day: dt.date) -> dt.date:
    """The last date of the ``grain`` period containing ``day``."""
    found = loaded(grain)
    return found.ends[found.index(day)]


def shift(grain: str, period: dt.date, n: int) -> dt.date:
    """The first date of the period ``n`` periods after ``period``; past the calendar's ends,
    ``date.max`` (after) or ``date.min`` (before): no such period."""
    found = loaded(grain)
    i = found.index(period) + n
    if i < 0:
        return dt.date.min
    return found.starts[i] if i < len(found.starts) else dt.date.max


def count(grain: str, first: dt.date, last: dt.date) -> int:
    """How many ``grain`` periods the days ``first`` to ``last`` touch."""
    found = loaded(grain)
    return found.index(last) - found.index(first) + 1


def label(grain: str, day: dt.date) -> str:
    """The calendar's label of the period containing ``day`` (``2025-P01``); a day outside the
    calendar (a projection past its end) is written as a date: it is in no period of it."""
    found = loaded(grain)
    if not found.starts[0] <= day <= found.ends[-1]:
        return day.isoformat()
    return found.labels[found.index(day)]
