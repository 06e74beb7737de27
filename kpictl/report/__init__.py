"""Results for people and machines: the format registry of ``kpictl run`` and where output goes.

``render_rows`` turns judged rows into one format's text or bytes; ``emit`` writes them to stdout
or, atomically, to a file; ``breach_line`` names a breached row on stderr. The formats:

========  =========================================================  =====================
format    what                                                       module
========  =========================================================  =====================
table     latest complete period per KPI and breakdown, for people   ``report.table``
markdown  the same view as a GitHub table, for pull-request comments ``report.markdown``
json      every period, full precision: ``{"rows": [...]}``          ``report.files``
csv       the same tidy table as CSV                                 ``report.files``
parquet   the same tidy table as typed Parquet (bytes)               ``report.files``
========  =========================================================  =====================

Other views live beside them: ``report.catalog`` (``list``/``show``), ``report.problems``
(``validate``), ``report.numbers`` (values formatted for people, shared by every human view).
Same rows in, same bytes out, for every format.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from kpictl.model import Kpi, Row
from kpictl.report import files, formats
from kpictl.report.files import emit

if TYPE_CHECKING:
    from kpictl.table import Table

__all__ = ["FORMATS", "breach_line", "breach_lines", "emit", "render_rows"]

#: (rows or a run's table, kpis, by, lang, color, year_start) → text or bytes.
_Renderer = Callable[
    ["Sequence[Row] | Table", Mapping[str, Kpi], Sequence[str], str, "bool | None", int], "str | bytes"
]


def _rows(rows: Sequence[Row] | Table) -> Sequence[Row]:
    """Rows for the views made for people (a run's table is read as rows only here)."""
    from kpictl.table import Table

    return rows.rows() if isinstance(rows, Table) else rows


def _table(
    rows: Sequence[Row] | Table,
    kpis: Mapping[str, Kpi],
    by: Sequence[str],
    lang: str,
    color: bool | None,
    year_start: int,
) -> str:
    from kpictl.report import table  # the human views are imported by the formats that need them

    return table.render(_rows(rows), kpis, by=by, lang=lang, color=color, year_start=year_start)


def _markdown(
    rows: Sequence[Row] | Table,
    kpis: Mapping[str, Kpi],
    by: Sequence[str],
    lang: str,
    color: bool | None,
    year_start: int,
) -> str:
    from kpictl.report import markdown

    return markdown.render(_rows(rows), kpis, by=by, lang=lang, year_start=year_start)


# The machine formats write periods as ISO dates: a fiscal quarter is its first day there too.
_RENDERERS: dict[str, _Renderer] = {
    "table": _table,
    "json": lambda rows, kpis, by, lang, color, year_start: files.to_json(rows, by=by),
    "csv": lambda rows, kpis, by, lang, color, year_start: files.to_csv(rows, by=by),
    "markdown": _markdown,
    "parquet": lambda rows, kpis, by, lang, color, year_start: files.to_parquet(rows, by=by),
}
_DOCUMENTS = {"json": files.json_document, "csv": files.csv_document}
#: The formats of ``kpictl run --format``, default first.
FORMATS = formats.ROWS
assert tuple(_RENDERERS) == FORMATS


def breach_line(row: Row) -> str:
    """``report.table.breach_line``: the stderr line naming a breached row."""
    from kpictl.report import table

    return table.breach_line(row)


def breach_lines(rows: Sequence[Row], shown: int | None = None) -> list[str]:
    """``report.table.breach_lines``: a line per breached row, the first ``shown`` of them."""
    if not rows:
        return []
    from kpictl.report import table

    return table.breach_lines(rows) if shown is None else table.breach_lines(rows, shown)


def render_rows(
    rows: Sequence[Row] | Table,
    kpis: dict[str, Kpi],
    fmt: str,
    *,
    by: tuple[str, ...] = (),
    lang: str = "en",
    color: bool | None = None,
    year_start: int = 1,
    streamed: bool = False,
) -> str | bytes | files.Document:
    """``rows`` (from ``Project.run``, or its table from ``Project.run_table``) in format ``fmt``:
    text, or bytes for parquet; with ``streamed``, csv and json as a ``files.Document`` that
    :func:`emit` copies into the output without holding it whole.

    ``kpis`` gives labels, number formats and targets to the human formats; ``by`` fixes the
    order of the dimension columns (default: as first seen in the rows); ``lang`` is the
    language of labels and numbers (``en``, ``fr``) in table and markdown; ``color`` forces
    colour on or off in the table (None: only on a terminal without ``NO_COLOR``); ``year_start``
    the month fiscal quarters and years start in (``Calendar.year_start``: their labels in table
    and markdown, ``FY2026-Q1``). Text ends with a newline, ready for :func:`emit`.

    >>> import datetime as dt
    >>> render_rows([Row("orders", dt.date(2025, 1, 1), {}, 42.0)], {}, "csv")
    'kpi,period,value,status,min,max,expected,gap,gap_relative\\norders,2025-01-01,42.0,no_target,,,,,\\n'
    """
    if streamed and fmt in _DOCUMENTS:
        return _DOCUMENTS[fmt](rows, by=by)
    try:
        renderer = _RENDERERS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}") from None
    return renderer(rows, kpis, by, lang, color, year_start)
