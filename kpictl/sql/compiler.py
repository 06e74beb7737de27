"""Turn a Plan into ONE DuckDB SELECT statement by rendering the templates in kpictl/templates/.

This is the only module that renders SQL templates. It is a pure function of the plan (no
clock, no data, stable ordering), so the text it returns is golden-tested and diffable. The
statement is a chain of CTEs: per scan its grouped aggregates, its time spine, the windows
recomputed from rows, and the KPI values on the spine; then one CTE per derived KPI; then a
long-format UNION ALL ``(kpi, period, <by…>, value)`` ordered by kpi, period and breakdown.
Templates lay the text out; the expressions they print are prepared here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from functools import cache
from typing import Any

from sqlglot import exp

from kpictl.errors import Location, SpecError
from kpictl.model import RUN_GRAINS, WHOLE, is_custom_grain
from kpictl.sql import calendars, periods
from kpictl.sql.aggregates import empty_value, substitute_sql, tree_of
from kpictl.sql.planner import Derived, Measure, Partial, Plan, Scan, Window, dim_alias
from kpictl.sql.query import STAMPS as STAMPS  # re-exported: the query's parts live with the query
from kpictl.sql.query import CompiledQuery as CompiledQuery
from kpictl.sql.quoting import comment, identifier, literal

Node = tuple[str, str]


def compile(plan: Plan) -> CompiledQuery:
    """The SQL computing ``plan``, with its parameters."""
    if not plan.outputs:
        raise SpecError("no KPI to compute")
    query = _Query(plan)
    scans = list(enumerate(plan.scans, 1))
    custom = list(dict.fromkeys(s.grain for s in plan.scans if is_custom_grain(s.grain)))
    ctes = [query.calendar(grain) for grain in custom]
    ctes += [query.aggregate(number, scan) for number, scan in scans]
    ctes += [query.range(key) for key in dict.fromkeys(_range_key(s) for s in plan.scans)]
    ctes += [cte for number, scan in scans for cte in query.values(number, scan)]
    ctes += [query.derived(node) for node in plan.derived]
    selects = [query.output(node) for node in plan.outputs]
    dims = [{"name": name, "alias": dim_alias(name)} for name in plan.by]
    header = ", ".join(kpi for kpi, _ in plan.outputs) + _by_text(plan.by)
    sql = _render("query.sql.j2", header=header, ctes=ctes, selects=selects, dims=dims, order=_ordinals(2 + len(dims)))
    sql += "\n"  # a text file: golden files and `kpictl compile > x.sql` end with a newline
    sides = [side for scan in plan.scans for side in (scan, *([scan.funnel.then] if scan.funnel else []))]
    sources = {scan.source: None for scan in sides} | {j.lookup.source: None for s in sides for j in s.joins}
    # --grain all judges a size against its own grain's period: a calendar's, its periods are read too
    whole = any(grain == WHOLE for _, grain in plan.outputs)
    read = [*custom, *(g for g in plan.calendar.grains if whole and g not in custom)]
    sources |= {plan.calendar.table: None} if read and plan.calendar.table else {}
    lookups = tuple(dict.fromkeys((join.parent_source, join.lookup) for scan in sides for join in scan.joins))
    at = {m.kpi: m.at for s in plan.scans for m in s.measures} | {d.kpi: d.at for d in plan.derived}
    measures = [m for s in plan.scans for m in s.measures]
    aliases = {a: m.kpi for m in measures for a in (*m.partials, m.alias, *(w for _, w in m.windows))}
    reads = {m.kpi: m.reads for m in measures}
    kpis = tuple(k for k, _ in plan.outputs)
    feeds, fed_by, waits = _feeds(plan)
    freshness = _render("freshness.sql.j2", feeds=feeds, stamps=STAMPS) + "\n"
    pairs = tuple((scan.source, scan.time) for scan in feeds)
    return CompiledQuery(
        sql, query.params, kpis, plan.by, tuple(sources), lookups, at, aliases, reads, freshness, pairs, fed_by,
        _reach(plan), tuple(query.ties), waits, tuple(kpi for kpi, grain in plan.outputs if grain == "hour"),
        plan.calendar if read else None, tuple(read), tuple(query.coverage),
    )  # fmt: skip


def _reach(plan: Plan) -> dict[str, int]:
    """How many periods back each KPI's rolling windows read, through the KPIs it reads."""
    reach: dict[str, int] = {}
    for node in plan.derived:  # dependency order: its inputs are known
        back = [
            (ref.window.n - 1 if ref.window is not None and ref.window.kind.startswith("rolling") else 0)
            + reach.get(ref.kpi, 0)
            for ref in node.refs
        ]
        if max(back, default=0) > 0:
            reach[node.kpi] = max(back)
    return reach


