"""Derived formulas: KPI names, ``prior()`` and windows become references to computed values.

``derive`` turns ``revenue / prior(revenue) - 1`` into the SQL ``"ref_1" / NULLIF("ref_2", 0)
- 1`` and the references it stands for (revenue now; revenue one period earlier). A window
over a derived KPI is applied to its leaves first (``rolling(a / b, 3)`` = ``rolling(a, 3) /
rolling(b, 3)``), so a window only ever reads source KPIs, whose partial aggregates combine
exactly. This module rewrites formulas; it does not know scans, SQL layout or data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlglot import exp

from kpictl.errors import Location, SpecError, suggest
from kpictl.model import Kpi
from kpictl.sql import periods
from kpictl.sql.aggregates import null_safe, parse

WINDOWS = ("rolling", "cumulative", "to_date")
TO_DATE_UNITS = ("week", "month", "quarter", "year")
_SIGNATURES = {
    "prior": "prior(kpi, n=1)",
    "rolling": "rolling(kpi, n)",
    "cumulative": "cumulative(kpi)",
    "to_date": "to_date(kpi, year|quarter|month|week)",
}


@dataclass(frozen=True)
class Window:
    """A calendar window: the last ``n`` periods, everything since the range start, or to-date."""

    kind: str  # "rolling" | "cumulative" | "to_date"
    n: int = 0  # rolling: number of periods
    unit: str = ""  # to_date: week | month | quarter | year

    @property
    def name(self) -> str:
        return {"rolling": f"rolling_{self.n}", "to_date": f"{self.unit}_to_date"}.get(self.kind, self.kind)


@dataclass(frozen=True)
class Ref:
    """A term of a derived formula: a KPI's value ``shift`` periods earlier, maybe windowed."""

    alias: str
    kpi: str
    shift: int = 0
    window: Window | None = None

    def reach(self, grain: str, first: dt.date) -> dt.date:
        """The first period of the input needed to compute this term from period ``first`` on."""
        if self.window is None:
            return periods.shift(grain, first, -self.shift)
        if self.window.kind == "rolling":
            return periods.shift(grain, first, 1 - self.window.n)
        if self.window.kind == "to_date":
            return periods.start(grain, periods.start(self.window.unit, first))
        return first  # cumulative starts at the first period of the range


@dataclass(frozen=True)
class Derived:
    """A KPI computed from others: ``expr`` is SQL over the aliases of its ``refs``."""

    kpi: str
    grain: str
    expr: str
    refs: tuple[Ref, ...]
    at: Location = field(default_factory=Location, compare=False)


def derive(kpi: Kpi, grain: str, kpis: Mapping[str, Kpi]) -> Derived:
    """The derived KPI ``kpi`` at ``grain``: its formula over references, divisions NULL-safe."""
    at = kpi.formula_at if kpi.formula_at.line else kpi.at
    tree = _expand(parse(kpi.formula, at), kpis, at, (kpi.name,))
    refs: dict[Ref, Ref] = {}

    def term(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Anonymous) and node.name.lower() in ("prior", *WINDOWS):
            target, shift, window = _call(node, grain, kpis, at)
        elif isinstance(node, exp.Column):
            target, shift, window = _kpi_name(node, kpis, at), 0, None
        else:
            return node
        key = Ref("", target, shift, window)
        refs.setdefault(key, Ref(f"ref_{len(refs) + 1}", target, shift, window))
        return exp.column(refs[key].alias, quoted=True)

    expr = null_safe(tree.transform(term))
    if not refs:
        raise SpecError(f"formula of {kpi.name} uses no KPI", at=at, hint="a KPI without `source:` combines KPIs")
    return Derived(kpi.name, grain, expr.sql("duckdb"), tuple(refs.values()), kpi.at)


def _kpi_name(node: exp.Expr, kpis: Mapping[str, Kpi], at: Location) -> str:
    if not isinstance(node, exp.Column) or node.table or node.name not in kpis:
        raise SpecError(f"unknown KPI '{node.sql()}'", at=at, hint=suggest(node.name, kpis))
    return node.name


def _call(node: exp.Anonymous, grain: str, kpis: Mapping[str, Kpi], at: Location) -> tuple[str, int, Window | None]:
    """Check ``prior(k, n)``, ``rolling(k, n)``, ``cumulative(k)``, ``to_date(k, unit)``."""
    name, args = node.name.lower(), node.expressions
    arity = {"prior": (1, 2), "rolling": (2,), "cumulative": (1,), "to_date": (2,)}[name]
    if len(args) not in arity:
        raise SpecError(f"{node.sql()}: expected {_SIGNATURES[name]}", at=at)
    target = _kpi_name(args[0], kpis, at)
    if name != "prior" and kpis[target].derived:  # _expand removed these unless they nest
        raise SpecError(f"{node.sql()}: windows do not nest", at=at)
    if name == "cumulative":
        return target, 0, Window("cumulative")
    if name == "to_date":
        unit = args[1].name.lower()
        if unit not in TO_DATE_UNITS or periods.GRAINS.index(unit) < periods.GRAINS.index(grain):
            units = ", ".join(TO_DATE_UNITS)
            raise SpecError(f"{node.sql()}: the unit must be one of {units}, not finer than the grain ({grain})", at=at)
        return target, 0, Window("to_date", unit=unit)
    count = args[1] if len(args) > 1 else exp.Literal.number(1)
    if not (isinstance(count, exp.Literal) and count.name.isdigit() and int(count.name) >= 1):
        raise SpecError(f"{node.sql()}: the number of periods must be a whole number ≥ 1", at=at)
    if name == "prior":
        return target, int(count.name), None
    return target, 0, Window("rolling", n=int(count.name))


def _expand(tree: exp.Expr, kpis: Mapping[str, Kpi], at: Location, seen: tuple[str, ...]) -> exp.Expr:
    """Push every window over a derived KPI down to that KPI's own inputs, recursively."""

    def over_leaves(node: exp.Expr) -> exp.Expr:
        if not (isinstance(node, exp.Anonymous) and node.name.lower() in WINDOWS and node.expressions):
            return node
        inner = kpis.get(node.expressions[0].name)
        if inner is None or not inner.derived or not isinstance(node.expressions[0], exp.Column):
            return node
        if inner.name in seen:
            raise SpecError(f"cycle in derived KPIs: {' -> '.join((*seen, inner.name))}", at=at)
        body = parse(inner.formula, inner.formula_at)
        if any(isinstance(n, exp.Anonymous) and n.name.lower() in ("prior", *WINDOWS) for n in body.walk()):
            raise SpecError(f"{node.sql()}: {inner.name} uses prior() or a window itself; windows do not nest", at=at)
        extra = [arg.copy() for arg in node.expressions[1:]]

        def windowed(leaf: exp.Expr) -> exp.Expr:
            return (
                exp.Anonymous(this=node.name, expressions=[leaf.copy(), *extra])
                if isinstance(leaf, exp.Column)
                else leaf
            )

        return exp.Paren(this=_expand(body.transform(windowed), kpis, at, (*seen, inner.name)))

    return tree.transform(over_leaves)
