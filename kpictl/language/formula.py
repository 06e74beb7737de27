"""User SQL expressions: sqlglot parse → allow-list → the names they use (Jinja: ``jinja.render``).

KPI files come from pull requests, so every formula, filter and dimension expression is
checked here before any SQL runs: exactly one expression, built only from allow-listed
node types (no statements, subqueries, table functions, window functions, or functions
that read files or the clock). Errors point at the offending token in the YAML file.
This module never touches data and never imports DuckDB.
"""

from __future__ import annotations

import re
from functools import cache
from itertools import groupby
from typing import Any

from kpictl.errors import Location, SpecError, suggest
from kpictl.language.pointers import at_offset
from kpictl.model import TO_DATE_UNITS

#: Functions of derived formulas: name -> (min args, max args).
DERIVED_FUNCTIONS = {
    "prior": (1, 3),
    "cumulative": (1, 1),
    "rolling": (2, 4),
    "rolling_avg": (2, 4),
    "to_date": (2, 2),
    "conversion": (2, 5),
    "converted": (2, 5),
}
#: The funnel calls: ``conversion(base, then, entity: …, within: …)`` is the rate, ``converted`` the count.
FUNNELS = ("conversion", "converted")
#: Units of a funnel's ``within: 7 days`` (singular or plural), as SQL interval units.
WITHIN_UNITS = {"minute": "MINUTE", "hour": "HOUR", "day": "DAY", "week": "WEEK"}
#: Minutes in each unit of ``within:``.
WITHIN_MINUTES = {"MINUTE": 1, "HOUR": 60, "DAY": 1440, "WEEK": 10080}
#: The derived functions that aggregate several periods (``prior`` reads one).
WINDOWS = ("rolling", "rolling_avg", "cumulative", "to_date")
#: Units of ``prior(k, n, unit)`` and ``rolling(k, n, unit)``: n calendar units, not n periods.
OFFSET_UNITS = ("hour", "day", "week", "month", "quarter", "year")
#: Parts of a formula kpictl checks: aggregate (source KPI), derived, filter, dimension.
KINDS = ("aggregate", "derived", "filter", "dimension", "column")
_ALLOWED_HINT = "formulas use columns, numbers, arithmetic, comparisons, CASE, CAST and aggregate functions"
_CLOCK = ("now", "today", "get_current_time", "get_current_timestamp", "random", "uuid", "gen_random_uuid")
_CLOCK_HINT = "results must not depend on the clock or chance: use a var() or --from/--to"
_WINDOW_HINT = "use rolling(), cumulative() or prior() in a derived KPI"
_SOURCE_ONLY = "a formula reads only its own source's rows; lookups: in kpictl.yml bring in other sources' columns"


# -- SQL -----------------------------------------------------------------------------------------

#: sqlglot node types a formula may contain (an allow-list: anything else is refused).
_ALLOWED_NODES = """Column Identifier Literal Boolean Null Star Paren Neg Not Add Sub Mul Div IntDiv Mod
    EQ NEQ GT GTE LT LTE Is And Or Between Like ILike In Tuple Case If Cast TryCast DataType
    DataTypeParam Filter Where Distinct Sum Count Avg Min Max Coalesce Nullif Abs Round Floor Ceil
    Sqrt Ln Log Pow Exp Sign Greatest Least DateTrunc TimestampTrunc Extract Var ApproxDistinct Quantile
    PercentileCont PercentileDisc Median Mode Stddev StddevSamp StddevPop Variance VariancePop
    CountIf DateDiff DateAdd DateSub Interval TimeToUnix TimeToStr Lower Upper Length Substring
    Concat DPipe Trim ArgMax ArgMin LogicalAnd LogicalOr Date TsOrDsToDate Anonymous
    WithinGroup Ordered Order StrPosition Left Right Replace Year Quarter Month Week Day DayOfWeek
    DayOfMonth DayOfYear WeekOfYear DateFromParts"""
#: Root node types that are statements, named as such in the error.
_STATEMENT_NODES = """Query DML DDL Command Copy Attach Detach Install Pragma Set Describe Drop Use Summarize Show
    Create Insert Update Delete Merge Transaction Commit Rollback Alter Analyze Kill Grant Cache Uncache"""


