"""Run compiled SQL in a locked-down DuckDB: the only module of kpictl that imports duckdb.

A connection sees exactly the declared source files, as views named after the sources
(globs expanded here, so an empty glob is a clear error), or in-memory tables built from
given rows (KPI unit tests: same view names, so the very SQL of ``run`` runs on them). It is
opened per ENGINE-NOTES' recipe: extensions never autoloaded, ``allowed_paths`` first, then
external access off, then the views, then the configuration locked. Since allowed paths are
also writable, only a single SELECT statement is ever executed. DuckDB's errors become
``DataError`` pointing at the KPI, with the SQL attached.
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import duckdb

from kpictl.errors import DataError, InvalidProject, KpiError, Location, SpecError
from kpictl.model import Config, Lookup, Row, Source
from kpictl.sql.quoting import identifier, literal

Tables = Mapping[str, Sequence[Mapping[str, Any]]]  # source name → rows
Types = Mapping[str, Mapping[str, str]]  # source name → column → DuckDB type
_GLOB = re.compile(r"[*?\[]")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?")


def execute(
    compiled: Any,
    config: Config,
    *,
    tables: Tables | None = None,
    types: Types | None = None,
    timeout: float = 300.0,
) -> list[Row]:
    """Run a ``compiler.CompiledQuery`` and return its tidy rows (dims in ``by`` order).

    With ``tables``, the sources are those rows instead of the files; ``types`` gives the
    column types of a source when known (columns missing from the rows are then NULL of the
    right type). Lookup keys are checked unique before the query runs.
    """
    if tables is not None:  # a lookup the rows leave out is an empty table with its key: joins find nothing
        keys = {lk.source: {lk.on: '"NULL"'} for _, lk in compiled.lookups if lk.source not in tables}
        types = {name: {**keys.get(name, {}), **(types or {}).get(name, {})} for name in {*keys, *(types or {})}}
    with connect(config, compiled.sources, tables=tables, types=types) as con:
        check_lookup_keys(con, compiled.lookups)
        try:
            result = run_select(con, compiled.sql, compiled.params, timeout=timeout)
        except duckdb.InterruptException:
            hint = "narrow the range with --from/--to, or look for a KPI reading far too many rows"
            raise DataError(f"the query was stopped after {timeout:g} s", hint=hint, sql=compiled.sql) from None
        except duckdb.Error as error:
            raise _data_error(error, compiled) from None
    width = len(compiled.by)
    return [Row(r[0], r[1], dict(zip(compiled.by, r[2 : 2 + width], strict=True)), r[2 + width]) for r in result]


def run_select(
    con: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, Any] | None = None, *, timeout: float = 300.0
) -> list[tuple[Any, ...]]:
    """Run ``sql`` if it is exactly one SELECT statement, stopping it after ``timeout`` seconds.

    The statement guard matters even in the sandbox: the declared source files are writable
    through ``COPY … TO``, and ``ATTACH`` can reopen a file read-write (ENGINE-NOTES).
    """
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as error:
        raise SpecError(f"refused to run SQL that does not parse: {_first_line(error)}", sql=sql) from None
    kinds = [str(s.type).rsplit(".", 1)[-1] for s in statements]
    if kinds != ["SELECT"]:
        found = ", ".join(kinds) or "nothing"
        raise SpecError(f"refused to run: kpictl runs exactly one SELECT statement, this SQL has {found}", sql=sql)
    timer = threading.Timer(timeout, con.interrupt)
    timer.start()
    try:
        cursor = con.execute(sql, dict(params)) if params else con.execute(sql)
        return cursor.fetchall()
    except duckdb.PermissionException as error:
        message = f"refused: the query reaches outside the declared sources ({_first_line(error)})"
        raise SpecError(message, sql=sql) from None
    finally:
        timer.cancel()


def connect(
    config: Config,
    sources: Iterable[str],
    *,
    tables: Tables | None = None,
    types: Types | None = None,
    threads: int | None = None,
    memory_limit: str | None = None,
) -> duckdb.DuckDBPyConnection:
    """A sandboxed in-memory DuckDB where each of ``sources`` is a view (or a table of rows)."""
    names = list(dict.fromkeys(sources))
    settings: dict[str, Any] = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    settings |= {"threads": threads} if threads else {}
    settings |= {"memory_limit": memory_limit} if memory_limit else {}
    files = {} if tables is not None else {name: source_files(config, _source(config, name)) for name in names}
    con = duckdb.connect(":memory:", config=settings)
    try:
        con.execute("SET allowed_paths = ?", [[path for paths in files.values() for path in paths]])  # 1. allowlist
        con.execute("SET TimeZone = 'UTC'")  # casting a TIMESTAMPTZ to a DATE must not depend on the machine
        con.execute("SET enable_external_access = false")  # 2. everything else closed
        for name in names:  # 3. views (or tables) — after 2, or reads fail; before 4, or CREATE fails
            if tables is not None:
                _create_table(con, name, tables.get(name, ()), (types or {}).get(name, {}))
            else:
                _create_view(con, _source(config, name), files[name])
        con.execute("SET lock_configuration = true")  # 4. frozen
    except BaseException:
        con.close()
        raise
    return con


def _create_view(con: duckdb.DuckDBPyConnection, source: Source, files: list[str]) -> None:
    try:
        con.execute(f"CREATE VIEW {identifier(source.name)} AS {_reader(con, source, files)}")
    except duckdb.Error as error:  # binding the view reads the files' metadata: a broken file fails here
        raise DataError(f"cannot read source '{source.name}': {_first_line(error)}", at=source.at) from None


def describe(config: Config, source: str) -> dict[str, str]:
    """Column → DuckDB type of a source, from file metadata or the CSV sniffer's sample."""
    with connect(config, [source]) as con:
        try:
            rows = con.execute(f"DESCRIBE SELECT * FROM {identifier(source)}").fetchall()
        except duckdb.Error as error:
            raise DataError(
                f"cannot read source '{source}': {_first_line(error)}", at=_source(config, source).at
            ) from None
    return {str(name): str(kind) for name, kind, *_ in rows}


