"""Machine outputs of large tables, made by DuckDB from columns: Parquet files, and the lines of
CSV and JSON (``report.files`` decides what each cell says; this module only assembles them).

A breakdown by customer writes a million rows; formatting their numbers in Python (``repr`` of
each float) took longer than the query. DuckDB writes a double as the shortest text that reads
back as the same double, which is what ``repr`` writes (``tests/test_report.py`` checks it on
every kind of number), so numbers are formatted here and everything else (text, dates) is
encoded by ``report.files`` once per distinct value and looked up by code.
"""

from __future__ import annotations

import itertools
import math
import os
import shutil
from collections.abc import Sequence
from typing import Any, BinaryIO

import duckdb

from kpictl.engine.files import spill_settings
from kpictl.sql.quoting import identifier, literal
from kpictl.table import Cells, Column


def _scan(columns: Sequence[Column], *, lines: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """The arrays DuckDB scans (``c0``, ``c1``…) and the lists they look up (``$v0``…).

    A column of many distinct values (customers) is scanned as its values, an object array of
    references to the distinct ones, not looked up: DuckDB copies a list parameter into every
    chunk it reads, so a lookup into 40,000 values cost 0.5 s per million rows where scanning the
    references costs 0.06 s. For ``lines`` every such column; for Parquet only text, whose values
    DuckDB reads as they are (the other kinds keep their typed lookup).
    """
    import numpy as np

    arrays, params = {}, {}
    for i, column in enumerate(columns):
        if isinstance(column, Cells) and _spelled(column, lines=lines):
            distinct = np.empty(len(column.values) + 1, dtype=object)
            distinct[:-1] = column.values  # and None last: a code -1 is NULL
            arrays[f"c{i}"] = distinct[column.codes]
        elif isinstance(column, Cells):
            arrays[f"c{i}"] = column.codes
            params[f"v{i}"] = list(column.values)
        else:
            arrays[f"c{i}"] = column.values
    return arrays, params


#: Above this many distinct values a column is scanned as values, not looked up (see ``_scan``).
_SPELLED = 256


def _spelled(column: Column, *, lines: bool = False) -> bool:
    """Whether ``_scan`` scans a column as its values: many distinct values; for Parquet, text."""
    return isinstance(column, Cells) and len(column.values) > _SPELLED and (lines or column.kind == "VARCHAR")


class Spool:
    """Text DuckDB wrote to private temporary files, one after another: read whole (:meth:`text`),
    or copied into an open file unread (:meth:`copy_to`), so that half a gigabyte of lines is
    never a Python string. The files go with :meth:`close` (or with the object)."""

    def __init__(self, folder: Any, paths: Sequence[str]) -> None:
        self._folder = folder  # a tempfile.TemporaryDirectory: removed with it
        self.paths = list(paths)

    def text(self) -> str:
        found = []
        for path in self.paths:
            with open(path, encoding="utf-8", newline="") as file:
                found.append(file.read())
        return "".join(found)

    def copy_to(self, out: BinaryIO) -> None:
        for path in self.paths:
            with open(path, "rb") as file:
                shutil.copyfileobj(file, out, 1 << 20)

    def close(self) -> None:
        self._folder.cleanup()


#: Lines written by one ``COPY``: DuckDB keeps the rows' order by holding what its threads
#: formatted ahead until the rows before are written, so one COPY of 1.9 million JSON lines
#: held 600 MB; a quarter of a million rows at a time hold a bounded part of that.
LINES_PER_FILE = 1 << 18


def lines(parts: Sequence[str | Column], *, joined_by: str = "") -> str:
    """:func:`spool`'s text, read whole."""
    found = spool(parts, joined_by=joined_by)
    if found is None:
        return ""
    try:
        return found.text()
    finally:
        found.close()


def spool(parts: Sequence[str | Column], *, joined_by: str = "") -> Spool | None:
    """One text line per row, each ended by a newline: the ``parts`` (constant text, or a column's
    cell) one after another, and ``joined_by`` at the end of every line but the last. None when
    ``parts`` has no column.

    DuckDB writes them (``COPY`` with quoting off writes each cell as it is), in the rows' order,
    to a private temporary file: no Python string per line. Columns separated by one character
    and nothing else (CSV) are written by the CSV writer itself, the character as its delimiter;
    else each line is one ``concat`` (a chain of ``||`` copies the line once per part).
    """
    import tempfile

    import numpy as np

    columns = [p for p in parts if not isinstance(p, str)]
    if not columns:
        return None
    if len(columns[0].codes if isinstance(columns[0], Cells) else columns[0].values) <= FEW_LINES:
        return _spooled(_lines_here(parts, joined_by))
    delimiter = _delimiter(parts) if not joined_by else None
    if delimiter is None:
        parts = _folded(parts)
        columns = [p for p in parts if not isinstance(p, str)]
    arrays, params = _scan(columns, lines=True)
    terms: list[str] = []
    i = 0
    for part in parts:
        if isinstance(part, str):
            if delimiter is None:
                params[f"t{len(terms)}"] = part
                terms.append(f"$t{len(terms)}")
            continue
        if isinstance(part, Cells):
            terms.append(f"c{i}" if f"v{i}" not in params else f"$v{i}[c{i} + 1]")
        elif delimiter is not None and part.missing == "":  # the writer's NULL is an empty cell
            terms.append(f"CASE WHEN isfinite(c{i}) THEN c{i} END")
        else:
            params[f"m{i}"] = part.missing
            terms.append(f"CASE WHEN isfinite(c{i}) THEN CAST(c{i} AS VARCHAR) ELSE $m{i} END")
        i += 1
    if joined_by:
        count = len(columns[0].codes if isinstance(columns[0], Cells) else columns[0].values)
        arrays["last_"] = np.arange(count) == count - 1
        params["joined_by"] = joined_by
        terms.append("CASE WHEN last_ THEN '' ELSE $joined_by END")
    if delimiter is None:
        select = f"SELECT concat({', '.join(terms)}) FROM rows_"
        options = "FORMAT csv, HEADER false, QUOTE '', ESCAPE ''"
    else:
        select = f"SELECT {', '.join(terms)} FROM rows_"
        options = f"FORMAT csv, HEADER false, QUOTE '', ESCAPE '', DELIMITER {literal(delimiter)}"
    folder = tempfile.TemporaryDirectory(prefix="kpictl-")
    count = len(next(iter(arrays.values())))
    paths: list[str] = []
    try:
        with duckdb.connect(":memory:", config=spill_settings(folder.name)) as con:
            for start in range(0, count, LINES_PER_FILE):
                paths.append(os.path.join(folder.name, f"lines{len(paths)}.txt"))
                con.register("rows_", {name: array[start : start + LINES_PER_FILE] for name, array in arrays.items()})
                # rows keep their order (preserve_insertion_order)
                con.execute(f"COPY ({select}) TO {literal(paths[-1])} ({options})", params)
                con.unregister("rows_")
    except BaseException:  # the connection too could fail: nothing left behind either way
        folder.cleanup()
        raise
    return Spool(folder, paths)


#: Up to this many lines are made here, not by DuckDB: a connection of its own and a COPY cost
#: 20-30 ms, a tenth of a small run (its 264 lines made here: 2 ms).
FEW_LINES = 1000


def _lines_here(parts: Sequence[str | Column], joined_by: str) -> str:
    """:func:`spool`'s lines made in Python, each cell as DuckDB writes it: a text as it is (NULL:
    nothing), a finite double as ``repr`` (what DuckDB writes: ``tests/test_report.py`` compares
    both ways with the csv and json modules), any other as its column's ``missing`` text."""
    columns: list[list[str] | str] = []
    for part in parts:
        if isinstance(part, str):
            columns.append(part)
        elif isinstance(part, Cells):
            texts = ["" if value is None else value for value in part.values]
            columns.append([texts[code] if code >= 0 else "" for code in part.codes.tolist()])
        else:
            columns.append([repr(x) if math.isfinite(x) else part.missing for x in part.values.tolist()])
    count = max(len(c) for c in columns if isinstance(c, list))
    cells = [itertools.repeat(c, count) if isinstance(c, str) else c for c in columns]
    return (joined_by + "\n").join("".join(row) for row in zip(*cells, strict=True)) + "\n"


def _spooled(text: str) -> Spool:
    """``text`` in a private temporary file, as :func:`spool` leaves the lines DuckDB wrote."""
    import tempfile

    folder = tempfile.TemporaryDirectory(prefix="kpictl-")
    path = os.path.join(folder.name, "lines0.txt")
    try:
        with open(path, "w", encoding="utf-8", newline="") as file:
            file.write(text)
    except BaseException:
        folder.cleanup()
        raise
    return Spool(folder, [path])


def _folded(parts: Sequence[str | Column]) -> list[str | Column]:
    """``parts`` with each constant text written into the text column after it (its distinct
    values, each once): one part fewer per line for DuckDB to join, half of a JSON line's parts."""
    out: list[str | Column] = []
    pending = ""
    for part in parts:
        if isinstance(part, str):
            pending += part
            continue
        if pending and isinstance(part, Cells) and _all_text(part):
            part = Cells(part.codes, [pending + value for value in part.values], part.kind)
        elif pending:
            out.append(pending)
        pending = ""
        out.append(part)
    return [*out, pending] if pending else out


def _all_text(column: Cells) -> bool:
    """Whether every cell of ``column`` is text (no NULL, whose cell would lose a prefix)."""
    return all(isinstance(value, str) for value in column.values) and not (len(column.codes) and column.codes.min() < 0)


def _delimiter(parts: Sequence[str | Column]) -> str | None:
    """The one character between every two columns of ``parts`` when that is all the text they
    hold (a CSV line), else None."""
    texts = parts[1::2]
    if len(parts) < 3 or any(isinstance(p, str) for p in parts[::2]) or len(set(texts)) != 1:
        return None
    (found,) = set(texts)
    return found if isinstance(found, str) and len(found) == 1 and found not in '\n\r"' else None


def to_parquet(names: Sequence[str], columns: Sequence[Column]) -> bytes:
    """A Parquet file of ``columns`` named ``names``, as bytes: cells of their ``kind`` (their
    values passed as parameters, never as SQL text), numbers as DOUBLE. Written in a private
    temporary folder by one COPY from the columns, on every core: DuckDB keeps the rows' order and
    cuts row groups by it, so the same rows give the same bytes on any number of threads (checked
    with 1 to 16 on 1.9 million rows: 1.0 s on one thread, 0.6 s on two; a table made first held
    a copy of every column, 200 MB more at that size)."""
    import tempfile

    arrays, params = _scan(columns)
    select = []
    for i, (name, column) in enumerate(zip(names, columns, strict=True)):
        if _spelled(column):
            value = f"CAST(c{i} AS VARCHAR)"
        elif isinstance(column, Cells):
            # typed by the column's kind (one of a few kpictl names), even when every value is NULL
            value = f"CAST($v{i} AS {column.kind}[])[c{i} + 1]"
        else:
            value = f"CASE WHEN isfinite(c{i}) THEN c{i} END"
        select.append(f"{value} AS {identifier(name)}")
    with tempfile.TemporaryDirectory(prefix="kpictl-") as folder:
        path = os.path.join(folder, "rows.parquet")
        con = duckdb.connect(":memory:", config=spill_settings(folder))
        try:
            con.register("rows_", arrays)
            con.execute(f"COPY (SELECT {', '.join(select)} FROM rows_) TO {literal(path)} (FORMAT parquet)", params)
        finally:
            con.close()
        with open(path, "rb") as file:
            return file.read()
