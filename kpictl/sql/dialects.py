"""The compiled SQL in another engine's dialect: sqlglot's generator plus kpictl's own rules.

The compiler writes DuckDB SQL. For another engine that text is parsed once (sqlglot, read as
DuckDB) and generated again for the target, after the rewrites of that dialect's entry in
``REWRITES`` have been applied to the tree. sqlglot already translates the surface: identifier
quotes (backticks on Spark), ``//`` (``DIV``), ``unnest``/``generate_series``
(``explode``/``sequence``) and NULL ordering (DuckDB sorts NULLs last, Spark first: sqlglot
writes ``NULLS LAST`` on every ORDER BY key). The rules here cover what it gets wrong or what
the semantics of the two engines make differ, each measured on PySpark 4.3 against DuckDB:

- ``WITH x AS MATERIALIZED`` does not parse on Spark (its CTEs are inlined or reused by the
  optimizer on its own): dropped.
- ``quantile_cont(x, q)`` becomes ``PERCENTILE_CONT(x, q)`` (wrong arity on Spark); Spark's
  ``percentile(x, q)`` is the same exact, linearly interpolated quantile. ``quantile_disc``
  becomes ``percentile_disc(q) WITHIN GROUP (ORDER BY x)`` (sqlglot writes an approximation).
- ``CAST(explode(…) AS DATE)``: a generator may not be nested in an expression. The spine's
  ``sequence`` of DATEs is already DATEs on Spark, so the cast is dropped.
- ``date_diff('minute', a, b)`` counts minute *boundaries* on DuckDB and whole minutes elapsed
  on Spark (10:00:59 → 10:01:00 is 1 vs 0): both ends are truncated to the unit first.
- ``$name`` parameters become DATE literals (they are only ever dates kpictl computed), so the
  printed SQL runs as it is, in a notebook or ``spark-sql``.

Engines are also set up alike (session time zone UTC; weeks start on Monday on both). Integer
division needs nothing: ``/`` is true division on DuckDB and Spark alike, ``//`` → ``DIV``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from typing import Any

from kpictl.errors import SpecError

#: Dialects whose SQL runs in kpictl's tests (the cross-engine test compares their numbers).
TESTED = ("duckdb", "spark")


def untested_warning(dialect: str) -> str | None:
    """The one-line warning for a dialect whose SQL kpictl does not run in its tests, if any."""
    if dialect.lower() in TESTED:
        return None
    return (
        f"warning: the {dialect} SQL is untested (sqlglot transpiles it; kpictl runs only "
        f"{' and '.join(TESTED)} in its tests)"
    )


def to_dialect(sql: str, params: Mapping[str, Any], dialect: str) -> str:
    """``sql`` (DuckDB, with ``$name`` date ``params``) as SQL of ``dialect``, ending in a newline."""
    dialect = dialect.lower()
    if dialect == "duckdb":
        return sql
    import sqlglot

    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    try:
        sqlglot.Dialect.get_or_raise(dialect)
        tree = sqlglot.parse_one(sql, read="duckdb")
        tree = tree.transform(_parameters(params), copy=False)
        for rule in REWRITES.get(dialect, ()):
            tree = tree.transform(rule, copy=False)
        # comments=False: a comment holds file paths, and `*/` in one would end a /* */ comment
        text: str = tree.sql(dialect, pretty=True, comments=False, unsupported_level=sqlglot.ErrorLevel.RAISE)
    except (ValueError, sqlglot.errors.SqlglotError) as error:
        raise SpecError(f"cannot transpile to '{dialect}': {str(error).splitlines()[0]}") from None
    header = sql.split("\n", 1)[0]  # `-- kpictl: <kpis> by <dims>`: names only, one line
    return (header + "\n" if header.startswith("-- kpictl:") else "") + text + "\n"


def _parameters(params: Mapping[str, Any]) -> Callable[[Any], Any]:
    from sqlglot import exp

    def rule(node: Any) -> Any:
        if isinstance(node, (exp.Placeholder, exp.Parameter)):
            name = node.name or (node.this.name if isinstance(node.this, exp.Expr) else str(node.this))
            value = params.get(name)
            if not isinstance(value, dt.date):
                raise ValueError(f"no value for parameter ${name}")
            if isinstance(value, dt.datetime):  # an hour's bound: a moment, not its day
                return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), exp.DataType.build("TIMESTAMP"))
            return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.build("DATE"))
        return node

    return rule


# -- Spark ------------------------------------------------------------------------------------


def _spark_materialized(node: Any) -> Any:
    from sqlglot import exp

    if isinstance(node, exp.CTE) and node.args.get("materialized") is not None:
        node.set("materialized", None)
    return node


def _spark_quantiles(node: Any) -> Any:
    from sqlglot import exp

    if isinstance(node, exp.PercentileCont) and node.expression is not None:
        return exp.Quantile(this=node.this, quantile=node.expression)  # → percentile(x, q)
    if isinstance(node, exp.PercentileDisc) and node.expression is not None:
        order = exp.Order(expressions=[exp.Ordered(this=node.this, nulls_first=False)])
        call = exp.Anonymous(this="percentile_disc", expressions=[node.expression])
        return exp.WithinGroup(this=call, expression=order)
    return node


def _spark_generator_cast(node: Any) -> Any:
    from sqlglot import exp

    if isinstance(node, exp.Cast) and isinstance(node.this, (exp.Explode, exp.Unnest)):
        return node.this
    return node


def _spark_date_diff(node: Any) -> Any:
    from sqlglot import exp

    if isinstance(node, exp.DateDiff) and node.args.get("date_part_boundary") and node.unit is not None:
        unit = node.unit
        end = exp.TimestampTrunc(this=node.this, unit=unit.copy())
        start = exp.TimestampTrunc(this=node.expression, unit=unit.copy())
        return exp.DateDiff(this=end, expression=start, unit=unit.copy())
    return node


#: Per dialect, the tree rewrites applied before sqlglot generates it (in this order).
REWRITES: dict[str, tuple[Callable[[Any], Any], ...]] = {
    "spark": (_spark_materialized, _spark_quantiles, _spark_generator_cast, _spark_date_diff),
    "databricks": (_spark_materialized, _spark_quantiles, _spark_generator_cast, _spark_date_diff),
}
