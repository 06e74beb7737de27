"""Calendar arithmetic of grains: the period containing a day, periods before and after it.

A period is named by its first day (ISO weeks start on Monday). These are the Python twins
of the SQL the compiler writes (``date_trunc``, ``INTERVAL``), used for the dates passed as
query parameters; they never read data.
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


def start(grain: str, day: dt.date) -> dt.date:
    """The first day of the period of ``grain`` containing ``day``."""
    if grain == "day":
        return day
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    months = _MONTHS[grain]
    return dt.date(day.year, (day.month - 1) // months * months + 1, 1)


def shift(grain: str, period: dt.date, n: int) -> dt.date:
    """The first day of the period ``n`` periods after ``period`` (before it when ``n`` < 0)."""
    if grain in ("day", "week"):
        return period + dt.timedelta(days=n * (7 if grain == "week" else 1))
    months = period.year * 12 + period.month - 1 + n * _MONTHS[grain]
    return dt.date(months // 12, months % 12 + 1, 1)


def count(grain: str, first: dt.date, last: dt.date) -> int:
    """How many periods of ``grain`` the days ``first`` to ``last`` touch."""
    a, b = start(grain, first), start(grain, last)
    if grain in ("day", "week"):
        return (b - a).days // (7 if grain == "week" else 1) + 1
    return ((b.year - a.year) * 12 + b.month - a.month) // _MONTHS[grain] + 1


def interval(grain: str, n: int = 1) -> str:
    """``n`` periods as a SQL interval literal, e.g. ``INTERVAL 3 MONTH`` for one quarter."""
    size, unit = STEP[grain]
    return f"INTERVAL {size * n} {unit}"
