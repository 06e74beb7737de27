"""The library facade: load, validate, compile, run, test, lint, diff and report a project.

Every command of the CLI is one call here, with the same options as typed keyword arguments.
``Project.load`` raises InvalidProject with every problem of a broken file; ``validate``
returns every problem; ``compile`` and ``run`` raise InvalidProject with exactly the problems
``validate`` reports. The stages do the work (``language``, ``sql``, ``engine``, ``judge``,
``workflows``); this module only calls them in order. DuckDB is imported only by the methods
that read data.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpictl import cache
from kpictl.errors import DataError, InvalidProject, KpiError, Location, SpecError, suggest
from kpictl.language import spec
from kpictl.model import WHOLE, Config, Kpi, Row

if TYPE_CHECKING:
    from kpictl.judge.lint import LintReport
    from kpictl.language import checks
    from kpictl.report.html import Page
    from kpictl.sql.planner import Plan
    from kpictl.sql.query import CompiledQuery
    from kpictl.table import Table
    from kpictl.workflows.diff import Diff
    from kpictl.workflows.testing import TestResult

#: Rows given per source, replacing its files (KPI unit tests).
Tables = Mapping[str, Sequence[Mapping[str, Any]]]
#: grain, by, start, end, where: what a plan depends on beyond the names.
_Options = tuple[str | None, tuple[str, ...], dt.date | None, dt.date | None, str | None]
#: The (KPI, grain) pairs of a run's result, in order (``Plan.outputs``).
_Outputs = tuple[tuple[str, str], ...]


class Project:
    """A kpictl project: ``kpictl.yml`` and its KPI files, loaded and shape-checked.

    >>> project = Project.load("examples/acme")        # doctest: +SKIP
    >>> rows = project.run(["revenue"], by=["region"])  # doctest: +SKIP
    """

    def __init__(
        self, config: Config, kpis: list[Kpi], *, problems: Sequence[KpiError] = (), elsewhere: Collection[str] = ()
    ):
        self.config = config
        self.root = Path(config.root)
        self._raw_kpis = kpis
        self._problems = list(problems)  # shape problems of the KPIs left out while loading
        self._elsewhere = set(elsewhere)  # their names: not "unknown KPIs" to the others
        self._checked: dict[bool, tuple[dict[str, Kpi], list[KpiError]]] = {}  # with data? -> result
        self._parse: checks.Parsed | None = None
        self._schemas: dict[str, dict[str, str]] | None = None
        self._unreadable: list[KpiError] = []  # sources whose files exist but cannot be read
        self._size_kpis: dict[str, str | None] | None = None
        self._verdicts: list[KpiError] | None = None  # the problems judging would meet, once valid
        self._compiled: dict[tuple[object, ...], tuple[_Outputs, CompiledQuery]] = {}  # options -> (outputs, query)
        self._store: cache.Store | None = None  # the definitions cache (kpictl/cache.py), found when first used
        self._files: dict[str, str] = {}  # SHA-256 of each definition file loaded, by path
        self._key: str | None = None  # the digest of everything above that an answer depends on

    # -- loading ---------------------------------------------------------------------------

    @classmethod
    def load(
        cls,
        path: str | Path = ".",
        *,
        read: Callable[[str], bytes | None] | None = None,
        listing: Callable[[tuple[str, ...]], list[str]] | None = None,
        partial: bool = False,
        allowed: Sequence[str] = (),
    ) -> Project:
        """Load the project whose ``kpictl.yml`` is at or above ``path``.

        Raises InvalidProject listing every YAML and schema problem of every file, and the
        problems ``compile`` would find in the KPIs that did load. With ``partial``, a project whose
        ``kpictl.yml`` loads is returned instead, built from the KPIs without shape problems;
        its ``validate()`` reports those problems with every other (``kpictl validate``: a
        KPI with an unknown field hides no other KPI's unknown column). ``read``/``listing``
        replace disk access (``diff`` reads a git revision with them). ``allowed``: folders outside
        the project that sources and KPI files may be in (``--allow-path``; see language/paths.py).
        """
        if read is None:
            root = spec.find_root(path)
            if root is None:
                raise InvalidProject(
                    [
                        SpecError(
                            f"no {spec.PROJECT_FILE} found in {Path(path).resolve()} or above",
                            at=Location(str(path)),
                            hint="run 'kpictl init' to create a project",
                        )
                    ]
                )
        else:
            root = Path(path)
        allow = tuple(str(Path(p).resolve()) for p in allowed)
        store, files = cache.Store.for_project(root), dict[str, str]()
        config, kpis, errors, left_out = spec.load(root, read, listing, allow, store=store, digests=files)
        if config is None:
            raise InvalidProject(errors)
        project = cls(config, kpis, problems=errors, elsewhere=left_out)
        project._store, project._files = store, files
        if errors and not partial:  # every problem in one run: what did load is checked too
            project._valid_kpis(data=True)
        return project

    def with_engine(self, name: str | None) -> Project:
        """The same project run on another engine (``--engine``): ``duckdb`` or ``spark``.

        ``spark`` keeps the ``master``/``remote``/``conf`` of kpictl.yml's ``engine:`` when it
        names Spark, else runs on ``local[2]``.
        """
        from kpictl.model import Engine

        if name is None or name == self.config.engine.name:
            return self
        engine = self.config.engine if self.config.engine.name == name else Engine(name)
        return self._with_config(dataclasses.replace(self.config, engine=engine))

    def _with_config(self, config: Config) -> Project:
        project = Project(config, self._raw_kpis)
        project._store, project._files = self._store, self._files
        return project

    def _engine(self) -> Any:
        """The engine module running this project's SQL (imported only when data is read)."""
        if self.config.engine.name == "spark":
            from kpictl.engine import spark

            return spark
        from kpictl.engine import duckdb

        return duckdb

    def with_vars(self, overrides: dict[str, Any]) -> Project:
        """The same project with some ``vars`` replaced (a KPI test's own variables)."""
        config = dataclasses.replace(self.config, vars={**self.config.vars, **overrides})
        return self._with_config(config)

    @property
    def kpis(self) -> dict[str, Kpi]:
        """KPIs by name, in file order, with Jinja expanded (valid ones only)."""
        return self._check()[0]

    def _check(self, data: bool = False) -> tuple[dict[str, Kpi], list[KpiError]]:
        """``checks.check`` once per mode: without data, or against the sources' columns."""
        if data not in self._checked:
            schemas = self.schemas() if data else None

            def compute() -> tuple[dict[str, Kpi], list[KpiError]]:
                from kpictl.language import checks

                parsed = self._parsed()
                return checks.check(self.config, self._raw_kpis, schemas, elsewhere=self._elsewhere, parsed=parsed)

            self._checked[data] = self._cached("check", {"schemas": schemas}, compute)
        return self._checked[data]

    def _cached(
        self, part: str, key: dict[str, Any], compute: Callable[[], Any], keep: Callable[[], bool] | None = None
    ) -> Any:
        """``compute()``, or its answer for the same definitions and ``key`` from the definitions
        cache (kpictl/cache.py): the project as loaded, the digests of its files, and ``key``
        (``keep``: whether a computed answer may be kept)."""
        if not self._caching():
            return compute()
        assert self._store is not None and self._key
        return self._store.cached(part, {"project": self._key, **key}, compute, keep)

    def _caching(self) -> bool:
        """Whether answers go through the definitions cache: it is on, and the project can be a key."""
        if self._store is None:
            self._store = cache.Store.for_project(self.root)
        if self._store.folder is None:
            return False
        if self._key is None:
            try:
                loaded = (self._files, self.config, self._raw_kpis, sorted(self._elsewhere), self._problems)
                self._key = cache.digest(loaded)
            except cache.Unencodable:  # a value the cache does not store: computed each time
                self._key = ""
        return bool(self._key)

    def _parsed(self) -> checks.Parsed:
        """Every expression rendered and parsed once: checked with and without data, then planned."""
        if self._parse is None:
            from kpictl.language import checks

            self._parse = checks.parse(self.config, self._raw_kpis)
        return self._parse

    def schemas(self) -> dict[str, dict[str, str]]:
        """Column → type of every source whose files exist (read from metadata, not computed).

        Missing files are left out: they are `run`'s problem; `validate` checks what it can see.
        Read once per Project; from the definitions cache for Parquet files whose footers (where
        their columns are written) are unchanged.
        """
        if self._schemas is None:
            from kpictl.engine.files import fingerprint  # DuckDB itself only when the columns are read

            marks = fingerprint(self.config) if self.config.engine.name == "duckdb" and self._caching() else None
            if marks is None:  # CSV files, Spark: read every time
                self._schemas, self._unreadable = self._engine().schemas(self.config)
            else:  # Parquet files: kept for the same footers (columns and types), checked before and after
                self._schemas, self._unreadable = self._cached(
                    "schemas",
                    {"files": marks},
                    lambda: self._engine().schemas(self.config),
                    keep=lambda: fingerprint(self.config) == marks,
                )
        return self._schemas

    def validate(self, *, data: bool = True) -> list[KpiError]:
        """Every semantic problem: names, formulas, cycles, dimensions, tests and, when the
        source files exist and ``data`` is true, columns against the real schemas."""
        from kpictl.judge import verdicts

        errors = self._problems + self._check(data=data)[1] + (self._unreadable if data else [])
        if not errors:  # judging needs values to date that only valid definitions can give
            if self._verdicts is None:
                self._verdicts = self._cached(
                    "verdicts",
                    {},
                    lambda: verdicts.problems(
                        self.kpis, self._companions(list(self.kpis), None), self._parsed().formulas()
                    ),
                )
            errors += self._verdicts
        unique = {(str(e), type(e)): e for e in errors}
        return sorted(unique.values(), key=KpiError.sort_key)

    def summary(self) -> str:
        """What ``kpictl validate`` says of a valid project: "36 KPIs in 6 files: valid"."""
        return f"{len(self.kpis)} KPIs in {len({k.file for k in self.kpis.values()})} files: valid"

    def _valid_kpis(self, *, data: bool = False) -> dict[str, Kpi]:
        """The KPIs, once ``validate`` finds no problem in the definitions (InvalidProject else).

        With ``data``, columns are checked against the sources' files, as ``validate`` does:
        ``compile`` and ``run`` report a wrong column with the same message, at the same place.
        A source that cannot be read is left to the engine: it matters only when read.
        """
        errors = [e for e in self.validate(data=data) if not isinstance(e, DataError)]
        if errors:
            raise InvalidProject(errors)
        return self.kpis

    def select(self, names: Sequence[str] | None = None, *, tag: str | None = None) -> list[str]:
        """Validated KPI names: ``names`` as given (unknown ones are a SpecError), or all in file order."""
        kpis = self._valid_kpis()
        if not names:
            return [k for k, v in kpis.items() if tag is None or tag in v.tags]
        unknown = [n for n in names if n not in kpis]
        if unknown:
            raise InvalidProject([SpecError(f"unknown KPI '{n}'", hint=suggest(n, kpis)) for n in unknown])
        return list(dict.fromkeys(names))

    # -- computing -------------------------------------------------------------------------

    def joins(self, name: str, grain: str | None = None) -> dict[str, list[str]]:
        """The lookups each source KPI behind ``name`` joins (for its formula, filters, time and
        declared dimensions), each as its path: ``orders → customers → companies  (customers.companies)``."""
        found: dict[str, dict[str, str]] = {}
        dims = tuple(d.name for d in self.kpis[name].dimensions)
        for by in ((), dims) if dims else ((),):
            for scan in self.plan([name], grain=grain, by=by).scans:
                joined = {r.name: r for r in scan.joins}
                parents = {r.parent for r in scan.joins}
                for relation in (r for r in scan.joins if r.name not in parents):  # a path's end shows the path
                    hops, hop = [], joined.get(relation.name)
                    while hop is not None:
                        hops.append(hop.lookup.source)
                        hop = joined.get(hop.parent)
                    path = " → ".join([scan.source, *reversed(hops)])
                    for measure in scan.measures:
                        found.setdefault(measure.kpi, {})[relation.name] = f"{path}  ({relation.name})"
        return {kpi: list(paths.values()) for kpi, paths in found.items()}

    def plan(
        self,
        names: Sequence[str] | None = None,
        *,
        grain: str | None = None,
        by: Sequence[str] = (),
        start: dt.date | None = None,
        end: dt.date | None = None,
        where: str | None = None,
        tables: Tables | None = None,
        judging: bool = False,
    ) -> Plan:
        """The query plan of ``names`` (default: every KPI), once the definitions are valid.

        The sources' real columns decide what a bare name means (``region`` of the order's
        customer through a lookup, or a column of the orders themselves); ``tables`` (KPI tests)
        adds the columns of given rows. ``judging`` adds what judging needs beyond the values
        shown (``verdicts.companions``).
        """
        from kpictl.engine import duckdb as engine
        from kpictl.language import formula, jinja
        from kpictl.sql import planner

        self._valid_kpis(data=True)
        selected = self.select(names)
        if where is not None:
            where = jinja.render(where, self.config.vars, Location("--where"))
            formula.parse(where, "filter", Location("--where"))
        columns = engine.with_given(self.schemas(), tables)
        hidden = {kpi.name: kpi for kpi in self._companions(selected, grain).values()} if judging else {}
        return planner.plan(
            self.config,
            {**self.kpis, **hidden},
            [*selected, *hidden],
            grain=grain,
            by=tuple(by),
            start=start,
            end=end,
            where=where,
            columns=columns,
            exprs=self._parsed().exprs,
        )

    def _companions(self, selected: Sequence[str], grain: str | None) -> dict[str, Kpi]:
        from kpictl.judge import verdicts

        return verdicts.companions(
            self.kpis, selected, grain=grain, default_grain=self.config.grain, sizes=self.sizes()
        )

    def compile(
        self,
        names: Sequence[str] | None = None,
        *,
        grain: str | None = None,
        by: Sequence[str] = (),
        start: dt.date | None = None,
        end: dt.date | None = None,
        where: str | None = None,
    ) -> CompiledQuery:
        """The SQL computing the values of ``names`` (``.sql``, ``.params``), as ``run`` executes it.

        ``run`` may compute more in the same statement: a level judged over its target's period
        also needs its value to date (``verdicts``), which is no value of the KPIs asked for.
        """
        return self._compile(names, (grain, tuple(by), start, end, where), None, judging=False)[1]

    def _compile(
        self, names: Sequence[str] | None, options: _Options, tables: Tables | None, *, judging: bool
    ) -> tuple[_Outputs, CompiledQuery]:
        """The plan's outputs and the SQL, kept per set of options: a notebook's second run of a
        loaded project only runs the query (the definitions and the sources' columns cannot change
        under it); and in the definitions cache for the same definitions, options and columns."""

        def compute() -> tuple[_Outputs, CompiledQuery]:
            from kpictl.sql import compiler

            plan = self.plan(
                names, grain=grain, by=by, start=start, end=end, where=where, tables=tables, judging=judging
            )
            return plan.outputs, compiler.compile(plan)

        grain, by, start, end, where = options
        key = (tuple(names or ()), options, judging)
        if tables is not None:  # the given rows' columns take part in planning: never kept
            return compute()
        if key not in self._compiled:
            self._valid_kpis(data=True)  # the problems a miss would raise first, raised alike
            found = {"names": key[0], "options": options, "judging": judging, "schemas": self.schemas()}
            self._compiled[key] = self._cached("compile", found, compute)
        return self._compiled[key]

    def run(
        self,
        names: Sequence[str] | None = None,
        *,
        grain: str | None = None,
        by: Sequence[str] = (),
        start: dt.date | None = None,
        end: dt.date | None = None,
        where: str | None = None,
        as_of: dt.date | None = None,
        tables: Tables | None = None,
    ) -> list[Row]:
        """Compute ``names`` (default: every KPI) and judge each row against its target.

        ``grain`` None computes each KPI at its own grain (else the project's); ``by`` breaks
        down by dimensions; ``start``/``end`` bound the periods shown; ``where`` filters the rows
        of every source; ``as_of`` is the date targets are judged at (default: the end of the
        latest complete period). Returns tidy rows (kpi, period, dims, value, judgement),
        ordered by KPI, period and breakdown. ``tables`` replaces the sources by in-memory
        rows (KPI unit tests).
        """
        found = self._run(names, grain, by, start, end, where, as_of, tables)
        return found if isinstance(found, list) else found.rows()

    def run_table(
        self,
        names: Sequence[str] | None = None,
        *,
        grain: str | None = None,
        by: Sequence[str] = (),
        start: dt.date | None = None,
        end: dt.date | None = None,
        where: str | None = None,
        as_of: dt.date | None = None,
    ) -> Table | list[Row]:
        """:meth:`run`'s rows as a ``table.Table``, one array per column: what the machine formats
        write (a breakdown by customer has a million rows; as ``Row`` objects they cost more
        than the query). ``--grain all`` gives its rows (a few, each named by its range)."""
        return self._run(names, grain, by, start, end, where, as_of, None)

    def _run(
        self,
        names: Sequence[str] | None,
        grain: str | None,
        by: Sequence[str],
        start: dt.date | None,
        end: dt.date | None,
        where: str | None,
        as_of: dt.date | None,
        tables: Tables | None,
    ) -> Table | list[Row]:
        """The judged table of a run, ordered; ``--grain all``'s rows (a few, named by their range)."""
        from kpictl import table
        from kpictl.judge import completeness, verdicts
        from kpictl.sql import calendars

        self._valid_kpis(data=True)  # every problem at once, as validate: the data's columns too
        selected = self.select(names)
        outputs, compiled = self._compile(selected, (grain, tuple(by), start, end, where), tables, judging=True)
        types = {name: cols for name, cols in self.schemas().items() if tables and name in tables}
        # A KPI test's rows are all there is: only files can stop short of a period's end
        found = self._engine().results(
            compiled, self.config, tables=tables, types=types or None, latest=not tables, columns=grain != WHOLE
        )
        calendars.use(found.calendars or {}, dict(outputs))  # judging and labels read a calendar table's periods
        today = dt.date.today()
        horizons = (
            completeness.horizons(
                compiled.feeds, compiled.fed_by, found.latest, self.config.sources, today, compiled.waits
            )
            if found.latest
            else {}
        )
        grain_of = dict(outputs)
        if grain == WHOLE:
            return self._whole(found, compiled, horizons, start, end, as_of, today)
        year_start = self.config.calendar.year_start
        full_from = (
            completeness.windows_full_from(compiled.reach, compiled.fed_by, found.latest, grain_of, year_start)
            if found.latest
            else {}
        )
        hours = (
            completeness.hour_horizons(
                compiled.feeds, compiled.fed_by, found.latest, self.config.sources, today, compiled.waits
            )
            if found.latest and compiled.hours
            else {}
        )
        rows = completeness.mark_table(found.table, horizons, grain_of, today, full_from, year_start, hours)
        judged = verdicts.judge_table(
            rows,
            self.kpis,
            grain_of=grain_of,
            sizes=self.sizes(),
            as_of=as_of,
            companions=self._companions(selected, grain),
            year_start=year_start,
        )
        return judged.take(table.sort_order(judged, {name: i for i, name in enumerate(compiled.kpis)}))

    def _whole(
        self,
        found: Any,
        compiled: Any,
        horizons: Mapping[str, dt.date],
        start: dt.date | None,
        end: dt.date | None,
        as_of: dt.date | None,
        today: dt.date,
    ) -> list[Row]:
        """The rows of ``--grain all`` named by their range and judged (``judge.whole``): the
        range is ``--from``/``--to``, else the first and last day of the data each KPI reads."""
        from kpictl.judge import whole

        spans, complete = {}, {}
        for kpi in compiled.kpis:
            feeds = [found.latest[i] for i in compiled.fed_by.get(kpi, ()) if i < len(found.latest)]
            firsts = [f.first.date() for f in feeds if f.first is not None]
            lasts = [f.moment.date() for f in feeds if f.moment is not None]
            first = start or min(firsts, default=today)
            last = end or max(lasts, default=today)
            spans[kpi] = (first, last)
            complete[kpi] = last < today and (kpi not in horizons or horizons[kpi] >= last)
        rows = whole.name_and_judge(
            found.rows, self.kpis, self.sizes(), spans, complete, as_of, self.config.calendar.year_start
        )
        order = {name: i for i, name in enumerate(compiled.kpis)}
        return sorted(rows, key=lambda r: (order[r.kpi], tuple(str(r.dims[d]) for d in r.dims)))

    def breaches(self, rows: Sequence[Row] | Table, fail_on: str | None = None) -> list[Row]:
        """The latest row of each KPI and breakdown whose status is ``fail_on`` or worse: the
        ``--fail-on`` gate of CI. ``fail_on`` None is ``fail_on:`` of kpictl.yml (no gate if unset);
        ``"none"`` turns the gate off whatever kpictl.yml says."""
        from kpictl import table
        from kpictl.judge import targets

        if fail_on == "none":
            return []
        gate = fail_on or self.config.fail_on
        if not gate:
            return []
        latest = table.current(rows) if isinstance(rows, table.Table) else targets.current(rows)
        return targets.worst(latest, gate)

    def bound_periods(self) -> dict[str, str]:
        """The period each KPI's bound is meant for, where there is one to show (``targets.bound_period``)."""
        from kpictl.judge import targets

        sizes = self.sizes()
        found = {name: targets.bound_period(kpi.target, sizes.get(name)) for name, kpi in self.kpis.items()}
        return {name: period for name, period in found.items() if period}

    def sizes(self) -> dict[str, str | None]:
        """The KPIs that measure a size (sums, counts) rather than a level (rates, averages), each
        with the grain its bound is meant for when its target names no period: the KPI's own.

        A balance (``snapshot:``, and a derived size reading one: ``aggregates.size_kpis``) has
        None: summed across entities, its bound is for the total (a breakdown row is judged by
        a ``per`` override only), but it is a level in time, never scaled to a period. Worked
        out once per Project: it depends on the definitions only.
        """
        if self._size_kpis is None:

            def compute() -> dict[str, str | None]:
                from kpictl.sql import aggregates

                found = aggregates.size_kpis(self.kpis, self._parsed().formulas())
                return {
                    name: (self.kpis[name].grain or self.config.grain) if adds_up else None
                    for name, adds_up in found.items()
                }

            self._size_kpis = dict(self._cached("sizes", {}, compute))
        return self._size_kpis

    def lint(self, names: Sequence[str] | None = None, *, data: bool = True) -> list[LintReport]:
        """The SMART score of each KPI (``lint.LintReport``), checked against its history when
        ``data`` is true and the sources can be read."""
        from kpictl.judge import lint

        selected = self.select(names)
        history: dict[str, list[tuple[dt.date, float | None]]] = {}
        if data:
            try:
                for row in self.run(selected):
                    history.setdefault(row.kpi, []).append((row.period, row.value))
            except DataError:
                history = {}  # no data here: A and T are scored on the definitions alone
        grain = self.config.grain
        return [
            lint.score(
                lint.per_period(
                    self.kpis[n],
                    history.get(n),
                    unit=self.sizes().get(n),
                    grain=grain,
                    year_start=self.config.calendar.year_start,
                ),
                history.get(n) if data and history else None,
            )
            for n in selected
        ]

    # -- workflows -------------------------------------------------------------------------

    def test(self, names: Sequence[str] | None = None) -> list[TestResult]:
        """Run the ``tests:`` of ``names`` (default: every KPI) on their given rows, in catalog order."""
        from kpictl.workflows import testing

        return testing.run_tests(self, list(names or ()))

    def report(
        self,
        names: Sequence[str] | None = None,
        *,
        lang: str | None = None,
        grain: str | None = None,
        by: str | None = None,
        start: dt.date | None = None,
        end: dt.date | None = None,
        as_of: dt.date | None = None,
        generated_at: dt.datetime | None = None,
    ) -> Page:
        """The dashboard's page for ``names`` (default: every KPI); ``report.html.render`` writes it.

        ``by`` breaks every KPI that has that dimension down by it (default: each KPI's first);
        ``lang`` defaults to the project's locale, ``generated_at`` to now (pass it for a
        reproducible file).
        """
        from kpictl.model import lang_of
        from kpictl.report.html import build
        from kpictl.workflows import dashboard

        moment = generated_at or dt.datetime.now().astimezone()
        inputs = dashboard.collect(
            self, names, generated_at=moment, grain=grain, by=by, start=start, end=end, as_of=as_of
        )
        return build(inputs, lang_of(lang or self.config.locale))

    @classmethod
    def diff(
        cls,
        path: str | Path = ".",
        base: str | None = None,
        head: str | None = None,
        *,
        sql: bool = False,
        data: bool = False,
        grain: str | None = None,
        by: Sequence[str] = (),
        start: dt.date | None = None,
        end: dt.date | None = None,
        engine: str | None = None,
    ) -> Diff:
        """What changes between two git revisions of the project at ``path``: definitions,
        impacts, SQL (``sql``) and values (``data``, on ``engine``); see ``workflows.diff.compare``."""
        from kpictl.workflows import diff

        return diff.compare(
            path, base, head, sql=sql, data=data, grain=grain, by=by, start=start, end=end, engine=engine
        )