@cache
def _nodes(names: str) -> tuple[type, ...]:
    from sqlglot import exp

    return tuple(getattr(exp, n) for n in names.split() if hasattr(exp, n))


@cache
def _functions() -> tuple[str, ...]:
    """Names of the allowed SQL functions, for "did you mean" hints."""
    from sqlglot import exp

    return tuple(n.lower() for c in _nodes(_ALLOWED_NODES) if issubclass(c, exp.Func) for n in c.sql_names())


@cache
def _dialect() -> Any:
    import logging

    import sqlglot

    # The parser logs "falling back to Command" for statements it half-knows; the user sees our error.
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    return sqlglot.Dialect.get_or_raise("duckdb")


def parse(text: str, kind: str, at: Location | None = None, *, exact: bool = True) -> Any:
    """Parse one expression of ``kind`` (see KINDS) and check it; returns the sqlglot tree.

    Raises SpecError at the offending token in the YAML file when the text is not one
    allowed expression. ``exact=False`` when ``text`` is not the scalar written at ``at``
    (Jinja changed it): errors then point at the start of the scalar.
    """
    from sqlglot import exp
    from sqlglot.errors import ParseError, TokenError
    from sqlglot.tokens import TokenType  # type: ignore[attr-defined]

    def where(offset: int) -> Location | None:
        return at_offset(at, text, offset) if exact else at

    dialect = _dialect()
    calls = re.search(rf"\b({'|'.join(DERIVED_FUNCTIONS)})\s*\(", text, re.IGNORECASE)
    if kind == "derived" or calls:  # rolling(k, 3, full: true): DuckDB's named argument (full := true), same offsets
        text = re.sub(r"(\b[A-Za-z_]\w*)(\s*):(\s)", r"\1\2:=", text)
        # within: 7 days reads as 7*days, the same length, so error offsets stay those of the YAML
        text = re.sub(r"(\bwithin\s*:=\s*\d+)(\s+)(?=[A-Za-z])", lambda m: m.group(1) + "*" + m.group(2)[1:], text)
    try:
        tokens = dialect.tokenize(text)
    except TokenError:
        quote = _unclosed_quote(text)
        raise SpecError(
            "invalid SQL: a quote is never closed" if quote is not None else "invalid SQL: cannot read it",
            at=where(quote or 0),
            hint="close the quote" if quote is not None else None,
        ) from None
    if not tokens:
        raise SpecError("the expression is empty", at=at)
    _check_size(tokens, where)
    statement = tokens[0].token_type in (TokenType.SELECT, TokenType.WITH, TokenType.FROM)
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            raise SpecError(
                "';' is not allowed: a formula is one SQL expression",
                at=where(token.start),
                hint="remove the ';' and anything after it",
            )
        if token.token_type in (TokenType.SELECT, TokenType.WITH) and not statement:
            raise SpecError("subqueries are not allowed in a formula", at=where(token.start), hint=_SOURCE_ONLY)
        if token.token_type == TokenType.OVER:
            raise SpecError(
                "window functions (OVER) are not allowed in a formula", at=where(token.start), hint=_WINDOW_HINT
            )
    try:
        trees = [t for t in dialect.parser().parse(tokens, text) if t is not None]
    except ParseError as exc:
        message, offset, hint = _parse_problem(exc, text, tokens)
        raise SpecError(f"invalid SQL: {message}", at=where(offset), hint=hint) from None
    if not trees:
        raise SpecError("invalid SQL: incomplete expression", at=where(0))
    tree = trees[0]
    if isinstance(tree, _nodes(_STATEMENT_NODES)):
        raise SpecError(
            f"{tokens[0].text.upper()} statements are not allowed: a formula is one SQL expression",
            at=where(0),
            hint=_statement_hint(tree, kind),
        )
    if isinstance(tree, exp.Alias) and tree.args.get("alias") is None:
        tree = tree.this  # sqlglot reads "@: end" as an alias without a name: what it aliases is checked
    if isinstance(tree, exp.Alias):
        raise SpecError(
            f"unexpected '{tree.alias}' after the expression",
            at=where(_offset(tree.args["alias"], tokens)),
            hint="a formula has no alias: remove it, or add the missing operator",
        )
    _check_nodes(tree, kind, where, tokens, text)
    _check_aggregation(tree, kind, where, tokens)
    return tree.transform(_printable_literal)


