"""The terminal view of a run: one line per KPI and breakdown, at its latest complete period.

Plain aligned columns, no box, within the terminal's width (``COLUMNS`` when set, else the
terminal's, else :data:`WIDTH`; long labels are cut with ``…``, and two labels cut to the same
text show the KPIs' names instead),
ANSI colour on the status only, and only on a terminal: the status also carries a symbol, so it
reads the same without colour, pasted in an issue or under ``NO_COLOR``. This module decides
what a line shows (:func:`latest`); ``markdown`` renders the same :class:`View`. It never
prints: the caller hands the text to ``report.emit``.

What a line shows, for each KPI and breakdown value (a *series*):

- the **latest complete period**: the last one with a value that was judged (not ``no_data``,
  which is what a period after the as-of date gets), or the last period when none has a value;
- the **previous** period's value and the **change** (``numbers.format_change``: percentage
  points for percent KPIs, absolute and relative otherwise);
- the **target** in force (after per-dimension overrides), the **expected** value on the
  trajectory, the **status**, and when the target is not yet met, the period the bound
  **reaches** at the current pace (``forecast.forecast`` through the last six values), marked
  ``(late)`` after the deadline. This last column is the first to go when the table does not
  fit, after the labels are cut to 12 characters: a readable label matters more.

Periods are written at their grain (``2025-12``, ``2025-Q4``, ``2025-W49``), which is read off
the spacing of the periods since rows do not carry it (the time spine makes them contiguous).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kpictl.judge import targets
from kpictl.judge.forecast import forecast
from kpictl.model import STATUS_SYMBOLS, STATUSES, WHOLE, Bound, Format, Kpi, Row, Target, is_custom_grain, lang_of
from kpictl.report import escape
from kpictl.report.files import dimension_names
from kpictl.report.i18n import texts
from kpictl.report.numbers import format_bound, format_change, format_value, scale_of
from kpictl.sql import calendars, periods

WIDTH = 100  # when the width is unknown: output to a file or a pipe, without COLUMNS
GAP = 2
#: ANSI SGR colours: green, blue, yellow, red; no_target and no_data stay plain.
COLORS = {"achieved": "32", "on_track": "34", "at_risk": "33", "off_track": "31"}
WORDS = {
    "en": {
        "kpi": "KPI",
        "period": "Period",
        "value": "Value",
        "previous": "Previous",
        "change": "Change",
        "target": "Target",
        "expected": "Expected",
        "status": "Status",
        "reaches": "Reaches",
        "building_blocks": "Building blocks",
        "never": "never",
        "late": "late",
    },
    "fr": {
        "kpi": "KPI",
        "period": "Période",
        "value": "Valeur",
        "previous": "Précédent",
        "change": "Variation",
        "target": "Objectif",
        "expected": "Attendu",
        "status": "Statut",
        "reaches": "Atteinte",
        "building_blocks": "Briques de calcul",
        "never": "jamais",
        "late": "en retard",
    },
}
_GRAIN_DAYS = (("day", 1, 1), ("week", 7, 7), ("month", 28, 31), ("quarter", 89, 92), ("year", 365, 366))


def word(key: str, lang: str = "en") -> str:
    """A column title or status word in ``lang`` (English for any language but French).

    Status words are the dashboard's (``i18n``), in lower case: "on track", "en bonne voie".
    """
    lang = lang_of(lang)
    if key in STATUSES:
        return texts(lang)[f"status_{key}"].lower()
    return WORDS[lang][key]


@dataclass(frozen=True)
class Column:
    """A column of an aligned table.

    ``shrink_to``: how narrow its cells may be cut (None: never cut); ``optional``: the column
    may be left out when the table is still too wide once every column is cut to its
    ``comfort`` width (default: ``shrink_to``), before any is cut further.
    """

    key: str
    title: str
    right: bool = False
    shrink_to: int | None = None
    optional: bool = False
    comfort: int | None = None  # cut no narrower than this before leaving out optional columns


@dataclass(frozen=True)
class View:
    """The latest-period view: columns, per line its cells and its status (for colour), and
    per line the KPI's name (shown instead of its label when two cut labels would read alike)."""

    columns: tuple[Column, ...]
    lines: tuple[tuple[tuple[str, ...], str], ...]
    names: tuple[str, ...] = ()
    blocks: int = 0  # the last ``blocks`` lines are building blocks, listed apart