def _feeds(
    plan: Plan,
) -> tuple[list[Scan], dict[str, tuple[int, ...]], dict[str, dict[int, int]]]:
    """The (source, time column) pairs of the plan, each with a scan reading it; the pairs
    behind each KPI: its scan's (a funnel's two sides), or the union of those of the KPIs a
    derived one reads; and the days a KPI waits for a feed beyond a period's end (a funnel's
    conversions come up to its window after its last base event)."""
    index: dict[tuple[str, str], int] = {}
    feeds: list[Scan] = []
    fed_by: dict[str, set[int]] = {}
    waits: dict[str, dict[int, int]] = {}

    def feed(scan: Scan) -> int:
        key = (scan.source, scan.time)
        if key not in index:
            index[key] = len(feeds)
            feeds.append(scan)
        return index[key]

    for scan in plan.scans:
        for measure in scan.measures:
            fed_by.setdefault(measure.kpi, set()).add(feed(scan))
            if scan.funnel is not None:
                then = feed(scan.funnel.then)
                fed_by[measure.kpi].add(then)
                waits.setdefault(measure.kpi, {})[then] = scan.funnel.days
    for node in plan.derived:  # dependency order: its inputs are known
        fed_by.setdefault(node.kpi, set()).update(i for ref in node.refs for i in fed_by.get(ref.kpi, ()))
        for ref in node.refs:
            for i, days in waits.get(ref.kpi, {}).items():
                mine = waits.setdefault(node.kpi, {})
                mine[i] = max(mine.get(i, 0), days)
    return feeds, {kpi: tuple(sorted(found)) for kpi, found in fed_by.items()}, waits


