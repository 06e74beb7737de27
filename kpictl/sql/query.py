"""What a compilation gives the engines: the SQL and what running it and explaining its errors need.

Apart from ``compiler`` (which imports sqlglot and Jinja) so that a run whose compiled query is
read from the definitions cache (``kpictl.cache``) imports neither.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kpictl.errors import Location
from kpictl.model import Calendar, Lookup

STAMPS = ("year", "quarter", "month", "week")  # coarsest first: the freshness query's flags


@dataclass(frozen=True)
class CompiledQuery:
    """The SQL of a run and what the engine needs to run it and to explain its errors.

    ``params`` are the ``$name`` bind parameters (dates). ``kpis`` are the KPIs of the result,
    ``by`` its dimension columns in order. ``sources`` are the views the SQL reads,
    ``lookups`` the (source, lookup) joins whose keys must be unique (a further hop joins from
    a lookup), ``at`` where each KPI of the query was written. ``aliases`` maps each column
    the SQL computes for a KPI (its partial aggregates, values and windows) to that KPI, and
    ``reads`` each source KPI to the source columns it reads: an engine error names a column, and these say whose it is.
    ``freshness`` is a second SELECT: one row per feed (a source and the time column read in
    it, ``feeds``) with its latest time value and whether every value starts a year, quarter,
    month or week (``STAMPS``); ``fed_by`` gives the feeds behind each KPI, through the KPIs a
    derived one reads (``judge.completeness`` says from them which periods are complete).
    ``reach`` gives, for each KPI that reads rolling windows (directly or through the KPIs it
    reads), how many periods before its own the widest of them goes back: its first periods
    of data have a window that is not full yet.
    """

    sql: str
    params: Mapping[str, Any]
    kpis: tuple[str, ...]
    by: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    lookups: tuple[tuple[str, Lookup], ...] = ()
    at: Mapping[str, Location] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)
    reads: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    freshness: str = ""
    feeds: tuple[tuple[str, str], ...] = ()
    fed_by: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    reach: Mapping[str, int] = field(default_factory=dict)
    ties: tuple[tuple[str, str, Location], ...] = ()  # per balance scan: (its KPIs, the tie check's SQL, where)
    waits: Mapping[str, Mapping[int, int]] = field(default_factory=dict)  # KPI → feed → days past a period's end
    hours: tuple[str, ...] = ()  # the KPIs at hour grain: their periods are datetimes, the others' dates
    calendar: Calendar | None = None  # the calendar table, when a custom grain is computed
    custom: tuple[str, ...] = ()  # the custom grains computed: their periods are read before the run
    coverage: tuple[
        tuple[str, str, Location], ...
    ] = ()  # per scan at a custom grain: (KPIs, first uncovered date's SQL, where)

    @property
    def unordered(self) -> str:
        """``sql`` without its ORDER BY (its last line, ``query.sql.j2``'s): for an engine that
        orders the rows itself."""
        head, _, last = self.sql.rstrip("\n").rpartition("\n")
        if not last.startswith("ORDER BY "):
            raise ValueError(f"a compiled query ends with its ORDER BY, not {last!r}")
        return head
