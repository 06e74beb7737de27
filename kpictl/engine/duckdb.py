"""Run compiled SQL in a locked-down DuckDB (with ``engine.parquet``, the only modules importing duckdb).

A connection sees exactly the declared source files, as views named after the sources
(globs expanded here, so an empty glob is a clear error), or in-memory tables built from
given rows (KPI unit tests: same view names, so the very SQL of ``run`` runs on them). It is
opened in an order that matters (measured on DuckDB 1.x): extensions never autoloaded,
``allowed_paths`` first, then external access off (reads fail if it comes first), then the
views (creating them fails once the configuration is locked), then the configuration locked so
that no SQL can reopen it. Since allowed paths are also writable, compiled SQL runs only once
checked to be a single SELECT statement (a run's result then kept in temporary tables of this
module's own, in memory). DuckDB's errors become ``DataError`` pointing at the KPI, with
the SQL attached.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import math
import os
import re
import shutil
import tempfile
import threading
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np

from kpictl import table
from kpictl.engine import (
    Results,
    computed_sql,
    duplicate_key_error,
    duplicate_keys_sql,
    given_types,
    latest_of,
    tie_error,
)
from kpictl.engine.files import file_format as _format
from kpictl.engine.files import fingerprint as fingerprint  # re-exported: what Project.schemas keys on
from kpictl.engine.files import source_files as source_files
from kpictl.engine.files import spill_settings
from kpictl.errors import DataError, InvalidProject, KpiError, Location, SpecError, suggest
from kpictl.language import formula
from kpictl.language.resolve import computed_layers, computed_reads
from kpictl.model import Calendar, Config, Lookup, Row, Source
from kpictl.sql import calendars, periods
from kpictl.sql.quoting import identifier, literal

if TYPE_CHECKING:
    from kpictl.sql.query import CompiledQuery
    from kpictl.table import Table

Tables = Mapping[str, Sequence[Mapping[str, Any]]]  # source name → rows
Types = Mapping[str, Mapping[str, str]]  # source name → column → DuckDB type
_EPOCH = dt.date(1970, 1, 1).toordinal()  # day ordinal of datetime64[D] 0
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?")


def execute(
    compiled: CompiledQuery,
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
    return results(compiled, config, tables=tables, types=types, timeout=timeout, latest=False).rows


def results(
    compiled: CompiledQuery,
    config: Config,
    *,
    tables: Tables | None = None,
    types: Types | None = None,
    timeout: float = 300.0,
    latest: bool = True,
    columns: bool = False,
) -> Results:
    """:func:`execute`'s rows and, with ``latest``, how far each feed has data (the compiled
    freshness query, on the same connection)."""
    types = given_types(compiled, tables, types)
    with connect(config, compiled.sources, tables=tables, types=types) as con:
        check_lookup_keys(con, compiled.lookups)
        for kpis, check, at in compiled.ties:
            if found := run_select(con, check, compiled.params, timeout=timeout):
                raise tie_error(kpis, at, found)
        try:
            custom = read_calendar(con, compiled, timeout)
            fetched = fetch_table(con, compiled, timeout) if columns else None
            result = [] if fetched is not None else run_select(con, compiled.sql, compiled.params, timeout=timeout)
            fresh = run_select(con, compiled.freshness, timeout=timeout) if latest and compiled.feeds else []
        except duckdb.Error as error:
            raise _data_error(error, compiled) from None
    if fetched is not None:
        if (bad := fetched.extra.get("non_finite")) is not None and len(bad):
            shown = fetched.take(bad.index).rows()
            _check_finite(
                [dataclasses.replace(r, value=v) for r, v in zip(shown, bad.values, strict=True)], compiled, config
            )
        moments, index = np.unique(fetched.moments(), return_index=True)
        if len(moments) > periods.MAX_PERIODS:
            first, last = (fetched.take(index[[0, -1]])).periods()
            _too_many(len(moments), first, last, bool(compiled.hours))
        return Results([], latest_of(fresh), fetched, custom)
    width = len(compiled.by)
    hours = set(compiled.hours)
    rows = [
        Row(r[0], _period(r[1], r[0] in hours), dict(zip(compiled.by, r[2 : 2 + width], strict=True)), r[2 + width])
        for r in result
    ]
    _check_finite(rows, compiled, config)
    if (count := len({row.period for row in rows})) > periods.MAX_PERIODS:  # the range came from the data
        first, last = min(r.period for r in rows), max(r.period for r in rows)  # one grain: they compare
        _too_many(count, first, last, bool(hours))
    return Results(rows, latest_of(fresh), None, custom)


def calendar_problem(con: duckdb.DuckDBPyConnection, calendar: Calendar, timeout: float = 300.0) -> DataError | None:
    """The first problem of the calendar table (a date twice, a gap, a date without a label, a
    period not one run of dates), as the data error ``run`` raises and ``validate`` reports."""
    if found := run_select(con, calendars.check_sql(calendar), timeout=timeout):
        return calendars.check_error(calendar, found[0])
    return None


def read_calendar(con: duckdb.DuckDBPyConnection, compiled: CompiledQuery, timeout: float) -> dict[str, Any]:
    """The periods of each custom grain the query computes (``sql.calendars``), after checking
    the calendar table (one row per date, no gap, each period one run of dates) and that no row
    of a scan at a custom grain is dated outside it: a row without a period is never dropped."""
    calendar = compiled.calendar
    if calendar is None:
        return {}
    if (problem := calendar_problem(con, calendar, timeout)) is not None:
        raise problem
    for kpis, check, at in compiled.coverage:
        if (first := run_select(con, check, timeout=timeout)) and first[0][0] is not None:
            raise calendars.coverage_error(calendar, kpis, first[0][0], at)
    read = {
        grain: run_select(con, calendars.periods_sql(calendar, grain), timeout=timeout) for grain in compiled.custom
    }
    if any(not rows for rows in read.values()):
        raise DataError(f"calendar table '{calendar.table}' has no row", at=calendar.table_at, hint="one row per date")
    return {grain: calendars.Periods.of(rows) for grain, rows in read.items()}


def _too_many(count: int, first: dt.date, last: dt.date, hours: bool) -> None:
    """A run over more than ``periods.MAX_PERIODS`` periods is a mistake: say so (and how to narrow it)."""
    message = f"the run spans {count:,} periods, from {first} to {last}: more than {periods.MAX_PERIODS:,}"
    raise DataError(message, hint=periods.HOUR_HINT if hours else periods.RANGE_HINT)


def _period(value: dt.date, hourly: bool) -> dt.date:
    """A fetched period as ``Row.period``: the datetime of an hour, the date of any longer period
    (the result's period column is a TIMESTAMP as soon as one KPI of the run is hourly)."""
    if hourly:
        return value if isinstance(value, dt.datetime) else dt.datetime(value.year, value.month, value.day)
    return periods.as_day(value)


@dataclasses.dataclass(frozen=True)
class _NonFinite:
    """The rows whose value is NaN or infinite (a table's NaN is NULL): ``_check_finite`` names one."""

    index: Any
    values: list[float]

    def __len__(self) -> int:
        return len(self.index)


#: Dimension types whose NumPy column holds the values ``fetchall`` gives (others are fetched as rows).
_NUMPY_SAFE = {"VARCHAR", "BIGINT", "INTEGER", "SMALLINT", "TINYINT", "BOOLEAN", "DATE", "DOUBLE"}


#: The temporary tables of ``fetch_table`` (a space: no source is named so).
_RESULT, _CODES = identifier("kpictl result"), "kpictl codes {}"


def fetch_table(con: duckdb.DuckDBPyConnection, compiled: CompiledQuery, timeout: float = 300.0) -> Table:
    """The result of ``compiled.sql`` (after its guard) as a ``table.Table``, in its order: a NumPy
    array per column; a breakdown of another type than ``_NUMPY_SAFE`` (DECIMAL, TIMESTAMP,
    UUID…) as rows, so that its values are those of ``run``.

    The rows are kept in a temporary table and each text column (the KPI, a breakdown by
    customer) fetched as codes into its distinct values, fetched once: a text column fetched as
    is is one Python string per row (two million by customer), and ordered by its text the
    rows took a third of the query. The codes number the values in their order (NULL last),
    the KPIs in ``compiled.kpis``'s, and the rows are ordered by them: by KPI in the run's order,
    period and breakdown, the order ``Project.run`` gives (it then has nothing to move).
    """
    query = compiled.unordered
    _one_select(con, query)  # the text that runs, inside this module's own CREATE
    by, hours = compiled.by, compiled.hours
    params = _used(compiled.params, query)
    with _stoppable(con, compiled.sql, timeout):
        create = f"CREATE TEMP TABLE {_RESULT} AS {query}"
        con.execute(create, params or None)
        described = con.execute(f"DESCRIBE {_RESULT}").fetchall()
        names, kinds = [str(row[0]) for row in described], [str(row[1]) for row in described]
        order = f"ORDER BY {', '.join(str(i) for i in range(1, len(names)))}"  # every column but the value
        if any(kind not in _NUMPY_SAFE for kind in kinds[2:-1]):
            found = con.execute(f"SELECT * FROM {_RESULT} {order}").fetchall()
            width = len(by)
            rows = [
                Row(r[0], _period(r[1], r[0] in hours), dict(zip(by, r[2 : 2 + width], strict=True)), r[2 + width])
                for r in found
            ]
            return table.from_rows(rows, by, judged=False)
        columns, joins, distinct = [], [], {}
        for i, (name, kind) in enumerate(zip(names, kinds, strict=True)):
            column = f"r.{identifier(name)}"
            if kind == "VARCHAR":
                codes = identifier(_CODES.format(i))
                first = "list_position($kpis, v_) NULLS LAST, " if i == 0 else ""  # the KPIs in the run's order
                con.execute(
                    f"CREATE TEMP TABLE {codes} AS SELECT v_, CAST(row_number() OVER (ORDER BY {first}v_ NULLS LAST)"
                    f" - 1 AS BIGINT) AS code_ FROM (SELECT DISTINCT {identifier(name)} AS v_ FROM {_RESULT})",
                    {"kpis": list(compiled.kpis)} if i == 0 else None,
                )
                distinct[i] = [row[0] for row in con.execute(f"SELECT v_ FROM {codes} ORDER BY code_").fetchall()]
                joins.append(f"JOIN {codes} AS c{i} ON {column} IS NOT DISTINCT FROM c{i}.v_")
                column = f"c{i}.code_"
            columns.append(f"{column} AS {identifier(name)}")
        select = f"SELECT {', '.join(columns)} FROM {_RESULT} AS r {' '.join(joins)} {order}"
        arrays = list(con.execute(select).fetchnumpy().values())
    kpi_codes, kpis = arrays[0].astype(np.int64), distinct[0]
    periods_ = arrays[1].astype("datetime64[D]").astype(np.int64) + _EPOCH
    hour = None
    if hours:  # the hour of an hourly KPI's period, -1 for the others (table.Table.hour)
        within = (arrays[1].astype("datetime64[h]") - arrays[1].astype("datetime64[D]")).astype(np.int64)
        hourly = np.array([name in hours for name in kpis], dtype=bool)[kpi_codes]
        hour = np.where(hourly, within, -1)
    dims, coded = {}, {}
    for i, (name, kind, array) in enumerate(zip(by, kinds[2:-1], arrays[2:-1], strict=True), start=2):
        if kind == "VARCHAR":  # one string per distinct value, not one per row (100 MB a million rows)
            coded[name] = (array.astype(np.int64), distinct[i])
            dims[name] = table.objects(distinct[i])[coded[name][0]]
        else:
            dims[name] = _objects(array, kind)
    data, nulls = _split(arrays[-1])
    value = np.where(nulls, np.nan, data.astype(float))
    bad = np.flatnonzero(~nulls & ~np.isfinite(value))
    n = len(kpi_codes)
    return table.Table(
        tuple(kpis),
        kpi_codes,
        periods_,
        dims,
        value,
        np.ones(n, dtype=bool),
        np.zeros(n, dtype=bool),
        hour=hour,
        extra={"non_finite": _NonFinite(bad, value[bad].tolist())} if len(bad) else {},
        coded=coded,
    )


def _split(column: Any) -> tuple[Any, Any]:
    """A fetched NumPy column's values and where it is NULL. DuckDB gives a masked array only for a
    column with NULLs: numpy.ma is not touched for the others (its import costs 8 ms of a run)."""
    if not hasattr(column, "mask"):
        return column, np.zeros(len(column), dtype=bool)
    return np.ma.getdata(column), np.ma.getmaskarray(column)


def _objects(column: Any, kind: str) -> Any:
    """A fetched NumPy column as Python values, None for NULL (``fetchall``'s values)."""
    data, mask = _split(column)
    if kind == "DATE":
        data = data.astype("datetime64[D]")
    out = data.astype(object)
    if mask.any():
        out[mask] = None
    return out


def _check_finite(rows: list[Row], compiled: Any, config: Config) -> None:
    """A NaN or infinity in the data makes a sum or an average NaN or infinite: that is an error,
    never a silent ``no_data`` (a NaN passed ``--fail-on``) or an ``achieved`` without a value.
    Sources that declare ``non_finite: null`` read them as NULL instead (``_finite``)."""
    for row in rows:
        if row.value is not None and not math.isfinite(row.value):
            by = f" (one of its breakdowns by {', '.join(row.dims)})" if row.dims else ""
            raise DataError(
                f"{row.kpi} is {row.value} in the period of {row.period}{by}: the data has NaN or infinite values",
                at=compiled.at.get(row.kpi) or Location(),
                hint="clean the data, or declare non_finite: null on the source to read them as NULL",
                sql=compiled.sql,
            )


def run_select(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    params: Mapping[str, Any] | None = None,
    *,
    timeout: float = 300.0,
) -> list[tuple[Any, ...]]:
    """Run ``sql`` if it is exactly one SELECT statement, stopping it after ``timeout`` seconds.

    The statement guard matters even in the sandbox: the declared source files are writable
    through ``COPY … TO``, and ``ATTACH`` can reopen a file read-write.
    """
    _one_select(con, sql)
    with _stoppable(con, sql, timeout):
        used = _used(params, sql)
        return (con.execute(sql, used) if used else con.execute(sql)).fetchall()


def _one_select(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Refuse ``sql`` unless it is exactly one SELECT statement."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as error:
        raise SpecError(f"refused to run SQL that does not parse: {_first_line(error)}", sql=sql) from None
    kinds = [str(s.type).rsplit(".", 1)[-1] for s in statements]
    if kinds != ["SELECT"]:
        found = ", ".join(kinds) or "nothing"
        raise SpecError(f"refused to run: kpictl runs exactly one SELECT statement, this SQL has {found}", sql=sql)


def _used(params: Mapping[str, Any] | None, sql: str) -> dict[str, Any]:
    """The parameters ``sql`` names: DuckDB binds every parameter given or fails (a balance's tie
    check runs with the query's parameters and names none of the range's)."""
    return {name: value for name, value in (params or {}).items() if re.search(rf"\${name}\b", sql)}


@contextlib.contextmanager
def _stoppable(con: duckdb.DuckDBPyConnection, sql: str, timeout: float) -> Iterator[None]:
    """The statements run inside stopped after ``timeout`` seconds (a DataError naming ``sql``),
    a Ctrl-C a KeyboardInterrupt, a read outside the declared sources a SpecError."""
    timed_out = threading.Event()

    def stop() -> None:
        timed_out.set()
        con.interrupt()

    timer = threading.Timer(timeout, stop)
    timer.start()
    try:
        yield
    except (duckdb.InterruptException, RuntimeError) as error:  # the timer, or Ctrl-C
        if isinstance(error, RuntimeError) and "interrupt" not in str(error).lower():
            raise
        if not timed_out.is_set():
            raise KeyboardInterrupt from None  # the CLI says "interrupted" and exits 130
        hint = "narrow the range with --from/--to, or look for a KPI reading far too many rows"
        raise DataError(f"the query was stopped after {timeout:g} s", hint=hint, sql=sql) from None
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
    """A sandboxed in-memory DuckDB where each of ``sources`` is a view (or a table of rows).

    What does not fit in memory spills into a private temporary folder, removed with the
    connection: DuckDB's own default is ``.tmp`` in the working folder (the project's, often),
    which it left behind."""
    names = list(dict.fromkeys(sources))
    settings: dict[str, Any] = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    settings |= {"threads": threads} if threads else {}
    settings |= {"memory_limit": memory_limit} if memory_limit else {}
    files = {} if tables is not None else {name: source_files(config, _source(config, name)) for name in names}
    spill = tempfile.mkdtemp(prefix="kpictl-")
    settings |= spill_settings(spill)
    try:
        con = duckdb.connect(":memory:", config=settings)
    except BaseException:
        shutil.rmtree(spill, ignore_errors=True)
        raise
    weakref.finalize(con, shutil.rmtree, spill, ignore_errors=True)  # once closed and let go, or at exit
    try:
        con.execute("SET allowed_paths = ?", [[path for paths in files.values() for path in paths]])  # 1. allowlist
        # a TIMESTAMPTZ is bucketed into the day it is in the project's time zone (UTC unless
        # kpictl.yml says otherwise), never the machine's
        con.execute(f"SET TimeZone = {literal(config.timezone)}")
        con.execute("SET enable_external_access = false")  # 2. everything else closed
        for name in names:  # 3. views (or tables) — after 2, or reads fail; before 4, or CREATE fails
            if tables is not None:
                _given_view(con, config.sources.get(name), name, tables.get(name, ()), (types or {}).get(name, {}))
            else:
                _create_view(con, _source(config, name), files[name])
        con.execute("SET lock_configuration = true")  # 4. frozen
    except BaseException:
        con.close()
        raise
    return con


def _create_view(con: duckdb.DuckDBPyConnection, source: Source, files: list[str]) -> None:
    empty = next((f for f in files if _format(source) == "csv" and os.path.getsize(f) == 0), None)
    if empty is not None:  # DuckDB would read one unnamed column, and blame the time column
        message = f"source '{source.name}': {os.path.basename(empty)} is an empty file (0 bytes)"
        raise DataError(message, at=source.at, hint="a CSV file starts with a header line")
    read = identifier(f"{source.name} (read)" if source.computed else source.name)  # no source name has a space
    try:
        con.execute(f"CREATE VIEW {read} AS {_reader(con, source, files)}")
    except duckdb.Error as error:  # binding the view reads the files' metadata: a broken file fails here
        raise DataError(f"cannot read source '{source.name}': {_first_line(error)}", at=source.at) from None
    if source.computed:
        con.execute(f"CREATE VIEW {identifier(source.name)} AS {with_computed(con, source, f'SELECT * FROM {read}')}")


def with_computed(con: duckdb.DuckDBPyConnection, source: Source, select: str) -> str:
    """``select`` (the rows of a source) with its computed columns, layer by layer, each checked
    against the columns read: a name it reads that they lack, a name they already have, or an
    expression DuckDB cannot bind (a function over the wrong type) is a SpecError at the column."""
    if not source.computed:
        return select
    read = [str(row[0]) for row in con.execute(f"DESCRIBE {select}").fetchall()]
    names = {c.name for c in source.computed}
    errors: list[KpiError] = []
    for column in source.computed:
        what = f"computed column '{column.name}' of source '{source.name}'"
        try:
            formula.parse(column.expr, "column", column.at)
        except SpecError as error:  # reported by checks too, at the same place: validate gives it once
            errors.append(error)
            continue
        if column.name in read:
            errors.append(SpecError(f"{what} is already a column of its data", at=column.at, hint="name it otherwise"))
        for name in sorted(computed_reads(column) - set(read) - (names - {column.name})):
            hint = suggest(name, [*read, *names]) or f"columns: {', '.join(read)}"
            errors.append(SpecError(f"unknown column '{name}' in {what}", at=column.at, hint=hint))
    if errors:
        raise errors[0] if len(errors) == 1 else InvalidProject(errors)
    for layer in computed_layers(source.computed):
        for column in layer:  # each on its own first: a binding error then names its column
            try:
                con.execute(f"DESCRIBE SELECT {computed_sql(column, 'duckdb')} FROM ({select})")
            except duckdb.Error as error:
                errors.append(
                    SpecError(
                        f"computed column '{column.name}' of source '{source.name}': {_first_line(error)}",
                        at=column.at,
                    )
                )
        if errors:
            raise errors[0] if len(errors) == 1 else InvalidProject(errors)
        computed = ", ".join(f"{computed_sql(c, 'duckdb')} AS {identifier(c.name)}" for c in layer)
        select = f"SELECT *, {computed} FROM ({select})"
    return select


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


def schemas(config: Config, tables: Tables | None = None) -> tuple[dict[str, dict[str, str]], list[KpiError]]:
    """Column → type of every source whose files can be read, plus the columns of given rows;
    and the problem of each source whose files exist but cannot be read.

    This is what ``planner.plan(columns=…)`` needs to resolve a bare name through lookups
    (``region`` of the customer of an order), and what ``execute(types=…)`` needs so that a
    column the given rows leave out is NULL of the right type. Sources without files are
    skipped (``run`` reports them); sources whose files exist but cannot be read are skipped
    too, and their DataErrors returned (``validate`` reports them).
    """
    readable = []
    for name in config.sources:
        try:
            source_files(config, config.sources[name])
        except DataError:
            continue  # no files: skipped here, reported by run
        readable.append(name)
    found: dict[str, dict[str, str]] = {}
    unreadable: list[KpiError] = []
    try:  # one sandboxed connection for all: opening one per source cost 0.25 s for 11 sources
        with connect(config, readable) as con:
            for name in readable:
                rows = con.execute(f"DESCRIBE SELECT * FROM {identifier(name)}").fetchall()
                found[name] = {str(column): str(kind) for column, kind, *_ in rows}
            calendar = config.calendar  # a missing column of it: the language checks say where
            columns = found.get(calendar.table or "", {})
            read = calendar.date in columns and all(c in columns for c in calendar.grains.values())
            if read and (problem := calendar_problem(con, calendar)) is not None:
                unreadable.append(problem)  # validate says what run would raise, in the same words
    except (KpiError, duckdb.Error):
        found = {}  # a broken file or computed column: describe each source on its own, leave out just that one
        for name in readable:
            try:
                found[name] = describe(config, name)
            except InvalidProject as errors:
                unreadable += errors.errors
            except KpiError as error:
                unreadable.append(error)
    return with_given(found, tables), unreadable


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
        sql = duplicate_keys_sql(lookup, identifier, "VARCHAR")
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
            errors.append(duplicate_key_error(fact, lookup, duplicates))
    if errors:
        raise errors[0] if len(errors) == 1 else InvalidProject(errors)


def _source(config: Config, name: str) -> Source:
    if name not in config.sources:
        raise SpecError(f"unknown source '{name}'")
    return config.sources[name]


def _reader(con: duckdb.DuckDBPyConnection, source: Source, files: list[str]) -> str:
    """The SELECT of a source's view: read_parquet/read_csv over its files.

    Several files are read by column name, each column of the widest type the files give it (a
    column INTEGER in one file and DOUBLE in another is DOUBLE, not rounded). A CSV is sniffed
    whole, not on a sample (30,000 integers then ``2.5`` is DOUBLE), and its dates are ISO unless
    the source declares ``date_format`` (``03/04/2025`` is not guessed as March or April);
    declared ``columns`` types win over the sniffer, and cast Parquet columns.
    """
    listed = "[" + ", ".join(literal(f) for f in files) + "]"
    options = ", hive_partitioning = true" if source.hive_partitioning else ""
    options += ", union_by_name = true" if len(files) > 1 else ""
    if _format(source) == "parquet":
        select = f"SELECT * FROM read_parquet({listed}{options})"
        casts = ", ".join(f"CAST({identifier(c)} AS {kind}) AS {identifier(c)}" for c, kind in source.columns.items())
        return _finite(con, source, f"SELECT * REPLACE ({casts}) FROM ({select})" if casts else select)
    options += f", dateformat = {literal(source.date_format or '%Y-%m-%d')}, sample_size = -1"
    if source.columns:
        options += ", types = {" + ", ".join(f"{literal(c)}: {literal(k)}" for c, k in source.columns.items()) + "}"
    if all(_header_only(f) for f in files):
        # DuckDB types a header-only CSV as VARCHAR, and sum(VARCHAR) does not bind. Columns of
        # type NULL bind to every function and give 0 rows, so KPIs read it as "no data".
        names = con.execute(f"DESCRIBE SELECT * FROM read_csv({listed}, header = true{options})").fetchall()
        return "SELECT " + ", ".join(f"NULL AS {identifier(str(n[0]))}" for n in names) + " WHERE false"
    return _finite(con, source, f"SELECT * FROM read_csv({listed}{options})")


def _finite(con: duckdb.DuckDBPyConnection, source: Source, select: str) -> str:
    """``select`` with NaN and infinities read as NULL when the source says ``non_finite: null``;
    otherwise they stay, and a KPI value they make non-finite is an error (``execute``)."""
    if source.non_finite != "null":
        return select
    floats = [str(c) for c, kind, *_ in con.execute(f"DESCRIBE {select}").fetchall() if kind in ("DOUBLE", "FLOAT")]
    if not floats:
        return select
    nulls = ", ".join(
        f"CASE WHEN isfinite({identifier(c)}) THEN {identifier(c)} END AS {identifier(c)}" for c in floats
    )
    return f"SELECT * REPLACE ({nulls}) FROM ({select})"


def _header_only(path: str) -> bool:
    if not path.endswith((".csv", ".tsv")) or os.path.getsize(path) > 65536:
        return False
    with open(path, encoding="utf-8", errors="replace") as handle:
        return sum(1 for line in handle if line.strip()) <= 1


def _given_view(
    con: duckdb.DuckDBPyConnection,
    source: Source | None,
    name: str,
    rows: Sequence[Mapping[str, Any]],
    types: Mapping[str, str],
) -> None:
    """Given rows (``kpictl test``) as a source: its computed columns computed on them, unless
    the rows give them."""
    computed = tuple(c for c in (source.computed if source else ()) if not any(c.name in row for row in rows))
    if source is None or not computed:
        _create_table(con, name, rows, types)
        return
    read = f"{name} (read)"
    _create_table(con, read, rows, {c: t for c, t in types.items() if c not in {x.name for x in computed}})
    select = with_computed(con, dataclasses.replace(source, computed=computed), f"SELECT * FROM {identifier(read)}")
    con.execute(f"CREATE VIEW {identifier(name)} AS {select}")


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


def _data_error(error: duckdb.Error, compiled: CompiledQuery) -> DataError:
    """A DuckDB error as a DataError at the KPI it is about: the first whose columns it names.

    DuckDB names a column in double quotes or as "source column x"; ``compiled.aliases`` and
    ``compiled.reads`` say which KPI computes or reads it. Otherwise the query's first KPI.
    Quoted values are masked (``Could not convert string '…' to INT32``): they come from the data,
    and this message goes to CI logs and annotations, where a secret in the data must not.
    """
    raw = _first_line(error)
    named = re.findall(r'"([^"]+)"|source column (\w+)', raw)
    names = [quoted or bare for quoted, bare in named]
    owners = [compiled.aliases.get(name) for name in names]
    owners += [kpi for name in names for kpi, columns in compiled.reads.items() if name in columns]
    blamed = next((kpi for kpi in owners if kpi in compiled.at), next(iter(compiled.at), None))
    at = compiled.at.get(blamed) if blamed else None
    kpis = ", ".join(compiled.kpis)
    hint = f"while computing {kpis}" if kpis else None
    message = re.sub(r"'[^']*'", "'…'", raw)
    if "Conversion Error" in raw:  # "invalid date field format: "03/04/2025"": a value, masked too
        message = re.sub(r'"[^"]*"', '"…"', message)
        if "date" in raw.lower():
            hint = "dates are read as ISO (YYYY-MM-DD): declare the source's date_format, e.g. '%m/%d/%Y'"
    return DataError(message, at=at or Location(), hint=hint, sql=compiled.sql)


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
