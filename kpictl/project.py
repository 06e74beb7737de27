"""The library facade: find and load a project, validate, compile, run, test, lint.

Every command of the CLI is one call here. ``Project.load`` raises InvalidProject with every
shape problem; ``validate`` returns the semantic ones; ``compile`` and ``run`` validate first
and raise InvalidProject when anything is wrong. DuckDB is imported only by the methods that
read data.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kpictl.errors import DataError, InvalidProject, KpiError, Location, SpecError, suggest
from kpictl.language import checks, spec
from kpictl.model import Config, Kpi, Row

#: Suffix of the hidden KPIs that compute a level's value to date in its target's period.
TO_DATE = "__to_date"


class Project:
    """A kpictl project: ``kpictl.yml`` and its KPI files, loaded and shape-checked.

    >>> project = Project.load("examples/acme")        # doctest: +SKIP
    >>> rows = project.run(["revenue"], by=["region"])  # doctest: +SKIP
    """

    def __init__(self, config: Config, kpis: list[Kpi]):
        self.config = config
        self.root = Path(config.root)
        self._raw_kpis = kpis
        self._checked: tuple[dict[str, Kpi], list[KpiError]] | None = None
        self._schemas: dict[str, dict[str, str]] | None = None
        self._unreadable: list[KpiError] = []  # sources whose files exist but cannot be read
        self._sizes: set[str] | None = None
        self._compiled: dict[tuple[Any, ...], tuple[Any, Any]] = {}  # options -> (plan, query)

    # -- loading ---------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path = ".", *, read: Any = None, listing: Any = None) -> Project:
        """Load the project whose ``kpictl.yml`` is at or above ``path``.

        Raises InvalidProject listing every YAML and schema problem of every file.
        ``read``/``listing`` replace disk access (``diff`` reads a git revision with them).
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
        elsewhere: set[str] = set()
        config, kpis, errors = spec.load(root, read=read, listing=listing, elsewhere=elsewhere)
        if config is not None and errors:
            # every problem in one run: the meaning of the files that did load is checked too,
            # leaving out references to KPIs of the broken files (they may well exist there)
            for error in checks.check(config, kpis)[1]:
                ref = error.message.split("'")[1] if error.message.startswith("unknown KPI '") else None
                if ref is None or not ({ref, "*"} & elsewhere):
                    errors.append(error)
        if errors or config is None:
            raise InvalidProject(errors)
        return cls(config, kpis)

    def with_engine(self, name: str | None) -> Project:
        """The same project run on another engine (``--engine``): ``duckdb`` or ``spark``.

        ``spark`` keeps the ``master``/``remote``/``conf`` of kpictl.yml's ``engine:`` when it
        names Spark, else runs on ``local[2]``.
        """
        from kpictl.model import Engine

        if name is None or name == self.config.engine.name:
            return self
        engine = self.config.engine if self.config.engine.name == name else Engine(name)
        return Project(dataclasses.replace(self.config, engine=engine), self._raw_kpis)

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
        return Project(config, self._raw_kpis)

    @property
    def kpis(self) -> dict[str, Kpi]:
        """KPIs by name, in file order, with Jinja expanded (valid ones only)."""
        return self._check()[0]

    def _check(self, data: bool = False) -> tuple[dict[str, Kpi], list[KpiError]]:
        if data:
            return checks.check(self.config, self._raw_kpis, self.schemas())
        if self._checked is None:
            self._checked = checks.check(self.config, self._raw_kpis)
        return self._checked

    def schemas(self) -> dict[str, dict[str, str]]:
        """Column → type of every source whose files exist (read from metadata, not computed).

        Missing files are left out: they are `run`'s problem; `validate` checks what it can see.
        Read once per Project.
        """
        if self._schemas is None:
            self._schemas = self._engine().schemas(self.config, unreadable=self._unreadable)
        return self._schemas

    def validate(self, *, data: bool = True) -> list[KpiError]:
        """Every semantic problem: names, formulas, cycles, dimensions, tests and, when the
        source files exist and ``data`` is true, columns against the real schemas."""
        errors = self._check(data=data)[1] + (self._unreadable if data else [])
        unique = {(str(e), type(e)): e for e in errors}
        return sorted(unique.values(), key=KpiError.sort_key)

    def _valid_kpis(self) -> dict[str, Kpi]:
        errors = self.validate(data=False)
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

    def plan(
        self,
        names: Sequence[str] | None = None,
        *,
        grain: str | None = None,
        by: Sequence[str] = (),
        start: dt.date | None = None,
        end: dt.date | None = None,
        where: str | None = None,
        tables: dict[str, list[dict[str, Any]]] | None = None,
    ) -> Any:
        """The query plan of ``names`` (default: every KPI).

        The sources' real columns decide what a bare name means (``region`` of the order's
        customer through a lookup, or a column of the orders themselves); ``tables`` (KPI tests)
        adds the columns of given rows.
        """
        from kpictl.engine import duckdb as engine
        from kpictl.language import formula
        from kpictl.sql import planner

        selected = self.select(names)
        if where is not None:
            where = formula.render(where, self.config.vars, Location("--where"))
            formula.parse(where, "filter", Location("--where"))
        columns = engine.with_given(self.schemas(), tables)
        to_date = self._to_date(selected, grain)
        return planner.plan(
            self.config,
            {**self.kpis, **to_date},
            [*selected, *to_date],
            grain=grain,
            by=tuple(by),
            start=start,
            end=end,
            where=where,
            columns=columns,
        )

    def _to_date(self, selected: list[str], grain: str | None) -> dict[str, Kpi]:
        """Hidden KPIs for the levels whose target is meant for a longer period than the run's.

        "On-time delivery >= 95% (period: year_to_date)" judged by month is judged on the rate
        since January 1st, computed in the same query as ``to_date(on_time_delivery_rate, year)``
        on the underlying rows (never an average of monthly rates). Sizes instead scale their
        bound (``targets.scoped``).
        """
        from kpictl.model import GRAINS

        sizes = self.extensive()
        extra = {}
        for name in selected:
            kpi = self.kpis[name]
            period = kpi.target.period if kpi.target else None
            unit = (period or "").removesuffix("_to_date")
            own = grain or kpi.grain or self.config.grain
            if not period or name in sizes or unit not in GRAINS or GRAINS.index(unit) <= GRAINS.index(own):
                continue
            extra[f"{name}{TO_DATE}"] = dataclasses.replace(
                kpi,
                name=f"{name}{TO_DATE}",
                formula=f"to_date({name}, {unit})",
                source=None,
                filters=(),
                dimensions=(),
                time=None,
                target=None,
                tests=(),
                filter_at=(),
            )
        return extra

    def compile(self, names: Sequence[str] | None = None, **options: Any) -> Any:
        """The SQL that ``run`` would execute (a CompiledQuery: ``.sql``, ``.params``)."""
        return self._compile(names, None, options)[1]

    def _compile(
        self, names: Sequence[str] | None, tables: dict[str, list[dict[str, Any]]] | None, options: dict[str, Any]
    ) -> tuple[Any, Any]:
        """Plan and SQL, kept per set of options: a notebook's second run of a loaded project
        only runs the query (the definitions and the sources' columns cannot change under it)."""
        from kpictl.sql import compiler

        key = (tuple(names or ()), tuple(sorted((k, str(v)) for k, v in options.items())))
        if tables is not None:  # the given rows' columns take part in planning: never cached
            plan = self.plan(names, tables=tables, **options)
            return plan, compiler.compile(plan)
        if key not in self._compiled:
            plan = self.plan(names, **options)
            self._compiled[key] = (plan, compiler.compile(plan))
        return self._compiled[key]

    def run(
        self,
        names: Sequence[str] | None = None,
        *,
        as_of: dt.date | None = None,
        tables: dict[str, list[dict[str, Any]]] | None = None,
        **options: Any,
    ) -> list[Row]:
        """Compute ``names`` (default: every KPI) and judge each row against its target.

        Returns tidy rows (kpi, period, dims, value, judgement), ordered by KPI, period and
        breakdown. ``tables`` replaces the sources by in-memory rows (KPI unit tests).
        """
        from kpictl.judge import forecast as projection
        from kpictl.judge import targets

        plan, compiled = self._compile(names, tables, options)
        types = {name: cols for name, cols in self.schemas().items() if tables and name in tables}
        rows = self._engine().execute(compiled, self.config, tables=tables, types=types or None)
        grain_of = {kpi: grain for kpi, grain in plan.outputs}

        # a level judged over its target's period: the value to date stands in while judging
        def key(r: Row) -> tuple[str, dt.date, tuple[tuple[str, Any], ...]]:
            return (r.kpi.removesuffix(TO_DATE), r.period, tuple(r.dims.items()))

        to_date = {key(r): r.value for r in rows if r.kpi.endswith(TO_DATE)}
        shown = {key(r): r.value for r in rows if not r.kpi.endswith(TO_DATE)}
        rows = [
            dataclasses.replace(r, value=to_date[key(r)]) if key(r) in to_date else r
            for r in rows
            if not r.kpi.endswith(TO_DATE)
        ]
        groups: dict[str, list[Row]] = {}
        for row in rows:
            groups.setdefault(grain_of[row.kpi], []).append(row)
        if as_of is None:
            as_of = max(
                (targets.default_as_of(sorted({r.period for r in g}), grain) for grain, g in groups.items()),
                default=dt.date.today(),
            )
        sizes = {name: self.kpis[name].grain or self.config.grain for name in self.extensive()}
        judged = [
            r
            for grain, g in groups.items()
            for r in targets.judge_rows(g, self.kpis, as_of=as_of, grain=grain, extensive=sizes)
        ]
        judged = projection.annotate(judged, self.kpis, grain_of)
        for i, r in enumerate(judged):
            if key(r) in to_date and r.judgement is not None:  # show the period's own value, say what was judged
                judged[i] = dataclasses.replace(
                    r, value=shown[key(r)], judgement=dataclasses.replace(r.judgement, judged_value=r.value)
                )
        order = {name: i for i, name in enumerate(compiled.kpis)}
        return sorted(judged, key=lambda r: (order[r.kpi], r.period, tuple(str(r.dims[d]) for d in r.dims)))

    def extensive(self) -> set[str]:
        """The KPIs that measure a size (sums, counts) rather than a level (rates, averages).

        Worked out once per Project: it depends on the definitions only.
        """
        if self._sizes is None:
            self._sizes = self._find_sizes()
        return self._sizes

    def _find_sizes(self) -> set[str]:
        from kpictl.language import formula
        from kpictl.sql import aggregates

        sizes: dict[str, bool] = {}

        def visit(name: str) -> bool:
            if name not in sizes:
                kpi = self.kpis[name]
                sizes[name] = False  # a cycle (already reported by validate) reads as a level
                refs = formula.kpi_refs(formula.parse(kpi.formula, "derived")) if kpi.derived else set()
                inputs = {ref: visit(ref) for ref in refs if ref in self.kpis}
                sizes[name] = aggregates.extensive(kpi.formula, kpi.derived, inputs)
            return sizes[name]

        return {name for name in self.kpis if visit(name)}

    def lint(self, names: Sequence[str] | None = None, *, data: bool = True) -> list[Any]:
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
        return [
            lint.score(self._per_period(n, history.get(n)), history.get(n) if data and history else None)
            for n in selected
        ]

    def _per_period(self, name: str, history: list[tuple[dt.date, float | None]] | None) -> Kpi:
        """The KPI with a size's target scaled to the grain of its history (lint compares them)."""
        from kpictl.judge import targets

        kpi = self.kpis[name]
        if not history or kpi.target is None or kpi.target.period is None or name not in self.extensive():
            return kpi
        grain = kpi.grain or self.config.grain
        row = Row(name, history[-1][0], {}, history[-1][1])
        return dataclasses.replace(kpi, target=targets.scoped(kpi.target, row, grain, True, grain))
