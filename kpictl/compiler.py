"""Turn a Plan into ONE DuckDB SELECT statement by rendering the templates in kpictl/templates/.

This is the only module that renders SQL templates. It is a pure function of the plan (no
clock, no data, stable ordering), so the text it returns is golden-tested and diffable. The
statement is a chain of CTEs: per scan its grouped aggregates, its time spine, the windows
recomputed from rows, and the KPI values on the spine; then one CTE per derived KPI; then a
long-format UNION ALL ``(kpi, period, <by…>, value)`` ordered by kpi, period and breakdown.
Templates lay the text out; the expressions they print are prepared here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from kpictl import periods
from kpictl.aggregates import substitute_sql
from kpictl.errors import Location, SpecError
from kpictl.model import Lookup
from kpictl.planner import Derived, Measure, Partial, Plan, Scan, Window, dim_alias

Node = tuple[str, str]


@dataclass(frozen=True)
class CompiledQuery:
    """The SQL of a run and what the engine needs to run it and to explain its errors.

    ``params`` are the ``$name`` bind parameters (dates). ``kpis`` are the KPIs of the result,
    ``by`` its dimension columns in order. ``sources`` are the views the SQL reads,
    ``lookups`` the (fact source, lookup) joins whose keys must be unique, ``at`` where each
    KPI of the query was written.
    """

    sql: str
    params: Mapping[str, Any]
    kpis: tuple[str, ...]
    by: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    lookups: tuple[tuple[str, Lookup], ...] = ()
    at: Mapping[str, Location] = field(default_factory=dict)


def compile(plan: Plan) -> CompiledQuery:
    """The SQL computing ``plan``, with its parameters."""
    if not plan.outputs:
        raise SpecError("no KPI to compute")
    query = _Query(plan)
    ctes = [cte for number, scan in enumerate(plan.scans, 1) for cte in query.scan(number, scan)]
    ctes += [query.derived(node) for node in plan.derived]
    selects = [query.output(node) for node in plan.outputs]
    dims = [{"name": name, "alias": dim_alias(name)} for name in plan.by]
    header = ", ".join(kpi for kpi, _ in plan.outputs) + _by_text(plan.by)
    sql = _render("query.sql.j2", header=header, ctes=ctes, selects=selects, dims=dims, order=_ordinals(2 + len(dims)))
    sources = {scan.source: None for scan in plan.scans} | {j.source: None for s in plan.scans for j in s.joins}
    lookups = tuple(dict.fromkeys((scan.source, join) for scan in plan.scans for join in scan.joins))
    at = {m.kpi: m.at for s in plan.scans for m in s.measures} | {d.kpi: d.at for d in plan.derived}
    return CompiledQuery(sql, query.params, tuple(k for k, _ in plan.outputs), plan.by, tuple(sources), lookups, at)


def transpile(sql: str, dialect: str) -> str:
    """The SQL in another dialect (sqlglot); ``$name`` parameters are left as they are."""
    import sqlglot

    try:
        return sqlglot.transpile(sql, read="duckdb", write=dialect, pretty=True)[0] + "\n"
    except (ValueError, sqlglot.errors.SqlglotError) as error:
        raise SpecError(f"cannot transpile to '{dialect}': {str(error).splitlines()[0]}") from None


class _Query:
    """The state of one compilation: parameters used so far, where each KPI's values live."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.params: dict[str, dt.date] = {}
        self.values: dict[tuple[str, str, Window | None], tuple[str, str]] = {}  # → (relation, column)
        self.dims = [dim_alias(name) for name in plan.by]
        repeated = {d.kpi for d in plan.derived if sum(o.kpi == d.kpi for o in plan.derived) > 1}
        self.names = {
            (d.kpi, d.grain): f"derived_{d.kpi}" + (f"_{d.grain}" if d.kpi in repeated else "") for d in plan.derived
        }

    def param(self, name: str, value: dt.date) -> str:
        self.params[name] = value
        return f"${name}"

    def bound(self, grain: str, which: str) -> str | None:
        """``$from_<grain>`` (first period), ``$to_<grain>`` (last), ``$until_<grain>`` (day after)."""
        day = self.plan.start if which == "from" else self.plan.end
        if day is None:
            return None
        first = periods.start(grain, day)
        return self.param(f"{which}_{grain}", periods.shift(grain, first, 1) if which == "until" else first)

    # -- one scan: aggregates, spine, recomputed windows, values ---------------------------
    def scan(self, number: int, scan: Scan) -> list[str]:
        names = {kind: f"{kind}_{number}" for kind in ("scan", "spine", "values")}
        start = self.bound(scan.grain, "from")
        if (
            scan.read_from is not None
            and self.plan.start
            and scan.read_from != periods.start(scan.grain, self.plan.start)
        ):
            start = self.param(f"read_{number}", scan.read_from)
        until = self.bound(scan.grain, "until")
        rows = [f"{scan.time} IS NOT NULL"]
        rows += [f"CAST({scan.time} AS DATE) >= {start}"] if start else []
        rows += [f"CAST({scan.time} AS DATE) < {until}"] if until else []
        rows += [f"({condition})" for condition in scan.where]
        group_by = _ordinals(1 + len(scan.dims))
        by_text = f"{scan.grain}" + "".join(f", {d.name}" for d in scan.dims)
        kpis = [{"name": m.kpi, "at": _where(m.at)} for m in scan.measures]
        ctes = [
            _render(
                "scan.sql.j2", name=names["scan"], scan=scan, kpis=kpis, rows=rows, group_by=group_by, by_text=by_text
            )
        ]
        lo = start or f"(SELECT min(period_) FROM {names['scan']})"
        hi = self.bound(scan.grain, "to") or f"(SELECT max(period_) FROM {names['scan']})"
        step = periods.interval(scan.grain)
        ctes.append(
            _render(
                "spine.sql.j2",
                name=names["spine"],
                scan_name=names["scan"],
                lo=lo,
                hi=hi,
                step=step,
                grain=scan.grain,
                dims=self.dims,
                by_text=_by_text(self.plan.by),
            )
        )
        joins = [{"name": names["scan"], "alias": "s"}]
        recomputed: dict[Window, str] = {}
        for window in dict.fromkeys(w for m in scan.measures for w, _ in m.windows):
            partials = [
                p
                for m in scan.measures
                if window in dict(m.windows)
                for p in _used(scan, m)
                if p.combine == "recompute"
            ]
            if not partials:
                continue
            name = recomputed[window] = f"window_{number}_{window.name}"
            lower = self._lower(window, scan.grain, self.bound(scan.grain, "from") or lo)
            what = ", ".join(m.kpi for m in scan.measures if window in dict(m.windows))
            ctes.append(
                _render(
                    "window.sql.j2",
                    name=name,
                    scan=scan,
                    spine=names["spine"],
                    rows=rows,
                    lower=lower,
                    partials=list(dict.fromkeys(partials)),
                    group_by=group_by,
                    dims=self.dims,
                    what=f"{window.name} of {what}",
                )
            )
            joins.append({"name": name, "alias": f"w{len(joins)}"})
        windows = {w: j["alias"] for w, j in zip(recomputed, joins[1:], strict=True)}
        columns = []
        for measure in scan.measures:
            filled = {p.alias: _filled("s", p) for p in _used(scan, measure)}
            columns.append({"sql": substitute_sql(measure.expr, filled), "alias": measure.alias})
            self.values[(measure.kpi, scan.grain, None)] = (names["values"], measure.alias)
            for window, alias in measure.windows:
                over = {
                    p.alias: self._windowed(p, window, scan.grain, windows.get(window)) for p in _used(scan, measure)
                }
                columns.append({"sql": substitute_sql(measure.expr, over), "alias": alias})
                self.values[(measure.kpi, scan.grain, window)] = (names["values"], alias)
        ctes.append(
            _render(
                "values.sql.j2",
                name=names["values"],
                spine=names["spine"],
                columns=columns,
                joins=joins,
                dims=self.dims,
                what=", ".join(m.kpi for m in scan.measures),
            )
        )
        return ctes

    def _lower(self, window: Window, grain: str, first: str) -> str:
        """The first period of the window ending at spine period ``sp.period_``."""
        if window.kind == "rolling":
            return f"CAST(sp.period_ - {periods.interval(grain, window.n - 1)} AS DATE)"
        if window.kind == "to_date":
            return f"CAST(date_trunc('{window.unit}', sp.period_) AS DATE)"
        return first  # cumulative: from the first period of the range

    def _windowed(self, partial: Partial, window: Window, grain: str, recomputed: str | None) -> str:
        """A partial over ``window``: combined from per-period values, or read recomputed."""
        if partial.combine == "recompute":
            return _filled(recomputed or "", partial)
        value = _filled("s", partial)
        start = self.bound(grain, "from")
        if window.kind == "cumulative" and start:  # spine rows before the range were read for prior/rolling
            value = f"CASE WHEN sp.period_ >= {start} THEN {value} END"
        partition = [f'sp."{d}"' for d in self.dims]
        partition += [f"date_trunc('{window.unit}', sp.period_)"] if window.kind == "to_date" else []
        frame = f"{window.n - 1} PRECEDING" if window.kind == "rolling" else "UNBOUNDED PRECEDING"
        over = (
            f"PARTITION BY {', '.join(partition)} " if partition else ""
        ) + f"ORDER BY sp.period_ ROWS BETWEEN {frame} AND CURRENT ROW"
        return f"{partial.combine.upper()}({value}) OVER ({over})"

    # -- derived KPIs and the result -------------------------------------------------------
    def derived(self, node: Derived) -> str:
        """Inputs joined on period and breakdown: each is already aggregated, so none fans out."""
        placed = {ref.alias: self.values[(ref.kpi, node.grain, ref.window)] for ref in node.refs}
        relations = list(dict.fromkeys(relation for relation, _ in placed.values()))
        single = len(relations) == 1
        joins: dict[tuple[str, int], dict[str, str]] = {}
        columns = {}
        for ref in node.refs:
            relation, column = placed[ref.alias]
            if single and not ref.shift:
                columns[ref.alias] = f'k."{column}"'
                continue
            key = (relation, ref.shift)
            if key not in joins:
                period = (
                    f"CAST(k.period_ - {periods.interval(node.grain, ref.shift)} AS DATE)" if ref.shift else "k.period_"
                )
                joins[key] = {"name": relation, "alias": f"j{len(joins) + 1}", "period": period}
            columns[ref.alias] = f'{joins[key]["alias"]}."{column}"'
        name = self.names[(node.kpi, node.grain)]
        self.values[(node.kpi, node.grain, None)] = (name, "value_")
        return _render(
            "derived.sql.j2",
            name=name,
            kpi=node.kpi,
            at=_where(node.at),
            expr=substitute_sql(node.expr, columns),
            keys=relations,
            joins=list(joins.values()),
            dims=self.dims,
        )

    def output(self, node: Node) -> dict[str, str]:
        relation, column = self.values[(node[0], node[1], None)]
        start = self.bound(node[1], "from")
        return {
            "kpi": node[0],
            "relation": relation,
            "column": column,
            "where": f" WHERE period_ >= {start}" if start else "",
        }


