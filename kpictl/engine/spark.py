"""Run compiled SQL on Apache Spark (PySpark): the only module of kpictl that imports pyspark.

One session per process and settings: classic (``master: local[2]``, ``yarn``…) or Spark
Connect (``remote: sc://host:15002``, or ``remote: local[2]`` for PySpark's in-process Connect
server). Each source becomes a temporary view named after it: ``path:`` is read with Spark's own
readers (any URI Spark reads: local, ``s3a://``, ``abfss://``, ``hdfs://``; credentials come from
the environment or Spark's configuration, never from kpictl.yml), ``table:`` is a catalog table.
The SQL is the compiler's, generated for Spark (``sql.dialects``), with its dates inlined.

What holds on Spark (README, "Running on Spark"): the formula allow-list (same parser, same
checks before any SQL exists), and only one statement, a query, is ever sent — checked here by
parsing it, so a definition cannot write, drop or set anything through kpictl. There is no
file-level sandbox as on DuckDB: the query runs with the session's rights, and the cluster's own
permissions decide what else it could read.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kpictl.engine import (
    Results,
    computed_sql,
    duplicate_key_error,
    duplicate_keys_sql,
    given_types,
    latest_of,
    tie_error,
)
from kpictl.errors import DataError, InvalidProject, KpiError, Location, SpecError
from kpictl.model import Computed, Config, Engine, Lookup, Row, Source
from kpictl.sql.dialects import to_dialect

Tables = Mapping[str, Sequence[Mapping[str, Any]]]
Types = Mapping[str, Mapping[str, str]]

#: Settings every session gets: UTC (a TIMESTAMP cast to a DATE must not depend on the machine),
#: few shuffle partitions (KPI results are small), no web UI.
DEFAULT_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "4",
    "spark.ui.enabled": "false",
    "spark.sql.ansi.enabled": "false",  # x / 0 is NULL as on DuckDB, not an error
}
_SESSIONS: dict[tuple[Any, ...], Any] = {}

# DuckDB type names (what kpictl's planner and test rows speak) ↔ Spark SQL types.
_TO_SPARK = {
    "BOOLEAN": "BOOLEAN",
    "TINYINT": "TINYINT",
    "SMALLINT": "SMALLINT",
    "INTEGER": "INT",
    "BIGINT": "BIGINT",
    "HUGEINT": "DECIMAL(38,0)",
    "FLOAT": "FLOAT",
    "DOUBLE": "DOUBLE",
    "DATE": "DATE",
    "TIMESTAMP": "TIMESTAMP_NTZ",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMP",
    "VARCHAR": "STRING",
    '"NULL"': "VOID",
}
_FROM_SPARK = {
    "boolean": "BOOLEAN",
    "tinyint": "TINYINT",
    "smallint": "SMALLINT",
    "int": "INTEGER",
    "bigint": "BIGINT",
    "float": "FLOAT",
    "double": "DOUBLE",
    "date": "DATE",
    "timestamp": "TIMESTAMP WITH TIME ZONE",
    "timestamp_ntz": "TIMESTAMP",
    "string": "VARCHAR",
    "void": '"NULL"',
}


def session(engine: Engine) -> Any:
    """The Spark session for ``engine`` (started once per process: starting one takes 7-15 s)."""
    key = (engine.master, engine.remote, tuple(sorted(engine.conf.items())))
    if key not in _SESSIONS:
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            raise SpecError(
                "the spark engine needs PySpark", hint="pip install 'kpictl[spark]' (and Java 17 or later)"
            ) from None
        builder = SparkSession.builder.appName("kpictl")
        builder = builder.remote(engine.remote) if engine.remote else builder.master(engine.master or "local[2]")
        # Spark's own progress bar helps in a terminal; in a CI log it is thousands of \r-lines
        progress = {"spark.ui.showConsoleProgress": "true" if sys.stderr.isatty() else "false"}
        conf = {**DEFAULT_CONF, **progress, **engine.conf}
        if engine.remote:  # Connect sets only session (spark.sql.*) settings: CANNOT_MODIFY_CONFIG otherwise
            conf = {k: v for k, v in conf.items() if k.startswith("spark.sql.")}
        for name, value in conf.items():
            builder = builder.config(name, value)
        print(f"kpictl: starting Spark ({engine.remote or engine.master or 'local[2]'})…", file=sys.stderr)
        try:
            spark = builder.getOrCreate()
        except Exception as error:  # py4j/JVM/gRPC errors have no common base class
            raise DataError(f"cannot start Spark: {_first_line(error)}", hint="is Java 17+ installed?") from None
        for name, value in conf.items():
            if name.startswith("spark.sql."):
                spark.conf.set(name, value)  # a reused session (getOrCreate) gets them too
        _SESSIONS[key] = spark
    return _SESSIONS[key]


def stop_all() -> None:
    """Stop the sessions this process started (tests and benchmarks call this at the end)."""
    for spark in _SESSIONS.values():
        spark.stop()
    _SESSIONS.clear()


def execute(
    compiled: Any,
    config: Config,
    *,
    tables: Tables | None = None,
    types: Types | None = None,
    timeout: float = 300.0,
) -> list[Row]:
    """Run a ``compiler.CompiledQuery`` on Spark and return its tidy rows, as ``duckdb.execute``."""
    return results(compiled, config, tables=tables, types=types, timeout=timeout, latest=False).rows


def results(
    compiled: Any,
    config: Config,
    *,
    tables: Tables | None = None,
    types: Types | None = None,
    timeout: float = 300.0,
    latest: bool = True,
    columns: bool = False,
) -> Results:
    """:func:`execute`'s rows and, with ``latest``, the freshness of its feeds, as ``duckdb.results``
    (``columns``: as a ``table.Table``, built from the rows Spark returns)."""
    types = given_types(compiled, tables, types)
    spark = session(config.engine)
    spark.conf.set("spark.sql.session.timeZone", config.timezone)  # as DuckDB's TimeZone: days are cut there
    sql = to_dialect(compiled.sql, compiled.params, "spark")
    _register(spark, config, compiled.sources, tables, types)
    check_lookup_keys(spark, compiled.lookups)
    for kpis, check, at in compiled.ties:
        if found := [tuple(r) for r in run_select(spark, to_dialect(check, compiled.params, "spark"))]:
            raise tie_error(kpis, at, found)
    try:
        result = run_select(spark, sql)
        fresh = run_select(spark, to_dialect(compiled.freshness, {}, "spark")) if latest and compiled.feeds else []
    except SpecError:
        raise
    except Exception as error:
        raise DataError(
            _first_line(error), hint=f"while computing {', '.join(compiled.kpis)} on Spark", sql=sql
        ) from None
    width = len(compiled.by)
    hours = set(compiled.hours)  # their period stays a datetime (an hour), the others' a date
    rows = [
        Row(
            r[0],
            r[1] if r[0] in hours else _date(r[1]),
            dict(zip(compiled.by, r[2 : 2 + width], strict=True)),
            r[2 + width],
        )
        for r in result
    ]
    if columns:
        from kpictl import table

        return Results([], latest_of(fresh), table.from_rows(rows, compiled.by, judged=False))
    return Results(rows, latest_of(fresh))


def run_select(spark: Any, sql: str) -> list[tuple[Any, ...]]:
    """Run ``sql`` if it is exactly one query (SELECT / WITH … SELECT / UNION), else refuse."""
    import sqlglot
    from sqlglot import exp

    try:
        statements = sqlglot.parse(sql, read="spark")
    except sqlglot.errors.SqlglotError as error:
        raise SpecError(f"refused to run SQL that does not parse: {str(error).splitlines()[0]}", sql=sql) from None
    kinds = [type(s).__name__ for s in statements if s is not None]
    if len(kinds) != 1 or not isinstance(statements[0], exp.Query):
        raise SpecError(
            f"refused to run: kpictl runs exactly one SELECT statement, this SQL has {', '.join(kinds) or 'nothing'}",
            sql=sql,
        )
    return [tuple(row) for row in spark.sql(sql).collect()]


def schemas(config: Config, tables: Tables | None = None) -> tuple[dict[str, dict[str, str]], list[KpiError]]:
    """Column → (DuckDB-named) type of every readable source, and the problem of each source
    that exists but cannot be read, as ``duckdb.schemas``."""
    from kpictl.engine.duckdb import with_given

    spark = session(config.engine)
    found: dict[str, dict[str, str]] = {}
    unreadable: list[KpiError] = []
    for name, source in config.sources.items():
        try:
            frame = _read(spark, config, source)
        except DataError as error:
            if not _missing(error):
                unreadable.append(error)
            continue
        try:
            fields = _with_computed(frame, source.computed).schema.fields
        except SpecError as error:
            unreadable.append(error)
            continue
        except Exception as error:  # Spark's analysis of a computed column: at the first one
            message = f"computed columns of source '{name}': {_first_line(error)}"
            unreadable.append(SpecError(message, at=source.computed[0].at))
            continue
        found[name] = {f.name: _FROM_SPARK.get(f.dataType.simpleString(), "VARCHAR") for f in fields}
    return with_given(found, tables), unreadable


def check_lookup_keys(spark: Any, lookups: Iterable[tuple[str, Lookup]]) -> None:
    """Refuse lookups whose key is not unique in the looked-up source (as on DuckDB)."""
    from kpictl.sql.quoting import backtick

    errors: list[KpiError] = []
    for fact, lookup in lookups:
        sql = duplicate_keys_sql(lookup, backtick, "STRING")
        duplicates = [tuple(r) for r in spark.sql(sql).collect()]
        if duplicates:
            errors.append(duplicate_key_error(fact, lookup, duplicates))
    if errors:
        raise errors[0] if len(errors) == 1 else InvalidProject(errors)


def _register(spark: Any, config: Config, sources: Iterable[str], tables: Tables | None, types: Types | None) -> None:
    """Each source as a temporary view named after it: its files or table, or the given rows."""
    names = list(sources)
    if tables is not None:
        for name in names:
            _rows_view(spark, name, tables.get(name, ()), (types or {}).get(name, {}), config.sources.get(name))
        return
    for name in names:
        if name not in config.sources:
            raise SpecError(f"unknown source '{name}'")
        source = config.sources[name]
        _with_computed(_read(spark, config, source), source.computed).createOrReplaceTempView(name)


def _with_computed(frame: Any, computed: Sequence[Computed]) -> Any:
    """``frame`` with the computed columns, layer by layer (``resolve.computed_layers``)."""
    from kpictl.language.resolve import computed_layers
    from kpictl.sql.quoting import backtick

    for layer in computed_layers(computed):
        frame = frame.selectExpr("*", *(f"{computed_sql(c, 'spark')} AS {backtick(c.name)}" for c in layer))
    return frame


def _read(spark: Any, config: Config, source: Source) -> Any:
    """A DataFrame of a source: a catalog table, or files read by Spark's Parquet/CSV reader."""
    try:
        if source.table:
            return spark.table(source.table)
        location = source.path if _is_uri(source.path) else _local(config, source)
        reader = spark.read
        if source.format == "csv":
            return reader.csv(location, header=True, inferSchema=True)
        return reader.parquet(location)
    except SpecError:
        raise
    except Exception as error:
        what = f"table '{source.table}'" if source.table else f"'{source.path}'"
        raise DataError(f"cannot read source '{source.name}' ({what}): {_first_line(error)}", at=source.at) from None