def schemas(
    config: Config, tables: Tables | None = None, unreadable: list[KpiError] | None = None
) -> dict[str, dict[str, str]]:
    """Column → type of every source whose files can be read, plus the columns of given rows.

    This is what ``planner.plan(columns=…)`` needs to resolve a bare name through lookups
    (``region`` of the customer of an order), and what ``execute(types=…)`` needs so that a
    column the given rows leave out is NULL of the right type. Sources without files are
    skipped (``run`` reports them); sources whose files exist but cannot be read are skipped
    too, their DataError appended to ``unreadable`` when given (``validate`` reports them).
    """
    readable = []
    for name in config.sources:
        try:
            source_files(config, config.sources[name])
        except DataError:
            continue  # no files: skipped here, reported by run
        readable.append(name)
    found: dict[str, dict[str, str]] = {}
    try:  # one sandboxed connection for all: opening one per source cost 0.25 s for 11 sources
        with connect(config, readable) as con:
            for name in readable:
                rows = con.execute(f"DESCRIBE SELECT * FROM {identifier(name)}").fetchall()
                found[name] = {str(column): str(kind) for column, kind, *_ in rows}
    except (DataError, duckdb.Error):
        found = {}  # a broken file: describe each source on its own to leave out just that one
        for name in readable:
            try:
                found[name] = describe(config, name)
            except DataError as error:
                if unreadable is not None:
                    unreadable.append(error)
    return with_given(found, tables)


def with_given(found: dict[str, dict[str, str]], tables: Tables | None) -> dict[str, dict[str, str]]:
    """``found`` (column types read from the files) completed by the columns of given rows."""
    merged = dict(found)
    for name, rows in (tables or {}).items():
        given = {column: _infer([row.get(column) for row in rows]) for row in rows for column in row}
        merged[name] = {**given, **found.get(name, {})}
    return merged


def check_lookup_keys(con: duckdb.DuckDBPyConnection, lookups: Iterable[tuple[str, Lookup]]) -> None:
    """Refuse lookups whose key is not unique in the looked-up source (a join would fan out).

    Raises DataError (or InvalidProject for several) naming up to 5 duplicated key values.
    """
    errors: list[KpiError] = []
    for fact, lookup in lookups:
        key, table = identifier(lookup.on), identifier(lookup.source)
        sql = (
            f"SELECT k, count(*) OVER () FROM (SELECT {key} AS k FROM {table} WHERE {key} IS NOT NULL "
            f"GROUP BY 1 HAVING count(*) > 1) ORDER BY k LIMIT 5"
        )
        try:
            duplicates = con.execute(sql).fetchall()
        except duckdb.Error as error:
            errors.append(
                DataError(
                    f"cannot check lookup {fact} → {lookup.source} on {lookup.on}: {_first_line(error)}", at=lookup.at
                )
            )
            continue
        if duplicates:
            shown = ", ".join(repr(k) for k, _ in duplicates)
            errors.append(
                DataError(
                    f"lookup key '{lookup.on}' is not unique in '{lookup.source}': {duplicates[0][1]} value(s) appear "
                    f"more than once ({shown}); joining '{fact}' to it would count rows several times",
                    at=lookup.at,
                    hint=f"remove the duplicates from '{lookup.source}' or look up a unique key",
                )
            )
    if errors:
        raise errors[0] if len(errors) == 1 else InvalidProject(errors)


