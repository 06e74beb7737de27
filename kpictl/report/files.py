"""Result rows as machine files (json, csv, parquet) and the one function that writes output.

Machine formats carry every period at full precision, one tidy row per KPI, period and
breakdown, with the same columns in the same order in all three::

    kpi, period, <dimensions in --by order>, value, status, min, max, expected, gap, gap_relative

Nothing here formats numbers for people (that is ``numbers``), and nothing writes anywhere but
where :func:`emit` is told to. The same rows always give the same bytes: column order is fixed
by construction, floats are written as ``repr`` writes them, DuckDB writes Parquet on one thread.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import math
import os
import secrets
import signal
import stat
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

from kpictl.errors import DataError, Location, SpecError
from kpictl.model import Row
from kpictl.table import STATUSES, Cells, Numbers

if TYPE_CHECKING:
    from kpictl.engine.parquet import Spool
    from kpictl.table import Table, Verdicts

#: The columns every tidy row has, around the dimension columns (between ``period`` and ``value``),
#: each with where its values come from in a judged table (``_tidy``): codes into distinct values
#: typed for Parquet (``Cells``), or doubles (``Numbers``). Each format encodes them its own way.
_LEADING: tuple[tuple[str, Callable[[Table, Verdicts], Cells | Numbers]], ...] = (
    ("kpi", lambda t, v: Cells(t.kpi, list(t.names))),
    ("period", lambda t, v: _period(t)),
)
_TRAILING: tuple[tuple[str, Callable[[Table, Verdicts], Cells | Numbers]], ...] = (
    ("value", lambda t, v: Numbers(t.value)),
    ("status", lambda t, v: Cells(v.status, list(STATUSES))),
    ("min", lambda t, v: Numbers(v.numbers("min"))),
    ("max", lambda t, v: Numbers(v.numbers("max"))),
    ("expected", lambda t, v: Numbers(v.expected)),
    ("gap", lambda t, v: Numbers(v.gap)),
    ("gap_relative", lambda t, v: Numbers(v.gap_relative)),
    # the projection: when the bound is met at the recent pace, and whether in time
    ("reaches_on", lambda t, v: Cells(*_dates(v.reaches_on), "DATE")),
    ("reaches_by_deadline", lambda t, v: Cells(v.reaches_by_deadline + 1, [None, False, True], "BOOLEAN")),
    # false: a source has no data through the period's end yet (never judged)
    ("complete", lambda t, v: Cells(t.complete.astype("int64"), [False, True], "BOOLEAN")),
    # true: a rolling window of the value reaches before the data's first period
    ("partial_window", lambda t, v: Cells(t.partial_window.astype("int64"), [False, True], "BOOLEAN")),
)
LEADING = tuple(name for name, _ in _LEADING)
TRAILING = tuple(name for name, _ in _TRAILING)


def dimension_names(rows: Sequence[Row], by: Sequence[str] = ()) -> tuple[str, ...]:
    """The breakdown of ``rows``: ``by`` when given, else every dimension in first-seen order."""
    if by:
        return tuple(by)
    return tuple(dict.fromkeys(name for row in rows for name in row.dims))


def columns(dims: Sequence[str]) -> tuple[str, ...]:
    """The tidy columns for a breakdown by ``dims``.

    A dimension named like a fixed column (``value``, ``status``…) is written ``dim_<name>``,
    so it can neither overwrite nor be overwritten by the result it breaks down.
    """
    fixed = set(LEADING + TRAILING)
    return (*LEADING, *(f"dim_{d}" if d in fixed else d for d in dims), *TRAILING)


def _number(value: Any) -> float | None:
    """A float, or None for missing and non-finite values (JSON has no NaN, Parquet readers differ)."""
    if value is None or isinstance(value, bool):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def records(rows: Sequence[Row], by: Sequence[str] = ()) -> tuple[tuple[str, ...], list[list[Any]]]:
    """The tidy table: column names and one list of plain Python values per row, in row order."""
    dims = dimension_names(rows, by)
    table = []
    for row in rows:
        j = row.judgement
        judged = [j.min, j.max, j.expected, j.gap, j.gap_relative] if j else [None] * 5
        table.append(
            [
                row.kpi,
                row.period,
                *(row.dims.get(d) for d in dims),
                _number(row.value),
                row.status,
                *(_number(x) for x in judged),
                j.reaches_on if j else None,
                j.reaches_by_deadline if j else None,
                row.complete,
                row.partial_window,
            ]
        )
    return columns(dims), table


def _json_value(value: Any) -> Any:
    if isinstance(value, float):
        return _number(value)
    if value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)  # Decimal, UUID…: exact text rather than a lossy float


def _json_number(value: Any) -> str:
    """``json.dumps(_json_value(_number(value)))``: the float's repr, ``null`` for None, a bool,
    NaN or infinity."""
    if value is None or value.__class__ is bool:
        return "null"
    number = float(value)
    return repr(number) if math.isfinite(number) else "null"


def _table(rows: Sequence[Row] | Table, by: Sequence[str]) -> Table:
    from kpictl import table

    if isinstance(rows, table.Table):
        return rows
    return table.from_rows(rows, by or dimension_names(rows), judged=True)


def _codes(column: Any) -> tuple[Any, list[Any]]:
    """Codes and distinct values of an integer column (days), by a lookup table when their range is small."""
    import numpy as np

    if not len(column):
        return column, []
    low, high = int(column.min()), int(column.max())
    if high - low > 4 * len(column) + 1_000_000:
        distinct, codes = np.unique(column, return_inverse=True)
        return codes.reshape(-1), distinct.tolist()
    present = np.zeros(high - low + 1, dtype=bool)
    present[column - low] = True
    used = np.flatnonzero(present)
    lookup = np.zeros(high - low + 1, dtype=np.int64)
    lookup[used] = np.arange(len(used))
    return lookup[column - low], (used + low).tolist()


def _period(t: Table) -> Cells:
    """The period column as codes into its distinct periods (an hour a datetime, ``Table.hour``),
    typed TIMESTAMP as soon as a row is an hour (a day is then its midnight in Parquet), else DATE."""
    if t.hour is None:
        codes, days = _codes(t.day)
        return Cells(codes, [dt.date.fromordinal(d) for d in days], "DATE")
    codes, keys = _codes(t.day * 25 + t.hour + 1)  # hour -1 (a day or longer) → 0
    found = []
    for key in keys:
        day, hour = dt.date.fromordinal(key // 25), key % 25 - 1
        found.append(day if hour < 0 else dt.datetime(day.year, day.month, day.day, hour))
    return Cells(codes, found, "TIMESTAMP")


def _dimension(t: Table, name: str) -> Cells:
    """A breakdown column, typed by its values (``_sql_type``)."""
    codes, distinct = t.codes(name, exact=True)
    return Cells(codes, distinct, _sql_type(distinct))


def _tidy(t: Table) -> list[Cells | Numbers]:
    """The columns of :func:`columns`, in order, as values of the judged table ``t`` (``_LEADING``,
    the breakdown, ``_TRAILING``): what :func:`_text_columns` and :func:`_parquet_column` encode."""
    v = t.verdicts
    assert v is not None
    return [
        *(source(t, v) for _, source in _LEADING),
        *(_dimension(t, name) for name in t.dims),
        *(source(t, v) for _, source in _TRAILING),
    ]


def _repeated(values: Any, missing: str) -> Cells | Numbers:
    """A column of doubles to write as text: when few distinct values repeat over many rows (a
    bound, an expected value shared by every customer of a period), each is formatted once
    (``repr``, as DuckDB formats the others; NaN and infinity ``missing``) and looked up by code.
    Values are told apart by their bits, so 0.0 and -0.0 stay apart."""
    import numpy as np

    if len(values) > 4096:
        bits = np.ascontiguousarray(values, dtype=np.float64).view(np.int64)
        if len(np.unique(bits[:4096])) * 8 < 4096:
            distinct, codes = np.unique(bits, return_inverse=True)
            if len(distinct) * 8 < len(values):
                doubles = distinct.view(np.float64).tolist()
                return Cells(codes.reshape(-1), [repr(x) if math.isfinite(x) else missing for x in doubles])
    return Numbers(values, missing)


def _text_columns(t: Table, text: Callable[[Any], str], missing: str) -> list[Cells | Numbers]:
    """The tidy columns as text: each distinct value encoded once by ``text``, doubles as ``repr``
    writes them and NaN ``missing`` (:func:`_repeated`)."""
    return [
        Cells(c.codes, [text(x) for x in c.values]) if isinstance(c, Cells) else _repeated(c.values, missing)
        for c in _tidy(t)
    ]


@dataclass(frozen=True)
class Document:
    """A csv or json output: ``head``, the lines DuckDB wrote to a private file (``body``, an
    ``engine.parquet.Spool``; None: no rows), ``tail``. :func:`emit` copies the body into the
    output unread: a million rows of JSON are half a gigabyte, which as one Python string was read,
    decoded, concatenated and encoded again (seconds, and a gigabyte and a half at its peak)."""

    head: str
    body: Spool | None = None
    tail: str = ""

    def text(self) -> str:
        """The whole text (the body's file removed)."""
        if self.body is None:
            return self.head + self.tail
        try:
            return self.head + self.body.text() + self.tail
        finally:
            self.body.close()

    def write(self, out: BinaryIO) -> None:
        """Into a binary file, as UTF-8 (the body's file removed)."""
        out.write(self.head.encode("utf-8"))
        if self.body is not None:
            try:
                self.body.copy_to(out)
            finally:
                self.body.close()
        out.write(self.tail.encode("utf-8"))

    def close(self) -> None:
        """Remove the body's file (again: nothing to do)."""
        if self.body is not None:
            self.body.close()


def _spool(parts: Sequence[str | Cells | Numbers], joined_by: str = "") -> Spool | None:
    from kpictl.engine import parquet

    return parquet.spool(parts, joined_by=joined_by)


def to_json(rows: Sequence[Row] | Table, *, by: Sequence[str] = ()) -> str:
    """``{"rows": [...]}``, one row object per line, so that a diff of two runs reads row by row.

    Written column by column like :func:`to_csv`; the bytes are those of ``json.dumps`` of each
    row of :func:`records` (``tests/test_report.py`` compares them).

    >>> import datetime as dt
    >>> print(to_json([Row("revenue", dt.date(2025, 1, 1), {"region": "EU"}, 1200.5)]), end="")  # doctest: +ELLIPSIS
    {"rows": [
      {"kpi": "revenue", "period": "2025-01-01", "region": "EU", "value": 1200.5, "status": "no_target", ...}
    ]}
    """
    return json_document(rows, by=by).text()


def json_document(rows: Sequence[Row] | Table, *, by: Sequence[str] = ()) -> Document:
    """:func:`to_json` as a ``Document``, for :func:`emit` to stream."""
    t = _table(rows, by)
    if not len(t):
        return Document('{"rows": []}\n')
    dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode

    def text(value: Any) -> str:
        return dumps(_json_value(value))

    parts: list[str | Cells | Numbers] = []
    for i, (name, column) in enumerate(zip(columns(tuple(t.dims)), _text_columns(t, text, "null"), strict=True)):
        parts += ["{" if i == 0 else ", ", dumps(name) + ": ", column]
    parts.append("}")
    return Document('{"rows": [\n', _spool(["  ", *parts], joined_by=","), "]}\n")


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)  # shortest text that reads back as the same float
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def _quoting() -> frozenset[str]:
    """The characters that make ``csv.writer`` quote a cell (a carriage return does or not, by
    Python version): asked of the module itself once."""
    found = set()
    for char in ',"\n\r\t;':
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerow(["a" + char, "b"])
        if out.getvalue().startswith('"'):
            found.add(char)
    return frozenset(found)