class _Query:
    """The state of one compilation: parameters so far, where each KPI's values live."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.params: dict[str, dt.date] = {}
        self.rows: dict[int, list[str]] = {}  # row conditions of each scan
        self.placed: dict[tuple[str, str, Window | None], tuple[str, str]] = {}  # → (relation, column)
        self.empty: dict[tuple[str, str, Window | None], str | None] = {}  # value over zero rows
        self.averages: list[str] = []  # the rolling_avg CTEs written so far
        self.ties: list[tuple[str, str, Location]] = []  # the balances' tie checks
        self.coverage: list[tuple[str, str, Location]] = []  # scans at a custom grain: rows outside the calendar
        self.dims = [dim_alias(name) for name in plan.by]
        kpis = [d.kpi for d in plan.derived]
        self.names = {
            (d.kpi, d.grain): f"derived_{d.kpi}" + (f"_{d.grain}" if kpis.count(d.kpi) > 1 else "")
            for d in plan.derived
        }

    def param(self, name: str, value: dt.date) -> str:  # an hour's bound is a datetime
        self.params[name] = value
        return f"${name}"

    def bound(self, grain: str, which: str) -> str | None:
        """``$from_<grain>`` (the first period shown) or ``$to_<grain>`` (the last), None without."""
        day = self.plan.start if which == "from" else self.plan.end
        if day is None or grain == WHOLE:  # the whole range is one period: its rows are filtered instead
            return None
        if is_custom_grain(grain):  # a calendar table's period is shown when it starts in the range
            return self.param(f"{which}_{grain}", day)
        first = periods.start(grain, day, self.plan.year_start)
        if grain == "hour" and which == "to":  # --to is a day: its last hour is shown too
            first += dt.timedelta(hours=23)
        return self.param(f"{which}_{grain}", first)  # no day after: --to 9999-12-31 is fine

    def range_param(self, which: str) -> str | None:
        """``--from``/``--to`` as a date parameter, as given (``--grain all`` filters rows by them)."""
        day = self.plan.start if which == "from" else self.plan.end
        return None if day is None else self.param(f"{which}_day", day)

    def first(self, scan: Scan) -> str:
        """The first period of a scan's spine: its source's first period with rows, whatever the range.

        ``--from``/``--to`` only choose which periods are shown (:meth:`output`): a cumulative,
        rolling, prior or to-date value reads the periods before the first one shown, and the
        breakdown groups are those of the whole data, so a value never depends on the range.
        """
        return f"(SELECT first_ FROM {_range_name(scan)})"

    def calendar(self, grain: str) -> str:
        """The CTEs of a custom grain: each date's period (its first date), and the periods in order."""
        c = self.plan.calendar
        return _render(
            "calendar.sql.j2",
            grain=grain,
            table=c.table,
            date=c.date,
            column=c.grains[grain],
            days=calendars.days_name(grain),
            periods=calendars.periods_name(grain),
        )

    # -- per scan: grouped aggregates, then spine, recomputed windows and values -------------
    def aggregate(self, number: int, scan: Scan) -> str:
        rows = self.rows[number] = [f"{scan.time} IS NOT NULL"]  # every period: see first()
        if scan.grain == WHOLE:  # one period, the range: only its rows
            rows += [f"CAST({scan.time} AS DATE) >= {p}" for p in [self.range_param("from")] if p]
            rows += [f"CAST({scan.time} AS DATE) <= {p}" for p in [self.range_param("to")] if p]
        rows += [f"({condition})" for condition in scan.where]
        if is_custom_grain(scan.grain):  # a row the calendar does not cover has no period: refused
            for side in (scan, *([scan.funnel.then] if scan.funnel else [])):
                names = ", ".join(m.kpi for m in scan.measures)
                what = f"{names} ({side.source}.{side.time})"
                table, date = self.plan.calendar.table, self.plan.calendar.date
                own = rows if side is scan else [f"{side.time} IS NOT NULL", *(f"({c})" for c in side.where)]
                check = _render("coverage.sql.j2", what=what, scan=side, rows=own, table=table, date=date)
                self.coverage.append((names, check, scan.measures[0].at if scan.measures else Location()))
        if scan.funnel is not None:
            return self._funnel(number, scan)
        kpis = [{"name": m.kpi, "at": _where(m.at)} for m in scan.measures]
        by_text = "".join(f", {d.name}" for d in scan.dims)
        kept = None
        if scan.snapshot is not None:  # a balance: each entity's last (first) row of each period only
            per = [f"{identifier(scan.source)}.{identifier(c)}" for c in scan.snapshot.per]
            kept = {"name": f"kept_{number}", "per": per, "pick": "max" if scan.snapshot.take == "last" else "min"}
            names = ", ".join(m.kpi for m in scan.measures)
            check = _render("ties.sql.j2", kpis=names, per=per, scan=scan, rows=rows)
            self.ties.append((names, check, scan.snapshot.at))
        days = dataclasses.replace(scan, grain="day", partials=scan.daily) if scan.daily else None
        text = _render(
            "scan.sql.j2",
            name=f"daily_{number}" if days else f"scan_{number}",
            scan=days or scan,
            offset=0 if days else periods.offset(scan.grain, self.plan.year_start),
            kpis=kpis,
            rows=rows,
            by_text=("day" if days else scan.grain) + by_text,
            group_by=_ordinals(1 + len(scan.dims)),
            kept=kept,
            materialized=not days,
        )
        if days:  # balances of min/max: the lowest (highest) of their day values
            text += ",\n" + _render(
                "peaks.sql.j2",
                name=f"scan_{number}",
                days=f"daily_{number}",
                scan=scan,
                offset=periods.offset(scan.grain, self.plan.year_start),
                kpis=kpis,
                by_text=scan.grain + by_text,
                group_by=_ordinals(1 + len(scan.dims)),
            )
        return text

    def _funnel(self, number: int, scan: Scan) -> str:
        """The CTEs of a funnel: its events, the credited base events, then its scan.

        A conversion goes to the latest base event before it whatever the range: ``--grain all``
        bounds the base events counted, not those a conversion may be credited to.
        """
        f = scan.funnel
        assert f is not None
        base_rows = [f"{scan.time} IS NOT NULL", f"{f.entity} IS NOT NULL", *(f"({c})" for c in f.filters)]
        base_rows += [f"({condition})" for condition in scan.where]
        shown = []
        if scan.grain == WHOLE:
            shown += [f"CAST(ev.t_ AS DATE) >= {p}" for p in [self.range_param("from")] if p]
            shown += [f"CAST(ev.t_ AS DATE) <= {p}" for p in [self.range_param("to")] if p]
        then = f.then
        then_rows = [f"{then.time} IS NOT NULL", f"{f.then_entity} IS NOT NULL", *(f"({c})" for c in f.then_filters)]
        then_rows += [f"({condition})" for condition in then.where]
        entered, converted = (p.alias for p in scan.partials)
        return _render(
            "funnel.sql.j2",
            name=f"funnel_{number}",
            scan_name=f"scan_{number}",
            kpi=", ".join(m.kpi for m in scan.measures),
            scan=scan,
            offset=periods.offset(scan.grain, self.plan.year_start),
            f=f,
            base_rows=base_rows,
            then_rows=then_rows,
            shown=shown,
            entered=entered,
            converted=converted,
            group_by=_ordinals(1 + len(scan.dims)),
        )

    def range(self, key: tuple[str, str]) -> str:
        """The first and last period with rows of one source: each source spans its own data.

        A run of KPIs from several sources does not stretch one source over another's dates
        (revenue is not 0 in months the orders data does not cover); KPIs of one source share
        its range whatever their time column; a derived KPI spans the periods of all its inputs,
        an input without rows there taking its value over zero rows.
        """
        members = [(n, s) for n, s in enumerate(self.plan.scans, 1) if _range_key(s) == key]
        scans = [f"scan_{n}" for n, _ in members]
        return _render("range.sql.j2", name=_range_name(members[0][1]), grain=key[1], scans=scans)

    def values(self, number: int, scan: Scan) -> list[str]:
        spine, values = f"spine_{number}", f"values_{number}"
        last = f"(SELECT last_ FROM {_range_name(scan)})"
        ctes = [
            _render(
                "spine.sql.j2",
                name=spine,
                scan_name=f"scan_{number}",
                lo=self.first(scan),
                hi=last,
                step="" if is_custom_grain(scan.grain) else periods.interval(scan.grain),
                calendar=calendars.spine(scan.grain, self.first(scan), last) if is_custom_grain(scan.grain) else "",
                grain=scan.grain,
                dims=self.dims,
                what=f"every {scan.grain} of the range"
                + (f", by every {', '.join(self.plan.by)} seen in scan_{number}" if self.dims else ""),
            )
        ]
        joins = [{"name": f"scan_{number}", "alias": "s"}]
        recomputed: dict[Window, str] = {}  # window → alias of its CTE in the values' FROM
        for window in dict.fromkeys(w for m in scan.measures for w, _ in m.windows):
            users = [m for m in scan.measures if window in dict(m.windows) and _recomputed(scan, m)]
            if users:
                recomputed[window] = f"w{len(joins)}"
                joins.append({"name": f"window_{number}_{window.name}", "alias": recomputed[window]})
                ctes.append(self._window(number, scan, window, users, joins[-1]["name"]))
        columns = []
        for measure in scan.measures:
            used = _used(scan, measure)
            empty = empty_value(measure.expr, {p.alias: p.empty for p in used})
            filled = {p.alias: _filled("s", p) for p in used}
            columns.append({"sql": substitute_sql(measure.expr, filled), "alias": measure.alias})
            self.placed[(measure.kpi, scan.grain, None)] = (values, measure.alias)
            self.empty[(measure.kpi, scan.grain, None)] = empty
            for window, alias in measure.windows:
                over = {p.alias: self._windowed(p, window, scan.grain, recomputed.get(window)) for p in used}
                sql = self._full(window, substitute_sql(measure.expr, over), scan.grain, "sp")
                columns.append({"sql": sql, "alias": alias})
                self.placed[(measure.kpi, scan.grain, window)] = (values, alias)
                self.empty[(measure.kpi, scan.grain, window)] = empty
        ctes.append(
            _render(
                "values.sql.j2",
                name=values,
                spine=spine,
                columns=columns,
                joins=joins,
                dims=self.dims,
                what=", ".join(m.kpi for m in scan.measures),
            )
        )
        return ctes

    def _window(self, number: int, scan: Scan, window: Window, users: list[Measure], name: str) -> str:
        """A CTE recomputing the partials that do not add up, over the rows of each window."""
        if window.kind == "rolling" and is_custom_grain(scan.grain):
            lower = calendars.window_start(scan.grain, "sp.period_", window.n)
        elif window.kind == "rolling":
            lower = f"CAST(sp.period_ - {periods.interval(scan.grain, window.n - 1)} AS {_kind(scan.grain)})"
        elif window.kind == "to_date":
            lower = f"CAST({_to_date_start(window.unit, scan.grain, 'sp.period_', self.plan.year_start)} AS DATE)"
        else:  # cumulative: from the first period of the data
            lower = self.first(scan)
        partials = list(dict.fromkeys(p for m in users for p in _recomputed(scan, m)))
        return _render(
            "window.sql.j2",
            name=name,
            scan=scan,
            offset=periods.offset(scan.grain, self.plan.year_start),
            spine=f"spine_{number}",
            rows=self.rows[number],
            lower=lower,
            partials=partials,
            group_by=_ordinals(1 + len(scan.dims)),
            dims=self.dims,
            what=f"{window.name} of {', '.join(m.kpi for m in users)}",
        )

    def _over(self, window: Window, grain: str, relation: str) -> str:
        """The OVER clause of a window: the breakdown, then the periods it spans up to each one."""
        partition = [f"{relation}.{identifier(d)}" for d in self.dims]
        if window.kind == "to_date":
            partition.append(_to_date_start(window.unit, grain, f"{relation}.period_", self.plan.year_start))
        frame = f"{window.n - 1} PRECEDING" if window.kind.startswith("rolling") else "UNBOUNDED PRECEDING"
        return (
            f"PARTITION BY {', '.join(partition)} " if partition else ""
        ) + f"ORDER BY {relation}.period_ ROWS BETWEEN {frame} AND CURRENT ROW"

    def _full(self, window: Window, sql: str, grain: str, relation: str) -> str:
        """``full: true``: NULL until the window spans its n periods (the first n - 1 of the data)."""
        if not window.full:
            return sql
        return f"CASE WHEN count(*) OVER ({self._over(window, grain, relation)}) = {window.n} THEN {sql} END"

    def rolling_avg(self, kpi: str, grain: str, window: Window) -> str:
        """A CTE: the mean of a KPI's own values over the last n periods (NULL periods left out)."""
        relation, column = self.placed[(kpi, grain, None)]
        name = f"avg_{len(self.averages) + 1}"
        self.averages.append(name)
        self.placed[(kpi, grain, window)] = (name, "value_")
        self.empty[(kpi, grain, window)] = None
        value = self._full(window, f"avg(a.{identifier(column)}) OVER ({self._over(window, grain, 'a')})", grain, "a")
        dims = "".join(f", a.{identifier(d)}" for d in self.dims)
        return (
            f"-- {comment(window.name)} of {comment(kpi)}: the mean of its values over the window\n"
            f"{name} AS (\n  SELECT a.period_{dims}, {value} AS value_\n  FROM {relation} AS a\n)"
        )

    def _windowed(self, partial: Partial, window: Window, grain: str, recomputed: str | None) -> exp.Expr:
        """A partial over ``window``: combined from per-period values, or read recomputed."""
        if partial.combine == "recompute":
            return _filled(recomputed or "", partial)
        value = _filled("s", partial).sql("duckdb")
        over = self._over(window, grain, "sp")
        return tree_of(f"{partial.combine.upper()}({value}) OVER ({over})", Location(), copy=False)

    # -- derived KPIs and the result -------------------------------------------------------
    def derived(self, node: Derived) -> str:
        """Inputs joined on period and breakdown: each is already aggregated, so none fans out.

        An input without a row for a key of another input has no rows there: it takes its
        value over zero rows (a sum 0, a ratio NULL). An input n periods earlier that is not
        there is unknown: NULL.
        """
        averages = [
            self.rolling_avg(ref.kpi, node.grain, ref.window)
            for ref in dict.fromkeys(r for r in node.refs if r.window is not None and r.window.kind == "rolling_avg")
            if ref.window is not None and (ref.kpi, node.grain, ref.window) not in self.placed
        ]
        placed = {ref.alias: self.placed[(ref.kpi, node.grain, ref.window)] for ref in node.refs}
        relations = list(dict.fromkeys(relation for relation, _ in placed.values()))
        joins: dict[tuple[str, object], dict[str, str]] = {}
        columns: dict[str, exp.Expr] = {}
        empties: dict[str, str | None] = {}
        for ref in node.refs:
            relation, column = placed[ref.alias]
            back = ref.shift or ref.back
            empties[ref.alias] = None if back else self.empty[(ref.kpi, node.grain, ref.window)]
            if len(relations) == 1 and not back:
                columns[ref.alias] = _column("k", column)
                continue
            if (relation, back) not in joins:
                joins[(relation, back)] = {
                    "name": relation,
                    "alias": f"j{len(joins) + 1}",
                    "period": _earlier(node.grain, ref.shift, ref.back),
                }
            alias = joins[(relation, back)]["alias"]
            columns[ref.alias] = _column(alias, column)
            if empties[ref.alias] is not None:  # no row of this input: its value over zero rows
                case = (
                    f"CASE WHEN {alias}.period_ IS NULL THEN {empties[ref.alias]} ELSE {alias}.{identifier(column)} END"
                )
                columns[ref.alias] = tree_of(case, Location())
        name = self.names[(node.kpi, node.grain)]
        self.placed[(node.kpi, node.grain, None)] = (name, "value_")
        self.empty[(node.kpi, node.grain, None)] = empty_value(node.expr, empties)
        return (
            ",\n".join(averages)
            + (",\n" if averages else "")
            + _render(
                "derived.sql.j2",
                name=name,
                kpi=node.kpi,
                at=_where(node.at),
                keys=relations,
                expr=substitute_sql(node.expr, columns),
                joins=list(joins.values()),
                dims=self.dims,
            )
        )

    def output(self, node: Node) -> dict[str, str]:
        """The rows of one KPI shown: the periods of the range (all of them without one)."""
        relation, column = self.placed[(node[0], node[1], None)]
        shown = [f"period_ >= {start}" for start in [self.bound(node[1], "from")] if start]
        shown += [f"period_ <= {end}" for end in [self.bound(node[1], "to")] if end]
        return {
            "kpi": node[0],
            "relation": relation,
            "column": column,
            "where": f" WHERE {' AND '.join(shown)}" if shown else "",
        }


