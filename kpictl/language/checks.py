"""Semantic checks of a loaded project: names, formulas, cycles, dimensions, tests, columns.

``parse`` renders (Jinja) and parses every expression of every KPI once; ``check`` returns
every problem as a list (never raises) together with the KPIs whose formulas and filters have
been rendered, ready for the planner, which plans the same trees. What a name means is
``resolve``'s rule, the one the planner applies too. Column checks against the real data
happen only when ``schemas`` (source → column → type) is given; this module never opens a
file itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, NamedTuple

from kpictl.errors import KpiError, Location, SpecError, suggest
from kpictl.language import calendars, formula, jinja
from kpictl.language.pointers import at_offset
from kpictl.language.resolve import (
    MAX_HOPS,
    Resolver,
    Schemas,
    computed_reads,
    cycles,
    nested_window,
    offset_periods,
    to_date_unit,
    window_of_balance,
)
from kpictl.model import Config, Kpi, Lookup, Source


class Expr(NamedTuple):
    """One parsed SQL text of a KPI: its formula, a filter or a dimension expression."""

    part: str  # "formula", "filter", "dimension 'x'"
    text: str
    at: Location
    exact: bool  # text is what the YAML says at ``at`` (no Jinja), so token offsets map onto the file
    tree: Any
    columns: dict[str, int]  # column (or KPI) name -> offset of its first use in ``text``

    def at_column(self, name: str) -> Location:
        return self.at_offset(self.columns.get(name))

    def at_offset(self, offset: int | None) -> Location:
        if offset is None or not self.exact:
            return self.at
        return at_offset(self.at, self.text, offset) or self.at


@dataclass(frozen=True)
class Parsed:
    """Every KPI of a project rendered (Jinja) and parsed once, for ``check`` and the planner.

    ``exprs`` holds each KPI's parsed expressions (formula first, then filters, then dimension
    expressions; those that failed are left out), ``kpis`` the KPIs whose expressions all
    parsed, with their rendered text, and ``errors`` the duplicate names and parse problems.
    """

    kpis: dict[str, Kpi]
    exprs: dict[str, list[Expr]]
    by_name: dict[str, Kpi]
    errors: list[KpiError]

    def formulas(self) -> dict[str, Any]:
        """The sqlglot tree of each KPI's formula, by name (when it parsed)."""
        return {name: found[0].tree for name, found in self.exprs.items() if found and found[0].part == "formula"}


def parse(config: Config, kpis: list[Kpi]) -> Parsed:
    """Render and parse every expression of every KPI (``jinja.render``, ``formula.parse``)."""
    errors: list[KpiError] = []
    by_name: dict[str, Kpi] = {}
    for kpi in kpis:
        if kpi.name in by_name:
            first = by_name[kpi.name].at
            errors.append(
                SpecError(
                    f"duplicate KPI name '{kpi.name}'",
                    at=kpi.at,
                    hint=f"first defined at {first}; KPI names are unique in a project",
                )
            )
            continue
        by_name[kpi.name] = kpi
    rendered: dict[str, Kpi] = {}
    exprs: dict[str, list[Expr]] = {}
    for kpi in by_name.values():
        done, exprs[kpi.name], problems = _render(kpi, config)
        errors += problems
        if done is not None:
            rendered[kpi.name] = done
    return Parsed(rendered, exprs, by_name, errors)


