"""Judging many rows at once: :func:`targets.judge_rows` then :func:`forecast.annotate`, column-wise.

Those two are the readable reference (one Python ``judge()`` and one least-squares line per
row); a breakdown by customer has a million rows, and at about 100 µs a row they took minutes.
:func:`judge_rows` computes the same judgements on NumPy arrays, one operation per column
instead of one call per row, and builds the judged rows in one pass at the end. The rules are
the reference's (their docstrings); this module only says how each one becomes array
arithmetic, and keeps every float operation in the reference's order, so that the numbers are
the same bit for bit:

- *What depends on the breakdown* (the ``per`` override in force, whether a size's breakdown row
  has a target at all) is worked out by the reference's own functions once per distinct KPI and
  breakdown, never per row. Python compares a breakdown value with ``key == value or str(key)
  == str(value)`` (``str(value) in overrides`` for a size): two values equal as dictionary keys
  (``1``, ``True`` and ``1.0``; ``0.0`` and ``-0.0``) can still match different overrides, so a
  value of another type than ``str`` or ``date`` is told apart by its type and ``str()``.
- *Dates* are day ordinals (``date.toordinal``), period ends computed with ``datetime64``.
- *The line of the forecast*: ``(x - mean_x) ** 2`` is the C library's ``pow``, which is not
  always ``x * x``; the days of a window (``xs``) repeat from series to series, so the terms that
  depend only on them (mean, deviations, sum of squares) are computed by the reference's Python
  expressions once per distinct pattern of days. Python's ``sum`` adds floats from left to right,
  with Neumaier's compensation since 3.12: :func:`builtin_sum` does the same on columns.

NumPy is imported inside the functions (``kpictl --help`` does not pay for it).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import gc
import itertools
import math
import os
import sys
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from kpictl import table
from kpictl.judge import targets
from kpictl.model import GRAINS, SEVERITY, Bound, Judgement, Kpi, Row, Target, is_custom_grain
from kpictl.sql import calendars, periods

_EPS = targets._EPS
_EPOCH = dt.date(1970, 1, 1).toordinal()  # day ordinal ↔ datetime64[D]
_LAST = dt.date.max.toordinal()
#: Status codes: the index in this tuple.
STATUSES = table.STATUSES
_NO_TARGET, _NO_DATA, _ACHIEVED, _ON_TRACK, _AT_RISK, _OFF_TRACK = range(6)
#: The first element of ``_Verdict.key`` of each status code (no_data is -1 in ``_verdict``).
_SEVERITY = (0, -1, *(SEVERITY[s] for s in STATUSES[2:]))
#: Types whose equal values always have the same ``str()`` (a ``per`` key matches all or none).
_PLAIN = (str, dt.date, type(None))
_COMPENSATED = sys.version_info >= (3, 12)  # builtin sum() of floats: Neumaier since 3.12


def builtin_sum(terms: Any, count: Any, *, compensated: bool = _COMPENSATED) -> Any:
    """Per row of ``terms`` (a 2-D float array), ``sum()`` of its first ``count`` values (at least
    one), added as the builtin ``sum`` adds floats: ``0 + t0``, then ``+ t1``, … from left to
    right; with ``compensated`` (Python 3.12+), Neumaier's running compensation added at the end.
    """
    import numpy as np

    with np.errstate(all="ignore"):  # an overflow is inf, as in Python
        total = 0.0 + terms[:, 0]
        carry = np.zeros(len(total))
        for j in range(1, terms.shape[1]):
            used = j < count
            term = terms[:, j]
            after = total + term
            if compensated:
                lost = np.where(np.abs(total) >= np.abs(term), (total - after) + term, (term - after) + total)
                carry = np.where(used, carry + lost, carry)
            total = np.where(used, after, total)
        if compensated:
            total = np.where((carry != 0) & np.isfinite(carry), total + carry, total)
    return total


def period_ends(days: Any, grains: Any, year_start: int = 1) -> Any:
    """``targets.period_end`` of day ordinals, ``grains`` the index in ``GRAINS`` of each one's grain
    (``year_start``: the month fiscal quarters and years start in)."""
    if len(days) > 4096:  # a wide result repeats a few hundred (day, grain) pairs: each computed once
        return _per_distinct(period_ends, days, grains, year_start)
    return _period_ends(days, grains, year_start)


def _period_ends(days: Any, grains: Any, year_start: int) -> Any:
    import numpy as np

    starts = _unit_starts(days, grains, year_start)
    month = (starts - _EPOCH).astype("datetime64[D]").astype("datetime64[M]")
    length = np.select([grains == _MONTH, grains == _MONTH + 1, grains == _MONTH + 2], [1, 3, 12], 0)  # months
    after = (month + length.astype("timedelta64[M]")).astype("datetime64[D]").astype(np.int64) + _EPOCH
    ends = np.select([grains <= _DAY, grains == _WEEK], [days, starts + 6], after - 1)  # an hour ends on its day
    return _custom(days, grains, ends, "ends")


def _custom(days: Any, grains: Any, computed: Any, which: str) -> Any:
    """``computed`` with the rows of custom grains (codes past ``GRAINS``) replaced by the
    first (``which="starts"``) or last day (``"ends"``) of their calendar table period."""
    import numpy as np

    custom = grains >= len(GRAINS)
    if not custom.any():
        return computed
    out = np.array(computed, dtype=np.int64)
    for code in np.unique(grains[custom]).tolist():
        found = calendars.loaded(calendars.custom_grains()[code - len(GRAINS)])
        starts = np.array([d.toordinal() for d in found.starts], dtype=np.int64)
        picked = np.array([d.toordinal() for d in getattr(found, which)], dtype=np.int64)
        rows = grains == code
        out[rows] = picked[np.maximum(np.searchsorted(starts, days[rows], side="right") - 1, 0)]
    return out


def unit_starts(days: Any, grains: Any, year_start: int = 1) -> Any:
    """The first day of the period of each grain that contains each day ordinal (weeks: Monday);
    fiscal quarters and years start ``periods.offset`` months after the calendar's."""
    if len(days) > 4096:
        return _per_distinct(unit_starts, days, grains, year_start)
    return _unit_starts(days, grains, year_start)


