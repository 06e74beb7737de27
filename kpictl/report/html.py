"""The HTML dashboard ("tableau de bord"): judged rows, KPIs and their SMART score → one page.

Three steps, so that the page is testable without data and the data is read once:

- ``workflows.dashboard.collect`` runs the project (the totals once, then one breakdown run per
  dimension, not per KPI) and compiles each KPI's SQL → :class:`Inputs`;
- :func:`build` turns ``Inputs`` into a :class:`Page` of ready-to-print strings and SVG
  charts: a pure function, no DuckDB, no clock (the generation time is an input);
- :func:`render` fills ``templates/report.html.j2`` with Jinja (autoescape on, strict
  undefined): every label, description, owner, formula and dimension value is escaped, the
  charts are the only markup passed through, and ``svg`` escapes what they contain.

The file is self-contained: inline CSS and SVG, no script, no font, no image, no URL, so it
opens from ``file://``, from a CI artifact or a mail, and prints on A4. An empty range is not
an error: the page is written and says that no source has data in the range (a scheduled
report on a new period should still produce a readable artifact).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from markupsafe import Markup

from kpictl.judge import lint
from kpictl.judge.targets import period_end
from kpictl.model import STATUS_SYMBOLS, STATUSES, TRAJECTORY_STATUSES, Format, Kpi, Row
from kpictl.report import i18n, svg
from kpictl.report.numbers import format_bound, format_change, format_value, scale_of
from kpictl.table import Table

_SHOWN = 12  # breakdown rows in the table and bars: enough to compare, few enough to read


@dataclass(frozen=True)
class Inputs:
    """Everything a report is made of, as ``workflows.dashboard.collect`` gathers it.

    ``rows`` are the judged totals (no breakdown) of the shown KPIs and of the source KPIs
    they are computed from; ``sources`` maps each of those source KPIs to its source (their
    values tell which periods of a source have data, see :func:`spans`) and ``reads`` each shown
    KPI to the sources it reads (default: its own ``source``); ``breakdowns`` maps a KPI to the
    dimension it is broken down by and the judged rows of that run (a KPI without one is
    absent); ``by`` is the dimension asked for, if any.
    """

    project: str
    kpis: tuple[Kpi, ...]
    rows: tuple[Row, ...]
    grain: str
    as_of: dt.date
    generated_at: dt.datetime
    breakdowns: dict[str, tuple[str, Table | tuple[Row, ...]]] = field(default_factory=dict)
    sql: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    reads: dict[str, tuple[str, ...]] = field(default_factory=dict)
    by: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    periods: dict[str, str] = field(default_factory=dict)  # the period each bound is meant for
    year_start: int = 1  # the month fiscal quarters and years start in (their ends and labels)


@dataclass(frozen=True)
class Badge:
    status: str
    text: str
    symbol: str


@dataclass(frozen=True)
class Line:
    """One row of a breakdown table."""

    label: str
    value: str
    badge: Badge


@dataclass(frozen=True)
class Letter:
    """One SMART letter: ``level`` pass/warn/fail, its word and symbol, and lint's reason."""

    letter: str
    name: str
    level: str
    level_text: str
    symbol: str
    reason: str


@dataclass(frozen=True)
class Card:
    """One KPI as the page shows it: the card at the top and its detail section."""

    name: str
    label: str
    badge: Badge
    value: str
    period: str
    change: str
    change_class: str  # good | bad | flat: coloured, but the sign is in the text too
    target: str
    expected: str
    chart: Markup
    window_note: str  # said when some points are hollow: their rolling window is not full
    dimension: str
    breakdown_title: str
    breakdown_note: str
    breakdown: tuple[Line, ...]
    more: str
    bars: Markup
    smart: tuple[Letter, ...]
    owner: str
    description: str
    source: str
    formula: str
    filters: tuple[str, ...]
    sql: str