def check(
    config: Config,
    kpis: list[Kpi],
    schemas: Schemas | None = None,
    *,
    elsewhere: Collection[str] = (),
    parsed: Parsed | None = None,
) -> tuple[dict[str, Kpi], list[KpiError]]:
    """All semantic problems of the project, and its KPIs by name with formulas rendered.

    Each KPI is checked on its own, so that one broken KPI hides no other's problem.
    ``elsewhere`` names KPIs that exist in files left out for their own problems ("*": a file
    too broken to tell): a formula using one of them is not reported as using an unknown KPI.
    ``parsed`` is ``parse(config, kpis)`` when the caller has it already.
    """
    parsed = parsed or parse(config, kpis)
    resolver = Resolver(config, schemas)
    errors: list[KpiError] = _check_sources(config, resolver) + parsed.errors
    errors += calendars.column_problems(config, schemas) + calendars.kpi_problems(config, kpis)
    by_name, rendered = parsed.by_name, parsed.kpis
    exprs = {name: parsed.exprs[name] for name in rendered}
    for kpi in by_name.values():
        errors += _check_kpi(rendered.get(kpi.name, kpi), parsed.exprs[kpi.name], config, resolver)
    trees = {name: found[0].tree for name, found in exprs.items()}
    known = set(by_name) | set(elsewhere) if "*" not in elsewhere else None
    errors += _check_references(rendered, exprs, set(by_name), known)
    errors += _check_cycles(rendered, exprs)
    errors += _check_windows(rendered, exprs, config)
    errors += _check_funnels(rendered, exprs, resolver)
    for kpi in rendered.values():
        errors += _check_target_and_tests(kpi, rendered, trees, config, schemas)
    return rendered, errors


def _render(kpi: Kpi, config: Config) -> tuple[Kpi | None, list[Expr], list[KpiError]]:
    """The KPI with Jinja expanded and every expression parsed, or None and its problems."""
    errors: list[KpiError] = []
    parsed: list[Expr] = []

    def one(text: str, kind: str, part: str, at: Location) -> str:
        try:
            done = jinja.render(text, config.vars, at)
            exact = done == text
            tree = formula.parse(done, kind, at, exact=exact)
            parsed.append(Expr(part, done, at, exact, tree, formula.column_offsets(tree)))
            return done
        except SpecError as exc:
            errors.append(exc)
            return text

    text = one(kpi.formula, "derived" if kpi.derived else "aggregate", "formula", kpi.formula_at)
    filters = tuple(one(f, "filter", "filter", at) for f, at in zip(kpi.filters, kpi.filter_at, strict=False))
    dims = tuple(
        d if d.expr is None else dataclasses.replace(d, expr=one(d.expr, "dimension", f"dimension '{d.name}'", d.at))
        for d in kpi.dimensions
    )
    if errors:
        return None, parsed, errors
    return dataclasses.replace(kpi, formula=text, filters=filters, dimensions=dims), parsed, []


def _check_sources(config: Config, resolver: Resolver) -> list[KpiError]:
    errors: list[KpiError] = []
    schemas = resolver.schemas
    for source in config.sources.values():
        seen: set[str] = set()
        for lk in source.lookups:
            if lk.source not in config.sources:
                others = [s for s in config.sources if s != source.name]
                errors.append(
                    SpecError(
                        f"unknown source '{lk.source}' in lookups of '{source.name}'",
                        at=lk.at,
                        hint=suggest(lk.source, others) or f"sources: {', '.join(config.sources)}",
                    )
                )
                continue
            if lk.source == source.name:
                errors.append(SpecError(f"source '{source.name}' cannot look itself up", at=lk.at))
            elif lk.alias is not None and lk.alias != lk.source and lk.alias in config.sources:
                errors.append(
                    SpecError(
                        f"role '{lk.alias}' of a lookup of '{source.name}' shadows the source '{lk.alias}'",
                        at=lk.at,
                        hint=f"name the role after what it is for, e.g. {lk.alias}_of_{source.name}",
                    )
                )
            elif lk.name in seen:
                errors.append(
                    SpecError(
                        f"source '{source.name}' looks up '{lk.name}' twice",
                        at=lk.at,
                        hint="keep one lookup per source, or give each a role with as:",
                    )
                )
            seen.add(lk.name)
            errors += _dated_lookup(source, lk, resolver)
            sides = ((source.name, [f for f, _ in lk.pairs]), (lk.source, [f for _, f in lk.pairs]))
            for side, wanted in sides if schemas is not None else ():
                cols = schemas.get(side) if schemas else None
                for column in dict.fromkeys(wanted):
                    if cols is not None and column not in cols:
                        errors.append(
                            SpecError(
                                f"lookup column '{column}' is not a column of source '{side}'",
                                at=lk.at,
                                hint=suggest(column, cols),
                            )
                        )
        errors += _computed(source)
        problem = resolver.source_time(source)
        errors += [problem] if problem else []
    return errors + _lookup_chains(config, resolver)


