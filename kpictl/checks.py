"""Semantic checks of a loaded project: names, formulas, cycles, dimensions, tests, columns.

``check`` returns every problem as a list (never raises) together with the KPIs whose
formulas and filters have been rendered through Jinja, ready for the planner. Column checks
against the real data happen only when ``schemas`` (source → column → type) is given; this
module never opens a file itself.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from kpictl import formula
from kpictl.errors import KpiError, Location, SpecError, suggest
from kpictl.model import Config, Kpi


def check(
    config: Config, kpis: list[Kpi], schemas: dict[str, dict[str, str]] | None = None
) -> tuple[dict[str, Kpi], list[KpiError]]:
    """All semantic problems of the project, and its KPIs by name with formulas rendered."""
    errors: list[KpiError] = []
    errors += _check_sources(config, schemas)
    by_name: dict[str, Kpi] = {}
    for kpi in kpis:
        if kpi.name in by_name:
            first = by_name[kpi.name].at
            errors.append(SpecError(f"duplicate KPI name '{kpi.name}'", at=kpi.at, hint=f"first defined at {first}"))
            continue
        by_name[kpi.name] = kpi
    rendered: dict[str, Kpi] = {}
    trees: dict[str, Any] = {}
    for kpi in by_name.values():
        try:
            rendered[kpi.name], trees[kpi.name] = _render(kpi, config)
        except SpecError as exc:
            errors.append(exc)
            continue
        errors += _check_kpi(rendered[kpi.name], config, schemas)
    errors += _check_references(rendered, trees, set(by_name))
    errors += _check_cycles(rendered, trees)
    for kpi in rendered.values():
        errors += _check_target_and_tests(kpi, rendered, trees, config, schemas)
    return rendered, errors


def _render(kpi: Kpi, config: Config) -> tuple[Kpi, Any]:
    """The KPI with Jinja expanded and every expression parsed (first problem raised)."""
    kind = "derived" if kpi.derived else "aggregate"
    text = formula.render(kpi.formula, config.vars, kpi.formula_at)
    tree = formula.parse(text, kind, kpi.formula_at)
    filters = []
    for f, at in zip(kpi.filters, kpi.filter_at):
        f = formula.render(f, config.vars, at)
        formula.parse(f, "filter", at)
        filters.append(f)
    dims = []
    for d in kpi.dimensions:
        if d.expr is not None:
            expr = formula.render(d.expr, config.vars, d.at)
            formula.parse(expr, "dimension", d.at)
            d = dataclasses.replace(d, expr=expr)
        dims.append(d)
    return dataclasses.replace(kpi, formula=text, filters=tuple(filters), dimensions=tuple(dims)), tree


def _check_sources(config: Config, schemas: dict[str, dict[str, str]] | None) -> list[KpiError]:
    errors: list[KpiError] = []
    for source in config.sources.values():
        for lk in source.lookups:
            target = config.sources.get(lk.source)
            if target is None:
                errors.append(SpecError(f"unknown source '{lk.source}' in lookups of '{source.name}'", at=lk.at,
                                        hint=suggest(lk.source, config.sources)))
                continue
            if lk.source == source.name:
                errors.append(SpecError(f"source '{source.name}' cannot look itself up", at=lk.at))
            if schemas is not None:
                for side in (source.name, lk.source):
                    cols = schemas.get(side)
                    if cols is not None and lk.on not in cols:
                        errors.append(SpecError(f"lookup column '{lk.on}' is not a column of source '{side}'", at=lk.at,
                                                hint=suggest(lk.on, cols)))
        if schemas is not None and schemas.get(source.name) is not None:
            cols = schemas[source.name]
            for field in ("time", "key"):
                col = getattr(source, field)
                if col is not None and col not in cols:
                    errors.append(SpecError(f"{field} column '{col}' is not a column of source '{source.name}'",
                                            at=source.at, hint=suggest(col, cols)))
    return errors


def available_columns(source: str, config: Config, schemas: dict[str, dict[str, str]]) -> dict[str, str] | None:
    """Columns a KPI on ``source`` may name: its own, then each lookup's (bare and qualified)."""
    own = schemas.get(source)
    if own is None:
        return None
    cols = dict(own)
    for lk in config.sources[source].lookups:
        for name, typ in (schemas.get(lk.source) or {}).items():
            cols.setdefault(name, typ)
            cols[f"{lk.source}.{name}"] = typ
    return cols


