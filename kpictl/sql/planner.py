"""Plan a run: group source KPIs into scans and order derived KPIs, before any SQL is laid out.

``plan()`` turns validated KPIs (formulas already Jinja-rendered) into a ``Plan`` of frozen
values. Source KPIs sharing (source, time column, grain, breakdown) become one ``Scan``,
computed in one pass over the source with one ``FILTER (WHERE …)`` per aggregate; derived
KPIs become ``Derived`` nodes in dependency order. Every column is qualified here by the
rules of ``language.resolve`` (the source's own, else the one lookup that has it), so the SQL
the compiler writes is fully qualified. The KPIs come checked (``checks``, with the same
resolver): what is reported here is only what depends on the run's options (``--by``,
``--where``, ``--grain``). The planner never touches data (``engine``) and never lays out
SQL (``compiler``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from sqlglot import exp

from kpictl.errors import InvalidProject, KpiError, Location, SpecError, suggest
from kpictl.language import calendars
from kpictl.language.checks import Expr
from kpictl.language.formula import WITHIN_MINUTES, funnel_args, funnel_call
from kpictl.language.resolve import Relation, Resolver, Schemas
from kpictl.model import WHOLE, Calendar, Config, Kpi, Snapshot, Source, is_custom_grain
from kpictl.sql import periods
from kpictl.sql.aggregates import Spec, decompose, empty_value, null_safe, substitute, tree_of
from kpictl.sql.derived import Derived, Ref, Window, derive

__all__ = ["Derived", "Dim", "Funnel", "Measure", "Partial", "Plan", "Ref", "Scan", "Window", "dim_alias", "plan"]

Node = tuple[str, str]  # (kpi name, grain): an input is computed at its consumer's grain
_WHERE = Location(pointer="--where")


def dim_alias(name: str) -> str:
    """Internal column name of a breakdown (``customers.region`` → ``customers__region_``).

    The trailing underscore keeps it different from the source column it reads: an output
    alias equal to an input column name breaks some engines (ClickHouse).
    """
    return name.replace(".", "__") + "_"


@dataclass(frozen=True)
class Partial:
    """One aggregate a scan computes, e.g. ``COUNT(*) FILTER(WHERE "orders"."on_time")``.

    ``combine`` says how per-period values make a window's value: ``sum`` (counts, sums),
    ``min``, ``max``, or ``recompute`` over the window's rows (distinct counts, quantiles).
    ``empty`` is its value over zero rows: "0" for counts and sums, None (NULL) otherwise.
    """

    alias: str
    sql: str
    combine: str
    empty: str | None


@dataclass(frozen=True)
class Measure:
    """A source KPI inside a scan: ``expr`` is an expression over the scan's partial aliases."""

    kpi: str
    alias: str
    expr: exp.Expr
    windows: tuple[tuple[Window, str], ...] = ()  # windows derived KPIs need, with their column
    at: Location = field(default_factory=Location, compare=False)
    partials: tuple[str, ...] = ()  # aliases of the scan's partials ``expr`` reads
    reads: tuple[str, ...] = ()  # the source columns its formula and filters read (errors name them)


@dataclass(frozen=True)
class Dim:
    """A breakdown as asked (``region``, ``customers.region``), its column alias and its SQL."""

    name: str
    alias: str
    sql: str


