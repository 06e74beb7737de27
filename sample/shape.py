"""The shape of the sample business: its calendar, seasons, growth and a few random helpers.

Every generator module draws from here so that the same story holds across tables: orders,
tickets and web traffic all peak in Q4 and sag in August, all grow about 12 % a year, and an
"improvement programme" starts in 2025 so that several KPIs visibly move. Nothing here touches
files or DuckDB.

Days are integers counted from ``START`` (2024-01-01 is day 0, earlier days are negative) and
instants are minutes from the same origin; the DuckDB step turns them into DATE and TIMESTAMP.
Plain integers keep the per-row Python work (and so ``--scale 100``) cheap.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

START = dt.date(2024, 1, 1)
END = dt.date(2025, 12, 31)
#: The last day of the data (day 730): later events are not known yet, so they are NULL.
LAST_DAY = (END - START).days
#: Day of 2025-01-01: the improvement programmes (faster picking, KAM programme…) start here.
Y2025 = (dt.date(2025, 1, 1) - START).days
MINUTES_PER_DAY = 24 * 60

#: Demand by calendar month (Jan … Dec): a B2B year with a summer lull and a Q4 peak.
SEASON = (0.92, 0.96, 1.05, 1.00, 1.00, 1.04, 0.90, 0.74, 1.05, 1.10, 1.16, 1.08)

#: (first day, number of days, calendar month 1-12) of each month from 2022-01 to 2025-12.
MONTHS: tuple[tuple[int, int, int], ...] = tuple(
    (
        (dt.date(year, month, 1) - START).days,
        ((dt.date(year + month // 12, month % 12 + 1, 1)) - dt.date(year, month, 1)).days,
        month,
    )
    for year in (2022, 2023, 2024, 2025)
    for month in range(1, 13)
)
#: The 24 months of the data window.
DATA_MONTHS = tuple(m for m in MONTHS if m[0] >= 0)


#: Calendar month of every day from 2022-01-01 to well after the data, looked up per row (fast).
_FIRST = MONTHS[0][0]
_MONTH_OF_DAY = tuple((START + dt.timedelta(days=d)).month for d in range(_FIRST, LAST_DAY + 400))


def month_of(day: int) -> int:
    """Calendar month (1-12) of a day number between 2022-01-01 and early 2027."""
    return _MONTH_OF_DAY[day - _FIRST]


def weekday(day: int) -> int:
    """ISO weekday of a day number: 0 = Monday … 6 = Sunday (2024-01-01 was a Monday)."""
    return day % 7


def next_business_day(day: int) -> int:
    """The day itself if Monday-Friday, else the following Monday: warehouses do not ship at weekends."""
    wd = weekday(day)
    return day + (7 - wd if wd >= 5 else 0)


def demand(day: int) -> float:
    """Seasonal demand multiplied by a 12 %-a-year growth trend (1.0 in early 2024)."""
    return SEASON[month_of(day) - 1] * (1.0 + 0.12 * day / 365.0)


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson count (Knuth's method for small means, a rounded normal for large ones)."""
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def pick(rng: random.Random, options: Sequence[tuple[T, float]]) -> T:
    """One value of ``options`` [(value, weight), …] drawn by weight; cheaper than rng.choices for short lists."""
    total = sum(w for _, w in options)
    r = rng.random() * total
    for value, weight in options:
        r -= weight
        if r < 0:
            return value
    return options[-1][0]


def money(x: float) -> float:
    """Round an amount to cents (the DuckDB step stores it as DECIMAL(12,2))."""
    return round(x, 2)