def terminal_width() -> int:
    """The width to fit: ``COLUMNS``, else the terminal's, else :data:`WIDTH` (a file, a pipe)."""
    import shutil

    return max(shutil.get_terminal_size((WIDTH, 24)).columns, 40)


def infer_grain(periods: Sequence[dt.date]) -> str | None:
    """The grain of contiguous period starts, from their smallest spacing; None if unknown."""
    if any(isinstance(p, dt.datetime) for p in periods):  # only an hour's period is a datetime
        return "hour"
    days = sorted(set(periods))
    gaps = [(b - a).days for a, b in itertools.pairwise(days)]
    if not gaps:
        return None
    return next((grain for grain, low, high in _GRAIN_DAYS if low <= min(gaps) <= high), None)


def fitting_grain(day: dt.date, kpi: Kpi | None = None, year_start: int = 1) -> str | None:
    """The grain of a lone period (one period cannot be spaced): the KPI's own grain when the
    period starts one, else month, week, quarter or year, the first whose periods start on
    ``day`` (months are the default grain; 2012-12-31, a Monday that starts no month, is the
    week 2013-W01), never a bare date for a week; an hour (a datetime) is an hour."""
    if isinstance(day, dt.datetime):
        return "hour"
    own = kpi.grain if kpi is not None and not is_custom_grain(kpi.grain) else None  # a calendar's: told by the run
    if own and periods.start(own, day, year_start) == day:
        return own
    fits = (g for g in ("month", "week", "quarter", "year") if periods.start(g, day, year_start) == day)
    return next(fits, None)


def period_label(day: dt.date, grain: str | None, through: dt.date | None = None, year_start: int = 1) -> str:
    """The period containing ``day`` as people name it: ``2025-12``, ``2025-Q4``, ``2025-W49``;
    a whole range (``--grain all``, ``through`` its last day): ``2025-07-01..2025-09-30``. In a
    fiscal year (``year_start`` > 1), its years and quarters: ``FY2026``, ``FY2026-Q1``; an hour
    ``2025-01-01 13:00``."""
    if through is not None:
        return f"{day.isoformat()}..{through.isoformat()}"
    if isinstance(day, dt.datetime):
        return f"{day:%Y-%m-%d %H:%M}"
    if is_custom_grain(grain) and grain != WHOLE:  # a calendar table's label: data, escaped as data
        return escape.line(calendars.label(str(grain), day))
    fiscal = "FY" if year_start > 1 else ""
    if grain == "year":
        return f"{fiscal}{periods.fiscal_year(day, year_start)}"
    if grain == "quarter":
        return f"{fiscal}{periods.fiscal_year(day, year_start)}-Q{periods.quarter(day, year_start)}"
    if grain == "month":
        return f"{day.year}-{day.month:02d}"
    if grain == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return day.isoformat()


