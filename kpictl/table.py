"""The rows of a run as columns: NumPy arrays from the query to the file, never a Python object per row.

A breakdown by customer gives a million rows. As ``Row`` objects they cost more than the query
itself: built from the query's tuples, marked, judged, sorted, then taken apart again by the
writers. A :class:`Table` holds the same rows as one array per column; completeness
(``completeness.mark_table``), the judgement (``bulk.judge_table``), the order and the machine
formats (``report.files``) work on the arrays, and :meth:`Table.rows` builds ``Row`` objects only
for what shows rows to people (the terminal table, Markdown, the dashboard).

The conventions, so that a ``Table`` and its ``rows()`` say the same thing:

- ``kpi`` is an index into ``names``; ``day`` the period's first day as a day ordinal
  (``date.toordinal``); ``dims`` one object array of plain Python values per dimension (None: NULL).
- ``hour`` is None when no row is an hour; else the hour (0–23) of each row whose KPI runs at hour
  grain, and -1 for the rows of a day or longer (a run may mix grains). A row's ``period`` is then
  ``datetime(day, hour)``, else ``date(day)``; :meth:`Table.moments` (hours since day 1, the hour
  0 for a day or longer) orders rows and tells apart two hours of one day wherever ``day`` alone
  would. Everything judged by date (period ends, ``as_of``, deadlines) keeps reading ``day``.
- Missing floats are NaN (``value``, ``expected``, ``gap``, ``gap_relative``; ``min``/``max`` are
  the bounds as written, Python objects, None when absent). ``reaches_on`` is a day ordinal, -1 for
  None; ``reaches_by_deadline`` 1, 0 or -1 (None).
- ``status`` indexes ``bulk.STATUSES``; a table not yet judged has ``status`` None.

NumPy is imported inside the functions (``kpictl --help`` does not pay for it).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from kpictl.model import Judgement, Row

#: The order of ``Table.status`` codes (``bulk`` computes them).
STATUSES = ("no_target", "no_data", "achieved", "on_track", "at_risk", "off_track")
BASELINE_SOURCES = (None, "declared", "data")
_NO_JUDGEMENT = Judgement("no_target")


@dataclass(frozen=True)
class Verdicts:
    """The judgement of every row of a table, column-wise (``model.Judgement``'s fields)."""

    status: Any  # int codes into STATUSES
    min: Any  # object: the bound in force (a size's total row: scaled to its period), None
    max: Any
    expected: Any  # float, NaN: None
    gap: Any
    gap_relative: Any
    baseline_source: Any  # int codes into BASELINE_SOURCES
    reaches_on: Any  # day ordinal, -1: None
    reaches_by_deadline: Any  # 1, 0, -1: None
    judged_value: Any = None  # object array (a level's value to date judged in the row's place), or None
    own: Any = None  # bool: the row has a Judgement of its own (else the shared "no target" one)
    min_number: Any = None  # ``min`` and ``max`` as doubles (NaN: none), when the judge has them so
    max_number: Any = None

    def numbers(self, edge: str) -> Any:
        """``min`` or ``max`` as doubles, NaN where there is none (or it is no finite number)."""
        import numpy as np

        found = getattr(self, f"{edge}_number")
        if found is not None:
            return found
        codes, distinct = factorize(getattr(self, edge), exact=True)
        doubles = [math.nan if v is None or v.__class__ is bool or not math.isfinite(v) else float(v) for v in distinct]
        return np.array(doubles or [math.nan])[codes]

    def take(self, index: Any) -> Verdicts:
        return Verdicts(**{k: None if v is None else v[index] for k, v in self.__dict__.items()})


@dataclass(frozen=True)
class Table:
    """Tidy rows (``model.Row``) as columns; see the module docstring for the conventions."""

    names: tuple[str, ...]
    kpi: Any
    day: Any
    dims: dict[str, Any]
    value: Any
    complete: Any
    partial_window: Any
    hour: Any = None  # int: the hour of an hourly period, -1 for a day or longer; None: no hours
    verdicts: Verdicts | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # what a stage adds for a later one
    coded: dict[str, tuple[Any, list[Any]]] = field(default_factory=dict)  # codes(): each breakdown's, once

    def __len__(self) -> int:
        return len(self.kpi)

    def codes(self, name: str, *, exact: bool = False) -> tuple[Any, list[Any]]:
        """``factorize`` of the breakdown ``name``, computed once for every stage that asks."""
        found = self.coded.get(name)
        if found is None:
            found = self.coded[name] = factorize(self.dims[name])
        if exact and any(v.__class__ not in _EXACT for v in found[1]):
            return factorize(self.dims[name], exact=True)
        return found

    def moments(self) -> Any:
        """Each row's period as hours since day 1 (``day * 24 + hour``, hour 0 for a day or longer):
        the order of periods, and a key that tells two hours of one day apart."""
        import numpy as np

        return self.day * 24 + (0 if self.hour is None else np.maximum(self.hour, 0))

    def periods(self) -> list[dt.date]:
        """Each row's period: a ``datetime`` for an hour, else a ``date``."""
        import numpy as np

        if self.hour is None:
            days = {d: dt.date.fromordinal(d) for d in np.unique(self.day).tolist()}
            return [days[d] for d in self.day.tolist()]
        named: dict[tuple[int, int], dt.date] = {}
        out = []
        for d, h in zip(self.day.tolist(), self.hour.tolist(), strict=True):
            found = named.get((d, h))
            if found is None:
                day = dt.date.fromordinal(d)
                found = named[(d, h)] = day if h < 0 else dt.datetime(day.year, day.month, day.day, h)
            out.append(found)
        return out

    def take(self, index: Any) -> Table:
        """The rows at ``index`` (an integer array, or a boolean mask), in that order."""
        import numpy as np

        if index.dtype != bool and np.array_equal(index, np.arange(len(self.kpi))):  # all of them, in order
            return replace(self, extra={}, coded={name: _kept(*coded) for name, coded in self.coded.items()})
        return replace(
            self,
            kpi=self.kpi[index],
            day=self.day[index],
            hour=None if self.hour is None else self.hour[index],
            dims={name: column[index] for name, column in self.dims.items()},
            value=self.value[index],
            complete=self.complete[index],
            partial_window=self.partial_window[index],
            verdicts=None if self.verdicts is None else self.verdicts.take(index),
            extra={},
            coded={name: _kept(codes[index], values) for name, (codes, values) in self.coded.items()},
        )

    def rows(self) -> list[Row]:
        """The table as ``Row`` objects, in its order."""
        return list(self.iter_rows())

    def iter_rows(self) -> Iterator[Row]:

        n = len(self)
        if n == 0:
            return
        names = list(self.names)
        kpis = self.kpi.tolist()
        periods = self.periods()
        dim_names = list(self.dims)
        dim_values = [column.tolist() for column in self.dims.values()]
        values = [None if v != v else v for v in self.value.tolist()]
        complete = self.complete.tolist()
        partial = self.partial_window.tolist()
        judged = judgements(self.verdicts) if self.verdicts is not None else [None] * n
        for i in range(n):
            yield Row(
                names[kpis[i]],
                periods[i],
                {name: column[i] for name, column in zip(dim_names, dim_values, strict=True)},
                values[i],
                judged[i],
                complete[i],
                partial[i],
            )


def judgements(v: Verdicts) -> list[Judgement]:
    """One ``Judgement`` per row of ``v``; rows without a judgement of their own share one."""
    import numpy as np

    n = len(v.status)
    own = v.own if v.own is not None else (v.status != 0) | (v.reaches_on >= 0)
    made = np.flatnonzero(own)

    def floats(column: Any) -> list[Any]:
        return [None if x != x else x for x in column[made].tolist()]

    dates = {d: dt.date.fromordinal(d) for d in np.unique(v.reaches_on[made]).tolist() if d >= 0}
    columns = [
        np.array(STATUSES, dtype=object)[v.status[made]].tolist(),
        v.min[made].tolist(),
        v.max[made].tolist(),
        floats(v.expected),
        floats(v.gap),
        floats(v.gap_relative),
        np.array(BASELINE_SOURCES, dtype=object)[v.baseline_source[made]].tolist(),
        [dates.get(d) for d in v.reaches_on[made].tolist()],
        np.array([False, True, None], dtype=object)[v.reaches_by_deadline[made]].tolist(),
        v.judged_value[made].tolist() if v.judged_value is not None else [None] * len(made),
    ]
    every: list[Judgement] = [_NO_JUDGEMENT] * n
    for i, judgement in zip(made.tolist(), map(Judgement, *columns), strict=True):
        every[i] = judgement
    return every


def objects(values: Sequence[Any]) -> Any:
    """A NumPy object array of ``values`` as they are (``np.array`` would turn a list of tuples
    or of equal-length lists into a 2-D array, and ints and floats into one dtype)."""
    import numpy as np

    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def from_rows(rows: Sequence[Row], by: Sequence[str] = (), *, judged: bool | None = None) -> Table:
    """``rows`` as a table; dimensions ``by`` (default: every one, first seen first), NULL where a
    row lacks one. ``judged`` None: judged if any row has a judgement (rows without one then have
    the shared "no target")."""
    import numpy as np

    dims = tuple(by) or tuple(dict.fromkeys(name for row in rows for name in row.dims))
    names: dict[str, int] = {}
    kpi = np.fromiter((names.setdefault(r.kpi, len(names)) for r in rows), dtype=np.int64, count=len(rows))
    table = Table(
        names=tuple(names),
        kpi=kpi,
        day=np.fromiter((r.period.toordinal() for r in rows), dtype=np.int64, count=len(rows)),
        hour=_hours(rows),
        dims={d: objects([r.dims.get(d) for r in rows]) for d in dims},
        value=np.array([None if r.value.__class__ is bool else r.value for r in rows], dtype=float),  # as written
        complete=np.array([r.complete for r in rows], dtype=bool),
        partial_window=np.array([r.partial_window for r in rows], dtype=bool),
    )
    if judged is None:
        judged = any(r.judgement is not None for r in rows)
    if not judged:
        return table
    judgements = [r.judgement or _NO_JUDGEMENT for r in rows]
    return replace(table, verdicts=verdicts_of(judgements))


def _hours(rows: Sequence[Row]) -> Any:
    """``Table.hour`` of ``rows``: None without an hourly period (a ``datetime``), else -1 for a date."""
    import numpy as np

    if not any(isinstance(r.period, dt.datetime) for r in rows):
        return None
    return np.array([r.period.hour if isinstance(r.period, dt.datetime) else -1 for r in rows], dtype=np.int64)


def verdicts_of(judgements: Sequence[Judgement]) -> Verdicts:
    """``Judgement`` objects as columns."""
    import numpy as np

    def floats(name: str) -> Any:  # a bool is no number (report.files._number)
        return np.array([None if (x := getattr(j, name)).__class__ is bool else x for j in judgements], dtype=float)

    codes = {s: i for i, s in enumerate(STATUSES)}
    sources = {s: i for i, s in enumerate(BASELINE_SOURCES)}
    return Verdicts(
        status=np.array([codes[j.status] for j in judgements], dtype=np.int64),
        min=objects([j.min for j in judgements]),
        max=objects([j.max for j in judgements]),
        expected=floats("expected"),
        gap=floats("gap"),
        gap_relative=floats("gap_relative"),
        baseline_source=np.array([sources[j.baseline_source] for j in judgements], dtype=np.int64),
        reaches_on=np.array([j.reaches_on.toordinal() if j.reaches_on else -1 for j in judgements], dtype=np.int64),
        reaches_by_deadline=np.array(
            [-1 if j.reaches_by_deadline is None else int(j.reaches_by_deadline) for j in judgements], dtype=np.int64
        ),
        judged_value=objects([j.judged_value for j in judgements]),
        own=np.array([j is not _NO_JUDGEMENT for j in judgements], dtype=bool),
    )


def _kept(codes: Any, values: list[Any]) -> tuple[Any, list[Any]]:
    """Codes and distinct values without the values no code uses any more (first seen first)."""
    import numpy as np

    if not len(codes):
        return codes, []
    if (np.bincount(codes, minlength=len(values)) > 0).all():
        return codes, values
    kept = codes[np.sort(first_rows(codes)[1])]
    new = np.full(len(values), -1, dtype=np.int64)
    new[kept] = np.arange(len(kept))
    return new[codes], [values[k] for k in kept.tolist()]


def factorize(column: Any, *, exact: bool = False) -> tuple[Any, list[Any]]:
    """Codes and distinct values of an object column (first seen first), so that work per value is
    done once per distinct value. Values equal as dictionary keys share a code (``1``, ``1.0`` and
    ``True``; ``0.0`` and ``-0.0``); with ``exact``, only values of one type that write alike do.

    A sorted column (a run's KPI names) is read by its runs of equal values, one dictionary
    lookup per run."""
    import numpy as np

    values = column.tolist()
    seen: dict[Any, int] = {}
    starts = np.flatnonzero(np.r_[True, column[1:] != column[:-1]]) if len(column) else column
    if len(starts) * 8 < len(column):
        run_codes = np.fromiter((seen.setdefault(values[i], len(seen)) for i in starts.tolist()), dtype=np.int64)
        codes = np.repeat(run_codes, np.diff(np.r_[starts, len(column)]))
    else:  # the distinct values by dict.fromkeys, then one lookup per row, both in C: twice as fast
        seen = {v: i for i, v in enumerate(dict.fromkeys(values))}
        codes = np.fromiter(map(seen.__getitem__, values), dtype=np.int64, count=len(column))
    if exact and any(v.__class__ not in _EXACT for v in seen):
        exactly: dict[Any, int] = {}
        found: list[Any] = []
        for i, v in enumerate(values):
            key = (v.__class__, repr(v) if v.__class__ is float else v)
            code = exactly.setdefault(key, len(exactly))
            if code == len(found):
                found.append(v)
            codes[i] = code
        return codes, found
    return codes, list(seen)


#: Types whose values equal as dictionary keys are the same value (see ``factorize``).
_EXACT = (str, dt.date, type(None))


def text_ranks(coded: tuple[Any, list[Any]]) -> Any:
    """For each value (codes and distinct values), the rank of ``str(value)`` among the column's:
    the order ``Project.run`` sorts breakdowns in (ties, values with the same text, share a rank)."""
    import numpy as np

    codes, distinct = coded
    texts = [str(v) for v in distinct]
    ordered = sorted(set(texts))
    rank = {t: i for i, t in enumerate(ordered)}
    return np.array([rank[t] for t in texts], dtype=np.int64)[codes] if distinct else codes


def sort_order(table: Table, kpi_order: Mapping[str, int]) -> Any:
    """The permutation that orders ``table`` by KPI (``kpi_order``), period, then each breakdown's
    text, stable: ``sorted(rows, key=(order[kpi], period, tuple(str(dims))))`` without a key per row."""
    import numpy as np

    kpi_rank = np.array([kpi_order[name] for name in table.names], dtype=np.int64)
    keys = [text_ranks(table.codes(name, exact=True)) for name in reversed(list(table.dims))]  # 0 and False apart
    keys += [table.moments(), kpi_rank[table.kpi] if len(table.names) else table.kpi]
    if _in_order(np, keys[::-1]):  # a run's rows come in this order: one pass instead of a sort
        return np.arange(len(table))
    return np.lexsort(keys)


def _in_order(np: Any, keys: Sequence[Any]) -> bool:
    """Whether the rows are already in the order of ``keys`` (the first one decides first), ties
    included: then the stable sort leaves every row where it is."""
    before, tied = np.zeros(max(len(keys[0]) - 1, 0), dtype=bool), None
    for key in keys:
        less, equal = key[:-1] < key[1:], key[:-1] == key[1:]
        before |= less if tied is None else tied & less
        tied = equal if tied is None else tied & equal
    return bool((before | tied).all()) if tied is not None else True


def series(t: Table) -> tuple[Any, Any]:
    """Each row's (KPI, breakdown), numbered in the order first seen, and the first row of each:
    breakdown values equal as dictionary keys are one series, as in ``targets.series_key``."""
    import numpy as np

    combined = combine([(t.kpi, len(t.names)), *((codes, len(values)) for codes, values in map(t.codes, t.dims))])
    ident, first = first_rows(combined)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[ident], np.sort(first)


def combine(columns: Sequence[tuple[Any, int]]) -> Any:
    """One non-negative integer per row for its tuple of codes (each column: codes in range(size)),
    equal exactly when the tuples are; tuples renumbered when their product would overflow."""
    import numpy as np

    combined, radix = None, 1
    for codes, size in columns:
        size = max(size, 1)
        if combined is None:
            combined, radix = codes.astype(np.int64), size
            continue
        if radix * size >= 2**62:  # cannot be one integer: number the tuples so far
            combined, _ = first_rows(combined)
            radix = int(combined.max()) + 1 if len(combined) else 1
        combined, radix = combined * size + codes, radix * size
    assert combined is not None, "combine() needs one column at least"
    return combined


def first_rows(codes: Any) -> tuple[Any, Any]:
    """For non-negative integer codes: each one's number among the distinct codes (ascending) and
    the first row of each; by a table of the codes' range when it is small (no sort)."""
    import numpy as np

    if not len(codes):
        return codes, codes
    high = int(codes.max())
    if high > 4 * len(codes) + 1_000_000:
        _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
        return inverse.reshape(-1), first
    first = np.full(high + 1, len(codes), dtype=np.int64)
    np.minimum.at(first, codes, np.arange(len(codes)))
    used = np.flatnonzero(first < len(codes))
    number = np.zeros(high + 1, dtype=np.int64)
    number[used] = np.arange(len(used))
    return number[codes], first[used]


def current(t: Table) -> list[Row]:
    """``targets.current`` of a table: the latest judged row of each KPI and breakdown (rows
    without data skipped; of two rows of one period the first), in the order each series first
    has one; only those rows are built."""
    import numpy as np

    assert t.verdicts is not None
    ident, _ = series(t)
    rows = np.flatnonzero((t.verdicts.status != STATUSES.index("no_data")) & ~np.isnan(t.value))
    if not len(rows):
        return []
    by_series = rows[np.lexsort((rows, -t.moments()[rows], ident[rows]))]  # each series: latest first, then first given
    head = np.r_[True, ident[by_series][1:] != ident[by_series][:-1]]
    latest = by_series[head]
    firsts = np.minimum.reduceat(rows[np.lexsort((rows, ident[rows]))], np.flatnonzero(head))
    return t.take(latest[np.argsort(firsts, kind="stable")]).rows()


@dataclass(frozen=True)
class Cells:
    """A column given as codes into a list of distinct values (typed ``kind`` for Parquet; text,
    already encoded, for lines). A code -1 is NULL."""

    codes: Any
    values: Sequence[Any]
    kind: str = "VARCHAR"


@dataclass(frozen=True)
class Numbers:
    """A column of doubles; NaN (and infinity) is ``missing``: NULL in Parquet, that text in lines."""

    values: Any
    missing: str = ""


Column = Cells | Numbers


class Rows(Sequence[Row]):
    """A table read as a sequence of ``Row``: built when first asked for, once."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self._rows: list[Row] | None = None

    def _all(self) -> list[Row]:
        if self._rows is None:
            self._rows = self.table.rows()
        return self._rows

    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, index: Any) -> Any:
        return self._all()[index]

    def __iter__(self) -> Iterator[Row]:
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Rows):
            other = other._all()
        return self._all() == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Rows({len(self)} rows)"
