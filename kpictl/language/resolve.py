"""What each name of a KPI refers to: its source, every column, its time column, its inputs.

This is the one place those rules live. ``checks`` (behind ``validate``) calls it to report
problems, and the planner (behind ``compile`` and ``run``) calls the same functions to
qualify every column, so that a name means the same thing, and a wrong name gets the same
message, whichever command meets it first. The rules (the README's rules of the language):

- a KPI reads its ``source``, which must be declared in ``kpictl.yml``;
- a KPI reads its source's lookups, and theirs, up to ``MAX_HOPS`` lookups away
  (orders → customers → companies);
- a bare column name is a column of the source itself, else of the nearest lookup that has it
  (two at the same depth is ambiguous: write ``customers.region``); ``table.column`` names the
  source or the nearest lookup so named, ``customers.companies.industry`` a whole path;
- the time column is the KPI's ``time:`` (resolved like any column, so a lookup's date may
  bucket a KPI), else the source's own ``time:``; it must hold dates: a DATE, a TIMESTAMP or
  text such as '2025-01-31' (DuckDB cannot cast a number to a date);
- a derived KPI reads other KPIs; none of them may depend on it again (cycles), and a window
  applies to a KPI that uses no ``prior()`` or window itself.

Without ``schemas`` (column → type of each source, read from the files' metadata by the
engine), a bare name is taken as the source's own column and only what can be told without
data is checked. Nothing here reads files or writes SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from kpictl.errors import Location, SpecError, suggest
from kpictl.language.formula import funnel_call
from kpictl.model import Computed, Config, Kpi, Lookup, Source

#: Column → DuckDB type of each source (``engine.schemas``): what DESCRIBE says.
Schemas = Mapping[str, Mapping[str, str]]

#: Type prefixes DuckDB casts to DATE, which is how a row is put in its period.
_DATELIKE = ("DATE", "TIMESTAMP", "VARCHAR", "NULL", '"NULL"')


#: How far lookups chain (orders → customers → companies → industries): so far that every
#: relation can still be written as its whole path (``customers.companies.industries.name``).
MAX_HOPS = 3


@dataclass(frozen=True)
class Relation:
    """A source a KPI reads through lookups: ``path`` the lookups' names from the KPI's source
    (``("customers", "companies")``), ``lookup`` the last one, ``parent`` the name of the relation
    it joins to (the KPI's source at the first hop), ``parent_source`` the source behind that."""

    path: tuple[str, ...]
    lookup: Lookup
    parent: str
    parent_source: str

    @property
    def name(self) -> str:
        """How it is written and aliased in SQL: the lookup's name, then ``customers.companies``."""
        return ".".join(self.path)


class Resolver:
    """The resolution rules over one project's sources and (optionally) their columns."""

    def __init__(self, config: Config, schemas: Schemas | None = None):
        self.config = config
        self.schemas = schemas
        self._relations: dict[str, tuple[Relation, ...]] = {}

    # -- sources -------------------------------------------------------------------------------

    def source(self, kpi: Kpi) -> Source:
        """The source a source KPI reads; SpecError when it is not declared."""
        source = self.config.sources.get(kpi.source or "")
        if source is None:
            sources = self.config.sources
            raise SpecError(
                f"unknown source '{kpi.source}' in KPI '{kpi.name}'",
                at=kpi.source_at,
                hint=suggest(kpi.source or "", sources) or f"sources: {', '.join(sources)}",
            )
        return source

    def relations(self, source: Source) -> tuple[Relation, ...]:
        """Every relation a KPI on ``source`` may read, nearest first: its lookups, then theirs,
        up to ``MAX_HOPS`` lookups away. A source already on the path is not entered again (a
        cycle of lookups is reported by ``checks``)."""
        found = self._relations.get(source.name)
        if found is not None:
            return found
        relations: list[Relation] = []
        frontier: list[tuple[Source, tuple[str, ...], tuple[str, ...]]] = [(source, (), (source.name,))]
        for _ in range(MAX_HOPS):
            deeper = []
            for fact, path, seen in frontier:
                for lk in fact.lookups:
                    target = self.config.sources.get(lk.source)
                    if target is None or lk.source in seen:
                        continue
                    relation = Relation((*path, lk.name), lk, ".".join(path) or source.name, fact.name)
                    relations.append(relation)
                    deeper.append((target, relation.path, (*seen, lk.source)))
            frontier = deeper
        self._relations[source.name] = tuple(relations)
        return self._relations[source.name]

    def lookups(self, source: Source) -> list[str]:
        """The names of the relations ``source`` reaches: its lookups' (each one's role, ``as:``,
        else its source), then their lookups' as paths (``customers.companies``)."""
        return [r.name for r in self.relations(source)]

    def chain(self, source: Source, relation: str) -> list[Relation]:
        """The relations joined to read ``relation`` (a name of :meth:`lookups`), first hop first."""
        by_name = {r.name: r for r in self.relations(source)}
        chain = []
        while relation in by_name:
            chain.append(by_name[relation])
            relation = by_name[relation].parent
        return chain[::-1]

    def _schema(self, source: Source, relation: str) -> Mapping[str, str] | None:
        """The columns of ``relation``: ``source`` itself, or the source one of its lookups reads."""
        return (self.schemas or {}).get(self._read_by(source, relation))

    def _read_by(self, source: Source, relation: str) -> str:
        """The source behind ``relation``: ``source`` itself, or the one a lookup (maybe a role) reads."""
        if relation == source.name:
            return relation
        return next((r.lookup.source for r in self.relations(source) if r.name == relation), relation)

    def scope(self, source: Source) -> str:
        """How messages name the relations a KPI on ``source`` may read."""
        lookups = self.lookups(source)
        return f"source '{source.name}'" + (f" or its lookups ({', '.join(lookups)})" if lookups else "")

    def columns(self, source: Source) -> dict[str, str] | None:
        """Every name a KPI on ``source`` may use → its type: own columns, then each lookup's,
        nearest first, bare and qualified. None when the source's columns are unknown (no data)."""
        own = (self.schemas or {}).get(source.name)
        if own is None:
            return None
        cols = dict(own)
        cols.update({f"{source.name}.{name}": typ for name, typ in own.items()})
        for lookup in self.lookups(source):
            for name, typ in (self._schema(source, lookup) or {}).items():
                cols.setdefault(name, typ)
                cols[f"{lookup}.{name}"] = typ
        return cols

    # -- columns -------------------------------------------------------------------------------

    def column(self, source: Source, name: str, *, what: str, at: Location, kind: str = "column") -> str:
        """The relation (``source.name`` or the name of a relation it reaches) that column ``name`` reads.

        ``name`` is ``column``, ``table.column`` or a path (``customers.companies.industry``);
        ``what`` says where it was written ("formula of revenue", "--where"). ``kind`` "dimension"
        or "time" words the message for a dimension or time column declared by name (``what`` is
        then the KPI's name). A qualifier or a bare name reached at several depths means the
        nearest; at one depth by several paths, it is ambiguous. Raises SpecError at ``at``.
        """
        table, _, column = name.rpartition(".")
        written = what if kind == "column" else f"{kind} '{name}' of {what}"
        if table and table != source.name:
            table = self._qualifier(source, table, name, written, at)
            known = self._schema(source, table)
            if known is not None and column not in known:
                raise self._unknown(source, name, what, at, kind)
            return table
        own = (self.schemas or {}).get(source.name)
        if table and own is not None and column not in own:
            raise self._unknown(source, name, what, at, kind)
        if table or own is None or column in own:
            return source.name
        owners = self._nearest(source, lambda r: column in (self._schema(source, r.name) or {}))
        if len(owners) > 1:
            paths = ", ".join(f"{r.name}.{column}" for r in owners)
            message = f"'{column}' in {written} is a column of several lookups of '{source.name}': {paths}"
            raise SpecError(message, at=at, hint=f"write {owners[0].name}.{column}")
        if not owners:
            raise self._unknown(source, name, what, at, kind)
        return owners[0].name

    def _nearest(self, source: Source, wanted: Callable[[Relation], bool]) -> list[Relation]:
        """The relations ``wanted`` picks at the nearest depth that has any."""
        for depth in range(1, MAX_HOPS + 1):
            found = [r for r in self.relations(source) if len(r.path) == depth and wanted(r)]
            if found:
                return found
        return []

    def _qualifier(self, source: Source, table: str, name: str, written: str, at: Location) -> str:
        """The relation a qualifier names: a whole path, else the nearest relation so named."""
        parts = tuple(table.split("."))
        matches = self._nearest(source, lambda r: r.path[-len(parts) :] == parts)
        if len(matches) == 1:
            return matches[0].name
        if matches:
            paths = ", ".join(f"{r.name}.{name.rpartition('.')[2]}" for r in matches)
            message = f"'{name}' in {written}: '{table}' is reached from '{source.name}' by several paths: {paths}"
            raise SpecError(message, at=at, hint=f"write the path: {matches[0].name}.{name.rpartition('.')[2]}")
        lookups = self.lookups(source)
        if table in self.config.sources:
            hint = f"add {{source: {table}, on: ...}} to the lookups of '{source.name}' in kpictl.yml"
        else:
            others = f" or of its lookups: {', '.join(lookups)}" if lookups else ""
            hint = suggest(table, [source.name, *lookups]) or f"use a column of '{source.name}'{others}"
        message = f"'{name}' in {written}: '{table}' is not '{source.name}' or one of its lookups"
        raise SpecError(message, at=at, hint=hint)

    def _unknown(self, source: Source, name: str, what: str, at: Location, kind: str) -> SpecError:
        cols, scope = self.columns(source) or {}, self.scope(source)
        if kind == "dimension":
            message = f"unknown dimension '{name}' of {what}: not a column of {scope}"
            return SpecError(message, at=at, hint=suggest(name, cols) or "or declare it as {name: ..., expr: ...}")
        if kind == "time":
            return SpecError(f"time column '{name}' of {what} is not in {scope}", at=at, hint=suggest(name, cols))
        return SpecError(f"unknown column '{name}' in {what}: not in {scope}", at=at, hint=suggest(name, cols))

    def type_of(self, relation: str, name: str) -> str | None:
        """The DuckDB type of ``relation``'s column ``name`` (bare or qualified), if known."""
        return ((self.schemas or {}).get(relation) or {}).get(name.rpartition(".")[2])

    # -- time ----------------------------------------------------------------------------------

    def time(self, kpi: Kpi, source: Source, grain: str | None = None) -> tuple[str, str]:
        """(relation, column) of the column that puts each row of ``kpi`` in its period.

        A KPI's own ``time:`` is resolved like any column of its formula; the source's is one
        of its own columns (checked once, on the source, by ``source_time``). At hour grain
        (``grain``, default the KPI's own, else the project's) it must have a time of day.
        """
        if kpi.time:
            relation = self.column(source, kpi.time, what=kpi.name, at=kpi.at, kind="time")
            self.check_time_type(self._read_by(source, relation), kpi.time, what=kpi.name, at=kpi.at)
            found = relation, kpi.time.rpartition(".")[2]
        elif not source.time:
            raise SpecError(
                f"KPI '{kpi.name}' has no time column",
                at=kpi.at,
                hint=f"add time: to the KPI or to source '{source.name}' in kpictl.yml",
            )
        else:
            found = source.name, source.time
        if (grain or kpi.grain or self.config.grain) == "hour":
            self.check_hourly(self._read_by(source, found[0]), found[1], kpi)
        return found

    def check_hourly(self, relation: str, name: str, kpi: Kpi) -> None:
        """Refuse hours over a DATE time column: every row would sit at midnight, every other hour 0."""
        kind = self.type_of(relation, name)
        if kind is not None and kind.upper() == "DATE":
            where = kpi.at if kpi.time or not kpi.source_at.line else kpi.source_at
            raise SpecError(
                f"{kpi.name} is computed by hour, but its time column '{name}' is a DATE (no time of day)",
                at=where,
                hint="run it at --grain day or longer, or bucket it by a TIMESTAMP column with time:",
            )

    def source_time(self, source: Source) -> SpecError | None:
        """The problem of a source's own ``time:`` (and ``key:``) column, if any."""
        cols = (self.schemas or {}).get(source.name)
        if cols is None:
            return None
        for field in ("time", "key"):
            col = getattr(source, field)
            if col is not None and col not in cols:
                return SpecError(
                    f"{field} column '{col}' is not a column of source '{source.name}'",
                    at=source.at,
                    hint=suggest(col, cols),
                )
        if source.time:
            try:
                self.check_time_type(source.name, source.time, what=f"source '{source.name}'", at=source.at)
            except SpecError as error:
                return error
        return None

    def check_time_type(self, relation: str, name: str, *, what: str, at: Location) -> None:
        """Refuse a time column DuckDB cannot cast to a date (numbers, booleans, times of day)."""
        kind = self.type_of(relation, name)
        if kind is not None and (not kind.upper().startswith(_DATELIKE) or kind.endswith("]")):
            raise SpecError(
                f"time column '{name}' of {what} is {kind}, not a date",
                at=at,
                hint="rows are put in periods by date: use a DATE or TIMESTAMP column, or text like '2025-01-31'",
            )


# -- computed columns --------------------------------------------------------------------------


@cache
def computed_tree(expr: str) -> Any:
    """A computed column's checked expression, parsed once per text (read only, never modified);
    None when it is not one (``checks`` reports that, at the column)."""
    from kpictl.language import formula

    try:
        return formula.parse(expr, "column")
    except SpecError:
        return None


def computed_reads(column: Computed) -> set[str]:
    """The column names a computed column's expression reads (none when it does not parse)."""
    from kpictl.language import formula

    tree = computed_tree(column.expr)
    return set() if tree is None else formula.columns(tree)


def computed_layers(computed: Sequence[Computed]) -> list[list[Computed]]:
    """A source's computed columns in the order they can be computed: each layer reads the
    files' columns and the layers before it. Columns on a cycle are left out (``checks``)."""
    names = {c.name for c in computed}
    todo = {c.name: (c, computed_reads(c) & names - {c.name}) for c in computed}
    done: set[str] = set()
    layers = []
    while todo:
        layer = [c for c, reads in todo.values() if reads <= done]
        if not layer:
            break
        layers.append(layer)
        done |= {c.name for c in layer}
        todo = {name: entry for name, entry in todo.items() if name not in done}
    return layers


# -- derived KPIs ------------------------------------------------------------------------------


def cycles(deps: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Every cycle among ``deps`` (name → the names it reads, in file order), each reported once.

    A cycle is listed from the first name ``deps`` visits on it; ``deps`` is iterated in file
    order, so the same project always gives the same cycles.
    """
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    reported: set[frozenset[str]] = set()

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for dep in deps.get(name, ()):
            if state.get(dep) == 1:
                cycle = path[path.index(dep) :]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    found.append(cycle)
            elif state.get(dep) is None:
                visit(dep, [*path, dep])
        state[name] = 2

    for name in deps:
        if name not in state:
            visit(name, [name])
    return found


def to_date_unit(call: str, unit: str, grain: str) -> SpecError | None:
    """``to_date(k, unit)`` is a period of ``unit`` containing whole periods of ``grain``.

    ISO weeks make up ISO years (weekly year-to-date follows the ISO year of the week labels),
    but not months or quarters: a week can straddle two of them, so that is refused.
    """
    from kpictl.model import GRAINS, TO_DATE_UNITS

    if grain not in GRAINS:  # a calendar table's periods: not cut into the units of the built-in calendar
        return SpecError(
            f"{call} is not defined at {grain} grain: a calendar table's periods do not make up years, "
            "quarters, months or weeks",
            hint="use cumulative(k) or rolling(k, n) over its periods, or run at a built-in grain",
        )
    if grain == "week" and unit in ("month", "quarter"):
        return SpecError(
            f"{call} is not defined at week grain: a week can straddle two {unit}s",
            hint=f"use to_date(…, year) (ISO years of weeks), or run at day or {unit} grain",
        )
    if unit in TO_DATE_UNITS and GRAINS.index(unit) >= GRAINS.index(grain):
        return None
    units = ", ".join(TO_DATE_UNITS)
    return SpecError(f"{call}: the unit must be one of {units}, not finer than the grain ({grain})")


#: Periods of a grain in one unit, where that is a fixed whole number.
_PER_UNIT = {
    ("day", "hour"): 24,
    ("week", "hour"): 168,
    ("week", "day"): 7,
    ("quarter", "month"): 3,
    ("year", "month"): 12,
    ("year", "quarter"): 4,
}


def offset_periods(call: str, name: str, count: int, unit: str, grain: str) -> tuple[int | None, SpecError | None]:
    """How many periods of ``grain`` ``count`` units are in ``prior(k, count, unit)`` or a
    window (``name``): None for a calendar offset only ``prior`` takes (a month or a year of
    days or hours, a year of ISO weeks); a problem when the unit is shorter than the grain or does not
    line up with it (weeks and months)."""
    from kpictl.model import GRAINS

    if unit == grain:
        return count, None
    if grain not in GRAINS:  # a calendar table's periods have no fixed length in days or months
        hint = f"count its periods: {name}(k, {count}) is {count} {grain} period(s); or run at a built-in grain"
        return None, SpecError(f"{call}: a {unit} is no whole number of {grain} periods", hint=hint)
    if GRAINS.index(unit) < GRAINS.index(grain):
        return None, SpecError(f"{call}: a {unit} is shorter than a {grain}", hint=f"use a unit of {grain}s or longer")
    if (unit, grain) in _PER_UNIT:
        return count * _PER_UNIT[(unit, grain)], None
    if name == "prior" and (grain in ("hour", "day") or (grain == "week" and unit == "year")):
        return None, None
    if name == "prior" or grain == "week":
        hint = "prior(k, 1, year) at week grain is the same ISO week a year earlier; months need month grain"
        return None, SpecError(f"{call}: {grain}s do not line up with {unit}s", hint=hint)
    hint = f"write the window in {grain}s (rolling(k, 30, day) at day grain), or run at a finer grain"
    return None, SpecError(f"{call}: a {unit} is not a whole number of {grain}s", hint=hint)


def window_of_balance(
    call: str, name: str, kpis: Mapping[str, Kpi], refs: Callable[[str], set[str]]
) -> SpecError | None:
    """The problem of window ``call`` (rolling, cumulative, to_date) over a balance (a KPI with
    ``snapshot:``), directly or through the KPIs a derived one reads: a window would add its
    snapshots up over time. ``rolling_avg`` (the mean of per-period values) and ``prior`` are fine."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop(0)
        kpi = kpis.get(current)
        if current in seen or kpi is None:
            continue
        seen.add(current)
        if kpi.snapshot is not None:
            return SpecError(
                f"{call}: {current} is a balance (snapshot:): a window would add its snapshots up over time",
                hint="use rolling_avg() for an average balance, or prior() for the balance of an earlier period",
            )
        if kpi.derived and funnel_call(kpi.formula):
            return SpecError(
                f"{call}: {current} is a funnel: its entities would be counted once per period of the window",
                hint="use rolling_avg() for an average rate, or a funnel KPI at a coarser grain",
            )
        todo += sorted(refs(current)) if kpi.derived else []
    return None


def nested_window(
    call: str,
    name: str,
    kpis: Mapping[str, Kpi],
    refs: Callable[[str], set[str]],
    windowed: Callable[[str], bool],
) -> SpecError | None:
    """The problem of window ``call`` over KPI ``name``: a derived KPI under it windows itself.

    A window over a derived KPI is applied to that KPI's inputs (``rolling(a / b, 3)`` is
    ``rolling(a, 3) / rolling(b, 3)``); a window of a window, or of a ``prior()``, has no such
    meaning. ``refs(k)`` gives the KPIs ``k`` reads, ``windowed(k)`` whether its own formula
    has a ``prior()`` or a window.
    """
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop(0)
        kpi = kpis.get(current)
        if current in seen or kpi is None or not kpi.derived or funnel_call(kpi.formula):  # a cycle: reported
            continue  # a funnel reads its events, not values: window_of_balance says why no window
        seen.add(current)
        if windowed(current):
            return SpecError(
                f"{call}: {current} uses prior() or a window itself; windows do not nest",
                hint=f"apply the window to the KPIs {current} is computed from",
            )
        todo += sorted(refs(current))
    return None