def _earlier(grain: str, shift: int, back: tuple[int, str] | None) -> str:
    """The period a reference reads: the row's own, ``shift`` periods earlier, or ``back``
    calendar units earlier (a month or a year of days: the same day, the last one of a shorter
    month; a year of ISO weeks: the same week number, none when that year has no week 53)."""
    if back is None and shift and is_custom_grain(grain):
        return calendars.before(grain, "k.period_", shift)
    if back is None:
        return f"CAST(k.period_ - {periods.interval(grain, shift)} AS {_kind(grain)})" if shift else "k.period_"
    count, unit = back
    if grain in ("hour", "day"):  # the same hour of that day
        months = {"month": 1, "quarter": 3, "year": 12}[unit] * count
        return f"CAST(k.period_ - INTERVAL {months} MONTH AS {_kind(grain)})"
    # week grain, unit year: week 1 of an ISO year is the week of its January 4th
    year = "year(k.period_ + INTERVAL 3 DAY)"  # the Thursday of the week is in its ISO year

    def week1(of: str) -> str:
        return f"CAST(date_trunc('week', make_date({of}, 1, 4)) AS DATE)"

    then, after = week1(f"{year} - {count}"), week1(f"{year} - {count - 1}")
    offset = f"date_diff('day', {week1(year)}, k.period_)"
    same_week = f"CAST({then} + {offset} * INTERVAL 1 DAY AS DATE)"
    return f"CASE WHEN {offset} < date_diff('day', {then}, {after}) THEN {same_week} END"


