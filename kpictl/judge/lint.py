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
from kpictl.model import LANGS, Bound, Format, Kpi, Row, Target, lang_of

LEVELS = ("pass", "warn", "fail")

#: One observation: a value, or better a ``(date, value)`` pair, which also shows the trend.
Observation = float | None | tuple[dt.date, float | None]


# Every reason lint gives, in English and French: the dashboard speaks the page's language.
REASONS: dict[str, tuple[str, str]] = {
    "between": ("between {low} and {high}", "entre {low} et {high}"),
    "min": ("min {value}", "min {value}"),
    "max": ("max {value}", "max {value}"),
    "no_bound": ("no bound", "aucune borne"),
    "no_description": (
        "no description: say what it measures and why it matters",
        "pas de description : dites ce qu'il mesure et pourquoi il compte",
    ),
    "no_owner": ("no owner: name who answers for it", "pas de responsable : nommez qui en répond"),
    "no_unit": (
        "no unit: set format (percent, currency, days, integer…)",
        "pas d'unité : renseignez format (percent, currency, days, integer…)",
    ),
    "specific": (
        "description, owner ({owner}) and unit ({unit})",
        "description, responsable ({owner}) et unité ({unit})",
    ),
    "no_target": ("no target: add min, max or between", "pas d'objectif : ajoutez min, max ou between"),
    "per_only": (
        "bounds only per {dims}: the total has none",
        "bornes seulement par {dims} : le total n'en a pas",
    ),
    "no_bound_in_target": (
        "the target has no bound: add min, max or between",
        "l'objectif n'a pas de borne : ajoutez min, max ou between",
    ),
    "nothing_to_assess": ("no bound to assess", "aucune borne à évaluer"),
    "no_data": ("not checked: no data", "non vérifié : pas de données"),
    "reached": (
        "reached: best observed {best} meets {bound}",
        "atteint : la meilleure valeur observée {best} respecte {bound}",
    ),
    "one_value": (
        "not checked: one value observed ({best}), {bound} not met",
        "non vérifié : une seule valeur observée ({best}), {bound} non atteint",
    ),
    "stretch": (
        "stretch: {bound} is {short} beyond the best value observed ({best}), more than half the observed "
        "range ({spread})",
        "ambitieux : {bound} est à {short} au-delà de la meilleure valeur observée ({best}), plus de la moitié "
        "de l'étendue observée ({spread})",
    ),
    "within_reach": (
        "within reach: best observed {best}, {short} short of {bound}",
        "à portée : meilleure valeur observée {best}, à {short} de {bound}",
    ),
    "on": ("on {day}", "le {day}"),
    "never": ("never", "jamais"),
    "pace": (
        "at the recent pace ({slope}/day) the bound is reached {when}, not by {by}{needs}",
        "au rythme récent ({slope}/jour) la borne est atteinte {when}, pas d'ici le {by}{needs}",
    ),
    "needs": (" (from the baseline it needs {slope}/day)", " (depuis la référence il faut {slope}/jour)"),
    "nothing": ("", ""),
    "no_target_realistic": (
        "no target, so no baseline and no rationale",
        "pas d'objectif, donc ni référence ni justification",
    ),
    "no_baseline": (
        "no baseline: declare where the KPI starts ({{value, at}}); until then the first value in the data is used",
        "pas de référence : déclarez d'où part le KPI ({{value, at}}) ; d'ici là la première valeur des données "
        "sert de référence",
    ),
    "no_rationale": (
        "no rationale: say why the bound is achievable and realistic",
        "pas de justification : dites pourquoi la borne est atteignable et réaliste",
    ),
    "no_baseline_no_rationale": (
        "no baseline and no rationale: say where the KPI starts and why the bound is realistic",
        "ni référence ni justification : dites d'où part le KPI et pourquoi la borne est réaliste",
    ),
    "realistic": ("baseline {value} on {day}, rationale given", "référence {value} le {day}, justification donnée"),
    "no_deadline": (
        "no deadline (by) or period: say when the bound must be met",
        "ni échéance (by) ni période : dites quand la borne doit être atteinte",
    ),
    "each_period": ("judged each {period}", "jugé à chaque {period}"),
    "deadline_passed": (
        "the deadline {by} has passed (data runs to {last}): set the next one",
        "l'échéance {by} est passée (les données vont jusqu'au {last}) : fixez la suivante",
    ),
    "deadline": ("deadline {by}", "échéance {by}"),
    "building_block": (
        "building block: a value other KPIs use, no target needed",
        "brique de calcul : une valeur dont d'autres KPI se servent, sans objectif",
    ),
}


