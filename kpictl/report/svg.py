"""Small SVG charts for the HTML report: pure functions from numbers to SVG text.

Why hand-written SVG and not a chart library: the report must open offline, from ``file://``
and from a CI artifact, with no script (a script-based library such as Vega or Chart.js would
have to be inlined, 200 kB–1 MB, and would still draw nothing when scripts are blocked or the
page is printed from a mail client), and the charts needed are two: a trend line and
horizontal bars. A few dozen lines of SVG draw them, weigh ~1 kB each, print sharply and
scale with the page.

The functions take values that are already chosen (points, bounds, the trajectory) and
callbacks that write numbers and dates for people, so that this module knows nothing of KPIs,
formats or languages. Colours and dash patterns come from the page's CSS classes (``v`` value,
``t`` target, ``b`` band, ``j`` trajectory, ``g`` grid, and one class per status), so each
chart carries no style of its own. Every text that reaches the SVG is escaped here: callers
may pass labels from pull requests or values from the data. Coordinates are rounded to one
decimal, which keeps a chart small without a visible difference.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

#: A point of a line chart: a day and a value (None: a gap in the line).
Point = tuple[dt.date, float | None]


@dataclass(frozen=True)
class Trend:
    """What a trend chart shows.

    ``low``/``high`` are the target's bound (both: a band, one: a line); ``trajectory`` is the
    path the target expects, from the baseline to the bound at the deadline (empty: none);
    ``status`` is the class of the last point's dot; ``marks`` are days to label on the x
    axis besides the first and last points (the deadline); ``partial`` are the days of points
    whose rolling window is not full yet, drawn hollow so that a ramp-up does not read as a rise.
    """

    points: tuple[Point, ...]
    low: float | None = None
    high: float | None = None
    trajectory: tuple[tuple[dt.date, float], ...] = ()
    status: str = "no_target"
    title: str = ""
    marks: tuple[dt.date, ...] = field(default=())
    partial: tuple[dt.date, ...] = field(default=())  # points whose rolling window is not full: hollow


@dataclass(frozen=True)
class Bar:
    """One bar: a label, a value (None: no bar), the value as people read it, and a status class."""

    label: str
    value: float | None
    text: str
    status: str = "no_target"


def _n(x: float) -> str:
    """A coordinate with one decimal and no trailing zero: 12.0 → "12", 3.25 → "3.2"."""
    text = f"{x:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _ticks(low: float, high: float, count: int = 4) -> tuple[float, float, list[float]]:
    """A "nice" axis around [low, high]: steps of 1, 2 or 5 × 10ⁿ, ends on a step.

    >>> _ticks(0.81, 0.97)
    (0.8, 1.0, [0.8, 0.85, 0.9, 0.95, 1.0])
    """
    if high - low < 1e-12:
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw * (1 - 1e-9))
    # Whole multiples of the step, so ticks do not drift (0.1 + 0.2 …) and round cleanly.
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    ticks = [round(k * step, 12) for k in range(first, last + 1)]
    return ticks[0], ticks[-1], ticks


def trend(
    chart: Trend,
    value_label: Callable[[float, float], str],
    day_label: Callable[[dt.date], str],
    *,
    width: int = 320,
    height: int = 130,
) -> str:
    """A line chart of ``chart.points`` with the target and trajectory behind it.

    ``value_label(tick, step)`` writes a y tick (in the KPI's format, with the decimals the
    step needs), ``day_label`` an x label (the period's name). With no value at all the chart
    still draws its target, so the card keeps its shape.
    """
    left, right, top, bottom = 70, 10, 8, 20  # left: the widest tick label allowed
    plot_w, plot_h = width - left - right, height - top - bottom
    days = [d for d, _ in chart.points] + [d for d, _ in chart.trajectory]
    numbers = [v for _, v in chart.points if v is not None and math.isfinite(v)]
    numbers += [v for _, v in chart.trajectory] + [b for b in (chart.low, chart.high) if b is not None]
    parts = [
        f'<svg class="trend" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img"'
        f' aria-label="{escape(chart.title)}"><title>{escape(chart.title)}</title>'
    ]
    if not days or not numbers:
        parts.append("</svg>")
        return "".join(parts)
    y_low, y_high, ticks = _ticks(min(numbers), max(numbers))
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    tick_texts = [escape(value_label(tick, step)) for tick in ticks]
    left = min(left, 10 + round(5 * max(len(text) for text in tick_texts)))  # room for the longest tick only
    plot_w = width - left - right
    d0, d1 = min(days).toordinal(), max(days).toordinal()

    def x(day: dt.date) -> float:
        return left + (plot_w / 2 if d1 == d0 else (day.toordinal() - d0) / (d1 - d0) * plot_w)

    def y(value: float) -> float:
        return top + (y_high - value) / (y_high - y_low) * plot_h

    for tick, text in zip(ticks, tick_texts, strict=True):
        level = _n(y(tick))
        parts.append(
            f'<line class="g" x1="{left}" x2="{width - right}" y1="{level}" y2="{level}"/>'
            f'<text x="{left - 4}" y="{_n(y(tick) + 3)}" text-anchor="end">{text}</text>'
        )
    if chart.low is not None and chart.high is not None:
        parts.append(
            f'<rect class="b" x="{left}" y="{_n(y(chart.high))}" width="{plot_w}"'
            f' height="{_n(y(chart.low) - y(chart.high))}"/>'
        )
    for bound in (chart.low, chart.high):
        if bound is not None:
            parts.append(f'<line class="t" x1="{left}" x2="{width - right}" y1="{_n(y(bound))}" y2="{_n(y(bound))}"/>')
    if len(chart.trajectory) >= 2:
        path = " ".join(f"{_n(x(d))},{_n(y(v))}" for d, v in chart.trajectory)
        parts.append(f'<polyline class="j" points="{path}"/>')
    parts.append(_line(chart.points, x, y, set(chart.partial)))
    shown = [(d, v) for d, v in chart.points if v is not None and math.isfinite(v)]
    if shown:
        d, v = shown[-1]
        parts.append(f'<circle class="{escape(chart.status)}" cx="{_n(x(d))}" cy="{_n(y(v))}" r="3.5"/>')
    # Which days get a label, most wanted first: the first point, the marks (the deadline), the last point.
    wanted = [d for d, _ in chart.points[:1]] + [m for m in chart.marks if min(days) <= m <= max(days)]
    wanted += [d for d, _ in chart.points[-1:]]
    parts.extend(_x_labels(list(dict.fromkeys(wanted)), x, day_label, height - 2, width))
    parts.append("</svg>")
    return "".join(parts)


def _line(
    points: Sequence[Point], x: Callable[[dt.date], float], y: Callable[[float], float], partial: set[dt.date]
) -> str:
    """The value line as one path; a None value lifts the pen, so gaps show as gaps.

    Up to 36 points each also get a dot: a value alone between two gaps is then still seen.
    A point of ``partial`` always gets a hollow dot (its window is not full).
    """
    commands, dots, hollow, pen_down = [], [], [], False
    for day, value in points:
        if value is None or not math.isfinite(value):
            pen_down = False
            continue
        commands.append(f"{'L' if pen_down else 'M'}{_n(x(day))},{_n(y(value))}")
        if day in partial:
            hollow.append(f'<circle class="p h" cx="{_n(x(day))}" cy="{_n(y(value))}" r="2.6"/>')
        else:
            dots.append(f'<circle class="p" cx="{_n(x(day))}" cy="{_n(y(value))}" r="1.8"/>')
        pen_down = True
    line = f'<path class="v" d="{"".join(commands)}"/>' if commands else ""
    return line + ("".join(dots) if len(dots) + len(hollow) <= 36 else "") + "".join(hollow)


def _x_labels(
    days: Sequence[dt.date],
    x: Callable[[dt.date], float],
    day_label: Callable[[dt.date], str],
    baseline: float,
    width: int,
) -> list[str]:
    """Labels under the plot, in priority order: one that would overlap an earlier one is dropped,
    and each is anchored so that it does not spill out of the chart."""
    out: list[str] = []
    taken: list[tuple[float, float]] = []
    for day in days:
        text, pos = day_label(day), x(day)
        size = 4.8 * len(text)  # about a 9px sans-serif glyph: enough to avoid overlaps
        anchor = "start" if pos - size / 2 < 0 else "end" if pos + size / 2 > width else "middle"
        start = pos if anchor == "start" else pos - size if anchor == "end" else pos - size / 2
        if any(start < right + 6 and start + size > left - 6 for left, right in taken):
            continue
        taken.append((start, start + size))
        out.append(f'<text x="{_n(pos)}" y="{_n(baseline)}" text-anchor="{anchor}">{escape(text)}</text>')
    return out


def bars(items: Sequence[Bar], *, width: int = 320, row: int = 16, label_width: int = 110, text_width: int = 70) -> str:
    """Horizontal bars, one per item in the order given, from a zero line (negative values go left).

    Long labels are cut to fit, with the full label kept in a ``<title>`` tooltip.
    """
    height = row * len(items) + 4
    parts = [f'<svg class="bars" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">']
    values = [i.value for i in items if i.value is not None and math.isfinite(i.value)]
    low, high = min([0.0, *values]), max([0.0, *values])
    span = (high - low) or 1.0
    area = width - label_width - text_width
    zero = label_width + (0 - low) / span * area
    for k, item in enumerate(items):
        top = 2 + k * row
        label = item.label if len(item.label) <= 20 else item.label[:19] + "…"
        parts.append(
            f"<g><title>{escape(item.label)}: {escape(item.text)}</title>"
            f'<text x="{label_width - 4}" y="{top + row - 5}" text-anchor="end">{escape(label)}</text>'
        )
        if item.value is not None and math.isfinite(item.value):
            length = abs(item.value) / span * area
            start = zero if item.value >= 0 else zero - length
            parts.append(
                f'<rect class="{escape(item.status)}" x="{_n(start)}" y="{top + 2}"'
                f' width="{_n(max(length, 0.5))}" height="{row - 5}"/>'
            )
        parts.append(f'<text x="{width - text_width + 4}" y="{top + row - 5}">{escape(item.text)}</text></g>')
    parts.append(f'<line class="g" x1="{_n(zero)}" x2="{_n(zero)}" y1="0" y2="{height}"/></svg>')
    return "".join(parts)
