"""Stage 3, SQL → rows: the only package that imports a database engine.

``duckdb.py`` opens a confined connection, runs one SELECT, and turns engine errors into
DataError; ``spark.py`` does the same on Spark; ``parquet.py`` writes ``run --format parquet``
output through DuckDB. What both engines say alike is here, written once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kpictl.errors import DataError, Location
from kpictl.model import Computed, Lookup, Row


@dataclass(frozen=True)
class Latest:
    """How far one feed (a source and its time column) has data: its latest time value
    (None: no rows), the periods (``query.STAMPS``) every one of its values starts, and
    where its data begins."""

    moment: dt.datetime | None
    stamps: tuple[str, ...] = ()
    first: dt.datetime | None = None  # its earliest time value


@dataclass(frozen=True)
class Results:
    """The rows of a run, and how far each of its feeds has data (``CompiledQuery.feeds`` order)."""

    rows: list[Row]
    latest: tuple[Latest, ...] = ()
    table: Any = None  # the rows as a ``table.Table`` instead (``rows`` then empty), when asked for
    calendars: Any = None  # custom grain → ``sql.calendars.Periods`` read from the calendar table


def latest_of(found: Sequence[Sequence[Any]]) -> tuple[Latest, ...]:
    """The freshness query's rows (feed, latest, earliest, distinct values, a flag per stamp) as Latest.

    A stamp counts only over two distinct values or more: one date alone starts a week, a month
    and a year at once, and says nothing of how the source is stamped.
    """
    from kpictl.sql.query import STAMPS

    by_feed = {row[0]: row for row in found}
    latest = []
    for feed in range(len(by_feed)):
        _, moment, first, distinct, *flags = by_feed[feed]
        moment = None if moment is None else dt.datetime.fromisoformat(str(moment))
        first = None if first is None else dt.datetime.fromisoformat(str(first))
        stamps = tuple(g for g, flag in zip(STAMPS, flags, strict=True) if flag == 1) if (distinct or 0) > 1 else ()
        latest.append(Latest(moment, stamps, first))
    return tuple(latest)


def computed_sql(column: Computed, dialect: str) -> str:
    """A computed column's expression in an engine's SQL, every identifier quoted."""
    from kpictl.language import formula
    from kpictl.language.resolve import computed_tree

    tree = computed_tree(column.expr)
    if tree is None:  # validate reports it first; this says the same if an API caller gets here
        formula.parse(column.expr, "column", column.at)
    return str(tree.sql(dialect, identify=True))


def given_types(compiled: Any, tables: Any, types: Any) -> Any:
    """The column types of a run on given tables (``kpictl test``): a lookup the tables leave out
    becomes an empty table with its key columns, so that its joins find nothing."""
    if tables is None:
        return types
    keys = {
        lk.source: dict.fromkeys((*lk.key_columns, *filter(None, (lk.valid_from, lk.valid_to))), '"NULL"')
        for _, lk in compiled.lookups
        if lk.source not in tables
    }
    return {name: {**keys.get(name, {}), **(types or {}).get(name, {})} for name in {*keys, *(types or {})}}


def duplicate_keys_sql(lookup: Lookup, quote: Callable[[str], str], text: str) -> str:
    """The SELECT both engines run to find a lookup's duplicated keys: (key, how many keys are
    duplicated) rows, at most 5; a composite key reads as its parts joined by ", " (``text``: the
    engine's name of the text type). A key with a NULL part matches nothing: left out."""
    parts = [quote(column) for column in lookup.key_columns]
    key = parts[0] if len(parts) == 1 else f"concat_ws(', ', {', '.join(f'CAST({p} AS {text})' for p in parts)})"
    present = " AND ".join(f"{p} IS NOT NULL" for p in parts)
    if lookup.valid_from and lookup.valid_to:
        return _overlaps_sql(lookup, quote, parts, key, present)
    return (
        f"SELECT k, count(*) OVER () FROM (SELECT {key} AS k FROM {quote(lookup.source)} WHERE {present} "
        f"GROUP BY {', '.join(parts)} HAVING count(*) > 1) AS d ORDER BY k LIMIT 5"
    )


def _overlaps_sql(lookup: Lookup, quote: Callable[[str], str], parts: list[str], key: str, present: str) -> str:
    """A history's keys whose versions overlap: sorted by start (an open start first), a version
    overlaps another one exactly when it starts before the previous one ends (or both are open)."""
    start, end = (f"CAST({quote(c or '')} AS TIMESTAMP)" for c in (lookup.valid_from, lookup.valid_to))
    window = f"PARTITION BY {', '.join(parts)} ORDER BY {start} NULLS FIRST, {end} NULLS LAST"
    return (  # a version that ends before it starts is refused with them: it could never be joined
        f"SELECT k, count(*) OVER () FROM (SELECT DISTINCT k FROM (SELECT {key} AS k, {start} AS s_, {end} AS t_, "
        f"row_number() OVER ({window}) AS n_, lag({end}) OVER ({window}) AS e_ FROM {quote(lookup.source)} "
        f"WHERE {present}) AS v WHERE (n_ > 1 AND (e_ IS NULL OR s_ IS NULL OR s_ < e_)) OR t_ < s_) AS d "
        "ORDER BY k LIMIT 5"
    )


def tie_error(kpis: str, at: Location, ties: Sequence[tuple[Any, int]]) -> DataError:
    """A balance whose entity has two rows at one time: which one is its balance is unknown."""
    shown = ", ".join(repr(k) for k, _ in ties)
    return DataError(
        f"balance {kpis}: {ties[0][1]} entity and time pair(s) have several rows ({shown}): which one counts "
        "is unknown",
        at=at,
        hint="keep one row per entity and time in the source (a snapshot is one balance per entity at a time)",
    )


def duplicate_key_error(fact: str, lookup: Lookup, duplicates: Sequence[tuple[Any, int]]) -> DataError:
    """The error for a lookup whose key is not unique: ``duplicates`` are (key value, how many
    keys are duplicated) rows, at most 5, as both engines' check queries return them. For a
    history, the keys whose versions overlap."""
    shown = ", ".join(repr(k) for k, _ in duplicates)
    if lookup.valid_from:
        return DataError(
            f"versions overlap in history '{lookup.source}': {duplicates[0][1]} key(s) of '{lookup.on}' have two "
            f"versions valid at once, or one that ends before it starts ({shown}); joining '{fact}' to it would "
            "count rows several times",
            at=lookup.at,
            hint=f"end each version ({lookup.valid_to}) on or before the start of the next one ({lookup.valid_from})",
        )
    return DataError(
        f"lookup key '{lookup.on}' is not unique in '{lookup.source}': {duplicates[0][1]} value(s) appear "
        f"more than once ({shown}); joining '{fact}' to it would count rows several times",
        at=lookup.at,
        hint=f"remove the duplicates from '{lookup.source}' or look up a unique key",
    )