def _printable_literal(node: Any) -> Any:
    """A string literal holding a newline or another control character, written as pieces joined
    with ``chr(n)``: the same value, but the SQL text that ``compile`` and ``show`` print (and a CI
    log shows) never gets a line break from a definition, so no line of it can start with ``::``."""
    from sqlglot import exp

    if not (isinstance(node, exp.Literal) and node.is_string and not node.this.isprintable()):
        return node
    parts: list[Any] = []
    for printable, run in groupby(node.this, str.isprintable):
        if printable:
            parts.append(exp.Literal.string("".join(run)))
        else:
            parts += [exp.Chr(expressions=[exp.Literal.number(ord(c))]) for c in run]
    joined = parts[0]
    for part in parts[1:]:
        joined = exp.DPipe(this=joined, expression=part, safe=True)
    return exp.Paren(this=joined)


#: Bounds of one expression: longer or deeper ones are not written by people, and would exhaust
#: Python's recursion (a 50-deep formula) or take minutes to plan (a 50,000-term sum).
MAX_TOKENS = 2_000
MAX_DEPTH = 24


def _check_size(tokens: list[Any], where: Any) -> None:
    from sqlglot.tokens import TokenType  # type: ignore[attr-defined]

    if len(tokens) > MAX_TOKENS:
        raise SpecError(
            f"the expression is too long: {len(tokens):,} tokens, at most {MAX_TOKENS:,}",
            at=where(0),
            hint="split it into several KPIs and a derived KPI that combines them",
        )
    depth = 0
    for token in tokens:
        depth += {TokenType.L_PAREN: 1, TokenType.R_PAREN: -1}.get(token.token_type, 0)
        if depth > MAX_DEPTH:
            raise SpecError(
                f"the expression is nested too deeply: more than {MAX_DEPTH} parentheses",
                at=where(token.start),
                hint="remove redundant parentheses, or split it into several KPIs",
            )


def _unclosed_quote(text: str) -> int | None:
    """Offset of the quote that is never closed, if any."""
    open_at: int | None = None
    for i, ch in enumerate(text):
        if ch in "'\"" and (open_at is None or text[open_at] == ch):
            open_at = i if open_at is None else None
    return open_at


def _parse_problem(exc: Any, text: str, tokens: list[Any]) -> tuple[str, int, str | None]:
    """sqlglot's ParseError as (message, offset in ``text``, hint)."""
    first = exc.errors[0] if exc.errors else {}
    line, col, token = first.get("line", 1), first.get("col", 1), first.get("highlight") or ""
    lines = text.split("\n")
    start = sum(len(x) + 1 for x in lines[: max(0, line - 1)]) + max(0, col - len(token))
    desc = str(first.get("description") or exc).split(". Line")[0]
    at_end = start + len(token) >= len(text.rstrip())
    if desc.startswith("Expecting "):
        wanted = desc.removeprefix("Expecting ")
        if at_end:
            return f"missing '{wanted}' at the end", len(text.rstrip()), None
        before = [t for t in tokens if t.start < start]
        hint = None
        if before and before[-1].token_type.name == "VAR" and token.isidentifier():
            hint = f'a name with a space needs double quotes: "{before[-1].text} {token}"'
        return f"expected '{wanted}' before '{token}'", start, hint
    if desc.startswith("Required keyword: 'expression' missing"):
        return (f"'{token}' needs a value on both sides" if token else "incomplete expression"), start, None
    if desc.startswith("Required keyword"):
        return "incomplete expression", start, None
    if "Unexpected token" in desc or desc.startswith("Invalid expression"):
        return (f"unexpected '{token}'" if token else "unexpected end"), start, None
    return desc[:1].lower() + desc[1:], start, None


def _statement_hint(tree: Any, kind: str) -> str:
    if tree.key == "select" and len(tree.expressions) == 1 and kind == "aggregate":
        return f"write just the expression: {tree.expressions[0].sql('duckdb').lower()}; source: names the table"
    return "kpictl writes the query; a formula only says what to compute"


