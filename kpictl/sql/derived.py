"""Derived formulas: KPI names, ``prior()`` and windows become references to computed values.

``derive`` turns ``revenue / prior(revenue) - 1`` into the SQL ``"ref_1" / NULLIF("ref_2", 0)
- 1`` and the references it stands for (revenue now; revenue one period earlier). A window
over a derived KPI is applied to its leaves first (``rolling(a / b, 3)`` = ``rolling(a, 3) /
rolling(b, 3)``), so a window only ever reads source KPIs, whose partial aggregates combine
exactly. This module rewrites formulas; it does not know scans, SQL layout or data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlglot import exp

from kpictl.errors import Location, SpecError
from kpictl.language.formula import WINDOWS, offset_args, window_grain, written
from kpictl.language.resolve import nested_window, offset_periods, to_date_unit, window_of_balance
from kpictl.model import WHOLE, Kpi
from kpictl.sql.aggregates import null_safe, tree_of


@dataclass(frozen=True)
class Window:
    """A calendar window: the last ``n`` periods, everything since the range start, or to-date."""

    kind: str  # "rolling" | "rolling_avg" | "cumulative" | "to_date"
    n: int = 0  # rolling, rolling_avg: number of periods
    unit: str = ""  # to_date: week | month | quarter | year
    full: bool = False  # rolling, rolling_avg: NULL until the window has its n periods

    @property
    def name(self) -> str:
        name = {
            "rolling": f"rolling_{self.n}",
            "rolling_avg": f"rolling_avg_{self.n}",
            "to_date": f"{self.unit}_to_date",
        }
        return name.get(self.kind, self.kind) + ("_full" if self.full else "")


@dataclass(frozen=True)
class Ref:
    """A term of a derived formula: a KPI's value ``shift`` periods earlier, maybe windowed."""

    alias: str
    kpi: str
    shift: int = 0
    window: Window | None = None
    back: tuple[int, str] | None = None  # prior(k, n, unit) in calendar units: n months, years… earlier


@dataclass(frozen=True)
class Derived:
    """A KPI computed from others: ``expr`` is an expression over the aliases of its ``refs``."""

    kpi: str
    grain: str
    expr: exp.Expr
    refs: tuple[Ref, ...]
    at: Location = field(default_factory=Location, compare=False)


def derive(kpi: Kpi, grain: str, kpis: Mapping[str, Kpi], trees: Mapping[str, exp.Expr] | None = None) -> Derived:
    """The derived KPI ``kpi`` at ``grain``: its formula over references, divisions NULL-safe.

    ``kpis`` are checked (``checks``): names, argument counts and cycles are not checked
    again; only what depends on the run's grain is (a to_date() unit finer than ``grain``).
    ``trees`` are the checked formula trees by KPI name (``checks.parse``); a KPI without one
    (a hidden to-date companion) is parsed here.
    """
    at = kpi.formula_at if kpi.formula_at.line else kpi.at
    checked = trees or {}
    tree = _expand(_formula(kpi, checked), kpis, at, checked)
    refs: dict[Ref, Ref] = {}

    def term(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Anonymous) and node.name.lower() in ("prior", *WINDOWS):
            target, shift, window, back = _call(node, grain, at)
            if window is not None and window.kind != "rolling_avg":
                problem = window_of_balance(written(node), target, kpis, lambda _: set())
                if problem is not None:
                    raise SpecError(problem.message, at=at, hint=problem.hint)
        elif isinstance(node, exp.Column):
            target, shift, window, back = node.name, 0, None, None
        else:
            return node
        key = Ref("", target, shift, window, back)
        refs.setdefault(key, Ref(f"ref_{len(refs) + 1}", target, shift, window, back))
        return exp.column(refs[key].alias, quoted=True)

    expr = null_safe(tree.transform(term))
    return Derived(kpi.name, grain, expr, tuple(refs.values()), kpi.at)


def _call(node: exp.Anonymous, grain: str, at: Location) -> tuple[str, int, Window | None, tuple[int, str] | None]:
    """``prior(k, n[, unit])``, ``rolling(k, n[, unit][, full])``, ``rolling_avg(…)``,
    ``cumulative(k)``, ``to_date(k, unit)`` as a reference: (KPI, periods back, window, calendar offset)."""
    name, args = node.name.lower(), node.expressions
    target = args[0].name
    if grain == WHOLE:
        raise SpecError(
            f"{written(node)}: --grain all is one period, the whole range: it has no earlier period and no window",
            at=at,
            hint="run it at a grain (--grain month…), or ask for the KPIs it reads",
        )
    if name == "cumulative":
        return target, 0, Window("cumulative"), None
    if name == "to_date":
        to = window_grain(node)
        problem = to_date_unit(written(node), to, grain)
        if problem:
            raise SpecError(problem.message, at=at, hint=problem.hint)
        return target, 0, Window("to_date", unit=to), None
    count, unit, full = offset_args(node)
    periods: int | None = count
    if unit is not None and unit != grain:
        periods = _periods(written(node), count, unit, grain, at, name)
    if name == "prior":
        if periods is None and unit is not None:  # a calendar offset: a month or a year of days, an ISO week
            return target, 0, None, (count, unit)
        return target, periods or count, None, None
    return target, 0, Window(name, n=periods or count, full=full), None


def _periods(call: str, count: int, unit: str, grain: str, at: Location, name: str) -> int | None:
    """``resolve.offset_periods``, its problem raised at the call."""
    periods, problem = offset_periods(call, name, count, unit, grain)
    if problem is not None:
        raise SpecError(problem.message, at=at, hint=problem.hint)
    return periods


def _formula(kpi: Kpi, trees: Mapping[str, exp.Expr]) -> exp.Expr:
    """The checked tree of a KPI's formula (never modified: transform copies), else parsed."""
    found = trees.get(kpi.name)
    return found if found is not None else tree_of(kpi.formula, kpi.formula_at, copy=False)


def _expand(tree: exp.Expr, kpis: Mapping[str, Kpi], at: Location, trees: Mapping[str, exp.Expr]) -> exp.Expr:
    """Push every window over a derived KPI down to that KPI's own inputs, recursively."""

    def body(name: str) -> exp.Expr:
        return _formula(kpis[name], trees)

    def refs(name: str) -> set[str]:
        return {c.name for c in body(name).find_all(exp.Column)} & set(kpis) if kpis[name].derived else set()

    def windowed(name: str) -> bool:
        return any(n.name.lower() in ("prior", *WINDOWS) for n in body(name).find_all(exp.Anonymous))

    def over_leaves(node: exp.Expr) -> exp.Expr:
        if not (isinstance(node, exp.Anonymous) and node.name.lower() in WINDOWS and node.expressions):
            return node
        if node.name.lower() == "rolling_avg":  # the mean of the KPI's own values: never pushed to its inputs
            return node
        inner = kpis.get(node.expressions[0].name)
        if inner is None or not inner.derived or not isinstance(node.expressions[0], exp.Column):
            return node
        problem = nested_window(written(node), inner.name, kpis, refs, windowed)  # a hidden to_date KPI's check
        if problem:
            raise SpecError(problem.message, at=at, hint=problem.hint)
        extra = [arg.copy() for arg in node.expressions[1:]]

        def windowed_leaf(leaf: exp.Expr) -> exp.Expr:
            return (
                exp.Anonymous(this=node.name, expressions=[leaf.copy(), *extra])
                if isinstance(leaf, exp.Column)
                else leaf
            )

        return exp.Paren(this=_expand(body(inner.name).transform(windowed_leaf), kpis, at, trees))

    return tree.transform(over_leaves)