@dataclass(frozen=True)
class Reason:
    """One reason, as a key of ``REASONS`` and its values (a value may itself be a Reason)."""

    key: str
    args: tuple[tuple[str, Any], ...] = ()

    def text(self, lang: str = "en") -> str:
        template = REASONS[self.key][LANGS.index(lang_of(lang))]
        return template.format(**{k: v.text(lang) if isinstance(v, Reason) else v for k, v in self.args})


def _r(key: str, **args: Any) -> Reason:
    return Reason(key, tuple(args.items()))


@dataclass(frozen=True)
class LetterScore:
    """One SMART letter: ``level`` is pass, warn or fail; ``reason`` says why, and what to do (in
    English: the CLI and JSON); ``reasons`` are the same in any language (:meth:`text`)."""

    level: str
    reason: str
    reasons: tuple[Reason, ...] = ()

    def text(self, lang: str = "en") -> str:
        """The reason in ``lang`` (English, or French)."""
        return "; ".join(r.text(lang) for r in self.reasons) if self.reasons else self.reason


def _score(level: str, *reasons: Reason) -> LetterScore:
    return LetterScore(level, "; ".join(r.text() for r in reasons), reasons)


@dataclass(frozen=True)
class LintReport:
    """The SMART score of one KPI: ``letters`` maps S, M, A, R, T (in that order) to a score."""

    kpi: str
    letters: dict[str, LetterScore]


def _num(x: float) -> str:
    return f"{x:g}"


def _describe(bound: Bound) -> Reason:
    if bound.min is not None and bound.max is not None:
        return _r("between", low=_num(bound.min), high=_num(bound.max))
    if bound.min is not None:
        return _r("min", value=_num(bound.min))
    return _r("max", value=_num(bound.max)) if bound.max is not None else _r("no_bound")


def _distance(value: float, bound: Bound) -> float:
    """How far ``value`` is from meeting ``bound`` (0 when it meets it)."""
    below = bound.min - value if bound.min is not None else 0.0
    above = value - bound.max if bound.max is not None else 0.0
    return max(below, above, 0.0)


def _blank(text: str | None) -> bool:
    return not (text and text.strip())


def _worst(problems: list[tuple[str, Reason]], fine: Reason) -> LetterScore:
    if not problems:
        return _score("pass", fine)
    level = max((lvl for lvl, _ in problems), key=LEVELS.index)
    return _score(level, *(reason for _, reason in problems))


def _specific(kpi: Kpi) -> LetterScore:
    problems = []
    if _blank(kpi.description):
        problems.append(("fail", _r("no_description")))
    if _blank(kpi.owner):
        problems.append(("warn", _r("no_owner")))
    if kpi.format == Format():
        problems.append(("warn", _r("no_unit")))
    return _worst(problems, _r("specific", owner=kpi.owner, unit=kpi.format.type))


def _measurable(target: Target | None) -> LetterScore:
    if target is None:
        return _score("fail", _r("no_target"))
    if target.bound.min is None and target.bound.max is None:
        if target.per:
            return _score("warn", _r("per_only", dims=", ".join(target.per)))
        return _score("fail", _r("no_bound_in_target"))
    return _score("pass", _describe(target.bound))


