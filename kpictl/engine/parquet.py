"""``run --format parquet``: typed rows written as a Parquet file by DuckDB, returned as bytes."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import duckdb

from kpictl.sql.quoting import identifier, literal


def to_parquet(names: Sequence[str], types: Sequence[str], columns: Sequence[Sequence[Any]]) -> bytes:
    """A Parquet file of ``columns`` (lists of values) named ``names``, of DuckDB ``types``, as bytes.

    The values go in as parameters, never as SQL text (one unnest per column, zipped by DuckDB);
    the file is written in a private temporary folder, with one thread so that the same rows
    always give the same bytes.
    """
    import tempfile

    select = ", ".join(
        f"unnest(${i}::{kind}[]) AS {identifier(name)}"
        for i, (name, kind) in enumerate(zip(names, types, strict=True), 1)
    )
    with tempfile.TemporaryDirectory(prefix="kpictl-") as folder:
        path = os.path.join(folder, "rows.parquet")
        con = duckdb.connect(":memory:", config={"threads": 1})
        try:
            con.execute(f"CREATE TABLE result AS SELECT {select}", list(columns))
            con.execute(f"COPY result TO {literal(path)} (FORMAT parquet)")
        finally:
            con.close()
        with open(path, "rb") as file:
            return file.read()