def _unit_starts(days: Any, grains: Any, year_start: int) -> Any:
    import numpy as np

    date = (days - _EPOCH).astype("datetime64[D]")
    months = date.astype("datetime64[M]").astype(np.int64)  # since 1970-01: NumPy's % floors as Python's
    into = [(months - (year_start - 1) % 3) % 3, (months - (year_start - 1)) % 12]  # months into the period
    first = months - np.select([grains == _MONTH + 1, grains == _MONTH + 2], into, 0)
    month_start = first.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) + _EPOCH
    starts = np.select([grains <= _DAY, grains == _WEEK], [days, days - (days + 6) % 7], month_start)
    return _custom(days, grains, starts, "starts")


#: Grain codes (their index in GRAINS): hour 0, day 1, week 2, month 3, quarter 4, year 5.
_HOUR, _DAY, _WEEK, _MONTH = (GRAINS.index(g) for g in ("hour", "day", "week", "month"))


def _per_distinct(function: Any, days: Any, grains: Any, year_start: int) -> Any:
    """``function(days, grains, year_start)`` computed on the distinct pairs only, spread back."""
    inner = _unit_starts if function is unit_starts else _period_ends
    low = int(days.min())
    index, first = table.first_rows((days - low) * (len(GRAINS) + len(calendars.custom_grains())) + grains)
    if len(first) * 2 > len(days):  # hardly any repeat: at once
        return inner(days, grains, year_start)
    return inner(days[first], grains[first], year_start)[index]


def grain_code(name: str) -> int:
    """A grain's code: its index in ``GRAINS``; a custom grain's comes after them (``_custom``)."""
    if is_custom_grain(name) and name in calendars.custom_grains():
        return len(GRAINS) + calendars.custom_grains().index(name)
    if name not in GRAINS:
        raise ValueError(f"unknown grain {name!r}: expected one of {', '.join(GRAINS)}")
    return GRAINS.index(name)


class _Variants:
    """The distinct targets rows are judged against, before a size's scaling to the period: each
    a row of columns (bound, baseline, deadline, tolerance, scaled or not)."""

    def __init__(self) -> None:
        self.index: dict[tuple[int, str, int], int] = {}
        self.kept: list[Any] = []  # keeps the bounds alive while their id() is a key
        self.columns: dict[str, list[Any]] = {}  # by name: a value per variant

    def add(self, kpi: int, kind: str, target: Target | None, unit: int = -1) -> int:
        """The variant of a KPI's rows: ``kind`` is "none" (no target), "as_is" (the target as
        written, or the ``per`` bound in force), "scaled" (a size's total row) or "override"
        (a size's breakdown row: the override's bound, no declared baseline)."""
        key = (kpi, kind, id(target.bound) if target is not None else 0)
        found = self.index.get(key)
        if found is not None:
            return found
        self.kept.append(target)
        bound = target.bound if target is not None else Bound()
        active = target is not None and bool(targets.edges_of(bound))
        baseline = target.baseline if target is not None and kind != "override" else None
        by = target.by if target is not None else None
        values = {
            "active": active,
            "has_min": bound.min is not None,
            "has_max": bound.max is not None,
            "min": math.nan if bound.min is None else float(bound.min),
            "max": math.nan if bound.max is None else float(bound.max),
            "min_obj": bound.min,
            "max_obj": bound.max,
            "declared": baseline is not None,
            "base_value": float(baseline.value) if baseline is not None else math.nan,
            "base_at": baseline.at.toordinal() if baseline is not None else 0,
            "has_by": by is not None,
            "by": by.toordinal() if by is not None else 0,
            "tolerance": float(target.tolerance) if target is not None else 0.0,
            "relative": bool(target.tolerance_relative) if target is not None else False,
            "scaled": kind == "scaled",
            "unit": unit,
        }
        for name, value in values.items():
            self.columns.setdefault(name, []).append(value)
        self.index[key] = len(self.index)
        return self.index[key]

    def arrays(self) -> dict[str, Any]:
        import numpy as np

        out = {}
        for name, values in self.columns.items():
            if name.endswith("_obj"):
                array = np.empty(len(values), dtype=object)
                array[:] = values
                out[name] = array
            else:
                out[name] = np.array(values)
        return out


