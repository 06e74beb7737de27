"""Stage 3, SQL → rows: the only package that imports a database engine.

``duckdb.py`` opens a confined connection, runs one SELECT, and turns engine errors into
DataError; ``spark.py`` does the same on Spark; ``parquet.py`` writes ``run --format parquet``
output through DuckDB. What both engines say alike is here, written once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kpictl.errors import DataError
from kpictl.model import Lookup


def duplicate_key_error(fact: str, lookup: Lookup, duplicates: Sequence[tuple[Any, int]]) -> DataError:
    """The error for a lookup whose key is not unique: ``duplicates`` are (key value, how many
    keys are duplicated) rows, at most 5, as both engines' check queries return them."""
    shown = ", ".join(repr(k) for k, _ in duplicates)
    return DataError(
        f"lookup key '{lookup.on}' is not unique in '{lookup.source}': {duplicates[0][1]} value(s) appear "
        f"more than once ({shown}); joining '{fact}' to it would count rows several times",
        at=lookup.at,
        hint=f"remove the duplicates from '{lookup.source}' or look up a unique key",
    )
