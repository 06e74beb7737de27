"""How a generated table travels from Python to a file: raw CSV rows, then one DuckDB SELECT.

Generators write *raw* rows (integers for days and minutes, 1/0 for booleans, a generation
sequence number ``seq``) to a temporary CSV, because Python is fast at that and slow at
anything richer. Each table then declares the one SELECT that turns its raw rows into the
shipped columns: dates, timestamps, DECIMAL money, and identifiers numbered in time order
(``row_number() OVER (ORDER BY date, seq)``, so an order id grows with its order date even
though orders are generated customer by customer). A table that references another one joins
the already-built table on its ``_seq`` (shipments get their ``order_id`` that way).

This module declares shapes and writers; it runs no SQL itself (``sample`` does).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol


class RowWriter(Protocol):
    """What generators write raw rows to (a ``csv.writer``)."""

    def writerow(self, row: Iterable[Any], /) -> Any: ...


@dataclass(frozen=True)
class Table:
    """One shipped table.

    ``raw`` lists the raw CSV columns as (name, DuckDB type); ``select`` builds the final table
    from ``raw_<name>`` (and earlier tables) and must keep a ``_seq`` column, dropped on export;
    ``order_by`` is the sort of the shipped file, which makes the bytes reproducible.
    """

    name: str
    raw: tuple[tuple[str, str], ...]
    select: str
    order_by: str


#: SQL macros the SELECTs use to turn day and minute numbers back into dates and timestamps.
MACROS = (
    "CREATE MACRO as_date(d) AS DATE '2024-01-01' + d",
    "CREATE MACRO as_timestamp(m) AS TIMESTAMP '2024-01-01' + to_minutes(m)",
)