def _plain(value: Any) -> Any:
    """What decides which ``per`` key a breakdown value matches (see the module docstring)."""
    return value if type(value) in _PLAIN else (type(value), str(value))


def judge_rows(
    rows: Sequence[Row],
    kpis: Mapping[str, Kpi],
    *,
    as_of: dt.date,
    grain_of: Mapping[str, str],
    sizes: Collection[str] | Mapping[str, str | None] = (),
    stand_in: Mapping[int, Any] | None = None,
    last_n: int = 6,
    year_start: int = 1,
) -> list[Row]:
    """Every row judged and with where its pace leads, as ``forecast.annotate`` of the rows of
    ``targets.judge_rows`` called per grain (``grain_of``: each KPI's) would return them: grouped
    by grain in the order the grains first appear, each group in the order given.

    ``stand_in`` maps the index of a row to the value judged in its place (a level's value to
    date, ``verdicts``): the row keeps its value, and the judgement says what it judged
    (``judged_value``). ``year_start`` is the month fiscal quarters and years start in.
    """
    import numpy as np

    if last_n < 2:
        raise ValueError("a line needs last_n >= 2 points")
    n = len(rows)
    if n == 0:
        return []
    stand_in = stand_in or {}

    # 1. Columns of the rows, and the distinct (KPI, breakdown) each one belongs to.
    with _no_gc():  # millions of small objects: nothing to collect, yet full collections scan them
        row_keys = [(r.kpi, tuple(r.dims.items())) for r in rows]
        keys = dict.fromkeys(row_keys, 0)  # the distinct ones, in order
        for k, key in enumerate(keys):
            keys[key] = k
        ident = np.fromiter(map(keys.__getitem__, row_keys), dtype=np.int64, count=n)
        del row_keys
        days = np.fromiter(map(dt.date.toordinal, [r.period for r in rows]), dtype=np.int64, count=n)
        moments = np.fromiter(map(periods.hours, [r.period for r in rows]), dtype=np.int64, count=n)
        raw = [r.value for r in rows]
    for i, value in stand_in.items():
        raw[i] = value
    values = np.array(raw, dtype=float)  # None → NaN: both are missing (targets.is_missing)
    complete = np.array([r.complete for r in rows], dtype=bool)
    standing = None
    if stand_in:
        present = np.zeros(n, dtype=bool)
        present[list(stand_in)] = True
        standing = (present, table.objects([None] * n))
        standing[1][list(stand_in)] = list(stand_in.values())
    found, group = _judge(
        np,
        list(keys),
        ident,
        days,
        values,
        complete,
        standing,
        lambda i: (rows[i].kpi, rows[i].dims),
        kpis,
        as_of=as_of,
        grain_of=grain_of,
        sizes=sizes,
        last_n=last_n,
        year_start=year_start,
        moments=moments,
    )
    with _no_gc():
        every = table.judgements(found)
        order = range(n) if group is None else np.argsort(group, kind="stable").tolist()
        return _with_judgements(rows, every, order)


#: Rows judged at a time, whole series together: the judgement's temporary columns (about forty
#: per row, the pace's windows six times as many) then take a bounded memory however wide the
#: breakdown (at 1.9 million rows judged at once they peaked at 1.2 GB over the table's 0.4), and
#: pieces this small stay in the processor's caches: at 1.9 million rows by customer, 2^18 rows a
#: piece judged in 1.8 s, 2^16 on two threads in 0.9 s.
CHUNK = 1 << 16

#: Pieces judged at once, each on its thread (at most one per processor): the query is over and
#: DuckDB idle while rows are judged.
THREADS = 4