def _used(scan: Scan, measure: Measure) -> list[Partial]:
    """The partials a measure's expression reads."""
    return [p for p in scan.partials if f'"{p.alias}"' in measure.expr]


def _filled(relation: str, partial: Partial) -> str:
    """A partial read from a LEFT JOIN: a period without rows gets the partial's empty value."""
    column = f'{relation}."{partial.alias}"'
    return f"COALESCE({column}, {partial.empty})" if partial.empty is not None else column


def _where(at: Location) -> str:
    return f"{at.file or '<python>'}:{at.line}" if at.line else (at.file or "<python>")


def _by_text(by: tuple[str, ...]) -> str:
    return f" by {', '.join(by)}" if by else ""


def _ordinals(count: int) -> str:
    return ", ".join(str(i) for i in range(1, count + 1))


def _ident(name: str) -> str:
    """A quoted SQL identifier: ``a"b`` → ``"a""b"``."""
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    """A SQL string literal: ``it's`` → ``'it''s'``."""
    return "'" + text.replace("'", "''") + "'"


@cache
def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("kpictl"),
        undefined=StrictUndefined,
        autoescape=False,  # SQL, not HTML: identifiers go through `ident`, values are parameters
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["ident"] = _ident
    env.filters["literal"] = _literal
    return env


def _render(template: str, **context: Any) -> str:
    text: str = _environment().get_template(template).render(**context)
    return text.strip("\n")
