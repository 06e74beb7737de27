"""The typed model of a project: frozen dataclasses built by ``spec``, with no behaviour.

Every later stage (checks, planner, compiler, engine, targets) reads these values and never
the raw YAML. Mappings are plain dicts for readability; nothing mutates them after loading.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from kpictl.errors import Location

#: Period lengths, shortest first (``GRAINS.index`` compares them). An hour is named by its first
#: moment (a datetime, ``2025-01-01 13:00``); the longer periods by their first day (a date).
GRAINS = ("hour", "day", "week", "month", "quarter", "year")
#: ``--grain all``: one period, the whole ``--from``/``--to`` range (a value per KPI and breakdown).
WHOLE = "all"
#: What ``--grain`` accepts, besides the grains of a calendar table (``Calendar.grains``).
RUN_GRAINS = (*GRAINS, WHOLE)


def is_custom_grain(grain: str | None) -> bool:
    """Whether ``grain`` is a calendar table's: any name that is not built in (unknown names are
    refused when the project is checked, so past that point any other name is one)."""
    return grain is not None and grain not in RUN_GRAINS


#: Units of ``to_date(kpi, unit)``: the periods a value accumulates over, longest first.
TO_DATE_UNITS = ("year", "quarter", "month", "week")
#: Which day's balance a balance (``snapshot: {take: …}``) is in a period: the rows of its end
#: (start), or its lowest (highest) day.
TAKES = ("last", "first", "min", "max")
STATUSES = ("achieved", "on_track", "at_risk", "off_track", "no_target", "no_data")
#: Worst first: the order ``--fail-on`` uses ("at_risk" fails on at_risk and off_track).
SEVERITY = {"off_track": 3, "at_risk": 2, "on_track": 1, "achieved": 0, "no_target": 0, "no_data": 0}
#: The statuses of a value held against its trajectory (not yet achieved, not without target).
TRAJECTORY_STATUSES = ("on_track", "at_risk", "off_track")
#: What ``--fail-on`` (and ``fail_on:`` of kpictl.yml) may name: the statuses that breach a gate.
FAIL_ON = ("off_track", "at_risk")
#: The languages of texts and numbers, English first (the default, and the fallback).
LANGS = ("en", "fr")


def lang_of(lang: str) -> str:
    """The language used for ``lang``: ``fr``, ``fr-CA``, ``fr_FR`` → ``fr``; anything else → ``en``."""
    base = lang.replace("_", "-").split("-")[0].lower()
    return base if base in LANGS else "en"


#: A symbol per status, for the terminal, Markdown and the dashboard alike, so that a status
#: still reads without colour (NO_COLOR, a greyscale print).
STATUS_SYMBOLS = {"achieved": "✓", "on_track": "↗", "at_risk": "!", "off_track": "✗", "no_target": "·", "no_data": "?"}


@dataclass(frozen=True)
class Lookup:
    """A many-to-one join from a fact source into another source on a key.

    ``on`` is the key as written: a column both sources have, or (with ``keys``) the looked-up
    source's key columns; ``keys`` are (fact column, lookup column) pairs when the names differ
    or the key has several columns (``on: {origin: faa}``, ``on: {customer_id: id, region: region}``).
    ``alias`` (``as:``) names a role: the same source looked up twice, as ``origin_airport`` and
    ``dest_airport``, each with its own key and its own columns (``origin_airport.city``).
    With ``valid_from``/``valid_to`` it is a history (SCD type 2): several versions per key, each
    valid from ``valid_from`` up to (not including) ``valid_to``, and a fact row joins the version
    valid at its time; with ``date`` it is a dated snapshot, unique per (key, date), and a fact
    row joins the snapshot of its day. That time is the KPI's time column, or ``time``.
    """

    source: str
    on: str
    at: Location = field(default_factory=Location, compare=False)
    keys: tuple[tuple[str, str], ...] = ()
    alias: str | None = None  # `as:`: a role, so one source can be looked up twice (origin, dest)
    valid_from: str | None = None  # history (SCD type 2): the version valid at the fact row's time
    valid_to: str | None = None  # its exclusive end; NULL: still valid
    date: str | None = None  # a dated snapshot (key, date): the row of the fact row's day
    time: str | None = None  # the fact column whose time picks the version or day (default: the KPI's)

    @property
    def name(self) -> str:
        """The name its columns are qualified with: its role (``as:``), else its source's."""
        return self.alias or self.source

    @property
    def pairs(self) -> tuple[tuple[str, str], ...]:
        """(fact column, lookup column) of every part of the key."""
        return self.keys or ((self.on, self.on),)

    @property
    def key_columns(self) -> tuple[str, ...]:
        """The looked-up source's key columns: unique together (a snapshot's with its date),
        checked before a query runs; a history's versions of one key must not overlap instead."""
        return (*(lookup for _, lookup in self.pairs), *((self.date,) if self.date else ()))

    @property
    def dated(self) -> bool:
        """Whether the row joined depends on the fact row's time (a history or a snapshot)."""
        return bool(self.valid_from or self.date)