def dim_text(value: Any) -> str:
    """A breakdown value as text; a NULL group is shown as ``NULL`` (it is a group of its own)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return escape.line(value)


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _series(rows: Sequence[Row], dims: Sequence[str]) -> list[list[Row]]:
    """Rows grouped by KPI and breakdown (first-seen order), each group sorted by period."""
    groups: dict[tuple[Any, ...], list[Row]] = {}
    for row in rows:
        # (is NULL, text): the NULL group and a value spelled "NULL" stay two series.
        key = (row.kpi, *((row.dims.get(d) is None, dim_text(row.dims.get(d))) for d in dims))
        groups.setdefault(key, []).append(row)
    return [sorted(group, key=lambda r: r.period) for group in groups.values()]


def _reaches(kpi: Kpi | None, upto: Sequence[Row], grain: str | None, lang: str, year_start: int) -> str:
    """When the bound is reached at the recent pace; empty when met, unjudged or unknowable."""
    last = upto[-1]
    if kpi is None or kpi.target is None or grain is None or last.status in ("achieved", "no_target", "no_data"):
        return ""
    points = [(targets.period_end(r.period, grain, year_start), r.value) for r in upto]
    j = last.judgement
    # towards the bound in force for this row (a size's bound scaled to its period)
    in_force = j is not None and (j.min, j.max) != (None, None)
    target = Target(Bound(j.min, j.max), by=kpi.target.by) if j is not None and in_force else kpi.target
    pace = forecast(points, target, dims=last.dims)
    if pace.slope_per_day is None:  # fewer than two values: no pace to speak of
        return ""
    if pace.reaches_on is None:
        return word("never", lang)
    label = period_label(pace.reaches_on, grain, year_start=year_start)
    return f"{label} ({word('late', lang)})" if pace.reaches_by_deadline is False else label


def latest(
    rows: Sequence[Row], kpis: Mapping[str, Kpi], *, by: Sequence[str] = (), lang: str = "en", year_start: int = 1
) -> View:
    """One line per KPI and breakdown value at its latest complete period (see the module docstring).

    Lines follow the first appearance of each series in ``rows``; columns other than label,
    value and status are left out when no line has anything to show in them. When every line
    is at the same period, that period and the previous one title the value columns and the
    period column is left out (one less column to fit in :data:`WIDTH`). ``year_start``: the
    month fiscal quarters and years start in (their labels, ``FY2026-Q1``).
    """
    dims = dimension_names(rows, by)
    run_grain = infer_grain([r.period for r in rows])
    lines, periods, previous, names = [], set(), set(), []
    blocks = {name for name, kpi in kpis.items() if kpi.role == "building_block"}
    # building blocks after the KPIs (a stable sort keeps each group's order)
    for series in sorted(_series(rows, dims), key=lambda s: s[0].kpi in blocks):
        judged = [i for i, r in enumerate(series) if r.complete and not _missing(r.value) and r.status != "no_data"]
        at = judged[-1] if judged else len(series) - 1
        row, before = series[at], (series[at - 1] if at > 0 else None)
        kpi = kpis.get(row.kpi)
        fmt = kpi.format if kpi is not None else Format()
        grain = (
            calendars.grain_of(row.kpi)  # a calendar table's periods are not evenly spaced: told by the run
            or infer_grain([r.period for r in series])
            or run_grain
            or fitting_grain(row.period, kpi, year_start)
        )
        j = row.judgement
        # the bound in force for this row (scaled to its period, or none for one part of a size)
        bound = (j.min, j.max) if j is not None else (None, None)
        periods.add(period_label(row.period, grain, row.through, year_start))
        if before is not None:
            previous.add(period_label(before.period, grain, year_start=year_start))
        cells = (
            escape.line(kpi.title(lang)) if kpi is not None else row.kpi,
            *(dim_text(row.dims.get(d)) for d in dims),
            period_label(row.period, grain, row.through, year_start),
            format_value(row.value, fmt, lang),
            format_value(before.value, fmt, lang) if before is not None else "",
            format_change(row.value, before.value, fmt, lang, scale=scale_of(r.value for r in series))
            if before is not None
            else "",
            format_bound(*bound, fmt, lang),
            format_value(j.expected, fmt, lang) if j is not None and j.expected is not None else "",
            f"{STATUS_SYMBOLS[row.status]} {word(row.status, lang)}",
            _reaches(kpi, series[: at + 1], grain, lang, year_start),
        )
        lines.append((cells, row.status))
        names.append(row.kpi)
    # When every line is at the same period (the usual case), the period names the value
    # columns, as in a finance table ("2026-03  2026-02  change"), instead of taking a column.
    shared = len(periods) == 1 and len(previous) <= 1
    titles = {key: word(key, lang) for key in ("value", "previous", "change", "target", "expected")}
    if shared:
        titles["value"] = next(iter(periods))
        titles["previous"] = next(iter(previous), titles["previous"])
    columns = [
        Column("kpi", word("kpi", lang), shrink_to=12, comfort=16),
        *(Column(f"dim:{d}", d, shrink_to=6) for d in dims),
        Column("period", word("period", lang)),
        *(Column(key, title, right=True, optional=key in ("previous", "expected")) for key, title in titles.items()),
        Column("status", word("status", lang)),
        Column("reaches", word("reaches", lang), optional=True),
    ]
    blank_ok = {"previous", "change", "target", "expected", "reaches"}  # left out when all blank
    keep = [
        i
        for i, c in enumerate(columns)
        if not (c.key == "period" and shared) and (c.key not in blank_ok or any(cells[i] for cells, _ in lines))
    ]
    return View(
        tuple(columns[i] for i in keep),
        tuple((tuple(cells[i] for i in keep), status) for cells, status in lines),
        tuple(names),
        sum(1 for name in names if name in blocks),
    )


def _fit(
    columns: Sequence[Column], lines: Sequence[Sequence[str]], keep: list[int], width: int, comfort: bool = False
) -> dict[int, int]:
    """Column widths (by index in ``columns``) after cutting the widest cuttable ones, one by one,
    down to their ``shrink_to`` (or, with ``comfort``, their ``comfort`` width)."""

    def floor(c: Column) -> int:
        return max(c.comfort or 0, c.shrink_to or 0) if comfort else c.shrink_to or 0

    widths = {i: max([len(columns[i].title), *(len(line[i]) for line in lines)]) for i in keep}
    excess = sum(widths.values()) + GAP * (len(keep) - 1) - width
    while excess > 0:
        cuttable = [i for i in keep if columns[i].shrink_to is not None and widths[i] > floor(columns[i])]
        if not cuttable:
            break
        widths[max(cuttable, key=lambda i: (widths[i], -i))] -= 1
        excess -= 1
    return widths


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)].rstrip() + "…"


def _cut_middle(text: str, width: int) -> str:
    """A name cut in its middle: names of one family differ at their end (``transport_cost``,
    ``transport_cost_to_sales``), which a cut at the end would hide."""
    if len(text) <= width or width < 3:
        return _cut(text, width)
    head = (width - 1) // 2
    return text[:head] + "…" + text[len(text) - (width - 1 - head) :]


def _distinct(
    columns: Sequence[Column],
    lines: Sequence[Sequence[str]],
    keep: list[int],
    widths: dict[int, int],
    names: Sequence[str],
) -> tuple[list[Sequence[str]], set[int]] | None:
    """``lines`` with the first column's cells that cut to the same text as another line's
    different text replaced by ``names`` (unique), and the indexes of those lines (their
    names are cut in the middle); None when no two cut cells collide."""
    if not names or 0 not in keep:
        return None
    cut: dict[str, set[str]] = {}
    for line in lines:
        cut.setdefault(_cut(line[0], widths[0]), set()).add(line[0])
    clashing = {text for text, full in cut.items() if len(full) > 1}
    if not clashing:
        return None
    swapped = {n for n, line in enumerate(lines) if _cut(line[0], widths[0]) in clashing}
    return [
        (name, *line[1:]) if n in swapped else line for n, (line, name) in enumerate(zip(lines, names, strict=True))
    ], swapped


def align(
    columns: Sequence[Column],
    lines: Sequence[Sequence[str]],
    *,
    width: int | None = None,
    style: Callable[[int, int, str], str] | None = None,
    names: Sequence[str] = (),
) -> str:
    """Columns padded to a common width, separated by two spaces, header first, ``\\n``-ended.

    While the lines are wider than ``width``, the widest column that may shrink loses a
    character (only columns with ``shrink_to`` are ever cut: labels, never numbers); if that is
    not enough, optional columns are left out, the rightmost first; if even that is not
    enough, the lines are wider than ``width``. ``style`` decorates a cut cell's text (line
    index, -1 for the header; column index in ``columns``) with ANSI codes after the widths are
    computed, so colour never shifts the alignment. ``width`` None is :func:`terminal_width`.
    With ``names`` (one per line), two first-column cells that would be cut to the same text
    while they differ show their line's name instead, cut in its middle if it must be cut: two
    KPIs never read alike.
    """
    width = terminal_width() if width is None else width
    keep = list(range(len(columns)))
    named: set[int] = set()  # lines showing their name: cut in the middle
    for _ in range(2):  # a second pass fits the names swapped in for clashing labels
        keep = list(range(len(columns)))
        while True:  # cut to a comfortable width, then leave out optional columns, rightmost first
            widths = _fit(columns, lines, keep, width, comfort=True)
            optional = [i for i in keep if columns[i].optional]
            if sum(widths.values()) + GAP * (len(keep) - 1) <= width or not optional:
                break
            keep.remove(optional[-1])
        widths = _fit(columns, lines, keep, width)  # then, only if still needed, to the minimum
        swapped = _distinct(columns, lines, keep, widths, names)
        if swapped is None:
            break
        (lines, named), names = swapped, ()

    def render(n: int, cells: Sequence[str]) -> str:
        parts = []
        for i in keep:
            text = (_cut_middle if i == 0 and n in named else _cut)(cells[i], widths[i])
            pad = " " * (widths[i] - len(text))
            shown = style(n, i, text) if style and text else text
            parts.append(pad + shown if columns[i].right else shown + pad)
        return (" " * GAP).join(parts).rstrip()

    out = [render(-1, [c.title.upper() for c in columns])]
    out += [render(n, line) for n, line in enumerate(lines)]
    return "\n".join(out) + "\n"


def use_color(color: bool | None) -> bool:
    """Whether to colour: ``color`` when given, else only on a terminal and without ``NO_COLOR``.

    An explicit ``True`` wins over ``NO_COLOR``, as no-color.org asks of a per-invocation choice.
    """
    if color is not None:
        return color
    return not os.environ.get("NO_COLOR") and sys.stdout.isatty()


def render(
    rows: Sequence[Row],
    kpis: Mapping[str, Kpi],
    *,
    by: Sequence[str] = (),
    lang: str = "en",
    color: bool | None = None,
    year_start: int = 1,
) -> str:
    """The terminal table of :func:`latest`, coloured when :func:`use_color` says so."""
    view = latest(rows, kpis, by=by, lang=lang, year_start=year_start)
    style = None
    if use_color(color):
        status_at = [c.key for c in view.columns].index("status")

        def style(n: int, i: int, text: str) -> str:
            if n < 0:
                return f"\x1b[1m{text}\x1b[0m"
            code = COLORS.get(view.lines[n][1]) if i == status_at else None
            return f"\x1b[{code}m{text}\x1b[0m" if code else text

    text = align(view.columns, [cells for cells, _ in view.lines], style=style, names=view.names)
    notes = {r.kpi: r.judgement.note for r in rows if r.judgement is not None and r.judgement.note}
    if notes:  # why a KPI with a target was not judged (--grain all over a range that is not its period)
        label = {name: escape.line(kpis[name].title(lang)) if name in kpis else name for name in notes}
        text += "\n".join(f"· {label[name]}: not judged, {escape.line(note)}" for name, note in notes.items()) + "\n"
    if not view.blocks or view.blocks == len(view.lines):
        return text
    out = text.split("\n")  # header, lines, "": the building blocks under a title of their own
    cut = len(out) - 1 - view.blocks
    return "\n".join([*out[:cut], "", word("building_blocks", lang).upper(), *out[cut:]])


def _raw(value: float | None) -> str:
    return "—" if value is None or _missing(value) else f"{float(value):.10g}"


def breach_line(row: Row) -> str:
    """One line for stderr naming a breach: KPI, period, breakdown, value, expected, status.

    Values are raw (``0.912``, not ``91.2%``): the line names the row to look at, the table
    beside it shows it for people.

    >>> from kpictl.model import Judgement
    >>> judged = Judgement("off_track", 0.95, expected=0.935)
    >>> breach_line(Row("otd", dt.date(2025, 12, 1), {"region": "EU"}, 0.912, judged))
    'otd 2025-12-01 (region=EU): value 0.912, expected 0.935, off_track'
    """
    where = ", ".join(f"{name}={dim_text(value)}" for name, value in row.dims.items())
    expected = row.judgement.expected if row.judgement is not None else None
    return (
        f"{row.kpi} {row.period.isoformat()}{f' ({where})' if where else ''}: "
        f"value {_raw(row.value)}, expected {_raw(expected)}, {row.status}"
    )


BREACH_LINES_SHOWN = 20


def breach_lines(rows: Sequence[Row], shown: int = BREACH_LINES_SHOWN) -> list[str]:
    """The stderr lines of a failed gate: the first ``shown`` breaches, then how many more.

    A gate over hundreds of series must not bury the CI log; the count keeps it honest.
    """
    lines = [breach_line(row) for row in rows[:shown]]
    if len(rows) > shown:
        lines.append(f"… and {len(rows) - shown} more breaches ({len(rows)} in all)")
    return lines