_QUOTED = _quoting()


def _csv_cell(text: str) -> str:
    """A cell as ``csv.writer`` (minimal quoting) writes it: quoted when it holds a character of
    ``_QUOTED``, its quotes doubled."""
    if any(char in text for char in _QUOTED):
        return '"' + text.replace('"', '""') + '"'
    return text


def to_csv(rows: Sequence[Row] | Table, *, by: Sequence[str] = ()) -> str:
    """CSV with a header, ``\\n`` line ends, empty cells for None (so a NULL breakdown is empty too).

    Written column by column, each distinct value encoded once and numbers by DuckDB
    (``engine.parquet``); the bytes are those of ``csv.writer`` over :func:`records`
    (``tests/test_report.py`` compares them).
    """
    return csv_document(rows, by=by).text()


def csv_document(rows: Sequence[Row] | Table, *, by: Sequence[str] = ()) -> Document:
    """:func:`to_csv` as a ``Document``, for :func:`emit` to stream."""
    t = _table(rows, by)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(columns(tuple(t.dims)))
    if not len(t):
        return Document(out.getvalue())

    def text(value: Any) -> str:
        return _csv_cell(_csv_value(value))

    parts: list[str | Cells | Numbers] = []
    for column in _text_columns(t, text, ""):
        parts += [",", column] if parts else [column]
    return Document(out.getvalue(), _spool(parts))