def _kind(grain: str) -> str:
    """The SQL type of a period of ``grain`` (the ``kind`` macro's twin): an hour is a moment."""
    return "TIMESTAMP" if grain == "hour" else "DATE"


def _to_date_start(unit: str, grain: str, period: str, year_start: int = 1) -> str:
    """The first day of the ``unit`` (year, quarter…) a period of ``grain`` accumulates in.

    Weeks are labelled by ISO week (2013-W01 starts on 2012-12-31), so weekly year-to-date
    runs over the ISO year of the labels, never over the calendar year of a week's Monday.
    A fiscal year is cut alike: a week is in the fiscal year of its Thursday (as an ISO week is
    in the year of its Thursday), and the year to date starts on the Monday of its first week.
    """
    shift = periods.offset("year" if grain == "week" else unit, year_start)
    if grain == "week" and unit == "year":
        if not shift:
            return f"date_trunc('isoyear', {period})"
        thursday = _fiscal_trunc("year", f"{period} + INTERVAL 3 DAY", shift)
        return f"date_trunc('week', {thursday} + INTERVAL 3 DAY)"
    return _fiscal_trunc(unit, period, shift)


def _fiscal_trunc(unit: str, day: str, shift: int) -> str:
    """``date_trunc`` of ``day`` to a ``unit`` starting ``shift`` months after the calendar's
    (the SQL twin of ``periods.start``, as the ``period`` macro)."""
    if not shift:
        return f"date_trunc('{unit}', {day})"
    return f"(date_trunc('{unit}', {day} - INTERVAL {shift} MONTH) + INTERVAL {shift} MONTH)"