def _computed(source: Source) -> list[KpiError]:
    """Each computed column is one row-level expression; they may read each other, not in a cycle."""
    errors: list[KpiError] = []
    for column in source.computed:
        try:
            formula.parse(column.expr, "column", column.at)
        except SpecError as error:
            errors.append(error)
    names = {c.name: c for c in source.computed}
    # reading its own name is the data's column of that name (reported with the data) or nothing
    deps = {c.name: sorted(computed_reads(c) & set(names) - {c.name}) for c in source.computed}
    for cycle in cycles(deps):
        errors.append(
            SpecError(
                f"computed columns of source '{source.name}' read each other in a cycle: "
                + " → ".join([*cycle, cycle[0]]),
                at=names[cycle[0]].at,
                hint="compute one of them from the source's own columns",
            )
        )
    return errors


def _dated_lookup(source: Source, lk: Lookup, resolver: Resolver) -> list[KpiError]:
    """A history needs both ends of its versions, and is not also a snapshot; its dates and the
    fact time it compares must be dates."""
    if bool(lk.valid_from) != bool(lk.valid_to):
        given, missing = ("valid_from", "valid_to") if lk.valid_from else ("valid_to", "valid_from")
        hint = f"add {missing}: the column where each version {'ends' if missing == 'valid_to' else 'starts'}"
        return [
            SpecError(f"lookup of '{lk.source}' in '{source.name}' has {given} but no {missing}", at=lk.at, hint=hint)
        ]
    if lk.valid_from and lk.date:
        message = f"lookup of '{lk.source}' in '{source.name}' is both a history (valid_from) and a snapshot (date)"
        return [SpecError(message, at=lk.at, hint="keep valid_from/valid_to for versions, or date for daily rows")]
    if lk.time and not lk.dated:
        message = f"lookup of '{lk.source}' in '{source.name}' has time: but no valid_from/valid_to or date"
        return [SpecError(message, at=lk.at, hint="time: names the fact column that picks a version or a day")]
    errors: list[KpiError] = []
    checks = [(lk.source, c) for c in (lk.valid_from, lk.valid_to, lk.date) if c]
    checks += [(source.name, lk.time)] if lk.time else []
    for side, column in checks:
        cols = (resolver.schemas or {}).get(side)
        if cols is not None and column not in cols:
            message = f"lookup column '{column}' is not a column of source '{side}'"
            errors.append(SpecError(message, at=lk.at, hint=suggest(column, cols)))
            continue
        try:
            resolver.check_time_type(side, column, what=f"the lookup of '{lk.source}' in '{source.name}'", at=lk.at)
        except SpecError as error:
            errors.append(error)
    return errors


def _lookup_chains(config: Config, resolver: Resolver) -> list[KpiError]:
    """Lookups that chain back to a source on the way (a cycle), or further than ``MAX_HOPS``."""
    errors: list[KpiError] = []
    deps = {name: [lk.source for lk in s.lookups if lk.source != name] for name, s in config.sources.items()}
    for cycle in cycles(deps):
        first = config.sources[cycle[0]]
        at = next(lk.at for lk in first.lookups if lk.source == cycle[(1 % len(cycle))])
        errors.append(
            SpecError(
                f"lookups form a cycle: {' → '.join([*cycle, cycle[0]])}",
                at=at,
                hint="a lookup joins many rows to one: keep the direction from facts to what describes them",
            )
        )
    reported: set[Location] = set()
    for source in config.sources.values():
        for relation in resolver.relations(source):
            if len(relation.path) < MAX_HOPS:
                continue
            further = config.sources[relation.lookup.source]  # relations only reach declared sources
            on_path = [source.name, *(r.lookup.source for r in resolver.chain(source, relation.name))]
            for lk in further.lookups:
                if lk.at in reported or lk.source not in config.sources or lk.source in on_path:
                    continue  # unknown sources and cycles are reported as such
                reported.add(lk.at)
                chain = " → ".join(on_path)
                errors.append(
                    SpecError(
                        f"lookups chain more than {MAX_HOPS} deep: {chain} → {lk.source}",
                        at=lk.at,
                        hint=f"a KPI reads at most {MAX_HOPS} lookups away: look up '{lk.source}' from a nearer source",
                    )
                )
    return errors