def _sql_type(values: list[Any]) -> str:
    """The DuckDB type of a dimension column, from its non-null Python values."""
    present = [v for v in values if v is not None]
    kinds = {type(v) for v in present}
    if not present:
        return "VARCHAR"
    if kinds == {bool}:
        return "BOOLEAN"
    if kinds == {int}:
        return "BIGINT"
    if kinds <= {int, float}:
        return "DOUBLE"
    if kinds == {dt.date}:
        return "DATE"
    if kinds <= {dt.datetime}:
        return "TIMESTAMP"
    return "VARCHAR"


def to_parquet(rows: Sequence[Row] | Table, *, by: Sequence[str] = ()) -> bytes:
    """The tidy table as Parquet bytes, typed: period DATE (TIMESTAMP when a KPI runs at hour grain),
    value and judgement columns DOUBLE.

    Dimension columns get the type of their values (VARCHAR, BIGINT, DOUBLE, BOOLEAN, DATE,
    TIMESTAMP; mixed or other values are written as text). The engine writes the file
    (``engine.parquet``); the bytes are returned so that :func:`emit` alone decides
    where output lands.
    """
    from kpictl import table

    t = _table(rows, by)
    if t.verdicts is None:  # an empty table read from no rows
        t = table.from_rows([], tuple(t.dims), judged=True)
    from kpictl.engine import parquet

    return parquet.to_parquet(columns(tuple(t.dims)), [_parquet_column(c) for c in _tidy(t)])


