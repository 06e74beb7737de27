"""SMART score per KPI: which of S, M, A, R, T a definition (and its history) misses, and why.

It reads a :class:`~kpictl.model.Kpi` and, for A and T, the values observed for it; it runs no
SQL and prints nothing (the CLI renders the reports). Each letter is ``pass``, ``warn`` or
``fail`` with a reason that says what to do:

====== ======================================= ======================================= =====================
letter pass                                    warn                                    fail
====== ======================================= ======================================= =====================
S      description, owner and unit (format)    no owner, or no unit                    no description
M      a bound (min, max or between)           bounds only per breakdown (``per``)     no target or no bound
A      the best value observed meets the       a stretch (see below), the recent pace  no bound to assess
       bound, or is near it                    misses the deadline, or no data
R      a baseline and a rationale              one of the two missing                  both missing
T      a deadline ``by`` or a ``period``       the deadline is before the last value   neither
====== ======================================= ======================================= =====================

**Stretch.** The best value ever observed is the one nearest the bound. A bound it does not
meet is a stretch when the distance from it is more than half the observed range (max − min of
all values): the objective asks for more than the KPI has ever moved. With a single distinct
value there is no range, and A says "not checked".

**Trend.** Given dates, A also draws the recent pace (:func:`kpictl.judge.forecast.forecast`, the last
six points) and warns when it reaches the bound only after the deadline, or never.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from kpictl.judge import targets
from kpictl.judge.forecast import forecast
from kpictl.model import Bound, Format, Kpi, Row, Target

LEVELS = ("pass", "warn", "fail")

#: One observation: a value, or better a ``(date, value)`` pair, which also shows the trend.
Observation = float | None | tuple[dt.date, float | None]


@dataclass(frozen=True)
class LetterScore:
    """One SMART letter: ``level`` is pass, warn or fail; ``reason`` says why, and what to do."""

    level: str
    reason: str


@dataclass(frozen=True)
class LintReport:
    """The SMART score of one KPI: ``letters`` maps S, M, A, R, T (in that order) to a score."""

    kpi: str
    letters: dict[str, LetterScore]


def _num(x: float) -> str:
    return f"{x:g}"


def _describe(bound: Bound) -> str:
    if bound.min is not None and bound.max is not None:
        return f"between {_num(bound.min)} and {_num(bound.max)}"
    if bound.min is not None:
        return f"min {_num(bound.min)}"
    return f"max {_num(bound.max)}" if bound.max is not None else "no bound"


def _distance(value: float, bound: Bound) -> float:
    """How far ``value`` is from meeting ``bound`` (0 when it meets it)."""
    below = bound.min - value if bound.min is not None else 0.0
    above = value - bound.max if bound.max is not None else 0.0
    return max(below, above, 0.0)


def _blank(text: str | None) -> bool:
    return not (text and text.strip())


def _worst(problems: list[tuple[str, str]], fine: str) -> LetterScore:
    if not problems:
        return LetterScore("pass", fine)
    level = max((lvl for lvl, _ in problems), key=LEVELS.index)
    return LetterScore(level, "; ".join(reason for _, reason in problems))


def _specific(kpi: Kpi) -> LetterScore:
    problems = []
    if _blank(kpi.description):
        problems.append(("fail", "no description: say what it measures and why it matters"))
    if _blank(kpi.owner):
        problems.append(("warn", "no owner: name who answers for it"))
    if kpi.format == Format():
        problems.append(("warn", "no unit: set format (percent, currency, days, integer…)"))
    return _worst(problems, f"description, owner ({kpi.owner}) and unit ({kpi.format.type})")


def _measurable(target: Target | None) -> LetterScore:
    if target is None:
        return LetterScore("fail", "no target: add min, max or between")
    if target.bound.min is None and target.bound.max is None:
        if target.per:
            return LetterScore("warn", f"bounds only per {', '.join(target.per)}: the total has none")
        return LetterScore("fail", "the target has no bound: add min, max or between")
    return LetterScore("pass", _describe(target.bound))


def _achievable(target: Target | None, values: list[float], points: list[tuple[dt.date, float]]) -> LetterScore:
    if target is None or (target.bound.min is None and target.bound.max is None):
        return LetterScore("fail", "no bound to assess")
    if not values:
        return LetterScore("warn", "not checked: no data")
    bound = target.bound
    best = min(values, key=lambda v: _distance(v, bound))
    short = _distance(best, bound)
    spread = max(values) - min(values)
    problems = []
    if short == 0:
        fine = f"reached: best observed {_num(best)} meets {_describe(bound)}"
    elif spread == 0:
        return LetterScore("warn", f"not checked: one value observed ({_num(best)}), {_describe(bound)} not met")
    elif short > spread / 2:
        problems.append(
            (
                "warn",
                f"stretch: {_describe(bound)} is {_num(short)} beyond the best value observed "
                f"({_num(best)}), more than half the observed range ({_num(spread)})",
            )
        )
        fine = ""
    else:
        fine = f"within reach: best observed {_num(best)}, {_num(short)} short of {_describe(bound)}"
    if short > 0 and target.by is not None and len({d for d, _ in points}) >= 2:
        pace = forecast(points, target)
        if pace.reaches_by_deadline is False:
            when = f"on {pace.reaches_on}" if pace.reaches_on else "never"
            slope = pace.slope_per_day or 0.0
            problems.append(
                (
                    "warn",
                    f"at the recent pace ({slope:+.3g}/day) the bound is reached {when}, "
                    f"not by {target.by}{_required_pace(target)}",
                )
            )
    return _worst(problems, fine)


def _required_pace(target: Target) -> str:
    base, by = target.baseline, target.by
    if base is None or by is None or by <= base.at:
        return ""
    low, high = target.bound.min, target.bound.max
    edge = low if low is not None and base.value < low else high if high is not None and base.value > high else None
    if edge is None:
        return ""
    return f" (from the baseline it needs {(edge - base.value) / (by - base.at).days:+.3g}/day)"


def _realistic(target: Target | None) -> LetterScore:
    if target is None:
        return LetterScore("fail", "no target, so no baseline and no rationale")
    problems = []
    if target.baseline is None:
        problems.append(
            (
                "warn",
                "no baseline: declare where the KPI starts ({value, at}); "
                "until then the first value in the data is used",
            )
        )
    if _blank(target.rationale):
        problems.append(("warn", "no rationale: say why the bound is achievable and realistic"))
    if len(problems) == 2:
        return LetterScore(
            "fail", "no baseline and no rationale: say where the KPI starts and why the bound is realistic"
        )
    base = target.baseline
    return _worst(problems, f"baseline {_num(base.value)} on {base.at}, rationale given" if base else "")


def _time_bound(target: Target | None, points: list[tuple[dt.date, float]]) -> LetterScore:
    if target is None or (target.by is None and target.period is None):
        return LetterScore("fail", "no deadline (by) or period: say when the bound must be met")
    if target.by is None:
        return LetterScore("pass", f"judged each {target.period}")
    last = max((d for d, _ in points), default=None)
    if last is not None and target.by < last:
        return LetterScore("warn", f"the deadline {target.by} has passed (data runs to {last}): set the next one")
    return LetterScore("pass", f"deadline {target.by}")


def _split(observed: Iterable[Observation] | None) -> tuple[list[float], list[tuple[dt.date, float]]]:
    values: list[float] = []
    points: list[tuple[dt.date, float]] = []
    for item in observed or ():
        if isinstance(item, tuple):
            day, value = item
            if value is not None and value == value:  # NaN != NaN
                points.append((day, float(value)))
                values.append(float(value))
        elif item is not None and item == item:
            values.append(float(item))
    return values, points


def per_period(kpi: Kpi, history: Sequence[tuple[dt.date, float | None]] | None, *, size: bool, grain: str) -> Kpi:
    """The KPI with a size's target scaled to the grain of its history, which ``score`` compares it to."""
    if not history or kpi.target is None or kpi.target.period is None or not size:
        return kpi
    own = kpi.grain or grain
    row = Row(kpi.name, history[-1][0], {}, history[-1][1])
    return dataclasses.replace(kpi, target=targets.scoped(kpi.target, row, own, True, own))


def score(kpi: Kpi, observed: Iterable[Observation] | None = None) -> LintReport:
    """Score ``kpi`` on the five SMART letters.

    ``observed`` is the KPI's history (every period, total row): plain values, or
    ``(date, value)`` pairs, which let A check the recent pace and T a deadline already passed.
    NULL and NaN values are ignored; without values A says "not checked".
    """
    values, points = _split(observed)
    target = kpi.target
    return LintReport(
        kpi.name,
        {
            "S": _specific(kpi),
            "M": _measurable(target),
            "A": _achievable(target, values, points),
            "R": _realistic(target),
            "T": _time_bound(target, points),
        },
    )


def passed(report: LintReport, *, strict: bool = False) -> bool:
    """True when no letter fails; with ``strict``, when no letter warns either."""
    bad = {"fail", "warn"} if strict else {"fail"}
    return all(letter.level not in bad for letter in report.letters.values())


def to_dict(report: LintReport) -> dict[str, Any]:
    """The machine shape of a report: ``{"kpi", "passed", "letters": {S: {"level", "reason"}, …}}``."""
    return {
        "kpi": report.kpi,
        "passed": passed(report),
        "letters": {name: {"level": s.level, "reason": s.reason} for name, s in report.letters.items()},
    }