def _check_kpi(kpi: Kpi, exprs: list[Expr], config: Config, resolver: Resolver) -> list[KpiError]:
    if kpi.derived:
        return _check_derived(kpi)
    try:
        source = resolver.source(kpi)
    except SpecError as error:
        return [error]
    errors: list[KpiError] = []

    def resolve(name: str, what: str, at: Location, kind: str = "column") -> None:
        try:
            resolver.column(source, name, what=what, at=at, kind=kind)
        except SpecError as error:
            errors.append(error)

    try:
        resolver.time(kpi, source)
    except SpecError as error:
        errors.append(error)
    seen: set[str] = set()
    for d in kpi.dimensions:
        if d.name in seen:
            errors.append(SpecError(f"dimension '{d.name}' is listed twice in '{kpi.name}'", at=d.at))
        seen.add(d.name)
        if d.expr is None:
            resolve(d.name, kpi.name, d.at, "dimension")
    for expr in exprs:
        for col in sorted(expr.columns):
            resolve(col, f"{expr.part} of {kpi.name}", expr.at_column(col))
    return errors + _check_snapshot(kpi, exprs, source, resolver)


def _check_snapshot(kpi: Kpi, exprs: list[Expr], source: Source, resolver: Resolver) -> list[KpiError]:
    """A balance's entities are columns of its own source; a distinct count over snapshots counts
    what the snapshots repeat, not what is held: refused."""
    from sqlglot import exp

    if kpi.snapshot is None:
        return []
    errors: list[KpiError] = []
    for name in kpi.snapshot.per:
        try:
            relation = resolver.column(source, name, what=f"snapshot of {kpi.name}", at=kpi.snapshot.at)
        except SpecError as error:
            errors.append(error)
            continue
        if relation != source.name:
            message = f"snapshot of {kpi.name}: per '{name}' is a column of '{relation}', not of '{source.name}'"
            errors.append(SpecError(message, at=kpi.snapshot.at, hint="the entities are rows of the source itself"))
    for expr in exprs:
        for count in expr.tree.find_all(exp.Count):
            if isinstance(count.this, exp.Distinct):
                errors.append(
                    SpecError(
                        f"count(distinct …) in the balance {kpi.name}: its rows are snapshots, one per entity",
                        at=expr.at,
                        hint="count(*) counts the entities of each period; a distinct count is a KPI without snapshot:",
                    )
                )
    return errors


def _check_derived(kpi: Kpi) -> list[KpiError]:
    errors: list[KpiError] = []
    if kpi.snapshot is not None:
        message = f"derived KPI '{kpi.name}' cannot have a snapshot"
        errors.append(SpecError(message, at=kpi.snapshot.at, hint="declare it on the balance it is computed from"))
    if kpi.filters:
        errors.append(
            SpecError(
                f"derived KPI '{kpi.name}' cannot have a filter",
                at=kpi.filter_at[0],
                hint="filter the KPIs it is computed from",
            )
        )
    if kpi.dimensions:
        errors.append(
            SpecError(
                f"derived KPI '{kpi.name}' cannot declare dimensions",
                at=kpi.dimensions[0].at,
                hint="it has the dimensions its KPIs share; declare them there",
            )
        )
    if kpi.time:
        errors.append(
            SpecError(
                f"derived KPI '{kpi.name}' has no time column of its own",
                at=kpi.at,
                hint="each KPI it uses is bucketed by its own time column",
            )
        )
    return errors


def _check_references(
    kpis: dict[str, Kpi], exprs: dict[str, list[Expr]], names: set[str], known: set[str] | None
) -> list[KpiError]:
    """Every name of a derived formula is a KPI (``known`` None: some file could not be read)."""
    errors: list[KpiError] = []
    for kpi in kpis.values():
        if not kpi.derived:
            continue
        expr = exprs[kpi.name][0]
        if not expr.columns:
            hint = "a KPI without `source:` combines KPIs"
            errors.append(SpecError(f"formula of {kpi.name} uses no KPI", at=expr.at, hint=hint))
        for ref in sorted(expr.columns):
            if ref not in names and known is not None and ref not in known:
                errors.append(
                    SpecError(
                        f"unknown KPI '{ref}' in formula of {kpi.name}",
                        at=expr.at_column(ref),
                        hint=suggest(ref, names) or "no KPI has this name in the project",
                    )
                )
    return errors


