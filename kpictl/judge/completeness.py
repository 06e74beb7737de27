"""Which periods are complete: every source a KPI reads has data through the period's last day.

A period that has not ended yet, or that a source has not fully delivered (the last week of a
file that stops on a Tuesday, the month an hourly feed is still filling), has a value but no
verdict: its row is flagged ``complete: false`` in the machine outputs and is never judged, nor
taken as the latest period by the table, ``--fail-on``, the dashboard or ``diff``.

How far a source is complete (:func:`through`), by its ``complete_through:`` in kpictl.yml:

- a date (``2025-06-30``): through that day;
- ``latest``: through the day of its latest time value, whatever its time of day;
- ``latest - N days`` / ``today - N days``: N days before that day, or before today;
- nothing declared: from its latest time value. A source whose values all start a period (a
  monthly ledger stamped on the 1st, two distinct values at least) is complete through the end of
  the latest one's period, the coarsest such period first (year, quarter, month, week); else
  a latest value at midnight (a date) or at 23:00 or later completes its day, and any earlier
  hour leaves that day running: complete through the day before. A source without rows sets
  no limit.

At hour grain an hour is complete when it ends before today and the source has delivered it
(:func:`through_hour`): a declared ``complete_through:`` or a stamped source completes every hour
of its last complete day; else the hours before its latest value's are complete, and that hour
too when the value sits at its start (13:00:00, as a date at midnight completes its day).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, TypeVar

from kpictl.engine import Latest
from kpictl.judge.targets import period_end
from kpictl.model import Row, Source
from kpictl.sql import periods

if TYPE_CHECKING:
    from kpictl.table import Table

_LAG = re.compile(r"^(latest|today) - (\d+) days?$")
_Limit = TypeVar("_Limit", dt.date, dt.datetime)  # a last complete day, or a first hour not delivered


def through(declared: str | None, latest: Latest, today: dt.date) -> dt.date | None:
    """The last day a source has complete data for (None: no limit), by the module's rules.

    >>> at = Latest(dt.datetime(2014, 1, 2, 5, 0))
    >>> through(None, at, dt.date(2026, 1, 1))       # 05:00: the 2nd is still running
    datetime.date(2014, 1, 1)
    >>> through("latest", at, dt.date(2026, 1, 1))
    datetime.date(2014, 1, 2)
    >>> through(None, Latest(dt.datetime(2025, 3, 1), ("month",)), dt.date(2026, 1, 1))
    datetime.date(2025, 3, 31)
    >>> through("today - 2 days", at, dt.date(2026, 1, 1))
    datetime.date(2025, 12, 30)
    """
    if declared == "latest":
        return latest.moment.date() if latest.moment else None
    if declared is not None and (lag := _LAG.match(declared)):
        base = today if lag.group(1) == "today" else latest.moment.date() if latest.moment else None
        return None if base is None else base - dt.timedelta(days=int(lag.group(2)))
    if declared is not None:
        return dt.date.fromisoformat(declared)
    moment = latest.moment
    if moment is None:
        return None
    if latest.stamps:
        return period_end(moment.date(), latest.stamps[0])
    whole_day = moment.time() == dt.time() or moment.hour >= 23
    return moment.date() if whole_day else moment.date() - dt.timedelta(days=1)


def through_hour(declared: str | None, latest: Latest, today: dt.date) -> dt.datetime | None:
    """The first hour a source has not fully delivered (None: no limit), by the module's rules.

    >>> through_hour(None, Latest(dt.datetime(2025, 1, 2, 3, 10)), dt.date(2026, 1, 1))
    datetime.datetime(2025, 1, 2, 3, 0)
    >>> through_hour(None, Latest(dt.datetime(2025, 1, 2, 3, 0)), dt.date(2026, 1, 1))
    datetime.datetime(2025, 1, 2, 4, 0)
    >>> through_hour("latest", Latest(dt.datetime(2025, 1, 2, 3, 10)), dt.date(2026, 1, 1))
    datetime.datetime(2025, 1, 3, 0, 0)
    """
    if declared is not None or latest.stamps:
        day = through(declared, latest, today)
        return None if day is None else dt.datetime.combine(day + dt.timedelta(days=1), dt.time())
    if latest.moment is None:
        return None
    hour = latest.moment.replace(minute=0, second=0, microsecond=0, tzinfo=None)
    return hour + dt.timedelta(hours=1) if latest.moment.replace(tzinfo=None) == hour else hour


def hour_horizons(
    feeds: Sequence[tuple[str, str]],
    fed_by: Mapping[str, Sequence[int]],
    latest: Sequence[Latest],
    sources: Mapping[str, Source],
    today: dt.date,
    waits: Mapping[str, Mapping[int, int]] | None = None,
) -> dict[str, dt.datetime]:
    """:func:`horizons` to the hour, for KPIs at hour grain: the first hour of each KPI that some
    feed has not fully delivered (:func:`through_hour`; a funnel's window moves it back)."""
    return _earliest(feeds, fed_by, latest, sources, today, waits, through=through_hour)


def horizons(
    feeds: Sequence[tuple[str, str]],
    fed_by: Mapping[str, Sequence[int]],
    latest: Sequence[Latest],
    sources: Mapping[str, Source],
    today: dt.date,
    waits: Mapping[str, Mapping[int, int]] | None = None,
) -> dict[str, dt.date]:
    """The last complete day of each KPI: the earliest of its feeds' (KPIs without a limit left out).

    ``feeds`` are (source, time column) pairs, ``fed_by`` the feeds behind each KPI and
    ``latest`` how far each feed has data, all as ``CompiledQuery`` and ``engine.Results`` give them;
    ``waits`` the days a KPI needs a feed's data past a period's end (a funnel's window).
    """
    return _earliest(feeds, fed_by, latest, sources, today, waits, through=through)


def _earliest(
    feeds: Sequence[tuple[str, str]],
    fed_by: Mapping[str, Sequence[int]],
    latest: Sequence[Latest],
    sources: Mapping[str, Source],
    today: dt.date,
    waits: Mapping[str, Mapping[int, int]] | None,
    *,
    through: Callable[[str | None, Latest, dt.date], _Limit | None],
) -> dict[str, _Limit]:
    """The earliest limit of each KPI's feeds, each feed's ``through(declared, latest, today)``
    moved back by the days the KPI waits for it; KPIs whose feeds set no limit left out."""
    limits: list[_Limit | None] = []
    for (source, _), found in zip(feeds, latest, strict=True):
        declared = sources[source].complete_through if source in sources else None
        limits.append(through(declared, found, today))
    out = {}
    for kpi, indexes in fed_by.items():
        wait = (waits or {}).get(kpi, {})
        moved = [limit - dt.timedelta(days=wait.get(i, 0)) for i in indexes if (limit := limits[i]) is not None]
        if moved:
            out[kpi] = min(moved)
    return out


def mark(
    rows: Sequence[Row],
    horizons: Mapping[str, dt.date],
    grain_of: Mapping[str, str],
    today: dt.date,
    full_from: Mapping[str, dt.date] | None = None,
    year_start: int = 1,
    hours: Mapping[str, dt.datetime] | None = None,
) -> list[Row]:
    """``rows`` with ``complete`` false where the period ends today or later, or after its KPI's
    horizon; and ``partial_window`` true before its KPI's first period with full windows
    (``full_from``, :func:`windows_full_from`). A fiscal quarter (``year_start``: the month
    fiscal quarters and years start in) ends with its own last month. An hour is held against
    its KPI's horizon to the hour (``hours``, :func:`hour_horizons`) instead."""
    hours = hours or {}
    ends: dict[tuple[dt.date, str], dt.date] = {}
    full_from = full_from or {}
    out = []
    for row in rows:
        grain = grain_of.get(row.kpi, "month")
        end = ends.get((row.period, grain))
        if end is None:
            end = ends[(row.period, grain)] = period_end(row.period, grain, year_start)
        horizon = horizons.get(row.kpi)
        complete = end < today and (horizon is None or end <= horizon)
        if grain == "hour":
            limit = hours.get(row.kpi)
            complete = end < today and (limit is None or row.period + dt.timedelta(hours=1) <= limit)
        partial = row.kpi in full_from and row.period < full_from[row.kpi]
        out.append(
            row if complete and not partial else dataclasses.replace(row, complete=complete, partial_window=partial)
        )
    return out


def windows_full_from(
    reach: Mapping[str, int],
    fed_by: Mapping[str, Sequence[int]],
    latest: Sequence[Latest],
    grain_of: Mapping[str, str],
    year_start: int = 1,
) -> dict[str, dt.date]:
    """The first period whose rolling windows are full, for each KPI that reads some: ``reach``
    periods after the first period of the latest-starting source it reads (``CompiledQuery.reach``).

    >>> windows_full_from({"r3": 2}, {"r3": (0,)}, [Latest(None, (), dt.datetime(2025, 1, 9))], {"r3": "month"})
    {'r3': datetime.date(2025, 3, 1)}
    """

    out = {}
    for kpi, back in reach.items():
        grain = grain_of.get(kpi, "")
        starts = [
            found.first if grain == "hour" else found.first.date()  # an hour's period is a datetime
            for i in fed_by.get(kpi, ())
            if (found := latest[i]).first is not None
        ]
        if starts and kpi in grain_of:
            out[kpi] = periods.shift(grain, periods.start(grain, max(starts), year_start), back)
    return out


def mark_table(
    rows: Table,
    horizons: Mapping[str, dt.date],
    grain_of: Mapping[str, str],
    today: dt.date,
    full_from: Mapping[str, dt.date] | None = None,
    year_start: int = 1,
    hours: Mapping[str, dt.datetime] | None = None,
) -> Table:
    """:func:`mark` of a run's table, column-wise (``bulk.period_ends`` is ``period_end``'s twin)."""
    import numpy as np

    from kpictl.judge import bulk
    from kpictl.model import GRAINS

    full_from = full_from or {}
    grains = np.array([bulk.grain_code(grain_of.get(name, "month")) for name in rows.names], dtype=np.int64)
    horizon = np.array([h.toordinal() if (h := horizons.get(n)) else dt.date.max.toordinal() for n in rows.names])
    first_full = np.array([periods.hours(f) if (f := full_from.get(n)) else 0 for n in rows.names], dtype=np.int64)
    ends = bulk.period_ends(rows.day, grains[rows.kpi], year_start) if len(rows) else rows.day
    complete = (ends < today.toordinal()) & (ends <= horizon[rows.kpi])
    hourly = grains == GRAINS.index("hour")
    if hourly.any():  # an hour: delivered when the feeds reach its end (hours since day 1, Table.moments)
        limits = [h.toordinal() * 24 + h.hour if (h := (hours or {}).get(n)) else _NO_LIMIT for n in rows.names]
        delivered = rows.moments() + 1 <= np.array(limits, dtype=np.int64)[rows.kpi]
        complete = np.where(hourly[rows.kpi], (ends < today.toordinal()) & delivered, complete)
    partial = rows.moments() < first_full[rows.kpi]
    return dataclasses.replace(rows, complete=complete, partial_window=partial)


_NO_LIMIT = dt.date.max.toordinal() * 24 + 24
