"""Split a source KPI's formula into partial aggregates and an expression over them.

``count(*) filter (where on_time) / count(*)`` becomes two partials, ``COUNT(*) FILTER(WHERE
on_time)`` and ``COUNT(*)``, and the expression ``"__p0" / NULLIF("__p1", 0)``. Knowing each
partial's kind is what makes two rules of the language (README) exact: a period without rows evaluates
the formula over zero rows (counts and sums 0, so ratios and averages NULL), and a window
combines per-period partials (sums add, min/max take min/max) or recomputes the ones that do
not combine (distinct counts, quantiles) over the window's rows. Never by summing ratios.
This module only rewrites expression trees; it knows nothing of sources, scans or SQL layout.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import sqlglot
from sqlglot import exp

from kpictl.errors import Location, SpecError
from kpictl.language.formula import FUNNELS, kpi_refs
from kpictl.model import Kpi

# Aggregates whose per-period values add up to the value of a window.
_ADDITIVE = (exp.Count, exp.CountIf, exp.Sum)
# Aggregates that are 0, not NULL, over zero rows. A sum is 0 over zero rows too, but NULL over
# rows whose values are all NULL (unknown, not nothing): decompose() writes that rule out.
_ZERO_WHEN_EMPTY = (exp.Count, exp.CountIf, exp.ApproxDistinct)


@dataclass(frozen=True)
class Spec:
    """One partial: its SQL, how per-period values combine, its value over zero rows."""

    sql: str
    combine: str  # "sum" | "min" | "max" | "recompute"
    empty: str | None  # "0", or None for NULL


def tree_of(text: str, at: Location, *, copy: bool = True) -> exp.Expr:
    """The sqlglot tree of one DuckDB expression already checked by ``formula.parse`` (cached).

    ``copy=False`` returns the cached tree itself, for callers that only read it or
    ``transform`` it (which copies already): copying twice cost about a tenth of compiling.
    """
    try:
        return _parse(text).copy() if copy else _parse(text)
    except sqlglot.errors.SqlglotError as error:
        raise SpecError(f"cannot parse '{text}': {str(error).splitlines()[0]}", at=at) from None
    except ValueError:
        raise SpecError(f"'{text}' must be exactly one SQL expression", at=at) from None


@lru_cache(maxsize=4096)
def _parse(text: str) -> exp.Expr:
    # Compiling parses the same snippets again and again (every KPI test compiles its KPI).
    trees = sqlglot.parse(text, read="duckdb")
    if len(trees) != 1 or trees[0] is None:
        raise ValueError(text)
    return trees[0]


def null_safe(tree: exp.Expr) -> exp.Expr:
    """``a / b`` → ``a / NULLIF(b, 0)`` (also ``//`` and ``%``): dividing by zero gives NULL.

    DuckDB would give ``inf`` for ``/`` and an error for ``//`` and ``%``.
    """

    def guard(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, (exp.Div, exp.IntDiv, exp.Mod)):
            return node
        divisor = node.expression
        nonzero = isinstance(divisor, exp.Literal) and not divisor.is_string and float(divisor.name) != 0
        if not (nonzero or isinstance(divisor, exp.Nullif)):
            node.set("expression", exp.Nullif(this=divisor.copy(), expression=exp.Literal.number(0)))
        return node

    return tree.transform(guard)


def decompose(tree: exp.Expr, conditions: list[exp.Expr]) -> tuple[exp.Expr, list[Spec]]:
    """The expression over placeholders ``"__p0"``, ``"__p1"``… and the partials they stand for.

    ``conditions`` (the KPI's filters) go into every partial's FILTER, ANDed with the
    aggregate's own, so that all KPIs of a source can share one scan. ``avg(x)`` becomes
    ``sum(x) / count(x)``: both are additive, so windows and empty periods stay exact.
    Identical partials are computed once.
    """
    specs: list[Spec] = []

    def add(agg: exp.Expr, own: exp.Expr | None, combine: str, empty: str | None) -> exp.Expr:
        where = [c.copy() for c in conditions] + ([own.copy()] if own is not None else [])
        node = exp.Filter(this=agg, expression=exp.Where(this=exp.and_(*where))) if where else agg
        spec = Spec(node.sql("duckdb"), combine, empty)
        if spec not in specs:
            specs.append(spec)
        return exp.column(f"__p{specs.index(spec)}", quoted=True)

    def split(node: exp.Expr) -> exp.Expr:
        own = None
        if isinstance(node, exp.Filter) and isinstance(node.this, exp.AggFunc):
            own, node = node.expression.this, node.this
        elif not isinstance(node, exp.AggFunc):
            return node
        distinct = isinstance(node.this, exp.Distinct)
        if isinstance(node, exp.Avg) and not distinct:
            total = add(exp.Sum(this=node.this.copy()), own, "sum", "0")
            count = add(exp.Count(this=node.this.copy()), own, "sum", "0")
            zero = exp.Literal.number(0)
            return exp.Paren(this=exp.Div(this=total, expression=exp.Nullif(this=count, expression=zero)))
        if isinstance(node, exp.Sum):
            # 0 where no row reaches the sum, NULL where rows do but all their values are NULL:
            # the row count travels as its own additive partial, so windows keep the rule too.
            total = add(node.copy(), own, "recompute" if distinct else "sum", None)
            rows = add(exp.Count(this=exp.Star()), own, "sum", "0")
            zero = exp.Literal.number(0)
            none = exp.If(this=exp.EQ(this=rows, expression=zero), true=zero)
            return exp.Paren(this=exp.Case(ifs=[none], default=total))
        if isinstance(node, _ADDITIVE) and not distinct:
            combine = "sum"
        elif isinstance(node, (exp.Min, exp.Max)):
            combine = type(node).__name__.lower()
        else:
            combine = "recompute"
        return add(node.copy(), own, combine, "0" if isinstance(node, _ZERO_WHEN_EMPTY) else None)

    return tree.transform(split), specs


def empty_value(tree: exp.Expr, empties: dict[str, str | None]) -> str | None:
    """The value of an expression when its columns take their value over zero rows.

    ``empties`` maps column names to SQL constants (None for NULL). Returns SQL, or None when
    the result is NULL: ``"a" / NULLIF("b", 0)`` with a = b = 0 gives None, ``"a" + "b"`` "0".
    """
    names = {
        name: exp.Null() if value is None else tree_of(value, Location(), copy=False) for name, value in empties.items()
    }
    folded = _fold(substitute(tree, names))
    return None if isinstance(folded, exp.Null) else folded.sql("duckdb")


def _fold(tree: exp.Expr) -> exp.Expr:
    """Constant-fold what zero rows produce: NULLs propagate, NULLIF(0, 0) is NULL, 0 + 0 is 0."""

    def number(node: exp.Expr) -> float | None:
        return float(node.name) if isinstance(node, exp.Literal) and not node.is_string else None

    def step(node: exp.Expr) -> exp.Expr:
        args = [node.this, node.expression] if isinstance(node, (exp.Binary, exp.Nullif)) else []
        if isinstance(node, exp.Paren) and isinstance(node.this, (exp.Null, exp.Literal)):
            return node.this
        if isinstance(node, exp.EQ) and all(number(a) is not None for a in args):
            return exp.true() if number(args[0]) == number(args[1]) else exp.false()
        if isinstance(node, exp.Case) and not node.this:  # CASE WHEN <constant> …: the first true branch
            for branch in node.args.get("ifs") or []:
                if not isinstance(branch.this, exp.Boolean):
                    return node
                if branch.this.this:
                    chosen: exp.Expr = branch.args["true"]
                    return chosen
            default: exp.Expr | None = node.args.get("default")
            return default or exp.Null()
        if isinstance(node, exp.Nullif) and all(number(a) is not None for a in args):
            return exp.Null() if number(args[0]) == number(args[1]) else args[0]
        if isinstance(node, (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Neg)) and any(
            isinstance(a, exp.Null) for a in [*args, node.this]
        ):
            return exp.Null()
        if isinstance(node, (exp.Add, exp.Sub, exp.Mul)) and all(number(a) is not None for a in args):
            a, b = number(args[0]) or 0.0, number(args[1]) or 0.0
            value = a + b if isinstance(node, exp.Add) else a - b if isinstance(node, exp.Sub) else a * b
            return exp.Literal.number(int(value) if value.is_integer() else value)
        return node

    # transform() works top-down; fold children first by walking the nodes bottom-up.
    for node in reversed(list(tree.walk())):
        if node is not tree:
            node.replace(step(node))
    return step(tree)


def substitute(tree: exp.Expr, names: dict[str, exp.Expr]) -> exp.Expr:
    """``tree`` with each column named in ``names`` replaced by its expression."""
    return tree.transform(lambda n: names[n.name].copy() if isinstance(n, exp.Column) and n.name in names else n)


def substitute_sql(tree: exp.Expr, names: dict[str, exp.Expr]) -> str:
    """``substitute`` written as DuckDB SQL."""
    return substitute(tree, names).sql("duckdb")


# Aggregates that measure a size (they grow with the rows): a bound on them is per period.
_SIZE_AGGREGATES = (exp.Count, exp.CountIf, exp.Sum, exp.ApproxDistinct)


def is_size(formula: str | exp.Expr, derived: bool, inputs: dict[str, bool]) -> bool:
    """True when a KPI measures a size (revenue, a count), False for a level (a rate, an average).

    A size is the sum or count of rows, combined without division: it grows with the period's
    length and with the share of rows a breakdown keeps. So a target bound on it is meant for
    the whole and for the target's period; a level (``count(*) filter (...) / count(*)``,
    ``avg(x)``, ``quantile_cont(x, 0.9)``) holds in every group and every period. ``inputs``
    says which KPIs a derived formula reads are sizes. ``formula`` is its text or its tree.
    """
    tree = tree_of(formula, Location(), copy=False) if isinstance(formula, str) else formula
    if any(not _inside_aggregate(node) for node in tree.find_all(exp.Div, exp.IntDiv, exp.Mod)):
        return False
    if derived and isinstance(tree, exp.Anonymous) and tree.name.lower() in FUNNELS:
        return tree.name.lower() == "converted"  # a count of entities; conversion() is their share
    if derived:
        names = kpi_refs(tree)
        return all(inputs.get(name, False) for name in names if name in inputs) and any(n in inputs for n in names)
    aggregates = [node for node in tree.find_all(exp.AggFunc) if not _inside_aggregate(node)]
    return bool(aggregates) and all(isinstance(node, _SIZE_AGGREGATES) for node in aggregates)


def size_kpis(kpis: Mapping[str, Kpi], trees: Mapping[str, exp.Expr] | None = None) -> dict[str, bool]:
    """The KPIs of ``kpis`` that measure a size (:func:`is_size`), a derived one by its inputs,
    each with whether it adds up over time: False for a *balance*.

    A balance is a size of ``snapshot:`` (a stock, open tickets) or a derived size that reads
    one, directly or through other derived KPIs (``balance + opening``, ``rolling_avg(balance,
    3)``, ``balance - prior(balance)``): its value is held at a point in time, so it adds up
    across entities (a region's stock is a part of the total) but not across periods (a
    quarter's stock is its last day's, not three months added up). This is where that is
    decided; the judges only read it (``Project.sizes``). ``trees`` are the checked formula
    trees by KPI name (``checks.parse``), parsed here if absent.
    """
    sizes: dict[str, bool] = {}
    held: dict[str, bool] = {}  # a balance, or a derived KPI reading one

    def visit(name: str) -> bool:
        if name not in sizes:
            kpi = kpis[name]
            sizes[name] = held[name] = False  # a cycle (reported by validate) reads as a level
            given = (trees or {}).get(name)
            tree = given if given is not None else tree_of(kpi.formula, kpi.at, copy=False)
            refs = kpi_refs(tree) if kpi.derived else set()
            inputs = {ref: visit(ref) for ref in refs if ref in kpis}
            sizes[name] = is_size(tree, kpi.derived, inputs)
            held[name] = kpi.snapshot is not None or any(held[ref] for ref in inputs)
        return sizes[name]

    return {name: not held[name] for name in kpis if visit(name)}


def _inside_aggregate(node: exp.Expr) -> bool:
    parent = node.parent
    while parent is not None:
        if isinstance(parent, exp.AggFunc):
            return True
        parent = parent.parent
    return False