@dataclass(frozen=True)
class Page:
    """The whole report, every string final: the template only lays it out."""

    lang: str
    t: dict[str, str]
    project: str
    period: str
    generated: str
    judged_at: str
    freshness: tuple[tuple[str, str], ...]
    footer: str
    counts: tuple[tuple[Badge, int], ...] = ()
    attention: tuple[Card, ...] = ()
    domains: tuple[tuple[str, tuple[Card, ...]], ...] = ()
    empty: str = ""
    cards: int = 0


def _missing(value: float | None) -> bool:
    return value is None or not math.isfinite(value)


def _badge(status: str, t: dict[str, str]) -> Badge:
    return Badge(status, t[f"status_{status}"], STATUS_SYMBOLS[status])


def _axis_label(fmt: Format, lang: str) -> Any:
    """A y-tick writer: the KPI's unit, with just the decimals the tick step needs."""
    scale = 100.0 if fmt.type == "percent" else 1.0

    def label(tick: float, step: float) -> str:
        decimals = max(0, -math.floor(math.log10(step * scale) + 1e-9))
        kind = "number" if fmt.type == "integer" else fmt.type
        return format_value(tick, Format(kind, decimals, fmt.currency), lang)

    return label


def _trajectory(
    kpi: Kpi, series: Sequence[tuple[dt.date, float | None]], left: dt.date, right: dt.date
) -> tuple[tuple[dt.date, float], ...]:
    """The target's straight line from the baseline to the bound at the deadline, cut to [left, right].

    The baseline is the declared one, else the first value (as ``targets.judge_rows`` does); no
    line when there is no deadline, or the baseline already meets the bound.
    """
    target = kpi.target
    if target is None or target.by is None:
        return ()
    if target.baseline is not None:
        base_day, base = target.baseline.at, float(target.baseline.value)
    else:
        known = [(d, v) for d, v in series if v is not None and not _missing(v)]
        if not known:
            return ()
        base_day, base = known[0][0], float(known[0][1] or 0.0)
    low, high = target.bound.min, target.bound.max
    edge = low if low is not None and base < low else high if high is not None and base > high else None
    if edge is None or target.by <= base_day:
        return ()
    days = (target.by - base_day).days

    def at(day: dt.date) -> float:
        return base + (edge - base) * (day - base_day).days / days

    start, stop = max(base_day, left), min(target.by, right)
    return ((start, at(start)), (stop, at(stop))) if start < stop else ()


def _target_text(
    kpi: Kpi,
    t: dict[str, str],
    lang: str,
    period: str | None = None,
    row: Row | None = None,
    grain: str = "month",
    year_start: int = 1,
) -> str:
    """The bound with the period it is meant for and its deadline ("≤ €2,600,000 per year by
    31 Dec 2025"), then the bound ``row`` was judged against when it differs (a size's bound
    scaled to the row's period: "≤ €220,822 for Dec 2025")."""
    target = kpi.target
    if target is None or (target.bound.min is None and target.bound.max is None):
        return t["target_none"]
    text = format_bound(target.bound.min, target.bound.max, kpi.format, lang)
    if period:
        text += " " + i18n.period_words(period, lang)
    if target.by is not None:
        text += " " + t["deadline"].format(date=i18n.format_date(target.by, lang))
    j = row.judgement if row is not None else None
    if row is not None and j is not None and (j.min, j.max) != (target.bound.min, target.bound.max):
        used = format_bound(j.min, j.max, kpi.format, lang)
        if used:
            text += " · " + t["target_used"].format(
                bound=used, period=i18n.format_period(row.period, grain, lang, year_start)
            )
    return text


def _change_class(kpi: Kpi, now: float | None, before: float | None) -> str:
    """good when the value moved towards the bound's side, bad when away; flat otherwise."""
    if now is None or before is None or _missing(now) or _missing(before) or now == before or kpi.target is None:
        return "flat"
    low, high = kpi.target.bound.min, kpi.target.bound.max
    if (low is None) == (high is None):  # a band, or no bound: no better direction
        return "flat"
    return "good" if (now > before) == (low is not None) else "bad"