def _check_kpi(kpi: Kpi, config: Config, schemas: dict[str, dict[str, str]] | None) -> list[KpiError]:
    errors: list[KpiError] = []
    if kpi.derived:
        if kpi.filters:
            errors.append(SpecError(f"derived KPI '{kpi.name}' cannot have a filter", at=kpi.filter_at[0],
                                    hint="filter the KPIs it is computed from"))
        if kpi.dimensions:
            errors.append(SpecError(f"derived KPI '{kpi.name}' inherits its dimensions", at=kpi.dimensions[0].at,
                                    hint="declare dimensions on the KPIs it is computed from"))
        if kpi.time:
            errors.append(SpecError(f"derived KPI '{kpi.name}' has no time column of its own", at=kpi.at))
        return errors
    source = config.sources.get(kpi.source or "")
    if source is None:
        return [SpecError(f"unknown source '{kpi.source}' in KPI '{kpi.name}'", at=kpi.at,
                          hint=suggest(kpi.source or "", config.sources) or f"sources: {', '.join(config.sources)}")]
    if not (kpi.time or source.time):
        errors.append(SpecError(f"KPI '{kpi.name}' has no time column", at=kpi.at,
                                hint=f"add time: to the KPI or to source '{source.name}'"))
    seen: set[str] = set()
    for d in kpi.dimensions:
        if d.name in seen:
            errors.append(SpecError(f"dimension '{d.name}' listed twice in '{kpi.name}'", at=d.at))
        seen.add(d.name)
    cols = available_columns(source.name, config, schemas) if schemas is not None else None
    if cols is None:
        return errors
    lookups = [lk.source for lk in source.lookups]
    where = f"source '{source.name}'" + (f" (or its lookups {', '.join(lookups)})" if lookups else "")
    checks: list[tuple[str, str, Location]] = [(kpi.formula, "formula", kpi.formula_at)]
    checks += [(f, "filter", at) for f, at in zip(kpi.filters, kpi.filter_at)]
    checks += [(d.expr, f"dimension '{d.name}'", d.at) for d in kpi.dimensions if d.expr]
    for text, part, at in checks:
        tree = formula.parse(text, "aggregate" if part == "formula" else "filter", at)
        for col in sorted(formula.columns(tree)):
            if col not in cols:
                errors.append(SpecError(f"unknown column '{col}' in {part} of {kpi.name}: not in {where}", at=at,
                                        hint=suggest(col, cols)))
    for d in kpi.dimensions:
        if d.expr is None and d.name not in cols:
            errors.append(SpecError(f"unknown dimension '{d.name}' of {kpi.name}: not a column of {where}", at=d.at,
                                    hint=suggest(d.name, cols) or "or declare it as {name: ..., expr: ...}"))
    time = kpi.time or source.time
    if time and time not in cols:
        errors.append(SpecError(f"time column '{time}' of {kpi.name} is not in {where}", at=kpi.at, hint=suggest(time, cols)))
    return errors


def _check_references(kpis: dict[str, Kpi], trees: dict[str, Any], names: set[str]) -> list[KpiError]:
    errors: list[KpiError] = []
    for kpi in kpis.values():
        if not kpi.derived:
            continue
        for ref in sorted(formula.kpi_refs(trees[kpi.name])):
            if ref not in names:
                errors.append(SpecError(f"unknown KPI '{ref}' in formula of {kpi.name}", at=kpi.formula_at,
                                        hint=suggest(ref, names) or "a KPI without source combines other KPIs by name"))
    return errors


def _check_cycles(kpis: dict[str, Kpi], trees: dict[str, Any]) -> list[KpiError]:
    deps = {k.name: sorted(formula.kpi_refs(trees[k.name]) & set(kpis)) for k in kpis.values() if k.derived}
    errors: list[KpiError] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    reported: set[frozenset[str]] = set()

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for dep in deps.get(name, []):
            if state.get(dep) == 1:
                cycle = [*path[path.index(dep):], dep]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    errors.append(SpecError(f"cycle between derived KPIs: {' -> '.join(cycle)}", at=kpis[dep].formula_at,
                                            hint="a derived KPI cannot depend on itself"))
            elif state.get(dep) is None:
                visit(dep, [*path, dep])
        state[name] = 2

    for name in sorted(deps):
        if name not in state:
            visit(name, [name])
    return errors


def dimensions_of(name: str, kpis: dict[str, Kpi], trees: dict[str, Any] | None = None) -> set[str]:
    """Dimensions a KPI can be broken down by: its own, or those all its inputs share."""
    kpi = kpis[name]
    if not kpi.derived:
        return {d.name for d in kpi.dimensions}
    tree = trees[name] if trees else formula.parse(kpi.formula, "derived")
    shared: set[str] | None = None
    for ref in formula.kpi_refs(tree):
        if ref in kpis and ref != name:
            dims = dimensions_of(ref, kpis)
            shared = dims if shared is None else shared & dims
    return shared or set()


def _check_target_and_tests(
    kpi: Kpi, kpis: dict[str, Kpi], trees: dict[str, Any], config: Config, schemas: dict[str, dict[str, str]] | None
) -> list[KpiError]:
    errors: list[KpiError] = []
    try:
        dims = dimensions_of(kpi.name, kpis, trees)
    except (KpiError, RecursionError):
        return errors  # unknown names and cycles are already reported
    if kpi.target:
        for dim in kpi.target.per:
            if dim not in dims:
                errors.append(SpecError(f"target of {kpi.name} overrides by '{dim}', which is not one of its dimensions",
                                        at=kpi.target.at, hint=suggest(dim, dims)))
    for test in kpi.tests:
        for source in test.given:
            if source not in config.sources:
                errors.append(SpecError(f"test '{test.name}' of {kpi.name} gives rows of unknown source '{source}'",
                                        at=test.at, hint=suggest(source, config.sources)))
            elif schemas is not None and schemas.get(source) is not None:
                for row in test.given[source]:
                    for col in row:
                        if col not in schemas[source]:
                            errors.append(SpecError(f"test '{test.name}' of {kpi.name}: '{col}' is not a column of '{source}'",
                                                    at=test.at, hint=suggest(col, schemas[source])))
        for by in test.by:
            if by not in dims:
                errors.append(SpecError(f"test '{test.name}' of {kpi.name} breaks down by '{by}', not a dimension of it",
                                        at=test.at, hint=suggest(by, dims)))
        for row in test.expect:
            for col in row:
                if col not in ("period", "value", "status") and col not in test.by:
                    errors.append(SpecError(f"test '{test.name}' of {kpi.name} expects '{col}', which is not in its by: list",
                                            at=test.at, hint="expect rows name period, value, status and the by dimensions"))
    return errors
