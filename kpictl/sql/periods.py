"""Calendar arithmetic of grains: the period containing a day, periods before and after it.

A period is named by its first day (ISO weeks start on Monday), an hour by its first moment (a
``datetime``: ``datetime`` is a ``date`` subclass, so the functions below take either and give an
hour's start as a datetime, a day or longer's as a plain date). These are the Python twins
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
from kpictl.model import is_custom_grain
from kpictl.sql import calendars

_MONTHS = {"month": 1, "quarter": 3, "year": 12}
#: Most periods one run may show: 20,000 days is 55 years, weeks 383 years. More is a date typo
#: (a row or --from dated 0001-01-01) that would make a run take minutes and gigabytes. Hours keep
#: the same rule (833 days of hours, a run of about the same size): an hourly run over years is
#: narrowed with --from/--to, which for hours also bounds what is computed (see HOUR_HINT).
MAX_PERIODS = 20_000
RANGE_HINT = "narrow the range with --from/--to or use a longer --grain; a date like 0001-01-01 is often a typo"
HOUR_HINT = "at hour grain 20,000 periods are 833 days: narrow the range with --from/--to, or use --grain day"
#: One period as a DuckDB interval (quarters as 3 months: DuckDB and PostgreSQL agree).
STEP = {
    "hour": (1, "HOUR"),
    "day": (1, "DAY"),
    "week": (7, "DAY"),
    "month": (1, "MONTH"),
    "quarter": (3, "MONTH"),
    "year": (1, "YEAR"),
}
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
    >>> start("hour", dt.datetime(2025, 1, 1, 13, 40)), start("day", dt.datetime(2025, 1, 1, 13))
    (datetime.datetime(2025, 1, 1, 13, 0), datetime.date(2025, 1, 1))
    """
    if is_custom_grain(grain):  # a calendar table's: read by the run
        return calendars.start(grain, as_day(day))
    if grain == "hour":  # a day given alone is its first hour
        return dt.datetime(day.year, day.month, day.day, day.hour if isinstance(day, dt.datetime) else 0)
    day = as_day(day)
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
    if is_custom_grain(grain):
        return calendars.shift(grain, as_day(period), n)
    if grain == "hour":
        return start("hour", period) + dt.timedelta(hours=n)
    period = as_day(period)
    if grain in ("day", "week"):
        return period + dt.timedelta(days=n * (7 if grain == "week" else 1))
    months = period.year * 12 + period.month - 1 + n * _MONTHS[grain]
    return dt.date(months // 12, months % 12 + 1, 1)


def count(grain: str, first: dt.date, last: dt.date, year_start: int = 1) -> int:
    """How many periods of ``grain`` the days ``first`` to ``last`` touch (hours: every one of those days')."""
    if is_custom_grain(grain):
        return calendars.count(grain, as_day(first), as_day(last))
    if grain == "hour":
        return ((as_day(last) - as_day(first)).days + 1) * 24
    a, b = start(grain, first, year_start), start(grain, last, year_start)
    if grain in ("day", "week"):
        return (b - a).days // (7 if grain == "week" else 1) + 1
    return ((b.year - a.year) * 12 + b.month - a.month) // _MONTHS[grain] + 1


def as_day(moment: dt.date) -> dt.date:
    """The day of a date or a datetime, as a plain date (a datetime and a date do not compare).

    >>> as_day(dt.datetime(2025, 1, 1, 13)), as_day(dt.date(2025, 1, 1))
    (datetime.date(2025, 1, 1), datetime.date(2025, 1, 1))
    """
    return dt.date(moment.year, moment.month, moment.day) if isinstance(moment, dt.datetime) else moment


def hours(period: dt.date) -> int:
    """A period as hours since day 1: what orders periods of any grain (a date is its first hour).

    >>> hours(dt.datetime(1, 1, 1, 13)), hours(dt.date(1, 1, 2))
    (37, 48)
    """
    return period.toordinal() * 24 + (period.hour if isinstance(period, dt.datetime) else 0)


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