def _offset(node: Any, tokens: list[Any] | None = None) -> int:
    """Offset in the text where ``node`` starts: its earliest positioned token, or its call name."""
    parts = [node.args.get(k) for k in ("catalog", "db", "table", "this")] if node.key == "column" else node.walk()
    starts = [n.meta["start"] for n in parts if n is not None and "start" in n.meta]
    if "start" in node.meta or not tokens:
        return int(min(starts)) if starts else 0
    first = min(starts) if starts else None
    taken = set()  # the names of enclosing calls, which have positions of their own
    parent = node.parent
    while parent is not None:
        taken.add(parent.meta.get("start"))
        parent = parent.parent
    for i, token in enumerate(tokens[2:], 2):  # `name ( first-argument`: the call starts at its name
        if token.start == first and tokens[i - 1].token_type.name == "L_PAREN" and tokens[i - 2].start not in taken:
            return int(tokens[i - 2].start)
    if starts:
        return int(min(starts))
    names = {n.upper() for n in (node.sql_names() if hasattr(node, "sql_names") else ())} | {node.key.upper()}
    return int(next((t.start for t in tokens or () if t.text.upper() in names), 0))


def _check_nodes(tree: Any, kind: str, where: Any, tokens: list[Any], text: str) -> None:
    from sqlglot import exp

    allowed = _nodes(_ALLOWED_NODES)
    for node in tree.walk():
        if isinstance(node, (exp.Subquery, exp.Query, exp.Window)):  # the token scan finds most of them first
            what, hint = (
                ("window functions (OVER)", _WINDOW_HINT)
                if isinstance(node, exp.Window)
                else ("subqueries", _SOURCE_ONLY)
            )
            raise SpecError(f"{what} are not allowed in a formula", at=where(_offset(node)), hint=hint)
        if isinstance(node, exp.Star) and not isinstance(node.parent, exp.Count):
            raise SpecError("'*' is allowed only in count(*)", at=where(_offset(node, tokens)), hint="name the column")
        if isinstance(node, exp.Dot) and isinstance(node.this, exp.Column):
            raise SpecError(
                f"'{node.sql()}' has too many parts",
                at=where(_offset(node.this)),
                hint="write column, lookup.column, or a path of at most 3 lookups (customers.companies.industry)",
            )
        if _funnel_option(node):
            continue  # entity: user_id, within: 7 days of a funnel: checked by _check_funnel
        if isinstance(node, exp.Anonymous):
            _check_function(node, kind, where, tokens)
        elif isinstance(node, exp.PropertyEQ) and kind == "derived" and derived_call(node.parent):
            pass  # full := true of a window: its own checks (_check_option)
        elif not isinstance(node, allowed):
            offset = _offset(node, tokens)
            call = re.match(r"(\w+)\s*\(", text[offset:])
            _refuse(node, call.group(1).lower() if call and isinstance(node, exp.Func) else None, where(offset))
        if isinstance(node, exp.Column) and node.table and kind == "derived":
            raise SpecError(f"'{node.sql()}': a derived formula uses KPI names only", at=where(_offset(node)))
        if isinstance(node, exp.Column) and node.table and kind == "column":
            raise SpecError(
                f"'{node.sql()}': a computed column reads its own source's columns",
                at=where(_offset(node)),
                hint="compute it from this source's columns; a lookup's column is used where the KPI reads it",
            )


def _refuse(node: Any, name: str | None, at: Location | None) -> None:
    from sqlglot import exp

    if isinstance(node, (exp.CurrentDate, exp.CurrentTimestamp, exp.CurrentTime, exp.Rand)):
        hint = _CLOCK_HINT
    elif "Read" in type(node).__name__ or isinstance(node, exp.Table):
        hint = _SOURCE_ONLY
    else:
        hint = _ALLOWED_HINT
    if name is None:
        snippet = node.sql("duckdb")
        name = snippet.lower() if isinstance(node, exp.Func) and not list(node.iter_expressions()) else snippet
        raise SpecError(f"'{name}' is not allowed in a formula", at=at, hint=hint)
    raise SpecError(f"function '{name}' is not allowed in a formula", at=at, hint=hint)