@dataclass(frozen=True)
class Computed:
    """A column a source computes on each of its rows from its other columns: a single checked
    expression (``flight_date: make_date(year, month, day)``), usable wherever a column is."""

    name: str
    expr: str
    at: Location = field(default_factory=Location, compare=False)


@dataclass(frozen=True)
class Source:
    """A table read from Parquet or CSV files; ``path`` is relative to the project root."""

    name: str
    path: str
    format: str  # "parquet" | "csv"
    key: str | None = None
    time: str | None = None
    lookups: tuple[Lookup, ...] = ()
    hive_partitioning: bool = False
    description: str | None = None
    at: Location = field(default_factory=Location, compare=False)
    table: str | None = None  # a catalog table (``db.orders``) instead of files: Spark only
    columns: dict[str, str] = field(default_factory=dict)  # declared types: column → DuckDB type
    computed: tuple[Computed, ...] = ()  # columns computed on each row (``columns: {d: "make_date(…)"}``)
    date_format: str | None = None  # strftime of the CSV dates; None: ISO only
    non_finite: str = "error"  # NaN/inf in the data: "error" or "null"
    complete_through: str | None = None  # a date, "latest", "latest - N days", "today - N days"


@dataclass(frozen=True)
class Dimension:
    """A breakdown: a column name, or a name for a SQL expression over the source's columns."""

    name: str
    expr: str | None = None
    at: Location = field(default_factory=Location, compare=False)


@dataclass(frozen=True)
class Format:
    """How a value is shown to people; machine outputs keep full precision."""

    type: str = "number"  # number | integer | percent | currency | hours | days | minutes
    decimals: int | None = None
    currency: str = "EUR"


@dataclass(frozen=True)
class Bound:
    """The objective itself: at least ``min``, at most ``max``, or both (``between``)."""

    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class Baseline:
    value: float
    at: dt.date


@dataclass(frozen=True)
class Target:
    """A SMART target (the README's "SMART targets": bound, deadline, baseline, tolerance).

    ``tolerance`` is absolute unless ``tolerance_relative`` (then a fraction of the bound).
    ``per`` maps a dimension name to {dimension value: Bound} overrides.
    ``period`` says at which grain the target is judged (None: each period of the run).
    """

    bound: Bound
    by: dt.date | None = None
    baseline: Baseline | None = None
    tolerance: float = 0.0
    tolerance_relative: bool = False
    per: dict[str, dict[str, Bound]] = field(default_factory=dict)
    period: str | None = None
    rationale: str | None = None
    at: Location = field(default_factory=Location, compare=False)


@dataclass(frozen=True)
class KpiTest:
    """One unit test of a KPI: rows given per source, rows expected from the KPI."""

    name: str
    given: dict[str, list[dict[str, Any]]]
    expect: list[dict[str, Any]]
    grain: str | None = None
    by: tuple[str, ...] = ()
    vars: dict[str, Any] = field(default_factory=dict)
    tolerance: float = 1e-9
    expect_status: str | None = None
    at: Location = field(default_factory=Location, compare=False)


@dataclass(frozen=True)
class Snapshot:
    """A balance (stock level, open tickets, account balance): rows are snapshots that must not
    be added up over time. Per ``per`` entity, only its ``take`` (last or first) row of each
    period counts; the formula then adds up across entities. ``min``/``max``: the lowest
    (highest) of the balance's day values in the period, each day being its ``last``."""

    per: tuple[str, ...]
    take: str = "last"  # one of TAKES
    at: Location = field(default_factory=Location, compare=False)


