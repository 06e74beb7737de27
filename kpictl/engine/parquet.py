"""Machine outputs of large tables, made by DuckDB from columns: Parquet files, and the lines of
CSV and JSON (``report.files`` decides what each cell says; this module only assembles them).

A breakdown by customer writes a million rows; formatting their numbers in Python (``repr`` of
each float) took longer than the query. DuckDB writes a double as the shortest text that reads
back as the same double, which is what ``repr`` writes (``tests/test_report.py`` checks it on
every kind of number), so numbers are formatted here and everything else (text, dates) is
encoded by ``report.files`` once per distinct value and looked up by code.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import duckdb

from kpictl.sql.quoting import identifier, literal
from kpictl.table import Cells, Column


def _scan(columns: Sequence[Column]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The arrays DuckDB scans (``c0``, ``c1``…) and the lists they look up (``$v0``…)."""
    arrays, params = {}, {}
    for i, column in enumerate(columns):
        if isinstance(column, Cells):
            arrays[f"c{i}"] = column.codes
            params[f"v{i}"] = list(column.values)
        else:
            arrays[f"c{i}"] = column.values
    return arrays, params


def lines(parts: Sequence[str | Column], *, joined_by: str = "") -> str:
    """One text line per row, each ended by a newline: the ``parts`` (constant text, or a column's
    cell) one after another, and ``joined_by`` at the end of every line but the last.

    DuckDB writes them (``COPY`` with quoting off writes each line as it is), in the rows' order,
    to a private temporary file read back whole: no Python string per line.
    """
    import tempfile

    import numpy as np

    columns = [p for p in parts if not isinstance(p, str)]
    if not columns:
        return ""
    arrays, params = _scan(columns)
    terms: list[str] = []
    i = 0
    for part in parts:
        if isinstance(part, str):
            params[f"t{len(terms)}"] = part
            terms.append(f"$t{len(terms)}")
            continue
        if isinstance(part, Cells):
            terms.append(f"$v{i}[c{i} + 1]")
        else:
            params[f"m{i}"] = part.missing
            terms.append(f"CASE WHEN isfinite(c{i}) THEN CAST(c{i} AS VARCHAR) ELSE $m{i} END")
        i += 1
    if joined_by:
        count = len(columns[0].codes if isinstance(columns[0], Cells) else columns[0].values)
        arrays["last_"] = np.arange(count) == count - 1
        params["joined_by"] = joined_by
        terms.append("CASE WHEN last_ THEN '' ELSE $joined_by END")
    with tempfile.TemporaryDirectory(prefix="kpictl-") as folder:
        path = os.path.join(folder, "lines.txt")
        con = duckdb.connect(":memory:")
        try:
            con.register("rows_", arrays)
            select = f"SELECT {' || '.join(terms)} FROM rows_"  # rows keep their order (preserve_insertion_order)
            con.execute(f"COPY ({select}) TO {literal(path)} (FORMAT csv, HEADER false, QUOTE '', ESCAPE '')", params)
        finally:
            con.close()
        with open(path, encoding="utf-8", newline="") as file:
            return file.read()


def to_parquet(names: Sequence[str], columns: Sequence[Column]) -> bytes:
    """A Parquet file of ``columns`` named ``names``, as bytes: cells of their ``kind`` (their
    values passed as parameters, never as SQL text), numbers as DOUBLE. Written in a private
    temporary folder, on one thread so that the same rows always give the same bytes."""
    import tempfile

    arrays, params = _scan(columns)
    select = []
    for i, (name, column) in enumerate(zip(names, columns, strict=True)):
        if isinstance(column, Cells):
            # typed by the column's kind (one of a few kpictl names), even when every value is NULL
            value = f"CAST($v{i} AS {column.kind}[])[c{i} + 1]"
        else:
            value = f"CASE WHEN isfinite(c{i}) THEN c{i} END"
        select.append(f"{value} AS {identifier(name)}")
    with tempfile.TemporaryDirectory(prefix="kpictl-") as folder:
        path = os.path.join(folder, "rows.parquet")
        con = duckdb.connect(":memory:", config={"threads": 1})
        try:
            con.register("rows_", arrays)
            con.execute(f"CREATE TABLE result AS SELECT {', '.join(select)} FROM rows_", params)
            con.execute(f"COPY result TO {literal(path)} (FORMAT parquet)")
        finally:
            con.close()
        with open(path, "rb") as file:
            return file.read()