def _check_cycles(kpis: dict[str, Kpi], exprs: dict[str, list[Expr]]) -> list[KpiError]:
    order = {name: i for i, name in enumerate(kpis)}
    deps = {
        k.name: sorted(exprs[k.name][0].columns.keys() & set(kpis), key=order.__getitem__)
        for k in kpis.values()
        if k.derived
    }
    return [_cycle_error(cycle, order, exprs) for cycle in cycles(deps)]


def _check_windows(kpis: dict[str, Kpi], exprs: dict[str, list[Expr]], config: Config) -> list[KpiError]:
    """Windows over KPIs that window themselves, and to_date() units finer than the KPI's grain."""
    from sqlglot import exp

    def refs(name: str) -> set[str]:
        return set(exprs[name][0].columns) & set(kpis) if name in exprs else set()

    def windowed(name: str) -> bool:
        tree = exprs[name][0].tree
        return any(formula.derived_call(node) for node in tree.find_all(exp.Anonymous))

    errors: list[KpiError] = []
    for kpi in kpis.values():
        if not kpi.derived:
            continue
        expr = exprs[kpi.name][0]
        for node in expr.tree.find_all(exp.Anonymous):
            call, at = formula.derived_call(node), expr.at_offset(formula.offset_of(node, expr.text))
            if call == "to_date":
                problem = to_date_unit(formula.written(node), formula.window_grain(node), kpi.grain or config.grain)
                errors += [SpecError(problem.message, at=at, hint=problem.hint)] if problem else []
            if call in ("prior", "rolling", "rolling_avg"):  # a unit that does not fit the KPI's grain
                count, unit, _ = formula.offset_args(node)
                grain = kpi.grain or config.grain
                if unit is not None:
                    problem = offset_periods(formula.written(node), call, count, unit, grain)[1]
                    errors += [SpecError(problem.message, at=at, hint=problem.hint)] if problem else []
            if call in formula.WINDOWS:
                problem = nested_window(formula.written(node), node.expressions[0].name, kpis, refs, windowed)
                if problem is None and call != "rolling_avg":
                    problem = window_of_balance(formula.written(node), node.expressions[0].name, kpis, refs)
                errors += [SpecError(problem.message, at=at, hint=problem.hint)] if problem else []
    return errors


def _check_funnels(kpis: dict[str, Kpi], exprs: dict[str, list[Expr]], resolver: Resolver) -> list[KpiError]:
    """A funnel is a KPI of its own, from one source KPI's events to another's, and its entity
    and ``same:`` columns are columns of both sources."""
    from sqlglot import exp

    errors: list[KpiError] = []
    for kpi in kpis.values():
        if not kpi.derived:
            continue
        expr = exprs[kpi.name][0]
        for node in expr.tree.find_all(exp.Anonymous):
            call = formula.derived_call(node)
            if call not in formula.FUNNELS:
                continue
            at = expr.at_offset(formula.offset_of(node, expr.text))
            if node is not expr.tree:
                errors.append(
                    SpecError(
                        f"{call}() is a KPI of its own: its formula is the call alone",
                        at=at,
                        hint=f"define a KPI whose formula is this {call}(), then use its name here",
                    )
                )
                continue
            base, then, _, entity, same = formula.funnel_args(node)
            spots = {  # where each option's column is written
                ".".join(p.name for p in c.parts): expr.at_offset(formula.offset_of(c, expr.text))
                for c in node.find_all(exp.Column)
                if c.parent is not node
            }
            if base == then:
                message = f"{call}() goes from one KPI's events to another's, not to {base} again"
                errors.append(SpecError(message, at=at))
                continue
            for name in (base, then):
                other = kpis.get(name)
                if other is None:
                    continue  # an unknown KPI: _check_references says so
                if other.derived or other.snapshot is not None:
                    what = "a balance (snapshot:)" if other.snapshot is not None else "a derived KPI"
                    errors.append(
                        SpecError(
                            f"{call}(): {name} is {what}; a funnel counts the rows of a source KPI (its events)",
                            at=expr.at_column(name),
                            hint="name source KPIs: the base event, then the conversion event",
                        )
                    )
                    continue
                try:
                    source = resolver.source(other)
                except SpecError:
                    continue  # reported at that KPI
                for column in (entity, *same):
                    try:
                        resolver.column(source, column, what=f"{call}() of {kpi.name}", at=spots.get(column, at))
                    except SpecError as error:
                        errors.append(error)
    return errors