def _complete(rows: Sequence[Row], grain: str, as_of: dt.date, year_start: int = 1) -> list[Row]:
    """The complete rows of periods that ended by ``as_of``, in period order: a running period is not shown."""
    ended = (r for r in rows if r.complete and period_end(r.period, grain, year_start) <= as_of)
    return sorted(ended, key=lambda r: r.period)


def _breakdown(
    kpi: Kpi, inputs: Inputs, period: dt.date | None, t: dict[str, str], lang: str
) -> tuple[str, str, str, tuple[Line, ...], str, Markup]:
    """The dimension, the section's title, a note when there is no breakdown, the table's lines,
    "… and N more", and the bars: all for ``period``, the card's latest complete one."""
    if kpi.name not in inputs.breakdowns or period is None:
        note = t["breakdown_missing"].format(dim=inputs.by) if inputs.by else t["breakdown_none"]
        return "", "", note, (), "", Markup("")
    dim, rows = inputs.breakdowns[kpi.name]
    title = t["breakdown"].format(dim=dim, period=i18n.format_period(period, inputs.grain, lang, inputs.year_start))
    ranked, judged = _ranked(kpi, _of_period(rows, kpi.name, period))
    table = bars = _ends(ranked, _SHOWN)

    def line(r: Row) -> Line:
        label = "NULL" if not r.dims or next(iter(r.dims.values())) is None else str(next(iter(r.dims.values())))
        return Line(label, format_value(r.value, kpi.format, lang), _badge(r.status, t))

    more = ""
    if len(ranked) > len(table):
        worst, best = len(table) - _kept_best(len(table)), _kept_best(len(table))
        key = "breakdown_ends" if judged else "breakdown_ends_size"
        more = t[key].format(shown=len(table), total=len(ranked), worst=worst, best=best)
    chart = svg.bars([svg.Bar(line(r).label, r.value, line(r).value, r.status) for r in bars])
    return dim, title, "", tuple(line(r) for r in table), more, Markup(chart)


def _of_period(rows: Table | Sequence[Row], name: str, period: dt.date) -> list[Row]:
    """The rows of KPI ``name`` in ``period``: of a run's table, only those are built (a breakdown
    by customer has a million rows, a period of one KPI a few thousand)."""
    if not isinstance(rows, Table):
        return [r for r in rows if r.kpi == name and r.period == period]
    if name not in rows.names:
        return []
    at = period.toordinal() * 24 + (period.hour if isinstance(period, dt.datetime) else 0)  # Table.moments
    return rows.take((rows.kpi == rows.names.index(name)) & (rows.moments() == at)).rows()


def _ranked(kpi: Kpi, rows: list[Row]) -> tuple[list[Row], bool]:
    """The rows of a breakdown, furthest from the target first, and whether a target ranked them.

    A row judged against a bound is ranked by its gap to the expected value (worst first);
    otherwise by the bound's direction (under a min, the smallest first; under a max, the
    largest); without a bound, the largest first. Missing values come last.
    """
    present = [r for r in rows if not _missing(r.value)]
    missing = [r for r in rows if _missing(r.value)]
    if present and all(r.judgement is not None and r.judgement.gap is not None for r in present):
        return sorted(
            present, key=lambda r: r.judgement.gap if r.judgement and r.judgement.gap else 0.0
        ) + missing, True
    bound = kpi.target.bound if kpi.target else None
    smallest_first = bound is not None and bound.min is not None and bound.max is None
    ordered = sorted(present, key=lambda r: float(r.value or 0.0) if smallest_first else -float(r.value or 0.0))
    return ordered + missing, bound is not None