def judge_table(
    rows: table.Table,
    kpis: Mapping[str, Kpi],
    *,
    as_of: dt.date,
    grain_of: Mapping[str, str],
    sizes: Collection[str] | Mapping[str, str | None] = (),
    stand_in: tuple[Any, Any] | None = None,
    last_n: int = 6,
    year_start: int = 1,
    chunk: int | None = None,
) -> table.Table:
    """:func:`judge_rows` of a ``table.Table``: the same judgements, as columns (``Table.verdicts``),
    the rows in the order given. ``stand_in``: a mask of the rows judged on another value, and an
    object array of those values. Judged ``chunk`` rows at a time (default :data:`CHUNK`), each
    series in one piece (a row's judgement reads only its own series: its first value, its recent
    points)."""
    import numpy as np

    if last_n < 2:
        raise ValueError("a line needs last_n >= 2 points")
    n = len(rows)
    if n == 0:
        return replace(rows, verdicts=table.verdicts_of([]))
    # 1. The distinct (KPI, breakdown) of each row, numbered as judge_rows numbers them.
    ident, firsts = table.series(rows)
    dim_names = list(rows.dims)
    items = [[(d, v) for v in rows.dims[d][firsts].tolist()] for d in dim_names]  # a column at a time
    keys = [(rows.names[key[0]], key[1:]) for key in zip(rows.kpi[firsts].tolist(), *items, strict=True)]
    values = rows.value.astype(float, copy=True)
    if stand_in is not None:
        present, judged_value = stand_in
        values[present] = np.array(judged_value[present].tolist(), dtype=float)
    moments = rows.moments()

    def row_at(i: int) -> tuple[str, dict[str, Any]]:
        return rows.names[rows.kpi[i]], {d: rows.dims[d][i] for d in dim_names}

    def judged(index: Any) -> table.Verdicts:
        local, first = table.first_rows(ident[index])  # numbered by the global number: first seen first
        found, _ = _judge(
            np,
            [keys[k] for k in ident[index][first].tolist()],
            local,
            rows.day[index],
            values[index],
            rows.complete[index],
            None if stand_in is None else (stand_in[0][index], stand_in[1][index]),
            lambda i: row_at(int(index[i])),
            kpis,
            as_of=as_of,
            grain_of=grain_of,
            sizes=sizes,
            last_n=last_n,
            year_start=year_start,
            moments=moments[index],
        )
        return found

    chunk = chunk or CHUNK
    if n <= chunk:
        return replace(rows, verdicts=judged(np.arange(n)))
    pieces = _pieces(np, ident, chunk)
    from concurrent.futures import ThreadPoolExecutor

    context = contextvars.copy_context()  # a calendar table's periods (sql.calendars) for every thread
    placed = _Placed(n)

    def judge_piece(index: Any) -> None:
        placed.put(index, context.copy().run(judged, index))

    with ThreadPoolExecutor(min(THREADS, os.cpu_count() or 1)) as pool:  # NumPy lets go of the GIL
        list(pool.map(judge_piece, pieces))
    return replace(rows, verdicts=placed.verdicts())


def _pieces(np: Any, ident: Any, chunk: int) -> list[Any]:
    """The rows cut into pieces of about ``chunk`` rows, each series whole in one (a series longer
    than ``chunk`` is a piece of its own), each piece's rows in the order given."""
    order = np.argsort(ident, kind="stable")
    ends = np.cumsum(np.bincount(ident))  # where each series' rows end in ``order``
    cuts, taken = [0], 0
    while taken < len(order):
        limit = np.searchsorted(ends, taken + chunk, side="right")  # whole series within the chunk
        stop = int(ends[limit - 1]) if limit > 0 and ends[limit - 1] > taken else int(ends[limit])
        cuts.append(stop)
        taken = stop
    return [np.sort(order[a:b]) for a, b in itertools.pairwise(cuts)]