def _check_function(node: Any, kind: str, where: Any, tokens: list[Any]) -> None:
    from sqlglot import exp

    name = str(node.this).lower()
    at = where(_offset(node, tokens))
    if name not in DERIVED_FUNCTIONS or kind != "derived":
        if name in DERIVED_FUNCTIONS:
            raise SpecError(
                f"{name}() is for derived KPIs only", at=at, hint="define a derived KPI (no source:) over this one"
            )
        choices = [*_functions(), *(DERIVED_FUNCTIONS if kind == "derived" else ())]
        hint = _CLOCK_HINT if name in _CLOCK else suggest(name, choices) if len(name) > 3 else None
        raise SpecError(f"function '{name}' is not allowed in a formula", at=at, hint=hint or _ALLOWED_HINT)
    lo, hi = DERIVED_FUNCTIONS[name]
    args = node.expressions
    if not lo <= len(args) <= hi:
        count = str(lo) if lo == hi else f"{lo} or {hi}" if hi == lo + 1 else f"{lo} to {hi}"
        raise SpecError(f"{name}() takes {count} arguments, got {len(args)}", at=at)
    if not isinstance(args[0], exp.Column):
        raise SpecError(f"the first argument of {name}() must be a KPI name", at=where(_offset(args[0], tokens)))
    if name in FUNNELS:
        _check_funnel(node, name, at, where, tokens)
        return
    if name in ("prior", "rolling", "rolling_avg") and len(args) >= 2:
        n = args[1]
        if not (isinstance(n, exp.Literal) and not n.is_string and n.this.isdigit() and int(n.this) >= 1):
            raise SpecError(
                f"the second argument of {name}() must be a whole number of periods >= 1", at=where(_offset(n, tokens))
            )
        for arg in args[2:]:
            _check_option(name, arg, args, where(_offset(arg, tokens)))
    if name == "to_date" and window_grain(node) not in TO_DATE_UNITS:
        raise SpecError(
            f"to_date() takes one of {', '.join(TO_DATE_UNITS)}",
            at=where(_offset(args[1], tokens)),
            hint="e.g. to_date(revenue, year)",
        )


_FUNNEL_HINT = "e.g. conversion(visits, signups, entity: user_id, within: 7 days)"


def _check_funnel(node: Any, name: str, at: Location | None, where: Any, tokens: list[Any]) -> None:
    """``conversion(base, then, entity: col, within: n unit[, same: col | (col, …)])``."""
    from sqlglot import exp

    args = node.expressions
    if not isinstance(args[1], exp.Column) or isinstance(args[1], (exp.PropertyEQ, exp.Kwarg)):
        raise SpecError(
            f"the second argument of {name}() must be a KPI name: the conversion event",
            at=where(_offset(args[1], tokens)),
            hint=_FUNNEL_HINT,
        )
    seen: dict[str, Any] = {}
    for arg in args[2:]:
        spot = where(_offset(arg, tokens))
        if not isinstance(arg, (exp.PropertyEQ, exp.Kwarg)):
            raise SpecError(f"{name}() takes two KPIs, then entity:, within: and same:", at=spot, hint=_FUNNEL_HINT)
        key = str(arg.this.name if hasattr(arg.this, "name") else arg.this).lower()
        if key not in ("entity", "within", "same") or key in seen:
            problem = f"{name}() takes no option '{key}'" if key not in seen else f"{key}: is given twice"
            raise SpecError(problem, at=spot, hint="its options: entity:, within:, same:")
        seen[key] = arg.expression
    for key, what in (("entity", "entity: the column that says who converts"), ("within", "within: the window")):
        if key not in seen:
            raise SpecError(f"{name}() needs {what}", at=at, hint=_FUNNEL_HINT)
    if not isinstance(seen["entity"], exp.Column):
        raise SpecError("entity: must be a column name", at=where(_offset(seen["entity"], tokens)), hint=_FUNNEL_HINT)
    within = seen["within"]
    amount = within.this if isinstance(within, exp.Mul) else None
    unit = within.expression if isinstance(within, exp.Mul) else None
    if not (
        isinstance(amount, exp.Literal)
        and amount.this.isdigit()
        and int(amount.this) >= 1
        and isinstance(unit, exp.Column)
        and unit.name.lower().removesuffix("s") in WITHIN_UNITS
    ):
        raise SpecError(
            f"within: must be a whole number of {', '.join(u + 's' for u in WITHIN_UNITS)}",
            at=where(_offset(within, tokens)),
            hint="e.g. within: 7 days, within: 48 hours",
        )
    if int(amount.this) * WITHIN_MINUTES[WITHIN_UNITS[unit.name.lower().removesuffix("s")]] > 10 * 366 * 1440:
        raise SpecError("within: is at most 10 years", at=where(_offset(within, tokens)), hint="e.g. within: 52 weeks")
    same = seen.get("same")
    if same is not None:
        columns = same.expressions if isinstance(same, (exp.Tuple, exp.Array)) else [same]
        if not columns or not all(isinstance(c, exp.Column) for c in columns):
            raise SpecError(
                "same: must be a column, or columns in parentheses",
                at=where(_offset(same, tokens)),
                hint="e.g. same: channel, or same: (channel, device)",
            )