def _kept_best(room: int) -> int:
    """Of ``room`` places, how many go to the best rows when not all fit: a quarter, one at least."""
    return max(1, room // 4)


def _ends(ranked: list[Row], room: int) -> list[Row]:
    """The rows shown in ``room`` places: all when they fit, else the worst and, last, the best."""
    present = [r for r in ranked if not _missing(r.value)]
    if len(ranked) <= room:
        return ranked
    if len(present) <= room:
        return ranked[:room]
    best = _kept_best(room)
    return present[: room - best] + present[len(present) - best :]


def _card(kpi: Kpi, series: list[Row], inputs: Inputs, t: dict[str, str], lang: str) -> Card:
    grain, year_start = inputs.grain, inputs.year_start
    latest = series[-1] if series else None
    before = series[-2] if len(series) > 1 else None
    status = latest.status if latest is not None else ("no_data" if kpi.target else "no_target")
    ends = {r.period: period_end(r.period, grain, year_start) for r in series}
    points = tuple((ends[r.period], r.value) for r in series)
    names = {ends[r.period]: i18n.format_period(r.period, grain, lang, year_start) for r in series}
    target = kpi.target
    chart = Markup("")
    if points:
        first, last = points[0][0], points[-1][0]
        right = max(last, min(target.by, last + (last - first))) if target and target.by else last
        chart = Markup(
            svg.trend(
                svg.Trend(
                    points,
                    target.bound.min if target else None,
                    target.bound.max if target else None,
                    _trajectory(kpi, points, first, right),
                    status,
                    kpi.title(lang),
                    (right,) if right != last else (),
                    tuple(ends[r.period] for r in series if r.partial_window),
                ),
                _axis_label(kpi.format, lang),
                lambda d: names.get(d) or i18n.format_date(d, lang),
            )
        )
    judgement = latest.judgement if latest is not None else None
    expected = ""
    if judgement is not None and judgement.expected is not None and status in TRAJECTORY_STATUSES:
        expected = t["expected"].format(value=format_value(judgement.expected, kpi.format, lang))
    now, prev = (latest.value if latest else None), (before.value if before else None)
    dim, title, note, lines, more, bars = _breakdown(kpi, inputs, latest.period if latest else None, t, lang)
    observed = [(ends[r.period], r.value) for r in series]
    letters = lint.score(kpi, observed).letters
    return Card(
        name=kpi.name,
        label=kpi.title(lang),
        badge=_badge(status, t),
        value=format_value(now, kpi.format, lang),
        period=i18n.format_period(latest.period, grain, lang, year_start) if latest else "",
        change=format_change(now, prev, kpi.format, lang, scale=scale_of(r.value for r in series))
        if before is not None
        else t["change_none"],
        change_class=_change_class(kpi, now, prev),
        target=_target_text(kpi, t, lang, inputs.periods.get(kpi.name), latest, grain, year_start),
        expected=expected,
        chart=chart,
        window_note=t["partial_window"] if any(r.partial_window for r in series) else "",
        dimension=dim,
        breakdown_title=title,
        breakdown_note=note,
        breakdown=lines,
        more=more,
        bars=bars,
        smart=tuple(
            Letter(k, t[f"letter_{k}"], s.level, t[f"level_{s.level}"], i18n.LEVEL_SYMBOLS[s.level], s.text(lang))
            for k, s in letters.items()
        ),
        owner=kpi.owner or t["owner_none"],
        description=kpi.description or t["description_none"],
        source=kpi.source or t["derived"],
        formula=kpi.formula,
        filters=kpi.filters,
        sql=inputs.sql.get(kpi.name, ""),
    )


def spans(rows: Sequence[Row], sources: dict[str, str]) -> dict[str, tuple[dt.date, dt.date] | None]:
    """Per source, the first and last period in which one of its KPIs is neither 0 nor NULL.

    ``sources`` maps source KPIs to their source; a source none of whose KPIs has such a value
    maps to None. Periods of the time spine with no rows have counts and sums at 0 and ratios
    NULL, so this is how the rows say when a source had data. It matters because the spine of
    a run spans every source in it: orders may stop in December while contracts, which end in
    the future, stretch the spine to next year, and those months are not "latest values".
    """
    found: dict[str, tuple[dt.date, dt.date] | None] = dict.fromkeys(sorted(set(sources.values())))
    for row in rows:
        source = sources.get(row.kpi)
        if source is None or row.dims or _missing(row.value) or row.value == 0:
            continue
        known = found[source]
        found[source] = (min(known[0], row.period), max(known[1], row.period)) if known else (row.period, row.period)
    return found


def _series(kpi: Kpi, inputs: Inputs, known: dict[str, tuple[dt.date, dt.date] | None]) -> list[Row]:
    """The KPI's total rows to show: complete periods, within the periods its sources have data for."""
    reads = inputs.reads.get(kpi.name) or ((kpi.source,) if kpi.source else ())
    windows = [known[source] for source in reads if source in known]
    if any(w is None for w in windows):
        return []
    first = max((w[0] for w in windows if w), default=dt.date.min)
    last = min((w[1] for w in windows if w), default=dt.date.max)
    rows = [r for r in inputs.rows if r.kpi == kpi.name and not r.dims and first <= r.period <= last]
    return _complete(rows, inputs.grain, inputs.as_of, inputs.year_start)


def build(inputs: Inputs, lang: str = "en") -> Page:
    """The page model of ``inputs`` in ``lang``: every number formatted, every chart drawn."""
    t = i18n.texts(lang)
    known = spans(inputs.rows, inputs.sources)
    series = {kpi.name: _series(kpi, inputs, known) for kpi in inputs.kpis}
    shown = sorted({r.period for rows in series.values() for r in rows if not _missing(r.value)})
    period = " – ".join(
        i18n.format_period(day, inputs.grain, lang, inputs.year_start) for day in shown[:1] + shown[-1:]
    )
    page = Page(
        lang=lang,
        t=t,
        project=inputs.project,
        period=period,
        generated=i18n.format_datetime(inputs.generated_at, lang),
        judged_at=i18n.format_date(inputs.as_of, lang),
        freshness=tuple(
            (
                name,
                i18n.format_date(period_end(span[1], inputs.grain, inputs.year_start), lang)
                if span
                else t["freshness_none"],
            )
            for name, span in known.items()
        ),
        footer=t["footer"].format(project=inputs.project),
    )
    if not shown and not any(known.values()):  # no value at all, and no source with data
        start = i18n.format_date(inputs.start, lang) if inputs.start else ""
        end = i18n.format_date(inputs.end, lang) if inputs.end else ""
        key = "empty" if start and end else "empty_from" if start else "empty_to" if end else "empty_all"
        return replace(page, period=f"{start or '…'} – {end or '…'}", empty=t[key].format(start=start, end=end))
    cards = [_card(kpi, series[kpi.name], inputs, t, lang) for kpi in inputs.kpis]
    domains: dict[str, list[Card]] = {}
    blocks = []  # building blocks: a section of their own, last, outside the status summary
    for kpi, card in zip(inputs.kpis, cards, strict=True):
        if kpi.role == "building_block":
            blocks.append(card)
            continue
        domain = kpi.tags[0] if kpi.tags else Path(kpi.file).stem
        domains.setdefault(domain[:1].upper() + domain[1:], []).append(card)
    if blocks:
        domains[t["building_blocks"]] = blocks
    judged = [c for c in cards if c not in blocks]
    return replace(
        page,
        cards=len(cards),
        counts=tuple((_badge(s, t), sum(c.badge.status == s for c in judged)) for s in STATUSES),
        attention=tuple(c for s in ("off_track", "at_risk") for c in judged if c.badge.status == s),
        domains=tuple((name, tuple(group)) for name, group in domains.items()),
    )


def render(page: Page) -> str:
    """The page as one HTML document (Jinja, autoescape on: user text cannot become markup)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html.j2").render(page=page, t=page.t)