def _cycle_error(cycle: list[str], order: dict[str, int], exprs: dict[str, list[Expr]]) -> SpecError:
    """The cycle, starting at the KPI defined first, reported at its use of the next one."""
    first = min(range(len(cycle)), key=lambda i: order[cycle[i]])
    cycle = cycle[first:] + cycle[:first]
    expr = exprs[cycle[0]][0]
    nxt = cycle[1] if len(cycle) > 1 else cycle[0]
    if len(cycle) == 1:
        return SpecError(
            f"KPI '{cycle[0]}' is computed from itself",
            at=expr.at_column(nxt),
            hint="a derived KPI combines other KPIs",
        )
    return SpecError(
        f"cycle between derived KPIs: {' -> '.join([*cycle, cycle[0]])}",
        at=expr.at_column(nxt),
        hint="a KPI cannot depend on itself, even through others",
    )


def dimensions_of(name: str, kpis: dict[str, Kpi], trees: dict[str, Any] | None = None) -> set[str]:
    """Dimensions a KPI can be broken down by: its own, or those all its inputs share."""
    kpi = kpis[name]
    if not kpi.derived:
        return {d.name for d in kpi.dimensions}
    tree = trees[name] if trees else formula.parse(kpi.formula, "derived")
    if formula.funnel_call(kpi.formula):  # broken down by its base events
        base = formula.funnel_args(tree)[0]
        return dimensions_of(base, kpis, trees) if base in kpis and base != name else set()
    shared: set[str] | None = None
    for ref in formula.kpi_refs(tree):
        if ref in kpis and ref != name:
            dims = dimensions_of(ref, kpis, trees)
            shared = dims if shared is None else shared & dims
    return shared or set()


def _check_target_and_tests(
    kpi: Kpi, kpis: dict[str, Kpi], trees: dict[str, Any], config: Config, schemas: Schemas | None
) -> list[KpiError]:
    errors: list[KpiError] = []
    try:
        dims = dimensions_of(kpi.name, kpis, trees)
    except (KpiError, RecursionError):
        return errors  # unknown names and cycles are already reported
    if kpi.target:
        for dim in kpi.target.per:
            if dim not in dims:
                message = f"target of {kpi.name} overrides by '{dim}', which is not one of its dimensions"
                errors.append(SpecError(message, at=kpi.target.at, hint=suggest(dim, dims)))
    for test in kpi.tests:
        for source in test.given:
            if source not in config.sources:
                errors.append(
                    SpecError(
                        f"test '{test.name}' of {kpi.name} gives rows of unknown source '{source}'",
                        at=test.at,
                        hint=suggest(source, config.sources),
                    )
                )
            elif schemas is not None and schemas.get(source) is not None:
                for col in sorted({c for row in test.given[source] for c in row} - set(schemas[source])):
                    errors.append(
                        SpecError(
                            f"test '{test.name}' of {kpi.name}: '{col}' is not a column of '{source}'",
                            at=test.at,
                            hint=suggest(col, schemas[source]),
                        )
                    )
        for by in test.by:
            if by not in dims:
                message = f"test '{test.name}' of {kpi.name} breaks down by '{by}', not a dimension of it"
                errors.append(SpecError(message, at=test.at, hint=suggest(by, dims)))
        for col in sorted({c for row in test.expect for c in row} - {"period", "value", "status", *test.by}):
            errors.append(
                SpecError(
                    f"test '{test.name}' of {kpi.name} expects '{col}', which is not in its by: list",
                    at=test.at,
                    hint="expect rows name period, value, status and the by dimensions",
                )
            )
    return errors