def funnel_args(node: Any) -> tuple[str, str, tuple[str, str], str, tuple[str, ...]]:
    """``(base KPI, conversion KPI, (n, SQL interval unit), entity, same columns)`` of a checked funnel call."""
    from sqlglot import exp

    options = {
        str(a.this.name if hasattr(a.this, "name") else a.this).lower(): a.expression for a in node.expressions[2:]
    }
    within = options["within"]
    unit = WITHIN_UNITS[within.expression.name.lower().removesuffix("s")]
    same = options.get("same")
    columns = same.expressions if isinstance(same, (exp.Tuple, exp.Array)) else [same] if same is not None else []
    return (
        node.expressions[0].name,
        node.expressions[1].name,
        (within.this.this, unit),
        options["entity"].name,
        tuple(dict.fromkeys(".".join(p.name for p in c.parts) for c in columns)),
    )


def funnel_call(text: str) -> str | None:
    """``conversion`` or ``converted`` when a checked derived formula is a funnel (the call is
    then the whole formula: ``checks`` refuses it anywhere else)."""
    found = re.match(r"\s*(\w+)\s*\(", text)
    name = found.group(1).lower() if found else None
    return name if name in FUNNELS else None


def _funnel_option(node: Any) -> bool:
    """Is ``node`` inside an option of a funnel call (``entity: user_id``): columns, not KPIs."""
    from sqlglot import exp

    child, parent = node, node.parent
    while parent is not None:
        if isinstance(child, (exp.PropertyEQ, exp.Kwarg)) and str(getattr(parent, "this", "")).lower() in FUNNELS:
            return isinstance(parent, exp.Anonymous)
        child, parent = parent, parent.parent
    return False


def _check_option(name: str, arg: Any, args: list[Any], at: Location | None) -> None:
    """The third and fourth arguments: a unit (``prior(k, 1, year)``), ``full := true`` for a window."""
    from sqlglot import exp

    if isinstance(arg, (exp.PropertyEQ, exp.Kwarg)):
        key = str(arg.this.name if hasattr(arg.this, "name") else arg.this).lower()
        if key != "full" or name == "prior":
            raise SpecError(
                f"{name}() takes no option '{key}'",
                at=at,
                hint="the one option of a window: full: true (NULL until it spans its n periods)",
            )
        if not isinstance(arg.expression, exp.Boolean):
            raise SpecError(f"full takes true or false, not {arg.expression.sql('duckdb')}", at=at)
        return
    unit = str(arg.name).lower() if isinstance(arg, (exp.Column, exp.Var)) else ""
    if arg is not args[2] or unit not in OFFSET_UNITS:
        raise SpecError(
            f"the third argument of {name}() must be a unit: {', '.join(OFFSET_UNITS)}",
            at=at,
            hint=f"e.g. {name}(revenue, 1, year)" + (" or full: true" if name != "prior" else ""),
        )


def offset_args(node: Any) -> tuple[int, str | None, bool]:
    """``(n, unit, full)`` of ``prior``, ``rolling`` or ``rolling_avg`` (checked): n defaults to
    1, unit to None (periods of the grain), full to false."""
    from sqlglot import exp

    args = node.expressions
    n = int(args[1].name) if len(args) > 1 else 1
    unit, full = None, False
    for arg in args[2:]:
        if isinstance(arg, (exp.PropertyEQ, exp.Kwarg)):
            full = bool(arg.expression.this) if isinstance(arg.expression, exp.Boolean) else False
        else:
            unit = str(arg.name).lower()
    return n, unit, full


