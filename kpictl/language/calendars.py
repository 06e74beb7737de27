"""The rules of custom grains (``calendar: {table, date, grains}`` of kpictl.yml), checked before any data is read.

A calendar table is a declared source mapping each date to periods of its own (a 4-4-5 retail
calendar); each name of ``grains`` is a grain like ``month``. This module says which grain names
a project knows and reports, located and with a hint, what would make a run refuse one: a name
that shadows a built-in grain, a table that is no source, an unknown grain, a window whose
calendar unit means nothing for those periods. Validate and the planner call the same functions,
so what a run would reject, validate rejects first, with the same message. It never reads data
(``sql.calendars`` checks the table's rows).
"""

from __future__ import annotations

from typing import Any

from kpictl.errors import KpiError, Location, SpecError, suggest
from kpictl.model import RUN_GRAINS, Config

#: Why a built-in grain cannot be redefined: its periods are computed, not read from a table.
_BUILT_IN_HINT = "name it after your calendar, e.g. retail_month: a built-in grain keeps its meaning"


def grains(config: Config) -> tuple[str, ...]:
    """Every grain ``config`` knows: the built-in ones, ``all``, then its calendar table's."""
    return (*RUN_GRAINS, *config.calendar.grains)


def project_problems(data: Any, at: Any) -> list[KpiError]:
    """kpictl.yml's calendar table and default grain, checked on its (schema-valid) data;
    ``at(pointer, key=False)`` locates a field."""
    if not isinstance(data, dict):
        return []
    errors: list[KpiError] = []
    calendar, sources, defaults = (_mapping(data.get(key)) for key in ("calendar", "sources", "defaults"))
    custom = _mapping(calendar.get("grains"))
    for name in custom:
        if name in RUN_GRAINS:
            message = f"calendar.grains: '{name}' is a built-in grain"
            errors.append(SpecError(message, at=at(f"/calendar/grains/{name}", key=True), hint=_BUILT_IN_HINT))
    table = calendar.get("table")
    if isinstance(table, str) and table not in sources:
        hint = suggest(table, sources) or f"declare it under sources: ({table}: {{path: data/{table}.csv}})"
        errors.append(SpecError(f"calendar.table: '{table}' is not a source", at=at("/calendar/table"), hint=hint))
    grain = defaults.get("grain")
    known = (*RUN_GRAINS[:-1], *custom)  # `all` is a run's, never a default
    if isinstance(grain, str) and grain not in known:
        hint = suggest(grain, known) or f"one of: {', '.join(known)}"
        errors.append(SpecError(f"defaults.grain: '{grain}' is not allowed", at=at("/defaults/grain"), hint=hint))
    return errors


def _mapping(value: Any) -> dict[str, Any]:
    """``value`` if it is a mapping (the schema may have refused it: checked anyway), else empty."""
    return value if isinstance(value, dict) else {}


def unknown_grain(grain: str, config: Config, at: Location, what: str = "grain") -> SpecError | None:
    """The problem of a grain (a KPI's, ``--grain``) that is neither built in nor a calendar table's."""
    if grain in grains(config):
        return None
    known = grains(config)
    hint = suggest(grain, known) or (
        f"one of: {', '.join(known)}"
        if config.calendar.grains
        else "declare it under calendar: grains: in kpictl.yml to read it from a calendar table"
    )
    return SpecError(f"unknown {what} '{grain}'", at=at, hint=hint)


def spark_problem(config: Config) -> SpecError | None:
    """Custom grains run on DuckDB only: Spark would need its own SQL for the calendar's joins."""
    if not config.calendar.grains or config.engine.name != "spark":
        return None
    return SpecError(
        "calendar.grains: a calendar table's grains run on DuckDB only, not on Spark",
        at=config.calendar.table_at,
        hint="run with engine: duckdb (the default), or use built-in grains on Spark",
    )


def column_problems(config: Config, schemas: Any) -> list[KpiError]:
    """The calendar table's date and grain columns, checked against its columns (``schemas``:
    source → column → type, when the data could be described)."""
    calendar = config.calendar
    columns = (schemas or {}).get(calendar.table or "")
    if not calendar.table or columns is None:
        return []
    wanted = [("calendar.date", calendar.date or "")] + [
        (f"calendar.grains.{g}", c) for g, c in calendar.grains.items()
    ]
    return [
        SpecError(
            f"{field}: unknown column '{column}' in calendar table '{calendar.table}'",
            at=calendar.table_at,
            hint=suggest(column, columns) or f"its columns: {', '.join(columns)}",
        )
        for field, column in wanted
        if column not in columns
    ]


def kpi_problems(config: Config, kpis: Any) -> list[KpiError]:
    """Each KPI's ``grain:`` known, and custom grains on an engine that runs them."""
    errors: list[KpiError] = [p for p in [spark_problem(config)] if p is not None]
    for kpi in kpis:
        if kpi.grain and (problem := unknown_grain(kpi.grain, config, kpi.grain_at)) is not None:
            errors.append(problem)
    return errors