@dataclass(frozen=True)
class Kpi:
    """A KPI: a source KPI (``source`` set, aggregate formula) or a derived one (over other KPIs)."""

    name: str
    formula: str
    file: str
    label: dict[str, str] = field(default_factory=dict)
    description: str | None = None
    owner: str | None = None
    tags: tuple[str, ...] = ()
    role: str = "kpi"  # or "building_block": computed for other KPIs, not an objective of its own
    source: str | None = None
    filters: tuple[str, ...] = ()
    dimensions: tuple[Dimension, ...] = ()
    time: str | None = None
    grain: str | None = None
    format: Format = field(default_factory=Format)
    target: Target | None = None
    tests: tuple[KpiTest, ...] = ()
    snapshot: Snapshot | None = None  # a balance: the last (first) row per entity in each period, or its min/max day
    at: Location = field(default_factory=Location, compare=False)
    formula_at: Location = field(default_factory=Location, compare=False)
    source_at: Location = field(default_factory=Location, compare=False)
    grain_at: Location = field(default_factory=Location, compare=False)  # its grain:, else the KPI
    filter_at: tuple[Location, ...] = field(default=(), compare=False)

    @property
    def derived(self) -> bool:
        return self.source is None

    def title(self, lang: str = "en") -> str:
        """The label in ``lang``, else English, else any label, else the name."""
        return self.label.get(lang) or self.label.get("en") or next(iter(self.label.values()), self.name)


@dataclass(frozen=True)
class Engine:
    """Where the SQL runs: ``duckdb`` (embedded, the default) or ``spark``.

    Spark is classic (``master``, e.g. ``local[2]`` or ``yarn``) or Spark Connect (``remote``,
    e.g. ``sc://host:15002``); ``conf`` are Spark settings. Never credentials: those come from
    the environment or Spark's own configuration.
    """

    name: str = "duckdb"
    master: str | None = None
    remote: str | None = None
    conf: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Calendar:
    """How quarters and years are cut (``calendar:`` of kpictl.yml); months, weeks and days never change.

    ``year_start`` is the month a year starts in: 1, calendar years; 4, a fiscal year from April 1
    to March 31, its quarters April–June…, named by the year it ends in (FY2026 is 2025-04-01 to
    2026-03-31, as UK and US government years are). A period is still named by its first day.
    """

    year_start: int = 1
    at: Location = field(default_factory=Location, compare=False)
    # A calendar table (``table``, ``date``, ``grains``): a source mapping each date to custom
    # periods, each grain (``retail_month``) the column giving each date's period label. A period
    # is named by its first date, as built-in ones are (see ``sql.calendars``).
    table: str | None = None
    date: str | None = None
    grains: dict[str, str] = field(default_factory=dict)
    table_at: Location = field(default_factory=Location, compare=False)


@dataclass(frozen=True)
class Config:
    """The project file ``kpictl.yml``; ``root`` is the folder that holds it."""

    name: str
    root: str
    metrics: tuple[str, ...] = ("metrics",)
    grain: str = "month"
    locale: str = "en"
    sources: dict[str, Source] = field(default_factory=dict)
    vars: dict[str, Any] = field(default_factory=dict)
    fail_on: str | None = None
    at: Location = field(default_factory=Location, compare=False)
    engine: Engine = field(default_factory=Engine)
    # Folders outside ``root`` that sources may read: --allow-path / KPICTL_ALLOW_PATH only, never
    # kpictl.yml (a pull request must not widen what it can read; see language/paths.py).
    allowed: tuple[str, ...] = ()
    timezone: str = "UTC"  # where timestamps with an offset are bucketed into days
    calendar: Calendar = field(default_factory=Calendar)  # a fiscal year: where quarters and years start


@dataclass(frozen=True)
class Judgement:
    """A value held against its target at a date (``targets.judge``)."""

    status: str  # one of STATUSES
    min: float | None = None  # the bound in force for this row (after per-dimension overrides)
    max: float | None = None
    expected: float | None = None  # value on the trajectory at the judged date
    gap: float | None = None  # value - expected (signed so that positive is good)
    gap_relative: float | None = None
    baseline_source: str | None = None  # "declared" | "data"
    reaches_on: dt.date | None = None  # at the recent pace, the day the bound is met (projection)
    reaches_by_deadline: bool | None = None
    judged_value: float | None = None  # set when not the row's value: a level's value to date in its target period
    note: str | None = None  # why a row with a target was not judged (--grain all: a range that is not its period)


@dataclass(frozen=True)
class Row:
    """One tidy result: a KPI's value for one period and one breakdown (``dims`` in ``by`` order)."""

    kpi: str
    period: dt.date
    dims: dict[str, Any]
    value: float | None
    judgement: Judgement | None = None
    complete: bool = True  # every source the KPI reads has data through the period's last day
    partial_window: bool = False  # a rolling window of the value reaches before the data's first period
    through: dt.date | None = None  # --grain all: the last day of the range that starts on ``period``

    @property
    def status(self) -> str:
        return self.judgement.status if self.judgement else "no_target"
