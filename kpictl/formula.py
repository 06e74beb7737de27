"""User SQL expressions: sandboxed Jinja → sqlglot parse → allow-list → the names they use.

KPI files come from pull requests, so every formula, filter and dimension expression is
checked here before any SQL runs: exactly one expression, built only from allow-listed
node types (no statements, subqueries, table functions, window functions, or functions
that read files or the clock). This module never touches data and never imports DuckDB.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from kpictl.errors import Location, SpecError, suggest

#: Functions of derived formulas: name -> (min args, max args).
DERIVED_FUNCTIONS = {"prior": (1, 2), "cumulative": (1, 1), "rolling": (2, 2), "to_date": (2, 2)}
TO_DATE_GRAINS = ("year", "quarter", "month", "week")
#: Parts of a formula kpictl checks: aggregate (source KPI), derived, filter, dimension.
KINDS = ("aggregate", "derived", "filter", "dimension")


@cache
def _jinja() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
    env.globals.clear()  # no range/cycler/joiner: a formula needs var() and nothing else
    return env


def render(text: str, vars: dict[str, Any], at: Location | None = None) -> str:
    """Expand ``{{ var('name') }}`` (and plain Jinja) in a sandbox; text without Jinja is returned as is."""
    if "{" not in text:
        return text
    from jinja2 import TemplateError
    from jinja2.exceptions import TemplateSyntaxError

    missing: list[str] = []

    def var(name: str, default: Any = None) -> Any:
        if name in vars:
            return vars[name]
        if default is not None:
            return default
        missing.append(name)
        return ""

    try:
        result: str = _jinja().from_string(text).render(var=var)
    except TemplateSyntaxError as exc:
        where = at.shifted(exc.lineno - 1, None) if at else None
        raise SpecError(f"invalid Jinja: {exc.message}", at=where) from None
    except TemplateError as exc:
        # SecurityError (reaching Python internals) and UndefinedError land here.
        raise SpecError(f"Jinja refused: {exc}", at=at, hint="only {{ var('name') }} and plain Jinja are allowed") from None
    if missing:
        raise SpecError(f"unknown variable '{missing[0]}'", at=at, hint=suggest(missing[0], vars) or "declare it under vars: in kpictl.yml")
    return result


@cache
def _allowed() -> tuple[type, ...]:
    from sqlglot import exp

    names = """Column Identifier Literal Boolean Null Star Paren Neg Not Add Sub Mul Div IntDiv Mod
    EQ NEQ GT GTE LT LTE Is And Or Between Like ILike In Tuple Case If Cast TryCast DataType
    DataTypeParam Filter Where Distinct Sum Count Avg Min Max Coalesce Nullif Abs Round Floor Ceil
    Sqrt Ln Log Pow Greatest Least DateTrunc TimestampTrunc Extract Var ApproxDistinct Quantile
    PercentileCont PercentileDisc Median Mode Stddev StddevSamp StddevPop Variance VariancePop
    CountIf DateDiff DateAdd DateSub Interval TimeToUnix TimeToStr Lower Upper Length Substring
    Concat DPipe Trim ArgMax ArgMin LogicalAnd LogicalOr Date TsOrDsToDate Anonymous
    WithinGroup Ordered Order StrPosition Left Right Replace""".split()
    return tuple(getattr(exp, n) for n in names if hasattr(exp, n))


def parse(text: str, kind: str, at: Location | None = None) -> Any:
    """Parse one expression of ``kind`` (see KINDS) and check it; returns the sqlglot tree.

    Raises SpecError with the position inside the YAML file when the text is not one
    allowed expression.
    """
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError, TokenError

    try:
        trees = sqlglot.parse(text, read="duckdb")
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        where = at.shifted(first.get("line", 1) - 1, first.get("col")) if at else None
        desc = str(first.get("description") or exc).split(". Line")[0]
        raise SpecError(f"invalid SQL expression: {desc}", at=where) from None
    except TokenError as exc:
        raise SpecError(f"invalid SQL expression: {exc}", at=at) from None
    trees = [t for t in trees if t is not None]
    if len(trees) != 1:
        raise SpecError(f"expected one SQL expression, found {len(trees)} statements", at=at, hint="remove the ';'")
    tree = trees[0]
    if isinstance(tree, exp.Query) or isinstance(tree, (exp.Command, exp.Block)):
        raise SpecError("expected a SQL expression, not a statement", at=at)
    allowed = _allowed()
    for node in tree.walk():
        if isinstance(node, (exp.Select, exp.Subquery, exp.Query)) or (isinstance(node, exp.In) and node.args.get("query")):
            raise SpecError("subqueries are not allowed in a formula", at=at, hint="a formula reads only its own source's rows")
        if isinstance(node, exp.Window):
            raise SpecError("window functions (OVER) are not allowed", at=at, hint="use rolling(), cumulative() or prior() in a derived KPI")
        if isinstance(node, exp.Anonymous):
            _check_function(node, kind, at)
        elif not isinstance(node, allowed):
            name = node.sql_name() if isinstance(node, exp.Func) else type(node).__name__
            raise SpecError(f"'{name.lower()}' is not allowed in a formula", at=at, hint=_hint_for(node))
        if isinstance(node, exp.Column) and node.table and kind == "derived":
            raise SpecError(f"'{node.sql()}': a derived formula uses KPI names only", at=at)
    _check_aggregation(tree, kind, at)
    return tree


def _hint_for(node: Any) -> str:
    from sqlglot import exp

    if isinstance(node, (exp.CurrentDate, exp.CurrentTimestamp)):
        return "results must not depend on the clock: use a var() or --from/--to"
    if "Read" in type(node).__name__ or isinstance(node, exp.Table):
        return "a formula reads only its own source's rows"
    return "see the formula reference in the README for the allowed functions"


def _check_function(node: Any, kind: str, at: Location | None) -> None:
    name = str(node.this).lower()
    if kind != "derived" or name not in DERIVED_FUNCTIONS:
        where = "in a derived KPI only" if name in DERIVED_FUNCTIONS else "not allowed in a formula"
        raise SpecError(f"function '{name}' is {where}", at=at, hint=suggest(name, DERIVED_FUNCTIONS) if kind == "derived" else None)
    lo, hi = DERIVED_FUNCTIONS[name]
    args = node.expressions
    if not lo <= len(args) <= hi:
        count = str(lo) if lo == hi else f"{lo} to {hi}"
        raise SpecError(f"{name}() takes {count} arguments, got {len(args)}", at=at)
    from sqlglot import exp

    if not isinstance(args[0], exp.Column):
        raise SpecError(f"the first argument of {name}() must be a KPI name", at=at)
    if name in ("prior", "rolling") and len(args) == 2:
        n = args[1]
        if not (isinstance(n, exp.Literal) and not n.is_string and n.this.isdigit() and int(n.this) >= 1):
            raise SpecError(f"the second argument of {name}() must be a whole number of periods >= 1", at=at)
    if name == "to_date" and window_grain(node) not in TO_DATE_GRAINS:
        raise SpecError(f"to_date() takes one of {', '.join(TO_DATE_GRAINS)}", at=at, hint="e.g. to_date(revenue, year)")


def window_grain(node: Any) -> str:
    """The grain word of ``to_date(k, year)`` whether written bare or quoted."""
    arg = node.expressions[1]
    return str(arg.name if hasattr(arg, "name") else arg).strip("'").lower()


def _check_aggregation(tree: Any, kind: str, at: Location | None) -> None:
    from sqlglot import exp

    aggs = list(tree.find_all(exp.AggFunc))
    if kind == "aggregate":
        if not aggs:
            raise SpecError("a source KPI's formula must aggregate its rows", at=at, hint="e.g. sum(amount), count(*), avg(x)")
        for col in tree.find_all(exp.Column):
            if not _inside(col, (exp.AggFunc, exp.Filter)):
                raise SpecError(f"column '{col.sql()}' is used outside an aggregate", at=at, hint=f"e.g. sum({col.sql()})")
        for agg in aggs:
            if _inside(agg, exp.AggFunc):
                raise SpecError("aggregates cannot be nested", at=at)
    elif aggs:
        what = {"derived": "a derived KPI combines KPI names", "filter": "a filter is a condition on each row",
                "dimension": "a dimension is computed on each row"}[kind]
        raise SpecError(f"aggregate '{aggs[0].sql()}' is not allowed here: {what}", at=at)


def _inside(node: Any, kind: type | tuple[type, ...]) -> bool:
    parent = node.parent
    while parent is not None:
        if isinstance(parent, kind):
            return True
        parent = parent.parent
    return False


def columns(tree: Any) -> set[str]:
    """Column names an expression reads (qualified ones as ``table.col``)."""
    from sqlglot import exp

    return {f"{c.table}.{c.name}" if c.table else c.name for c in tree.find_all(exp.Column) if not _is_grain_word(c)}


def kpi_refs(tree: Any) -> set[str]:
    """KPI names a derived formula uses (the grain word of to_date excluded)."""
    return columns(tree)


def _is_grain_word(col: Any) -> bool:
    from sqlglot import exp

    parent = col.parent
    return isinstance(parent, exp.Anonymous) and str(parent.this).lower() == "to_date" and parent.expressions[-1] is col