class _Placed:
    """The verdicts of pieces placed into columns over all ``n`` rows as each piece is judged, on
    its thread: no part is joined to the others first (a copy of every column: at 1.9 million
    rows, the new memory alone took 0.2 s to touch), each freed once placed."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.columns: dict[str, Any] | None = None
        self.lock = threading.Lock()

    def put(self, index: Any, part: table.Verdicts) -> None:
        import numpy as np

        with self.lock:  # the first part says each column's type
            if self.columns is None:
                self.columns = {
                    name: None if column is None else np.empty(self.n, dtype=column.dtype)
                    for name, column in part.__dict__.items()
                }
        for name, column in part.__dict__.items():
            if column is not None:
                self.columns[name][index] = column  # pieces never share a row

    def verdicts(self) -> table.Verdicts:
        assert self.columns is not None, "no piece was placed"
        return table.Verdicts(**self.columns)


def _judge(
    np: Any,
    keys: Sequence[tuple[str, tuple[tuple[str, Any], ...]]],
    ident: Any,
    days: Any,
    values: Any,
    complete: Any,
    stand_in: tuple[Any, Any] | None,
    row_at: Callable[[int], tuple[str, Mapping[str, Any]]],
    kpis: Mapping[str, Kpi],
    *,
    as_of: dt.date,
    grain_of: Mapping[str, str],
    sizes: Collection[str] | Mapping[str, str | None],
    last_n: int,
    year_start: int,
    moments: Any = None,
) -> tuple[table.Verdicts, Any]:
    """The judgement of rows given as columns: ``keys`` the distinct (KPI, breakdown items),
    ``ident`` each row's, ``values`` what is judged (NaN: missing), ``row_at(i)`` a row's KPI and
    breakdown; ``moments`` each period in hours since day 1 (``Table.moments``), what orders the
    rows of a series (default: ``days``, no hours). Returns the verdicts and each row's grain
    group (None when there is one grain)."""
    n = len(days)
    moments = days * 24 if moments is None else moments
    stood_in, judged_value = stand_in if stand_in is not None else (np.zeros(n, dtype=bool), None)
    names: dict[str, int] = {}
    series_index: dict[tuple[str, tuple[tuple[str, Any], ...]], int] = {}
    key_kpi, key_series = [], []
    for name, items in keys:
        key_kpi.append(names.setdefault(name, len(names)))
        sorted_items = tuple(sorted(items, key=lambda item: item[0])) if len(items) > 1 else items  # series_key
        key_series.append(series_index.setdefault((name, sorted_items), len(series_index)))
    kpi = np.array(key_kpi, dtype=np.int64)[ident]
    series = np.array(key_series, dtype=np.int64)[ident]
    grain_codes = [grain_code(grain_of[name]) for name in names]
    grain = np.array(grain_codes, dtype=np.int64)[kpi]
    groups: dict[int, int] = {}  # grains in the order they first appear (KPIs are named in that order)
    for code in grain_codes:
        groups.setdefault(code, len(groups))
    group = np.array([groups[code] for code in grain_codes], dtype=np.int64)[kpi]

    # 2. The target each row is judged against (targets.scoped, targets.bound_in_force), per
    #    distinct breakdown: a variant of the KPI's target, before a size's scaling.
    variants = _Variants()
    key_variant = np.zeros(len(keys), dtype=np.int64)
    by_value: dict[tuple[int, bool, tuple[Any, ...]], int] = {}  # per overrides: (kpi, any dims, values)
    plain_keys = np.ones(len(keys), dtype=bool)
    for k, (name, items) in enumerate(keys):
        code = names[name]
        found = kpis.get(name)
        target = found.target if found is not None else None
        size = name in sizes
        dims = dict(items)
        if target is None or (size and dims and not target.per):
            key_variant[k] = variants.add(code, "none", None)
        elif size and not dims:  # a balance's bound is never scaled (targets.scaled_from)
            unit = targets.scaled_from(target, grain_of[name], targets.time_unit(sizes, name, grain_of[name]))
            if unit is not None:
                key_variant[k] = variants.add(code, "scaled", target, GRAINS.index(unit))
            else:
                key_variant[k] = variants.add(code, "as_is", target)
        elif not target.per:
            key_variant[k] = variants.add(code, "as_is", target)
        else:
            plain_keys[k] = all(type(dims.get(dim)) in _PLAIN for dim in target.per)
            key_variant[k] = _per_variant(variants, by_value, code, target, size, dims)
    variant = key_variant[ident]
    if not plain_keys.all():  # rows equal as keys, not as per keys: told apart row by row
        for i in np.flatnonzero(~plain_keys[ident]).tolist():
            name, row_dims = row_at(i)
            target = kpis[name].target
            assert target is not None
            variant[i] = _per_variant(variants, by_value, names[name], target, name in sizes, row_dims)
    v = {name: column[variant] for name, column in variants.arrays().items()}

    # Series without an active target (a size's breakdown without ``per`` overrides: half the rows
    # of a run by customer) get no judgement: only the others are judged, each whole (a row of
    # one, told apart by a ``per`` key, may have a target the others lack).
    judging = np.zeros(len(series_index), dtype=bool)
    judging[series[v["active"]]] = True
    some = None if judging.all() else np.flatnonzero(judging[series])

    def rows_of(column: Any) -> Any:
        return column if some is None else column[some]

    verdicts = _verdicts(
        np,
        rows_of(days),
        rows_of(grain),
        {name: rows_of(column) for name, column in v.items()},
        rows_of(values),
        rows_of(complete),
        rows_of(moments),
        rows_of(series),
        len(series_index),
        rows_of(stood_in),
        as_of=as_of,
        last_n=last_n,
        year_start=year_start,
    )
    if some is not None:
        verdicts = _spread(np, n, some, verdicts, stood_in)
    verdicts = replace(verdicts, judged_value=judged_value)
    return verdicts, group if len(groups) > 1 else None


def _verdicts(
    np: Any,
    days: Any,
    grain: Any,
    v: Mapping[str, Any],
    values: Any,
    complete: Any,
    moments: Any,
    series: Any,
    series_count: int,
    stood_in: Any,
    *,
    as_of: dt.date,
    last_n: int,
    year_start: int,
) -> table.Verdicts:
    """Steps 3 to 7 of :func:`_judge` on rows given with their target (``v``: each row's
    variant's columns), every series whole; ``series`` numbers them below ``series_count``."""
    n = len(days)
    # 3. Sizes' total rows: bound, declared baseline and absolute tolerance scaled to the period.
    ends = period_ends(days, grain, year_start)
    factor = np.ones(n)
    scaled = v["scaled"]
    if scaled.any():
        unit = v["unit"][scaled]
        start = unit_starts(days[scaled], unit, year_start)
        length = np.where(grain[scaled] == _HOUR, 1 / 24, ends[scaled] - days[scaled] + 1)  # targets._days
        per = np.where(unit == _HOUR, 1 / 24, period_ends(start, unit, year_start) - start + 1)
        factor[scaled] = length / per
    lo = np.where(scaled, v["min"] * factor, v["min"])
    hi = np.where(scaled, v["max"] * factor, v["max"])
    declared_value = np.where(scaled, v["base_value"] * factor, v["base_value"])
    tolerance = np.where(scaled & ~v["relative"], v["tolerance"] * factor, v["tolerance"])

    # 4. The data baseline: the first complete, non-missing value of each series up to as_of.
    as_of_day = as_of.toordinal()
    missing = np.isnan(values)
    usable = (days <= as_of_day) & complete & ~missing
    candidates = np.flatnonzero(usable)
    order = candidates[np.lexsort((candidates, moments[candidates], series[candidates]))]  # two hours of a day apart
    firsts = order[np.r_[True, series[order][1:] != series[order][:-1]]] if len(order) else order
    has_first = np.zeros(series_count, dtype=bool)
    first_value, first_at = np.zeros(series_count), np.zeros(series_count, dtype=np.int64)
    has_first[series[firsts]] = True
    first_value[series[firsts]] = values[firsts]
    first_at[series[firsts]] = np.minimum(ends[firsts], as_of_day)

    # 5. The judgement (targets.judge): each edge on its own, then the worse one.
    declared = v["declared"]
    has_base = declared | has_first[series]
    base = np.where(declared, declared_value, first_value[series])
    since = np.where(declared, v["base_at"], first_at[series])
    has_by, by = v["has_by"], v["by"]
    on = np.minimum(ends, as_of_day)
    judged = v["active"] & (days <= as_of_day) & complete
    with np.errstate(all="ignore"):
        edges = [
            _edge(np, bound, sense, values, missing, on, has_by, by, has_base, base, since, tolerance, v["relative"])
            for bound, sense in ((lo, 1.0), (hi, -1.0))
        ]
        (status_lo, expected_lo, gap_lo, key_lo), (status_hi, expected_hi, gap_hi, key_hi) = edges
        sev_lo, sev_hi = np.array(_SEVERITY)[status_lo], np.array(_SEVERITY)[status_hi]
        hi_wins = (sev_hi > sev_lo) | (
            (sev_hi == sev_lo) & ((key_hi[0] > key_lo[0]) | ((key_hi[0] == key_lo[0]) & (key_hi[1] > key_lo[1])))
        )  # max() keeps the first of equal keys: the max edge only when strictly worse
        use_hi = v["has_max"] & (~v["has_min"] | hi_wins)
        status = np.where(use_hi, status_hi, status_lo)
        expected = np.where(use_hi, expected_hi, expected_lo)
        gap = np.where(use_hi, gap_hi, gap_lo)
        relative = gap / np.abs(expected)
    status = np.where(judged, status, np.where(v["active"], _NO_DATA, _NO_TARGET))
    has_gap = judged & ~missing
    has_relative = has_gap & (expected != 0)
    source = np.where(judged & has_by, np.where(declared, 1, np.where(has_base, 2, 0)), 0)

    # 6. Where the pace leads (forecast.annotate), for the rows held against a trajectory.
    pace = judged & (status >= _ON_TRACK)
    reaches, by_deadline = _pace(np, pace, moments, series, complete & ~missing, ends, values, lo, hi, v, last_n)

    # 7. The judgements as columns: the bounds as written, a size's total row scaled to its period.
    active = v["active"]
    lows = np.where(active, v["min_obj"], None)
    highs = np.where(active, v["max_obj"], None)
    scaled = active & v["scaled"]
    lows[scaled & v["has_min"]] = lo[scaled & v["has_min"]]
    highs[scaled & v["has_max"]] = hi[scaled & v["has_max"]]
    own = (status != _NO_TARGET) | (reaches >= 0) | stood_in
    verdicts = table.Verdicts(
        status=status,
        min=lows,
        max=highs,
        expected=np.where(judged, expected, np.nan),
        gap=np.where(has_gap, gap, np.nan),
        gap_relative=np.where(has_relative, relative, np.nan),
        baseline_source=source,
        reaches_on=reaches,
        reaches_by_deadline=by_deadline,
        own=own,
        min_number=np.where(active & v["has_min"] & np.isfinite(lo), lo, np.nan),
        max_number=np.where(active & v["has_max"] & np.isfinite(hi), hi, np.nan),
    )
    return verdicts


def _spread(np: Any, n: int, some: Any, part: table.Verdicts, stood_in: Any) -> table.Verdicts:
    """The verdicts of ``n`` rows of which only ``some`` have an active target (``part``, theirs):
    the others judged as :func:`_verdicts` judges a row without one (no target, nothing else)."""

    def full(column: Any, fill: Any) -> Any:
        out = np.full(n, fill, dtype=column.dtype)
        out[some] = column
        return out

    own = stood_in.copy()
    own[some] = part.own
    return table.Verdicts(
        status=full(part.status, _NO_TARGET),
        min=full(part.min, None),
        max=full(part.max, None),
        expected=full(part.expected, np.nan),
        gap=full(part.gap, np.nan),
        gap_relative=full(part.gap_relative, np.nan),
        baseline_source=full(part.baseline_source, 0),
        reaches_on=full(part.reaches_on, -1),
        reaches_by_deadline=full(part.reaches_by_deadline, -1),
        own=own,
        min_number=full(part.min_number, np.nan),
        max_number=full(part.max_number, np.nan),
    )


def _per_variant(
    variants: _Variants,
    seen: dict[tuple[int, bool, tuple[Any, ...]], int],
    code: int,
    target: Target,
    size: bool,
    dims: Mapping[str, Any],
) -> int:
    """The variant of a breakdown of a KPI whose target has ``per`` overrides, as the reference
    finds it (``targets.scoped`` for a size, ``targets.bound_in_force`` for a level), once per
    distinct values of the ``per`` dimensions (``seen``)."""
    key = (code, bool(dims), tuple(_plain(dims.get(dim)) for dim in target.per))
    found = seen.get(key)
    if found is not None:
        return found
    if size:
        scoped = targets.for_breakdown(target, dims, True)
        found = variants.add(code, "none", None) if scoped is None else variants.add(code, "override", scoped)
    else:
        bound = targets.bound_in_force(target, dims)
        overridden = Target(bound, target.by, target.baseline, target.tolerance, target.tolerance_relative)
        found = variants.add(code, "as_is", target if bound is target.bound else overridden)
    seen[key] = found
    return found


def _edge(
    np: Any,
    edge: Any,
    sense: float,
    values: Any,
    missing: Any,
    on: Any,
    has_by: Any,
    by: Any,
    has_base: Any,
    base: Any,
    since: Any,
    tolerance: Any,
    relative: Any,
) -> tuple[Any, Any, Any, tuple[Any, Any]]:
    """``targets._verdict`` of one edge on every row: status code, expected, gap and the rest of
    the key that decides between two edges (moving, -gap)."""
    tiny = _EPS * np.where(np.abs(edge) > 1.0, np.abs(edge), 1.0)  # targets.tiny: max(1.0, |x|)
    base_meets = sense * (base - edge) >= -tiny
    flat = ~has_by | ~has_base | base_meets | (since >= by) | (on < since) | (on >= by)
    expected = np.where(flat, edge, base + (edge - base) * (on - since) / (by - since))
    moving = has_base & ~base_meets
    gap = sense * (values - expected)
    allowed = np.where(relative, tolerance * np.abs(edge), tolerance)
    tiny_expected = _EPS * np.where(np.abs(expected) > 1.0, np.abs(expected), 1.0)
    status = np.select(
        [missing, sense * (values - edge) >= -tiny, has_by & (on > by), gap >= -tiny_expected],
        [_NO_DATA, _ACHIEVED, _OFF_TRACK, _ON_TRACK],
        np.where(gap >= -(allowed + tiny_expected), _AT_RISK, _OFF_TRACK),
    )
    return status, expected, gap, (moving, np.where(missing, 0.0, -gap))


def _pace(
    np: Any,
    pace: Any,
    days: Any,
    series: Any,
    point: Any,
    ends: Any,
    values: Any,
    lo: Any,
    hi: Any,
    v: Mapping[str, Any],
    last_n: int,
) -> tuple[Any, Any]:
    """``forecast.forecast`` through the last ``last_n`` points of each ``pace`` row's series up to
    it (rows of a series in period order, then as given); returns the day ordinal of reaches_on (-1:
    None) and reaches_by_deadline as 1/0 (-1: None)."""
    n = len(days)
    reaches = np.full(n, -1, dtype=np.int64)
    by_deadline = np.full(n, -1, dtype=np.int64)
    if not pace.any() or not point.any():
        return reaches, by_deadline
    order = np.lexsort((np.arange(n), days, series))
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    counted = np.cumsum(point[order])  # points so far, all series
    head = np.r_[True, series[order][1:] != series[order][:-1]]
    before = np.maximum.accumulate(np.where(head, counted - point[order], 0))  # points before the series
    rows = np.flatnonzero(pace)
    at = position[rows]
    seen = counted[at] - before[at]  # the series' points up to and including the row
    rows, at, seen = rows[seen > 0], at[seen > 0], seen[seen > 0]
    points = order[point[order]]  # every point, by series, period, then as given
    count = np.minimum(seen, last_n)
    first = counted[at] - count  # index in points of the window's first point
    column = np.arange(last_n)
    inside = column[None, :] < count[:, None]
    take = np.where(inside, first[:, None] + column[None, :], 0)
    big = np.iinfo(np.int64).max
    when = np.where(inside, ends[points][take], big)
    value = np.where(inside, values[points][take], 0.0)
    sort = np.lexsort((value, when), axis=1)  # sorted((date, value)): dates only tie on duplicates
    when, value = np.take_along_axis(when, sort, 1), np.take_along_axis(value, sort, 1)
    origin = when[:, 0]
    last = count - 1
    last_when = np.take_along_axis(when, last[:, None], 1)[:, 0]
    last_value = np.take_along_axis(value, last[:, None], 1)[:, 0]

    # The days of the window: mean, deviations, sum of squares by the reference's expressions.
    offsets = np.where(inside, when - origin[:, None], -1)
    patterns, inverse = _distinct_rows(np, offsets)
    fits = [_days_fit(pattern) for pattern in patterns.tolist()]
    mean_x = np.array([f[0] for f in fits])[inverse]
    sxx = np.array([f[1] for f in fits])[inverse]
    deviation = np.array([f[2] for f in fits]).reshape(len(fits), last_n)[inverse]
    mean_y = builtin_sum(value, count) / count
    with np.errstate(all="ignore"):
        sxy = builtin_sum(deviation * (value - mean_y[:, None]), count)
        has_slope = sxx != 0
        slope = np.where(has_slope, sxy / sxx, np.nan)
        intercept = np.where(has_slope, mean_y - slope * mean_x, 0.0)

        # reaches_on: the last point already inside, else the first day the line is (_entry_day).
        edges = [(lo[rows], 1.0, v["has_min"][rows]), (hi[rows], -1.0, v["has_max"][rows])]
        tiny = [_EPS * np.where(np.abs(e) > 1.0, np.abs(e), 1.0) for e, _, _ in edges]
        inside_now = np.ones(len(rows), dtype=bool)
        start = (last_when - origin).astype(float)
        end = np.full(len(rows), np.inf)
        never = np.zeros(len(rows), dtype=bool)
        for (edge, sense, present), small in zip(edges, tiny, strict=True):
            inside_now &= ~present | (sense * (last_value - edge) >= -small)
            flat = slope == 0
            never |= present & flat & ~(sense * (intercept - edge) >= -small)
            crossing = (edge - intercept) / slope
            heading_in = present & ~flat & (sense * slope > 0)
            heading_out = present & ~flat & ~(sense * slope > 0)
            start = np.where(heading_in & (crossing > start), crossing, start)  # max(start, crossing)
            end = np.where(heading_out & (crossing < end), crossing, end)  # min(end, crossing)
        entry = np.ceil(start - _EPS)
        enters = has_slope & ~never & (start <= end + _EPS) & np.isfinite(entry) & (entry <= _LAST - origin)
        day = np.where(
            inside_now, last_when, np.where(enters, origin + np.where(enters, entry, 0).astype(np.int64), -1)
        )
    reaches[rows] = day
    has_by, by = v["has_by"][rows], v["by"][rows]
    known = has_by & ((day >= 0) | has_slope)
    by_deadline[rows] = np.where(known, (day >= 0) & (day <= by), -1)
    return reaches, by_deadline


def _distinct_rows(np: Any, table: Any) -> tuple[Any, Any]:
    """The distinct rows of an integer table and, for each row, the index of its own: rows are
    told apart by a hash (one sort of integers, not of rows), checked, else compared whole."""
    hashed = np.zeros(len(table), dtype=np.int64)
    for column in table.T:
        hashed = hashed * np.int64(1_000_003) + column  # wraps around: a hash, checked below
    _, first, inverse = np.unique(hashed, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    if (table[first][inverse] == table).all():
        return table[first], inverse
    distinct, inverse = np.unique(table, axis=0, return_inverse=True)
    return distinct, inverse.reshape(-1)


def _days_fit(offsets: list[int]) -> tuple[float, float, list[float]]:
    """``forecast._fit``'s terms that depend on the days only: mean of the xs, the sum of squares
    and each x's deviation (0 past the window), with the reference's very expressions."""
    xs = [float(x) for x in offsets if x >= 0]
    mean_x = sum(xs) / len(xs)
    sxx = sum((x - mean_x) ** 2 for x in xs)
    return mean_x, sxx, [x - mean_x for x in xs] + [0.0] * (len(offsets) - len(xs))


def _with_judgements(rows: Sequence[Row], judgements: Sequence[Judgement], order: Iterable[int]) -> list[Row]:
    """``rows[i]`` with ``judgements[i]`` for each ``i`` of ``order`` (grouped by grain, as
    verdicts' groups, when ``order`` says so). ``Row(...)`` with every field, not
    ``dataclasses.replace`` (3x slower); not a copy of the row's ``__dict__`` either, which is 3x
    faster but gives every row, and the one it is copied from, a dictionary of 128 bytes more.
    """
    return [
        Row(r.kpi, r.period, r.dims, r.value, judgements[i], r.complete, r.partial_window, r.through)
        for i in order
        for r in (rows[i],)
    ]


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """The cyclic garbage collector paused (and resumed if it ran): building a million rows
    triggers full collections that each walk every object built so far, a third of the time."""
    running = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if running:
            gc.enable()