#: How Parquet takes the values of a column of each type: a dimension of mixed values as text,
#: numbers as floats, a day in a TIMESTAMP column (a period of days among hours) at its midnight.
_PARQUET_VALUE: dict[str, Callable[[Any], Any]] = {
    "VARCHAR": _csv_value,
    "DOUBLE": float,
    "TIMESTAMP": lambda p: p if isinstance(p, dt.datetime) else dt.datetime(p.year, p.month, p.day),
}


def _parquet_column(column: Cells | Numbers) -> Cells | Numbers:
    """A tidy column as ``engine.parquet`` writes it (``_PARQUET_VALUE``; NULL stays NULL)."""
    if not isinstance(column, Cells) or (convert := _PARQUET_VALUE.get(column.kind)) is None:
        return column  # doubles, dates, booleans: as they are
    return Cells(column.codes, [None if v is None else convert(v) for v in column.values], column.kind)


def _dates(days: Any) -> tuple[Any, list[Any]]:
    """Day ordinals (-1: none) as codes into their distinct dates."""
    codes, distinct = _codes(days)
    return codes, [None if d < 0 else dt.date.fromordinal(d) for d in distinct]


def emit(data: str | bytes | Document, output: str | None = None) -> None:
    """Write ``data`` to stdout (``output`` None) or to the file ``output``, atomically (a
    ``Document``'s body copied from its file, never held whole).

    The file is written to a temporary name in the same folder, synced, then renamed over
    ``output`` (``os.replace``): a reader, or a failed run, never sees half a file, and an
    existing file is left untouched unless the new one is complete. Text is UTF-8. Raises
    SpecError when the folder does not exist or binary data would go to a terminal, DataError
    when the file cannot be written; nothing is left behind in either case.
    """
    try:
        _emit(data, output)
    finally:
        if isinstance(data, Document):
            data.close()  # also when the output could not be written


def _emit(data: str | bytes | Document, output: str | None) -> None:
    if output is None:
        if isinstance(data, bytes):
            if sys.stdout.isatty():
                raise SpecError(
                    "Parquet is binary and stdout is a terminal",
                    at=Location("--output"),
                    hint="write it to a file with --output FILE, or redirect stdout",
                )
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        elif isinstance(data, Document):
            sys.stdout.flush()
            data.write(sys.stdout.buffer)
            sys.stdout.buffer.flush()
        else:
            sys.stdout.write(data)
            sys.stdout.flush()
        return
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise SpecError(
            f"cannot write '{output}': folder '{os.path.dirname(output) or folder}' does not exist",
            at=Location("--output"),
            hint="create the folder first",
        )
    if os.path.isdir(output):
        raise SpecError(f"cannot write '{output}': it is a folder", at=Location("--output"))
    payload = data.encode("utf-8") if isinstance(data, str) else data
    write: Callable[[BinaryIO], Any] = payload.write if isinstance(payload, Document) else lambda f: f.write(payload)
    if os.path.exists(output) and not stat.S_ISREG(os.stat(output).st_mode):
        # /dev/null, a FIFO, a terminal: write into it; renaming over it would replace the device
        try:
            with open(output, "wb") as special:
                write(special)
        except OSError as exc:
            raise DataError(f"cannot write '{output}': {exc.strerror or exc}", at=Location("--output")) from None
        return
    # Hidden, unique, in the same folder (a rename across file systems would not be atomic);
    # created like any new file, so the umask decides its permissions, unless it replaces a file:
    # then it keeps that file's mode (a 0600 file must not become readable by everyone).
    temp = os.path.join(folder, f".{os.path.basename(output)}.{secrets.token_hex(4)}.tmp")
    mode = stat.S_IMODE(os.stat(output).st_mode) if os.path.isfile(output) else None
    previous = _raise_on_sigterm()
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if mode is not None else 0o666)
        if mode is not None:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, output)
    except BaseException as exc:  # also Ctrl-C: whatever stops the write, leave nothing behind
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        if isinstance(exc, OSError):
            raise DataError(f"cannot write '{output}': {exc.strerror or exc}", at=Location("--output")) from None
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _raise_on_sigterm() -> Any:
    """While a file is written, SIGTERM (a cancelled CI job) raises SystemExit instead of killing the
    process outright, so that the temporary file is removed; returns the handler to restore."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def stop(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    return signal.signal(signal.SIGTERM, stop)