@dataclass(frozen=True)
class Funnel:
    """What a funnel scan adds: who converts, how soon, and the conversion events' side.

    The scan itself reads the base events (its source, time, breakdown, ``where``); ``then`` is
    a scan of the conversion events (no aggregates: its source, time column, lookups and rows).
    SQL is qualified on each side; ``within`` is (n, SQL unit), e.g. ("7", "DAY").
    """

    entity: str
    same: tuple[str, ...]
    filters: tuple[str, ...]  # the base KPI's filters
    within: tuple[str, str]
    then: Scan
    then_entity: str
    then_same: tuple[str, ...]
    then_filters: tuple[str, ...]
    names: tuple[str, str]  # the base and conversion KPIs, for comments and errors

    @property
    def window(self) -> str:
        """``7 days``, ``1 hour``: the window as written."""
        n, unit = self.within
        return f"{n} {unit.lower()}" + ("" if n == "1" else "s")

    @property
    def days(self) -> int:
        """The window in whole days (rounded up): how long after a period its conversions can come."""
        minutes = int(self.within[0]) * WITHIN_MINUTES[self.within[1]]
        return -(-minutes // 1440)


@dataclass(frozen=True)
class Scan:
    """One pass over one source: every partial of every measure, by period and breakdown."""

    source: str
    time: str  # qualified SQL of the time column
    grain: str
    dims: tuple[Dim, ...]
    joins: tuple[Relation, ...]  # lookups LEFT JOINed many-to-one, parents first (keys checked by the engine)
    time_joins: tuple[Relation, ...]  # those the time column is read through (the freshness query's)
    where: tuple[str, ...]  # row conditions of `run --where`
    partials: tuple[Partial, ...]
    measures: tuple[Measure, ...]
    snapshot: Snapshot | None = None  # a balance: only each entity's last (first) row of a period (of a day: daily)
    funnel: Funnel | None = None  # a conversion KPI: its base events, each credited with a conversion or not
    daily: tuple[Partial, ...] = ()  # balances of min/max: the partials of each day, ``partials`` their peaks


@dataclass(frozen=True)
class Plan:
    """What the compiler needs; ``outputs`` are the selected (kpi, grain) pairs in order."""

    scans: tuple[Scan, ...]
    derived: tuple[Derived, ...]
    outputs: tuple[Node, ...]
    by: tuple[str, ...] = ()
    start: dt.date | None = None
    end: dt.date | None = None
    year_start: int = 1  # the month fiscal quarters and years start in (``Calendar.year_start``)
    calendar: Calendar = field(default_factory=Calendar)  # its calendar table, for custom grains


def _too_many(grain: str, count: int) -> SpecError | None:
    if count <= periods.MAX_PERIODS:
        return None
    message = f"the range has {count:,} {grain}s: more than {periods.MAX_PERIODS:,} periods"
    return SpecError(message, at=Location(pointer="--from"), hint=periods.RANGE_HINT)


def plan(
    config: Config,
    kpis: Mapping[str, Kpi],
    selected: Sequence[str],
    *,
    grain: str | None = None,
    by: Sequence[str] = (),
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    where: str | None = None,
    columns: Schemas | None = None,
    exprs: Mapping[str, Sequence[Expr]] | None = None,
) -> Plan:
    """Plan ``selected`` KPIs and everything they derive from, transitively.

    ``kpis`` are checked (``checks.check``, with the same ``columns``). ``grain`` None computes
    each selected KPI at its own ``grain`` (else the project's). ``start``/``end`` (inclusive
    dates) are widened to whole periods. ``columns`` maps sources to their column types
    (``engine.schemas``): with it, a bare name that is not a column of the source is looked
    for in its lookups, and a breakdown the source lacks is reported; without it, bare names
    are taken as the source's own columns. ``where`` is a row condition applied to every
    scan. ``exprs`` are the trees ``checks.parse`` made of each KPI's expressions: given, they
    are planned as they are instead of parsed again. Raises SpecError (one problem) or
    InvalidProject.
    """
    by = tuple(dict.fromkeys(by))  # asked twice is asked once
    planner = _Planner(config, kpis, by, Resolver(config, columns), exprs or {})
    errors = planner.errors
    outputs: list[Node] = []
    for name in selected:
        if name not in kpis:
            errors.append(SpecError(f"unknown KPI '{name}'", hint=suggest(name, kpis)))
            continue
        node = (name, grain or kpis[name].grain or config.grain)
        if (unknown := calendars.unknown_grain(node[1], config, Location(pointer="--grain"))) is not None:
            errors.append(unknown)
            continue
        outputs.append(node)
        planner.visit(node, ())
    planner.report_missing_dims(outputs)
    (first, bad_start), (last, bad_end) = _date(start, "start"), _date(end, "end")
    errors += bad_start + bad_end
    if first is not None and last is not None and first > last:
        errors.append(
            SpecError(
                f"the range is empty: {first} is after {last}",
                at=Location(pointer="--from"),
                hint="--from is the first day, --to the last",
            )
        )
    if first is not None and last is not None and not errors:
        for grain in sorted({g for _, g in outputs if not is_custom_grain(g)}):  # a calendar table is finite
            count = 1 if grain == WHOLE else periods.count(grain, first, last, config.calendar.year_start)
            if (too_many := _too_many(grain, count)) is not None:
                errors.append(too_many)
    scans = planner.scans(where) if not errors else ()
    if errors:
        unique = list({str(e): e for e in errors}.values())
        raise unique[0] if len(unique) == 1 else InvalidProject(unique)
    derived = tuple(planner.derived[n] for n in planner.order)
    return Plan(scans, derived, tuple(outputs), by, first, last, config.calendar.year_start, config.calendar)


def _date(value: dt.date | str | None, what: str) -> tuple[dt.date | None, list[KpiError]]:
    """The date ``value`` (a date, or YYYY-MM-DD text), or None and the problem."""
    if value is None or isinstance(value, dt.date):
        return value, []
    try:
        return dt.date.fromisoformat(value), []
    except ValueError:
        return None, [SpecError(f"{what} date '{value}' is not YYYY-MM-DD")]


@dataclass
class _Draft:
    """A source KPI at one grain, before scans are grouped (mutable while planning)."""

    kpi: Kpi
    source: Source
    time: str
    grain: str
    dims: list[Dim]
    joins: dict[str, Relation]
    specs: list[Spec]  # the partial behind placeholder "__p{i}" of ``post``
    post: exp.Expr
    reads: tuple[str, ...]  # column names of the formula and filters
    time_joins: tuple[Relation, ...] = ()  # the lookups the time column is read through
    windows: list[Window] = field(default_factory=list)
    missing: list[tuple[str, SpecError]] = field(default_factory=list)  # breakdowns it cannot have
    filters: list[exp.Expr] = field(default_factory=list)  # a funnel's side: its KPI's filters, qualified
    keys: list[exp.Expr] = field(default_factory=list)  # a funnel's side: the entity, then the same: columns


class _Planner:
    def __init__(
        self,
        config: Config,
        kpis: Mapping[str, Kpi],
        by: tuple[str, ...],
        resolver: Resolver,
        exprs: Mapping[str, Sequence[Expr]],
    ):
        self.config, self.kpis, self.by, self.resolver, self.exprs = config, kpis, by, resolver, exprs
        #: the checked formula tree of each KPI: derived formulas are expanded from them
        self.trees = {name: found[0].tree for name, found in exprs.items() if found and found[0].part == "formula"}
        self.errors: list[KpiError] = []
        self.drafts: dict[Node, _Draft] = {}
        self.funnels: dict[Node, tuple[_Draft, _Draft, exp.Expr]] = {}  # base, conversion events, the call
        self.derived: dict[Node, Derived] = {}
        self.order: list[Node] = []  # derived nodes, each after its inputs

    # -- pass 1: every node reachable from the selection -----------------------------------
    def visit(self, node: Node, path: tuple[Node, ...]) -> None:
        kpi = self.kpis[node[0]]
        if node in self.drafts or node in self.derived or node in self.funnels:
            return
        try:
            if not kpi.derived:
                self.drafts[node] = self._draft(kpi, node[1])
                return
            if funnel_call(kpi.formula):
                self.funnels[node] = self._funnel(kpi, node[1])
                return
            derived = derive(kpi, node[1], self.kpis, self.trees)
        except KpiError as error:
            self.errors.append(error)
            return
        for ref in derived.refs:
            self.visit((ref.kpi, node[1]), (*path, node))
            draft = self.drafts.get((ref.kpi, node[1]))
            leaf = ref.window if ref.window is not None and ref.window.kind != "rolling_avg" else None
            if leaf and draft and leaf not in draft.windows:  # an average reads the values, no window of rows
                draft.windows.append(leaf)
        self.derived[node] = derived
        self.order.append(node)

    def tree(self, kpi: Kpi, part: str, text: str, at: Location) -> exp.Expr:
        """The checked tree of ``part`` of ``kpi`` ("formula", "dimension 'x'"), else ``text`` parsed."""
        found = next((e.tree for e in self.exprs.get(kpi.name, ()) if e.part == part and e.text == text), None)
        return found if found is not None else tree_of(text, at, copy=False)

    def report_missing_dims(self, outputs: list[Node]) -> None:
        """A breakdown one of its inputs lacks is an error at the KPI the user asked for."""
        for root in outputs:
            for leaf in self._leaves(root):
                draft = self.funnels[leaf][0] if leaf in self.funnels else self.drafts[leaf]
                for name, why in draft.missing:
                    via = "" if leaf == root else f"its input '{leaf[0]}': "
                    message = f"cannot break down {root[0]} by {name}: {via}{why.message}"
                    self.errors.append(SpecError(message, at=self.kpis[root[0]].at, hint=why.hint))

    def _leaves(self, node: Node, path: tuple[Node, ...] = ()) -> list[Node]:
        if node in self.drafts or node in self.funnels:
            return [node]
        refs = self.derived[node].refs if node in self.derived and node not in path else ()  # cycles: reported
        return [leaf for ref in refs for leaf in self._leaves((ref.kpi, node[1]), (*path, node))]

    def _draft(self, kpi: Kpi, grain: str, by: Sequence[str] | None = None) -> _Draft:
        source = self.resolver.source(kpi)
        time_joins: dict[str, Relation] = {}
        relation, time = self.resolver.time(kpi, source, grain)
        self._join(source, relation, time_joins)  # bucketed by a date of a lookup (its order's date)
        joins = dict(time_joins)
        at = kpi.formula_at if kpi.formula_at.line else kpi.at
        tree = self._qualify(self.tree(kpi, "formula", kpi.formula, at), source, joins, at, f"formula of {kpi.name}")
        spots = (*kpi.filter_at, *[kpi.at] * len(kpi.filters))
        filters = [
            self._qualify(self.tree(kpi, "filter", text, spot), source, joins, spot, f"filter of {kpi.name}")
            for text, spot in zip(kpi.filters, spots, strict=False)
        ]
        post, specs = decompose(null_safe(tree), [null_safe(f) for f in filters])
        time_sql = exp.column(time, table=relation, quoted=True).sql("duckdb")
        reads = tuple(sorted({c.name for t in (tree, *filters) for c in t.find_all(exp.Column)}))
        draft = _Draft(kpi, source, time_sql, grain, [], joins, specs, post, reads, tuple(time_joins.values()))
        declared = {d.name: d for d in kpi.dimensions if d.expr}
        names = [d.name for d in kpi.dimensions]
        for name in self.by if by is None else by:
            dim_joins: dict[str, Relation] = {}
            try:
                if names and name not in names:  # declared dimensions are the only breakdowns
                    raise SpecError(
                        f"'{name}' is not one of its dimensions ({', '.join(names)})",
                        hint=suggest(name, names) or f"add '{name}' to the dimensions of {kpi.name}",
                    )
                if name in declared:
                    spot, text = declared[name].at, declared[name].expr or ""
                    tree = self.tree(kpi, f"dimension '{name}'", text, spot)
                    node = self._qualify(tree, source, dim_joins, spot, f"dimension {name}")
                else:
                    relation = self.resolver.column(source, name, what="--by", at=kpi.at)
                    node = exp.column(name.rpartition(".")[2], table=relation, quoted=True)
                    self._join(source, relation, dim_joins)
            except SpecError as error:
                draft.missing.append((name, error))
                continue
            draft.dims.append(Dim(name, dim_alias(name), null_safe(node).sql("duckdb")))
            joins.update(dim_joins)
        return draft

    def _funnel(self, kpi: Kpi, grain: str) -> tuple[_Draft, _Draft, exp.Expr]:
        """A funnel's two sides: its base KPI's events (breakdown included), then its conversion
        KPI's, each with the entity and ``same:`` columns and its KPI's filters qualified."""
        call = self.trees.get(kpi.name)
        call = call if call is not None else tree_of(kpi.formula, kpi.at, copy=False)
        base_name, then_name, _, entity, same = funnel_args(call)
        at = kpi.formula_at if kpi.formula_at.line else kpi.at
        sides = []
        for name, by in ((base_name, self.by), (then_name, ())):
            other = self.kpis[name]
            draft = self._draft(other, grain, by)
            spots = (*other.filter_at, *[other.at] * len(other.filters))
            draft.filters = [
                null_safe(self._qualify(self.tree(other, "filter", text, spot), draft.source, draft.joins, spot, name))
                for text, spot in zip(other.filters, spots, strict=False)
            ]
            what = f"{funnel_call(kpi.formula)}() of {kpi.name}"
            draft.keys = [
                self._qualify(tree_of(column, at), draft.source, draft.joins, at, what) for column in (entity, *same)
            ]
            sides.append(draft)
        return sides[0], sides[1], call

    def _join(self, source: Source, relation: str, joins: dict[str, Relation]) -> None:
        """Add ``relation`` to ``joins`` with every relation it is reached through."""
        for hop in self.resolver.chain(source, relation):
            joins[hop.name] = hop

    def _qualify(self, tree: exp.Expr, source: Source, joins: dict[str, Relation], at: Location, what: str) -> exp.Expr:
        """Every column as "relation"."column"; the lookups it reaches are added to ``joins``."""

        def resolve(node: exp.Expr) -> exp.Expr:
            if not isinstance(node, exp.Column):
                return node
            name = ".".join(part.name for part in node.parts)  # a path: customers.companies.industry
            relation = self.resolver.column(source, name, what=what, at=at)
            self._join(source, relation, joins)
            return exp.column(node.name, table=relation, quoted=True)

        return tree.transform(resolve)

    # -- pass 2: drafts grouped into scans ---------------
    def scans(self, where: str | None) -> tuple[Scan, ...]:
        groups: dict[tuple[str, str, str, tuple[str, ...], Snapshot | None, bool], list[tuple[Node, _Draft]]] = {}
        for node, draft in self.drafts.items():
            key = (draft.source.name, draft.time, draft.grain, tuple(d.sql for d in draft.dims), *_kept(draft))
            groups.setdefault(key, []).append((node, draft))
        condition = tree_of(where, _WHERE) if where else None
        scans = tuple(self._scan(members, condition) for members in groups.values())
        funnels: dict[tuple[object, ...], list[Node]] = {}  # a rate and a count of one funnel: one scan
        for node, (base, _, call) in self.funnels.items():
            funnels.setdefault((funnel_args(call), node[1], tuple(d.sql for d in base.dims)), []).append(node)
        return scans + tuple(self._funnel_scan(nodes, condition) for nodes in funnels.values())

    def _rows(self, draft: _Draft, where: exp.Expr | None) -> tuple[str, ...]:
        """``run --where`` on the rows of one draft's source."""
        if where is None:
            return ()
        return (null_safe(self._qualify(where, draft.source, draft.joins, _WHERE, "--where")).sql("duckdb"),)

    def _funnel_scan(self, nodes: list[Node], where: exp.Expr | None) -> Scan:
        """A funnel as a scan of its base events with two aggregates: the entities that entered
        (had a base event in the period) and those of them credited with a conversion; each KPI
        of that funnel (its rate, its count) a measure over them."""
        base, then, call = self.funnels[nodes[0]]
        first = self.kpis[nodes[0][0]]
        taken = {"period_", *(d.alias for d in base.dims)}
        entered, converted = _unique(f"{first.name}__entered", taken), _unique(f"{first.name}__converted", taken)
        partials = (
            Partial(entered, f"entities with {base.kpi.name}", "recompute", "0"),
            Partial(converted, f"of them converted to {then.kpi.name}", "recompute", "0"),
        )
        _, _, within, entity, same = funnel_args(call)
        measures = []
        for kpi in (self.kpis[name] for name, _ in nodes):
            text = f'"{converted}" / "{entered}"' if funnel_call(kpi.formula) == "conversion" else f'"{converted}"'
            expr = null_safe(tree_of(text, kpi.at))
            measures.append(
                Measure(kpi.name, _unique(kpi.name, taken), expr, (), kpi.at, (entered, converted), (entity, *same))
            )
        base_rows, then_rows = self._rows(base, where), self._rows(then, where)  # may add lookups: first
        then_joins = tuple(sorted(then.joins.values(), key=lambda r: _join_order(r, then.joins)))
        then_scan = Scan(then.source.name, then.time, then.grain, (), then_joins, then.time_joins, then_rows, (), ())

        def sql(trees: list[exp.Expr]) -> tuple[str, ...]:
            return tuple(t.sql("duckdb") for t in trees)

        funnel = Funnel(
            sql(base.keys[:1])[0],
            sql(base.keys[1:]),
            sql(base.filters),
            within,
            then_scan,
            sql(then.keys[:1])[0],
            sql(then.keys[1:]),
            sql(then.filters),
            (base.kpi.name, then.kpi.name),
        )
        return Scan(
            base.source.name,
            base.time,
            base.grain,
            tuple(base.dims),
            tuple(sorted(base.joins.values(), key=lambda r: _join_order(r, base.joins))),
            base.time_joins,
            base_rows,
            partials,
            tuple(measures),
            None,
            funnel,
        )

    def _scan(self, members: list[tuple[Node, _Draft]], where: exp.Expr | None) -> Scan:
        first = members[0][1]
        snapshot, peaked = _kept(first)
        taken = {"period_", *(d.alias for d in first.dims)}
        partials: dict[str, Partial] = {}
        measures: list[Measure] = []
        joins: dict[str, Relation] = {}
        for _, draft in members:
            joins.update(draft.joins)
            names: dict[str, exp.Expr] = {}
            for i, spec in enumerate(draft.specs):
                if spec.sql not in partials:
                    partials[spec.sql] = Partial(
                        _unique(f"{draft.kpi.name}__{i + 1}", taken), spec.sql, spec.combine, spec.empty
                    )
                names[f"__p{i}"] = exp.column(partials[spec.sql].alias, quoted=True)
            windows = tuple((w, _unique(f"{draft.kpi.name}__{w.name}", taken)) for w in draft.windows)
            alias = _unique(draft.kpi.name, taken)
            expr = substitute(draft.post, names)
            used = tuple(partials[spec.sql].alias for spec in draft.specs)
            measures.append(Measure(draft.kpi.name, alias, expr, windows, draft.kpi.at, used, draft.reads))
        rows = (
            ()
            if where is None
            else (null_safe(self._qualify(where, first.source, joins, _WHERE, "--where")).sql("duckdb"),)
        )
        scan = Scan(
            first.source.name,
            first.time,
            first.grain,
            tuple(first.dims),
            tuple(sorted(joins.values(), key=lambda r: _join_order(r, joins))),
            first.time_joins,
            rows,
            tuple(partials.values()),
            tuple(measures),
            snapshot,
        )
        return _peaks(scan, [draft.kpi for _, draft in members], taken) if peaked else scan


def _kept(draft: _Draft) -> tuple[Snapshot | None, bool]:
    """The rows a source KPI keeps (a balance's snapshot) and whether it then takes the lowest or
    highest of its day values. A ``min``/``max`` balance keeps each entity's last rows of each day,
    so at day grain it is a ``last`` one (and shares its scan)."""
    snapshot = draft.kpi.snapshot
    if snapshot is None or snapshot.take not in ("min", "max"):
        return snapshot, False
    return replace(snapshot, take="last"), draft.grain != "day"


def _peaks(scan: Scan, kpis: list[Kpi], taken: set[str]) -> Scan:
    """A scan of ``min``/``max`` balances: its partials become those of each day (``daily``), and
    each KPI's one partial the lowest (highest) of its day values in the period, a day with no
    rows never in it. A KPI's own peak day (several KPIs, several breakdown groups: several days)."""
    days = Partial(_unique(f"{kpis[0].name}__days", taken), "COUNT(*)", "sum", "0")
    peaks, measures = [], []
    for kpi, measure in zip(kpis, scan.measures, strict=True):
        take = kpi.snapshot.take if kpi.snapshot else "max"
        alias = _unique(f"{kpi.name}__{take}", taken)
        peaks.append(Partial(alias, f"{take.upper()}({measure.expr.sql('duckdb')})", take, None))
        expr: exp.Expr = exp.column(alias, quoted=True)
        used: tuple[str, ...] = (alias,)
        # A period without days is the formula over zero rows (a sum's 0); one whose days are all
        # NULL is NULL, as a day whose balances are all unknown is: the days are counted apart.
        empty = empty_value(measure.expr, {p.alias: p.empty for p in scan.partials if p.alias in measure.partials})
        if empty is not None:
            none = exp.EQ(this=exp.column(days.alias, quoted=True), expression=exp.Literal.number(0))
            expr = exp.Paren(this=exp.Case(ifs=[exp.If(this=none, true=tree_of(empty, kpi.at))], default=expr))
            used = (days.alias, alias)
        # its peak (and day count), then the day partials they are made of (an engine's error names those too)
        measures.append(replace(measure, expr=expr, partials=(*used, *measure.partials)))
    if any(days.alias in m.partials for m in measures):
        peaks.insert(0, days)
    return replace(scan, partials=tuple(peaks), measures=tuple(measures), daily=scan.partials)


def _join_order(relation: Relation, joins: Mapping[str, Relation]) -> tuple[int, int, str]:
    """Parents first, and a lookup picked by the fact row's time (a history, a snapshot) after
    every plain one: the time it compares may be read through a lookup (``time: orders.order_date``)."""
    dated, hop = 0, joins.get(relation.name)
    while hop is not None:
        dated += hop.lookup.dated
        hop = joins.get(hop.parent)
    return dated, len(relation.path), relation.name


def _unique(name: str, taken: set[str]) -> str:
    while name in taken:
        name += "_"
    taken.add(name)
    return name