def source_files(config: Config, source: Source) -> list[str]:
    """The real paths of a source's files: a file, a glob, or a folder (read recursively)."""
    if source.table:
        raise DataError(
            f"source '{source.name}' is the catalog table '{source.table}': only the spark engine reads tables",
            at=source.at,
            hint="run with --engine spark, or give the source a path:",
        )
    pattern = os.path.join(config.root, source.path)
    if os.path.isdir(pattern):
        pattern = os.path.join(pattern, "**", f"*.{_format(source)}")
    elif not _GLOB.search(source.path):
        if not os.path.isfile(pattern):
            raise DataError(
                f"source '{source.name}': file not found: {source.path}",
                at=source.at,
                hint=f"paths are relative to {os.path.join(config.root, 'kpictl.yml')}",
            )
        return [os.path.realpath(pattern)]
    found = sorted(os.path.realpath(p) for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))
    if not found:
        raise DataError(
            f"source '{source.name}': no file matches '{source.path}'",
            at=source.at,
            hint=f"paths are relative to {os.path.join(config.root, 'kpictl.yml')}",
        )
    return found


def _source(config: Config, name: str) -> Source:
    if name not in config.sources:
        raise SpecError(f"unknown source '{name}'")
    return config.sources[name]


def _format(source: Source) -> str:
    if source.format in ("csv", "parquet"):
        return source.format
    return "csv" if re.search(r"\.(csv|tsv)(\.gz|\.zst)?$", source.path) else "parquet"


def _reader(con: duckdb.DuckDBPyConnection, source: Source, files: list[str]) -> str:
    """The SELECT of a source's view: read_parquet/read_csv over its files."""
    listed = "[" + ", ".join(literal(f) for f in files) + "]"
    options = ", hive_partitioning = true" if source.hive_partitioning else ""
    if _format(source) == "parquet":
        return f"SELECT * FROM read_parquet({listed}{options})"
    options += ", union_by_name = true" if len(files) > 1 else ""
    if all(_header_only(f) for f in files):
        # DuckDB types a header-only CSV as VARCHAR, and sum(VARCHAR) does not bind. Columns of
        # type NULL bind to every function and give 0 rows, so KPIs read it as "no data".
        names = con.execute(f"DESCRIBE SELECT * FROM read_csv({listed}, header = true{options})").fetchall()
        return "SELECT " + ", ".join(f"NULL AS {identifier(str(n[0]))}" for n in names) + " WHERE false"
    return f"SELECT * FROM read_csv({listed}{options})"


def _header_only(path: str) -> bool:
    if not path.endswith((".csv", ".tsv")) or os.path.getsize(path) > 65536:
        return False
    with open(path, encoding="utf-8", errors="replace") as handle:
        return sum(1 for line in handle if line.strip()) <= 1


def _create_table(
    con: duckdb.DuckDBPyConnection, name: str, rows: Sequence[Mapping[str, Any]], types: Mapping[str, str]
) -> None:
    """A table of given rows: declared types first, else inferred from the values."""
    columns = list(dict.fromkeys([*types, *(c for row in rows for c in row)]))
    if not columns:
        raise DataError(f"no rows and no columns given for source '{name}'")
    kinds = {c: types.get(c) or _infer([row.get(c) for row in rows]) for c in columns}
    con.execute(f"CREATE TABLE {identifier(name)} ({', '.join(f'{identifier(c)} {kinds[c]}' for c in columns)})")
    if rows:
        try:
            con.executemany(
                f"INSERT INTO {identifier(name)} VALUES ({', '.join('?' * len(columns))})",
                [[row.get(c) for c in columns] for row in rows],
            )
        except duckdb.Error as error:
            raise DataError(f"rows given for source '{name}' do not fit its columns: {_first_line(error)}") from None


def _infer(values: list[Any]) -> str:
    """A DuckDB type for Python values (ISO date strings are dates: YAML keeps them as text)."""
    present = [v for v in values if v is not None]
    if not present:
        return '"NULL"'  # binds to anything, like the column of a header-only CSV
    if all(isinstance(v, bool) for v in present):
        return "BOOLEAN"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "BIGINT"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return "DOUBLE"
    if all(isinstance(v, dt.datetime) for v in present):
        return "TIMESTAMP"
    if all(isinstance(v, dt.date) for v in present):
        return "DATE"
    if all(isinstance(v, str) and _ISO_DATE.fullmatch(v) for v in present):
        return "DATE"
    if all(isinstance(v, str) and _ISO_TIMESTAMP.fullmatch(v) for v in present):
        return "TIMESTAMP"
    return "VARCHAR"


def _data_error(error: duckdb.Error, compiled: Any) -> DataError:
    """A DuckDB error as a DataError at the KPI whose aggregate names the column, if any."""
    message = _first_line(error)
    blamed = next(iter(compiled.at), None)
    for quoted in re.findall(r'"([^"]+)"', message):
        for line in compiled.sql.splitlines():
            alias = re.search(r' AS "(\w+)__\d+",?$', line)
            if f'"{quoted}"' in line and alias and alias.group(1) in compiled.at:
                blamed = alias.group(1)
                break
    at = compiled.at.get(blamed) if blamed else None
    kpis = ", ".join(compiled.kpis)
    return DataError(message, at=at or Location(), hint=f"while computing {kpis}" if kpis else None, sql=compiled.sql)


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