def _achievable(target: Target | None, values: list[float], points: list[tuple[dt.date, float]]) -> LetterScore:
    if target is None or (target.bound.min is None and target.bound.max is None):
        return _score("fail", _r("nothing_to_assess"))
    if not values:
        return _score("warn", _r("no_data"))
    bound = target.bound
    best = min(values, key=lambda v: _distance(v, bound))
    short = _distance(best, bound)
    spread = max(values) - min(values)
    problems = []
    if short == 0:
        fine = _r("reached", best=_num(best), bound=_describe(bound))
    elif spread == 0:
        return _score("warn", _r("one_value", best=_num(best), bound=_describe(bound)))
    elif short > spread / 2:
        stretch = _r("stretch", bound=_describe(bound), short=_num(short), best=_num(best), spread=_num(spread))
        problems.append(("warn", stretch))
        fine = _r("nothing")
    else:
        fine = _r("within_reach", best=_num(best), short=_num(short), bound=_describe(bound))
    if short > 0 and target.by is not None and len({d for d, _ in points}) >= 2:
        pace = forecast(points, target)
        if pace.reaches_by_deadline is False:
            when = _r("on", day=pace.reaches_on) if pace.reaches_on else _r("never")
            slope = f"{pace.slope_per_day or 0.0:+.3g}"
            problems.append(("warn", _r("pace", slope=slope, when=when, by=target.by, needs=_required_pace(target))))
    return _worst(problems, fine)


def _required_pace(target: Target) -> Reason:
    base, by = target.baseline, target.by
    if base is None or by is None or by <= base.at:
        return _r("nothing")
    low, high = target.bound.min, target.bound.max
    edge = low if low is not None and base.value < low else high if high is not None and base.value > high else None
    if edge is None:
        return _r("nothing")
    return _r("needs", slope=f"{(edge - base.value) / (by - base.at).days:+.3g}")


def _realistic(target: Target | None) -> LetterScore:
    if target is None:
        return _score("fail", _r("no_target_realistic"))
    problems = []
    if target.baseline is None:
        problems.append(("warn", _r("no_baseline")))
    if _blank(target.rationale):
        problems.append(("warn", _r("no_rationale")))
    if len(problems) == 2:
        return _score("fail", _r("no_baseline_no_rationale"))
    base = target.baseline
    return _worst(problems, _r("realistic", value=_num(base.value), day=base.at) if base else _r("nothing"))


def _time_bound(target: Target | None, points: list[tuple[dt.date, float]]) -> LetterScore:
    if target is None or (target.by is None and target.period is None):
        return _score("fail", _r("no_deadline"))
    if target.by is None:
        return _score("pass", _r("each_period", period=target.period))
    last = max((d for d, _ in points), default=None)
    if last is not None and target.by < last:
        return _score("warn", _r("deadline_passed", by=target.by, last=last))
    return _score("pass", _r("deadline", by=target.by))


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


def per_period(
    kpi: Kpi,
    history: Sequence[tuple[dt.date, float | None]] | None,
    *,
    unit: str | None,
    grain: str,
    year_start: int = 1,
) -> Kpi:
    """The KPI with a size's target scaled to the grain of its history, which ``score`` compares it to.

    ``unit`` is the grain a size's bound is meant for (``Project.sizes``), None for a level or a
    balance, whose bound holds at every grain; ``year_start`` the month fiscal quarters and years
    start in."""
    if not history or kpi.target is None or kpi.target.period is None or unit is None:
        return kpi
    own = kpi.grain or grain
    row = Row(kpi.name, history[-1][0], {}, history[-1][1])
    return dataclasses.replace(kpi, target=targets.scoped(kpi.target, row, own, True, unit, year_start))


def score(kpi: Kpi, observed: Iterable[Observation] | None = None) -> LintReport:
    """Score ``kpi`` on the five SMART letters.

    ``observed`` is the KPI's history (every period, total row): plain values, or
    ``(date, value)`` pairs, which let A check the recent pace and T a deadline already passed.
    NULL and NaN values are ignored; without values A says "not checked".
    """
    values, points = _split(observed)
    target = kpi.target
    if kpi.role == "building_block" and target is None:  # no objective of its own: only S applies
        block = _score("pass", _r("building_block"))
        return LintReport(kpi.name, {"S": _specific(kpi), "M": block, "A": block, "R": block, "T": block})
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
