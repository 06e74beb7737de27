"""The options of the command line, each declared once and parsed into one typed value.

``OPTIONS`` maps a key to a Click option or argument; a command of ``cli`` names the keys it
takes, in --help order, and receives an ``Options`` whose fields hold what Click parsed (the
fields of options it does not take keep their defaults). The choices are the library's own
lists (grains, output formats, languages, statuses), so a new format or grain reaches the
command line without an edit here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

import click

from kpictl.language.schema import SCHEMAS
from kpictl.model import FAIL_ON, GRAINS, LANGS, RUN_GRAINS
from kpictl.report import formats


@dataclasses.dataclass(frozen=True)
class Options:
    """Every option of every command as Click parsed it; a command sets the ones it declares."""

    kpis: tuple[str, ...] = ()
    kpi: str = ""
    grain: str | None = None
    by: tuple[str, ...] = ()
    dimension: str | None = None  # report --by: one dimension
    start: dt.date | None = None
    end: dt.date | None = None
    where: str | None = None
    as_of: dt.date | None = None
    fmt: str = ""
    output: str | None = None
    fail_on: str | None = None
    no_data: bool = False
    tag: str | None = None
    dialect: str | None = None
    junit: str | None = None
    strict: bool = False
    write: str | None = None
    which: str = "all"
    directory: str = "."
    paths: tuple[str, ...] = ()
    from_data: bool = False
    lang: str | None = None
    out: str = "report.html"
    base: str | None = None
    head: str | None = None
    sql: bool = False
    data: bool = False
    threshold: float | None = None
    engine: str | None = None


def _once(_ctx: Any, _param: Any, values: tuple[str, ...]) -> tuple[str, ...]:
    """A repeated option given twice counts once (``--by region --by region``: one column)."""
    return tuple(dict.fromkeys(values))


def _date(_ctx: Any, _param: Any, value: str | None) -> dt.date | None:
    if value is None or (value == "today" and _param.name == "as_of"):
        return dt.date.today() if value else None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a date (YYYY-MM-DD)") from None


def _format(choices: tuple[str, ...], help: str | None = None) -> Any:
    return click.option("--format", "fmt", type=click.Choice(choices), default=choices[0], help=help)


_AS_OF = "Judge targets at this date, or 'today' (default: end of the latest {})."
_FILE = click.Path(dir_okay=False)


class _Grain(click.Choice):  # type: ignore[type-arg]
    """A built-in grain, or a name the project's calendar table may give (``calendar.grains``):
    the project is not loaded yet, so the planner says whether it knows that name, with a guess."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and re.fullmatch(r"[a-z][a-z0-9_]*", value) and value not in self.choices:
            return value
        return super().convert(value, param, ctx)


_o, _a, _grain = click.option, click.argument, _Grain(GRAINS)
OPTIONS: dict[str, Any] = {
    "kpis": _a("kpis", nargs=-1),
    "kpi": _a("kpi"),
    "grain": _o("--grain", type=_grain, help="Period length (default: the project's), or a grain of calendar.grains."),
    "grain_all": _o(
        "--grain",
        type=_Grain(RUN_GRAINS),
        help=(
            "Period length (default: the project's), or a grain of calendar.grains; "
            "all: one value over the whole --from/--to range."
        ),
    ),
    "grain_bare": _o("--grain", type=_grain),
    "grain_diff": _o("--grain", type=_grain, help="Period length for --data (default: HEAD's project default)."),
    "by": _o("--by", multiple=True, callback=_once, help="Break down by this dimension (repeatable)."),
    "by_diff": _o("--by", multiple=True, callback=_once, help="Break --data down by this dimension (repeatable)."),
    "by_report": _o("--by", "dimension", help="Break every KPI that has it down by this dimension (default: "
                    "each KPI's first)."),
    "from": _o("--from", "start", callback=_date, help="First day of the range (YYYY-MM-DD)."),
    "to": _o("--to", "end", callback=_date, help="Last day of the range (YYYY-MM-DD)."),
    "where": _o("--where", help="Extra row filter for every KPI, checked like a KPI filter."),
    "as_of": _o("--as-of", callback=_date, help=_AS_OF.format("complete period")),
    "as_of_report": _o("--as-of", callback=_date, help=_AS_OF.format("period with data")),
    "format_problems": _format(formats.PROBLEMS, "text for people; json for tools; sarif or github to annotate "
                               "a pull request."),
    "format_catalog": _format(formats.CATALOG),
    "format_rows": _format(formats.ROWS),
    "format_lint": _format(formats.LINT),
    "format_diff": _format(formats.DIFF, "text for people; markdown for a pull-request comment; json for tools."),
    "output": _o("--output", "-o", type=_FILE, help="Write to this file (atomically) instead of stdout."),
    "fail_on": _o("--fail-on", type=click.Choice((*FAIL_ON, "none")), help="Exit 1 when a KPI's latest period has this "
                  "status or worse (default: fail_on of kpictl.yml; none: no gate, whatever kpictl.yml says)."),
    "no_data": _o("--no-data", is_flag=True, help="Skip the column checks against the source files."),
    "no_data_lint": _o("--no-data", is_flag=True, help="Score the definitions only (A and T without history)."),
    "tag": _o("--tag", help="Only KPIs with this tag."),
    "dialect": _o("--dialect", help="SQL for another engine: spark (tested), or any sqlglot dialect (untested: a "
                  "warning)."),
    "engine": _o("--engine", type=click.Choice(["duckdb", "spark"]), help="Run the SQL on this engine (default: "
                 "engine: of kpictl.yml, else duckdb); spark needs kpictl[spark]."),
    "junit": _o("--junit", type=_FILE, help="Also write JUnit XML here (for CI)."),
    "strict": _o("--strict", is_flag=True, help="Exit 1 when any letter of any KPI fails."),
    "write": _o("--write", type=click.Path(file_okay=False), help="Write the schemas into this folder instead."),
    "which": _a("which", type=click.Choice([*SCHEMAS, "all"]), default="all", metavar="[project|kpis|all]"),
    "directory": _a("directory", type=click.Path(file_okay=False), default="."),
    "paths": _a("paths", nargs=-1, metavar="[DIRECTORY | FILE...]"),
    "from_data": _o("--from-data", is_flag=True, help="The arguments are Parquet/CSV files (or globs) in the current "
                    "folder: one source each, key and time column guessed, one count KPI each."),
    "lang": _o("--lang", type=click.Choice(LANGS), help="Language of texts and numbers (default: the "
               "project's locale)."),
    "out": _o("--out", "-o", default="report.html", show_default=True, type=_FILE, help="The HTML file to write "
              "(atomically)."),
    "base": _a("base", required=False),
    "head": _a("head", required=False),
    "sql": _o("--sql", is_flag=True, help="Add a unified diff of each changed KPI's compiled SQL."),
    "data": _o("--data", is_flag=True, help="Run changed and impacted KPIs with both definitions on today's data."),
    "threshold": _o("--fail-on-change", "threshold", type=click.FloatRange(min=0), metavar="THRESHOLD", help="Exit 1 "
                    "when a value moved by more than THRESHOLD, relative (0.01 = 1%; implies --data)."),
}  # fmt: skip
