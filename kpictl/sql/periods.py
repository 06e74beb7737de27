"""Calendar arithmetic of grains: the period containing a day, periods before and after it.

A period is named by its first day (ISO weeks start on Monday). These are the Python twins
of the SQL the compiler writes (``date_trunc``, ``INTERVAL``), used for the dates passed as
query parameters; they never read data.

A fiscal year (``year_start``: the month a year starts in, ``Calendar.year_start``) shifts
quarters and years by whole months: the fiscal quarter of a day is the calendar quarter of the
day ``offset`` months earlier, moved ``offset`` months later again. Months keep their day, so
no day crosses a period's edge on the way (hence fiscal years start on the 1st of a month).
"""

from __future__ import annotations

import datetime as dt

from kpictl.model import GRAINS as GRAINS  # the periods below are these

_MONTHS = {"month": 1, "quarter": 3, "year": 12}
#: Most periods one run may show: 20,000 days is 55 years, weeks 383 years. More is a date typo
#: (a row or --from dated 0001-01-01) that would make a run take minutes and gigabytes.
MAX_PERIODS = 20_000
RANGE_HINT = "narrow the range with --from/--to or use a longer --grain; a date like 0001-01-01 is often a typo"
#: One period as a DuckDB interval (quarters as 3 months: DuckDB and PostgreSQL agree).
STEP = {"day": (1, "DAY"), "week": (7, "DAY"), "month": (1, "MONTH"), "quarter": (3, "MONTH"), "year": (1, "YEAR")}
STEP["all"] = (1, "DAY")  # --grain all has one period: its spine is one day long


def offset(grain: str, year_start: int = 1) -> int:
    """How many months after the calendar's the periods of ``grain`` start: 0 but for the
    quarters and years of a fiscal year (quarters of a year starting in April are the calendar's).

    >>> offset("year", 4), offset("quarter", 4), offset("quarter", 2), offset("month", 4)
    (3, 0, 1, 0)
    """
    return (year_start - 1) % _MONTHS[grain] if grain in ("quarter", "year") else 0


def start(grain: str, day: dt.date, year_start: int = 1) -> dt.date:
    """The first day of the period of ``grain`` containing ``day`` (``year_start``: the month
    fiscal quarters and years start in).

    >>> start("year", dt.date(2025, 3, 31), 4), start("quarter", dt.date(2025, 3, 31), 2)
    (datetime.date(2024, 4, 1), datetime.date(2025, 2, 1))
    """
    if grain == "day":
        return day
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    months, shift = _MONTHS[grain], offset(grain, year_start)
    index = day.year * 12 + day.month - 1 - shift  # months since year 0, in the shifted calendar
    index = index - index % months + shift
    if index < 12:  # a fiscal period starting before year 1 (a day in 0001-01..03): no such date
        return dt.date.min
    return dt.date(index // 12, index % 12 + 1, 1)


def shift(grain: str, period: dt.date, n: int) -> dt.date:
    """The first day of the period ``n`` periods after ``period`` (before it when ``n`` < 0)."""
    if grain in ("day", "week"):
        return period + dt.timedelta(days=n * (7 if grain == "week" else 1))
    months = period.year * 12 + period.month - 1 + n * _MONTHS[grain]
    return dt.date(months // 12, months % 12 + 1, 1)


def count(grain: str, first: dt.date, last: dt.date, year_start: int = 1) -> int:
    """How many periods of ``grain`` the days ``first`` to ``last`` touch."""
    a, b = start(grain, first, year_start), start(grain, last, year_start)
    if grain in ("day", "week"):
        return (b - a).days // (7 if grain == "week" else 1) + 1
    return ((b.year - a.year) * 12 + b.month - a.month) // _MONTHS[grain] + 1


def interval(grain: str, n: int = 1) -> str:
    """``n`` periods as a SQL interval literal, e.g. ``INTERVAL 3 MONTH`` for one quarter."""
    size, unit = STEP[grain]
    return f"INTERVAL {size * n} {unit}"


def fiscal_year(period: dt.date, year_start: int = 1) -> int:
    """The year a period is in, a fiscal year named by the year it ends in (FY2026: April
    2025–March 2026); with calendar years, the period's own year.

    >>> fiscal_year(dt.date(2025, 4, 1), 4), fiscal_year(dt.date(2026, 3, 1), 4), fiscal_year(dt.date(2025, 4, 1))
    (2026, 2026, 2025)
    """
    return period.year + (1 if year_start > 1 and period.month >= year_start else 0)


def quarter(period: dt.date, year_start: int = 1) -> int:
    """The number (1–4) of the quarter of its year a period is in, counted from ``year_start``."""
    return (period.month - year_start) % 12 // 3 + 1
