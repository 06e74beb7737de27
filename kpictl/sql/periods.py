"""Calendar arithmetic of grains: the period containing a day, periods before and after it.

A period is named by its first day (ISO weeks start on Monday). These are the Python twins
of the SQL the compiler writes (``date_trunc``, ``INTERVAL``), used for the dates passed as
query parameters; they never read data.
"""

from __future__ import annotations

import datetime as dt

from kpictl.model import GRAINS as GRAINS  # re-exported: the planner checks a grain here

_MONTHS = {"month": 1, "quarter": 3, "year": 12}
#: One period as a DuckDB interval (quarters as 3 months: DuckDB and PostgreSQL agree).
STEP = {"day": (1, "DAY"), "week": (7, "DAY"), "month": (1, "MONTH"), "quarter": (3, "MONTH"), "year": (1, "YEAR")}


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


def interval(grain: str, n: int = 1) -> str:
    """``n`` periods as a SQL interval literal, e.g. ``INTERVAL 3 MONTH`` for one quarter."""
    size, unit = STEP[grain]
    return f"INTERVAL {size * n} {unit}"