def derived_call(node: Any) -> str | None:
    """``prior``, ``rolling``, ``cumulative`` or ``to_date`` when ``node`` is such a call."""
    from sqlglot import exp

    name = str(node.this).lower() if isinstance(node, exp.Anonymous) else None
    return name if name in DERIVED_FUNCTIONS else None


def written(node: Any) -> str:
    """A call as the user wrote it, in lower case (``to_date(revenue, month)``), for messages."""
    return str(node.sql("duckdb", normalize_functions=False))


def offset_of(node: Any, text: str) -> int:
    """Offset in ``text`` where ``node`` starts (a call: at its name, not its first argument)."""
    offset = _offset(node)
    call = re.search(r"(\w+)\s*\(\s*$", text[:offset]) if node.key == "anonymous" else None
    return call.start(1) if call and call.group(1).lower() == str(node.this).lower() else offset


def window_grain(node: Any) -> str:
    """The grain word of ``to_date(k, year)`` whether written bare or quoted."""
    arg = node.expressions[1]
    return str(arg.name if hasattr(arg, "name") else arg).strip("'").lower()


def _check_aggregation(tree: Any, kind: str, where: Any, tokens: list[Any]) -> None:
    from sqlglot import exp

    aggs = list(tree.find_all(exp.AggFunc))
    if kind == "aggregate":
        if not aggs:
            example = f"sum({tree.sql('duckdb').lower()})" if tree.find(exp.Column) else "count(*)"
            raise SpecError("a source KPI's formula must aggregate its rows", at=where(0), hint=f"e.g. {example}")
        for col in tree.find_all(exp.Column):
            if not _inside(col, (exp.AggFunc, exp.Filter)):
                raise SpecError(
                    f"column '{col.sql()}' is outside an aggregate",
                    at=where(_offset(col)),
                    hint=f"aggregate it, e.g. sum({col.sql()}) or max({col.sql()})",
                )
        for agg in aggs:
            if _inside(agg, exp.AggFunc):
                raise SpecError(
                    "aggregates cannot be nested",
                    at=where(_offset(agg, tokens)),
                    hint="a nested total is a derived KPI over two KPIs",
                )
    elif aggs:
        what = {
            "derived": "a derived KPI combines KPI names",
            "filter": "a filter is a condition on each row",
            "dimension": "a dimension is computed on each row",
            "column": "a computed column is computed on each row",
        }[kind]
        raise SpecError(
            f"aggregate '{aggs[0].sql('duckdb').lower()}' is not allowed here: {what}",
            at=where(_offset(aggs[0], tokens)),
        )


def _inside(node: Any, kind: type | tuple[type, ...]) -> bool:
    parent = node.parent
    while parent is not None:
        if isinstance(parent, kind):
            return True
        parent = parent.parent
    return False


def columns(tree: Any) -> set[str]:
    """Column names an expression reads (qualified ones as ``table.col`` or a path ``a.b.col``)."""
    return set(column_offsets(tree))


def column_offsets(tree: Any) -> dict[str, int]:
    """Each column name (as in ``columns``) → the offset of its first use in the text."""
    from sqlglot import exp

    found: dict[str, int] = {}
    for c in tree.find_all(exp.Column):
        if not _is_grain_word(c):
            name, offset = ".".join(part.name for part in c.parts), _offset(c)  # a lookup's path too
            found[name] = min(found.get(name, offset), offset)
    return found


kpi_refs = columns  # the KPI names a derived formula uses (the grain word of to_date excluded)


def _is_grain_word(col: Any) -> bool:
    from sqlglot import exp

    if _funnel_option(col):  # entity: user_id names a column of the events, not a KPI
        return True
    parent = col.parent
    if not isinstance(parent, exp.Anonymous):
        return False
    name, args = str(parent.this).lower(), parent.expressions
    if name == "to_date":
        return args[-1] is col
    return name in ("prior", "rolling", "rolling_avg") and len(args) > 2 and args[2] is col  # a unit