def _range_key(scan: Scan) -> tuple[str, str]:
    return (scan.source, scan.grain)


def _range_name(scan: Scan) -> str:
    return f"range_{scan.source}_{scan.grain}"


def _used(scan: Scan, measure: Measure) -> list[Partial]:
    """The partials a measure's expression reads."""
    return [p for p in scan.partials if p.alias in measure.partials]


def _recomputed(scan: Scan, measure: Measure) -> list[Partial]:
    """The partials of a measure that do not add up over periods (distinct counts, quantiles)."""
    return [p for p in _used(scan, measure) if p.combine == "recompute"]


def _filled(relation: str, partial: Partial) -> exp.Expr:
    """A partial read from a LEFT JOIN: a period without rows gets the partial's empty value."""
    column = _column(relation, partial.alias)
    if partial.empty is None:
        return column
    return exp.Coalesce(this=column, expressions=[tree_of(partial.empty, Location())])


def _column(relation: str, name: str) -> exp.Column:
    """``relation."name"``: the relation is one of the compiler's own short aliases (s, k, j1)."""
    return exp.Column(this=exp.to_identifier(name, quoted=True), table=exp.to_identifier(relation, quoted=False))


def _where(at: Location) -> str:
    return f"{at.file or '<python>'}:{at.line}" if at.line else (at.file or "<python>")


def _by_text(by: tuple[str, ...]) -> str:
    return f" by {', '.join(by)}" if by else ""


def _ordinals(count: int) -> str:
    return ", ".join(str(i) for i in range(1, count + 1))


@cache
def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("kpictl.sql"),
        undefined=StrictUndefined,
        autoescape=False,  # SQL, not HTML: identifiers go through `ident`, values are parameters
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["ident"] = identifier
    env.filters["literal"] = literal
    env.filters["comment"] = comment
    env.globals["built_in"] = RUN_GRAINS  # any other grain is a calendar table's
    return env


def _render(template: str, **context: Any) -> str:
    text: str = _environment().get_template(template).render(**context)
    return text.strip("\n")