def _local(config: Config, source: Source) -> str:
    """A local path, held to the project's folders as on DuckDB (a URI is the cluster's business)."""
    from kpictl.language import paths

    where = os.path.join(config.root, source.path)
    if not paths.inside(
        os.path.join(config.root, paths.static_part(source.path)), paths.roots(config.root, config.allowed)
    ):
        raise SpecError(
            f"source '{source.name}': path leaves the project: {source.path}", at=source.at, hint=paths.HINT
        )
    return where


def _rows_view(spark: Any, name: str, rows: Sequence[Mapping[str, Any]], types: Mapping[str, str], source: Any) -> None:
    """A temporary view of given rows (KPI unit tests), typed like the source's real columns."""
    from kpictl.engine.duckdb import _infer
    from kpictl.sql.quoting import backtick

    computed = [c for c in (source.computed if source else ()) if not any(c.name in row for row in rows)]
    types = {c: t for c, t in types.items() if c not in {x.name for x in computed}}
    columns = list(dict.fromkeys([*types, *(c for row in rows for c in row)]))
    if not columns:
        raise DataError(f"no rows and no columns given for source '{name}'")
    kinds = {c: types.get(c) or _infer([row.get(c) for row in rows]) for c in columns}
    schema = ", ".join(f"{backtick(c)} {_spark_type(kinds[c])}" for c in columns)
    data = [tuple(_value(row.get(c), kinds[c]) for c in columns) for row in rows]
    try:
        frame = spark.createDataFrame(data, schema=schema)
    except Exception as error:
        raise DataError(f"rows given for source '{name}' do not fit its columns: {_first_line(error)}") from None
    _with_computed(frame, computed).createOrReplaceTempView(name)


def _spark_type(duck: str) -> str:
    upper = duck.upper()
    if upper.startswith("DECIMAL"):
        return upper
    return _TO_SPARK.get(upper, _TO_SPARK.get(duck, "STRING"))


def _value(value: Any, kind: str) -> Any:
    """A YAML value as Spark wants it for ``kind`` (dates written as text, ints for doubles)."""
    if value is None:
        return None
    kind = kind.upper()
    if kind == "DATE" and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if kind.startswith("TIMESTAMP") and isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    if kind.startswith("TIMESTAMP") and isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day)
    if kind in ("DOUBLE", "FLOAT") and isinstance(value, int):
        return float(value)
    return value


def _date(value: Any) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _is_uri(path: str) -> bool:
    return re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", path) is not None


def _missing(error: DataError) -> bool:
    return "PATH_NOT_FOUND" in error.message or "does not exist" in error.message


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


__all__ = ["Location", "execute", "run_select", "schemas", "session", "stop_all"]
